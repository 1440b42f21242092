"""`python -m fleetcare` is the same as the `fleetcare` command."""

from fleetcare.cli import main

main()

"""`python -m fleetcare` is the same as the `fleetcare` command."""

from app.cli import main

main()

"""SQL migrations of the models stage (versions 0300-0399), applied by fleetcare.db."""

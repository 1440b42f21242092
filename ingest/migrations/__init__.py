"""Ingest schema migrations (versions 0100-0199), loaded by fleetcare.db."""

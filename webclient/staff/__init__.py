"""The staff web client: ``create_app()`` in ``webclient.staff.app``."""

"""Mango ISP database package: settings, connections, cluster bootstrap, migrate, demo data, CLI."""

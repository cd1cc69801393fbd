"""network inventory: sites, devices, topology, IPAM, stores

Revision ID: 0003
Revises: 0002
"""

from migrations.sqlfile import run_sql_file

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0003_network.sql")


def downgrade() -> None:
    raise RuntimeError("migrations are forward-only")

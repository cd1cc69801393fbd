"""customers, contracts, parameters, catalogue, service instances, orders

Revision ID: 0002
Revises: 0001
"""

from migrations.sqlfile import run_sql_file

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0002_customers_catalogue.sql")


def downgrade() -> None:
    raise RuntimeError("migrations are forward-only")

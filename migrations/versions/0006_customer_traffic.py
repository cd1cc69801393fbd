"""customer traffic: daily traffic per customer kept after raw flows are purged; NAT log imports

Revision ID: 0006
Revises: 0005
"""

from migrations.sqlfile import run_sql_file

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0006_customer_traffic.sql")


def downgrade() -> None:
    raise RuntimeError("migrations are forward-only")

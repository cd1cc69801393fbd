"""flows: NetFlow/IPFIX records and NAT events by day, retention settings and log, summaries, collector status

Revision ID: 0004
Revises: 0003
"""

from migrations.sqlfile import run_sql_file

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0004_flows.sql")


def downgrade() -> None:
    raise RuntimeError("migrations are forward-only")

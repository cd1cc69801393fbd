"""flow counters: what the flow collector could not store (sets before their template, sequence gaps, unreadable time stamps, rejected spool files)

Revision ID: 0009
Revises: 0008
"""

from migrations.sqlfile import run_sql_file

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0009_flow_counters.sql")


def downgrade() -> None:
    raise RuntimeError("migrations are forward-only")

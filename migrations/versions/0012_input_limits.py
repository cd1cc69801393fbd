"""input limits: numeric columns refuse NaN and infinity, text columns get length limits

Revision ID: 0012
Revises: 0011
"""

from migrations.sqlfile import run_sql_file

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0012_input_limits.sql")


def downgrade() -> None:
    raise RuntimeError("migrations are forward-only")

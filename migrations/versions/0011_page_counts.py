"""page counts: counts and indexes that keep whole-table pages fast at a million customers

Revision ID: 0011
Revises: 0010
"""

from migrations.sqlfile import run_sql_file

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0011_page_counts.sql")


def downgrade() -> None:
    raise RuntimeError("migrations are forward-only")

"""rating: call records, their rating and usage charges

Revision ID: 0014
Revises: 0013
"""

from migrations.sqlfile import run_sql_file

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0014_rating.sql")


def downgrade() -> None:
    raise RuntimeError("migrations are forward-only")

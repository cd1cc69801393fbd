"""billing: billing plans, charges, billing runs and documents as data

Revision ID: 0013
Revises: 0012
"""

from migrations.sqlfile import run_sql_file

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0013_billing.sql")


def downgrade() -> None:
    raise RuntimeError("migrations are forward-only")

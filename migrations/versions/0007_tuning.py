"""tuning: storage and statistics settings and indexes measured by the benchmarks

Revision ID: 0007
Revises: 0006
"""

from migrations.sqlfile import run_sql_file

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0007_tuning.sql")


def downgrade() -> None:
    raise RuntimeError("migrations are forward-only")

"""platform: schemas, identity, sessions, audit, bus, jobs, operators, number series

Revision ID: 0001
Revises:
"""

from migrations.sqlfile import run_sql_file

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0001_platform.sql")


def downgrade() -> None:
    raise RuntimeError("migrations are forward-only")

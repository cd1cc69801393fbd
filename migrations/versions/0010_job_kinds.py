"""job kinds: job kinds as data, and the operator's time zone (one business day)

Revision ID: 0010
Revises: 0009
"""

from migrations.sqlfile import run_sql_file

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0010_job_kinds.sql")


def downgrade() -> None:
    raise RuntimeError("migrations are forward-only")

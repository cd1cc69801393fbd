"""lawful requests: officer cases, their queries and exports (data retention hand-over)

Revision ID: 0005
Revises: 0004
"""

from migrations.sqlfile import run_sql_file

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0005_lawful_requests.sql")


def downgrade() -> None:
    raise RuntimeError("migrations are forward-only")

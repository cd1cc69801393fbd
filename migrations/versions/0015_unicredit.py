"""unicredit: prepaid credit accounts, movements, reservations and gift certificates

Revision ID: 0015
Revises: 0014
"""

from migrations.sqlfile import run_sql_file

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0015_unicredit.sql")


def downgrade() -> None:
    raise RuntimeError("migrations are forward-only")

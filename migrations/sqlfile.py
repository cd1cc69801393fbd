"""Run one frozen SQL file from migrations/sql inside the migration's transaction."""

from __future__ import annotations

from pathlib import Path

from alembic import op

SQL_DIR = Path(__file__).resolve().parent / "sql"


def run_sql_file(name: str) -> None:
    connection = op.get_bind()
    raw = connection.connection.driver_connection  # the psycopg connection
    raw.execute((SQL_DIR / name).read_text())

"""Alembic environment: runs the frozen SQL revisions as mango_owner over psycopg 3."""

from __future__ import annotations

import psycopg
from alembic import context
from sqlalchemy import create_engine, text

config = context.config
conninfo = config.attributes["conninfo"]


def run_migrations_online() -> None:
    engine = create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(conninfo))
    with engine.connect() as connection:
        connection.execute(text("set role mango_owner"))
        context.configure(connection=connection, transactional_ddl=True, transaction_per_migration=False)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()

"""`mango migrate`: alembic (frozen SQL for tables) then every file of procedures/, in one transaction."""

from __future__ import annotations

from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config

from db.settings import ROOT, Settings

PROCEDURES = ROOT / "procedures"


def alembic_config(conninfo: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["conninfo"] = conninfo
    return cfg


def procedure_files() -> list[Path]:
    """Every procedures/ file in folder order (folders and files sorted by name)."""
    return sorted(p for p in PROCEDURES.rglob("*.sql") if p.is_file())


def apply_procedures(conninfo: str, files: list[Path] | None = None) -> int:
    files = procedure_files() if files is None else files
    with psycopg.connect(conninfo) as conn:
        with conn.transaction():
            conn.execute("set local role mango_owner")
            conn.execute("set local check_function_bodies = on")
            for path in files:
                try:
                    conn.execute(path.read_text())  # type: ignore[arg-type]
                except psycopg.Error as exc:
                    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
                    raise SystemExit(f"{where}: {exc}") from exc
    return len(files)


def migrate(settings: Settings, dbname: str | None = None, revision: str = "head") -> int:
    conninfo = settings.admin_conninfo(dbname)
    command.upgrade(alembic_config(conninfo), revision)
    return apply_procedures(conninfo)

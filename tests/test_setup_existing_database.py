"""`make run` with DATABASE_URL at an existing database: the set-up migrates it but loads no demo
data, changes no user's password and no application role's password, and `mango run` shows no
demo login. The demo loads only into a database the set-up created (or with --force), and never
over a user it did not create."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import psycopg
import pytest

from db import bootstrap, demo, migrate
from db import settings as settings_mod
from db.settings import ROOT, Settings

PASSWORD = "olga-has-her-own-password"


@pytest.fixture
def existing(settings: Settings) -> Iterator[Settings]:
    """An operator's database made before (not by this set-up), with a user of its own."""
    name = f"mango_scratch_{os.getpid()}_existing"
    bootstrap.drop_database(settings, name)
    bootstrap.ensure_database(settings, name)
    migrate.migrate(settings, name)
    with psycopg.connect(settings.admin_conninfo(name), autocommit=True) as conn:
        conn.execute("select auth.create_user('olga', 'Olga Officer', null, 'cs', '{admin}', %s)", [PASSWORD])
        conn.execute(
            "select auth.create_user('admin', 'Their own admin', null, 'cs', '{admin}', %s)", [PASSWORD]
        )
    yield settings_mod.load(name)
    bootstrap.drop_database(settings, name)


def _run(args: list[str], database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)


def _passwords(s: Settings) -> tuple[list[tuple[str, bool]], str | None]:
    with psycopg.connect(s.admin_conninfo(), autocommit=True) as conn:
        users = conn.execute(
            "select username::text, password_hash = crypt(%s, password_hash) from auth.users order by 1",
            [PASSWORD],
        ).fetchall()
        web = conn.execute("select rolpassword from pg_authid where rolname = 'mango_web'").fetchone()
    return [(str(u), bool(ok)) for u, ok in users], (str(web[0]) if web else None)


def test_make_run_at_an_existing_database_loads_no_demo_and_changes_no_password(existing: Settings) -> None:
    before = _passwords(existing)
    # What `make run` runs before it starts the system: the set-up, then the demo "once".
    setup = _run(["bash", "db/setup.sh"], existing.database_url)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    loaded = _run([".venv/bin/mango", "demo", "--once", "--customers", "5"], existing.database_url)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert "no demo data loaded: the set-up did not create this database" in loaded.stderr
    with psycopg.connect(existing.admin_conninfo(), autocommit=True) as conn:
        assert not demo.is_loaded(conn)
        assert conn.execute("select count(*) from crm.customers").fetchone() == (0,)
    assert _passwords(existing) == before, "no user's and no application role's password changed"
    assert before[0] == [("admin", True), ("olga", True)]
    assert demo.demo_logins(existing) == [], "mango run shows no demo login here"


def test_the_demo_never_loads_over_users_it_did_not_create(existing: Settings) -> None:
    forced = _run([".venv/bin/mango", "demo", "--force", "--customers", "5"], existing.database_url)
    assert forced.returncode == 1
    assert "the demo's user names exist here already (admin)" in forced.stderr
    with psycopg.connect(existing.admin_conninfo(), autocommit=True) as conn:
        assert not demo.is_loaded(conn)
        row = conn.execute(
            "select password_hash = crypt(%s, password_hash), full_name from auth.users where username = 'admin'",
            [PASSWORD],
        ).fetchone()
    assert row == (True, "Their own admin")

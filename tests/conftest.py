"""Test harness: one fresh database per test session, built from the migrations.

Fixtures:
- ``settings``: Settings pointing at the session's test database (``mango_test_<pid>``).
- ``admin``: an autocommit superuser connection to it.
- ``db``: a superuser connection inside a transaction that is rolled back after the test.
- ``web_conn``: a connection as the web client's role (``mango_web``).
- ``agents``: real agent processes (tests.agents_helpers); ``agent_tables``: the tables they write.
- ``shop``: a customer with a service and two tariffs (tests.catalog_helpers).
pgTAP files under tests/pgtap/ are collected as one pytest item each (see tests/pgtap/conftest.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest
from starlette.testclient import TestClient

from db import bootstrap, migrate
from db import settings as settings_mod
from db.settings import ROOT, Settings
from tests.catalog_helpers import Shop, make_shop

if TYPE_CHECKING:
    from tests.agents_helpers import AgentProcesses

TEST_HELPERS = ROOT / "tests" / "sql" / "helpers.sql"


def _test_dbname() -> str:
    return os.environ.get("MANGO_TEST_DB") or f"mango_test_{os.getpid()}"


@pytest.fixture(scope="session")
def settings() -> Iterator[Settings]:
    name = _test_dbname()
    s = settings_mod.load(name)
    bootstrap.ensure_roles(s)
    bootstrap.drop_database(s, name)
    bootstrap.ensure_database(s, name)
    migrate.migrate(s, name)
    bootstrap.allow_demo(s, name)  # the tests' own set-up made it: the demo may load into it
    with psycopg.connect(s.admin_conninfo(name), autocommit=True) as conn:
        conn.execute("create extension if not exists pgtap")
        conn.execute(TEST_HELPERS.read_text())  # type: ignore[arg-type]
    os.environ["MANGO_TEST_DATABASE"] = name
    yield s
    if not os.environ.get("MANGO_KEEP_TEST_DB"):
        bootstrap.drop_database(s, name)


@pytest.fixture
def admin(settings: Settings) -> Iterator[psycopg.Connection]:
    with psycopg.connect(settings.admin_conninfo(), autocommit=True) as conn:
        yield conn


@pytest.fixture
def db(settings: Settings) -> Iterator[psycopg.Connection]:
    with psycopg.connect(settings.admin_conninfo()) as conn:
        yield conn
        conn.rollback()


@pytest.fixture
def web_conn(settings: Settings) -> Iterator[psycopg.Connection]:
    with psycopg.connect(settings.role_conninfo("mango_web")) as conn:
        yield conn
        conn.rollback()


@pytest.fixture(scope="module")
def app_client(settings: Settings) -> Iterator[TestClient]:
    """The staff web client in-process (English), one per test module."""
    from webclient.staff.app import create_app

    with TestClient(create_app(settings), headers={"accept-language": "en"}) as c:
        yield c


@pytest.fixture
def client(app_client: TestClient) -> TestClient:
    """The staff web client with no one logged in."""
    app_client.cookies.clear()
    return app_client


@pytest.fixture(scope="module")
def agent_tables(settings: Settings) -> None:
    """The tables of the ``tests`` schema that the test agents write to (tests.agents_helpers)."""
    from tests.agents_helpers import install  # it registers the test job kinds: only where needed

    with psycopg.connect(settings.admin_conninfo(), autocommit=True) as conn:
        install(conn)


@pytest.fixture
def agents(settings: Settings, tmp_path: Path) -> Iterator[AgentProcesses]:
    """Starts real agent processes against the test database; kills what is left after the test."""
    from tests.agents_helpers import AgentProcesses

    procs = AgentProcesses(settings, tmp_path)
    yield procs
    procs.stop_all()
    print(procs.logs())  # shown when the test failed


@pytest.fixture
def shop(admin: psycopg.Connection) -> Shop:
    """A customer with a service on the slower of two tariffs (committed)."""
    return make_shop(admin)

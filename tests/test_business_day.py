"""One business day: the web client and the agents run their sessions in the zone of the business
day (crm.business_zone), so that `current_date` and the times they show agree with crm.business_date
(tests/pgtap/business_day.sql shows both agree at 23:30 UTC). The tests move the zone to London, so
that neither the server's zone nor a default can pass for it."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from starlette.testclient import TestClient

from agents.bus import Runner
from agents.scheduler import AGENT
from db.settings import Settings
from webclient import i18n
from webclient.staff.app import create_app

ZONE = "Europe/London"


@pytest.fixture
def london(admin: psycopg.Connection) -> Iterator[str]:
    """The business zone (the first operator's) is London during the test."""
    admin.execute("select tests.make_operator() where not exists (select from crm.operators)")
    row = admin.execute("select id, time_zone from crm.operators order by not active, id limit 1").fetchone()
    assert row is not None
    shown = i18n.timezone()
    admin.execute("update crm.operators set time_zone = %s where id = %s", [ZONE, row[0]])
    try:
        assert admin.execute("select crm.business_zone()").fetchone() == (ZONE,)
        yield ZONE
    finally:
        admin.execute("update crm.operators set time_zone = %s where id = %s", [row[1], row[0]])
        i18n.use_timezone(shown.key)


def _zone_and_today(conn: psycopg.Connection) -> tuple[str, str]:
    row = conn.execute("select current_setting('TimeZone'), current_date::text").fetchone()
    assert row is not None
    return str(row[0]), str(row[1])


def test_agent_connections_are_in_the_business_zone(
    settings: Settings, admin: psycopg.Connection, london: str
) -> None:
    expected = admin.execute("select %s, crm.business_date()::text", [london]).fetchone()
    with Runner(AGENT, settings).connect("test") as conn:
        assert _zone_and_today(conn) == expected
    with Runner(AGENT, settings).connect("test", autocommit=False) as conn:
        assert _zone_and_today(conn) == expected


def test_web_sessions_are_in_the_business_zone_and_show_times_in_it(settings: Settings, london: str) -> None:
    # The app reads the zone of its pooled sessions when it starts (web.use_business_zone).
    with TestClient(create_app(settings)) as client:
        assert client.get("/login").status_code == 200
        assert i18n.timezone().key == london

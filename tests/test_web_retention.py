"""The data retention page (DR-3) through the real staff app and the test database: administrators
and officers see the period, the daily partitions, the collector's counters and the retention log;
only an administrator changes the period (logged, with who); a period under a day is refused beside
the field; other staff are refused; administrators still cannot read flow records."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.types.json import Jsonb
from starlette.testclient import TestClient

from tests.web_helpers import field_error, form_token, login, login_as, make_staff


@pytest.fixture
def keep_period(admin: psycopg.Connection) -> Iterator[None]:
    """Tests here change the (committed) retention period: put it back afterwards."""
    row = admin.execute("select value from flow.settings where key = 'retention'").fetchone()
    assert row is not None
    yield
    admin.execute("update flow.settings set value = %s where key = 'retention'", [Jsonb(row[0])])


@pytest.fixture
def exporter(admin: psycopg.Connection) -> Iterator[str]:
    """A silent exporter in the collector's status, and today's partitions."""
    address = f"198.51.100.{secrets.randbelow(200) + 20}"
    collector = f"test-{secrets.token_hex(3)}"
    admin.execute("select flow.create_partitions(1, 2)")
    admin.execute(
        "insert into flow.collector_status (collector, exporter, received, stored, dropped, malformed,"
        " spooled, sampling_interval, last_seen) values (%s, %s, 1200, 1190, 10, 3, 0, 100,"
        " now() - interval '2 hours')",
        [collector, address],
    )
    yield address
    admin.execute("delete from flow.collector_status where collector = %s", [collector])


def test_an_administrator_sees_the_page_and_changes_the_period_which_is_logged(
    client: TestClient, admin: psycopg.Connection, keep_period: None, exporter: str
) -> None:
    user = make_staff(admin, ["admin"], prefix="wr")
    login(client, user)
    home = client.get("/")
    assert 'href="/retention"' in home.text
    page = client.get("/retention")
    assert page.status_code == 200
    assert 'id="retention-form"' in page.text
    assert re.search(r'id="current-period">\d+ months<', page.text)
    # The partitions as the catalogue tells (today is open), and the silent exporter stands out.
    assert "open</span>" in page.text and 'id="partitions"' in page.text
    row = re.search(rf'<tr class="stale">.*?{re.escape(exporter)}', page.text, re.S)
    assert row, "the silent exporter is not highlighted"

    changed = client.post(
        "/retention",
        data={"csrf": form_token(page.text), "amount": "7", "unit": "months"},
        follow_redirects=False,
    )
    assert changed.status_code == 303, changed.text
    assert admin.execute("select flow.retention() = interval '7 months'").fetchone() == (True,)
    logged = admin.execute(
        "select db_role, detail from flow.retention_log where kind = 'setting' order by id desc limit 1"
    ).fetchone()
    assert logged is not None
    role = admin.execute("select db_role from auth.users where username = %s", [user]).fetchone()
    assert role is not None and logged[0] == role[0]
    assert logged[1].endswith(f"by {user}")
    after = client.get("/retention")
    assert 'id="current-period">7 months<' in after.text
    assert f"by {user}" in after.text


def test_a_period_below_the_legal_minimum_needs_a_second_confirmation_which_is_recorded(
    client: TestClient, admin: psycopg.Connection, keep_period: None
) -> None:
    csrf = login_as(client, admin, ["admin"], prefix="wr")
    user = admin.execute("select username from auth.users order by id desc limit 1").fetchone()
    assert user is not None
    before = admin.execute("select flow.retention()").fetchone()
    refused = client.post("/retention", data={"csrf": csrf, "amount": "3", "unit": "months"})
    assert refused.status_code == 422
    assert "the law asks for at least 6 months: confirm a shorter period explicitly" in field_error(
        refused.text, "confirm"
    )
    assert admin.execute("select flow.retention()").fetchone() == before
    done = client.post(
        "/retention",
        data={"csrf": csrf, "amount": "3", "unit": "months", "confirm": "on"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    logged = admin.execute(
        "select detail from flow.retention_log where kind = 'setting' order by id desc limit 1"
    ).fetchone()
    assert (
        logged
        and "below the legal minimum of 6 months, confirmed" in logged[0]
        and f"by {user[0]}" in logged[0]
    )
    # The same again changes nothing, and says so.
    again = client.post("/retention", data={"csrf": csrf, "amount": "3", "unit": "months", "confirm": "on"})
    assert "Nothing changed: the period is already 3 months." in again.text


def test_a_period_under_a_day_is_refused_beside_the_field(
    client: TestClient, admin: psycopg.Connection, keep_period: None
) -> None:
    csrf = login_as(client, admin, ["admin"], prefix="wr")
    before = admin.execute("select flow.retention()").fetchone()
    refused = client.post("/retention", data={"csrf": csrf, "amount": "0", "unit": "days"})
    assert refused.status_code == 422
    assert "must be between 1 day and 10 years" in field_error(refused.text, "retention")
    assert 'aria-describedby="error-retention"' in refused.text
    wrong = client.post("/retention", data={"csrf": csrf, "amount": "six", "unit": "months"})
    assert wrong.status_code == 422 and 'id="error-retention"' in wrong.text
    assert admin.execute("select flow.retention()").fetchone() == before


def test_an_officer_sees_the_page_but_cannot_change_the_period(
    client: TestClient, admin: psycopg.Connection, keep_period: None
) -> None:
    csrf = login_as(client, admin, ["flow"], prefix="wr")
    assert 'href="/retention"' in client.get("/").text
    page = client.get("/retention")
    assert page.status_code == 200
    assert 'id="retention-form"' not in page.text
    assert "Only an administrator can change the period." in page.text
    before = admin.execute("select flow.retention()").fetchone()
    refused = client.post("/retention", data={"csrf": csrf, "amount": "1", "unit": "days"})
    assert refused.status_code == 403
    assert admin.execute("select flow.retention()").fetchone() == before


@pytest.mark.parametrize("roles", [["support"], ["billing", "technician"]])
def test_other_staff_are_refused_and_do_not_see_the_menu_item(
    client: TestClient, admin: psycopg.Connection, keep_period: None, roles: list[str]
) -> None:
    csrf = login_as(client, admin, roles, prefix="wr")
    home = client.get("/")
    assert 'href="/retention"' not in home.text
    assert client.get("/retention").status_code == 403
    before = admin.execute("select flow.retention()").fetchone()
    assert client.post("/retention", data={"csrf": csrf, "amount": "1", "unit": "days"}).status_code == 403
    assert admin.execute("select flow.retention()").fetchone() == before


def test_an_administrator_still_cannot_read_flow_records_nat_events_or_cases(db: psycopg.Connection) -> None:
    db.execute("call tests.as_staff('{admin}')")
    assert db.execute("select count(*) >= 0 from flow.retention_log").fetchone() == (True,)
    for table in ("flow.flows", "flow.nat_events", "flow.lawful_cases", "flow.daily_traffic"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), db.transaction():
            db.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(*table.split("."))))

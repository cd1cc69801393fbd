"""The lawful request pages (DR-4) through the real staff app and the test database: an officer opens
a case, asks by public NAT address and port and by customer and period, sees who it was and
downloads the answer as CSV (recorded with its SHA-256); errors show beside their fields; staff
without the flow role, administrators too, are refused and do not see the menu item."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from db.settings import Settings
from tests.web_helpers import field_error, form_token, login_as
from webclient import i18n


@dataclass
class Scenario:
    n: int
    c1: int
    c2: int
    t0: datetime
    pub: str
    priv1: str
    priv2: str
    customer_no: str


@pytest.fixture(scope="module")
def scenario(settings: Settings) -> Scenario:
    """Two customers behind one public NAT address (see tests.lawful_scenario), committed."""
    n = 100 + secrets.randbelow(150)
    with psycopg.connect(settings.admin_conninfo(), autocommit=True) as admin:
        row = admin.execute(
            "select c1, c2, t0, host(pub), host(priv1), host(priv2) from tests.lawful_scenario(%s)", [n]
        ).fetchone()
        assert row is not None
        number = admin.execute("select customer_no from crm.customers where id = %s", [row[1]]).fetchone()
        assert number is not None
    assert row is not None
    return Scenario(n, row[0], row[1], row[2], row[3], row[4], row[5], number[0])


def _local(value: datetime) -> str:
    return value.astimezone(i18n.timezone()).strftime("%Y-%m-%dT%H:%M")


def _open_case(client: TestClient, csrf: str, reference: str) -> int:
    response = client.post(
        "/lawful/new",
        data={
            "csrf": csrf,
            "reference": reference,
            "requesting_body": "Policie ČR, KŘP Jihomoravského kraje",
            "legal_basis": "§ 88a trestního řádu",
            "received_on": "2025-03-03",
            "deadline": "",
            "note": "",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/lawful/(\d+)", response.headers["location"])
    assert match
    return int(match.group(1))


def _address_query(client: TestClient, csrf: str, case_id: int, sc: Scenario, port: str) -> Any:
    return client.post(
        f"/lawful/{case_id}/queries",
        data={
            "csrf": csrf,
            "kind": "address",
            "address": sc.pub,
            "port": port,
            "period_from": _local(sc.t0),
            "period_to": _local(sc.t0 + timedelta(hours=1)),
            "flow_limit": "",
        },
        follow_redirects=False,
    )


def test_officer_asks_by_public_nat_address_and_port_and_sees_the_subscriber(
    client: TestClient, admin: psycopg.Connection, scenario: Scenario
) -> None:
    csrf = login_as(client, admin, ["flow"], prefix="wl")
    home = client.get("/")
    assert 'href="/lawful"' in home.text  # the menu item, for officers only
    case_id = _open_case(client, csrf, f"KRPB-{scenario.n}/TČ-2025")
    case = client.get(f"/lawful/{case_id}")
    assert case.status_code == 200 and f"KRPB-{scenario.n}/TČ-2025" in case.text
    response = _address_query(client, csrf, case_id, scenario, "1500")
    assert response.status_code == 303, response.text
    result = client.get(response.headers["location"])
    assert result.status_code == 200
    translations = result.text.split('id="translations"')[1].split("</section>")[0]
    assert "Jan Novák" in translations and "Eva Svobodová" not in translations
    assert f"{scenario.priv1}</td>" in translations and "1024–2047" in translations
    assert "fixed wireless access" in translations and f"law-ap-{scenario.n}" in translations
    flows = result.text.split('id="flows"')[1].split("</section>")[0]
    assert f"{scenario.pub}:1500" in flows and "192.0.2.80:443" in flows
    assert "retention-warning" not in result.text
    listing = client.get("/lawful")
    assert f"/lawful/{case_id}" in listing.text


def test_the_csv_download_is_an_attachment_recorded_with_its_sha256(
    client: TestClient, admin: psycopg.Connection, scenario: Scenario
) -> None:
    csrf = login_as(client, admin, ["flow"], prefix="wl")
    case_id = _open_case(client, csrf, f"KRPB-{scenario.n}/CSV")
    response = _address_query(client, csrf, case_id, scenario, "4000")
    query_id = int(response.headers["location"].rsplit("/", 1)[1])
    download = client.post(f"/lawful/queries/{query_id}/export", data={"csrf": csrf, "part": "subscribers"})
    assert download.status_code == 200
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        rf'attachment; filename="KRPB-{scenario.n}-CSV-q{query_id}-subscribers\.csv"',
        download.headers["content-disposition"],
    )
    lines = download.content.decode("utf-8").split("\r\n")
    assert lines[0].startswith("source,connection_type,customer_no,customer_name,")
    assert lines[1].startswith(f"nat,fixed internet access,{scenario.customer_no},Eva Svobodová,")
    assert f",{scenario.priv2},51000,{scenario.pub},4000,6," in lines[1]
    assert lines[2:] == [""]
    recorded = admin.execute(
        "select part, row_count, sha256 from flow.lawful_exports where query_id = %s", [query_id]
    ).fetchall()
    assert recorded == [("subscribers", 1, hashlib.sha256(download.content).hexdigest())]
    page = client.get(f"/lawful/queries/{query_id}")
    assert hashlib.sha256(download.content).hexdigest() in page.text  # the export is listed
    flows = client.post(f"/lawful/queries/{query_id}/export", data={"csrf": csrf, "part": "flows"})
    assert (
        flows.content.decode("utf-8")
        .split("\r\n")[1]
        .startswith(f"{_csv_time(scenario.t0 + timedelta(minutes=11))},")
    )


def _csv_time(value: datetime) -> str:
    return value.astimezone(i18n.timezone()).isoformat()


def test_officer_asks_by_customer_number_and_period(
    client: TestClient, admin: psycopg.Connection, scenario: Scenario
) -> None:
    csrf = login_as(client, admin, ["flow"], prefix="wl")
    case_id = _open_case(client, csrf, f"KRPB-{scenario.n}/CUST")
    day = scenario.t0.astimezone(i18n.timezone()).date()
    response = client.post(
        f"/lawful/{case_id}/queries",
        data={
            "csrf": csrf,
            "kind": "customer",
            "customer": scenario.customer_no,
            "period_from": (day - timedelta(days=1)).isoformat(),
            "period_to": day.isoformat(),
            "flow_limit": "100",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    result = client.get(response.headers["location"])
    holders = result.text.split('id="subscribers"')[1].split("</section>")[0]
    assert "Eva Svobodová" in holders and f"{scenario.priv2}</td>" in holders
    translations = result.text.split('id="translations"')[1].split("</section>")[0]
    assert "2048–3071" in translations and "Jan Novák" not in translations
    assert f"{scenario.priv2}:51000" in result.text.split('id="flows"')[1]


def test_a_period_before_the_retention_period_is_answered_with_a_clear_warning(
    client: TestClient, admin: psycopg.Connection, scenario: Scenario
) -> None:
    csrf = login_as(client, admin, ["flow"], prefix="wl")
    case_id = _open_case(client, csrf, f"KRPB-{scenario.n}/OLD")
    old = datetime.now(i18n.timezone()) - timedelta(days=300)
    response = client.post(
        f"/lawful/{case_id}/queries",
        data={
            "csrf": csrf,
            "kind": "address",
            "address": scenario.priv1,
            "period_from": _local(old),
            "period_to": _local(old + timedelta(hours=1)),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    result = client.get(response.headers["location"])
    warning = result.text.split('id="retention-warning"')[1].split("</div>")[0]
    assert "older than the retention period (6 months) were destroyed" in warning
    assert "The whole period lies before" in warning
    # The address assignment (kept in the inventory) still names the holder.
    assert "Jan Novák" in result.text.split('id="subscribers"')[1].split("</section>")[0]


def test_missing_details_and_wrong_values_show_beside_their_fields(
    client: TestClient, admin: psycopg.Connection, scenario: Scenario
) -> None:
    csrf = login_as(client, admin, ["flow"], prefix="wl")
    page = client.post(
        "/lawful/new",
        data={"csrf": csrf, "reference": " ", "requesting_body": "Soud", "legal_basis": "§ 97 ZEK"},
    )
    assert page.status_code == 422
    assert field_error(page.text, "reference").startswith("give the case reference")
    case_id = _open_case(client, csrf, f"KRPB-{scenario.n}/ERR")
    bad = client.post(
        f"/lawful/{case_id}/queries",
        data={
            "csrf": csrf,
            "kind": "address",
            "address": "203.0.113.300",
            "port": "70000",
            "period_from": "2025-03-03T10:00",
            "period_to": "2025-03-03T09:00",
        },
    )
    assert bad.status_code == 422
    assert field_error(bad.text, "address") == "This is not an IP address."
    assert field_error(bad.text, "port") == "A port is a whole number from 0 to 65535."
    reversed_period = client.post(
        f"/lawful/{case_id}/queries",
        data={
            "csrf": csrf,
            "kind": "address",
            "address": scenario.pub,
            "period_from": "2025-03-03T10:00",
            "period_to": "2025-03-03T09:00",
        },
    )
    assert reversed_period.status_code == 422
    assert field_error(reversed_period.text, "period_to") == "The end must be after the start."
    unknown = client.post(
        f"/lawful/{case_id}/queries",
        data={
            "csrf": csrf,
            "kind": "customer",
            "customer": "no-such-customer",
            "period_from": "2025-03-01",
            "period_to": "2025-03-31",
        },
    )
    assert field_error(unknown.text, "customer") == "There is no customer with this number."


def test_a_closed_case_takes_no_query_until_reopened(
    client: TestClient, admin: psycopg.Connection, scenario: Scenario
) -> None:
    csrf = login_as(client, admin, ["flow"], prefix="wl")
    case_id = _open_case(client, csrf, f"KRPB-{scenario.n}/CLOSE")
    closed = client.post(
        f"/lawful/{case_id}/close", data={"csrf": csrf, "outcome": "answered"}, follow_redirects=False
    )
    assert closed.status_code == 303
    page = client.get(f"/lawful/{case_id}")
    assert "The case is closed: reopen it to run another query." in page.text
    refused = _address_query(client, csrf, case_id, scenario, "1500")
    assert refused.status_code == 422 and "is closed: reopen it" in refused.text
    client.post(f"/lawful/{case_id}/reopen", data={"csrf": csrf})
    assert _address_query(client, csrf, case_id, scenario, "1500").status_code == 303


@pytest.mark.parametrize("roles", [["support"], ["billing"], ["admin"]])
def test_staff_without_the_flow_role_are_refused(
    client: TestClient, admin: psycopg.Connection, scenario: Scenario, roles: list[str]
) -> None:
    # A case and a query of another officer, made as that officer in the database.
    with admin.transaction():
        admin.execute("call tests.as_staff('{flow}')")
        case_id = admin.execute("select flow.open_case('X-403', 'Soud', '§ 97 ZEK')").fetchone()
        assert case_id is not None
        query_id = admin.execute(
            "select flow.run_address_query(%s, %s::inet, null, tstzrange(%s, %s))",
            [case_id[0], scenario.pub, scenario.t0, scenario.t0 + timedelta(hours=1)],
        ).fetchone()
        assert query_id is not None

    csrf = login_as(client, admin, roles, prefix="wl")
    assert 'href="/lawful"' not in client.get("/").text
    for path in ("/lawful", "/lawful/new", f"/lawful/{case_id[0]}", f"/lawful/queries/{query_id[0]}"):
        assert client.get(path).status_code == 403, path
    export = client.post(f"/lawful/queries/{query_id[0]}/export", data={"csrf": csrf, "part": "subscribers"})
    assert export.status_code == 403
    run = _address_query(client, csrf, case_id[0], scenario, "1500")
    assert run.status_code == 403


def test_an_officer_made_by_an_administrator_needs_a_second_person(
    client: TestClient, admin: psycopg.Connection
) -> None:
    """The administrator creates the user; the officer role comes from another officer."""
    login_as(client, admin, ["admin"], prefix="wl")
    form = client.get("/users/new")
    box = re.search(r'<input type="checkbox" name="role_flow"[^>]*>', form.text)
    assert box and "disabled" in box.group(0)
    name = f"wl_officer_{secrets.token_hex(3)}"
    created = client.post(
        "/users/new",
        data={
            "csrf": form_token(form.text),
            "username": name,
            "full_name": "Officer",
            "email": "",
            "language": "en",
            "role_flow": "on",  # forged: the form does not offer it
            "password": "a-long-password-1",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    row = admin.execute("select id, roles from auth.users where username = %s", [name]).fetchone()
    assert row is not None and row[1] == []
    client.cookies.clear()
    csrf = login_as(client, admin, ["flow"], prefix="wl")
    given = client.post(
        f"/users/{row[0]}/role/flow", data={"csrf": csrf, "holds": "1"}, follow_redirects=False
    )
    assert given.status_code == 303
    officer = admin.execute(
        "select roles, has_function_privilege(db_role, 'flow.open_case(text, text, text, date, date, text)',"
        " 'execute') from auth.users where username = %s",
        [name],
    ).fetchone()
    assert officer == (["flow"], True)

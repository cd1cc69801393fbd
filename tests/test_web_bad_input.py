"""Bad input gets a clear message naming what is wrong, never a 500: a NUL character anywhere, a
text over its length limit (and the form's maxlength from the same limit), NaN for a price, a
value of the wrong type, a reference to a record that does not exist, and rules that used to live
in the web client only (a 0 that became 1, a rejection without a reason, an end before the start).
The messages come from real database errors; the limits and value lists from the database."""

from __future__ import annotations

import asyncio
import html as html_lib
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from tests.web_helpers import login, make_staff
from webclient.web import FormErrors, errors_from
from webclient.web.rules import RULES, Rules, parse_check, read_rules

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def operator(admin: psycopg.Connection) -> int:
    row = admin.execute("select tests.make_catalogue()").fetchone()
    assert row
    return int(row[0])


@pytest.fixture
def today(admin: psycopg.Connection, operator: int) -> date:
    row = admin.execute("select crm.business_date(%s)", [operator]).fetchone()
    assert row
    return date.fromisoformat(str(row[0]))


def _error(html: str, field: str) -> str:
    match = re.search(rf'class="field-error" id="error-{re.escape(field)}"[^>]*>([^<]*)<', html)
    assert match, f"no error beside {field}"
    return html_lib.unescape(match.group(1))


def _customer(admin: psycopg.Connection, operator: int, created_on: date | None = None) -> int:
    row = admin.execute(
        "select tests.make_customer(%s, 'Řeřichová', 'Běla', %s)", [operator, created_on or date(2020, 1, 1)]
    ).fetchone()
    assert row
    return int(row[0])


def _tariff(admin: psycopg.Connection, operator: int, code: str) -> int:
    row = admin.execute(
        "select t.id from catalog.tariffs t join catalog.products p on p.id = t.product_id"
        " where p.operator_id = %s and t.code = %s",
        [operator, code],
    ).fetchone()
    assert row
    return int(row[0])


def _db_error(db: psycopg.Connection, sql: str, params: list[Any] | None = None) -> psycopg.Error:
    """The error PostgreSQL raises for this statement (in a savepoint of the test's transaction)."""
    try:
        with db.transaction():
            db.execute(sql, params)  # type: ignore[arg-type]
    except psycopg.Error as exc:
        return exc
    raise AssertionError(f"{sql} did not fail")


# ---------------------------------------------------------------------------------------------
# NUL characters


def test_a_nul_character_in_a_query_string_gets_a_clear_400_naming_the_field(
    client: TestClient, admin: psycopg.Connection
) -> None:
    login(client, make_staff(admin, ["support"]))
    response = client.get("/customers?q=ab%00cd")
    assert response.status_code == 400
    assert "The field “q” contains a NUL character (0x00)" in html_lib.unescape(response.text)
    assert client.get("/customers/rows?q=%00").status_code == 400


def test_a_nul_character_in_a_form_field_gets_a_clear_400_and_changes_nothing(
    client: TestClient, admin: psycopg.Connection, operator: int
) -> None:
    csrf = login(client, make_staff(admin, ["support"]))
    customer = _customer(admin, operator)
    response = client.post(f"/customers/{customer}/notes", data={"csrf": csrf, "body": "call\x00back"})
    assert response.status_code == 400
    assert "The field “body” contains a NUL character" in html_lib.unescape(response.text)
    row = admin.execute(
        "select count(*) from crm.customer_notes where customer_id = %s", [customer]
    ).fetchone()
    assert row == (0,)
    # The login form too, before any page runs.
    assert client.post("/login", data={"username": "a\x00", "password": "x"}).status_code == 400


def test_a_nul_character_the_database_would_refuse_is_named_by_the_form_field(db: psycopg.Connection) -> None:
    exc = _db_error(db, "select %s::text", ["a\x00b"])
    assert errors_from(exc, "en", "note") == FormErrors(
        fields={"note": "A text may not contain a NUL character (0x00)."}, state="22021"
    )


# ---------------------------------------------------------------------------------------------
# Texts over their limit, and maxlength from the same limit


def test_a_text_over_its_limit_shows_the_limit_beside_its_field_and_the_form_says_it_first(
    client: TestClient, admin: psycopg.Connection, operator: int
) -> None:
    csrf = login(client, make_staff(admin, ["support"]))
    customer = _customer(admin, operator)
    limit = RULES.max_length("crm.customer_notes.body")
    assert limit == 10000
    card = client.get(f"/customers/{customer}?tab=notes")
    assert f'maxlength="{limit}"' in card.text
    response = client.post(f"/customers/{customer}/notes", data={"csrf": csrf, "body": "ř" * (limit + 1)})
    assert response.status_code == 422
    assert _error(response.text, "body") == "This text is too long: at most 10000 characters."
    details = client.get(f"/customers/{customer}?tab=details")
    assert 'name="last_name"' in details.text and 'maxlength="200"' in details.text


def test_the_limits_and_value_lists_the_web_client_names_all_exist_in_the_database(
    client: TestClient,
) -> None:
    """Every column a template or page names for its maxlength, choices or default is one whose
    rule the database has: a renamed column or a dropped constraint fails here, not silently (the
    app read them when it started)."""
    named: set[tuple[str, str]] = set()
    patterns = {
        "max_length": [r'column="([a-z_]+\.[a-z_]+\.[a-z_]+)"', r"rules\.max_length\(['\"]([\w.]+)['\"]\)"],
        "choices": [
            r"rules\.choices\(['\"]([\w.]+)['\"]\)",
            r"RULES\.choices\(['\"]([\w.]+)['\"]\)",
            r"choice_options\(['\"]([\w.]+)['\"]",
        ],
        "default": [
            r"rules\.default\(['\"]([\w.]+)['\"]\)",
            r"RULES\.default\(['\"]([\w.]+)['\"]\)",
            r"int_or_default\([^)]*['\"]([a-z_]+\.[a-z_]+\.[a-z_]+)['\"]\)",
        ],
    }
    files = [*(ROOT / "webclient" / "templates").glob("*.html"), *(ROOT / "webclient" / "staff").glob("*.py")]
    for path in files:
        text = path.read_text(encoding="utf-8")
        for kind, regexes in patterns.items():
            for regex in regexes:
                named.update((kind, m) for m in re.findall(regex, text))
    assert len(named) > 40
    missing = []
    for kind, column in sorted(named):
        value = {"max_length": RULES.max_length, "choices": RULES.choices, "default": RULES.default}[kind](
            column
        )
        if not value:
            missing.append(f"{kind} of {column}")
    assert not missing, missing


def test_the_rules_are_read_from_the_constraints_the_migrations_wrote(settings: Any) -> None:
    async def read() -> Rules:
        async with await psycopg.AsyncConnection.connect(settings.admin_conninfo()) as conn:
            rules = Rules()
            rules.replace(await read_rules(conn))
            return rules

    # In a thread of its own: the browser tests' Playwright keeps an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        rules = pool.submit(asyncio.run, read()).result()
    assert rules.max_length("crm.customers.note") == 2000
    assert rules.choices("crm.contacts.kind") == ("email", "phone", "billing_email")
    assert rules.choices("crm.services.period_months") == ("1", "2", "3", "6", "12")
    assert rules.default("crm.contracts.notice_months") == "1"
    billing_day = rules.check("crm", "services", "services_billing_day_check")
    assert billing_day and (billing_day.minimum, billing_day.maximum) == (1, 28)
    finite = rules.check("catalog", "prices", "prices_monthly_fee_finite_check")
    assert finite and finite.finite
    # A shape it does not know says nothing rather than something wrong.
    assert parse_check("ended_on", "CHECK ((ended_on >= created_on))") == parse_check("ended_on", "CHECK (x)")


# ---------------------------------------------------------------------------------------------
# Numbers: NaN for a price, and values of the wrong type


def test_a_nan_price_is_refused_beside_its_field_and_the_tariff_page_still_works(
    client: TestClient, admin: psycopg.Connection, operator: int, today: date
) -> None:
    csrf = login(client, make_staff(admin, ["admin"]))
    tariff = _tariff(admin, operator, "i300")
    before = admin.execute("select count(*) from catalog.prices where tariff_id = %s", [tariff]).fetchone()
    for nan in ("NaN", "nan", "Infinity", "-inf", "sNaN"):
        response = client.post(
            f"/catalogue/tariffs/{tariff}/prices",
            data={"csrf": csrf, "valid_from": (today + timedelta(days=40)).isoformat(), "monthly_fee": nan},
        )
        assert response.status_code == 422, nan
        assert _error(response.text, "monthly_fee") == "This is not a number."
    assert (
        admin.execute("select count(*) from catalog.prices where tariff_id = %s", [tariff]).fetchone()
        == before
    )
    assert client.get(f"/catalogue/tariffs/{tariff}").status_code == 200


def test_a_nan_the_database_refuses_says_a_number_is_needed(db: psycopg.Connection, operator: int) -> None:
    row = db.execute("select tests.make_tariff(100, %s)", [operator]).fetchone()
    assert row
    exc = _db_error(
        db,
        "insert into catalog.prices (tariff_id, valid, monthly_fee) values (%s, daterange('2031-01-01', null), 'NaN')",
        [row[0]],
    )
    assert errors_from(exc, "en") == FormErrors(
        fields={"monthly_fee": "Give a number (not NaN or infinity)."}, state="23514"
    )


def test_a_value_of_the_wrong_type_is_named_by_its_field_not_by_postgresql(db: psycopg.Connection) -> None:
    inet = _db_error(db, "select %s::inet", ["203.0.113.300"])
    assert errors_from(inet, "en", "address") == FormErrors(
        fields={"address": "This is not an IP address."}, state="22P02"
    )
    assert errors_from(inet, "en") == FormErrors(
        general=["“203.0.113.300” is not an IP address."], state="22P02"
    )
    assert errors_from(inet, "cs", "address") == FormErrors(
        fields={"address": "Toto není IP adresa."}, state="22P02"
    )
    whole = _db_error(db, "select %s::integer", ["12a"])
    assert errors_from(whole, "en", "start_value") == FormErrors(
        fields={"start_value": "This is not a whole number."}, state="22P02"
    )
    date_out = _db_error(db, "select %s::date", ["2025-02-30"])
    assert errors_from(date_out, "en", "on") == FormErrors(
        fields={"on": "This date is out of range."}, state="22008"
    )
    small = _db_error(db, "select %s::smallint", ["99999"])
    assert errors_from(small, "en", "port") == FormErrors(
        fields={"port": "This value is out of range."}, state="22003"
    )


def test_a_series_start_that_is_not_a_number_shows_beside_its_field(
    client: TestClient, admin: psycopg.Connection, operator: int
) -> None:
    csrf = login(client, make_staff(admin, ["admin"]))
    response = client.post(
        f"/operators/{operator}/series",
        data={
            "csrf": csrf,
            "kind": "invoice",
            "format": "FV{YYYY}{N:6}",
            "start_value": "12a",
            "yearly": "on",
        },
    )
    assert response.status_code == 422
    assert _error(response.text, "start_value") == "This is not a whole number."
    assert "invalid input syntax" not in response.text


# ---------------------------------------------------------------------------------------------
# References to records that do not exist


def test_a_reference_to_a_record_that_does_not_exist_is_named_and_a_removal_in_use_explained(
    db: psycopg.Connection, operator: int
) -> None:
    missing = _db_error(
        db, "insert into crm.contacts (customer_id, kind, value) values (-1, 'email', 'a@example.cz')"
    )
    assert errors_from(missing, "en") == FormErrors(
        fields={"customer_id": "This refers to a record that does not exist (any more)."}, state="23503"
    )
    in_use = _db_error(db, "delete from crm.operators where id = %s", [operator])
    assert errors_from(in_use, "en") == FormErrors(
        general=["This is still in use elsewhere, so it cannot be removed or changed."], state="23503"
    )


def test_a_form_for_a_customer_that_does_not_exist_is_a_404_not_a_500(
    client: TestClient, admin: psycopg.Connection
) -> None:
    csrf = login(client, make_staff(admin, ["support"]))
    for path, data in (
        ("/customers/999999999/contacts", {"kind": "email", "value": "a@example.cz"}),
        ("/customers/999999999/notes", {"body": "hello"}),
        ("/customers/999999999/places", {"house_no": "1", "city": "Brno"}),
    ):
        response = client.post(path, data={"csrf": csrf, **data})
        assert response.status_code == 404, path
        assert "This customer does not exist." in response.text


# ---------------------------------------------------------------------------------------------
# Rules that lived in the web client only


def test_a_contract_with_zero_months_notice_keeps_zero_and_an_empty_one_the_default(
    client: TestClient, admin: psycopg.Connection, operator: int, today: date
) -> None:
    csrf = login(client, make_staff(admin, ["support"]))
    customer = _customer(admin, operator)
    for number, notice in ((f"Z-{secrets.token_hex(3)}", "0"), (f"D-{secrets.token_hex(3)}", "")):
        response = client.post(
            f"/customers/{customer}/contracts",
            data={"csrf": csrf, "number": number, "valid_from": today.isoformat(), "notice_months": notice},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
    rows = admin.execute(
        "select number, notice_months from crm.contracts where customer_id = %s order by number", [customer]
    ).fetchall()
    assert [r[1] for r in rows] == [1, 0]  # D-… took the column's default, Z-… kept its 0
    over = client.post(
        f"/customers/{customer}/contracts",
        data={"csrf": csrf, "number": "X-1", "valid_from": today.isoformat(), "notice_months": "25"},
    )
    assert over.status_code == 422 and _error(over.text, "notice_months") == "A value from 0 to 24."


def test_a_billing_period_or_day_of_zero_is_refused_by_the_database_with_what_it_allows(
    client: TestClient, admin: psycopg.Connection, operator: int, today: date
) -> None:
    csrf = login(client, make_staff(admin, ["support"]))
    customer = _customer(admin, operator)
    tariff = _tariff(admin, operator, "i300")
    form = {
        "csrf": csrf,
        "go": "1",
        "mode": "tariff",
        "tariff_id": str(tariff),
        "valid_from": today.isoformat(),
    }
    period = client.post(
        f"/customers/{customer}/activate", data={**form, "period_months": "0", "billing_day": "1"}
    )
    assert period.status_code == 422
    assert _error(period.text, "period_months") == "Choose one of: 1, 2, 3, 6, 12."
    day = client.post(
        f"/customers/{customer}/activate", data={**form, "period_months": "1", "billing_day": "0"}
    )
    assert day.status_code == 422 and _error(day.text, "billing_day") == "A value from 1 to 28."
    page = client.get(f"/customers/{customer}/activate?tariff_id={tariff}")
    options = re.findall(r'<option value="(\d+)"[^>]*>[^<]*mo\.', page.text)
    assert options == ["1", "2", "3", "6", "12"]  # the billing periods the database accepts
    ok = client.post(f"/customers/{customer}/activate", data=form, follow_redirects=False)
    assert ok.status_code == 303, ok.text
    row = admin.execute(
        "select period_months, billing_day from crm.services where customer_id = %s", [customer]
    ).fetchone()
    assert row == (1, 1)  # empty fields: the database's defaults


def test_rejecting_an_order_asks_the_database_for_the_reason(
    client: TestClient, admin: psycopg.Connection, operator: int, today: date
) -> None:
    csrf = login(client, make_staff(admin, ["sales"]))
    customer = _customer(admin, operator)
    row = admin.execute(
        "select catalog.place_order(%s, 'activate', null, %s, p_stage => 'enquiry')",
        [customer, _tariff(admin, operator, "i300")],
    ).fetchone()
    assert row
    order = row[0]
    refused = client.post(
        f"/customers/{customer}/orders/{order}/advance", data={"csrf": csrf, "stage": "rejected"}
    )
    assert refused.status_code == 422
    assert _error(refused.text, "note") == "say why the order is rejected"
    taken = client.post(
        f"/customers/{customer}/orders/{order}/advance",
        data={"csrf": csrf, "stage": "rejected", "note": "Too expensive"},
        follow_redirects=False,
    )
    assert taken.status_code == 303
    assert admin.execute("select reject_reason from catalog.orders where id = %s", [order]).fetchone() == (
        "Too expensive",
    )


def test_ending_a_customer_before_they_began_shows_beside_the_date(
    client: TestClient, admin: psycopg.Connection, operator: int
) -> None:
    csrf = login(client, make_staff(admin, ["support"]))
    customer = _customer(admin, operator, date(2024, 3, 1))
    response = client.post(
        f"/customers/{customer}/end", data={"csrf": csrf, "ended_on": "1900-01-01", "end_reason": "typo"}
    )
    assert response.status_code == 422
    assert (
        _error(response.text, "ended_on") == "the customer began on 2024-03-01: they cannot end before that"
    )
    assert admin.execute("select state from crm.customers where id = %s", [customer]).fetchone() == (
        "active",
    )


def test_a_numbers_next_value_on_the_operator_page_comes_from_the_database(
    client: TestClient, admin: psycopg.Connection, operator: int
) -> None:
    login(client, make_staff(admin, ["admin"]))
    row = admin.execute(
        "select crm.peek_number(id) from crm.number_series where operator_id = %s and kind = 'contract'",
        [operator],
    ).fetchone()
    assert row and row[0]
    assert f">{row[0]}</td>" in client.get(f"/operators/{operator}").text


# ---------------------------------------------------------------------------------------------
# The bus page: a plain sentence first, the technical text for administrators


def test_a_dead_events_error_leads_with_a_plain_sentence_and_only_administrators_see_the_trace(
    client: TestClient, admin: psycopg.Connection
) -> None:
    entity = f"service:{secrets.token_hex(4)}"
    admin.execute(
        "insert into bus.dead_events (id, topic, entity, revision, payload, attempts, last_error, created_at)"
        " values ((select coalesce(max(id), 0) + 1000000 from bus.dead_events), 'provisioning', %s, 1, '{}', 10,"
        " 'Traceback (most recent call last): KeyError: ''service_id''', now())",
        [entity],
    )
    sentence = "The agent could not handle this event, and stopped trying after 10 attempts."
    login(client, make_staff(admin, ["support"]))
    page = html_lib.unescape(client.get("/bus").text)
    row = page.split(entity)[1].split("</tr>")[0]
    assert sentence in row and "KeyError" not in row
    client.cookies.clear()
    login(client, make_staff(admin, ["admin"]))
    row = html_lib.unescape(client.get("/bus").text).split(entity)[1].split("</tr>")[0]
    assert (
        sentence in row and "<summary>Technical detail</summary>" in row and "KeyError: 'service_id'" in row
    )

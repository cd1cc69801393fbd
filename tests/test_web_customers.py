"""The customer pages of the staff web client against the real test database: create and find a
customer, the card's tabs, services from the catalogue (a tariff and a bundle), tariff change,
suspension, end and restore, the order flow with prices before and after, parameters."""

from __future__ import annotations

import html as html_lib
import ipaddress
import re
import secrets
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import quote

import psycopg
import pytest
from starlette.testclient import TestClient

from tests.web_helpers import login, make_staff


@pytest.fixture
def operator(admin: psycopg.Connection) -> int:
    row = admin.execute("select tests.make_catalogue()").fetchone()
    assert row
    return int(row[0])


@pytest.fixture
def today(admin: psycopg.Connection, operator: int) -> date:
    """The operator's business date, which its customers and services are dated by (between 23:00 and
    24:00 UTC it is already the next day in Prague, while the test machine's date is not)."""
    row = admin.execute("select crm.business_date(%s)", [operator]).fetchone()
    assert row
    return date.fromisoformat(str(row[0]))


def _tariff(admin: psycopg.Connection, operator: int, code: str) -> int:
    row = admin.execute(
        "select t.id from catalog.tariffs t join catalog.products p on p.id = t.product_id"
        " where p.operator_id = %s and t.code = %s",
        [operator, code],
    ).fetchone()
    assert row
    return int(row[0])


def _new_customer(client: TestClient, csrf: str, operator: int, **fields: str) -> int:
    form = {
        "csrf": csrf,
        "operator_id": str(operator),
        "kind": "person",
        "first_name": "Běla",
        "last_name": "Řeřichová",
        "street": "Lidická",
        "house_no": "12",
        "city": "Brno",
        "zip": "60200",
        **fields,
    }
    r = client.post("/customers/new", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    match = re.fullmatch(r"/customers/(\d+)\?tab=details", r.headers["location"])
    assert match
    return int(match.group(1))


def _error(html: str, field: str) -> str:
    match = re.search(rf'class="field-error" id="error-{re.escape(field)}"[^>]*>([^<]*)<', html)
    assert match, f"no error beside {field}"
    return html_lib.unescape(match.group(1))


def test_support_creates_a_customer_and_an_invalid_ico_shows_beside_its_field(
    client: TestClient, admin: psycopg.Connection, operator: int
) -> None:
    csrf = login(client, make_staff(admin, ["support"]))
    r = client.post(
        "/customers/new",
        data={
            "csrf": csrf,
            "operator_id": str(operator),
            "kind": "company",
            "company_name": "Pekárna Novák s.r.o.",
            "ico": "12345678",
        },
    )
    assert r.status_code == 422
    assert "IČO 12345678 is not valid" in _error(r.text, "ico")
    assert 'value="Pekárna Novák s.r.o."' in r.text  # what the user typed stays
    phone = f"777{secrets.randbelow(10**6):06d}"
    customer = _new_customer(client, csrf, operator, phone=phone, email="bela@example.cz")
    card = client.get(f"/customers/{customer}?tab=details")
    assert card.status_code == 200
    assert "Běla Řeřichová" in card.text and "602 00" in card.text
    row = admin.execute("select vs, customer_no from crm.customers where id = %s", [customer]).fetchone()
    assert row
    vs, number = row
    assert number in card.text and vs in card.text
    # Found by surname without diacritics, by VS and by phone; the list shows number, VS, address.
    for q in ("rerichova bela", vs, phone):
        found = client.get("/customers", params={"q": q})
        assert found.status_code == 200
        assert f'href="/customers/{customer}"' in found.text, q
    rows = client.get("/customers/rows", params={"q": "rerichova"})
    assert "<html" not in rows.text and f"/customers/{customer}" in rows.text and "Lidická 12" in rows.text


def test_every_tab_of_the_card_renders(client: TestClient, admin: psycopg.Connection, operator: int) -> None:
    csrf = login(client, make_staff(admin, ["support"]))
    customer = _new_customer(client, csrf, operator)
    for tab in ("services", "details", "places", "contacts", "contracts", "orders", "notes", "history"):
        r = client.get(f"/customers/{customer}", params={"tab": tab})
        assert r.status_code == 200, (tab, r.text[-2000:])
        assert 'class="on" aria-current="page"' in r.text
    assert client.get("/customers/999999999").status_code == 404


def test_places_contacts_contracts_and_notes(
    client: TestClient, admin: psycopg.Connection, operator: int
) -> None:
    csrf = login(client, make_staff(admin, ["sales"]))
    customer = _new_customer(client, csrf, operator)
    r = client.post(
        f"/customers/{customer}/places",
        data={"csrf": csrf, "house_no": "7", "city": "Brno", "zip": "123", "latitude": "49.1"},
    )
    assert r.status_code == 422
    assert "PSČ 123 is not valid" in _error(r.text, "zip")
    r = client.post(
        f"/customers/{customer}/places",
        data={
            "csrf": csrf,
            "street": "Údolní",
            "house_no": "7",
            "flat": "3",
            "city": "Brno",
            "zip": "60200",
            "latitude": "49.195",
            "longitude": "16.606",
        },
    )
    assert r.status_code == 200 and "Údolní 7" in r.text
    r = client.post(f"/customers/{customer}/contacts", data={"csrf": csrf, "kind": "phone", "value": "12"})
    assert r.status_code == 422 and "phone number 12 is not valid" in _error(r.text, "value")
    r = client.post(
        f"/customers/{customer}/contacts",
        data={"csrf": csrf, "kind": "billing_email", "value": "Ucetni@Example.cz"},
    )
    assert r.status_code == 200 and "ucetni@example.cz" in r.text
    r = client.post(
        f"/customers/{customer}/contracts",
        data={"csrf": csrf, "valid_from": "2025-01-01", "notice_months": "2", "signed": "on"},
    )
    assert r.status_code == 422 and "signing date" in _error(r.text, "signed_on")
    r = client.post(
        f"/customers/{customer}/contracts",
        data={
            "csrf": csrf,
            "valid_from": "2025-01-01",
            "signed_on": "2024-12-20",
            "notice_months": "2",
            "signed": "on",
        },
    )
    assert r.status_code == 200 and re.search(r"SM2025\d{4}", r.text)
    contract = admin.execute("select id from crm.contracts where customer_id = %s", [customer]).fetchone()
    assert contract
    r = client.post(
        f"/customers/{customer}/contracts/{contract[0]}/terminate",
        data={"csrf": csrf, "notice_on": "2025-03-10"},
    )
    assert r.status_code == 200 and "the contract ends on 31 May 2025" in r.text
    r = client.post(f"/customers/{customer}/notes", data={"csrf": csrf, "body": "Volat až po 17. hodině."})
    assert r.status_code == 200 and "Volat až po 17. hodině." in r.text


def test_activate_a_service_and_a_bundle_then_change_tariff_suspend_end_and_restore(
    client: TestClient, admin: psycopg.Connection, operator: int, today: date
) -> None:
    csrf = login(client, make_staff(admin, ["support"]))
    customer = _new_customer(client, csrf, operator)
    t300, t500 = _tariff(admin, operator, "i300"), _tariff(admin, operator, "i500")
    start = today.isoformat()
    # The form for a tariff shows the parameters of its class, typed.
    r = client.get(f"/customers/{customer}/activate", params={"tariff_id": t300})
    assert r.status_code == 200 and 'name="p_download"' in r.text and "Mbit/s" in r.text
    r = client.post(
        f"/customers/{customer}/activate",
        data={
            "csrf": csrf,
            "go": "1",
            "mode": "tariff",
            "tariff_id": str(t300),
            "valid_from": start,
            "p_download": "fast",
            "period_months": "1",
            "billing_day": "1",
        },
    )
    assert r.status_code == 422, r.text[-3000:]
    assert 'expects a number, got "fast"' in _error(r.text, "p_download")
    assert admin.execute(
        "select count(*) from crm.services where customer_id = %s", [customer]
    ).fetchone() == (0,)
    r = client.post(
        f"/customers/{customer}/activate",
        data={
            "csrf": csrf,
            "go": "1",
            "mode": "tariff",
            "tariff_id": str(t300),
            "valid_from": start,
            "p_download": "300",
            "period_months": "3",
            "billing_day": "5",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    bundle = admin.execute("select id from catalog.bundles where operator_id = %s", [operator]).fetchone()
    assert bundle
    r = client.post(
        f"/customers/{customer}/activate",
        data={"csrf": csrf, "go": "1", "mode": "bundle", "bundle_id": str(bundle[0]), "valid_from": start},
    )
    assert r.status_code == 200 and "Bundle activated." in r.text
    services = admin.execute(
        "select id, bundle_id from crm.services where customer_id = %s order by id", [customer]
    ).fetchall()
    assert len(services) == 3 and services[1][1] == services[2][1] == bundle[0]
    single = services[0][0]
    assert "Fiber 300" in r.text and "TV Basic" in r.text and "Download: <b>300 Mbit/s</b>" in r.text
    # Change the tariff from the first of next month.
    on = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    r = client.post(
        f"/customers/{customer}/services/{single}/change_tariff",
        data={"csrf": csrf, "tariff_id": str(t500), "on": on.isoformat()},
    )
    assert r.status_code == 200 and "The tariff changes on" in r.text
    assert "→ Fiber 500 from" in r.text
    # Suspension from–to, then resume; a block by a person, then unblock.
    until = (today + timedelta(days=10)).isoformat()
    r = client.post(
        f"/customers/{customer}/services/{single}/suspend",
        data={"csrf": csrf, "on": today.isoformat(), "until": today.isoformat()},
    )
    assert r.status_code == 422 and "a suspension ends after it starts" in _error(r.text, "until")
    r = client.post(
        f"/customers/{customer}/services/{single}/suspend",
        data={"csrf": csrf, "on": today.isoformat(), "until": until, "reason": "holiday"},
    )
    assert r.status_code == 200
    assert admin.execute("select state from crm.services where id = %s", [single]).fetchone() == (
        "suspended",
    )
    client.post(f"/customers/{customer}/services/{single}/resume", data={"csrf": csrf})
    client.post(f"/customers/{customer}/services/{single}/block", data={"csrf": csrf, "reason": "abuse"})
    row = admin.execute("select state, block_kind from crm.services where id = %s", [single]).fetchone()
    assert row == ("blocked", "manual")
    client.post(f"/customers/{customer}/services/{single}/unblock", data={"csrf": csrf})
    # End today, then restore.
    r = client.post(
        f"/customers/{customer}/services/{single}/end",
        data={"csrf": csrf, "on": today.isoformat(), "reason": "moving away"},
    )
    assert r.status_code == 200
    assert admin.execute("select state from crm.services where id = %s", [single]).fetchone() == ("ended",)
    r = client.post(f"/customers/{customer}/services/{single}/restore", data={"csrf": csrf})
    assert r.status_code == 200 and "Service restored." in r.text
    assert admin.execute("select state from crm.services where id = %s", [single]).fetchone() == ("active",)
    # The history tab shows the service's changes next to the customer's.
    history = client.get(f"/customers/{customer}", params={"tab": "history"})
    assert f"services #{single}" in history.text and "service_tariffs #" in history.text


def test_end_and_restore_a_customer(
    client: TestClient, admin: psycopg.Connection, operator: int, today: date
) -> None:
    csrf = login(client, make_staff(admin, ["billing"]))
    customer = _new_customer(client, csrf, operator)
    r = client.post(f"/customers/{customer}/end", data={"csrf": csrf, "ended_on": "", "end_reason": "x"})
    assert r.status_code == 422 and _error(r.text, "ended_on")
    r = client.post(
        f"/customers/{customer}/end",
        data={"csrf": csrf, "ended_on": today.isoformat(), "end_reason": "contract over"},
    )
    assert r.status_code == 200
    assert admin.execute("select state from crm.customers where id = %s", [customer]).fetchone() == ("ended",)
    name = admin.execute(
        "select crm.customer_name(c) from crm.customers c where id = %s", [customer]
    ).fetchone()
    assert name
    listed = client.get("/customers", params={"q": str(customer)})
    assert listed.status_code == 200
    r = client.post(f"/customers/{customer}/restore", data={"csrf": csrf})
    assert r.status_code == 200 and "The customer is active again." in r.text


def test_order_flow_keeps_prices_before_and_after(
    client: TestClient, admin: psycopg.Connection, operator: int, today: date
) -> None:
    csrf = login(client, make_staff(admin, ["sales"]))
    customer = _new_customer(client, csrf, operator)
    t300, t500 = _tariff(admin, operator, "i300"), _tariff(admin, operator, "i500")
    service = admin.execute(
        "select crm.activate_service(%s, %s, %s, null, '{}')", [customer, t300, today]
    ).fetchone()
    assert service
    r = client.post(
        f"/customers/{customer}/orders",
        data={
            "csrf": csrf,
            "stage": "enquiry",
            "kind": "change_tariff",
            "service_id": str(service[0]),
            "target": "",
            "effective_on": today.isoformat(),
        },
    )
    assert r.status_code == 422 and _error(r.text, "target") == "choose a tariff or a bundle"
    r = client.post(
        f"/customers/{customer}/orders",
        data={
            "csrf": csrf,
            "stage": "enquiry",
            "kind": "change_tariff",
            "service_id": str(service[0]),
            "target": f"t:{t500}",
            "effective_on": today.isoformat(),
            "note": "wants faster",
        },
    )
    assert r.status_code == 200 and "Order placed." in r.text
    order = admin.execute(
        "select id, price_before, price_after from catalog.orders where customer_id = %s", [customer]
    ).fetchone()
    assert order and order[1:] == (300, 500)
    assert "CZK\u00a0300.00" in r.text and "CZK\u00a0500.00" in r.text
    for stage in ("offer", "order"):
        r = client.post(
            f"/customers/{customer}/orders/{order[0]}/advance", data={"csrf": csrf, "stage": stage}
        )
        assert r.status_code == 200, r.text
    r = client.post(
        f"/customers/{customer}/orders/{order[0]}/advance", data={"csrf": csrf, "stage": "accepted"}
    )
    assert r.status_code == 200 and f"Order {order[0]} is now: done." in r.text
    assert admin.execute("select crm.current_tariff(%s)", [service[0]]).fetchone() == (t500,)
    # A rejection needs its reason, beside the field.
    r = client.post(
        f"/customers/{customer}/orders",
        data={
            "csrf": csrf,
            "stage": "offer",
            "kind": "activate",
            "target": f"t:{t300}",
            "effective_on": today.isoformat(),
        },
    )
    second = admin.execute("select max(id) from catalog.orders where customer_id = %s", [customer]).fetchone()
    assert second
    r = client.post(
        f"/customers/{customer}/orders/{second[0]}/advance", data={"csrf": csrf, "stage": "rejected"}
    )
    assert r.status_code == 422 and _error(r.text, "note") == "say why the order is rejected"
    r = client.post(
        f"/customers/{customer}/orders/{second[0]}/advance",
        data={"csrf": csrf, "stage": "rejected", "note": "too expensive"},
    )
    assert r.status_code == 200 and "too expensive" in r.text
    assert "/orders" in client.get("/orders").text


def test_customer_parameters_are_typed_listed_and_filtered(
    client: TestClient, admin: psycopg.Connection, operator: int
) -> None:
    code = f"since_{secrets.token_hex(3)}"
    admin.execute(
        "insert into crm.parameter_definitions (entity, code, name, type, show_in_lists)"
        " values ('customer', %s, 'Customer since', 'date', true)",
        [code],
    )
    csrf = login(client, make_staff(admin, ["support"]))
    customer = _new_customer(client, csrf, operator, last_name="Parametrová")
    form = {
        "csrf": csrf,
        "kind": "person",
        "first_name": "Eva",
        "last_name": "Parametrová",
        "city": "Brno",
        "zip": "60200",
        "language": "cs",
        f"p_{code}": "2019-13-45",
    }
    r = client.post(f"/customers/{customer}", data=form)
    assert r.status_code == 422
    assert "expects a date" in _error(r.text, f"p_{code}")
    r = client.post(f"/customers/{customer}", data={**form, f"p_{code}": "2019-05-01"})
    assert r.status_code == 200 and "Changes saved." in r.text
    listed = client.get("/customers", params={"q": "parametrova"})
    assert "Customer since" in listed.text and "1 May 2019" in listed.text
    filtered = client.get("/customers", params={"q": "", "param": code, "pval": "2019-05-01"})
    assert f"/customers/{customer}" in filtered.text
    other = client.get("/customers", params={"q": "", "param": code, "pval": "2019-05-02"})
    assert f"/customers/{customer}" not in other.text


def test_support_edits_customers_but_gets_the_403_page_on_catalogue_edits(
    client: TestClient, admin: psycopg.Connection, operator: int
) -> None:
    csrf = login(client, make_staff(admin, ["support"]))
    assert client.get("/catalogue").status_code == 200
    t300 = _tariff(admin, operator, "i300")
    assert client.get(f"/catalogue/tariffs/{t300}").status_code == 200
    r = client.post(
        f"/catalogue/tariffs/{t300}/prices",
        data={"csrf": csrf, "valid_from": "2030-01-01", "monthly_fee": "1"},
    )
    assert r.status_code == 403 and "You are not allowed to do this" in r.text
    r = client.post("/catalogue/classes", data={"csrf": csrf, "code": "sneaky", "name": "Sneaky"})
    assert r.status_code == 403
    r = client.post(
        "/parameters",
        data={"csrf": csrf, "entity": "customer", "code": "sneaky", "name": "S", "type": "text"},
    )
    assert r.status_code == 403


def test_admin_edits_the_catalogue_and_an_overlapping_price_is_refused_beside_its_field(
    client: TestClient, admin: psycopg.Connection, operator: int
) -> None:
    csrf = login(client, make_staff(admin, ["admin"]))
    t300 = _tariff(admin, operator, "i300")
    r = client.post(
        f"/catalogue/tariffs/{t300}/prices",
        data={"csrf": csrf, "valid_from": "2031-01-01", "monthly_fee": "350"},
    )
    assert r.status_code == 200 and "Price added." in r.text
    r = client.post(
        f"/catalogue/tariffs/{t300}/prices",
        data={"csrf": csrf, "valid_from": "2019-06-01", "monthly_fee": "280"},
    )
    assert r.status_code == 422
    assert "prices may not overlap" in _error(r.text, "valid_from")
    products = client.get("/catalogue")
    assert "Internet + TV" in products.text
    klass = admin.execute(
        "select p.class_id from catalog.products p where p.operator_id = %s and p.code = 'inet'", [operator]
    ).fetchone()
    assert klass
    r = client.post(
        "/catalogue/products",
        data={
            "csrf": csrf,
            "operator_id": str(operator),
            "class_id": str(klass[0]),
            "code": "inet",
            "name": "Duplicate",
        },
    )
    assert r.status_code == 422
    r = client.post(
        "/catalogue/products",
        data={
            "csrf": csrf,
            "operator_id": str(operator),
            "class_id": str(klass[0]),
            "code": "voip",
            "name": "Telefon",
            "price_mode": "without_vat",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    product = r.headers["location"]
    r = client.post(
        product + "/tariffs",
        data={"csrf": csrf, "code": "v1", "name": "Volání", "monthly_fee": "99", "valid_from": "2025-01-01"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "Volání" in client.get(product).text
    bundle = admin.execute("select id from catalog.bundles where operator_id = %s", [operator]).fetchone()
    assert bundle
    r = client.get(f"/catalogue/bundles/{bundle[0]}")
    assert r.status_code == 200 and "TV Basic" in r.text
    r = client.post(
        "/parameters",
        data={
            "csrf": csrf,
            "entity": "service",
            "class_id": str(klass[0]),
            "code": "tier",
            "name": "Tier",
            "type": "choice",
            "choices": "",
            "active": "on",
        },
    )
    assert r.status_code == 422 and _error(r.text, "choices")
    r = client.post(
        "/parameters",
        data={
            "csrf": csrf,
            "entity": "service",
            "class_id": str(klass[0]),
            "code": "tier",
            "name": "Tier",
            "type": "choice",
            "choices": "gold, silver",
            "active": "on",
        },
    )
    assert r.status_code == 200 and "gold, silver" in r.text


def test_card_prices_after_discounts_and_service_actions_on_demand(
    client: TestClient, admin: psycopg.Connection, operator: int, today: date
) -> None:
    csrf = login(client, make_staff(admin, ["support"]))
    customer = _new_customer(client, csrf, operator)
    bundle = admin.execute("select id from catalog.bundles where operator_id = %s", [operator]).fetchone()
    assert bundle
    r = client.post(
        f"/customers/{customer}/activate",
        data={
            "csrf": csrf,
            "go": "1",
            "mode": "bundle",
            "bundle_id": str(bundle[0]),
            "valid_from": today.isoformat(),
        },
    )
    assert r.status_code == 200 and "Bundle activated." in r.text
    admin.execute(
        "insert into catalog.customer_discounts (customer_id, percent, valid, reason)"
        " values (%s, 5, daterange(%s, null), 'loyal')",
        [customer, today],
    )
    tv, internet = admin.execute(
        "select (select s.id from crm.services s join catalog.products p on p.id = s.product_id"
        "         where s.customer_id = %(c)s and p.code = 'tv'),"
        "       (select s.id from crm.services s join catalog.products p on p.id = s.product_id"
        "         where s.customer_id = %(c)s and p.code = 'inet')",
        {"c": customer},
    ).fetchone() or (None, None)
    prices = {
        sid: admin.execute(
            "select list_with_vat, bundle_discount, group_discount, monthly_with_vat"
            " from catalog.service_price(%s, %s)",
            [sid, today],
        ).fetchone()
        for sid in (tv, internet)
    }
    # TV: 10 % off in the bundle, then 5 % group discount; internet: only the group discount.
    list_tv, bundle_tv, group_tv, monthly_tv = prices[tv]
    assert (bundle_tv, group_tv) == (10, 5)
    assert monthly_tv == round(list_tv * Decimal("0.9") * Decimal("0.95"), 2)
    assert prices[internet][1:3] == (0, 5)
    card = client.get(f"/customers/{customer}")
    assert card.status_code == 200
    assert "bundle −10 %" in card.text and "group discount −5 %" in card.text
    # The header total is the sum of the discounted prices.
    total = monthly_tv + prices[internet][3]
    assert admin.execute(
        "select sum(pr.monthly_with_vat) from crm.services s,"
        " catalog.service_price(s.id, %s) pr where s.customer_id = %s",
        [today, customer],
    ).fetchone() == (total,)
    # The card carries no action forms; a service's actions come on demand, or in place with ?service=.
    assert "/change_tariff" not in card.text and f"/customers/{customer}/services/{tv}/actions" in card.text
    actions = client.get(f"/customers/{customer}/services/{tv}/actions")
    assert actions.status_code == 200 and f"/services/{tv}/change_tariff" in actions.text
    assert "Fiber 500" in actions.text  # the tariffs to change to
    opened = client.get(f"/customers/{customer}", params={"service": tv})
    assert (
        f"/services/{tv}/change_tariff" in opened.text
        and f"/services/{internet}/change_tariff" not in opened.text
    )
    assert client.get(f"/customers/{customer}/services/999999999/actions").status_code == 404


def test_card_view_asks_for_a_live_session_and_shows_the_database_refusal(
    client: TestClient, admin: psycopg.Connection, operator: int
) -> None:
    """The card is one statement (session, role, card); each way it can end is a proper page."""
    csrf = login(client, make_staff(admin, ["support"]))
    customer = _new_customer(client, csrf, operator)
    token = client.cookies["mango_session"]
    client.cookies.clear()
    r = client.get(f"/customers/{customer}", params={"tab": "notes"}, follow_redirects=False)
    assert (
        r.status_code == 303 and r.headers["location"] == f"/login?next=/customers/{customer}%3Ftab%3Dnotes"
    )
    client.cookies.set("mango_session", token)
    assert client.get(f"/customers/{customer}").status_code == 200
    admin.execute("update auth.sessions set ended_at = now() where token_hash = auth.token_hash(%s)", [token])
    r = client.get(f"/customers/{customer}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    # A user whose role reads no customer (reporting reads the report views only): the database
    # refuses the card, and the page says so under the user's name.
    client.cookies.clear()
    nobody = make_staff(admin, ["report"])
    login(client, nobody)
    r = client.get(f"/customers/{customer}")
    assert r.status_code == 403 and "You are not allowed to do this" in r.text and nobody in r.text


def test_search_box_finds_the_holder_of_an_ip_or_mac_address_and_the_card_shows_them(
    client: TestClient, admin: psycopg.Connection, operator: int
) -> None:
    login(client, make_staff(admin, ["support"]))
    row = admin.execute("select tests.make_customer(%s, 'Kořínková', 'Alžběta')", [operator]).fetchone()
    assert row
    customer = int(row[0])
    # Outside the demo's prefixes; written the way PostgreSQL shows it (no leading zeros).
    address = str(ipaddress.ip_address(f"2001:db8:e{secrets.token_hex(2)[1:]}:{secrets.token_hex(2)}::7"))
    mac = ":".join(["02", *(secrets.token_hex(1) for _ in range(5))])
    admin.execute(
        "with s as (select tests.net_make_service(%(c)s) as id)"
        " , ip as (insert into net.ip_assignments (address, service_id, valid)"
        "          select %(ip)s::inet, id, tstzrange(now(), null) from s)"
        " insert into net.mac_assignments (mac, service_id, valid) select %(mac)s::macaddr, id, tstzrange(now(), null) from s",
        {"c": customer, "ip": address, "mac": mac},
    )
    for query in (address, mac.upper().replace(":", "-")):
        rows = client.get("/customers/rows", params={"q": query})
        assert rows.status_code == 200 and f'href="/customers/{customer}"' in rows.text, query
        assert set(re.findall(r'href="/customers/(\d+)"', rows.text)) == {str(customer)}, query
    # The card shows the service's network now: its address (to the who-had page) and its MAC.
    card = client.get(f"/customers/{customer}")
    network = card.text.split('class="small svc-net"')[1].split("</div>")[0]
    assert f'href="/network/who-had?ip={quote(address)}"' in network and mac in network

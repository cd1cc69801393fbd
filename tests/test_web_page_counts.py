"""Counts on pages that would otherwise read whole tables (issue 10, item 15): exact up to the cap,
"about N" from the planner above it, on the parameters page, a product's tariffs, the bus page and
the dashboard; and the catalogue's forms say "saved" only when something changed. A timing is a
benchmark (bench/pages.py), never a test."""

from __future__ import annotations

import html as html_lib
import re
import secrets

import psycopg
import pytest
from starlette.testclient import TestClient

from tests.web_helpers import login_as
from webclient.staff import counts

BIG = counts.CAP + 100


def _one(admin: psycopg.Connection, sql: str, params: list[object] | None = None) -> int:
    row = admin.execute(sql, params).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return int(row[0])


def _cell(html: str, after: str) -> str:
    """The first number cell of the table row that shows ``after``."""
    row = html.split(after, 1)[1].split("</tr>")[0]
    match = re.search(r'<td class="num">([^<]*)</td>', row)
    assert match, f"no number beside {after}"
    return html_lib.unescape(match.group(1)).replace("\xa0", " ")


def _about(text: str) -> int:
    match = re.fullmatch(r"about ([\d,]+)", text)
    assert match, f"{text!r} is not an estimate"
    return int(match.group(1).replace(",", ""))


def flash(html: str) -> str:
    match = re.search(r'class="alert alert-info flash"[^>]*>([^<]*)<', html)
    assert match, "the page shows no flash message"
    return html_lib.unescape(match.group(1))


def test_estimates_are_rounded_to_two_significant_digits() -> None:
    assert [counts.rounded(n) for n in (7, 99, 1234, 987_345, 1_000_000)] == [7, 99, 1200, 990_000, 1_000_000]


def test_parameter_values_are_counted_exactly_below_the_cap_and_estimated_above(
    client: TestClient, admin: psycopg.Connection
) -> None:
    sfx = secrets.token_hex(3)
    few = _one(
        admin,
        "insert into crm.parameter_definitions (entity, code, name, type) values ('device', %s, %s, 'text') returning id",
        [f"few{sfx}", f"Few {sfx}"],
    )
    many = _one(
        admin,
        "insert into crm.parameter_definitions (entity, code, name, type) values ('device', %s, %s, 'text') returning id",
        [f"many{sfx}", f"Many {sfx}"],
    )
    with admin.transaction():
        admin.execute("set local session_replication_role = replica")  # bulk values, no provisioning events
        admin.execute(
            "insert into crm.parameter_values (definition_id, entity_id, value)"
            " select %s, g, 'x' from generate_series(1, 3) g"
            " union all select %s, g, 'y' from generate_series(1, %s) g",
            [few, many, BIG],
        )
    admin.execute("analyze crm.parameter_values")
    login_as(client, admin, ["admin"], prefix="pc")
    page = client.get("/parameters").text
    assert _cell(page, f"Few {sfx}") == "3"
    assert _about(_cell(page, f"Many {sfx}")) > counts.CAP


def test_services_on_a_tariff_are_counted_exactly_below_the_cap_and_estimated_above(
    client: TestClient, admin: psycopg.Connection
) -> None:
    operator = _one(admin, "select tests.make_operator()")
    small = _one(admin, "select tests.make_tariff(300, %s)", [operator])
    product = _one(admin, "select product_id from catalog.tariffs where id = %s", [small])
    big = _one(
        admin,
        "insert into catalog.tariffs (product_id, code, name) values (%s, %s, 'Crowded') returning id",
        [product, f"crowd{secrets.token_hex(3)}"],
    )
    admin.execute("update catalog.tariffs set name = 'Quiet' where id = %s", [small])
    customer = _one(admin, "select tests.make_customer(%s)", [operator])
    for _ in range(2):
        admin.execute("select tests.net_make_service(%s, %s)", [customer, small])
    with admin.transaction():
        admin.execute("set local session_replication_role = replica")  # bulk services, no audit or bus rows
        admin.execute(
            "with s as (insert into crm.services (customer_id, operator_id, product_id, state, valid, billing_plan_id)"
            " select %(c)s, %(o)s, %(p)s, 'active', daterange('2024-01-01', null),"
            " (select id from billing.plans where operator_id = %(o)s and is_default)"
            " from generate_series(1, %(n)s)"
            " returning id)"
            " insert into crm.service_tariffs (service_id, tariff_id, valid)"
            " select id, %(t)s, daterange('2024-01-01', null) from s",
            {"c": customer, "o": operator, "p": product, "n": BIG, "t": big},
        )
    admin.execute("analyze crm.service_tariffs")
    login_as(client, admin, ["support"], prefix="pc")
    page = client.get(f"/catalogue/products/{product}").text
    cells = {
        name: re.findall(r'<td class="num">([^<]*)</td>', page.split(f">{name}<", 1)[1].split("</tr>")[0])[-1]
        for name in ("Quiet", "Crowded")
    }
    assert cells["Quiet"] == "2"
    assert _about(html_lib.unescape(cells["Crowded"])) > counts.CAP


@pytest.fixture
def backlog(admin: psycopg.Connection) -> tuple[str, str]:
    """A topic with more events waiting than the cap and one with three (two retrying); removed after."""
    big, small = f"test.pages.{secrets.token_hex(3)}", f"test.pages.{secrets.token_hex(3)}"
    admin.execute(
        "insert into bus.events (topic, entity) select %s, 'e:' || g from generate_series(1, %s) g",
        [big, BIG],
    )
    admin.execute(
        "insert into bus.events (topic, entity, attempts, last_error)"
        " select %s, 'e:' || g, g - 1, case when g > 1 then 'timeout' end from generate_series(1, 3) g",
        [small],
    )
    admin.execute("analyze bus.events")
    yield big, small
    admin.execute("delete from bus.events where topic in (%s, %s)", [big, small])


def test_bus_page_and_dashboard_show_a_large_backlog_as_an_estimate(
    client: TestClient, admin: psycopg.Connection, backlog: tuple[str, str]
) -> None:
    big, small = backlog
    login_as(client, admin, ["support"], prefix="pc")
    page = client.get("/bus").text
    assert _about(_cell(page, f">{big}<")) > counts.CAP
    row = page.split(f">{small}<", 1)[1].split("</tr>")[0]
    assert re.findall(r'<td class="num">([^<]*)</td>', row) == ["3", "0", "2"]  # waiting, claimed, retrying
    assert "counted among its oldest" in page
    home = client.get("/").text
    tile = home.split("Bus backlog", 1)[1].split("</a>")[0]
    assert _about(html_lib.unescape(re.findall(r'class="tile-value">([^<]*)<', tile)[0])) > counts.CAP


def test_catalogue_and_parameter_forms_say_saved_only_when_something_changed(
    client: TestClient, admin: psycopg.Connection
) -> None:
    operator = _one(admin, "select tests.make_operator()")
    tariff = _one(admin, "select tests.make_tariff(300, %s)", [operator])
    product = _one(admin, "select product_id from catalog.tariffs where id = %s", [tariff])
    csrf = login_as(client, admin, ["admin"], prefix="pc")
    row = admin.execute(
        "select code, name, class_id, price_mode, vat_class, coalesce(invoice_text, ''), coalesce(description, ''),"
        " active from catalog.products where id = %s",
        [product],
    ).fetchone()
    assert row is not None
    fields = dict(
        zip(
            ("code", "name", "class_id", "price_mode", "vat_class", "invoice_text", "description"),
            row,
            strict=False,
        )
    )
    form = {"csrf": csrf, **{k: str(v) for k, v in fields.items()}, **({"active": "on"} if row[7] else {})}
    same = client.post(f"/catalogue/products/{product}", data=form)
    assert flash(same.text) == "Nothing changed: the values are the ones already saved."
    changed = client.post(f"/catalogue/products/{product}", data={**form, "description": "Faster"})
    assert flash(changed.text) == "Changes saved."
    assert client.post("/catalogue/products/999999999", data=form).status_code == 404

    t = admin.execute(
        "select code, name, position, active from catalog.tariffs where id = %s", [tariff]
    ).fetchone()
    assert t is not None
    tariff_form = {
        "csrf": csrf,
        "code": t[0],
        "name": t[1],
        "position": str(t[2]),
        **({"active": "on"} if t[3] else {}),
    }
    assert flash(client.post(f"/catalogue/tariffs/{tariff}", data=tariff_form).text).startswith(
        "Nothing changed"
    )
    assert flash(
        client.post(f"/catalogue/tariffs/{tariff}", data={**tariff_form, "name": "Renamed"}).text
    ) == ("Changes saved.")

    bundle = _one(
        admin,
        "insert into catalog.bundles (operator_id, code, name) values (%s, %s, 'Duo') returning id",
        [operator, f"duo{secrets.token_hex(3)}"],
    )
    code = admin.execute("select code from catalog.bundles where id = %s", [bundle]).fetchone()
    assert code is not None
    bundle_form = {"csrf": csrf, "code": code[0], "name": "Duo", "active": "on"}
    assert flash(client.post(f"/catalogue/bundles/{bundle}", data=bundle_form).text).startswith(
        "Nothing changed"
    )
    gone = client.post(f"/catalogue/bundles/{bundle}/items/999999999/remove", data={"csrf": csrf})
    assert flash(gone.text) == "This bundle has no such item: nothing was removed."

    sfx = secrets.token_hex(3)
    definition = _one(
        admin,
        "insert into crm.parameter_definitions (entity, code, name, type, position) values ('customer', %s, %s, 'text', 5)"
        " returning id",
        [f"same{sfx}", f"Same {sfx}"],
    )
    parameter_form = {"csrf": csrf, "entity": "customer", "code": f"same{sfx}", "name": f"Same {sfx}", "type": "text",
                      "position": "5", "active": "on"}  # fmt: skip
    assert flash(client.post(f"/parameters/{definition}", data=parameter_form).text).startswith(
        "Nothing changed"
    )
    assert flash(client.post(f"/parameters/{definition}", data={**parameter_form, "unit": "ks"}).text) == (
        "Changes saved."
    )

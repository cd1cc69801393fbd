"""The scheduler agent carries out accepted orders on their date (CAT-5), as its own login role.

The orders are placed and accepted by a sales user through the web client's role switch; the
scheduler then runs catalog.apply_due_orders as mango_agent_scheduler, like the daily job does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import psycopg
import pytest
from psycopg import sql

from db.settings import Settings


@dataclass
class Shop:
    customer: int
    slow: int
    fast: int
    service: int


@pytest.fixture
def shop(admin: psycopg.Connection) -> Iterator[Shop]:
    row = admin.execute(
        "select o, tests.make_customer(o), tests.make_tariff(400, o), tests.make_tariff(600, o) "
        "from tests.make_operator() o"
    ).fetchone()
    assert row is not None
    _, customer, slow, fast = (int(v) for v in row)
    service = admin.execute("select crm.activate_service(%s, %s, '2024-01-01')", [customer, slow]).fetchone()
    assert service is not None
    yield Shop(customer, slow, fast, int(service[0]))


def as_sales(settings: Settings, admin: psycopg.Connection) -> psycopg.Connection:
    """A connection as mango_web whose transactions run as a sales user, like a web request."""
    row = admin.execute(
        "select tests.session_for(tests.make_user('{sales}', 'test_orders_sales'))"
    ).fetchone()
    assert row is not None
    token = str(row[0])
    conn = psycopg.connect(settings.role_conninfo("mango_web"))
    user = conn.execute(
        "select db_role, set_config('mango.session', %s, false) from auth.resume_session(%s)", [token, token]
    ).fetchone()
    assert user is not None
    conn.execute(sql.SQL("set role {}").format(sql.Identifier(user[0])))
    conn.commit()
    return conn


def place_accepted(
    web: psycopg.Connection, shop: Shop, kind: str, effective_on: date, **kw: int | None
) -> int:
    row = web.execute(
        "select catalog.place_order(%(customer)s, %(kind)s, %(service)s, %(tariff)s, p_effective_on => %(on)s)",
        {
            "customer": shop.customer,
            "kind": kind,
            "service": kw.get("service"),
            "tariff": kw.get("tariff"),
            "on": effective_on,
        },
    ).fetchone()
    assert row is not None
    order = int(row[0])
    web.execute("select catalog.advance_order(%s, 'accepted')", [order])
    web.commit()
    return order


def run_scheduler(settings: Settings, today: date) -> int:
    with psycopg.connect(settings.role_conninfo("mango_agent_scheduler")) as conn:
        row = conn.execute("select catalog.apply_due_orders(%s)", [today]).fetchone()
        assert row is not None
        return int(row[0])


def test_scheduler_changes_the_tariff_of_an_accepted_order_on_its_date(
    settings: Settings, admin: psycopg.Connection, shop: Shop
) -> None:
    on = date.today() + timedelta(days=5)
    with as_sales(settings, admin) as web:
        order = place_accepted(web, shop, "change_tariff", on, service=shop.service, tariff=shop.fast)
    assert run_scheduler(settings, on - timedelta(days=1)) == 0
    assert run_scheduler(settings, on) == 1
    row = admin.execute(
        "select crm.current_tariff(%s, %s), crm.current_tariff(%s, %s), (select stage from catalog.orders where id = %s)",
        [shop.service, on, shop.service, on - timedelta(days=1), order],
    ).fetchone()
    assert row == (shop.fast, shop.slow, "done")


def test_scheduler_activates_an_ordered_service_and_cancels_another(
    settings: Settings, admin: psycopg.Connection, shop: Shop
) -> None:
    on = date.today() + timedelta(days=3)
    with as_sales(settings, admin) as web:
        activate = place_accepted(web, shop, "activate", on, tariff=shop.fast)
        place_accepted(web, shop, "cancel", on, service=shop.service)
    assert run_scheduler(settings, on) == 2
    new_service = admin.execute("select service_id from catalog.orders where id = %s", [activate]).fetchone()
    assert new_service is not None and new_service[0] is not None
    states = admin.execute(
        "select id, lower(valid), upper(valid) from crm.services where customer_id = %s order by id",
        [shop.customer],
    ).fetchall()
    assert states == [(shop.service, date(2024, 1, 1), on), (new_service[0], on, None)]


def test_scheduler_changes_service_parameters_of_an_accepted_order(
    settings: Settings, admin: psycopg.Connection, shop: Shop
) -> None:
    admin.execute(
        "insert into crm.parameter_definitions (entity, code, name, type) values ('service', 'vlan', 'VLAN', 'number') "
        "on conflict do nothing"
    )
    on = date.today() + timedelta(days=2)
    with as_sales(settings, admin) as web:
        row = web.execute(
            "select catalog.place_order(%s, 'change_params', %s, p_params => '{\"vlan\": \"120\"}', p_effective_on => %s)",
            [shop.customer, shop.service, on],
        ).fetchone()
        assert row is not None
        web.execute("select catalog.advance_order(%s, 'accepted')", [row[0]])
        web.commit()
    assert run_scheduler(settings, on) == 1
    value = admin.execute(
        "select value from crm.parameters where entity = 'service' and entity_id = %s and code = 'vlan'",
        [shop.service],
    ).fetchone()
    assert value == ("120",)

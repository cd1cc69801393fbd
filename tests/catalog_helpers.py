"""Helpers for the tests of orders carried out by the scheduler (test_catalog_orders_scheduler.py,
test_daily_jobs.py): a customer with a service and two tariffs, a sales user's connection through
the web client's role switch, and an accepted order. The ``shop`` fixture is in conftest.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import psycopg
from psycopg import sql

from db.settings import Settings


@dataclass
class Shop:
    customer: int
    slow: int
    fast: int
    service: int


def make_shop(admin: psycopg.Connection) -> Shop:
    """A customer of a new operator with a service on the slow one of two tariffs (since 2024-01-01)."""
    row = admin.execute(
        "select o, tests.make_customer(o), tests.make_tariff(400, o), tests.make_tariff(600, o) "
        "from tests.make_operator() o"
    ).fetchone()
    assert row is not None
    _, customer, slow, fast = (int(v) for v in row)
    service = admin.execute("select crm.activate_service(%s, %s, '2024-01-01')", [customer, slow]).fetchone()
    assert service is not None
    return Shop(customer, slow, fast, int(service[0]))


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

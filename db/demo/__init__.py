"""`mango demo`: a deterministic demo of a Czech operator (customers, catalogue, services, orders).

The same seed gives the same data (Faker ``cs_CZ`` and ``random.Random`` seeded with it), on the
day it runs: dates are spread back from the database's ``current_date``.

What it builds:
- two operators (an ISP and a smaller TV and voice operator) with valid IČO/DIČ, bank accounts
  and number series; staff users, one per role (``DEMO_LOGINS``) and a few more;
- the catalogue: classes with typed parameters, products, tariffs, dated prices (with a zone
  price), bundles, customer groups and customer parameters;
- customers (persons and companies, branches paid by their parent), contacts, delivery places,
  contracts, notes, group discounts; their services, tariff changes, blocks, suspensions, ends,
  and orders placed by the salespeople (enquiries, offers, accepted, rejected);
- twelve months of billing (db.demo.billing): billing plans, call records and their rating, the
  monthly billing runs issued, credit notes, paid payment requests, prepaid credit.

Customer data goes in with COPY (the tables' triggers still check and number every row); the
service lifecycle and the orders go through the database's own functions (crm.activate_service,
catalog.place_order, crm.end_customer …) called set-based, one statement per batch of rows, so
every business rule applies. Orders are placed as the salesperson (a real session and role).
Everything is one transaction: a failed load leaves nothing behind.

Loading the demo twice into the same database is refused (the operator code ``demo`` marks it);
with ``--once`` a second run does nothing.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass
from typing import Any

import psycopg

from db.demo.billing import DemoBilling
from db.demo.loader import DemoRefused, Loader
from db.demo.network import load_network
from db.demo.planner import Planner
from db.demo.reference import (
    DEMO_LOGINS,
    MARKER,
    ico_check_digit,
    is_valid_account,
    is_valid_ico,
    make_account,
    make_ico,
)
from db.settings import Settings

__all__ = [
    "DEMO_LOGINS",
    "MARKER",
    "Summary",
    "ico_check_digit",
    "is_loaded",
    "is_valid_account",
    "is_valid_ico",
    "load",
    "main",
    "make_account",
    "make_ico",
]


@dataclass
class Summary:
    operators: int = 0
    users: int = 0
    customers: int = 0
    companies: int = 0
    ended: int = 0
    services: int = 0
    orders: int = 0
    documents: int = 0
    billing_seconds: float = 0.0
    seconds: float = 0.0


def is_loaded(conn: psycopg.Connection[Any]) -> bool:
    return conn.execute("select exists (select from crm.operators where code = %s)", [MARKER]).fetchone() == (
        True,
    )


def load(conninfo: str, customers: int = 2000, seed: int = 20261125) -> Summary:
    """Load the demo (one transaction); raises RuntimeError if it is there already.

    Services are activated by crm.activate_service and crm.activate_bundle themselves, a batch of
    rows per statement, at any size: there is no second copy of what activating a service writes
    (measured at 10,000 customers: 51 s for the services against 27 s with COPY, the whole load
    251 s against 230 s).
    """
    started = time.monotonic()
    with psycopg.connect(conninfo) as conn:
        with conn.transaction():
            conn.execute("select pg_advisory_xact_lock(hashtext('mango demo'))")
            if is_loaded(conn):
                raise RuntimeError("the demo data is loaded already")
            row = conn.execute("select current_date").fetchone()
            assert row is not None
            planner = Planner(seed, row[0], customers)
            planner.plan()
            loader = Loader(conn, planner)
            loader.operators_and_series()
            loader.staff()
            loader.catalogue()
            billing = DemoBilling(loader, seed)
            billing.make_plans()
            loader.plan_for = billing.plan_for
            loader.customers()
            billing.top_ups()
            loader.services()
            loader.orders()
            loader.history()
            load_network(conn, random.Random(seed), loader.operators[MARKER])
            billed = billing.load()
            row = conn.execute(
                "select count(*) from crm.services where customer_id = any(%s)",
                [[c.id for c in planner.customers]],
            ).fetchone()
            assert row is not None
            services = int(row[0])
    return Summary(
        operators=len(loader.operators),
        users=len(loader.users),
        customers=len(planner.customers),
        companies=sum(1 for c in planner.customers if c.kind == "company"),
        ended=sum(1 for c in planner.customers if c.ended),
        services=services,
        orders=len(planner.orders),
        documents=billed.documents,
        billing_seconds=billed.seconds,
        seconds=time.monotonic() - started,
    )


def demo_allowed(conn: psycopg.Connection[Any]) -> bool:
    """Whether the set-up created this database (db.bootstrap.allow_demo): the only kind the demo
    loads into without --force."""
    row = conn.execute("select value = 'true' from auth.settings where key = 'demo_allowed'").fetchone()
    return bool(row and row[0])


def demo_logins(settings: Settings) -> list[tuple[str, str, str]]:
    """The demo logins to show: only the users the demo created in this database."""
    with psycopg.connect(settings.admin_conninfo(), autocommit=True) as conn:
        row = conn.execute("select value from auth.settings where key = 'demo_logins'").fetchone()
    made = set(row[0]) if row and isinstance(row[0], list) else set()
    return [login for login in DEMO_LOGINS if login[0] in made]


def main(
    settings: Settings, customers: int = 2000, seed: int = 20261125, once: bool = False, force: bool = False
) -> int:
    """`mango demo`: load the demo; with ``once``, do nothing quietly when it is there already. Only
    into a database the set-up created, unless ``force``; never over existing users."""
    if customers < 1:
        print("error: --customers must be at least 1", file=sys.stderr)
        return 2
    with psycopg.connect(settings.admin_conninfo(), autocommit=True) as conn:
        loaded = is_loaded(conn)
        allowed = force or demo_allowed(conn)
    if loaded:
        if once:
            print(f"{settings.dbname}: demo data already loaded, nothing to do")
            return 0
        print(
            f"error: {settings.dbname} already holds the demo data (operator '{MARKER}'); "
            "use --once to skip, or load it into a fresh database",
            file=sys.stderr,
        )
        return 1
    if not allowed:
        print(
            f"{settings.dbname}: no demo data loaded: the set-up did not create this database"
            " (`mango demo --force` loads it anyway, never over existing users)",
            file=sys.stderr,
        )
        return 0 if once else 1
    try:
        s = load(settings.admin_conninfo(), customers=customers, seed=seed)
    except DemoRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except RuntimeError as exc:  # loaded meanwhile by a concurrent run
        if once:
            return 0
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"{settings.dbname}: demo loaded in {s.seconds:.1f} s: {s.operators} operators, {s.users} staff users, "
        f"{s.customers} customers ({s.companies} companies, {s.ended} ended), {s.services} services, "
        f"{s.orders} orders, {s.documents} billing documents of twelve months ({s.billing_seconds:.1f} s) (seed {seed})"
    )
    return 0

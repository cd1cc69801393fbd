"""Two spends of one uniCredit account at the same time never overdraw it, and a gift certificate
redeemed twice at once credits once (UC-1).

Each spend is one statement that updates the account row where the free balance covers the amount:
the second waits for the first one's row lock and then checks the free balance on the row the
first one left. The test holds the first spend's transaction open, waits until the second one is
seen waiting for the lock (pg_stat_activity), then commits the first: no sleep orders anything.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from db.settings import Settings
from tests.agents_helpers import wait_for


@pytest.fixture
def customer(admin: psycopg.Connection) -> Iterator[int]:
    """A customer with 100.00 of free money credit (a cash top-up by billing)."""
    row = admin.execute("select tests.make_customer()").fetchone()
    assert row is not None
    customer_id = int(row[0])
    with admin.transaction():
        admin.execute("call tests.as_staff('{billing}')")
        admin.execute("select billing.top_up_cash(%s, 100, 'test float')", [customer_id])
    yield customer_id


def as_billing(settings: Settings) -> psycopg.Connection:
    """A connection in a transaction as a signed-in billing user (as the web client switches)."""
    conn = psycopg.connect(settings.admin_conninfo())
    conn.execute("call tests.as_staff('{billing}')")
    return conn


def waiting_for_lock(admin: psycopg.Connection, pid: int) -> bool:
    row = admin.execute("select wait_event_type from pg_stat_activity where pid = %s", [pid]).fetchone()
    return row is not None and row[0] == "Lock"


def concurrently(
    settings: Settings,
    admin: psycopg.Connection,
    first: tuple[str, list[object]],
    second: tuple[str, list[object]],
) -> BaseException | None:
    """Run ``first`` as billing and hold the transaction; run ``second`` on another connection and let
    it wait for the lock the first one holds; commit the first. Returns the second one's error (or
    None, when it committed)."""
    one = as_billing(settings)
    two = as_billing(settings)
    outcome: list[BaseException | None] = []
    try:
        one.execute(first[0], first[1])

        def run_second() -> None:
            try:
                two.execute(second[0], second[1])
                two.commit()
                outcome.append(None)
            except psycopg.Error as exc:
                two.rollback()
                outcome.append(exc)

        thread = threading.Thread(target=run_second)
        thread.start()
        wait_for(
            "the second one to wait for the first one's lock",
            lambda: waiting_for_lock(admin, two.info.backend_pid),
        )
        one.commit()
        thread.join(timeout=60)
        assert not thread.is_alive()
    finally:
        one.close()
        two.close()
    return outcome[0]


def spend_concurrently(
    settings: Settings, admin: psycopg.Connection, customer: int, first: str, second: str
) -> tuple[BaseException | None, Decimal]:
    """Spend ``first`` and, while its transaction is open, ``second`` (which waits for the account's
    lock). Returns the second spend's error (or None) and the free balance after both."""
    spend = "select billing.spend_credit(%s, %s::numeric, %s)"
    error = concurrently(
        settings, admin, (spend, [customer, first, "first"]), (spend, [customer, second, "second"])
    )
    row = admin.execute(
        "select free from billing.credit_accounts where customer_id = %s and kind = 'money'", [customer]
    ).fetchone()
    assert row is not None
    return error, row[0]


def test_two_concurrent_spends_never_overdraw_the_free_balance(
    settings: Settings, admin: psycopg.Connection, customer: int
) -> None:
    error, free = spend_concurrently(settings, admin, customer, "60.00", "60.00")
    assert isinstance(error, psycopg.Error)
    assert error.sqlstate == "MG861"
    assert error.diag.message_primary == "the free credit is 40.00, less than the 60.00 to spend"
    assert error.diag.column_name == "amount"
    assert free == Decimal("40.00")
    spends = admin.execute(
        "select count(*) from billing.credit_movements m join billing.credit_accounts a on a.id = m.account_id"
        " where a.customer_id = %s and m.kind = 'spend'",
        [customer],
    ).fetchone()
    assert spends == (1,)


def test_a_spend_that_waited_takes_what_the_first_one_left(
    settings: Settings, admin: psycopg.Connection, customer: int
) -> None:
    error, free = spend_concurrently(settings, admin, customer, "60.00", "30.00")
    assert error is None
    assert free == Decimal("10.00")
    history = admin.execute(
        "select kind, amount, free_after from billing.credit_history(%s) order by movement_id", [customer]
    ).fetchall()
    assert history == [
        ("top_up", Decimal("100.00"), Decimal("100.00")),
        ("spend", Decimal("60.00"), Decimal("40.00")),
        ("spend", Decimal("30.00"), Decimal("10.00")),
    ]


def test_a_gift_certificate_redeemed_twice_at_once_credits_once(
    settings: Settings, admin: psycopg.Connection, customer: int
) -> None:
    row = admin.execute(
        "select c.operator_id, tests.make_customer(c.operator_id, 'Svobodová', 'Eva') from crm.customers c"
        " where c.id = %s",
        [customer],
    ).fetchone()
    assert row is not None
    operator, other = int(row[0]), int(row[1])
    with admin.transaction():
        admin.execute("call tests.as_staff('{billing}')")
        admin.execute(
            "select billing.issue_gift_certificate(%s, 250, 'Babička', null, null, null, '{\"code\": \"TWICE-1\"}')",
            [operator],
        )
    redeem = "select billing.redeem_gift_certificate(%s, 'TWICE-1')"
    error = concurrently(settings, admin, (redeem, [customer]), (redeem, [other]))
    assert isinstance(error, psycopg.Error)
    assert error.sqlstate == "MG862"
    assert (error.diag.message_primary or "").startswith("gift certificate TWICE-1 was redeemed on ")
    credited = admin.execute(
        "select a.customer_id, m.amount from billing.credit_movements m"
        "  join billing.credit_accounts a on a.id = m.account_id"
        " where m.certificate_id = (select id from billing.gift_certificates where code = 'TWICE-1')"
    ).fetchall()
    assert credited == [(customer, Decimal("250.00"))]

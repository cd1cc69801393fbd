"""Billing runs and issues of one operator at the same time (BIL-2, BIL-4).

A run takes the operator's run lock for its transaction: a second run of the operator while the
first is open is refused at once with a message saying why, and once the first has committed a
run of the same period creates nothing. Issuing takes the numbers of the operator's series with
the counter row locked until the transaction ends: a second issue waits for it, and a rolled-back
issue leaves no gap. Each test holds the first transaction open, waits until the second is seen
waiting for the lock (pg_stat_activity) where it must wait, then ends the first: no sleep orders
anything.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from db.settings import Settings
from tests.agents_helpers import wait_for


@pytest.fixture
def operator(admin: psycopg.Connection) -> int:
    """A new operator with document series and four customers with a service of 500 a month since
    2024 (committed)."""
    row = admin.execute("select tests.billing_operator()").fetchone()
    assert row is not None
    # The billing user the connections sign in as, committed: two first sign-ins would wait for each other.
    admin.execute("select tests.make_user('{billing}', 'test_billing')")
    admin.execute(
        "select crm.activate_service(tests.make_customer(%(op)s), t, '2024-01-01', null, '{\"state\": \"active\"}')"
        "  from tests.make_tariff(500, %(op)s) t, generate_series(1, 4)",
        {"op": row[0]},
    )
    return int(row[0])


def as_billing(settings: Settings) -> psycopg.Connection:
    """A connection in a transaction as a signed-in billing user (as the web client switches)."""
    conn = psycopg.connect(settings.admin_conninfo())
    conn.execute("call tests.as_staff('{billing}')")
    return conn


def waiting_for_lock(admin: psycopg.Connection, pid: int) -> bool:
    row = admin.execute("select wait_event_type from pg_stat_activity where pid = %s", [pid]).fetchone()
    return row is not None and row[0] == "Lock"


def in_thread(conn: psycopg.Connection, sql: str, params: list[Any]) -> tuple[threading.Thread, list[Any]]:
    """Run a statement on a connection in a thread and commit; the outcome list gets its row or error."""
    outcome: list[Any] = []

    def work() -> None:
        try:
            row = conn.execute(sql, params).fetchone()
            conn.commit()
            outcome.append(row[0] if row else None)
        except psycopg.Error as exc:
            conn.rollback()
            outcome.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    return thread, outcome


def numbers(admin: psycopg.Connection, operator: int) -> list[str]:
    rows = admin.execute(
        "select number from billing.documents where operator_id = %s and number is not null order by number",
        [operator],
    ).fetchall()
    return [r[0] for r in rows]


def assert_gap_free(found: list[str], count: int) -> None:
    assert len(found) == count
    assert len(set(found)) == count, f"duplicate numbers: {found}"
    values = sorted(int(n[-5:]) for n in found)
    assert values == list(range(1, count + 1)), f"a gap in the numbers: {found}"


def run(conn: psycopg.Connection, operator: int, period: str) -> dict[str, Any]:
    row = conn.execute("select billing.run(%s, %s)", [operator, period]).fetchone()
    assert row is not None
    return dict(row[0])


def test_a_second_run_of_the_operator_while_one_runs_is_refused_with_a_clear_message(
    settings: Settings, admin: psycopg.Connection, operator: int
) -> None:
    one = as_billing(settings)
    two = as_billing(settings)
    try:
        first = run(one, operator, "2025-03")
        assert first["counts"]["documents"] == 4
        # The first run's transaction is open: the second is refused at once, naming why.
        with pytest.raises(psycopg.Error) as refused:
            run(two, operator, "2025-03")
        assert refused.value.sqlstate == "MG043"
        assert "a billing run of operator" in str(refused.value)
        assert "is in progress: try again when it has finished" in str(refused.value)
        two.rollback()
        # Another month of the same operator is refused too: one run of an operator at a time.
        two.execute("call tests.as_staff('{billing}')")
        with pytest.raises(psycopg.Error) as refused:
            run(two, operator, "2025-04")
        assert refused.value.sqlstate == "MG043"
        two.rollback()
        one.commit()
        # Now the second runs, and finds the period billed: it creates nothing.
        two.execute("call tests.as_staff('{billing}')")
        second = run(two, operator, "2025-03")
        assert (second["counts"]["charges"], second["counts"]["documents"]) == (0, 0)
        two.commit()
    finally:
        one.close()
        two.close()
    charges = admin.execute(
        "select count(*), count(distinct (service_id, period)) from billing.charges where operator_id = %s",
        [operator],
    ).fetchone()
    assert charges == (4, 4)


def issue_concurrently(
    settings: Settings,
    admin: psycopg.Connection,
    first_run: int,
    second_run: int,
    end_first: Callable[[psycopg.Connection], None],
) -> Any:
    """Issue ``first_run`` and hold the transaction; issue ``second_run`` on another connection and
    let it wait for the series' counter; end the first (commit or roll back). The second's outcome."""
    one = as_billing(settings)
    two = as_billing(settings)
    try:
        one.execute("select billing.issue_run(%s)", [first_run])
        thread, outcome = in_thread(two, "select billing.issue_run(%s)", [second_run])
        wait_for(
            "the second issue to wait for the series' counter",
            lambda: waiting_for_lock(admin, two.info.backend_pid),
        )
        end_first(one)
        thread.join(timeout=60)
        assert not thread.is_alive()
    finally:
        one.close()
        two.close()
    return outcome[0]


def test_concurrent_issues_take_numbers_without_gap_or_duplicate(
    settings: Settings, admin: psycopg.Connection, operator: int
) -> None:
    with as_billing(settings) as conn:
        march = run(conn, operator, "2025-03")["run"]
        april = run(conn, operator, "2025-04")["run"]
        may = run(conn, operator, "2025-05")["run"]
        conn.commit()

    # Both commit: the second waited for the first and numbered after it.
    outcome = issue_concurrently(settings, admin, march, april, lambda c: c.commit())
    assert not isinstance(outcome, BaseException), outcome
    assert_gap_free(numbers(admin, operator), 8)
    march_numbers = admin.execute(
        "select max(number) from billing.documents where run_id = %s", [march]
    ).fetchone()
    april_numbers = admin.execute(
        "select min(number) from billing.documents where run_id = %s", [april]
    ).fetchone()
    assert march_numbers is not None and april_numbers is not None and march_numbers[0] < april_numbers[0]

    # The first rolls back: the second takes the numbers the first had held, no gap.
    june_conn = as_billing(settings)
    june = run(june_conn, operator, "2025-06")["run"]
    june_conn.commit()
    june_conn.close()
    outcome = issue_concurrently(settings, admin, may, june, lambda c: c.rollback())
    assert not isinstance(outcome, BaseException), outcome
    assert_gap_free(numbers(admin, operator), 12)
    with as_billing(settings) as conn:
        conn.execute("select billing.issue_run(%s)", [may])
        conn.commit()
    assert_gap_free(numbers(admin, operator), 16)

    # The same run issued twice at once: the second waits for the run, then is refused.
    with as_billing(settings) as conn:
        july = run(conn, operator, "2025-07")["run"]
        conn.commit()
    outcome = issue_concurrently(settings, admin, july, july, lambda c: c.commit())
    assert isinstance(outcome, psycopg.Error) and outcome.sqlstate == "MG043"
    assert "is issued: only a finished run is issued" in str(outcome)
    assert_gap_free(numbers(admin, operator), 20)

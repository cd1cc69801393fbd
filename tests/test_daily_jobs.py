"""The scheduler's daily jobs, run by a real scheduler process as its own login role: flow
partitions, summaries and purge (DR-3); accepted orders and service dates that are due (CAT-5).

A job submitted before the scheduler starts is the day's job of its kind: the scheduler then
submits no periodic one of that kind, so what the test sees is its own job's work. A job's `today`
may not be later than the business date, so what is due is set up as due today.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import psycopg
import pytest

from agents.scheduler import BUSINESS_DAY, PERIODIC
from db.settings import Settings
from tests.agents_helpers import AgentProcesses, start_scheduler, submit_sql, wait_finished, wait_for
from tests.catalog_helpers import Shop, as_sales, place_accepted

DAILY = ("flow.maintenance", "catalog.apply_due_orders", "crm.apply_due_service_dates")
ADDRESS = "198.51.100.79"


def test_daily_jobs_are_periodic_once_a_day_after_midnight() -> None:
    daily = {p.kind: p for p in PERIODIC if p.kind in DAILY}
    assert set(daily) == set(DAILY)
    assert daily["flow.maintenance"].day_in == "UTC"  # flow partitions are UTC days
    # Orders and service dates: after the midnight of the operators' business day.
    assert daily["catalog.apply_due_orders"].day_in == BUSINESS_DAY
    assert daily["crm.apply_due_service_dates"].day_in == BUSINESS_DAY


@dataclass
class FlowDays:
    service: int
    customer: int
    days: list[date]  # 1 .. 8 days back


@pytest.fixture
def flow_days(admin: psycopg.Connection) -> Iterator[FlowDays]:
    """Flows of a customer's address on each of the last eight days, a retention of five days;
    afterwards the database is as before (the rows, the setting and the log of this test go)."""
    last_log = admin.execute("select coalesce(max(id), 0) from flow.retention_log").fetchone()
    assert last_log is not None
    row = admin.execute("select c, tests.net_make_service(c) from tests.make_customer() c").fetchone()
    assert row is not None
    customer, service = int(row[0]), int(row[1])
    admin.execute("select net.assign_ip(%s, %s, null, '2024-01-01')", [ADDRESS, service])
    today = admin.execute("select (now() at time zone 'UTC')::date").fetchone()
    assert today is not None
    days = [today[0] - timedelta(days=back) for back in range(1, 9)]
    admin.execute("select flow.create_partitions(1, 8)")
    # Earlier tests' schedulers may have summarised these days: this test wants to see it done.
    admin.execute("delete from flow.retention_log where kind = 'summary' and day = any(%s)", [days])
    for day in days:
        admin.execute(
            "insert into flow.flows (exporter, flow_start, flow_end, src_addr, dst_addr, bytes, packets, sampling)"
            " values ('127.0.0.1', %s::timestamp at time zone 'UTC' + interval '6 hours',"
            "         %s::timestamp at time zone 'UTC' + interval '6 hours 1 second', %s, '192.0.2.1', 500, 5, 4)",
            [day, day, ADDRESS],
        )
    admin.execute("select flow.set_retention(interval '5 days', true)")  # below the legal minimum: confirmed
    yield FlowDays(service, customer, days)
    admin.execute("select flow.set_retention(interval '6 months')")
    admin.execute("delete from flow.flows where src_addr = %s", [ADDRESS])
    admin.execute("delete from crm.customer_traffic where service_id = %s", [service])
    admin.execute("delete from flow.daily_traffic where address = %s", [ADDRESS])
    admin.execute("delete from flow.retention_log where id > %s", [last_log[0]])


def test_flow_maintenance_job_closes_summarises_and_purges_as_the_scheduler(
    admin: psycopg.Connection, agents: AgentProcesses, flow_days: FlowDays
) -> None:
    job_id = submit_sql(admin, "flow.maintenance", {})
    start_scheduler(admin, agents)
    job = wait_finished(admin, job_id, timeout=120)
    assert job["state"] == "done", job["error"]

    expected = [
        r[0]
        for r in admin.execute(
            "select d from unnest(%s::date[]) d where (d + 1)::timestamp at time zone 'UTC' <= now() - interval '5 days'",
            [flow_days.days],
        ).fetchall()
    ]
    assert len(expected) in (3, 4)
    parts = {
        (parent, day): closed
        for parent, day, closed in admin.execute(
            "select parent, day, closed from flow.partitions()"
        ).fetchall()
    }
    for day in flow_days.days:
        # Days past the period are gone, the others closed (address B-trees built).
        assert (("flows", day) in parts) == (day not in expected)
        assert parts.get(("flows", day), True)
    today = flow_days.days[0] + timedelta(days=1)
    assert ("nat_events", today + timedelta(days=2)) in parts  # made ahead
    # Every day is summarised per customer (sampling applied), the purged ones before they went.
    kept = admin.execute(
        "select day, customer_id, bytes_out, packets_out, flows from crm.customer_traffic"
        " where service_id = %s order by day",
        [flow_days.service],
    ).fetchall()
    assert kept == [(d, flow_days.customer, 2000, 20, 1) for d in sorted(flow_days.days)]
    result = job["result"]
    assert {p["day"] for p in result["purged"] if p["relation"].startswith("flow.flows_p")} == {
        d.isoformat() for d in expected
    }
    assert result["retention"] == "5 days"
    assert job["worker"].startswith("scheduler@")
    assert admin.execute(
        "select count(*) from flow.retention_log where kind = 'purge' and db_role = 'mango_agent_scheduler'"
        " and relation like 'flow.flows_p%%' and day = any(%s)",
        [expected],
    ).fetchone() == (len(expected),)


def test_order_and_service_date_jobs_apply_what_is_due_as_the_scheduler(
    settings: Settings, admin: psycopg.Connection, agents: AgentProcesses, shop: Shop
) -> None:
    row = admin.execute(
        "select crm.business_date(operator_id) from crm.customers where id = %s", [shop.customer]
    ).fetchone()
    assert row is not None
    today: date = row[0]
    with as_sales(settings, admin) as web:
        order = place_accepted(
            web, shop, "change_tariff", today + timedelta(days=6), service=shop.service, tariff=shop.fast
        )
    # Six days later: the order's date has come (the test moves the date instead of waiting).
    admin.execute("update catalog.orders set effective_on = %s where id = %s", [today, order])
    starting = admin.execute(
        "select crm.activate_service(%s, %s, %s, null, jsonb_build_object('state', 'ordered'))",
        [shop.customer, shop.slow, today],
    ).fetchone()
    assert starting is not None
    assert admin.execute("select state from crm.services where id = %s", [starting[0]]).fetchone() == (
        "ordered",
    )
    # A financial job another test's killed scheduler left running would hold the others back.
    admin.execute(
        "update bus.jobs set state = 'failed', error = 'left by an earlier test', finished_at = now()"
        " where financial and state in ('queued', 'running')"
    )
    # The orders job for a date given (a day to catch up on), the service dates for each operator's today.
    orders_job = submit_sql(admin, "catalog.apply_due_orders", {"today": today.isoformat()})
    dates_job = submit_sql(admin, "crm.apply_due_service_dates", {})
    start_scheduler(admin, agents)

    orders = wait_finished(admin, orders_job, timeout=120)
    dates = wait_finished(admin, dates_job, timeout=120)
    assert orders["state"] == "done", orders["error"]
    assert dates["state"] == "done", dates["error"]
    assert orders["result"]["today"] == today.isoformat() and orders["result"]["orders_applied"] >= 1
    assert dates["result"]["services_changed"] >= 1
    row = admin.execute(
        "select crm.current_tariff(%s, %s), (select stage from catalog.orders where id = %s),"
        "       (select db_role from catalog.order_events where order_id = %s and stage = 'done'),"
        "       (select state from crm.services where id = %s)",
        [shop.service, today, order, order, starting[0]],
    ).fetchone()
    assert row == (shop.fast, "done", "mango_agent_scheduler", "active")


def test_scheduler_submits_each_daily_job_once_a_day(
    admin: psycopg.Connection, agents: AgentProcesses
) -> None:
    admin.execute("delete from bus.jobs where kind = any(%s)", [list(DAILY)])
    admin.execute(
        "update bus.jobs set state = 'failed', error = 'left by an earlier test', finished_at = now()"
        " where financial and state in ('queued', 'running')"
    )
    first = start_scheduler(admin, agents)

    def all_done() -> list[tuple[str, str]] | None:
        rows = admin.execute(
            "select kind, state from bus.jobs where kind = any(%s) order by kind", [list(DAILY)]
        ).fetchall()
        return rows if [state for _, state in rows] == ["done"] * 3 else None

    assert [kind for kind, _ in wait_for("the daily jobs", all_done, timeout=120)] == sorted(DAILY)
    first.terminate()
    assert first.wait(timeout=30) == 0
    # A second scheduler finds them done today and submits none: after it ran a job, its first
    # periodic check is over.
    second = start_scheduler(admin, agents)
    probe = submit_sql(admin, "bus.purge", {})
    assert wait_finished(admin, probe, timeout=120)["worker"].endswith(f":{second.pid}")
    assert admin.execute("select count(*) from bus.jobs where kind = any(%s)", [list(DAILY)]).fetchone() == (
        3,
    )

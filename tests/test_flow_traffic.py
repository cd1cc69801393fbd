"""Traffic per customer and day (kept after the flows are purged) and who may read it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import psycopg
import pytest
from psycopg import sql


@dataclass
class Holders:
    first: int  # customer of the first service
    second: int  # customer of the second service until the move
    third: int  # customer the second service moves to
    s1: int
    s2: int


@pytest.fixture
def holders(db: psycopg.Connection) -> Holders:
    row = db.execute(
        "select o, tests.make_customer(o, 'První'), tests.make_customer(o, 'Druhý'), tests.make_customer(o, 'Třetí'),"
        "       tests.make_tariff(390, o)"
        "  from tests.make_operator() o"
    ).fetchone()
    assert row is not None
    _, c1, c2, c3, tariff = (int(v) for v in row)
    services = db.execute(
        "select tests.net_make_service(%s, %s), tests.net_make_service(%s, %s)", [c1, tariff, c2, tariff]
    ).fetchone()
    assert services is not None
    return Holders(c1, c2, c3, int(services[0]), int(services[1]))


def day_back(db: psycopg.Connection, back: int) -> date:
    row = db.execute("select (now() at time zone 'UTC')::date - %s", [back]).fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


FLOW = """
insert into flow.flows (exporter, flow_start, flow_end, src_addr, dst_addr, bytes, packets, sampling)
select '127.0.0.1', t, t + interval '1 second', %(src)s::inet, %(dst)s::inet, %(bytes)s, 1, %(sampling)s
  from (select %(day)s::timestamp at time zone 'UTC' + %(at)s::interval as t) x
"""


def flow(
    db: psycopg.Connection, day: date, at: str, src: str, dst: str, nbytes: int, sampling: int = 1
) -> None:
    db.execute(FLOW, {"day": day, "at": at, "src": src, "dst": dst, "bytes": nbytes, "sampling": sampling})


def summary(db: psycopg.Connection, day: date) -> list[tuple[int, int, int, int, int, int, int]]:
    rows = db.execute(
        "select customer_id, service_id, bytes_in, bytes_out, packets_in, packets_out, flows"
        "  from crm.customer_traffic where day = %s order by customer_id, service_id",
        [day],
    ).fetchall()
    return [tuple(int(v) for v in r) for r in rows]  # type: ignore[misc]


def test_customer_summary_gives_each_flow_to_whoever_held_the_address_when_it_started(
    db: psycopg.Connection, holders: Holders
) -> None:
    day = day_back(db, 2)
    db.execute("select flow.create_partitions(1, 3)")
    # 198.51.100.77 changes hands at 10:30 UTC; the first service also holds a delegated IPv6 prefix.
    a1 = db.execute("select net.assign_ip('198.51.100.77', %s, null, '2024-01-01')", [holders.s1]).fetchone()
    assert a1 is not None
    handover = f"{day} 10:30:00+00"
    db.execute("select net.release_ip(%s, %s)", [a1[0], handover])
    db.execute("select net.assign_ip('198.51.100.77', %s, null, %s)", [holders.s2, handover])
    db.execute("select net.assign_ip('2001:db8:77::/56', %s, null, '2024-01-01')", [holders.s1])
    # The second service moves to another customer from the next Prague day on, which starts
    # within this UTC day (at 23:00 UTC in winter, 22:00 in summer).
    db.execute("select crm.move_service(%s, %s, %s::date + 1, 'test')", [holders.s2, holders.third, day])

    flow(db, day, "09:00", "198.51.100.77", "192.0.2.1", 100)  # out, first holder
    flow(db, day, "10:15", "192.0.2.1", "198.51.100.77", 1000, sampling=3)  # in, first holder, sampled
    flow(db, day, "10:45", "198.51.100.77", "192.0.2.1", 10000)  # out, second holder (same hour)
    flow(db, day, "12:00", "192.0.2.1", "198.51.100.77", 100000)  # in, second holder
    flow(db, day, "23:30", "192.0.2.1", "198.51.100.77", 7)  # in, second service, its new customer
    flow(db, day, "12:00", "2001:db8:77:5::1", "2001:db8::1", 20)  # out, inside the delegated prefix
    flow(db, day, "12:00", "192.0.2.1", "192.0.2.2", 99999)  # nobody's
    db.execute("select flow.close_partitions()")

    assert db.execute("select flow.summarize_customers(%s)", [day]).fetchone() == (3,)
    expected = sorted(
        [
            (holders.first, holders.s1, 3000, 120, 3, 2, 3),
            (holders.second, holders.s2, 100000, 10000, 1, 1, 2),
            (holders.third, holders.s2, 7, 0, 1, 0, 1),
        ]
    )
    assert summary(db, day) == expected

    # Running it again replaces the day's summary (a late flow is counted, nothing twice).
    flow(db, day, "13:00", "198.51.100.77", "192.0.2.1", 5)
    assert db.execute("select flow.summarize_customers(%s)", [day]).fetchone() == (3,)
    expected[1] = (holders.second, holders.s2, 100000, 10005, 1, 2, 3)
    assert summary(db, day) == sorted(expected)
    assert db.execute(
        "select count(*) from flow.retention_log where kind = 'summary' and day = %s"
        " and relation = 'crm.customer_traffic' and logged_at = now()",  # logged in this transaction
        [day],
    ).fetchone() == (2,)


def test_purge_drops_exactly_the_partitions_past_the_period_and_keeps_the_customer_summaries(
    db: psycopg.Connection, holders: Holders
) -> None:
    db.execute("select flow.create_partitions(1, 10)")
    db.execute("select net.assign_ip('198.51.100.78', %s, null, '2024-01-01')", [holders.s1])
    days = [day_back(db, back) for back in range(0, 11)]
    for day in days:
        flow(db, day, "01:00", "198.51.100.78", "192.0.2.1", 1000, sampling=2)
    expected = [
        r[0]
        for r in db.execute(
            "select d from unnest(%s::date[]) d where (d + 1)::timestamp at time zone 'UTC' <= now() - interval '5 days'"
            " order by d",
            [days],
        ).fetchall()
    ]
    assert len(expected) in (5, 6)
    partitions_before = db.execute("select relname from flow.partitions()").fetchall()

    purged = db.execute("select relation, day from flow.purge(interval '5 days')").fetchall()

    dropped = sorted((rel, day) for rel, day in purged if day is not None)
    assert dropped == sorted(
        [(f"flow.flows_p{d:%Y%m%d}", d) for d in expected]
        + [(f"flow.nat_events_p{d:%Y%m%d}", d) for d in expected]
    )
    partitions_after = db.execute("select relname from flow.partitions()").fetchall()
    assert sorted(set(partitions_before) - set(partitions_after)) == sorted(
        [(f"flows_p{d:%Y%m%d}",) for d in expected] + [(f"nat_events_p{d:%Y%m%d}",) for d in expected]
    )
    # Every purged day was summarised per customer first (sampling applied); the summaries stay.
    kept = db.execute(
        "select day, customer_id, service_id, bytes_out, packets_out, flows from crm.customer_traffic"
        " where service_id = %s order by day",
        [holders.s1],
    ).fetchall()
    assert kept == [(d, holders.first, holders.s1, 2000, 2, 1) for d in expected]
    # A purged day cannot be summarised again: that would replace its summary with nothing.
    for function in ("flow.summarize_customers", "flow.summarize_day"):
        db.execute("savepoint again")
        with pytest.raises(psycopg.Error) as raised:
            db.execute(sql.SQL("select {}(%s)").format(sql.SQL(function)), [expected[0]])
        assert raised.value.sqlstate == "MG711"
        assert "purged" in str(raised.value)
        db.execute("rollback to savepoint again")
    assert db.execute(
        "select count(*) from crm.customer_traffic where service_id = %s", [holders.s1]
    ).fetchone() == (len(expected),)
    # A second purge finds nothing more to drop.
    assert db.execute(
        "select count(*) from flow.purge(interval '5 days') where day is not null"
    ).fetchone() == (0,)


def test_days_to_summarize_lists_closed_days_missing_a_summary(db: psycopg.Connection) -> None:
    db.execute("select flow.create_partitions(1, 3)")
    db.execute("select flow.close_partitions()")
    yesterday, before = day_back(db, 1), day_back(db, 2)
    # (Schedulers of earlier tests may have summarised these days already.)
    db.execute(
        "delete from flow.retention_log where kind = 'summary' and day in (%s, %s)", [yesterday, before]
    )
    db.execute("select flow.summarize_day(%s)", [before])
    db.execute("select flow.summarize_customers(%s)", [before])
    db.execute("select flow.summarize_day(%s)", [yesterday])
    pending = dict(
        (d, (a, c))
        for d, a, c in db.execute("select day, addresses, customers from flow.days_to_summarize()")
    )
    assert before not in pending
    assert pending[yesterday] == (False, True)
    assert day_back(db, 0) not in pending  # today is not over


@pytest.mark.parametrize("who", [["support"], ["billing"], ["admin"], ["flow"], "mango_agent_scheduler"])
def test_staff_who_answer_for_traffic_read_customer_summaries(
    db: psycopg.Connection, holders: Holders, who: list[str] | str
) -> None:
    db.execute(
        "insert into crm.customer_traffic (day, customer_id, service_id, bytes_in) values (current_date, %s, %s, 1)",
        [holders.first, holders.s1],
    )
    if isinstance(who, list):
        db.execute("call tests.as_staff(%s)", [who])
    else:
        db.execute(sql.SQL("set local role {}").format(sql.Identifier(who)))
    assert db.execute(
        "select bytes_in from crm.customer_traffic where service_id = %s", [holders.s1]
    ).fetchone() == (1,)


@pytest.mark.parametrize(
    "role", ["mango_as_technician", "mango_as_sales", "mango_as_report", "mango_customer", "mango_web"]
)
def test_others_cannot_read_customer_summaries(db: psycopg.Connection, role: str) -> None:
    if role.startswith("mango_as_"):  # the role of a user with these staff roles
        db.execute("select tests.make_user(%s)", [role.removeprefix("mango_as_").split("_")])
    db.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute("select count(*) from crm.customer_traffic")


@pytest.mark.parametrize("role", ["mango_support", "mango_billing", "mango_flow"])
def test_summaries_are_written_only_by_the_summary(
    db: psycopg.Connection, holders: Holders, role: str
) -> None:
    db.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
    db.execute("savepoint attempt")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute(
            "insert into crm.customer_traffic (day, customer_id, service_id) values (current_date, %s, %s)",
            [holders.first, holders.s1],
        )
    db.execute("rollback to savepoint attempt")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute("select flow.summarize_customers(current_date - 1)")

"""Daily partitions, purge after the retention period, daily summaries, who may read flows."""

from __future__ import annotations

import psycopg
import pytest

INSERT_DAY = """
insert into flow.flows (exporter, flow_start, flow_end, src_addr, dst_addr, src_port, dst_port, protocol,
                        bytes, packets, sampling)
select '127.0.0.1', d + interval '1 hour', d + interval '1 hour 1 second', '100.64.0.7', '192.0.2.1', 40000, 443, 6,
       1000, 10, 2
  from (select ((now() at time zone 'UTC')::date - %s::integer)::timestamp at time zone 'UTC' as d) x
"""


def test_purge_drops_exactly_the_days_past_the_period_and_keeps_their_summaries(
    db: psycopg.Connection,
) -> None:
    db.execute("select flow.create_partitions(1, 10)")
    for back in range(0, 11):
        db.execute(INSERT_DAY, [back])
    purged = db.execute("select relation, day, row_count from flow.purge(interval '5 days')").fetchall()
    cutoff = db.execute("select (now() - interval '5 days')::timestamptz").fetchone()
    assert cutoff is not None
    expected_days = db.execute(
        "select d::date from generate_series((now() at time zone 'UTC')::date - 10, (now() at time zone 'UTC')::date, '1 day') d"
        " where (d::date + 1)::timestamp at time zone 'UTC' <= now() - interval '5 days' order by 1"
    ).fetchall()
    flow_purged = sorted((day, n) for rel, day, n in purged if rel.startswith("flow.flows_p"))
    assert flow_purged == [(d, 1) for (d,) in expected_days]
    assert len(expected_days) in (5, 6)
    remaining = db.execute(
        "select (flow_start at time zone 'UTC')::date from flow.flows where src_addr = '100.64.0.7' order by 1"
    ).fetchall()
    assert len(remaining) == 11 - len(expected_days)
    assert all(r[0] > expected_days[-1][0] for r in remaining)
    # The dropped days were summarised first (sampling applied), and every drop is logged.
    summaries = db.execute(
        "select day, bytes_out, packets_out, flows from flow.daily_traffic where address = '100.64.0.7' order by day"
    ).fetchall()
    assert summaries == [(d, 2000, 20, 1) for (d,) in expected_days]
    logged = db.execute(
        "select count(*) from flow.retention_log where kind = 'purge' and retention = interval '5 days'"
        " and relation like 'flow.flows_p%%'"
    ).fetchone()
    assert logged == (len(expected_days),)
    db.execute(INSERT_DAY, [2])
    assert db.execute("select count(*) from flow.purge(interval '5 days')").fetchone() == (0,)


def test_retention_defaults_to_six_months_and_is_a_logged_setting(db: psycopg.Connection) -> None:
    assert db.execute("select flow.retention() = interval '6 months'").fetchone() == (True,)
    db.execute("select flow.set_retention(interval '7 months')")
    assert db.execute("select flow.retention() = interval '7 months'").fetchone() == (True,)
    assert db.execute(
        "select retention from flow.retention_log where kind = 'setting' order by id desc limit 1"
    ).fetchone() == (db.execute("select interval '7 months'").fetchone() or (None,))
    with pytest.raises(psycopg.Error) as raised:
        db.execute("select flow.set_retention(interval '1 hour')")
    assert raised.value.sqlstate == "MG701"


def test_rows_that_arrive_before_their_partition_are_moved_into_it(db: psycopg.Connection) -> None:
    db.execute("select flow.create_partitions(0, 0)")
    db.execute(INSERT_DAY, [-20])  # 20 days ahead: no partition yet, kept in the default partition
    assert db.execute("select count(*) from flow.flows_default where src_addr = '100.64.0.7'").fetchone() == (
        1,
    )
    db.execute("select flow.create_partitions(21, 0)")
    assert db.execute("select count(*) from flow.flows_default where src_addr = '100.64.0.7'").fetchone() == (
        0,
    )
    row = db.execute(
        "select tableoid::regclass::text from flow.flows where src_addr = '100.64.0.7'"
    ).fetchone()
    assert row is not None and row[0].startswith("flow.flows_p")


def test_closed_days_get_address_indexes_and_partitions_are_secured(db: psycopg.Connection) -> None:
    db.execute("select flow.create_partitions(1, 3)")
    db.execute("select flow.close_partitions()")
    parts = db.execute("select relname, day, closed from flow.partitions() where parent = 'flows'").fetchall()
    today = db.execute("select (now() at time zone 'UTC')::date").fetchone()
    assert today is not None
    assert parts and all(closed == (day < today[0]) for _, day, closed in parts)
    insecure = db.execute(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = 'flow' and c.relkind in ('r', 'p') and"
        " (not c.relrowsecurity or (coalesce(obj_description(c.oid, 'pg_class'), '') not like '%%[not audited:%%'"
        " and not exists (select from pg_trigger t where t.tgrelid = c.oid and t.tgname = '_800_audit')))"
    ).fetchall()
    assert insecure == []


@pytest.mark.parametrize("roles", [["billing"], ["support"], ["admin"]])
def test_staff_other_than_officers_cannot_read_flows(db: psycopg.Connection, roles: list[str]) -> None:
    db.execute("call tests.as_staff(%s)", [roles])
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute("select count(*) from flow.flows")


def test_a_signed_in_officer_and_the_scheduler_read_flows(db: psycopg.Connection) -> None:
    db.execute(INSERT_DAY, [0])
    query = "select count(*) > 0 from flow.flows where src_addr = '100.64.0.7'"
    db.execute("call tests.as_staff('{flow}')")
    assert db.execute(query).fetchone() == (True,)
    db.execute("call tests.as_superuser()")
    db.execute("set local role mango_agent_scheduler")  # the daily maintenance summarises them
    assert db.execute(query).fetchone() == (True,)


def test_the_collector_writes_flows_but_reads_none(db: psycopg.Connection) -> None:
    """It faces the network: it may insert flows (COPY), never read them back."""
    db.execute(INSERT_DAY, [0])
    db.execute("set local role mango_agent_flowcollector")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute("select count(*) from flow.flows")

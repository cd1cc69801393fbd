"""Flow collector benchmark (``python -m bench.flows``): UDP to committed rows, loss, delay, lookup.

Uses its own database ``mango_bench_flows`` (dropped and made again) and only loopback traffic:
a sender process paces pre-built NetFlow v5 datagrams to the collector, which runs as a subprocess
exactly as in production (same indexes: BRIN on time while a day is open). Prints figures beside
the goals; asserts nothing. Every loop is bounded in count and time.

The lawful lookup ("who had IP X at time T, with their flows that hour") runs over
``--lookup-flows`` stored flows (default 100,000,000; ``--lookup-only`` skips the ingest phases):
an IP history of ``--subscribers`` services (one in ten addresses changes hands within the window)
and the flows, generated in SQL straight into the daily partitions of ``--days`` closed days, then
closed with ``flow.close_partitions`` (address B-trees) as production does. It calls
``flow.lawful_subscribers`` and ``flow.lawful_flows`` when they exist, else ``net.who_had`` and a
plain query on ``flow.flows``, as an officer's database role (``auth.role_for('{flow}')``), and
prints which it used.
"""

from __future__ import annotations

import argparse
import ipaddress
import multiprocessing as mp
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path

import psycopg

from agents.flowcollector.collector import COPY_FLOWS
from agents.flowcollector.parser import COPY_HEADER, COPY_TRAILER, Decoder
from bench._common import act_as, log, percentile, staff_session
from db import bootstrap, migrate
from db import settings as settings_mod
from db.settings import ROOT, Settings

DBNAME = "mango_bench_flows"
SUBSCRIBER_NET = "198.18.0.0"  # RFC 2544 benchmarking space: /15, 131,072 addresses
LOOKUP_GOAL_S = 1.0


def v5_datagram(seq: int, when: float) -> bytes:
    secs, nsecs = int(when), int((when % 1) * 1e9)
    uptime = 86_400_000
    head = struct.pack(">HHIIIIBBH", 5, 30, uptime, secs, nsecs, seq, 0, 0, 0)
    recs = []
    for k in range(30):
        i = seq * 30 + k
        recs.append(
            struct.pack(
                ">4s4s4sHHIIIIHHBBBBHHBBH",
                bytes([100, 64 + (i >> 16) % 64, (i >> 8) & 255, i & 255]),
                bytes([192, 0, 2, k]),
                bytes(4),
                1,
                2,
                10,
                12_000,
                uptime - 20_000,
                uptime - 1000,
                1024 + k,
                443,
                0,
                0x1B,
                6,
                0,
                0,
                0,
                24,
                24,
                0,
            )  # fmt: skip
        )
    return head + b"".join(recs)


def sender(port: int, rate: int, seconds: float, out: mp.Queue) -> None:  # type: ignore[type-arg]
    """Send ``rate`` flows/s for ``seconds`` (in 5 ms steps); put the number of flows sent."""
    now = time.time()
    pool = [v5_datagram(s, now) for s in range(2000)]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
    sent = 0
    start = time.perf_counter()
    end = start + seconds
    while True:
        t = time.perf_counter()
        if t >= end:
            break
        due = int((t - start) * rate / 30)
        while sent < due:
            try:
                sock.sendto(pool[sent % len(pool)], ("127.0.0.1", port))
            except BlockingIOError:
                break
            sent += 1
        time.sleep(0.002)
    out.put(sent * 30)


def offer(port: int, rate: int, seconds: float) -> int:
    q: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    p = mp.Process(target=sender, args=(port, rate, seconds, q))
    p.start()
    sent = int(q.get(timeout=seconds + 60))
    p.join(timeout=10)
    return sent


def count_flows(conn: psycopg.Connection) -> int:
    row = conn.execute("select count(*) from flow.flows").fetchone()
    return int(row[0]) if row else 0


def settle(conn: psycopg.Connection, expected: int, seconds: float = 60) -> int:
    """The row count once it reaches ``expected`` or stops growing for 3 s (bounded)."""
    deadline = time.monotonic() + seconds
    last, still = -1, time.monotonic()
    while time.monotonic() < deadline:
        n = count_flows(conn)
        if n >= expected:
            return n
        if n != last:
            last, still = n, time.monotonic()
        elif time.monotonic() - still > 3:
            return n
        time.sleep(0.2)
    return count_flows(conn)


def plain_copy_rate(settings: Settings, rows: int) -> float:
    dec = Decoder()
    now = time.time()
    chunks = [dec.decode(v5_datagram(s, now), "127.0.0.1").flows[0] for s in range(rows // 30)]
    data = b"".join(chunks)
    with psycopg.connect(settings.role_conninfo("mango_agent_flowcollector")) as conn:
        conn.execute("set synchronous_commit = off")
        t = time.perf_counter()
        with conn.cursor().copy(COPY_FLOWS) as cp:
            cp.write(COPY_HEADER)
            for i in range(0, len(data), 1 << 20):
                cp.write(data[i : i + (1 << 20)])
            cp.write(COPY_TRAILER)
        conn.commit()
        return rows / (time.perf_counter() - t)


def start_collector(settings: Settings, spool: Path) -> tuple[subprocess.Popen[str], int]:
    env = dict(os.environ, MANGO_FLOW_LISTEN="127.0.0.1:0", MANGO_FLOW_SPOOL=str(spool), MANGO_LOG_LEVEL="WARNING",
               MANGO_FLOW_FLUSH_MS="500", MANGO_FLOW_INSTANCE="bench")  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "agents.flowcollector", "--database", DBNAME], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    return proc, int(line.rsplit(":", 1)[1])


# ---------------------------------------------------------------------------------------------
# The lawful lookup over many stored flows


def load_ip_history(conn: psycopg.Connection, subscribers: int, window: tuple[datetime, datetime]) -> None:
    """Customers, services and the IP history: address k of the subscriber space is held by service
    k all the window; every tenth address is handed to another customer's service at a moment
    within the window. Bulk rows skip the tables' triggers (replica mode); the exclusion
    constraint still checks every assignment."""
    extra = subscribers // 10 + 1
    conn.execute("set session_replication_role = replica")
    row = conn.execute(
        """insert into crm.operators (code, name, ico, dic, street, city, zip)
           values ('bench-flows', 'Bench Flows s.r.o.', '27082440', 'CZ27082440', 'Hlavní 1', 'Brno', '602 00')
           returning id"""
    ).fetchone()
    assert row is not None
    op = row[0]
    # Under replica the operator's trigger does not give it its default billing plan: made here.
    conn.execute(
        "insert into billing.plans (operator_id, code, name, is_default) values (%s, 'default', 'Invoice monthly', true)",
        [op],
    )
    row = conn.execute(
        "insert into catalog.classes (code, name, kind) values ('internet', 'Internet', 'service') returning id"
    ).fetchone()
    assert row is not None
    row = conn.execute(
        "insert into catalog.products (operator_id, class_id, code, name) values (%s, %s, 'INT', 'Internet')"
        " returning id",
        [op, row[0]],
    ).fetchone()
    assert row is not None
    product = row[0]
    conn.execute(
        """
        insert into crm.customers (operator_id, customer_no, vs, kind, first_name, last_name, city, created_on)
        select %(op)s, 'F' || lpad(i::text, 8, '0'), (40000000 + i)::text, 'person',
               (array['Jan', 'Petr', 'Eva', 'Jana', 'Pavel', 'Lucie'])[1 + i %% 6],
               (array['Novák', 'Svoboda', 'Dvořák', 'Černá', 'Procházka', 'Veselá', 'Horák'])[1 + i %% 7],
               'Brno', date '2020-01-01'
          from generate_series(0, %(n)s - 1) i
        """,
        {"op": op, "n": subscribers + extra},
    )
    conn.execute(
        """
        insert into crm.services (customer_id, operator_id, product_id, state, valid, billing_plan_id)
        select c.id, %(op)s, %(product)s, 'active', daterange('2020-01-01', null),
               (select id from billing.plans where operator_id = %(op)s and is_default)
          from crm.customers c order by c.id
        """,
        {"op": op, "product": product},
    )
    # bench_services(k, id): service of subscriber k (0 .. subscribers + extra - 1)
    conn.execute(
        "create temporary table bench_services as"
        " select (row_number() over (order by id) - 1)::integer as k, id from crm.services"
    )
    start, end = window
    conn.execute(
        """
        insert into net.ip_assignments (address, service_id, valid)
        select %(net)s::inet + a.k, s.id,
               case when a.k %% 10 = 0 then tstzrange(%(start)s::timestamptz - interval '60 days', a.handover)
                    else tstzrange(%(start)s::timestamptz - interval '60 days', null) end
          from (select k, %(start)s::timestamptz
                          + (%(end)s::timestamptz - %(start)s::timestamptz) * ((hashint4(k) & 65535) / 65536.0)
                          as handover
                  from generate_series(0, %(n)s - 1) k) a
          join bench_services s on s.k = a.k
        union all
        select %(net)s::inet + a.k, s.id, tstzrange(a.handover, null)
          from (select k, %(start)s::timestamptz
                          + (%(end)s::timestamptz - %(start)s::timestamptz) * ((hashint4(k) & 65535) / 65536.0)
                          as handover
                  from generate_series(0, %(n)s - 1, 10) k) a
          join bench_services s on s.k = %(n)s + a.k / 10
        """,
        {"net": SUBSCRIBER_NET, "start": start, "end": end, "n": subscribers},
    )
    conn.execute("reset session_replication_role")


FLOWS_OF_DAY = """
insert into flow.{partition} (exporter, flow_start, flow_end, src_addr, dst_addr, src_port, dst_port, protocol,
                              tcp_flags, bytes, packets, in_if, out_if, sampling)
select '192.0.2.1', x.t, x.t + (x.h2 & 65535) * interval '1 millisecond',
       case when x.outbound then x.subscriber else x.remote end,
       case when x.outbound then x.remote else x.subscriber end,
       case when x.outbound then 1024 + (x.h2 >> 16 & 65535) %% 64000 else (array[443, 80, 53, 123, 993])[1 + x.h1 %% 5] end,
       case when x.outbound then (array[443, 80, 53, 123, 993])[1 + x.h1 %% 5] else 1024 + (x.h2 >> 16 & 65535) %% 64000 end,
       case when x.h1 %% 5 in (2, 3) then 17 else 6 end, 27, 40 + (x.h2 & 1048575), 1 + (x.h2 & 1023), 1, 2, 1
  from (
    select %(day)s::timestamptz + (g * 86400000000 / %(n)s) * interval '1 microsecond' as t,
           -- skewed: few subscribers make many flows, most make some
           %(net)s::inet + floor(%(subs)s * ((hashint8(g * 3 + %(seed)s) & 2147483647) / 2147483648.0) ^ 2)::integer
             as subscriber,
           '1.0.0.0'::inet + (hashint8(g * 7 + %(seed)s) & 1073741823) as remote,
           (hashint8(g * 11 + %(seed)s) & 1) = 0 as outbound,
           hashint8(g * 13 + %(seed)s) & 2147483647 as h1,
           hashint8(g * 17 + %(seed)s) & 2147483647 as h2
      from generate_series(%(first)s::bigint, %(last)s::bigint) g
  ) x
"""


def load_day(settings: Settings, day: date, flows: int, subscribers: int, seed: int) -> None:
    with psycopg.connect(settings.admin_conninfo(DBNAME), autocommit=True) as conn:
        conn.execute("set synchronous_commit = off")
        partition = f"flows_p{day:%Y%m%d}"
        query = FLOWS_OF_DAY.format(partition=partition)
        for first in range(0, flows, 2_000_000):
            conn.execute(
                query,  # type: ignore[arg-type]
                {
                    "day": datetime(day.year, day.month, day.day).isoformat() + "+00",
                    "n": flows, "net": SUBSCRIBER_NET, "subs": subscribers,
                    "seed": seed + day.toordinal(), "first": first, "last": min(first + 2_000_000, flows) - 1,
                },
            )  # fmt: skip


def lawful_lookup(settings: Settings, args: argparse.Namespace) -> list[tuple[str, str, str]]:
    results: list[tuple[str, str, str]] = []
    admin = psycopg.connect(settings.admin_conninfo(DBNAME), autocommit=True)
    admin.execute("truncate flow.flows")
    row = admin.execute("select (now() at time zone 'UTC')::date").fetchone()
    assert row is not None
    today: date = row[0]
    days = [today - timedelta(days=back) for back in range(args.days, 0, -1)]
    admin.execute("select flow.create_partitions(1, %s)", [args.days])
    window = (
        datetime.fromisoformat(f"{days[0]}T00:00:00+00:00"),
        datetime.fromisoformat(f"{today}T00:00:00+00:00"),
    )
    log(f"IP history: {args.subscribers:,} subscribers")
    with admin.transaction():
        load_ip_history(admin, args.subscribers, window)
    per_day = [args.lookup_flows // args.days + (i < args.lookup_flows % args.days) for i in range(args.days)]
    log(f"loading {args.lookup_flows:,} flows into {args.days} daily partitions ({args.jobs} connections)")
    t = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        list(
            pool.map(
                lambda dn: load_day(settings, dn[0], dn[1], args.subscribers, args.seed),
                zip(days, per_day, strict=True),
            )
        )
    load = time.perf_counter() - t
    log(f"loaded in {load:.0f} s; closing the days (address B-trees)")
    t = time.perf_counter()
    admin.execute("select flow.close_partitions()")
    close = time.perf_counter() - t
    admin.execute("vacuum analyze net.ip_assignments")
    row = admin.execute("select count(*) from flow.flows").fetchone()
    total = int(row[0]) if row else 0
    row = admin.execute(
        "select sum(pg_table_size(relid)), sum(pg_indexes_size(relid)) from pg_partition_tree('flow.flows')"
        " where isleaf"
    ).fetchone()
    assert row is not None
    heap, indexes = int(row[0] or 0), int(row[1] or 0)
    results.append(("lookup data", f"{total:,} flows in {args.days} closed days", "100,000,000 flows"))
    results.append(
        (
            "  loading (insert … select into the partitions)",
            f"{load:,.0f} s, {total / max(load, 1e-9):,.0f}/s",
            "",
        )
    )
    results.append(("  closing the days (address B-trees)", f"{close:,.0f} s", ""))
    results.append(("  size: tables / indexes", f"{heap / 2**30:,.2f} / {indexes / 2**30:,.2f} GiB", ""))

    lawful = admin.execute(
        "select to_regprocedure('flow.lawful_subscribers(inet, integer, tstzrange)') is not null"
        " and to_regprocedure('flow.lawful_flows(inet, integer, tstzrange, integer)') is not null"
    ).fetchone()
    use_lawful = bool(lawful and lawful[0]) and not args.plain_lookup
    how = (
        "flow.lawful_subscribers + flow.lawful_flows"
        if use_lawful
        else "net.who_had + a query on flow.flows (the lawful functions do not exist)"
    )
    log(f"{args.lookups} lookups with {how}")
    rng = random.Random(args.seed)
    span = (window[1] - window[0]).total_seconds()
    samples = [
        (
            subscriber_address(rng.randrange(args.subscribers)),
            window[0] + timedelta(seconds=rng.uniform(0, span)),
        )
        for _ in range(args.lookups)
    ]
    # A signed-in officer (a user who holds 'flow', its session and mango_as_* role), as the web
    # client works for one: the flow policies ask for the session.
    officer = staff_session(settings, DBNAME, "bench-officer", ["flow"])
    role, why = officer[1], "(a signed-in officer)"
    try:
        act_as(admin, officer)
        lookup(admin, samples[0], use_lawful)
    except psycopg.errors.InsufficientPrivilege as exc:
        role, why = "the superuser", f"the officer's role cannot: {exc.diag.message_primary}"
        admin.execute("reset role")
    log(f"looking up as {role} {why}")
    times: list[float] = []
    holders = flows_found = 0
    for sample in samples:
        t = time.perf_counter()
        who, rows = lookup(admin, sample, use_lawful)
        times.append(time.perf_counter() - t)
        holders += who > 0
        flows_found += rows
    admin.execute("reset role")
    admin.close()
    results.append(("lawful lookup with " + ("lawful_* functions" if use_lawful else "who_had + flows query"),
                    f"{len(times)} random (IP, time)", ""))  # fmt: skip
    results.append(
        ("  with a holder / flows that hour on average", f"{holders} / {flows_found / len(times):,.1f}", "")
    )
    results.append(("  run as", role, ""))
    if why.startswith("the officer's role cannot"):
        results.append((f"  ({why})", "", ""))
    results.append(("  'who had IP X at T + flows that hour' p50", f"{percentile(times, 50) * 1000:,.1f} ms",
                    f"< {LOOKUP_GOAL_S:g} s"))  # fmt: skip
    results.append(("  p95", f"{percentile(times, 95) * 1000:,.1f} ms", f"< {LOOKUP_GOAL_S:g} s"))
    results.append(("  max (the first is cold)", f"{max(times) * 1000:,.1f} ms", f"< {LOOKUP_GOAL_S:g} s"))
    return results


def lookup(conn: psycopg.Connection, sample: tuple[str, datetime], use_lawful: bool) -> tuple[int, int]:
    """Who had the address at the moment, and the flows to and from it in that hour: row counts."""
    address, at = sample
    hour = at.replace(minute=0, second=0, microsecond=0)
    if use_lawful:
        who = conn.execute(
            "select * from flow.lawful_subscribers(%s::inet, null, tstzrange(%s, %s, '[]'))",
            [address, at, at],
        ).fetchall()
        rows = conn.execute(
            "select * from flow.lawful_flows(%s::inet, null, tstzrange(%s, %s), 100000)",
            [address, hour, hour + timedelta(hours=1)],
        ).fetchall()
    else:
        who = conn.execute("select * from net.who_had(%s::inet, %s)", [address, at]).fetchall()
        rows = conn.execute(
            """
            select * from (
              select * from flow.flows where src_addr = %(a)s::inet and flow_start >= %(h)s and flow_start < %(e)s
              union all
              select * from flow.flows where dst_addr = %(a)s::inet and flow_start >= %(h)s and flow_start < %(e)s
            ) f order by flow_start
            """,
            {"a": address, "h": hour, "e": hour + timedelta(hours=1)},
        ).fetchall()
    return len(who), len(rows)


def subscriber_address(k: int) -> str:
    return str(ipaddress.ip_address(SUBSCRIBER_NET) + k)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.flows", description=__doc__)
    p.add_argument("--seconds", type=float, default=10.0, help="length of each sustained phase")
    p.add_argument("--copy-rows", type=int, default=1_500_000)
    p.add_argument("--lookup-flows", type=int, default=100_000_000, help="stored flows for the lawful lookup")
    p.add_argument("--days", type=int, default=30, help="closed days the lookup flows are spread over")
    p.add_argument("--subscribers", type=int, default=5_000, help="services with an address (<= 131,072)")
    p.add_argument("--lookups", type=int, default=200, help="random lookups to time")
    p.add_argument("--jobs", type=int, default=2, help="connections loading the lookup flows in parallel")
    p.add_argument("--seed", type=int, default=20261126)
    p.add_argument("--lookup-only", action="store_true", help="skip the ingest phases")
    p.add_argument(
        "--plain-lookup", action="store_true", help="net.who_had + a plain query, even if flow.lawful_* exist"
    )
    args = p.parse_args(argv)
    if not 1 <= args.subscribers <= 131_072 or args.days < 1 or args.lookup_flows < args.days:
        p.error("need 1..131072 subscribers, at least one day and at least one flow a day")
    settings = settings_mod.load(DBNAME)
    bootstrap.ensure_roles(settings)
    bootstrap.drop_database(settings, DBNAME)
    bootstrap.ensure_database(settings, DBNAME)
    migrate.migrate(settings, DBNAME)
    admin = psycopg.connect(settings.admin_conninfo(DBNAME), autocommit=True)
    admin.execute("select flow.create_partitions(2, 1)")
    results: list[tuple[str, str, str]] = []
    if args.lookup_only:
        admin.close()
        results.extend(lawful_lookup(settings, args))
        print_results(results)
        return 0

    copy_rate = plain_copy_rate(settings, args.copy_rows)
    results.append(("plain binary COPY of the same rows", f"{copy_rate:,.0f} rows/s", "(reference)"))
    admin.execute("truncate flow.flows")

    spool = ROOT / "var" / "bench-flowspool"
    proc, port = start_collector(settings, spool)
    try:
        # 1. sustained: offer more than the goal, measure committed rows per second
        t = time.perf_counter()
        sent = offer(port, 400_000, args.seconds)
        got = settle(admin, sent)
        elapsed = time.perf_counter() - t
        rate = got / elapsed
        results.append(("sustained UDP -> committed rows (offered 400k/s)", f"{rate:,.0f} flows/s",
                        f">= 200,000; {rate / copy_rate:.0%} of plain COPY (>= 50 %)"))  # fmt: skip
        results.append(("  loss at 400k/s offered", f"{sent - got:,} of {sent:,}", "(over the goal)"))
        admin.execute("truncate flow.flows")
        # 2. zero loss at 150k/s
        sent = offer(port, 150_000, args.seconds)
        got = settle(admin, sent)
        results.append(("loss at 150,000 flows/s offered", f"{sent - got:,} of {sent:,}", "0"))
        admin.execute("truncate flow.flows")
        # 3. one-second bursts of 300k/s
        lost = total = 0
        for _ in range(3):
            sent = offer(port, 300_000, 1.0)
            got = settle(admin, sent)
            lost, total = lost + sent - got, total + sent
            admin.execute("truncate flow.flows")
            time.sleep(1.0)
        results.append(("loss in 1 s bursts of 300,000 flows/s (x3)", f"{lost:,} of {total:,}", "0"))
        # 4. delay until a flow is queryable
        delays = []
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(5):
                d = bytearray(v5_datagram(0, time.time()))
                d[24:28] = bytes([198, 18, 0, i])  # a marker source address in the first record
                t = time.perf_counter()
                s.sendto(bytes(d), ("127.0.0.1", port))
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    row = admin.execute(
                        "select 1 from flow.flows where src_addr = %s::inet", [f"198.18.0.{i}"]
                    ).fetchone()
                    if row:
                        break
                    time.sleep(0.01)
                delays.append(time.perf_counter() - t)
        results.append(("delay until queryable (max of 5)", f"{max(delays):.2f} s", "< 5 s"))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)

    # 5. the lawful lookup over many stored flows of closed days
    admin.close()
    results.extend(lawful_lookup(settings, args))

    print_results(results)
    return 0


def print_results(results: list[tuple[str, str, str]]) -> None:
    print(f"\nflow collector benchmark ({os.cpu_count()} CPUs, database {DBNAME})")
    for name, figure, goal in results:
        print(f"  {name:52} {figure:>28}   {'goal ' + goal if goal else ''}".rstrip())


if __name__ == "__main__":
    sys.exit(main())

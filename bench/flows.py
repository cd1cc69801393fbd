"""Flow collector benchmark (``python -m bench.flows``): UDP to committed rows, loss, delay, lookup.

Uses its own database ``mango_bench_flows`` (dropped and made again) and only loopback traffic:
a sender process paces pre-built NetFlow v5 datagrams to the collector, which runs as a subprocess
exactly as in production (same indexes: BRIN on time while a day is open). Prints figures beside
the goals; asserts nothing. Every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from agents.flowcollector.collector import COPY_FLOWS
from agents.flowcollector.parser import COPY_HEADER, COPY_TRAILER, Decoder
from db import bootstrap, migrate
from db import settings as settings_mod
from db.settings import ROOT, Settings

DBNAME = "mango_bench_flows"


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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.flows", description=__doc__)
    p.add_argument("--seconds", type=float, default=10.0, help="length of each sustained phase")
    p.add_argument("--copy-rows", type=int, default=1_500_000)
    p.add_argument("--lookup-rows", type=int, default=20_000_000, help="rows of closed days for the lookup")
    args = p.parse_args(argv)
    settings = settings_mod.load(DBNAME)
    bootstrap.ensure_roles(settings)
    bootstrap.drop_database(settings, DBNAME)
    bootstrap.ensure_database(settings, DBNAME)
    migrate.migrate(settings, DBNAME)
    admin = psycopg.connect(settings.admin_conninfo(DBNAME), autocommit=True)
    admin.execute("select flow.create_partitions(2, 1)")
    results: list[tuple[str, str, str]] = []

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

    # 5. lawful lookup over closed days (B-trees built when the day closed) and the open day (BRIN)
    admin.execute("truncate flow.flows")
    admin.execute("select flow.create_partitions(1, 5)")
    per_day = args.lookup_rows // 5
    t = time.perf_counter()
    for back in range(1, 6):
        for off in range(0, per_day, 5_000_000):
            n = min(5_000_000, per_day - off)
            admin.execute(
                """
                insert into flow.flows (exporter, flow_start, flow_end, src_addr, dst_addr, src_port, dst_port,
                                        protocol, bytes, packets)
                select '10.0.0.1', d + (g * interval '86399 seconds' / %(n)s), d + (g * interval '86399 seconds' / %(n)s),
                       '100.64.0.0'::inet + (hashint4(g) & 1048575), '192.0.2.0'::inet + (g %% 250),
                       1024 + g %% 60000, 443, 6, 1500, 3
                  from (select ((now() at time zone 'UTC')::date - %(back)s::int)::timestamp at time zone 'UTC' as d) x,
                       generate_series(%(off)s::int, %(off)s::int + %(n)s::int - 1) g
                """,
                {"n": n, "back": back, "off": off},
            )
    load = time.perf_counter() - t
    t = time.perf_counter()
    admin.execute("select flow.close_partitions()")
    close = time.perf_counter() - t
    total_row = admin.execute("select count(*) from flow.flows").fetchone()
    total = int(total_row[0]) if total_row else 0
    results.append(("lookup table", f"{total:,} flows in 5 closed days",
                    f"loaded in {load:.0f} s, indexes in {close:.0f} s (goal: 100,000,000)"))  # fmt: skip
    times = []
    for k in range(5):
        addr = f"100.64.{k * 7}.{k * 13}"
        t = time.perf_counter()
        admin.execute(
            "select * from flow.flows where (src_addr = %(a)s::inet or dst_addr = %(a)s::inet)"
            " and flow_start >= %(h)s::timestamptz and flow_start < %(h)s::timestamptz + interval '1 hour'",
            {
                "a": addr,
                "h": f"{time.strftime('%Y-%m-%d', time.gmtime(time.time() - 2 * 86400))} 10:00:00+00",
            },
        ).fetchall()
        times.append(time.perf_counter() - t)
    results.append(("lookup 'flows of IP X in hour H' (max of 5)", f"{max(times) * 1000:.1f} ms", "< 1 s"))
    admin.close()

    print(f"\nflow collector benchmark ({os.cpu_count()} CPUs, database {DBNAME})")
    for name, figure, goal in results:
        print(f"  {name:52} {figure:>28}   goal {goal}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

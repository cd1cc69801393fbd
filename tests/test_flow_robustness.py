"""The collector survives garbage, loses nothing while the database is away, and flushes on SIGTERM.

No test here orders anything with a sleep: datagrams go out in chunks small enough for any receive
buffer, and the next chunk waits for an event (a probe datagram of the chunk stored, the collector's
new database connection, the queued rows in its metrics), polled with a deadline."""

from __future__ import annotations

import random
import re
import signal
import socket
import struct
import time
import urllib.request
from pathlib import Path

import psycopg

from db.settings import Settings
from tests.test_flow_exporters import collector, count, wait_for


def v5_datagram(net: int, first: int, n: int = 30, when: float | None = None) -> bytes:
    """A NetFlow v5 export of ``n`` flows, flow ``k`` from 10.<net>.<(first+k) // 256>.<(first+k) % 256>."""
    now = time.time() if when is None else when
    secs, nsecs = int(now), int((now % 1) * 1e9)
    uptime = 3_600_000
    header = struct.pack(">HHIIIIBBH", 5, n, uptime, secs, nsecs, first, 0, 0, 0)
    records = []
    for k in range(n):
        i = first + k
        records.append(
            struct.pack(
                ">4s4s4sHHIIIIHHBBBBHHBBH",
                bytes([10, net, (i >> 8) & 255, i & 255]),
                bytes([192, 0, 2, 1]),
                bytes(4),
                3,
                4,
                2 + k,
                1500 + k,
                uptime - 5000,
                uptime - 1000,
                1024 + (i % 60000),
                443,
                0,
                0x18,
                6,
                0,
                0,
                0,
                24,
                24,
                0,
            )  # fmt: skip
        )
    return header + b"".join(records)


CHUNK = 50  # datagrams sent before waiting for the collector: at most 75 kB, within any receive buffer


def send(port: int, datagrams: list[bytes]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for d in datagrams:
            s.sendto(d, ("127.0.0.1", port))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def received(metrics_port: int) -> float:
    """The collector's ``mango_flow_received_total``: records decoded and queued for the writer (-1
    while its metrics are not served yet)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return -1
    m = re.search(r"^mango_flow_received_total (\S+)$", text, re.M)
    return float(m.group(1)) if m else -1


def stored(admin: psycopg.Connection, net: int) -> int:
    return count(admin, "select count(*) from flow.flows where src_addr <<= %s::inet", [f"10.{net}.0.0/16"])


def test_garbage_and_truncated_datagrams_are_counted_and_a_following_export_is_stored(
    settings: Settings, admin: psycopg.Connection, tmp_path: Path
) -> None:
    rng = random.Random(20261125)
    valid = v5_datagram(201, 0)
    v9_header = struct.pack(">HHIIII", 9, 1, 1000, int(time.time()), 1, 7)
    ipfix_header = struct.pack(">HHIII", 10, 16 + 40, int(time.time()), 1, 7)
    certain: list[bytes] = []
    certain += [valid[:k] for k in (0, 1, 3, 23, 24, 71, len(valid) - 1)]  # truncated v5
    certain += [v9_header + struct.pack(">HH", 0, 400) + bytes(20)]  # a template set longer than the datagram
    certain += [v9_header + struct.pack(">HHHH", 0, 12, 300, 0) + bytes(4)]  # a template without fields
    certain += [ipfix_header + bytes(40)]  # a set of length 0
    certain += [struct.pack(">HHIII", 10, 999, 0, 0, 0) + bytes(30)]  # length disagrees with the datagram
    certain += [struct.pack(">H", v) + bytes(30) for v in (1, 4, 6, 7, 8, 11, 0xFFFF)]  # unknown versions
    maybe = [bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 1500))) for _ in range(300)]
    maybe += [v9_header + bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 600))) for _ in range(300)]
    maybe += [
        ipfix_header[:2] + bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 600))) for _ in range(300)
    ]
    garbage = certain + maybe
    with collector(settings, tmp_path / "spool") as c:
        # Each chunk is followed by a valid export (30 new flows): once it is stored, the collector
        # has read the chunk before it, and lives.
        for k in range(0, len(garbage), CHUNK):
            send(c.port, [*garbage[k : k + CHUNK], v5_datagram(201, k // CHUNK * 30)])
            assert wait_for(lambda k=k: stored(admin, 201) == (k // CHUNK + 1) * 30)  # type: ignore[misc]
        assert c.proc.poll() is None
        instance = c.instance
        assert wait_for(
            lambda: (
                count(
                    admin,
                    "select coalesce(sum(malformed), 0) from flow.collector_status where collector = %s",
                    [instance],
                )
                >= len(certain)
            )  # fmt: skip
        )
    assert c.proc.returncode == 0


def test_nothing_received_is_lost_while_the_database_connection_is_killed(
    settings: Settings, admin: psycopg.Connection, tmp_path: Path
) -> None:
    datagrams = [v5_datagram(202, i * 30) for i in range(400)]  # 12,000 distinct flows

    def backends() -> set[int]:
        rows = admin.execute(
            "select pid from pg_stat_activity"
            " where usename = 'mango_agent_flowcollector' and datname = current_database()"
        ).fetchall()
        return {int(r[0]) for r in rows}

    killed: set[int] = set()
    with collector(settings, tmp_path / "spool", MANGO_FLOW_FLUSH_MS="100") as c:
        for k in range(0, len(datagrams), 10):
            # The collector is connected (again); its connection dies (waited for), then 10 exports
            # arrive: it finds the connection gone while writing them, spools them and reconnects.
            assert wait_for(lambda: bool(backends() - killed), seconds=30)
            for pid in backends() - killed:
                admin.execute("select pg_terminate_backend(%s, 10000)", [pid])
                killed.add(pid)
            send(c.port, datagrams[k : k + 10])
        assert wait_for(lambda: stored(admin, 202) == 12_000, seconds=60)
        instance = c.instance
        assert wait_for(
            lambda: (
                count(
                    admin,
                    "select coalesce(sum(spooled), 0) from flow.collector_status where collector = %s",
                    [instance],
                )
                > 0
            )  # fmt: skip
        )
        assert wait_for(lambda: not list(c.spool.glob("*.bin")))
    distinct = count(
        admin,
        "select count(distinct (src_addr, src_port)) from flow.flows where src_addr <<= '10.202.0.0/16'",
    )
    assert distinct == 12_000


def test_flows_waiting_in_the_queue_are_written_on_sigterm(
    settings: Settings, admin: psycopg.Connection, tmp_path: Path
) -> None:
    # A long flush interval: the rows are still queued when the collector is told to stop.
    port = free_port()
    with collector(
        settings, tmp_path / "spool", MANGO_FLOW_FLUSH_MS="600000", MANGO_FLOW_BATCH_ROWS="1000000",
        MANGO_METRICS_PORT_FLOWCOLLECTOR=str(port),
    ) as c:  # fmt: skip
        datagrams = [v5_datagram(203, i * 30) for i in range(100)]
        for k in range(0, len(datagrams), CHUNK):
            send(c.port, datagrams[k : k + CHUNK])
            # The chunk is decoded and waits for the writer (the metrics say so), nothing written yet.
            assert wait_for(lambda k=k: received(port) == (k + CHUNK) * 30)  # type: ignore[misc]
        assert stored(admin, 203) == 0
        c.proc.send_signal(signal.SIGTERM)
        assert c.proc.wait(timeout=30) == 0
    assert stored(admin, 203) == 3000

"""The collector against a real exporter: softflowd reads a pcap written here and exports v5, v9, IPFIX.

The collector runs as a real subprocess on a free port against the session's test database; the
stored rows must be the flows of the pcap (addresses, ports, protocol, packets, bytes, times).
The helpers here are shared by the other flow tests.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from db.settings import ROOT, Settings

SOFTFLOWD = shutil.which("softflowd") or "/usr/sbin/softflowd"


@dataclass
class RunningCollector:
    proc: subprocess.Popen[str]
    port: int
    spool: Path
    log: Path  # its standard error: JSON lines
    instance: str  # its name in ``flow.collector_status``, one per test

    def logged(self) -> list[dict[str, Any]]:
        """The log records written so far."""
        lines = self.log.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


@contextmanager
def collector(settings: Settings, spool: Path, **env: str) -> Iterator[RunningCollector]:
    """Start ``python -m agents.flowcollector`` on a free loopback port; SIGTERM it afterwards.

    Its log goes to ``collector.log`` beside the spool directory."""
    environ = dict(os.environ)
    environ.update(
        MANGO_FLOW_LISTEN="127.0.0.1:0",
        MANGO_FLOW_SPOOL=str(spool),
        MANGO_FLOW_FLUSH_MS="200",
        MANGO_FLOW_INSTANCE=f"test-{spool.parent.name}-{spool.name}",
        MANGO_LOG_LEVEL="WARNING",
    )
    environ.update(env)
    log = spool.parent / "collector.log"
    with open(log, "ab") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agents.flowcollector", "--database", settings.dbname],
            cwd=ROOT,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("flowcollector listening on "), line
        port = int(line.rsplit(":", 1)[1])
        yield RunningCollector(proc, port, spool, log, environ["MANGO_FLOW_INSTANCE"])
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def wait_for(check: Callable[[], bool], seconds: float = 20.0) -> bool:
    """Poll ``check`` until it is true or the time is up (bounded)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def count(admin: psycopg.Connection, query: str, params: list[Any] | None = None) -> int:
    row = admin.execute(query, params or []).fetchone()
    return int(row[0]) if row else 0


def write_pcap(
    path: Path, prefix: int, start: float
) -> list[tuple[str, str, int, int, int, int, int, float]]:
    """A pcap with two IPv4 and two IPv6 flows; returns each flow's (src, dst, sport, dport, proto,
    packets, bytes, first packet time) as an exporter counts them (IP lengths)."""
    from scapy.all import IP, TCP, UDP, Ether, IPv6, Raw, wrpcap  # type: ignore[attr-defined]

    specs: list[tuple[str, str, int, int, str, int, int]] = [
        (f"10.{prefix}.0.10", "192.0.2.80", 40001, 80, "tcp", 5, 100),
        (f"10.{prefix}.0.11", "198.51.100.53", 5353, 53, "udp", 3, 20),
        (f"2001:db8:{prefix:x}::10", "2001:db8:ffff::80", 40002, 443, "tcp", 4, 50),
        (f"2001:db8:{prefix:x}::11", "2001:db8:ffff::53", 5354, 53, "udp", 6, 30),
    ]
    packets = []
    expected = []
    for n, (src, dst, sport, dport, proto, count_, size) in enumerate(specs):
        total = 0
        for i in range(count_):
            ip = IPv6(src=src, dst=dst) if ":" in src else IP(src=src, dst=dst)
            if proto == "tcp":
                flags = "S" if i == 0 else ("FA" if i == count_ - 1 else "A")
                l4 = TCP(sport=sport, dport=dport, flags=flags)
            else:
                l4 = UDP(sport=sport, dport=dport)
            pkt = Ether() / ip / l4 / Raw(b"x" * (size * i + 1))
            pkt.time = start + n * 0.25 + i * 0.5
            total += len(pkt[1])
            packets.append(pkt)
        expected.append(
            (src, dst, sport, dport, 6 if proto == "tcp" else 17, count_, total, start + n * 0.25)
        )
    packets.sort(key=lambda p: float(p.time))
    wrpcap(str(path), packets)
    return expected


def softflowd(pcap: Path, port: int, version: int, workdir: Path) -> None:
    subprocess.run(
        [SOFTFLOWD, "-r", str(pcap), "-n", f"127.0.0.1:{port}", "-v", str(version), "-m", "100000", "-d",
         "-c", "none", "-p", str(workdir / f"softflowd-{version}.pid")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize("version", [5, 9, 10])
def test_flows_exported_by_softflowd_are_stored_as_sent(
    settings: Settings, admin: psycopg.Connection, tmp_path: Path, version: int
) -> None:
    prefix = {5: 105, 9: 109, 10: 110}[version]
    start = time.time() - 90
    expected = write_pcap(tmp_path / "flows.pcap", prefix, start)
    if version == 5:  # NetFlow v5 carries IPv4 only
        expected = [e for e in expected if ":" not in e[0]]
    query = (
        "select host(src_addr), host(dst_addr), src_port, dst_port, protocol, packets, bytes,"
        " extract(epoch from flow_start)::float8, extract(epoch from flow_end)::float8, host(exporter), sampling"
        " from flow.flows where src_addr <<= any(%s::inet[]) order by src_addr"
    )
    nets = [f"10.{prefix}.0.0/16", f"2001:db8:{prefix:x}::/48"]
    with collector(settings, tmp_path / "spool") as c:
        softflowd(tmp_path / "flows.pcap", c.port, version, tmp_path)
        assert wait_for(lambda: count(admin, "select count(*) from flow.flows where src_addr <<= any(%s::inet[])",
                                      [nets]) >= len(expected))  # fmt: skip
        rows = admin.execute(query, [nets]).fetchall()
    got = sorted((r[0], r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows)
    assert got == sorted(e[:7] for e in expected)
    by_src = {r[0]: r for r in rows}
    for e in expected:
        row = by_src[e[0]]
        # v9 and IPFIX headers carry whole seconds, so a flow's time is exact only to a second.
        assert abs(row[7] - e[7]) < 2.0
        assert row[8] >= row[7]
        assert row[9] == "127.0.0.1"
        assert row[10] == 1


def test_collector_reports_its_exporters_in_the_status_table(
    settings: Settings, admin: psycopg.Connection, tmp_path: Path
) -> None:
    expected = write_pcap(tmp_path / "flows.pcap", 111, time.time() - 60)
    with collector(settings, tmp_path / "spool") as c:
        softflowd(tmp_path / "flows.pcap", c.port, 9, tmp_path)
        instance = c.instance
        assert wait_for(
            lambda: (
                count(
                    admin,
                    "select coalesce(sum(stored), 0) from flow.collector_status where collector = %s",
                    [instance],
                )
                >= len(expected)
            ),  # fmt: skip
            seconds=30,
        )
    row = admin.execute(
        "select host(exporter), received, stored, dropped, malformed, spooled, last_seen is not null"
        " from flow.collector_status where collector = %s",
        [instance],
    ).fetchone()
    assert row == ("127.0.0.1", len(expected), len(expected), 0, 0, 0, True)

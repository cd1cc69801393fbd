"""What the collector could not store is counted per exporter, in ``flow.collector_status``, in the
metrics and on the data retention page: data sets that come before their template, gaps in the
exporters' sequence numbers (checked against nfcapd), records whose time cannot be read, spool
files the database refuses. Also: the 16-byte microsecond times pmacct sends, read exactly.

The exact cases are NetFlow v5, v9 and IPFIX datagrams built with scapy (its NetFlow layers for the
headers, sets and templates; the records' bytes packed here) and sent over UDP to the collector
running as a subprocess; the real exporters are pmacct (pmacctd's nfprobe reading a pcap),
softflowd and nfreplay, nfcapd is the referee for sequence gaps.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import signal
import socket
import struct
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest
from scapy.layers.netflow import (  # type: ignore[attr-defined]
    NetflowDataflowsetV9,
    NetflowFlowsetV9,
    NetflowHeader,
    NetflowHeaderV5,
    NetflowHeaderV9,
    NetflowHeaderV10,
    NetflowRecordV5,
    NetflowRecordV9,
    NetflowTemplateFieldV9,
    NetflowTemplateV9,
)
from starlette.testclient import TestClient

from agents.flowcollector.collector import Batch, write_spool
from agents.flowcollector.parser import Decoder
from db.settings import Settings
from tests.test_flow_exporters import RunningCollector, collector, count, softflowd, wait_for, write_pcap
from tests.web_helpers import login, make_staff

PMACCTD = shutil.which("pmacctd") or "/usr/sbin/pmacctd"
NFCAPD = shutil.which("nfcapd") or "/usr/bin/nfcapd"
NFREPLAY = shutil.which("nfreplay") or "/usr/bin/nfreplay"
COUNTERS = (
    "received",
    "stored",
    "rejected",
    "unknown_sets",
    "unreadable_times",
    "sequence_gaps",
    "sequence_missing",
)

# ---------------------------------------------------------------------------------------------
# Datagrams


def v5(seq: int, net: int, n: int = 2, uptime: int = 3_600_000, engine: int = 0) -> bytes:
    """A NetFlow v5 export of ``n`` flows from 10.<net>.x.y, numbered from ``seq`` (flows)."""
    now = time.time()
    packet = NetflowHeader(version=5) / NetflowHeaderV5(
        count=n, sysUptime=uptime, unixSecs=int(now), unixNanoSeconds=int(now % 1 * 1e9), flowSequence=seq,
        engineID=engine,
    )  # fmt: skip
    for k in range(n):
        i = seq + k
        packet = packet / NetflowRecordV5(
            src=f"10.{net}.{i >> 8 & 255}.{i & 255}", dst="192.0.2.1", dpkts=2, dOctets=100,
            first=uptime - 5000, last=uptime - 1000, srcport=1024 + k, dstport=443, prot=6,
        )  # fmt: skip
    return bytes(packet)


# sourceIPv4Address, destinationIPv4Address, ports, protocol, packets, bytes, flowStart/EndMilliseconds
FIELDS = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (2, 8), (1, 8), (152, 8), (153, 8)]


def a4(text: str) -> bytes:
    return ipaddress.IPv4Address(text).packed


def record(src: str, port: int, start_ms: int) -> bytes:
    """A record of :data:`FIELDS`."""
    return struct.pack(
        ">4s4sHHBQQQQ", a4(src), a4("192.0.2.9"), port, 53, 17, 1, 80, start_ms, start_ms + 1000
    )


def template_set(version: int, tid: int, fields: Sequence[tuple[int, int]]) -> NetflowFlowsetV9:
    templates = [
        NetflowTemplateV9(
            templateID=tid,
            template_fields=[NetflowTemplateFieldV9(fieldType=f, fieldLength=n) for f, n in fields],
        )
    ]
    return NetflowFlowsetV9(flowSetID=2 if version == 10 else 0, templates=templates)


def data_set(tid: int, records: Sequence[bytes]) -> NetflowDataflowsetV9:
    return NetflowDataflowsetV9(templateID=tid, records=[NetflowRecordV9(fieldValue=r) for r in records])


def ipfix(seq: int, domain: int, *sets: Any, export_time: int | None = None) -> bytes:
    """An IPFIX message; ``seq`` counts the data records sent before it."""
    body = b"".join(bytes(s) for s in sets)
    header = NetflowHeader(version=10) / NetflowHeaderV10(
        length=16 + len(body), ExportTime=int(time.time()) if export_time is None else export_time,
        flowSequence=seq, ObservationDomainID=domain,
    )  # fmt: skip
    return bytes(header) + body


def v9(seq: int, source: int, *sets: Any, uptime: int = 3_600_000) -> bytes:
    """A NetFlow v9 export packet; ``seq`` counts the export packets."""
    packet = NetflowHeader(version=9) / NetflowHeaderV9(
        sysUptime=uptime, unixSecs=int(time.time()), packageSequence=seq, SourceID=source
    )
    for s in sets:
        packet = packet / s
    return bytes(packet)


def send(port: int, *datagrams: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for d in datagrams:
            s.sendto(d, ("127.0.0.1", port))


# ---------------------------------------------------------------------------------------------
# What the collector reports


def status(
    admin: psycopg.Connection, c: RunningCollector, domain: int, exporter: str = "127.0.0.1"
) -> dict[str, int]:
    row = admin.execute(
        f"select {', '.join(COUNTERS)} from flow.collector_status"  # noqa: S608 (constant column names)
        " where collector = %s and exporter = %s and observation_domain = %s",
        [c.instance, exporter, domain],
    ).fetchone()
    return dict(zip(COUNTERS, row, strict=True)) if row else {}


def wait_status(
    admin: psycopg.Connection, c: RunningCollector, domain: int, exporter: str = "127.0.0.1", **want: int
) -> dict[str, int]:
    """Poll the status row until it has the wanted counters; the row as it is then."""
    wait_for(lambda: {k: status(admin, c, domain, exporter).get(k) for k in want} == want, seconds=30)
    return status(admin, c, domain, exporter)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


def metric(text: str, name: str, exporter: str, domain: int) -> float | None:
    m = re.search(rf'^{name}_total{{domain="{domain}",exporter="{re.escape(exporter)}"}} (\S+)$', text, re.M)
    return float(m.group(1)) if m else None


# ---------------------------------------------------------------------------------------------
# Data sets before their template


def test_a_data_set_before_its_template_is_counted_logged_and_shown_in_the_metrics(
    settings: Settings, admin: psycopg.Connection, tmp_path: Path
) -> None:
    now_ms = int(time.time() * 1000)
    early_ipfix = ipfix(
        0, 61, data_set(300, [record("10.61.0.1", 1, now_ms), record("10.61.0.2", 2, now_ms)])
    )
    then_ipfix = ipfix(2, 61, template_set(10, 300, FIELDS), data_set(300, [record("10.61.0.3", 3, now_ms)]))
    early_v9 = v9(1, 62, data_set(301, [record("10.62.0.1", 1, now_ms)]))
    then_v9 = v9(2, 62, template_set(9, 301, FIELDS), data_set(301, [record("10.62.0.2", 2, now_ms)]))
    port = free_port()
    with collector(settings, tmp_path / "spool", MANGO_METRICS_PORT_FLOWCOLLECTOR=str(port)) as c:
        send(c.port, early_ipfix, then_ipfix, early_v9, then_v9)
        # Only the records after the template are received and stored; the set before it is counted.
        assert wait_status(admin, c, 61, stored=1, unknown_sets=1)["received"] == 1
        assert wait_status(admin, c, 62, stored=1, unknown_sets=1)["received"] == 1
        stored = admin.execute(
            "select host(src_addr) from flow.flows where src_addr <<= any('{10.61.0.0/16,10.62.0.0/16}') order by 1"
        ).fetchall()
        assert stored == [("10.61.0.3",), ("10.62.0.2",)]
        text = metrics(port)
        assert metric(text, "mango_flow_unknown_sets", "127.0.0.1", 61) == 1.0
        assert metric(text, "mango_flow_unknown_sets", "127.0.0.1", 62) == 1.0
    logged = [(r["domain"], r["template"]) for r in c.logged() if r.get("kind") == "unknown_set"]
    assert sorted(logged) == [(61, 300), (62, 301)]


# ---------------------------------------------------------------------------------------------
# Sequence numbers


class Nfcapd:
    """nfcapd on a free port, its records echoed (-E) so that a test can wait for them."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        workdir.mkdir()
        self.proc = subprocess.Popen(
            ["stdbuf", "-oL", NFCAPD, "-w", str(workdir), "-b", "127.0.0.1", "-p", str(self.port), "-t", "3600", "-E"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self._read_until(lambda line: "Startup nfcapd" in line)

    def _read_until(self, done: Any) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # ends when nfcapd exits: the test's timeout bounds it
            self.lines.append(line)
            if done(line):
                return
        raise AssertionError("nfcapd stopped: " + "".join(self.lines[-20:]))

    def sequence_errors(self, records: int) -> int:
        """Wait until nfcapd has shown ``records`` flow records, stop it and read its count."""
        seen = sum(line.startswith("Flow Record") for line in self.lines)
        if seen < records:
            state = {"seen": seen}

            def done(line: str) -> bool:
                state["seen"] += line.startswith("Flow Record")
                return state["seen"] >= records

            self._read_until(done)
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=30)
        m = re.search(r"Sequence Errors: (\d+)", out)
        assert m, out[-2000:]
        return int(m.group(1))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def nfcapd(tmp_path: Path) -> Iterator[Nfcapd]:
    n = Nfcapd(tmp_path / "nfcapd")
    yield n
    n.stop()


def test_sequence_gaps_are_counted_per_exporter_and_domain_as_nfcapd_counts_them(
    settings: Settings, admin: psycopg.Connection, tmp_path: Path, nfcapd: Nfcapd
) -> None:
    now_ms = int(time.time() * 1000)
    top = 2**32
    datagrams: list[bytes] = []
    # v5 (flow_sequence counts flows, 2 a datagram): 0, 2, [4 lost], 6, 8
    datagrams += [v5(seq, 71) for seq in (0, 2, 6, 8)]
    # v9 source 72 (package_sequence counts export packets): 1, 2, [3, 4 lost], 5, then around 2**32
    v9_seqs = [1, 2, 5, 6]
    datagrams += [
        v9(seq, 72, template_set(9, 300, FIELDS), data_set(300, [record(f"10.72.0.{i}", i, now_ms)]))
        for i, seq in enumerate(v9_seqs)
    ]
    # IPFIX domain 73 (sequence counts data records, 2 a message): 0, 2, [4 lost], 6, and one more
    # stream (domain 74) that wraps around 2**32 with no gap: 2**32 - 4, 2**32 - 2, 0, 2
    for domain, seqs in ((73, [0, 2, 6]), (74, [top - 4, top - 2, 0, 2])):
        datagrams += [
            ipfix(
                seq,
                domain,
                template_set(10, 300, FIELDS),
                data_set(
                    300, [record(f"10.{domain}.0.{i}", 1, now_ms), record(f"10.{domain}.1.{i}", 2, now_ms)]
                ),
            )  # fmt: skip
            for i, seq in enumerate(seqs)
        ]
    records = 4 * 2 + 4 + 3 * 2 + 4 * 2
    send(nfcapd.port, *datagrams)
    with collector(settings, tmp_path / "spool") as c:
        send(c.port, *datagrams)
        v5_status = wait_status(admin, c, 0, stored=8)
        v9_status = wait_status(admin, c, 72, stored=4)
        ipfix_status = wait_status(admin, c, 73, stored=6)
        wrapped = wait_status(admin, c, 74, stored=8)
    assert (v5_status["sequence_gaps"], v5_status["sequence_missing"]) == (1, 2)  # two flows
    assert (v9_status["sequence_gaps"], v9_status["sequence_missing"]) == (1, 2)  # two export packets
    assert (ipfix_status["sequence_gaps"], ipfix_status["sequence_missing"]) == (1, 2)  # two records
    assert (wrapped["sequence_gaps"], wrapped["sequence_missing"]) == (0, 0)
    assert nfcapd.sequence_errors(records) == 3
    gaps = [(r["domain"], r["missing"]) for r in c.logged() if r.get("kind") == "sequence_gap"]
    assert sorted(gaps) == [(0, 2), (72, 2), (73, 2)]


def test_a_late_datagram_and_an_exporter_restart_are_not_gaps(
    settings: Settings, admin: psycopg.Connection, tmp_path: Path
) -> None:
    now_ms = int(time.time() * 1000)

    def message(seq: int, i: int) -> bytes:
        recs = [record(f"10.75.{i}.1", 1, now_ms), record(f"10.75.{i}.2", 2, now_ms)]
        return ipfix(seq, 75, template_set(10, 300, FIELDS), data_set(300, recs))

    # 0, 2, 6 (a gap of 2), then 4 arrives late into that gap; the exporter restarts at 0 and goes on.
    ipfix_stream = [message(s, i) for i, s in enumerate([0, 2, 6, 4, 8, 0, 2, 4])]
    # v9: the exporter reboots (its uptime starts again) at a sequence number ahead of the expected
    # one: a restart, not a gap.
    v9_stream = [
        v9(
            seq,
            76,
            template_set(9, 300, FIELDS),
            data_set(300, [record(f"10.76.0.{i}", i, now_ms)]),
            uptime=up,
        )
        for i, (seq, up) in enumerate([(10, 3_600_000), (11, 3_601_000), (40, 2_000), (41, 3_000)])
    ]
    with collector(settings, tmp_path / "spool", MANGO_LOG_LEVEL="INFO") as c:
        send(c.port, *ipfix_stream, *v9_stream)
        ipfix_status = wait_status(admin, c, 75, stored=16)
        v9_status = wait_status(admin, c, 76, stored=4)
    assert (ipfix_status["sequence_gaps"], ipfix_status["sequence_missing"]) == (1, 2)
    assert (v9_status["sequence_gaps"], v9_status["sequence_missing"]) == (0, 0)
    restarts = sorted(r["domain"] for r in c.logged() if r.get("kind") == "sequence_restart")
    assert restarts == [75, 76]


def test_real_exporters_leave_no_gaps(
    settings: Settings, admin: psycopg.Connection, tmp_path: Path, nfcapd: Nfcapd
) -> None:
    """softflowd (v5, v9, IPFIX) and nfreplay (replaying what nfcapd captured, as v9) number their
    datagrams as the collector expects: no gap, no unknown set, every time read."""
    expected = write_pcap(tmp_path / "flows.pcap", 112, time.time() - 60)
    with collector(settings, tmp_path / "spool") as c:
        for version in (5, 9, 10):
            softflowd(tmp_path / "flows.pcap", c.port, version, tmp_path)
        softflowd(tmp_path / "flows.pcap", nfcapd.port, 9, tmp_path)
        nfcapd.sequence_errors(len(expected))
        capture = next((tmp_path / "nfcapd").glob("nfcapd.2*"))
        subprocess.run(
            [NFREPLAY, "-r", str(capture), "-H", "127.0.0.1", "-p", str(c.port), "-v", "9"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        # 2 IPv4 flows over v5, 4 flows over v9 and IPFIX each, 4 more replayed by nfreplay
        total = "select coalesce(sum(stored), 0) from flow.collector_status where collector = %s"
        wait_for(lambda: count(admin, total, [c.instance]) >= 2 + 4 + 4 + 4, seconds=30)
        rows = admin.execute(
            "select observation_domain, stored, unknown_sets, unreadable_times, sequence_gaps, malformed"
            " from flow.collector_status where collector = %s",
            [c.instance],
        ).fetchall()
    assert sum(r[1] for r in rows) == 2 + 4 + 4 + 4, rows
    assert all(r[2:] == (0, 0, 0, 0) for r in rows), rows


# ---------------------------------------------------------------------------------------------
# Times


def timeval(t: float) -> bytes:
    """16 bytes as pmacct sends flowStart/EndMicroseconds: seconds and microseconds, 8 bytes each."""
    seconds = int(t)
    return struct.pack(">QQ", seconds, round((t - seconds) * 1e6))


def test_times_in_16_bytes_as_pmacct_sends_them_are_read_to_the_microsecond(
    settings: Settings, admin: psycopg.Connection, tmp_path: Path
) -> None:
    """The datagram as pmacct 1.7 sends IPFIX with ``nfprobe_tstamp_usec: true`` (seen on the wire:
    fields 155 and 154, 16 bytes each, before the counters), built here with scapy."""
    fields = [(155, 16), (154, 16), (1, 8), (2, 8), (8, 4), (12, 4), (7, 2), (11, 2), (4, 1)]
    start = int(time.time()) - 40 + 0.123456
    rec = timeval(start + 2.5) + timeval(start) + struct.pack(">QQ4s4sHHB", 300, 3, a4("10.81.0.1"),
                                                              a4("192.0.2.8"), 40001, 80, 6)  # fmt: skip
    with collector(settings, tmp_path / "spool") as c:
        send(c.port, ipfix(0, 81, template_set(10, 1024, fields), data_set(1024, [rec])))
        got = wait_status(admin, c, 81, stored=1)
    assert got["unreadable_times"] == 0
    row = admin.execute(
        "select extract(epoch from flow_start)::numeric, extract(epoch from flow_end)::numeric, bytes, packets"
        " from flow.flows where src_addr = '10.81.0.1'"
    ).fetchone()
    assert row is not None
    assert (float(row[0]), float(row[1]), row[2], row[3]) == (pytest.approx(start, abs=1e-6),
                                                              pytest.approx(start + 2.5, abs=1e-6), 300, 3)  # fmt: skip


@pytest.mark.parametrize("version", [9, 10])
def test_pmacct_exports_with_microsecond_times_are_stored_exactly(
    settings: Settings, admin: psycopg.Connection, tmp_path: Path, version: int
) -> None:
    prefix = {9: 82, 10: 83}[version]
    start = int(time.time()) - 90 + 0.250321
    expected = write_pcap(tmp_path / "flows.pcap", prefix, start)
    nets = [f"10.{prefix}.0.0/16", f"2001:db8:{prefix:x}::/48"]
    with collector(settings, tmp_path / "spool") as c:
        config = tmp_path / "pmacctd.conf"
        config.write_text(
            f"daemonize: false\npcap_savefile: {tmp_path / 'flows.pcap'}\nplugins: nfprobe\n"
            f"nfprobe_receiver: 127.0.0.1:{c.port}\nnfprobe_version: {version}\nnfprobe_tstamp_usec: true\n"
            f"pidfile: {tmp_path / 'pmacctd.pid'}\n"
        )
        done = subprocess.run([PMACCTD, "-f", str(config)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (
            f"pmacctd exited with {done.returncode}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
        assert wait_for(
            lambda: count(admin, "select count(*) from flow.flows where src_addr <<= any(%s::inet[])", [nets])
            >= len(expected),
            seconds=30,
        )  # fmt: skip
        got = wait_status(admin, c, 0, stored=len(expected))
        rows = admin.execute(
            "select host(src_addr), host(dst_addr), src_port, dst_port, protocol, packets, bytes,"
            " extract(epoch from flow_start)::numeric from flow.flows where src_addr <<= any(%s::inet[])",
            [nets],
        ).fetchall()
    assert (got["unreadable_times"], got["unknown_sets"], got["sequence_gaps"]) == (0, 0, 0)
    assert sorted(r[:7] for r in rows) == sorted(e[:7] for e in expected)
    starts = {r[0]: float(r[7]) for r in rows}
    for e in expected:
        assert starts[e[0]] == pytest.approx(
            e[7], abs=2e-6
        )  # the pcap's microseconds, not the export's second


def test_records_whose_time_cannot_be_read_get_the_export_time_and_are_counted_and_logged(
    settings: Settings, admin: psycopg.Connection, tmp_path: Path
) -> None:
    export_time = int(time.time()) - 30
    no_time = [(8, 4), (12, 4), (2, 8), (1, 8)]
    short_ms = [(8, 4), (12, 4), (2, 8), (1, 8), (152, 4), (153, 4)]  # milliseconds need 8 bytes
    uptime = [(8, 4), (12, 4), (2, 8), (1, 8), (22, 4), (21, 4)]  # no systemInitTimeMilliseconds sent
    body = struct.pack(">4s4sQQ", a4("10.84.0.1"), a4("192.0.2.8"), 1, 60)
    msg = ipfix(
        0, 84, template_set(10, 400, no_time), template_set(10, 401, short_ms), template_set(10, 402, uptime),
        data_set(400, [body]), data_set(401, [body[:4] + a4("192.0.2.9") + body[8:] + bytes(8)]),
        data_set(402, [body[:4] + a4("192.0.2.10") + body[8:] + bytes(8)] * 2),
        export_time=export_time,
    )  # fmt: skip
    with collector(settings, tmp_path / "spool") as c:
        send(c.port, msg)
        got = wait_status(admin, c, 84, stored=4)
    assert got["unreadable_times"] == 4
    times = admin.execute(
        "select distinct extract(epoch from flow_start)::bigint, extract(epoch from flow_end)::bigint"
        " from flow.flows where src_addr = '10.84.0.1'"
    ).fetchall()
    assert times == [(export_time, export_time)]
    logged = sorted(
        r["template"] for r in c.logged() if r.get("kind") == "unreadable_time" and r["domain"] == 84
    )
    assert logged == [400, 401, 402]


# ---------------------------------------------------------------------------------------------
# Spool files the database refuses


def spool_batch(host: str, net: int) -> Batch:
    """A batch as the collector spools it: the rows of a v5 datagram from ``host``."""
    result = Decoder().decode(v5(0, net, n=3), host)
    return Batch(flows=result.flows, rows=result.flow_count, counts={(host, 0): result.flow_count})


def test_a_spool_file_the_database_refuses_is_counted_as_rejected_and_kept(
    settings: Settings, admin: psycopg.Connection, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    refused = spool_batch("192.0.2.91", 91)
    # Written by a collector whose rows had one column less: the database refuses the COPY.
    first = refused.flows[0]
    refused.flows = [struct.pack(">h", struct.unpack_from(">h", first)[0] - 1) + first[2:]]
    write_spool(spool / "00000000000000000001-1-00000001.bin", refused)
    write_spool(spool / "00000000000000000002-1-00000002.bin", spool_batch("192.0.2.92", 92))
    port = free_port()
    with collector(settings, spool, MANGO_METRICS_PORT_FLOWCOLLECTOR=str(port)) as c:
        good = wait_status(admin, c, 0, "192.0.2.92", stored=3)
        bad = wait_status(admin, c, 0, "192.0.2.91", rejected=3)
        assert wait_for(lambda: not list(spool.glob("*.bin")))
        assert metric(metrics(port), "mango_flow_rejected", "192.0.2.91", 0) == 3.0
    assert (good["rejected"], bad["stored"]) == (0, 0)
    assert count(admin, "select count(*) from flow.flows where src_addr <<= '10.91.0.0/16'") == 0
    assert count(admin, "select count(*) from flow.flows where src_addr <<= '10.92.0.0/16'") == 3
    kept = spool / "rejected" / "00000000000000000001-1-00000001.bin"
    assert kept.exists()
    error = kept.with_suffix(".error").read_text(encoding="utf-8")
    assert "22P04" in error and "field count" in error, error
    logged = [r for r in c.logged() if r.get("kind") == "rejected"]
    assert [(r["file"], r["rows"]) for r in logged] == [(str(kept), 3)]


# ---------------------------------------------------------------------------------------------
# The data retention page


def test_the_retention_page_shows_the_new_counters_per_exporter_marked_when_not_zero(
    client: TestClient, admin: psycopg.Connection
) -> None:
    admin.execute(
        "insert into flow.collector_status (collector, exporter, observation_domain, received, stored, rejected,"
        " unknown_sets, unreadable_times, sequence_gaps, sequence_missing, last_seen)"
        " values ('page-test', '198.51.100.31', 7, 900, 880, 20, 5, 12, 4, 17, now()),"
        "        ('page-test', '198.51.100.32', 0, 100, 100, 0, 0, 0, 0, 0, now())"
    )
    try:
        login(client, make_staff(admin, ["admin"], prefix="wc"))
        page = client.get("/retention")
    finally:
        admin.execute("delete from flow.collector_status where collector = 'page-test'")
    assert page.status_code == 200
    rows = dict(re.findall(r'<span class="mono">(198\.51\.100\.3\d)</span>(.*?)</tr>', page.text, re.S))
    lossy, clean = rows["198.51.100.31"], rows["198.51.100.32"]
    for counter, shown in (("rejected", "20"), ("unknown_sets", "5"), ("sequence_gaps", "4")):
        assert f'data-counter="{counter}"><span class="badge state-failed">{shown}</span>' in lossy, counter
    assert 'data-counter="unreadable_times"><span class="badge fin">12</span>' in lossy
    assert re.search(r'data-counter="sequence_gaps">.*?17', lossy, re.S)
    for counter in ("rejected", "unknown_sets", "sequence_gaps", "unreadable_times"):
        assert f'data-counter="{counter}">0</td>' in clean, counter

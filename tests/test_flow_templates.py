"""Template-based exports the collector must understand: NAT events (NEL / IPFIX), options with the
sampling rate, variable-length and enterprise fields, template withdrawal. The datagrams are built
here byte by byte after RFC 7011 / RFC 3954 and Cisco's NEL field list, and sent over UDP to the
collector running as a subprocess."""

from __future__ import annotations

import ipaddress
import socket
import struct
import time
from collections.abc import Sequence
from pathlib import Path

import psycopg

from db.settings import Settings
from tests.test_flow_exporters import collector, count, wait_for


def ipfix(domain: int, sets: list[tuple[int, bytes]], export_time: int | None = None) -> bytes:
    body = b"".join(struct.pack(">HH", sid, 4 + len(data)) + data for sid, data in sets)
    t = int(time.time()) if export_time is None else export_time
    return struct.pack(">HHIII", 10, 16 + len(body), t, 1, domain) + body


def template(tid: int, fields: Sequence[tuple[int, int] | tuple[int, int, int]]) -> bytes:
    out = struct.pack(">HH", tid, len(fields))
    for f in fields:
        if len(f) == 3:  # enterprise element
            out += struct.pack(">HHI", f[0] | 0x8000, f[1], f[2])
        else:
            out += struct.pack(">HH", f[0], f[1])
    return out


def a4(text: str) -> bytes:
    return ipaddress.IPv4Address(text).packed


def send(port: int, *datagrams: bytes) -> None:
    """Send in order: one socket to one socket over loopback keeps the order, and the collector
    decodes datagrams in the order they arrive."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for d in datagrams:
            s.sendto(d, ("127.0.0.1", port))


def test_nat_events_from_ipfix_and_netflow_v9_nel_are_stored(
    settings: Settings, admin: psycopg.Connection, tmp_path: Path
) -> None:
    now_ms = int(time.time() * 1000)
    # IPFIX NAT44 session create: private 100.64.3.4:51000 -> public 203.0.113.9:1034, port block 1024..2047
    fields = [
        (323, 8),
        (230, 1),
        (4, 1),
        (8, 4),
        (7, 2),
        (225, 4),
        (227, 2),
        (12, 4),
        (11, 2),
        (361, 2),
        (362, 2),
    ]
    rec = struct.pack(">QBB4sH4sH4sHHH", now_ms, 1, 6, a4("100.64.3.4"), 51000, a4("203.0.113.9"), 1034,
                      a4("198.51.100.7"), 443, 1024, 2047)  # fmt: skip
    d1 = ipfix(31, [(2, template(300, fields)), (300, rec)])
    # NetFlow v9 NEL (Cisco): port block allocation with a start and a number of ports
    v9_fields = [(323, 8), (230, 1), (8, 4), (225, 4), (361, 2), (364, 2)]
    v9_tmpl = struct.pack(">HH", 260, len(v9_fields)) + b"".join(struct.pack(">HH", *f) for f in v9_fields)
    v9_rec = struct.pack(">QB4s4sHH", now_ms, 13, a4("100.64.3.5"), a4("203.0.113.10"), 4096, 512)
    v9_body = struct.pack(">HH", 0, 4 + len(v9_tmpl)) + v9_tmpl + struct.pack(">HH", 260, 4 + len(v9_rec) + 2)
    v9 = struct.pack(">HHIIII", 9, 2, 5000, int(time.time()), 1, 32) + v9_body + v9_rec + b"\x00\x00"
    with collector(settings, tmp_path / "spool") as c:
        send(c.port, d1, v9)
        assert wait_for(
            lambda: (
                count(admin, "select count(*) from flow.nat_events where observation_domain in (31, 32)") == 2
            )
        )
    rows = admin.execute(
        "select observation_domain, nat_event, protocol, host(src_addr), src_port, host(post_src_addr), post_src_port,"
        " host(dst_addr), dst_port, port_range_start, port_range_end,"
        " abs(extract(epoch from event_time) * 1000 - %s) < 1"
        " from flow.nat_events where observation_domain in (31, 32) order by observation_domain",
        [now_ms],
    ).fetchall()
    assert rows == [
        (31, 1, 6, "100.64.3.4", 51000, "203.0.113.9", 1034, "198.51.100.7", 443, 1024, 2047, True),
        (32, 13, None, "100.64.3.5", None, "203.0.113.10", None, None, None, 4096, 4607, True),
    ]


def test_sampling_rate_from_an_options_record_is_stored_with_the_exporters_flows(
    settings: Settings, admin: psycopg.Connection, tmp_path: Path
) -> None:
    opt_tmpl = struct.pack(">HHH", 400, 3, 1) + struct.pack(">HHHHHH", 149, 4, 305, 4, 306, 4)
    opt_rec = struct.pack(">III", 41, 1, 99)  # 1 packet sampled, 99 skipped: 1 in 100
    flow_fields = [(152, 8), (153, 8), (8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (2, 8), (1, 8)]
    start_ms = int(time.time() * 1000) - 30_000
    rec = struct.pack(
        ">QQ4s4sHHBQQ", start_ms, start_ms + 2000, a4("10.41.0.1"), a4("192.0.2.9"), 1111, 53, 17, 3, 240
    )
    msg = ipfix(41, [(3, opt_tmpl), (400, opt_rec), (2, template(401, flow_fields)), (401, rec)])
    with collector(settings, tmp_path / "spool") as c:
        send(c.port, msg)
        assert wait_for(
            lambda: count(admin, "select count(*) from flow.flows where src_addr = '10.41.0.1'") == 1
        )
        instance = c.instance
        assert wait_for(
            lambda: (
                count(
                    admin,
                    "select coalesce(max(sampling_interval), 0) from flow.collector_status"
                    " where collector = %s and observation_domain = 41",
                    [instance],
                )
                == 100
            )  # fmt: skip
        )
    row = admin.execute(
        "select sampling, packets, bytes, extract(epoch from flow_start) * 1000, extract(epoch from flow_end) * 1000"
        " from flow.flows where src_addr = '10.41.0.1'"
    ).fetchone()
    assert row == (100, 3, 240, start_ms, start_ms + 2000)


def test_variable_length_and_enterprise_fields_and_template_withdrawal(
    settings: Settings, admin: psycopg.Connection, tmp_path: Path
) -> None:
    # sourceIPv6Address, destinationIPv6Address, an enterprise element, applicationName (variable length),
    # packets, bytes, flowStartSeconds, flowEndSeconds
    fields: list[tuple[int, int] | tuple[int, int, int]] = [
        (27, 16), (28, 16), (7, 2), (11, 2), (4, 1), (100, 4, 29305), (96, 65535), (2, 4), (1, 4), (150, 4), (151, 4),
    ]  # fmt: skip
    t0 = int(time.time()) - 20
    src, dst = (
        ipaddress.IPv6Address("2001:db8:42::1").packed,
        ipaddress.IPv6Address("2001:db8:ffff::2").packed,
    )

    def rec(port: int, name: bytes) -> bytes:
        var = bytes([len(name)]) + name if len(name) < 255 else b"\xff" + struct.pack(">H", len(name)) + name
        return (
            src + dst + struct.pack(">HHBI", port, 443, 6, 7) + var + struct.pack(">IIII", 5, 500, t0, t0 + 3)
        )

    records = rec(1001, b"https") + rec(1002, b"x" * 300) + rec(1003, b"")
    m1 = ipfix(42, [(2, template(500, fields)), (500, records)])
    withdraw = ipfix(42, [(2, struct.pack(">HH", 500, 0))])
    after = ipfix(42, [(500, rec(1004, b"dns"))])  # no template any more: not stored
    with collector(settings, tmp_path / "spool") as c:
        send(c.port, m1, withdraw, after)
        assert wait_for(
            lambda: count(admin, "select count(*) from flow.flows where src_addr = '2001:db8:42::1'") == 3
        )
        # The record after the withdrawal was decoded and dropped: counted as a set of no known template.
        assert wait_for(
            lambda: (
                count(
                    admin,
                    "select coalesce(sum(unknown_sets), 0) from flow.collector_status"
                    " where collector = %s and observation_domain = 42",
                    [c.instance],
                )
                == 1
            )  # fmt: skip
        )
    rows = admin.execute(
        "select src_port, dst_port, protocol, packets, bytes, extract(epoch from flow_start)::bigint,"
        " extract(epoch from flow_end)::bigint from flow.flows where src_addr = '2001:db8:42::1' order by src_port"
    ).fetchall()
    assert rows == [(p, 443, 6, 5, 500, t0, t0 + 3) for p in (1001, 1002, 1003)]

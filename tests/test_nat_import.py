"""NAT translation logs (syslog files) imported into flow.nat_events: `mango nat import`.

The sample files in tests/fixtures/natlog are dated November 2025; the tests that import them run
in a rolled-back transaction with a retention period long enough to keep them.
"""

from __future__ import annotations

import gzip
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from agents.flowcollector.natlog import NatLogError, import_file
from db.settings import ROOT, Settings

FIXTURES = ROOT / "tests" / "fixtures" / "natlog"
COLUMNS = (
    "event_time, nat_event, protocol, host(src_addr), src_port, host(dst_addr), dst_port, host(post_src_addr),"
    " post_src_port, host(post_dst_addr), post_dst_port, port_range_start, port_range_end, host(exporter)"
)


@pytest.fixture
def nat(db: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """The test's transaction, keeping NAT events for 10 years, the longest period (the samples are from 2025)."""
    db.execute("select flow.set_retention(interval '10 years')")
    yield db


def events(conn: psycopg.Connection, private_net: str) -> list[tuple[Any, ...]]:
    return conn.execute(
        f"select {COLUMNS} from flow.nat_events"  # noqa: S608 (a constant column list)
        " where src_addr <<= %(net)s::inet or post_dst_addr <<= %(net)s::inet order by event_time, nat_event",
        {"net": private_net},
    ).fetchall()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_conntrack_events_become_session_creates_and_deletes(nat: psycopg.Connection) -> None:
    result = import_file(nat, FIXTURES / "conntrack.log")
    assert (result.format, result.lines, result.events, result.ignored, result.rejected) == (
        "conntrack",
        6,
        4,
        2,
        0,
    )
    assert events(nat, "10.250.0.0/24") == [
        (utc("2025-11-20 13:00:00.123456"), 1, 6, "10.250.0.5", 51234, "192.0.2.80", 443, "203.0.113.7", 40000,
         "192.0.2.80", 443, None, None, "0.0.0.0"),
        (utc("2025-11-20 13:00:03.5"), 1, 17, "10.250.0.6", 5353, "192.0.2.53", 53, "203.0.113.7", 40001,
         "192.0.2.53", 53, None, None, "0.0.0.0"),
        # ICMP: the identifier stands for the ports
        (utc("2025-11-20 13:00:04"), 1, 1, "10.250.0.6", 4242, "192.0.2.1", 4242, "203.0.113.7", 61000,
         "192.0.2.1", 61000, None, None, "0.0.0.0"),
        (utc("2025-11-20 13:01:30.654321"), 2, 6, "10.250.0.5", 51234, "192.0.2.80", 443, "203.0.113.7", 40000,
         "192.0.2.80", 443, None, None, "0.0.0.0"),
    ]  # fmt: skip
    # [UPDATE] and the untranslated connection are ignored, not stored.
    assert events(nat, "198.51.100.0/24") == []
    row = nat.execute(
        "select file_name, format, lines, events, ignored, rejected, first_event, last_event, finished_at is not null"
        "  from flow.nat_imports where id = %s",
        [result.import_id],
    ).fetchone()
    assert row == (
        "conntrack.log", "conntrack", 6, 4, 2, 0, utc("2025-11-20 13:00:00.123456"), utc("2025-11-20 13:01:30.654321"),
        True,
    )  # fmt: skip


def test_conntrack_lines_in_syslog_take_the_syslog_time_and_host(nat: psycopg.Connection) -> None:
    result = import_file(nat, FIXTURES / "conntrack_syslog.log", year=2025)
    assert (result.events, result.rejected) == (2, 0)
    rows = events(nat, "10.250.0.8/32")
    # RFC 5424 with its offset (+01:00); RFC 3164 without a year or zone: Prague time of 2025.
    assert [(r[0], r[1], r[-1]) for r in rows] == [
        (utc("2025-11-20 13:00:10.5"), 1, "192.0.2.252"),
        (utc("2025-11-20 13:01:10"), 2, "192.0.2.252"),
    ]


def test_cisco_asa_translations_are_stored_and_other_messages_ignored(nat: psycopg.Connection) -> None:
    result = import_file(nat, FIXTURES / "asa.log", "asa", year=2025, zone="Europe/Prague")
    assert (result.events, result.ignored, result.rejected) == (6, 1, 0)
    assert events(nat, "10.250.1.0/24") == [
        (utc("2025-11-20 13:00:01"), 1, 6, "10.250.1.5", 51000, None, None, "203.0.113.8", 32000, None, None,
         None, None, "192.0.2.254"),
        (utc("2025-11-20 13:00:02"), 1, 17, "10.250.1.6", 5353, None, None, "203.0.113.8", 32001, None, None,
         None, None, "192.0.2.254"),
        (utc("2025-11-20 13:00:03"), 1, 1, "10.250.1.6", 1, None, None, "203.0.113.8", 21505, None, None,
         None, None, "192.0.2.254"),
        (utc("2025-11-20 13:00:31"), 2, 6, "10.250.1.5", 51000, None, None, "203.0.113.8", 32000, None, None,
         None, None, "192.0.2.254"),
        # 305009: an address translation without ports
        (utc("2025-11-20 13:01:00"), 1, None, "10.250.1.9", None, None, None, "203.0.113.9", None, None, None,
         None, None, "192.0.2.254"),
        # FTD with its own time stamp (with a year) and no host
        (utc("2025-11-20 13:01:05"), 1, 6, "10.250.1.7", 40000, None, None, "203.0.113.8", 32002, None, None,
         None, None, "0.0.0.0"),
    ]  # fmt: skip


def test_juniper_port_blocks_are_allocations_and_releases_with_their_range(nat: psycopg.Connection) -> None:
    result = import_file(nat, FIXTURES / "juniper.log", exporter="192.0.2.250")
    assert (result.format, result.events, result.ignored, result.rejected) == ("juniper", 4, 1, 0)
    rows = nat.execute(
        "select event_time, nat_event, host(src_addr), host(post_src_addr), port_range_start, port_range_end,"
        "       host(exporter)"
        "  from flow.nat_events where post_src_addr in ('203.0.113.10', '203.0.113.11')"
        "   and exporter = '192.0.2.250' order by event_time"
    ).fetchall()
    # The services PIC's own time stamp (UTC), not the relay's; the interim ACTIVE is an allocation.
    # natEvent as IANA numbers it: 16 port block allocation, 17 port block de-allocation.
    assert rows == [
        (utc("2025-11-20 13:05:00"), 16, "10.250.2.5", "203.0.113.10", 1024, 1279, "192.0.2.250"),
        (utc("2025-11-20 13:06:00"), 16, "2001:db8:64::5", "203.0.113.11", 2048, 2111, "192.0.2.250"),
        (utc("2025-11-20 13:35:00"), 16, "10.250.2.5", "203.0.113.10", 1024, 1279, "192.0.2.250"),
        (utc("2025-11-20 14:05:00"), 17, "10.250.2.5", "203.0.113.10", 1024, 1279, "192.0.2.250"),
    ]


def test_an_imported_port_block_answers_a_lawful_query_for_a_public_port(nat: psycopg.Connection) -> None:
    import_file(nat, FIXTURES / "juniper.log", exporter="192.0.2.250")
    rows = nat.execute(
        "select host(private_ip), host(public_ip), public_port_first, public_port_last, nat_start, nat_end"
        "  from flow.lawful_subscribers('203.0.113.10', 1100,"
        "       tstzrange('2025-11-20 13:30:00+00', '2025-11-20 13:40:00+00'))"
        " where source = 'nat'"
    ).fetchall()
    # The allocation at 13:05 and its release at 14:05 pair into one mapping of the whole block.
    assert rows == [
        ("10.250.2.5", "203.0.113.10", 1024, 1279, utc("2025-11-20 13:05:00"), utc("2025-11-20 14:05:00")),
    ]


def test_mikrotik_firewall_log_gives_source_and_destination_nat(nat: psycopg.Connection) -> None:
    result = import_file(nat, FIXTURES / "mikrotik.log", year=2025)
    assert (result.format, result.events, result.ignored, result.rejected) == ("mikrotik", 3, 1, 0)
    assert events(nat, "10.250.3.0/24") == [
        (utc("2025-11-20 13:10:00"), 1, 6, "10.250.3.5", 51000, "192.0.2.80", 443, "203.0.113.12", 51000,
         "192.0.2.80", 443, None, None, "192.0.2.253"),
        (utc("2025-11-20 13:10:01"), 1, 1, "10.250.3.6", None, "192.0.2.1", None, "203.0.113.12", None,
         "192.0.2.1", None, None, None, "192.0.2.253"),
        # destination NAT (a port forward): the private address is the translated destination
        (utc("2025-11-20 13:10:03"), 1, 6, "192.0.2.99", 40000, "203.0.113.12", 8080, "192.0.2.99", 40000,
         "10.250.3.7", 80, None, None, "192.0.2.253"),
    ]  # fmt: skip


def test_events_go_into_the_partition_of_their_day(nat: psycopg.Connection) -> None:
    import_file(nat, FIXTURES / "conntrack.log")
    assert nat.execute(
        "select distinct tableoid::regclass::text from flow.nat_events where src_addr <<= '10.250.0.0/24'"
    ).fetchall() == [("flow.nat_events_p20251120",)]


def test_bad_lines_are_counted_and_reported_with_their_numbers(nat: psycopg.Connection) -> None:
    result = import_file(nat, FIXTURES / "bad_lines.log")
    assert (result.lines, result.events, result.ignored, result.rejected) == (6, 2, 1, 3)
    assert [number for number, _ in result.bad_lines] == [2, 3, 4]
    assert "not a conntrack event line" in result.bad_lines[0][1]
    assert "'10.250.4.999' is not an IP address" in result.bad_lines[2][1]
    summary = result.summary()
    assert "3 rejected" in summary and "\n  line 2: " in summary and "\n  line 4: " in summary
    assert [r[1] for r in events(nat, "10.250.4.0/24")] == [1, 2]


def test_a_file_without_a_recognisable_line_is_an_error_naming_it(
    nat: psycopg.Connection, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.log"
    empty.write_text("")
    before = nat.execute("select count(*) from flow.nat_imports").fetchone()
    for path, fmt in ((FIXTURES / "unknown.log", "auto"), (empty, "auto"), (FIXTURES / "asa.log", "juniper")):
        with pytest.raises(NatLogError, match=str(path.name)):
            import_file(nat, path, fmt)
    assert nat.execute("select count(*) from flow.nat_imports").fetchone() == before


def test_second_import_of_the_same_file_creates_nothing(nat: psycopg.Connection, tmp_path: Path) -> None:
    first = import_file(nat, FIXTURES / "conntrack.log")
    assert first.events == 4
    count = nat.execute("select count(*) from flow.nat_events").fetchone()
    again = import_file(nat, FIXTURES / "conntrack.log")
    # The same content compressed under another name is the same file.
    packed = tmp_path / "conntrack.log.1.gz"
    packed.write_bytes(gzip.compress((FIXTURES / "conntrack.log").read_bytes()))
    renamed = import_file(nat, packed)
    for result in (again, renamed):
        assert result.imported_before is not None and result.import_id is None
        assert result.events == 0
        assert "imported before (conntrack.log" in result.summary()
    assert nat.execute("select count(*) from flow.nat_events").fetchone() == count
    assert nat.execute(
        "select count(*) from flow.nat_imports where file_name like 'conntrack.log%%'"
    ).fetchone() == (1,)


def test_events_older_than_the_retention_period_are_not_stored(db: psycopg.Connection) -> None:
    db.execute("select flow.set_retention(interval '6 months')")
    result = import_file(db, FIXTURES / "juniper.log")  # November 2025: over a year ago
    assert (result.events, result.expired, result.ignored) == (0, 4, 1)
    assert "4 older than the retention period not stored" in result.summary()
    assert db.execute("select count(*) from flow.nat_events where src_addr = '10.250.2.5'").fetchone() == (0,)


def test_a_date_without_a_year_takes_the_file_year_and_rolls_over_into_january(
    nat: psycopg.Connection, tmp_path: Path
) -> None:
    log = tmp_path / "asa-newyear.log"
    log.write_text(
        "Dec 31 23:59:59 192.0.2.254 %ASA-6-305011: Built dynamic TCP translation"
        " from inside:10.250.5.5/51000 to outside:203.0.113.15/32000\n"
        "Jan  1 00:00:30 192.0.2.254 %ASA-6-305012: Teardown dynamic TCP translation"
        " from inside:10.250.5.5/51000 to outside:203.0.113.15/32000 duration 0:00:31\n"
    )
    written = datetime(2025, 1, 1, 6, 0, tzinfo=UTC).timestamp()  # rotated on New Year's morning
    os.utime(log, (written, written))
    result = import_file(nat, log, zone="UTC")
    assert result.events == 2
    assert [(r[0], r[1]) for r in events(nat, "10.250.5.0/24")] == [
        (utc("2024-12-31 23:59:59"), 1),
        (utc("2025-01-01 00:00:30"), 2),
    ]


def run_mango(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"DATABASE_URL": settings.database_url, "MANGO_VAR": str(settings.var_dir), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "mango.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_mango_nat_import_command_imports_once_and_names_files_it_cannot_read(
    settings: Settings, admin: psycopg.Connection, tmp_path: Path
) -> None:
    # A file of its own (fresh time stamps, random ports): committed, so it must be new content.
    now = time.time() - 600
    port = random.randrange(20000, 60000)
    log = tmp_path / "conntrack-today.log"
    log.write_text(
        f"[{now:.6f}]  [NEW] tcp 6 120 SYN_SENT src=10.250.9.5 dst=192.0.2.80 sport=51000 dport=443"
        f" [UNREPLIED] src=192.0.2.80 dst=203.0.113.250 sport=443 dport={port}\n"
        f"[{now + 60:.6f}] [DESTROY] tcp 6 src=10.250.9.5 dst=192.0.2.80 sport=51000 dport=443"
        f" src=192.0.2.80 dst=203.0.113.250 sport=443 dport={port}\n"
    )
    empty = tmp_path / "empty.log"
    empty.write_text("")

    first = run_mango(settings, "nat", "import", str(log), "--exporter", "192.0.2.249")
    assert first.returncode == 0, first.stderr
    assert f"{log}: conntrack, 2 lines: 2 events stored, 0 ignored, 0 rejected" in first.stdout
    stored = admin.execute(
        "select nat_event, host(exporter) from flow.nat_events where post_src_addr = '203.0.113.250'"
        " and post_src_port = %s order by event_time",
        [port],
    ).fetchall()
    assert stored == [(1, "192.0.2.249"), (2, "192.0.2.249")]

    second = run_mango(settings, "nat", "import", str(empty), str(log))
    assert second.returncode == 1
    assert f"error: {empty}: no line in a known NAT log format" in second.stderr
    assert f"{log}: imported before (conntrack-today.log" in second.stdout
    assert admin.execute(
        "select count(*) from flow.nat_events where post_src_addr = '203.0.113.250' and post_src_port = %s",
        [port],
    ).fetchone() == (2,)

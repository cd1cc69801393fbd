"""Asterisk call records (Master.csv) imported into billing.calls: `mango billing cdr import`.

The sample tests/fixtures/cdr/Master.csv is what cdr_csv writes (text in double quotes with quotes
doubled inside, numbers bare, an unset answer time as an empty field; 16 to 18 fields), with five
bad lines among 36. Each test imports into an operator of its own, through the real command.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from db.settings import ROOT, Settings

MASTER = ROOT / "tests" / "fixtures" / "cdr" / "Master.csv"
BAD_LINES = [
    (11, None, "not a record of Master.csv: a quoted field is not closed or a quote stands inside a bare field"),
    (22, "start", 'not a time (YYYY-MM-DD HH:MM:SS): "2026-11-31 10:00:00"'),
    (23, "billsec", 'not a whole number of seconds: "sixty"'),
    (34, None, "15 fields; a record of Master.csv has 16 (17 with uniqueid, 18 with userfield, 21 with the newer columns)"),
    (35, "disposition", 'not a disposition of Asterisk (ANSWERED, NO ANSWER, BUSY, FAILED, CONGESTION): "ANSWER"'),
]  # fmt: skip


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


@pytest.fixture
def operator(admin: psycopg.Connection) -> str:
    """A new operator (Europe/Prague) for the test's imports; its code."""
    made = admin.execute("select tests.make_operator()").fetchone()
    assert made is not None
    row = admin.execute("select code from crm.operators where id = %s", [made[0]]).fetchone()
    assert row is not None
    return str(row[0])


def counts(admin: psycopg.Connection, operator: str) -> tuple[int, int, int]:
    row = admin.execute(
        "select (select count(*) from billing.cdr_imports i where i.operator_id = o.id),"
        "       (select count(*) from billing.calls c where c.operator_id = o.id),"
        "       (select count(*) from billing.cdr_import_errors e join billing.cdr_imports i on i.id = e.import_id"
        "         where i.operator_id = o.id)"
        "  from crm.operators o where o.code = %s",
        [operator],
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def test_good_lines_of_master_csv_become_calls_in_one_import(
    settings: Settings, admin: psycopg.Connection, operator: str
) -> None:
    done = run_mango(settings, "billing", "cdr", "import", str(MASTER), "--operator", operator)
    assert done.returncode == 2, done.stderr  # imported, with bad lines
    assert "Master.csv: import " in done.stdout
    assert "36 lines, 31 calls imported, 0 known from an earlier file, 5 bad" in done.stdout
    row = admin.execute(
        "select i.file_name, i.sha256 = sha256(%s), i.lines, i.calls, i.duplicates, i.bad_lines, i.time_zone,"
        "       i.first_call, i.last_call"
        "  from billing.cdr_imports i join crm.operators o on o.id = i.operator_id where o.code = %s",
        [MASTER.read_bytes(), operator],
    ).fetchone()
    assert row == (
        "Master.csv", True, 36, 31, 0, 5, "Europe/Prague",
        datetime(2026, 11, 2, 7, 15, 3, tzinfo=UTC), datetime(2026, 11, 24, 10, 11, 11, tzinfo=UTC),
    )  # fmt: skip
    # Line 1: quotes doubled inside the caller id; local times of Prague (UTC+1 in November);
    # the paying numbers and the called number derived once.
    first = admin.execute(
        "select c.clid, c.start_at, c.answer_at, c.end_at, c.duration, c.billsec, c.disposition, c.uniqueid,"
        "       c.account_number, c.calling_number, c.called_number"
        "  from billing.calls c join crm.operators o on o.id = c.operator_id where o.code = %s and c.line_no = 1",
        [operator],
    ).fetchone()
    assert first == (
        '"Jan Novák" <532100001>',
        datetime(2026, 11, 2, 7, 15, 3, tzinfo=UTC), datetime(2026, 11, 2, 7, 15, 9, tzinfo=UTC),
        datetime(2026, 11, 2, 7, 19, 41, tzinfo=UTC),
        278, 272, "ANSWERED", "1793000001.2001", "+420532100001", "+420532100001", "420602123456",
    )  # fmt: skip
    # An unanswered call has no answer time; an international number keeps its digits; a
    # 17-field record (no userfield) is read too.
    rows = admin.execute(
        "select c.line_no, c.answer_at is null, c.called_number, c.uniqueid"
        "  from billing.calls c join crm.operators o on o.id = c.operator_id"
        " where o.code = %s and c.line_no in (4, 8, 36) order by c.line_no",
        [operator],
    ).fetchall()
    assert rows == [
        (4, False, "421905123456", "1793000004.2004"),
        (8, True, "420777000111", "1793000008.2008"),
        (36, False, "420602123456", "1793099901.9001"),
    ]


def test_bad_lines_are_reported_with_their_number_and_field(
    settings: Settings, admin: psycopg.Connection, operator: str
) -> None:
    done = run_mango(settings, "billing", "cdr", "import", str(MASTER), "--operator", operator)
    assert done.returncode == 2
    for line_no, field, message in BAD_LINES:
        where = f"field {field}: " if field else ""
        assert f"Master.csv:{line_no}: {where}{message}" in done.stderr
    stored = admin.execute(
        "select e.line_no, e.field, e.message from billing.cdr_import_errors e"
        "  join billing.cdr_imports i on i.id = e.import_id join crm.operators o on o.id = i.operator_id"
        " where o.code = %s order by e.line_no",
        [operator],
    ).fetchall()
    assert stored == BAD_LINES
    # The bad lines are not calls; the good ones around them are.
    lines = admin.execute(
        "select array_agg(c.line_no order by c.line_no) from billing.calls c"
        "  join crm.operators o on o.id = c.operator_id where o.code = %s",
        [operator],
    ).fetchone()
    assert lines is not None
    assert lines[0] == [n for n in range(1, 37) if n not in {11, 22, 23, 34, 35}]


def test_same_file_twice_creates_nothing(
    settings: Settings, admin: psycopg.Connection, operator: str, tmp_path: Path
) -> None:
    first = run_mango(settings, "billing", "cdr", "import", str(MASTER), "--operator", operator)
    assert first.returncode == 2
    assert counts(admin, operator) == (1, 31, 5)
    # The same content under another name is the same file.
    copy = tmp_path / "Master-copy.csv"
    shutil.copy(MASTER, copy)
    again = run_mango(settings, "billing", "cdr", "import", str(MASTER), str(copy), "--operator", operator)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("imported before (import ") == 2
    assert again.stderr == ""
    assert counts(admin, operator) == (1, 31, 5)


def test_a_grown_file_imports_only_its_new_records(
    settings: Settings, admin: psycopg.Connection, operator: str, tmp_path: Path
) -> None:
    # Master.csv only grows: the next copy repeats every record and adds one.
    grown = tmp_path / "Master.csv"
    grown.write_bytes(
        MASTER.read_bytes()
        + b'"532100001","532100001","245123456","from-customers","""Jan Nov\xc3\xa1k"" <532100001>",'
        b'"PJSIP/532100001-1","PJSIP/trunk-cetin-1","Dial","PJSIP/245123456@trunk-cetin,60,Tt",'
        b'"2026-11-26 09:00:00","2026-11-26 09:00:04","2026-11-26 09:02:04",124,120,"ANSWERED","DOCUMENTATION",'
        b'"1793000031.2031",""\n'
    )
    assert (
        run_mango(settings, "billing", "cdr", "import", str(MASTER), "--operator", operator).returncode == 2
    )
    done = run_mango(settings, "billing", "cdr", "import", str(grown), "--operator", operator)
    assert done.returncode == 2
    assert "37 lines, 1 calls imported, 31 known from an earlier file, 5 bad" in done.stdout
    assert counts(admin, operator) == (2, 32, 10)


def test_a_file_that_is_not_utf8_is_refused_naming_its_line(
    settings: Settings, admin: psycopg.Connection, operator: str, tmp_path: Path
) -> None:
    latin2 = tmp_path / "Master-latin2.csv"
    data = MASTER.read_bytes().splitlines(keepends=True)
    data[2] = data[2].replace("Novák".encode(), "Novák".encode("iso8859-2"))
    latin2.write_bytes(b"".join(data))
    done = run_mango(settings, "billing", "cdr", "import", str(latin2), "--operator", operator)
    assert done.returncode == 1
    assert "error: Master-latin2.csv: line 3: not UTF-8 text (byte 0xe1); nothing imported" in done.stderr
    assert counts(admin, operator) == (0, 0, 0)


def test_an_unknown_operator_is_named(settings: Settings) -> None:
    done = run_mango(settings, "billing", "cdr", "import", str(MASTER), "--operator", "no-such-operator")
    assert done.returncode == 1
    assert "error: there is no operator 'no-such-operator'" in done.stderr

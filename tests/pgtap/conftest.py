"""Collect every tests/pgtap/**/*.sql file as one pytest item and run it with psql.

A file is `begin; select plan(n); … select * from finish(); rollback;` (see CONVENTIONS.md). It
runs against the session's test database as the superuser; the file switches role itself
(`call tests.as_staff('{billing}')`). The item fails when psql fails (an error outside an
assertion), when any assertion is `not ok`, or when the plan does not match what ran, and shows
the TAP output with pgTAP's diagnostics.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from db.settings import Settings

PLAN = re.compile(r"^1\.\.(\d+)")
RESULT = re.compile(r"^(not ok|ok)\s+(\d+)\b(.*)$")


@dataclass
class TapResult:
    planned: int | None = None
    ran: list[int] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        out = list(self.failed)
        if self.planned is None:
            out.append("no plan: the file must call plan(n)")
        elif self.planned != len(self.ran):
            out.append(f"planned {self.planned} tests but ran {len(self.ran)}")
        if self.ran != list(range(1, len(self.ran) + 1)):
            out.append(f"tests out of sequence: {self.ran}")
        return out


def parse_tap(output: str) -> TapResult:
    """Read pgTAP's output (one TAP line per row, as psql prints it unaligned and tuples-only)."""
    result = TapResult()
    for raw in output.splitlines():
        line = raw.strip()
        plan = PLAN.match(line)
        if plan:
            result.planned = int(plan.group(1))
            continue
        test = RESULT.match(line)
        if test:
            result.ran.append(int(test.group(2)))
            todo = "# todo" in test.group(3).lower()
            if test.group(1) == "not ok" and not todo:
                result.failed.append(line)
    return result


class PgTapError(Exception):
    def __init__(self, problems: list[str], output: str) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
        self.output = output


def run_pgtap_file(settings: Settings, path: Path) -> str:
    """Run one pgTAP file with psql; return its TAP output or raise PgTapError."""
    psql = shutil.which("psql") or "psql"
    proc = subprocess.run(
        [psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-f", str(path), settings.admin_conninfo()],
        capture_output=True,
        text=True,
        env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning", "PGAPPNAME": "pgtap"},
        check=False,
    )
    output = proc.stdout + ("\n" + proc.stderr if proc.stderr.strip() else "")
    result = parse_tap(proc.stdout)
    problems = result.problems
    if proc.returncode != 0:
        problems = [f"psql exited with {proc.returncode}: {proc.stderr.strip()}", *problems]
    if problems:
        raise PgTapError(problems, output)
    return output


def _pgtap_test(path: Path) -> Callable[[Settings], None]:
    def test(settings: Settings) -> None:
        failure: PgTapError | None = None
        try:
            run_pgtap_file(settings, path)
        except PgTapError as err:
            failure = err
        if failure is not None:
            report = [f"pgTAP {path.name} failed:", *failure.problems, "", "TAP output:", failure.output]
            pytest.fail("\n".join(report), pytrace=False)

    test.__doc__ = f"pgTAP file {path.name}"
    return test


class PgTapItem(pytest.Function):
    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"pgtap {self.path.relative_to(self.config.rootpath)}"


class PgTapFile(pytest.File):
    """One pgTAP file: a single test function that takes the session's `settings` fixture."""

    def collect(self) -> Iterator[pytest.Item]:
        yield PgTapItem.from_parent(self, name=self.path.stem, callobj=_pgtap_test(self.path))


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.suffix == ".sql" and "pgtap" in file_path.parts:
        return PgTapFile.from_parent(parent, path=file_path)
    return None

"""Background jobs (PLT-4): the registry of job kinds, running one job, submitting and listing.

A job kind is data in the database (``bus.job_kinds``: its title, who may submit it, whether it is
financial, its parameters and their types, all checked by ``bus.submit_job``) and a Python function
that runs it, registered with :func:`job`::

    @job("maintenance.purge_sessions")
    def purge_sessions(ctx: JobContext) -> dict[str, Any]:
        ctx.progress(0.5, "half way")
        return {"deleted": 12}

The scheduler agent claims queued jobs with ``bus.claim_job`` (financial jobs exclude each other:
the database guarantees it, even with several schedulers), runs the function with a
:class:`JobContext` and records the result or the error with ``bus.finish_job``. Progress goes
through ``bus.job_progress`` on a connection of its own, committed at once, so the web client shows
it while the job runs. Job kinds live in the modules of ``BUILTIN_JOB_MODULES`` and in the modules
named by ``MANGO_JOB_MODULES`` (comma-separated), which the scheduler imports at start.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from importlib import import_module
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from agents.bus import Runner, error_text
from db.settings import Settings

log = logging.getLogger("mango.jobs")

BUILTIN_JOB_MODULES = ("agents.housekeeping", "agents.daily", "agents.billing", "agents.credit")
# A running job refreshes its heartbeat this often even if it reports no progress; bus.claim_job
# gives up jobs silent for five minutes.
JOB_HEARTBEAT_SECONDS = 30.0

JobFunction = Callable[["JobContext"], dict[str, Any] | None]


@dataclass(frozen=True)
class JobKind:
    kind: str
    run: JobFunction


_KINDS: dict[str, JobKind] = {}


def job(kind: str) -> Callable[[JobFunction], JobFunction]:
    """Register the code of a job kind (its row in ``bus.job_kinds`` says the rest)."""

    def register(fn: JobFunction) -> JobFunction:
        existing = _KINDS.get(kind)
        if existing is not None and existing.run is not fn:
            raise ValueError(f"job kind {kind!r} is registered twice")
        _KINDS[kind] = JobKind(kind, fn)
        return fn

    return register


def load_job_modules() -> dict[str, JobKind]:
    """Import the built-in job modules and those of ``MANGO_JOB_MODULES``; return the registry."""
    extra = [m.strip() for m in os.environ.get("MANGO_JOB_MODULES", "").split(",") if m.strip()]
    for module in (*BUILTIN_JOB_MODULES, *extra):
        import_module(module)
    return dict(_KINDS)


class ProgressReporter:
    """Writes a job's progress on its own autocommit connection; beats while the job is silent."""

    def __init__(self, conn: psycopg.Connection, job_id: int) -> None:
        self._conn = conn
        self._job_id = job_id
        self._lock = threading.Lock()
        self._progress = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"job-{job_id}", daemon=True)
        self._thread.start()

    def report(self, progress: float, message: str | None) -> None:
        with self._lock:
            self._progress = min(max(float(progress), 0.0), 1.0)
            self._conn.execute(
                "select bus.job_progress(%s::bigint, %s::real, %s::text)",
                [self._job_id, self._progress, message],
            )

    def _beat(self) -> None:
        while not self._stop.wait(JOB_HEARTBEAT_SECONDS):
            try:
                with self._lock:
                    self._conn.execute(
                        "select bus.job_progress(%s::bigint, %s::real, null)", [self._job_id, self._progress]
                    )
            except psycopg.Error as exc:
                log.warning(
                    "job heartbeat failed", extra={"fields": {"job": self._job_id, "error": str(exc)}}
                )

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._conn.close()


@dataclass
class JobContext:
    """What a job function gets: its parameters, the agent's connection, a progress callback."""

    id: int
    kind: str
    params: dict[str, Any]
    conn: psycopg.Connection  # autocommit; use ``with ctx.conn.transaction():`` for atomic work
    settings: Settings
    worker: str
    _reporter: ProgressReporter = field(repr=False)
    _runner: Runner = field(repr=False)

    def progress(self, fraction: float, message: str | None = None) -> None:
        """Report how far the job is (0..1) and what it does now; visible at once."""
        self._reporter.report(fraction, message)

    @property
    def stopping(self) -> bool:
        """The agent was asked to stop: a long job may end early (and say so in its result)."""
        return self._runner.stopping


def run_next(runner: Runner, kinds: dict[str, JobKind]) -> bool:
    """Claim one queued job and run it; False when there was nothing to claim."""
    conn = runner.conn
    row = conn.execute(
        "select coalesce(array_agg(distinct kind), '{}') from bus.jobs where state = 'queued'"
    ).fetchone()
    queued: list[str] = list(row[0]) if row else []
    if not queued:
        return False
    # Claim kinds we have no code for too, so that they fail with a clear error instead of waiting.
    job_row = conn.execute(
        "select id, kind, params from bus.claim_job(%s, %s::text[])", [runner.claimer, queued]
    ).fetchone()
    if job_row is None:
        return False
    job_id, kind, params = job_row
    spec = kinds.get(kind)
    fields = {"agent": runner.agent.name, "job": job_id, "kind": kind}
    if spec is None:
        # The job's error is shown to staff: it names the kind only; the log says what this runs.
        error = f"this scheduler has no code for job kind {kind!r} (MANGO_JOB_MODULES)"
        _finish(conn, job_id, None, error)
        log.error("job failed", extra={"fields": {**fields, "error": error, "runs": sorted(kinds)}})
        return True
    log.info("job started", extra={"fields": fields})
    try:
        reporter = ProgressReporter(runner.connect("progress"), job_id)
    except psycopg.Error as exc:
        _finish(conn, job_id, None, f"cannot open the progress connection: {error_text(exc)}")
        return True
    started = time.perf_counter()
    ctx = JobContext(
        job_id, kind, dict(params or {}), conn, runner.settings, runner.claimer, reporter, runner
    )
    try:
        result = spec.run(ctx)
    except Exception as exc:
        reporter.close()
        if conn.broken or conn.closed:
            raise
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.rollback()
        _finish(conn, job_id, None, error_text(exc))
        log.warning("job failed", extra={"fields": {**fields, "error": error_text(exc)}}, exc_info=True)
        return True
    reporter.close()
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        conn.rollback()
    _finish(conn, job_id, result if result is not None else {}, None)
    log.info("job done", extra={"fields": {**fields, "seconds": round(time.perf_counter() - started, 3)}})
    return True


def _finish(conn: psycopg.Connection, job_id: int, result: dict[str, Any] | None, error: str | None) -> None:
    with conn.transaction():
        conn.execute(
            "select bus.finish_job(%s::bigint, %s::jsonb, %s::text)",
            [job_id, Jsonb(result) if result is not None else None, error],
        )
        # Another scheduler may be waiting for this (financial) job to end.
        conn.execute("select pg_notify('mango_jobs', 'finished')")


# -- the `mango jobs` command ----------------------------------------------------------------


SUBMIT_SQL = "select bus.submit_job(%s, null, %s::jsonb)"


def submit(settings: Settings, kind: str | None, params_json: str = "{}") -> int:
    """Queue a job with ``bus.submit_job`` on the set-up's connection (the console, which may
    submit every kind); return its id. What the database refuses ends the command with its message."""
    try:
        params = json.loads(params_json or "{}")
    except json.JSONDecodeError as exc:
        raise SystemExit(f"--params is not JSON: {exc}") from exc
    with psycopg.connect(settings.admin_conninfo(), autocommit=True) as conn:
        if not kind:
            mine = conn.execute("select kind from bus.my_job_kinds()").fetchall()
            raise SystemExit(f"which job kind? you may submit: {', '.join(r[0] for r in mine) or 'none'}")
        try:
            row = conn.execute(SUBMIT_SQL, [kind, Jsonb(params)]).fetchone()
        except psycopg.Error as exc:
            if exc.sqlstate and (exc.sqlstate.startswith("MG") or exc.sqlstate == "42501"):
                raise SystemExit(exc.diag.message_primary or str(exc)) from exc
            raise
    assert row is not None
    return int(row[0])


JOBS_SQL = """
select id, kind, state, progress, coalesce(error, message, result::text, ''),
       created_at, started_at, coalesce(finished_at, now()) - coalesce(started_at, now()), financial
  from bus.jobs
 order by id desc
 limit %s
"""


def progress_bar(progress: float, width: int = 20) -> str:
    """``[##########..........]  50%``"""
    filled = int(round(progress * width))
    return f"[{'#' * filled}{'.' * (width - filled)}] {progress * 100:3.0f}%"


def format_jobs(rows: list[tuple[Any, ...]]) -> str:
    lines = [f"{'ID':>6}  {'KIND':28} {'STATE':9} {'PROGRESS':27} {'CREATED':16} {'TIME':>8}  MESSAGE"]
    for job_id, kind, state, progress, message, created, _started, took, financial in rows:
        created_text = (
            created.astimezone().strftime("%Y-%m-%d %H:%M") if isinstance(created, datetime) else ""
        )
        seconds = took.total_seconds() if took is not None else 0.0
        mark = "*" if financial else " "
        lines.append(
            f"{job_id:>6}{mark} {kind[:28]:28} {state:9} {progress_bar(float(progress)):27} "
            f"{created_text:16} {seconds:7.1f}s  {str(message)[:60]}"
        )
    if not rows:
        lines.append("(no jobs)")
    return "\n".join(lines)


def print_jobs(settings: Settings, watch: bool = False, limit: int = 20) -> int:
    """Print the latest jobs with a progress bar (``*`` marks financial jobs); ``watch`` refreshes
    every second until Ctrl-C."""
    with psycopg.connect(settings.admin_conninfo(), autocommit=True) as conn:
        try:
            while True:
                text = format_jobs(conn.execute(JOBS_SQL, [limit]).fetchall())
                if watch and sys.stdout.isatty():
                    sys.stdout.write("\x1b[H\x1b[2J")
                print(text, flush=True)
                if not watch:
                    return 0
                time.sleep(1.0)
                if not sys.stdout.isatty():
                    print()
        except KeyboardInterrupt:
            return 0

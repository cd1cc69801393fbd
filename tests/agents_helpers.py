"""Test agents and test job kinds, run in real agent processes by tests/test_bus.py and test_jobs.py.

The agents write their effects into tables of the ``tests`` schema (see ``TABLES``), which only
test databases have; the test job kinds get their rows in ``bus.job_kinds`` (``JOB_KINDS``). A
handler or job that must wait for the test (to be killed, to be changed while it runs) waits for a
gate, a row in ``tests.gates`` the test inserts, never for a time. Their configuration comes from the environment the test starts them with:
``MANGO_TEST_TOPICS`` (comma-separated), ``MANGO_TEST_LEASE``, ``MANGO_TEST_MAX_ATTEMPTS``,
``MANGO_TEST_BATCH``. Run one with ``python -m agents tests.agents_helpers:effects``; load the job
kinds into a scheduler with ``MANGO_JOB_MODULES=tests.agents_helpers``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from agents.bus import Agent, Event
from agents.jobs import JobContext, job
from db import settings as settings_mod
from db.settings import ROOT, Settings

# The login role the test agents use (any agent role works: the test tables are granted to all).
TEST_ROLE = "mango_agent_monitor"

TABLES = """
create table if not exists tests.effects (
    topic text not null,
    entity text not null,
    revision integer not null,
    attempts integer not null,
    handled integer not null default 1,
    pid integer not null,
    primary key (topic, entity)
);
create table if not exists tests.handlings (
    id bigint generated always as identity primary key,
    event_id bigint not null,
    topic text not null,
    entity text not null,
    revision integer not null,
    attempt integer not null,
    pid integer not null,
    started_at timestamptz not null default clock_timestamp(),
    finished_at timestamptz
);
create table if not exists tests.poison (entity text primary key);
create table if not exists tests.gates (name text primary key);
create table if not exists tests.job_runs (
    id bigint generated always as identity primary key,
    job_id bigint not null,
    pid integer not null,
    started_at timestamptz not null default clock_timestamp(),
    finished_at timestamptz
);
grant select, insert, update, delete on tests.effects, tests.handlings, tests.poison, tests.gates,
    tests.job_runs to mango_agent;
"""

# The rows of the test job kinds below: kind, title, financial, parameters and their types (submitted
# by administrators and the console).
JOB_KINDS: tuple[tuple[str, str, bool, dict[str, str]], ...] = (
    ("tests.gated", "Test job that waits half way for a gate", False, {"gate": "text"}),
    (
        "tests.financial",
        "Test financial job that records when it runs",
        True,
        {"sleep": "number", "gate": "text"},
    ),
    ("tests.broken", "Test job that fails", False, {"why": "text"}),
    ("tests.session", "Test job that tells its session's time zone and date", False, {}),
)


def install(conn: psycopg.Connection) -> None:
    """Create the test tables and the test job kinds' rows (as the superuser, in the test database)."""
    conn.execute(TABLES)  # type: ignore[arg-type]
    for kind, title, financial, params in JOB_KINDS:
        row = conn.execute(
            "insert into bus.job_kinds (kind, title, financial, submitted_by) values (%s, %s, %s, '{admin}') "
            "on conflict (kind) do update set title = excluded.title, financial = excluded.financial returning id",
            [kind, title, financial],
        ).fetchone()
        assert row is not None
        for name, type_ in params.items():
            conn.execute(
                "insert into bus.job_kind_params (kind_id, name, type) values (%s, %s, %s) "
                "on conflict (kind_id, name) do update set type = excluded.type",
                [row[0], name, type_],
            )


def wait_gate(gate: str, timeout: float = 120.0) -> None:
    """In an agent process: until the test opens the gate (inserts it into tests.gates)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = journal().execute("select exists (select from tests.gates where name = %s)", [gate]).fetchone()
        if row and row[0]:
            return
        time.sleep(0.05)
    raise TimeoutError(f"gate {gate} never opened")


def open_gate(admin: psycopg.Connection, gate: str) -> None:
    """In the test: let what waits for the gate go on."""
    admin.execute("insert into tests.gates (name) values (%s) on conflict do nothing", [gate])


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


_journal: psycopg.Connection | None = None


def journal() -> psycopg.Connection:
    """An autocommit connection of the agent process: what it writes is visible at once, even if
    the handler's transaction is rolled back or the process is killed."""
    global _journal
    if _journal is None or _journal.closed or _journal.broken:
        _journal = psycopg.connect(settings_mod.load().role_conninfo(TEST_ROLE), autocommit=True)
    return _journal


def handle(conn: psycopg.Connection, event: Event) -> None:
    """Record the handling, fail if the entity is poisoned, wait for the payload's ``gate`` (on
    every attempt, or only on attempt ``gate_attempt``) or sleep if asked, then write the effect."""
    row = (
        journal()
        .execute(
            "insert into tests.handlings (event_id, topic, entity, revision, attempt, pid) "
            "values (%s, %s, %s, %s, %s, %s) returning id",
            [event.id, event.topic, event.entity, event.revision, event.attempts, os.getpid()],
        )
        .fetchone()
    )
    assert row is not None
    poisoned = conn.execute(
        "select exists (select from tests.poison where entity = %s)", [event.entity]
    ).fetchone()
    if poisoned and poisoned[0]:
        raise RuntimeError(f"entity {event.entity} is poisoned")
    gate = event.payload.get("gate")
    gate_attempt = event.payload.get("gate_attempt")
    if gate and (gate_attempt is None or int(gate_attempt) == event.attempts):
        wait_gate(str(gate))
    sleep = float(event.payload.get("sleep", 0))  # a little work, never an order of events
    if sleep:
        time.sleep(sleep)
    conn.execute(
        "insert into tests.effects as f (topic, entity, revision, attempts, pid) values (%s, %s, %s, %s, %s) "
        "on conflict (topic, entity) do update "
        "set revision = excluded.revision, attempts = excluded.attempts, handled = f.handled + 1, pid = excluded.pid",
        [event.topic, event.entity, event.revision, event.attempts, os.getpid()],
    )
    journal().execute("update tests.handlings set finished_at = clock_timestamp() where id = %s", [row[0]])


def handle_batch(conn: psycopg.Connection, events: list[Event]) -> Mapping[int, str]:
    """Write the effects of a whole batch in one statement; the whole batch fails if one of its
    entities is poisoned (the loop then retries its events one by one)."""
    poisoned = conn.execute(
        "select array_agg(entity order by entity) from tests.poison where entity = any(%s::text[])",
        [[e.entity for e in events]],
    ).fetchone()
    if poisoned and poisoned[0]:
        raise RuntimeError(f"poisoned entities in the batch: {', '.join(poisoned[0])}")
    conn.execute(
        "insert into tests.effects as f (topic, entity, revision, attempts, pid) "
        "select t, e, r, a, %s from unnest(%s::text[], %s::text[], %s::int[], %s::int[]) as u(t, e, r, a) "
        "on conflict (topic, entity) do update "
        "set revision = excluded.revision, attempts = excluded.attempts, handled = f.handled + 1",
        [
            os.getpid(),
            [e.topic for e in events],
            [e.entity for e in events],
            [e.revision for e in events],
            [e.attempts for e in events],
        ],
    )
    return {}


def _topics() -> tuple[str, ...]:
    return tuple(t for t in os.environ.get("MANGO_TEST_TOPICS", "test.effects").split(",") if t)


effects = Agent(
    name="testeffects",
    role=TEST_ROLE,
    topics=_topics(),
    handle=handle,
    lease_seconds=_env_int("MANGO_TEST_LEASE", 60),
    max_attempts=_env_int("MANGO_TEST_MAX_ATTEMPTS", 10),
    batch_size=_env_int("MANGO_TEST_BATCH", 100),
    heartbeat_seconds=1.0,
)

effects_batch = Agent(
    name="testeffects",
    role=TEST_ROLE,
    topics=_topics(),
    handle_batch=handle_batch,
    lease_seconds=_env_int("MANGO_TEST_LEASE", 60),
    max_attempts=_env_int("MANGO_TEST_MAX_ATTEMPTS", 10),
    batch_size=_env_int("MANGO_TEST_BATCH", 500),
    heartbeat_seconds=1.0,
    pipeline=True,
)


# -- job kinds for tests (loaded with MANGO_JOB_MODULES=tests.agents_helpers) ------------------


@job("tests.gated")
def gated(ctx: JobContext) -> dict[str, Any]:
    """Report half way, wait until tests.gates has the job's gate, then finish."""
    gate = str(ctx.params["gate"])
    ctx.progress(0.5, "half way, waiting for the gate")
    wait_gate(gate)
    ctx.progress(0.9, "through the gate")
    return {"gate": gate, "passed": True}


@job("tests.financial")
def financial(ctx: JobContext) -> dict[str, Any]:
    """Record when it runs (tests.job_runs); in between wait for ``gate`` or work ``sleep`` seconds."""
    row = (
        journal()
        .execute(
            "insert into tests.job_runs (job_id, pid) values (%s, %s) returning id", [ctx.id, os.getpid()]
        )
        .fetchone()
    )
    assert row is not None
    if "gate" in ctx.params:
        wait_gate(str(ctx.params["gate"]))
    else:
        time.sleep(float(ctx.params.get("sleep", 0.5)))
    journal().execute("update tests.job_runs set finished_at = clock_timestamp() where id = %s", [row[0]])
    return {"pid": os.getpid()}


@job("tests.broken")
def broken(ctx: JobContext) -> dict[str, Any]:
    raise ValueError(f"broken on purpose: {ctx.params.get('why', 'no reason')}")


@job("tests.session")
def session(ctx: JobContext) -> dict[str, Any]:
    """What the scheduler's session takes for the time zone and today."""
    row = ctx.conn.execute("select current_setting('TimeZone'), current_date::text").fetchone()
    assert row is not None
    return {"timezone": row[0], "current_date": row[1]}


# -- process helpers for the tests ---------------------------------------------------------------


class AgentProcesses:
    """Starts real agent processes against the test database and stops what is left at the end."""

    def __init__(self, settings: Settings, log_dir: Path) -> None:
        self.settings = settings
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, **env: str | int | float) -> subprocess.Popen[bytes]:
        full_env = dict(os.environ)
        full_env.update(
            DATABASE_URL=self.settings.database_url,
            MANGO_VAR=str(self.settings.var_dir),
            MANGO_LOG_LEVEL="INFO",
            PYTHONUNBUFFERED="1",
        )
        full_env.update({k: str(v) for k, v in env.items()})
        log = (self.log_dir / f"agent-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "agents", name],
            cwd=ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        return proc

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("agent-*.log")))

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0, every: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy; fail the test with ``what`` if it never does."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


def wait_listening(admin: psycopg.Connection, proc: subprocess.Popen[bytes], what: str = "the agent") -> None:
    """Until the agent process listens (its first heartbeat, in bus.agents, is written after LISTEN)."""

    def up() -> bool:
        assert proc.poll() is None, f"{what} exited"
        return admin.execute("select 1 from bus.agents where pid = %s", [proc.pid]).fetchone() is not None

    wait_for(f"{what} {proc.pid} to listen", up)


def start_scheduler(
    admin: psycopg.Connection, agents: AgentProcesses, **env: str | int | float
) -> subprocess.Popen[bytes]:
    """A scheduler process, once it listens."""
    proc = agents.start("scheduler", **env)
    wait_listening(admin, proc, "the scheduler")
    return proc


def submit_sql(admin: psycopg.Connection, kind: str, params: dict[str, Any]) -> int:
    """Submit a job with bus.submit_job (as the console: any kind; titled by its kind); returns its id."""
    row = admin.execute("select bus.submit_job(%s, %s, %s)", [kind, kind, Jsonb(params)]).fetchone()
    assert row is not None
    return int(row[0])


def job_row(admin: psycopg.Connection, job_id: int) -> dict[str, Any]:
    """The job's state, progress, message, result, error, worker, started_at and finished_at."""
    cur = admin.execute(
        "select state, progress, message, result, error, worker, started_at, finished_at from bus.jobs where id = %s",
        [job_id],
    )
    row = cur.fetchone()
    assert row is not None
    return dict(zip([c.name for c in cur.description or []], row, strict=True))


def wait_finished(admin: psycopg.Connection, job_id: int, timeout: float = 60.0) -> dict[str, Any]:
    """The job (as ``job_row`` gives it) once it is done or failed."""
    return wait_for(
        f"job {job_id} to finish",
        lambda: (j := job_row(admin, job_id))["state"] in ("done", "failed") and j,
        timeout=timeout,
    )

"""Background jobs (PLT-4) run by real scheduler processes against the test database.

The schedulers load the test job kinds of tests.agents_helpers (MANGO_JOB_MODULES). A job that must
still run while the test looks waits for a gate the test opens (tests.agents_helpers.open_gate).
"""

from __future__ import annotations

import subprocess
import sys

import psycopg
import pytest

from agents import scheduler
from agents.jobs import load_job_modules, print_jobs, submit
from db.settings import ROOT, Settings
from tests.agents_helpers import (
    AgentProcesses,
    job_row,
    open_gate,
    start_scheduler,
    submit_sql,
    wait_finished,
    wait_for,
)

JOB_MODULES = {"MANGO_JOB_MODULES": "tests.agents_helpers"}

pytestmark = pytest.mark.usefixtures("agent_tables")


@pytest.fixture
def agents(agents: AgentProcesses, monkeypatch: pytest.MonkeyPatch) -> AgentProcesses:
    """conftest's agents, with the test job kinds loaded for submit() in this process too."""
    monkeypatch.setenv("MANGO_JOB_MODULES", "tests.agents_helpers")
    return agents


def test_scheduler_submits_the_daily_housekeeping_jobs_once(
    admin: psycopg.Connection, agents: AgentProcesses
) -> None:
    kinds = ["maintenance.purge_sessions", "bus.purge"]
    admin.execute("delete from bus.jobs where kind = any(%s)", [kinds])
    first = start_scheduler(admin, agents, **JOB_MODULES)

    def both_done() -> bool:
        rows = admin.execute(
            "select kind, state from bus.jobs where kind = any(%s) order by kind", [kinds]
        ).fetchall()
        return rows == [("bus.purge", "done"), ("maintenance.purge_sessions", "done")]

    wait_for("the housekeeping jobs", both_done)
    first.terminate()
    assert first.wait(timeout=30) == 0

    # A second scheduler finds them done within the day and submits nothing: after it ran a job,
    # its first periodic check is certainly over.
    second = start_scheduler(admin, agents, **JOB_MODULES)
    probe = submit_sql(admin, "tests.broken", {"why": "probe"})
    assert wait_finished(admin, probe)["worker"].endswith(f":{second.pid}")
    row = admin.execute("select count(*) from bus.jobs where kind = any(%s)", [kinds]).fetchone()
    assert row == (2,)


def test_progress_is_visible_while_the_job_runs_and_the_result_is_stored(
    admin: psycopg.Connection, agents: AgentProcesses, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    start_scheduler(admin, agents, **JOB_MODULES)
    job_id = submit(settings, "tests.gated", '{"gate": "g1"}')
    running = wait_for("progress half way", lambda: (j := job_row(admin, job_id))["progress"] == 0.5 and j)
    assert running["state"] == "running"
    assert running["message"] == "half way, waiting for the gate"

    capsys.readouterr()
    assert print_jobs(settings, watch=False, limit=5) == 0
    listing = capsys.readouterr().out
    line = next(ln for ln in listing.splitlines() if ln.strip().startswith(str(job_id)))
    assert "tests.gated" in line and "running" in line
    assert "[##########..........]  50%" in line

    open_gate(admin, "g1")
    done = wait_finished(admin, job_id)
    assert done["state"] == "done"
    assert done["progress"] == 1
    assert done["result"] == {"gate": "g1", "passed": True}
    assert done["error"] is None


def test_financial_jobs_never_run_at_the_same_time_even_with_two_schedulers(
    admin: psycopg.Connection, agents: AgentProcesses, settings: Settings
) -> None:
    # A financial job left running by an earlier test's killed worker would hold the lock until
    # the heartbeat goes stale (five minutes); this test is about its own jobs.
    admin.execute(
        "update bus.jobs set state = 'failed', error = 'left by an earlier test', finished_at = now()"
        " where financial and state in ('queued', 'running')"
    )
    start_scheduler(admin, agents, **JOB_MODULES)
    start_scheduler(admin, agents, **JOB_MODULES)
    first = submit(settings, "tests.financial", '{"gate": "financial-1"}')
    busy = wait_for(
        "the first financial job to run", lambda: (j := job_row(admin, first))["state"] == "running" and j
    )
    others = [submit(settings, "tests.financial", '{"sleep": 0.2}') for _ in range(2)]
    # The scheduler that is not busy takes a plain job submitted after them: it passed over the two
    # financial ones, which wait while the first runs.
    probe = submit_sql(admin, "tests.broken", {"why": "probe"})
    assert wait_finished(admin, probe)["worker"] != busy["worker"]
    assert [job_row(admin, job_id)["state"] for job_id in others] == ["queued", "queued"]
    open_gate(admin, "financial-1")
    ids = [first, *others]
    for job_id in ids:
        assert wait_finished(admin, job_id)["state"] == "done"
    rows = admin.execute(
        "select count(*) from bus.jobs a join bus.jobs b on a.id < b.id "
        " where a.id = any(%(ids)s) and b.id = any(%(ids)s) "
        "   and tstzrange(a.started_at, a.finished_at) && tstzrange(b.started_at, b.finished_at)",
        {"ids": ids},
    ).fetchone()
    assert rows == (0,)
    runs = admin.execute(
        "select count(*) from tests.job_runs a join tests.job_runs b on a.id < b.id "
        " where a.job_id = any(%(ids)s) and b.job_id = any(%(ids)s) "
        "   and tstzrange(a.started_at, a.finished_at) && tstzrange(b.started_at, b.finished_at)",
        {"ids": ids},
    ).fetchone()
    assert runs == (0,)
    row = admin.execute("select count(*) from tests.job_runs where job_id = any(%s)", [ids]).fetchone()
    assert row == (3,)


def test_job_of_a_kind_without_code_fails_with_a_clear_error(
    admin: psycopg.Connection, agents: AgentProcesses
) -> None:
    admin.execute("insert into bus.job_kinds (kind, title) values ('tests.no_code', 'A kind nobody runs')")
    try:
        start_scheduler(admin, agents, **JOB_MODULES)
        job_id = submit_sql(admin, "tests.no_code", {})
        done = wait_finished(admin, job_id)
    finally:
        admin.execute("delete from bus.job_kinds where kind = 'tests.no_code'")
    assert done["state"] == "failed"
    # Staff see the error: it names the kind only, not every kind the scheduler runs.
    assert done["error"] == "this scheduler has no code for job kind 'tests.no_code' (MANGO_JOB_MODULES)"


def test_failing_job_records_its_error(admin: psycopg.Connection, agents: AgentProcesses) -> None:
    start_scheduler(admin, agents, **JOB_MODULES)
    job_id = submit_sql(admin, "tests.broken", {"why": "testing"})
    done = wait_finished(admin, job_id)
    assert (done["state"], done["error"], done["result"]) == (
        "failed",
        "ValueError: broken on purpose: testing",
        None,
    )


def test_every_job_kind_with_code_has_its_row_and_every_row_its_code(
    admin: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MANGO_JOB_MODULES", "tests.agents_helpers")
    registered = set(load_job_modules())  # the built-in kinds and the test kinds
    rows = {r[0] for r in admin.execute("select kind from bus.job_kinds").fetchall()}
    assert registered == rows
    # The scheduler submits its periodic kinds itself: each says so.
    periodic = {p.kind for p in scheduler.PERIODIC}
    marked = {r[0] for r in admin.execute("select kind from bus.job_kinds where scheduler").fetchall()}
    assert periodic <= marked


def test_a_job_is_financial_when_its_kind_is(admin: psycopg.Connection) -> None:
    job_id = submit_sql(admin, "tests.financial", {"sleep": 0})
    plain = submit_sql(admin, "tests.broken", {})
    rows = admin.execute(
        "select id, financial from bus.jobs where id = any(%s) order by id", [[job_id, plain]]
    ).fetchall()
    assert rows == [(job_id, True), (plain, False)]
    for cancel in (job_id, plain):
        admin.execute("select bus.cancel_job(%s)", [cancel])


def test_scheduler_sessions_are_in_the_business_zone(
    admin: psycopg.Connection, agents: AgentProcesses
) -> None:
    start_scheduler(admin, agents, **JOB_MODULES)
    job_id = submit_sql(admin, "tests.session", {})
    done = wait_finished(admin, job_id)
    assert done["state"] == "done", done["error"]
    expected = admin.execute("select crm.business_zone(), crm.business_date()::text").fetchone()
    assert (done["result"]["timezone"], done["result"]["current_date"]) == expected


def test_purge_sessions_job_deletes_only_old_sessions(
    admin: psycopg.Connection, agents: AgentProcesses, settings: Settings
) -> None:
    user_row = admin.execute("select tests.make_user('{support}', 'purge_probe')").fetchone()
    assert user_row is not None
    old = admin.execute(
        "insert into auth.sessions (token_hash, csrf_token, user_id, created_at, expires_at, ended_at) "
        "values (gen_random_bytes(32), 'x', %s, now() - interval '120 days', now() - interval '119 days', "
        "        now() - interval '100 days') returning id",
        [user_row[0]],
    ).fetchone()
    fresh = admin.execute(
        "insert into auth.sessions (token_hash, csrf_token, user_id, expires_at) "
        "values (gen_random_bytes(32), 'x', %s, now() + interval '1 hour') returning id",
        [user_row[0]],
    ).fetchone()
    assert old is not None and fresh is not None
    start_scheduler(admin, agents, **JOB_MODULES)
    job_id = submit(settings, "maintenance.purge_sessions", '{"keep_days": 90}')
    done = wait_finished(admin, job_id)
    assert done["state"] == "done", done["error"]
    assert done["result"]["keep_days"] == 90 and done["result"]["sessions_deleted"] >= 1
    remaining = admin.execute(
        "select id from auth.sessions where id in (%s, %s)", [old[0], fresh[0]]
    ).fetchall()
    assert remaining == [(fresh[0],)]


def test_bus_purge_job_deletes_old_dead_events_and_reports_what_is_left(
    admin: psycopg.Connection, agents: AgentProcesses, settings: Settings
) -> None:
    admin.execute(
        "insert into bus.dead_events (id, topic, entity, revision, payload, attempts, created_at, died_at) values "
        "(-1, 't.purge', 'old', 1, '{}', 10, now() - interval '50 days', now() - interval '40 days'), "
        "(-2, 't.purge', 'new', 1, '{}', 10, now() - interval '2 days', now() - interval '1 day')"
    )
    start_scheduler(admin, agents, **JOB_MODULES)
    job_id = submit(settings, "bus.purge", '{"dead_days": 30}')
    done = wait_finished(admin, job_id)
    assert done["state"] == "done", done["error"]
    assert done["result"]["dead_events_deleted"] >= 1 and done["result"]["dead_events_left"] >= 1
    left = admin.execute("select entity from bus.dead_events where topic = 't.purge'").fetchall()
    assert left == [("new",)]


def test_submitting_an_unknown_kind_names_it_and_lists_no_others(settings: Settings) -> None:
    with pytest.raises(SystemExit) as refused:
        submit(settings, "nope", "{}")
    assert str(refused.value) == "unknown job kind 'nope'"


def test_submitting_a_bad_parameter_names_it(settings: Settings) -> None:
    with pytest.raises(SystemExit) as refused:
        submit(settings, "crm.apply_due_service_dates", '{"today": "2999-01-01"}')
    assert str(refused.value).startswith("parameter today must not be later than today (")
    with pytest.raises(SystemExit) as refused:
        submit(settings, "bus.purge", '{"dead_days": 30, "live_days": 1}')
    assert str(refused.value) == "job kind bus.purge has no parameter live_days"


def test_mango_jobs_command_lists_and_submits(settings: Settings, admin: psycopg.Connection) -> None:
    env = {"DATABASE_URL": settings.database_url, "MANGO_VAR": str(settings.var_dir), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "mango.cli", "jobs", "submit", "bus.purge", "--params", '{"dead_days": 60}'],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    job_id = int(result.stdout.split()[1])
    row = admin.execute("select kind, state, params from bus.jobs where id = %s", [job_id]).fetchone()
    assert row == ("bus.purge", "queued", {"dead_days": 60})
    admin.execute("select bus.cancel_job(%s)", [job_id])

    result = subprocess.run(
        [sys.executable, "-m", "mango.cli", "jobs", "--limit", "3"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].split()[:3] == ["ID", "KIND", "STATE"]
    assert any(
        line.strip().startswith(f"{job_id} ") and "cancelled" in line for line in result.stdout.splitlines()
    )

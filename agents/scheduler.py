"""The scheduler agent: runs background jobs (PLT-4) and submits the periodic ones.

It listens on ``mango_jobs`` (``bus.submit_job`` notifies there), claims queued jobs one at a time
and runs them (see :mod:`agents.jobs`). Periodic jobs need no table: once a minute the scheduler
looks whether a job of each periodic kind was created within its period (or, for a daily job tied to
a time zone, since that zone's last midnight) and submits one if not; an advisory lock keeps two
schedulers from both submitting it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from psycopg.types.json import Jsonb

from agents import jobs
from agents.bus import Agent, Runner

log = logging.getLogger("mango.scheduler")


@dataclass(frozen=True)
class Periodic:
    kind: str
    every: timedelta
    params: dict[str, Any] = field(default_factory=dict)
    # Once per calendar day of this time zone (soon after its midnight) instead of once per period.
    day_in: str | None = None


PERIODIC: tuple[Periodic, ...] = (
    Periodic("maintenance.purge_sessions", timedelta(days=1)),
    Periodic("bus.purge", timedelta(days=1)),
    # Flow partitions are UTC days: yesterday is closed, summarised and old days purged after 00:00 UTC.
    Periodic("flow.maintenance", timedelta(days=1), day_in="UTC"),
    # Orders and service dates take effect on the operator's (Prague) date.
    Periodic("catalog.apply_due_orders", timedelta(days=1), day_in="Europe/Prague"),
    Periodic("crm.apply_due_service_dates", timedelta(days=1), day_in="Europe/Prague"),
)
PERIODIC_CHECK_SECONDS = 60.0

_last_periodic_check = -PERIODIC_CHECK_SECONDS


def submit_periodic(runner: Runner, kinds: dict[str, jobs.JobKind]) -> list[int]:
    """Submit each periodic job no job of its kind was created for within its period."""
    submitted: list[int] = []
    conn = runner.conn
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('mango.scheduler.periodic'))")
        for periodic in PERIODIC:
            spec = kinds[periodic.kind]
            row = conn.execute(
                "select not exists (select from bus.jobs where kind = %s and created_at >= "
                " case when %s::text is null then now() - %s::interval else date_trunc('day', now(), %s) end)",
                [periodic.kind, periodic.day_in, periodic.every, periodic.day_in],
            ).fetchone()
            if row and row[0]:
                job_row = conn.execute(
                    "select bus.submit_job(%s, %s, %s::jsonb, %s::boolean)",
                    [spec.kind, spec.title, Jsonb(periodic.params), spec.financial],
                ).fetchone()
                assert job_row is not None
                submitted.append(int(job_row[0]))
    if submitted:
        log.info("periodic jobs submitted", extra={"fields": {"jobs": submitted}})
    return submitted


def tick(runner: Runner) -> float:
    """On every wake-up: submit due periodic jobs (once a minute), then run queued jobs."""
    global _last_periodic_check
    kinds = jobs.load_job_modules()
    now = time.monotonic()
    if now - _last_periodic_check >= PERIODIC_CHECK_SECONDS:
        submit_periodic(runner, kinds)
        _last_periodic_check = now
    while not runner.stopping and jobs.run_next(runner, kinds):
        pass
    return max(PERIODIC_CHECK_SECONDS - (time.monotonic() - _last_periodic_check), 0.0)


# Jobs write money and documents: their commits are durable.
AGENT = Agent(
    name="scheduler", channels=("mango_jobs",), tick=tick, poll_seconds=3.0, synchronous_commit=True
)

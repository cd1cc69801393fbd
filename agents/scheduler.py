"""The scheduler agent: runs background jobs (PLT-4) and submits the periodic ones.

It listens on ``mango_jobs`` (``bus.submit_job`` notifies there), claims queued jobs one at a time
and runs them (see :mod:`agents.jobs`). Periodic jobs need no table of their own: once a minute the
scheduler looks whether a job of each periodic kind was created within its period (or, for a daily
job, since the last midnight of UTC or of the business day, ``crm.business_day_start``) and submits
one if not, through ``bus.submit_job`` like everyone (the kinds it may submit say ``scheduler`` in
``bus.job_kinds``); an advisory lock keeps two schedulers from both submitting it.
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

# ``Periodic.day_in`` for the operators' business day (crm.business_day_start).
BUSINESS_DAY = "business"


@dataclass(frozen=True)
class Periodic:
    kind: str
    every: timedelta
    params: dict[str, Any] = field(default_factory=dict)
    # Once per calendar day (soon after its midnight) instead of once per period: of a time zone,
    # or of the business day (BUSINESS_DAY: the latest midnight of the operators' zones).
    day_in: str | None = None


PERIODIC: tuple[Periodic, ...] = (
    Periodic("maintenance.purge_sessions", timedelta(days=1)),
    Periodic("bus.purge", timedelta(days=1)),
    # Flow partitions are UTC days: yesterday is closed, summarised and old days purged after 00:00 UTC.
    Periodic("flow.maintenance", timedelta(days=1), day_in="UTC"),
    # Orders and service dates take effect on the operator's business date.
    Periodic("catalog.apply_due_orders", timedelta(days=1), day_in=BUSINESS_DAY),
    Periodic("crm.apply_due_service_dates", timedelta(days=1), day_in=BUSINESS_DAY),
    # Prepaid services are renewed from credit on the business date, after the service dates.
    Periodic("billing.renew_prepaid", timedelta(days=1), day_in=BUSINESS_DAY),
)

# Whether a periodic job is due: none of its kind created since its period or its day began.
DUE_SQL = """
select not exists (
  select from bus.jobs
   where kind = %(kind)s
     and created_at >= case when %(day_in)s::text is null then now() - %(every)s::interval
                            when %(day_in)s = %(business)s then crm.business_day_start()
                            else date_trunc('day', now(), %(day_in)s) end)
"""
PERIODIC_CHECK_SECONDS = 60.0

_last_periodic_check = -PERIODIC_CHECK_SECONDS


def submit_periodic(runner: Runner) -> list[int]:
    """Submit each periodic job no job of its kind was created for within its period."""
    submitted: list[int] = []
    conn = runner.conn
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('mango.scheduler.periodic'))")
        for periodic in PERIODIC:
            row = conn.execute(
                DUE_SQL,
                {
                    "kind": periodic.kind,
                    "day_in": periodic.day_in,
                    "every": periodic.every,
                    "business": BUSINESS_DAY,
                },
            ).fetchone()
            if row and row[0]:
                job_row = conn.execute(jobs.SUBMIT_SQL, [periodic.kind, Jsonb(periodic.params)]).fetchone()
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
        submit_periodic(runner)
        _last_periodic_check = now
    while not runner.stopping and jobs.run_next(runner, kinds):
        pass
    return max(PERIODIC_CHECK_SECONDS - (time.monotonic() - _last_periodic_check), 0.0)


# Jobs write money and documents: their commits are durable.
AGENT = Agent(
    name="scheduler", channels=("mango_jobs",), tick=tick, poll_seconds=3.0, synchronous_commit=True
)

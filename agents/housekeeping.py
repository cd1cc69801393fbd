"""Housekeeping jobs the scheduler runs (and submits once a day): old sessions, the bus's leftovers.

Their parameters and bounds are the kinds' (``bus.job_kind_params``), checked when a job is submitted.
"""

from __future__ import annotations

from typing import Any

from agents.jobs import JobContext, job


def _days(ctx: JobContext, name: str, default: int) -> int:
    return int(ctx.params.get(name, default))


@job("maintenance.purge_sessions")
def purge_sessions(ctx: JobContext) -> dict[str, Any]:
    """Delete web sessions that ended (and login attempts made) more than ``keep_days`` ago."""
    keep_days = _days(ctx, "keep_days", 90)
    ctx.progress(0.0, f"deleting sessions ended more than {keep_days} days ago")
    row = ctx.conn.execute("select auth.purge_sessions(make_interval(days => %s))", [keep_days]).fetchone()
    deleted = int(row[0]) if row else 0
    ctx.progress(1.0, f"{deleted} sessions deleted")
    return {"sessions_deleted": deleted, "keep_days": keep_days}


@job("bus.purge")
def purge_bus(ctx: JobContext) -> dict[str, Any]:
    """Delete dead events older than ``dead_days``, finished jobs older than ``job_days`` and agents
    not seen for ``agent_days``; report how many dead events are left for someone to look at."""
    dead_days = _days(ctx, "dead_days", 30)
    job_days = _days(ctx, "job_days", 90)
    agent_days = _days(ctx, "agent_days", 7)
    ctx.progress(0.0, "purging")
    row = ctx.conn.execute(
        "select dead_events, jobs, agents, dead_events_left from bus.purge(make_interval(days => %s), "
        "make_interval(days => %s), make_interval(days => %s))",
        [dead_days, job_days, agent_days],
    ).fetchone()
    assert row is not None
    ctx.progress(
        1.0, f"deleted {row[0]} dead events, {row[1]} jobs, {row[2]} agents; {row[3]} dead events left"
    )
    return {
        "dead_events_deleted": row[0],
        "jobs_deleted": row[1],
        "agents_deleted": row[2],
        "dead_events_left": row[3],
        "dead_days": dead_days,
        "job_days": job_days,
        "agent_days": agent_days,
    }

"""Daily jobs the scheduler submits soon after midnight: data retention of flow records (DR-3),
accepted orders and service dates that are due (CAT-5).

Each runs as the scheduler's login role (``mango_agent_scheduler``) with the grants of
procedures/70_flow and procedures/50_catalog. Every step is idempotent, so a job that runs twice,
or late, does no harm. Their parameters and bounds are the kinds' (``bus.job_kind_params``), checked
when the job is submitted.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from agents.jobs import JobContext, job


def _today(ctx: JobContext) -> date | None:
    """The ``today`` parameter (to catch up on a missed day; at most the business date, as
    ``bus.submit_job`` checks), else None: each operator's business date (crm.business_date)."""
    return date.fromisoformat(str(ctx.params["today"])) if "today" in ctx.params else None


def _shown(ctx: JobContext, today: date | None) -> str:
    """The date a job's message and result name: the one given, else the default business date."""
    row = ctx.conn.execute("select coalesce(%s::date, crm.business_date())", [today]).fetchone()
    assert row is not None
    return str(row[0].isoformat())


@job("flow.maintenance")
def flow_maintenance(ctx: JobContext) -> dict[str, Any]:
    """Make the daily partitions ahead, close the days that are over (address B-trees), summarise
    closed days per address and per customer, and drop the days past the retention period (after
    summarising any day not yet summarised). Each step commits on its own."""
    conn = ctx.conn
    days_ahead = int(ctx.params.get("days_ahead", 2))
    days_back = int(ctx.params.get("days_back", 1))
    ctx.progress(0.0, "creating partitions")
    row = conn.execute("select flow.create_partitions(%s, %s)", [days_ahead, days_back]).fetchone()
    created = int(row[0]) if row else 0
    ctx.progress(0.1, "closing the days that are over")
    row = conn.execute("select flow.close_partitions()").fetchone()
    closed = int(row[0]) if row else 0
    pending = conn.execute("select day, addresses, customers from flow.days_to_summarize()").fetchall()
    summarised: list[dict[str, Any]] = []
    for i, (day, addresses, customers) in enumerate(pending):
        ctx.progress(0.2 + 0.6 * i / len(pending), f"summarising {day}")
        done: dict[str, Any] = {"day": day.isoformat()}
        with conn.transaction():
            if addresses:
                row = conn.execute("select flow.summarize_day(%s)", [day]).fetchone()
                done["addresses"] = int(row[0]) if row else 0
            if customers:
                row = conn.execute("select flow.summarize_customers(%s)", [day]).fetchone()
                done["customers"] = int(row[0]) if row else 0
        summarised.append(done)
        if ctx.stopping:
            break
    ctx.progress(0.8, "dropping the days past the retention period")
    purged = [
        {"relation": relation, "day": day.isoformat() if day else None, "rows": rows}
        for relation, day, rows in conn.execute(
            "select relation, day, row_count from flow.purge()"
        ).fetchall()
    ]
    row = conn.execute("select flow.retention()::text").fetchone()
    ctx.progress(
        1.0,
        f"{created} partitions created, {closed} closed, {len(summarised)} days summarised, "
        f"{len(purged)} relations purged",
    )
    return {
        "partitions_created": created,
        "partitions_closed": closed,
        "summarised": summarised,
        "purged": purged,
        "retention": row[0] if row else None,
    }


@job("catalog.apply_due_orders")
def apply_due_orders(ctx: JobContext) -> dict[str, Any]:
    """catalog.apply_due_orders for today (each operator's business date). Financial (the kind
    says so): it changes what billing charges, so it never runs during a billing run."""
    today = _today(ctx)
    shown = _shown(ctx, today)
    ctx.progress(0.0, f"orders due by {shown}")
    row = ctx.conn.execute("select catalog.apply_due_orders(%s::date)", [today]).fetchone()
    applied = int(row[0]) if row else 0
    ctx.progress(1.0, f"{applied} orders carried out")
    return {"today": shown, "orders_applied": applied}


@job("crm.apply_due_service_dates")
def apply_due_service_dates(ctx: JobContext) -> dict[str, Any]:
    """crm.apply_due_service_dates for today (each operator's business date): ordered services
    start, scheduled ends take effect, suspensions that are over resume. Financial, like the orders."""
    today = _today(ctx)
    shown = _shown(ctx, today)
    ctx.progress(0.0, f"service dates due by {shown}")
    row = ctx.conn.execute("select crm.apply_due_service_dates(%s::date)", [today]).fetchone()
    changed = int(row[0]) if row else 0
    ctx.progress(1.0, f"{changed} services changed")
    return {"today": shown, "services_changed": changed}

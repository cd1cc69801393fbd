"""The billing run (BIL-2) as a financial background job: ``billing.run``.

Parameters (``bus.job_kind_params``): ``operator`` (its id), ``period`` (the month, ``YYYY-MM`` or a
date in it) and ``preview``. The job runs as the scheduler's login role with the rights of the
user who submitted it (``billing.start_run`` checks that the job is running and who queued it).

A run is one transaction of a few set-based statements, the steps the console's
``billing.run(...)`` runs too: ``billing.start_run`` (rights, the operator's run lock, the run's
row), ``billing.run_charges`` (recurring fees, pro rata, setup fees, usage, the manual charges due),
``billing.run_documents`` (draft documents with their lines and VAT recap) and
``billing.finish_run`` (counts and totals). Progress is reported between them. A preview is
``billing.run(..., preview => true)``: the same steps, undone, with only the counts and totals kept
in a run of state ``preview``. Nothing here loops over customers.
"""

from __future__ import annotations

from typing import Any

from agents.jobs import JobContext, job


def _summary(result: dict[str, Any]) -> str:
    counts = result.get("counts") or {}
    totals = result.get("totals") or {}
    charges = counts.get("charges", 0)
    documents = counts.get("documents", 0)
    total = totals.get("with_vat", "0")
    what = "would create" if result.get("state") == "preview" else "created"
    return f"run {result.get('run')}: {what} {charges} charges and {documents} documents, {total} with VAT"


@job("billing.run")
def billing_run(ctx: JobContext) -> dict[str, Any]:
    """Bill one operator for one month (or preview it): charges, then draft documents."""
    operator = int(ctx.params["operator"])
    period = str(ctx.params["period"])
    preview = bool(ctx.params.get("preview", False))
    conn = ctx.conn
    if preview:
        ctx.progress(0.0, f"previewing the billing of {period}")
        row = conn.execute(
            "select billing.run(%s::bigint, %s::text, true, %s::bigint)", [operator, period, ctx.id]
        ).fetchone()
        assert row is not None
        result: dict[str, Any] = dict(row[0])
    else:
        with conn.transaction():
            ctx.progress(0.0, f"billing {period}")
            row = conn.execute(
                "select billing.start_run(%s::bigint, %s::text, false, %s::bigint)",
                [operator, period, ctx.id],
            ).fetchone()
            assert row is not None
            run_id = int(row[0])
            ctx.progress(0.05, f"run {run_id}: charges")
            row = conn.execute("select billing.run_charges(%s::bigint)", [run_id]).fetchone()
            charges = int(row[0]) if row else 0
            ctx.progress(0.5, f"run {run_id}: {charges} charges; documents")
            row = conn.execute("select billing.run_documents(%s::bigint)", [run_id]).fetchone()
            documents = int(row[0]) if row else 0
            ctx.progress(0.9, f"run {run_id}: {documents} documents; totals")
            row = conn.execute("select billing.finish_run(%s::bigint)", [run_id]).fetchone()
            assert row is not None
            result = dict(row[0])
    ctx.progress(1.0, _summary(result))
    return result

"""uniCredit prepaid credit (UC-2): the daily renewal of prepaid services from credit.

``billing.renew_prepaid`` runs ``billing.renew_prepaid(today, operator)`` as the scheduler's login
role (``mango_agent_scheduler``): in one transaction and a few set-based statements it pays the
period that has begun of every service on a prepaid-credit plan from its customer's money credit,
gives back what paid periods no longer cost (an end, a suspension or a tariff change inside them),
blocks (system, reason ``credit``) the running ones whose customer has too little, and unblocks the
credit blocks whose period is paid. Each block and unblock goes through ``crm.block_service`` /
``crm.unblock_service``: audited, and announced to provisioning on the bus. A block set by a person
is never lifted. The job is financial (it spends money), so it never overlaps a billing run; a
second run of the same day pays nothing twice (one spend per service and period).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from agents.jobs import JobContext, job


@job("billing.renew_prepaid")
def renew_prepaid(ctx: JobContext) -> dict[str, Any]:
    """Renew the prepaid services of one operator (``operator``) or of all, for ``today`` (at most
    the business date, as ``bus.submit_job`` checks; each operator's business date by default)."""
    today = date.fromisoformat(str(ctx.params["today"])) if "today" in ctx.params else None
    operator = int(ctx.params["operator"]) if "operator" in ctx.params else None
    row = ctx.conn.execute(
        "select coalesce(%s::date, crm.business_date(%s::bigint))", [today, operator]
    ).fetchone()
    assert row is not None
    shown = row[0].isoformat()
    ctx.progress(0.0, f"prepaid services due by {shown}")
    with ctx.conn.transaction():
        row = ctx.conn.execute(
            "select renewed, amount, returned, blocked, unblocked"
            "  from billing.renew_prepaid(%s::date, %s::bigint)",
            [today, operator],
        ).fetchone()
    assert row is not None
    renewed, amount, returned, blocked, unblocked = int(row[0]), row[1], row[2], int(row[3]), int(row[4])
    ctx.progress(
        1.0,
        f"{renewed} periods paid from credit ({amount}), {returned} given back, {blocked} blocked,"
        f" {unblocked} unblocked",
    )
    return {
        "today": shown,
        "operator": operator,
        "renewed": renewed,
        "amount": str(amount),
        "returned": str(returned),
        "blocked": blocked,
        "unblocked": unblocked,
    }

"""Data retention (DR-3): how long flow records and NAT events are kept, the daily partitions that
hold them, what the purge drops next, the collector's counters per exporter (with what it could not
store: data sets before their template, gaps in the exporters' sequence numbers, records without a
readable time, batches the database refused), the retention log and the NAT log imports.

Administrators and officers (the flow role) see the page; every other role gets "not allowed" from
the database (no usage on the flow schema). Only what the catalogue says about the partitions is
shown (estimated rows, size), never a flow record: administrators cannot read those. Changing the
period is flow.set_retention, which only administrators may run; the database holds the bounds (a
day to ten years, MG701, flow.retention_bounds), asks for an explicit confirmation below the legal
six months (MG702), and logs every change in flow.retention_log. How long an exporter may be
silent before it shows as stale is a setting of the database too (flow.stale_after).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from webclient import web
from webclient.web import FormErrors, Page

UNITS = ("months", "days")
LOG_SHOWN = 50
IMPORTS_SHOWN = 20

# The next purge: the daily maintenance job runs soon after 00:00 UTC and drops every day D whose
# end (D + 1, 00:00 UTC) lies before its start minus the period (see flow.purge).
SUMMARY_SQL = """
with r as (select flow.retention() as retention,
                  (now() at time zone 'UTC')::date as today,
                  ((now() at time zone 'UTC')::date + 1)::timestamp at time zone 'UTC' as next_purge_at),
     p as (select min(day) filter (where day <= r.today) as oldest_day,
                  count(distinct day) filter (where day <= r.today) as kept_days
             from flow.partitions(), r)
select r.retention,
       (extract(year from r.retention) * 12 + extract(month from r.retention))::integer as months,
       extract(day from r.retention)::integer as days,
       r.retention::text as retention_text,
       r.retention <> make_interval(months => (extract(year from r.retention) * 12
                                                + extract(month from r.retention))::integer,
                                    days => extract(day from r.retention)::integer) as has_time,
       has_function_privilege('flow.set_retention(interval, boolean)', 'execute') as may_change,
       (select b.legal_minimum::text from flow.retention_bounds() b) as legal_minimum_text,
       (extract(epoch from flow.stale_after()) / 60)::integer as stale_minutes,
       r.today, p.oldest_day, p.kept_days, r.next_purge_at,
       ((r.next_purge_at - r.retention) at time zone 'UTC')::date - 1 as next_purge_through,
       ((now() - r.retention) at time zone 'UTC')::date - 1 as due_through,
       (select max(l.logged_at) from flow.retention_log l where l.kind = 'purge') as last_purge_at
  from r, p
"""

# Sizes come from the catalogue (pg_total_relation_size needs no read right on the table).
PARTITIONS_SQL = """
select p.day,
       max(p.row_estimate) filter (where p.parent = 'flows') as flows,
       sum(pg_total_relation_size(to_regclass('flow.' || quote_ident(p.relname))))
         filter (where p.parent = 'flows')::bigint as flows_bytes,
       max(p.row_estimate) filter (where p.parent = 'nat_events') as nat_events,
       sum(pg_total_relation_size(to_regclass('flow.' || quote_ident(p.relname))))
         filter (where p.parent = 'nat_events')::bigint as nat_bytes,
       bool_and(p.closed) as closed,
       case when p.day > (now() at time zone 'UTC')::date then 'ahead'
            when bool_and(p.closed) then 'closed'
            else 'open' end as state
  from flow.partitions() p
 group by p.day
 order by p.day desc
"""

# Besides what was stored: what was lost or stored without its own time, per exporter (see the
# column comments of flow.collector_status).
COLLECTORS_SQL = """
select s.collector, host(s.exporter) as exporter, s.observation_domain, s.received, s.stored, s.dropped,
       s.malformed, s.spooled, s.rejected, s.unknown_sets, s.unreadable_times, s.sequence_gaps,
       s.sequence_missing, s.sampling_interval, s.last_seen, s.updated_at,
       s.last_seen is null or s.last_seen < now() - flow.stale_after() as stale
  from flow.collector_status s
 order by s.collector, s.exporter, s.observation_domain
"""

LOG_SQL = """
select l.id, l.logged_at, l.kind, l.retention::text as retention_text,
       (extract(year from l.retention) * 12 + extract(month from l.retention))::integer as months,
       extract(day from l.retention)::integer as days,
       l.retention <> make_interval(months => (extract(year from l.retention) * 12
                                                + extract(month from l.retention))::integer,
                                    days => extract(day from l.retention)::integer) as has_time,
       l.day, l.relation, l.row_count, l.db_role, l.detail
  from flow.retention_log l
 order by l.id desc
 limit %s
"""

IMPORTS_SQL = """
select i.id, i.file_name, i.format, host(i.exporter) as exporter, i.lines, i.events, i.ignored, i.rejected,
       i.expired, i.first_event, i.last_event, i.os_user, i.db_role, i.imported_at, i.finished_at
  from flow.nat_imports i
 order by i.id desc
 limit %s
"""


def routes() -> list[Route]:
    return [
        Route("/retention", web.staff_page(overview)),
        Route("/retention", web.staff_page(change_period), methods=["POST"]),
    ]


def period_text(page: Page, months: int, days: int) -> str:
    """The period as a person says it: 6 months, 190 days, 6 months and 5 days."""
    if days == 0 and months > 0:
        return page._("{n} months", n=months)
    if months == 0:
        return page._("{n} days", n=days)
    return page._("{n} months and {d} days", n=months, d=days)


def _period_of(page: Page, row: dict[str, Any]) -> str:
    """A row's interval (months, days, has_time, retention_text) in words; "" for none."""
    if row["retention_text"] is None:
        return ""
    if row["has_time"]:
        return str(row["retention_text"])
    return period_text(page, row["months"], row["days"])


def _form_values(summary: dict[str, Any]) -> dict[str, Any]:
    """The form shows the current period in months or in days; a mixed one (set from the command
    line) is not offered as a value."""
    if summary["has_time"] or (summary["months"] and summary["days"]):
        return {"amount": "", "unit": "months"}
    if summary["days"] == 0:
        return {"amount": str(summary["months"]), "unit": "months"}
    return {"amount": str(summary["days"]), "unit": "days"}


async def _page(
    page: Page, values: dict[str, Any] | None = None, errors: FormErrors | None = None
) -> Response:
    # The first query needs usage on the flow schema: staff other than administrators and
    # officers get the "not allowed" page here.
    summary = await web.fetch_one(page.conn, SUMMARY_SQL)
    assert summary is not None
    context = {
        "summary": summary,
        "period": _period_of(page, summary),
        "values": values or _form_values(summary),
        "errors": errors or FormErrors(),
        "units": UNITS,
        "partitions": await web.fetch_all(page.conn, PARTITIONS_SQL),
        "collectors": await web.fetch_all(page.conn, COLLECTORS_SQL),
        "log": [
            {**row, "period": _period_of(page, row)}
            for row in await web.fetch_all(page.conn, LOG_SQL, [LOG_SHOWN])
        ],
        "imports": await web.fetch_all(page.conn, IMPORTS_SQL, [IMPORTS_SHOWN]),
    }
    return page.render("retention.html", context, status_code=422 if errors else 200)


async def overview(page: Page) -> Response:
    return await _page(page)


async def change_period(page: Page) -> Response:
    amount_text, unit_text, confirm = page.field("amount"), page.field("unit"), page.checked("confirm")
    values: dict[str, Any] = {"amount": amount_text, "unit": unit_text, "confirm": confirm}
    errors = FormErrors()
    unit = unit_text if unit_text in UNITS else ""
    if not unit:
        errors.fields["retention"] = page._("Choose months or days.")
    elif not amount_text.isdigit() or len(amount_text) > 6:
        # The bounds (a day to ten years) are the database's to check (MG701), with its message.
        errors.fields["retention"] = page._("A whole number of months or days.")
    if not errors:
        amount = int(amount_text)
        interval = {"months": 0, "days": 0, unit: amount}
        before = await web.fetch_value(page.conn, "select flow.retention()")
        # A permission error (only administrators may change it) propagates: "not allowed".
        after, failed = await page.attempt(
            lambda: web.fetch_value(
                page.conn,
                "select flow.set_retention(make_interval(months => %s, days => %s), %s)",
                [interval["months"], interval["days"], confirm],
            )
        )
        if failed is None:
            period = period_text(page, interval["months"], interval["days"])
            if after == before:
                return web.redirect(
                    "/retention", page._("Nothing changed: the period is already {period}.", period=period)
                )
            return web.redirect("/retention", page._("The retention period is now {period}.", period=period))
        if failed.state == "MG702":
            errors = FormErrors(fields={"confirm": " ".join([*failed.general, *failed.fields.values()])})
        else:
            errors = FormErrors(fields={"retention": " ".join([*failed.general, *failed.fields.values()])})
    return await _page(page, values, errors)

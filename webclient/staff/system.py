"""Jobs (PLT-4), the bus (backlog, dead events, agents) and the audit history (PLT-3)."""

from __future__ import annotations

from typing import Any

from psycopg import sql
from starlette.responses import Response

from webclient import web
from webclient.web import Page

PAGE_SIZE = 50

JOBS_SQL = """
select j.id, j.kind, j.title, j.financial, j.state, j.progress, j.message, j.error, j.worker,
       j.created_at, j.started_at, j.finished_at, j.created_by, u.username, u.full_name
  from bus.jobs j
  left join auth.users u on u.id = j.created_by
 where j.id < %(before)s
 order by j.id desc
 limit %(limit)s
"""


def _before(page: Page) -> int:
    value = page.request.query_params.get("before", "")
    return int(value) if value.isdigit() else 2**62


async def _jobs(page: Page) -> dict[str, Any]:
    rows = await web.fetch_all(page.conn, JOBS_SQL, {"before": _before(page), "limit": PAGE_SIZE + 1})
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return {
        "jobs": rows,
        "live": any(r["state"] in ("queued", "running") for r in rows),
        "next_before": rows[-1]["id"] if more else None,
    }


async def jobs(page: Page) -> Response:
    return page.render("jobs.html", await _jobs(page))


async def job_rows(page: Page) -> Response:
    """The rows of the jobs table alone, fetched every 2 s while a job is queued or running."""
    context = await _jobs(page)
    response = page.render("jobs_rows.html", context)
    response.headers["x-mango-live"] = "1" if context["live"] else "0"
    return response


async def job_cancel(page: Page) -> Response:
    job_id = int(page.request.path_params["id"])
    _, failed = await page.attempt(lambda: page.conn.execute("select bus.cancel_job(%s)", [job_id]))
    if failed:
        return web.redirect("/jobs", " ".join([*failed.general, *failed.fields.values()]))
    return web.redirect("/jobs", page._("Job {id} cancelled.", id=job_id))


BACKLOG_SQL = """
select topic, count(*) as waiting,
       count(*) filter (where lease_until > now()) as claimed,
       count(*) filter (where attempts > 0 and last_error is not null) as retrying,
       min(created_at) as oldest
  from bus.events
 group by topic
 order by topic
"""

DEAD_SQL = """
select id, topic, entity, revision, attempts, last_error, created_at, died_at
  from bus.dead_events
 order by died_at desc, id desc
 limit 200
"""

AGENTS_SQL = """
select name, instance, host, pid, topics, started_at, last_seen_at, handled, failed,
       last_seen_at > now() - interval '1 minute' as alive
  from bus.agents
 order by name, instance
"""


async def bus(page: Page) -> Response:
    return page.render(
        "bus.html",
        {
            "backlog": await web.fetch_all(page.conn, BACKLOG_SQL),
            "dead": await web.fetch_all(page.conn, DEAD_SQL),
            "agents": await web.fetch_all(page.conn, AGENTS_SQL),
        },
    )


async def dead_retry(page: Page) -> Response:
    event_id = int(page.request.path_params["id"])
    _, failed = await page.attempt(lambda: page.conn.execute("select bus.retry_dead(%s)", [event_id]))
    if failed:
        return web.redirect("/bus", " ".join(failed.general))
    return web.redirect("/bus", page._("Event {id} is back in the queue.", id=event_id))


AUDITED_TABLES_SQL = """
select c.relnamespace::regnamespace::text || '.' || c.relname as name
  from pg_catalog.pg_trigger t
  join pg_catalog.pg_class c on c.oid = t.tgrelid
 where t.tgname = '_800_audit'
 order by 1
"""

AUDIT_SELECT = sql.SQL(
    "select id, changed_at, table_schema, table_name, record_id, operation, changes, db_role,"
    " user_id, username, user_full_name from audit.history"
)


async def audit(page: Page) -> Response:
    """History of changes, filtered by table, record and user, newest first (keyset by id)."""
    q = page.request.query_params
    table = q.get("table", "").strip()
    record = q.get("record", "").strip()
    username = q.get("user", "").strip()
    conditions: list[sql.Composable] = [sql.SQL("id < %(before)s")]
    params: dict[str, Any] = {"before": _before(page), "limit": PAGE_SIZE + 1}
    if table:
        schema, _, name = table.partition(".")
        conditions.append(sql.SQL("table_schema = %(schema)s and table_name = %(table)s"))
        params.update(schema=schema, table=name)
    if record:
        conditions.append(sql.SQL("record_id = %(record)s"))
        params["record"] = record
    if username:
        conditions.append(sql.SQL("user_id = (select u.id from auth.users u where u.username = %(user)s)"))
        params["user"] = username.lower()
    query = sql.SQL("{} where {} order by id desc limit %(limit)s").format(
        AUDIT_SELECT, sql.SQL(" and ").join(conditions)
    )
    rows = await web.fetch_all(page.conn, query, params)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    tables = [r["name"] for r in await web.fetch_all(page.conn, AUDITED_TABLES_SQL)]
    return page.render(
        "audit.html",
        {
            "rows": rows,
            "tables": tables,
            "filter": {"table": table, "record": record, "user": username},
            "next_before": rows[-1]["id"] if more else None,
        },
    )

"""The dashboard: the state of the platform at a glance and the latest changes."""

from __future__ import annotations

from starlette.responses import Response

from webclient import web
from webclient.staff.counts import count
from webclient.web import Page

# What the platform looks like: for the office roles, who read jobs, the bus and the audit
# history (a reporting or officer-only user sees the dashboard without them).
# (A role without usage on the schema cannot even name the table: ask about the schema first.)
MAY_SQL = (
    "select case when has_schema_privilege('bus', 'usage') then has_table_privilege('bus.jobs', 'select')"
    " else false end as platform"
)

# The bus counted up to a cap (a backlog can reach a million events), estimated above it.
COUNTS_SQL = """
select (select count(*) from auth.users where active) as active_users,
       (select count(*) from bus.jobs where state = 'running') as jobs_running,
       (select count(*) from bus.jobs where state = 'queued') as jobs_queued,
       (select count(*) from bus.jobs where state = 'failed' and finished_at >= current_date) as jobs_failed_today,
       (select count(*) from (select from bus.events limit 1001) as capped) as bus_backlog,
       (select count(*) from (select from bus.dead_events limit 1001) as capped) as dead_events,
       (select count(*) from bus.agents where last_seen_at > now() - interval '1 minute') as agents_alive,
       (select count(*) from bus.agents) as agents_known,
       (select max(last_seen_at) from bus.agents) as last_heartbeat
"""

AGENTS_SQL = """
select name, instance, host, pid, topics, started_at, last_seen_at, handled, failed,
       last_seen_at > now() - interval '1 minute' as alive
  from bus.agents
 order by name, instance
"""

RECENT_SQL = """
select id, changed_at, table_schema, table_name, record_id, operation, changes, username, user_full_name, db_role
  from audit.history
 order by id desc
 limit 8
"""


async def dashboard(page: Page) -> Response:
    may = await web.fetch_one(page.conn, MAY_SQL)
    if not (may and may["platform"]):
        return page.render("dashboard.html", {"counts": None, "agents": [], "recent": []})
    counts = await web.fetch_one(page.conn, COUNTS_SQL)
    assert counts is not None
    counts["bus_backlog"] = await count(page.conn, counts["bus_backlog"], "bus.events")
    counts["dead_events"] = await count(page.conn, counts["dead_events"], "bus.dead_events")
    agents = await web.fetch_all(page.conn, AGENTS_SQL)
    recent = await web.fetch_all(page.conn, RECENT_SQL)
    return page.render("dashboard.html", {"counts": counts, "agents": agents, "recent": recent})

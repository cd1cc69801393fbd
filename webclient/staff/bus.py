"""The bus (PLT-4): the backlog per topic, dead events (retry) and the agents seen."""

from __future__ import annotations

from starlette.responses import Response

from webclient import web
from webclient.web import Page

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

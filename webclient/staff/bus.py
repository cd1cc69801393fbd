"""The bus (PLT-4): the backlog per topic, dead events (retry) and the agents seen."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from webclient import web
from webclient.staff import counts
from webclient.web import Page

# The backlog per topic without reading a million waiting events: the topics by a skip scan of
# events_topic_idx, then of each topic its oldest counts.CAP + 1 events (agents claim the oldest
# first, so the claimed and retrying ones are among them), one statement per topic so that it is
# planned for that topic (a topic of five events is read by its index, not by walking past a
# million others in id order). A topic with more is shown with the planner's estimate of its size.
TOPICS_SQL = """
with recursive topics (topic) as (
  (select e.topic from bus.events e order by e.topic limit 1)
  union all
  select (select e.topic from bus.events e where e.topic > t.topic order by e.topic limit 1)
    from topics t where t.topic is not null
)
select topic from topics where topic is not null order by topic
"""
BACKLOG_SQL = """
select %(topic)s::text as topic, count(*) as waiting,
       count(*) filter (where e.lease_until > now()) as claimed,
       count(*) filter (where e.attempts > 0 and e.last_error is not null) as retrying,
       min(e.created_at) as oldest
  from (select e.lease_until, e.attempts, e.last_error, e.created_at
          from bus.events e where e.topic = %(topic)s order by e.id limit 1001) e
"""
TOPIC_EVENTS = "bus.events where topic = %s"


async def backlog(conn: web.Conn) -> list[dict[str, Any]]:
    """The backlog per topic (counts.count in ``waiting``)."""
    rows = []
    for topic in await web.fetch_all(conn, TOPICS_SQL):
        row = await web.fetch_one(conn, BACKLOG_SQL, {"topic": topic["topic"]})
        assert row is not None
        rows.append(row)
    return await counts.each(conn, rows, "waiting", TOPIC_EVENTS, "topic")


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
            "backlog": await backlog(page.conn),
            "cap": counts.CAP,
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

"""Background jobs (PLT-4): the list with progress, refreshed while a job runs, and cancelling."""

from __future__ import annotations

from typing import Any

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


async def _jobs(page: Page) -> dict[str, Any]:
    rows = await web.fetch_all(
        page.conn, JOBS_SQL, {"before": web.before_id(page.request), "limit": PAGE_SIZE + 1}
    )
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

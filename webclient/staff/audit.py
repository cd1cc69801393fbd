"""The audit history (PLT-3): every change, filtered by table, record and user, newest first."""

from __future__ import annotations

from typing import Any

from psycopg import sql
from starlette.responses import Response

from webclient import web
from webclient.web import Page

PAGE_SIZE = 50

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
    params: dict[str, Any] = {"before": web.before_id(page.request), "limit": PAGE_SIZE + 1}
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

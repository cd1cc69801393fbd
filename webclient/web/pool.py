"""The web role's connection pool and the small query helpers the pages use."""

from __future__ import annotations

import os
from typing import Any

from psycopg import AsyncConnection
from psycopg.abc import Params
from psycopg.abc import QueryNoTemplate as Query
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from db.settings import Settings
from webclient import i18n

Conn = AsyncConnection[Any]

# Every web session is in the zone of the business day (the operators', crm.business_zone), as the
# agents' are: `current_date` and the times pages show agree with crm.business_date.
BUSINESS_ZONE_SQL = "select set_config('TimeZone', crm.session_zone(), false)"


async def _in_business_zone(conn: Conn) -> None:
    await conn.execute(BUSINESS_ZONE_SQL)


def make_pool(settings: Settings) -> AsyncConnectionPool:
    """The web role's pool; opened and closed by the app's lifespan (then ``use_business_zone``)."""
    return AsyncConnectionPool(
        settings.role_conninfo("mango_web"),
        min_size=int(os.environ.get("MANGO_WEB_POOL_MIN", "2")),
        max_size=int(os.environ.get("MANGO_WEB_POOL_MAX", str(default_pool_max()))),
        kwargs={"autocommit": True, "application_name": "mango_web"},
        configure=_in_business_zone,
        open=False,
        name="mango_web",
    )


async def use_business_zone(pool: AsyncConnectionPool) -> None:
    """Show times in the zone of the pool's sessions (i18n.timezone), once it is open."""
    async with pool.connection() as conn:
        i18n.use_timezone(str(await fetch_value(conn, "select current_setting('TimeZone')")))


def default_pool_max() -> int:
    """Connections per worker so that all the workers (``MANGO_WEB_WORKERS``) hold about twice the
    cores: more only queue inside PostgreSQL, where waiting costs context switches, while waiting
    in the pool costs nothing (card benchmark, 2 workers on 2 cores: 2 per worker gave 1,080-1,140
    pages/s at p99 45-52 ms; 3 gave 1,000 at p99 75-100 ms; 4 fewer still)."""
    workers = max(1, int(os.environ.get("MANGO_WEB_WORKERS", "1")))
    return max(2, -(-2 * (os.cpu_count() or 2) // workers))


async def fetch_all(conn: Conn, query: Query, params: Params | None = None) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(query, params)
    return await cur.fetchall()


async def fetch_one(conn: Conn, query: Query, params: Params | None = None) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(query, params)
    return await cur.fetchone()


async def fetch_value(conn: Conn, query: Query, params: Params | None = None) -> Any:
    cur = await conn.execute(query, params)
    row = await cur.fetchone()
    return row[0] if row else None

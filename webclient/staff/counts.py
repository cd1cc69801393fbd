"""Counts for pages that would otherwise read whole tables at a million customers (the services of
a tariff, the values of a parameter, the bus backlog): exact up to ``CAP``, above it the planner's
estimate, shown as "about N".

A page's SQL counts ``(select count(*) from (select from … limit 1001) as capped)``, which reads
at most ``CAP + 1`` rows through an index; only a count above the cap costs a second statement,
``EXPLAIN`` of the same rows, which plans and reads nothing. Where a number must be exact at any size (a store's stock), the
database keeps it (``net.store_stock``).
"""

from __future__ import annotations

import math
from typing import Any, LiteralString

from psycopg import AsyncConnection

from webclient import web

CAP = 1000  # the pages' SQL counts to CAP + 1: limit 1001


def rounded(n: int) -> int:
    """An estimate to two significant digits (987,345 → 990,000): it is not more precise."""
    if n < 100:
        return n
    step = 10 ** (int(math.log10(n)) - 1)
    return int(round(n / step) * step)


async def estimate(conn: AsyncConnection[Any], rows: LiteralString, params: Any = None) -> int:
    """The planner's estimate of how many rows ``rows`` (``from … where …``) has."""
    plan = await web.fetch_value(conn, "explain (format json) select from " + rows, params)
    return int(plan[0]["Plan"]["Plan Rows"]) if plan else 0


async def count(
    conn: AsyncConnection[Any], counted: int, rows: LiteralString, params: Any = None
) -> dict[str, Any]:
    """What to show for a capped count: the number itself below the cap, else the estimate."""
    if counted <= CAP:
        return shown(counted, False)
    return shown(max(await estimate(conn, rows, params), CAP + 1), True)


def shown(n: int, estimated: bool) -> dict[str, Any]:
    """A count for the templates (``_counts.html``): an estimate is rounded and shown as "about N"."""
    return {"n": rounded(n) if estimated else n, "about": estimated}


async def each(
    conn: AsyncConnection[Any], rows: list[dict[str, Any]], key: str, estimated: LiteralString, by: str
) -> list[dict[str, Any]]:
    """Turn the capped count ``row[key]`` of every row into what to show; ``estimated`` is the
    rows counted (``from … where … = %s``) with the row's ``row[by]`` as the parameter."""
    for row in rows:
        row[key] = await count(conn, row[key], estimated, [row[by]])
    return rows

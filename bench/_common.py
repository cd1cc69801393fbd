"""What the benchmarks share: a progress line with the time, a percentile, and whether a database
exists."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import psycopg

from db.settings import Settings


def log(message: str) -> None:
    """Print a progress line, prefixed with the time of day."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile: the smallest value with at least p % of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered) / 100) - 1)]


def db_exists(settings: Settings, name: str) -> bool:
    """Whether the cluster has a database of this name."""
    with psycopg.connect(settings.admin_conninfo("postgres"), autocommit=True) as conn:
        return conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone() is not None


def staff_session(settings: Settings, dbname: str, username: str, roles: Sequence[str]) -> tuple[str, str]:
    """A staff user with these roles (made or given a new password) and a live session opened through
    auth.login as the web client opens it: its token and the database role it works as. A benchmark
    connection then does ``set mango.session = token`` and ``set role <db_role>``, as a request does."""
    import secrets

    password = secrets.token_urlsafe(18)
    with psycopg.connect(settings.admin_conninfo(dbname), autocommit=True) as conn:
        row = conn.execute("select id from auth.users where username = %s", [username]).fetchone()
        if row is None:
            conn.execute(
                "select auth.create_user(%s, %s, null, 'en', %s, %s)",
                [username, username, list(roles), password],
            )
        else:
            conn.execute("select auth.set_password(%s, %s)", [row[0], password])
        role = conn.execute("select db_role from auth.users where username = %s", [username]).fetchone()
    with psycopg.connect(settings.role_conninfo("mango_web", dbname), autocommit=True) as web:
        login = web.execute(
            "select status, token from auth.login(%s, %s, '127.0.0.1', 'bench')", [username, password]
        ).fetchone()
    if login is None or login[0] != "ok" or login[1] is None or role is None:
        raise SystemExit(f"bench login failed: {login}")
    return str(login[1]), str(role[0])


def act_as(conn: psycopg.Connection, session: tuple[str, str]) -> None:
    """Make a connection work as a signed-in staff user (see staff_session)."""
    token, role = session
    conn.execute("select set_config('mango.session', %s, false)", [token])
    conn.execute(f'set role "{role}"')

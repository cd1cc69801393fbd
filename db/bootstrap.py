"""Cluster bootstrap: roles, the database and its extensions. Idempotent; needs a superuser."""

from __future__ import annotations

import psycopg
from psycopg import sql

from db.settings import LOGIN_ROLES, Settings

STAFF_ROLES = ("admin", "billing", "support", "technician", "sales", "report")
# Group roles; none can log in. mango_owner owns every object and may create the per-user-set roles.
GROUP_ROLES = (
    "mango_owner",
    "mango_staff",
    *(f"mango_{r}" for r in STAFF_ROLES),
    "mango_partner",
    "mango_customer",
    "mango_flow",
    "mango_agent",
)
EXTENSIONS = ("plpython3u", "pgcrypto", "btree_gist", "pg_trgm", "citext")


def _role_exists(cur: psycopg.Cursor, role: str) -> bool:
    cur.execute("select 1 from pg_roles where rolname = %s", [role])
    return cur.fetchone() is not None


def _grant(cur: psycopg.Cursor, group: str, member: str) -> None:
    cur.execute(
        "select 1 from pg_auth_members m join pg_roles g on g.oid = m.roleid "
        "join pg_roles u on u.oid = m.member where g.rolname = %s and u.rolname = %s",
        [group, member],
    )
    if cur.fetchone() is None:
        cur.execute(sql.SQL("grant {} to {}").format(sql.Identifier(group), sql.Identifier(member)))


def ensure_roles(settings: Settings) -> None:
    """Create the group and login roles and their memberships; reset the login passwords."""
    with psycopg.connect(settings.admin_conninfo("postgres"), autocommit=True) as conn:
        cur = conn.cursor()
        for role in GROUP_ROLES:
            if not _role_exists(cur, role):
                cur.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))
        cur.execute("alter role mango_owner createrole")
        for role in LOGIN_ROLES:
            if not _role_exists(cur, role):
                cur.execute(sql.SQL("create role {} login").format(sql.Identifier(role)))
            cur.execute(
                sql.SQL("alter role {} login password {}").format(
                    sql.Identifier(role), sql.Literal(settings.secret(role))
                )
            )
        # The web client holds no rights of its own: it switches to the user's role per request.
        cur.execute("alter role mango_web noinherit")
        # The flow collector writes with COPY, which PostgreSQL refuses for a role subject to
        # row-level security; it is granted nothing but the flow tables (procedures/70_flow).
        cur.execute("alter role mango_agent_flowcollector bypassrls")
        _grant(cur, "mango_owner", "mango_migrator")
        for staff in STAFF_ROLES:
            _grant(cur, "mango_staff", f"mango_{staff}")
        # An administrator can do what every other staff role can.
        for staff in STAFF_ROLES:
            if staff != "admin":
                _grant(cur, f"mango_{staff}", "mango_admin")
        for role in ("mango_customer", "mango_partner"):
            _grant(cur, role, "mango_web")
        # Officers reach flows only through their own role (auth.role_for grants it to the web
        # client); mango_web itself must not be able to switch to the bare flow role.
        cur.execute(
            "select 1 from pg_auth_members m join pg_roles r on r.oid = m.roleid"
            " join pg_roles u on u.oid = m.member where r.rolname = 'mango_flow' and u.rolname = 'mango_web'"
        )
        if cur.fetchone():
            cur.execute("revoke mango_flow from mango_web")
        for role in LOGIN_ROLES:
            if role.startswith("mango_agent_"):
                _grant(cur, "mango_agent", role)


def ensure_database(settings: Settings, dbname: str | None = None) -> None:
    """Create the database (owned by mango_owner) and its extensions if missing."""
    dbname = dbname or settings.dbname
    with psycopg.connect(settings.admin_conninfo("postgres"), autocommit=True) as conn:
        cur = conn.cursor()
        cur.execute("select 1 from pg_database where datname = %s", [dbname])
        if cur.fetchone() is None:
            cur.execute(
                sql.SQL("create database {} owner mango_owner encoding 'UTF8' template template0").format(
                    sql.Identifier(dbname)
                )
            )
        cur.execute(sql.SQL("revoke all on database {} from public").format(sql.Identifier(dbname)))
        cur.execute(
            sql.SQL("grant connect, temporary on database {} to {}").format(
                sql.Identifier(dbname), sql.SQL(", ").join(sql.Identifier(r) for r in LOGIN_ROLES)
            )
        )
    with psycopg.connect(settings.admin_conninfo(dbname), autocommit=True) as conn:
        for ext in EXTENSIONS:
            conn.execute(sql.SQL("create extension if not exists {}").format(sql.Identifier(ext)))
        conn.execute("revoke create on schema public from public")
        conn.execute("grant usage on schema public to public")


def drop_database(settings: Settings, dbname: str) -> None:
    with psycopg.connect(settings.admin_conninfo("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname)))

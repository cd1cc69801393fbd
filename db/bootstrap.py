"""Cluster bootstrap: roles, the database and its extensions. Idempotent; needs a superuser.

The roles and why each exists (README, "Security in the database"):

- ``mango_owner`` owns every object. It cannot log in and holds no CREATEROLE, so code that runs
  as the owner (every security definer function) cannot create or grant roles.
- ``mango_role_maker`` holds CREATEROLE and owns one function, ``auth.create_staff_role``, which
  makes the database role of a set of staff roles (``mango_as_billing_support``) from the fixed
  list in ``auth.staff_roles``, and nothing else. Only the owner may call it.
- Staff group roles ``mango_<role>`` (one per row of ``auth.staff_roles``, made by
  :func:`ensure_staff_groups` after the migrations) hold the grants that procedures/ write.
  ``mango_office`` holds what every office role reads (customers, catalogue, network…);
  ``mango_self`` what every signed-in staff user may do about themselves.
- ``mango_staff`` is a marker that holds no privilege: every ``mango_as_*`` role is a member, and
  row-level policies for staff name it. PostgreSQL 15 lets a role ``SET ROLE`` to every role it
  reaches through memberships, so a ``mango_as_*`` role is not a member of any group: it holds the
  privileges of its groups directly (``auth.sync_staff_role`` copies them), and ``mango_web``,
  which is a member of the ``mango_as_*`` roles, reaches no group role.
- ``mango_web`` (NOINHERIT, no rights of its own) is the web client's login; agents log in each
  as their own role, members of ``mango_agent`` (the bus loop) except the flow collector.
- Login roles cannot create temporary objects (no TEMPORARY on the database): a temporary type or
  table can shadow names inside functions that run with other rights.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from db.settings import LOGIN_ROLES, Settings

# Roles that exist before any database does; the staff groups come from auth.staff_roles.
FIXED_ROLES = (
    "mango_owner",
    "mango_role_maker",
    "mango_staff",
    "mango_self",
    "mango_office",
    "mango_customer",
    "mango_partner",
    "mango_agent",
)
# Login roles of earlier releases that must not stay: mango_migrator was a member of the owner
# with its password in the secrets file (migrations run as the set-up's own connection).
RETIRED_ROLES = ("mango_migrator",)
EXTENSIONS = ("plpython3u", "pgcrypto", "btree_gist", "pg_trgm", "citext")


def _role_exists(cur: psycopg.Cursor, role: str) -> bool:
    cur.execute("select 1 from pg_roles where rolname = %s", [role])
    return cur.fetchone() is not None


def _is_member(cur: psycopg.Cursor, group: str, member: str) -> bool:
    cur.execute(
        "select 1 from pg_auth_members m join pg_roles g on g.oid = m.roleid "
        "join pg_roles u on u.oid = m.member where g.rolname = %s and u.rolname = %s",
        [group, member],
    )
    return cur.fetchone() is not None


def _grant(cur: psycopg.Cursor, group: str, member: str) -> None:
    if not _is_member(cur, group, member):
        cur.execute(sql.SQL("grant {} to {}").format(sql.Identifier(group), sql.Identifier(member)))


def _revoke(cur: psycopg.Cursor, group: str, member: str) -> None:
    if _is_member(cur, group, member):
        cur.execute(sql.SQL("revoke {} from {}").format(sql.Identifier(group), sql.Identifier(member)))


def ensure_roles(settings: Settings) -> None:
    """Create the fixed and login roles and their memberships. A login role's password is set
    only when the role is new, its secret was just generated, or the secret in the file does not
    log in: a working password is never changed (another install may share the cluster)."""
    with psycopg.connect(settings.admin_conninfo("postgres"), autocommit=True) as conn:
        cur = conn.cursor()
        for role in FIXED_ROLES:
            if not _role_exists(cur, role):
                cur.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))
        cur.execute("alter role mango_owner nocreaterole")
        cur.execute("alter role mango_role_maker createrole")
        for role in LOGIN_ROLES:
            is_new = not _role_exists(cur, role)
            if is_new:
                cur.execute(sql.SQL("create role {} login").format(sql.Identifier(role)))
            had_secret = settings.has_secret(role)
            secret = settings.ensure_secret(role)
            cur.execute(sql.SQL("alter role {} login nocreaterole nocreatedb").format(sql.Identifier(role)))
            if is_new or not had_secret or not _logs_in(settings, role):
                cur.execute(
                    sql.SQL("alter role {} password {}").format(sql.Identifier(role), sql.Literal(secret))
                )
        # The web client holds no rights of its own: it switches to the user's role per request.
        cur.execute("alter role mango_web noinherit")
        # The flow collector writes with COPY, which PostgreSQL refuses for a role subject to
        # row-level security; it is granted nothing but the flow tables (procedures/70_flow).
        cur.execute("alter role mango_agent_flowcollector bypassrls")
        for role in LOGIN_ROLES:
            if role.startswith("mango_agent_") and role != "mango_agent_flowcollector":
                _grant(cur, "mango_agent", role)
        # The collector faces the network: not even the bus loop's functions.
        _revoke(cur, "mango_agent", "mango_agent_flowcollector")
        for role in ("mango_customer", "mango_partner"):
            _grant(cur, role, "mango_web")
        _retire(cur, settings)


def _logs_in(settings: Settings, role: str) -> bool:
    """Whether the role's password in the secrets file logs in (over TCP, as the app does)."""
    try:
        with psycopg.connect(settings.role_conninfo(role, "postgres"), connect_timeout=5):
            return True
    except psycopg.OperationalError:
        return False


def _retire(cur: psycopg.Cursor, settings: Settings) -> None:
    for role in RETIRED_ROLES:
        if not _role_exists(cur, role):
            continue
        cur.execute(
            "select g.rolname from pg_auth_members m join pg_roles g on g.oid = m.roleid"
            " join pg_roles u on u.oid = m.member where u.rolname = %s",
            [role],
        )
        for (group,) in cur.fetchall():
            cur.execute(sql.SQL("revoke {} from {}").format(sql.Identifier(group), sql.Identifier(role)))
        cur.execute(sql.SQL("alter role {} nologin password null").format(sql.Identifier(role)))
        try:
            cur.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))
        except psycopg.errors.DependentObjectsStillExist:
            pass  # still named in another database's privileges; it can no longer log in
        settings.forget_secret(role)


def ensure_staff_groups(conn: psycopg.Connection) -> None:
    """The staff group roles of ``auth.staff_roles`` (after the migrations made that table):
    ``mango_<name>`` for each, office roles members of ``mango_office``, ``mango_admin`` a member
    of every role an administrator holds too; then the memberships of the ``mango_as_*`` roles
    and of the web client are brought to what they must be. Runs as the set-up's superuser."""
    rows = conn.execute(
        "select name, office, held_by_admin from auth.staff_roles order by position"
    ).fetchall()
    names = {name for name, _, _ in rows}
    cur = conn.cursor()
    for name, office, held_by_admin in rows:
        role = f"mango_{name}"
        if not _role_exists(cur, role):
            try:
                with conn.transaction():  # another set-up (a parallel test run) may make it meanwhile
                    cur.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))
            except (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
                pass
        (_grant if office else _revoke)(cur, "mango_office", role)
        _revoke(cur, "mango_staff", role)  # a group is never the marker's member
        if name != "admin":
            (_grant if held_by_admin else _revoke)(cur, role, "mango_admin")
    for group in ("mango_office", "mango_self"):
        _revoke(cur, "mango_staff", group)
    # A mango_as_* role is a member of the marker only (it holds its groups' privileges directly),
    # so that mango_web, a member of it, reaches no group role.
    cur.execute(
        "select r.rolname, g.rolname from pg_auth_members m join pg_roles g on g.oid = m.roleid"
        " join pg_roles r on r.oid = m.member where r.rolname like 'mango\\_as\\_%' and g.rolname <> 'mango_staff'"
    )
    for role, group in cur.fetchall():
        cur.execute(sql.SQL("revoke {} from {}").format(sql.Identifier(group), sql.Identifier(role)))
    # The web client is a member of mango_customer, mango_partner and of the mango_as_* roles whose
    # name is made of staff roles; anything else (a role a test left, a group an earlier release
    # granted) is revoked.
    cur.execute(
        "select g.rolname from pg_auth_members m join pg_roles g on g.oid = m.roleid"
        " join pg_roles u on u.oid = m.member where u.rolname = 'mango_web'"
    )
    for (group,) in cur.fetchall():
        if group in ("mango_customer", "mango_partner"):
            continue
        parts = group.removeprefix("mango_as_").split("_") if group.startswith("mango_as_") else []
        if parts and (parts == ["none"] or set(parts) <= names):
            continue
        cur.execute(sql.SQL("revoke {} from mango_web").format(sql.Identifier(group)))


def ensure_database(settings: Settings, dbname: str | None = None) -> bool:
    """Create the database (owned by mango_owner) and its extensions if missing; True when this
    call created it."""
    dbname = dbname or settings.dbname
    created = False
    with psycopg.connect(settings.admin_conninfo("postgres"), autocommit=True) as conn:
        cur = conn.cursor()
        cur.execute("select 1 from pg_database where datname = %s", [dbname])
        if cur.fetchone() is None:
            cur.execute(
                sql.SQL("create database {} owner mango_owner encoding 'UTF8' template template0").format(
                    sql.Identifier(dbname)
                )
            )
            created = True
        db = sql.Identifier(dbname)
        cur.execute(sql.SQL("revoke all on database {} from public").format(db))
        logins = sql.SQL(", ").join(sql.Identifier(r) for r in LOGIN_ROLES)
        # Connect only: no TEMPORARY for any login role (a temporary type or table shadows names).
        cur.execute(sql.SQL("revoke temporary, create on database {} from {}").format(db, logins))
        cur.execute(sql.SQL("grant connect on database {} to {}").format(db, logins))
    with psycopg.connect(settings.admin_conninfo(dbname), autocommit=True) as conn:
        for ext in EXTENSIONS:
            conn.execute(sql.SQL("create extension if not exists {}").format(sql.Identifier(ext)))
        conn.execute("revoke create on schema public from public")
        conn.execute("grant usage on schema public to public")
    return created


DEMO_ALLOWED = "demo_allowed"


def allow_demo(settings: Settings, dbname: str | None = None) -> None:
    """Record that the set-up created this database, so `mango demo` may load into it."""
    with psycopg.connect(settings.admin_conninfo(dbname), autocommit=True) as conn:
        conn.execute(
            "insert into auth.settings (key, value, description) values (%s, 'true',"
            " 'The set-up created this database: the demo data may be loaded into it.')"
            " on conflict (key) do nothing",
            [DEMO_ALLOWED],
        )


def drop_database(settings: Settings, dbname: str) -> None:
    with psycopg.connect(settings.admin_conninfo("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname)))

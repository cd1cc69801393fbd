"""`mango migrate`: alembic (frozen SQL for tables) then every file of procedures/, in one transaction.

procedures/ is a managed list: what its files define (functions and procedures, views, triggers,
policies) is recorded while they are applied, and whatever an earlier apply recorded that no file
defines any more is dropped at the end of the same transaction. A file that stops defining a
function is enough to remove it; no ``drop function if exists`` is left behind for it.

How: before the first file, the set-up's superuser connection creates an event trigger (for this
transaction only: it is dropped before the commit, so no other session ever sees it) that writes
the address of every such object a ``CREATE`` statement makes or replaces into a temporary table.
After the last file, the objects of those kinds in the owner's schemas that the previous apply
recorded (``public.mango_managed_objects``, which only the set-up's role can write) and that were
not made again are dropped (``restrict``: if something that stays still uses one, nothing is
applied and the error says what uses it); then the list becomes what this apply made.

Objects of the migrations (tables, constraints, indexes) and of extensions are not managed. A
database of a release before the list was kept has no list yet: the first apply takes every
function, view, trigger and policy of the owner's schemas as the previous apply's (before this
list every one of them came from procedures/; the frozen migrations define none).
"""

from __future__ import annotations

import logging
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config

from db.settings import ROOT, Settings

PROCEDURES = ROOT / "procedures"
MANAGED_TABLE = "public.mango_managed_objects"

log = logging.getLogger("mango.migrate")

# Every function, procedure, aggregate, view, trigger and policy in a schema the owner owns, except
# those of extensions and the clones of a partitioned table's trigger, with the address that
# pg_identify_object_as_address gives it (stable when the object is dropped and made again).
_OURS = """
create temporary view mango_ours as
select a.type, a.object_names, a.object_args, o.classid, o.objid
  from (select 'pg_catalog.pg_proc'::pg_catalog.regclass, p.oid, p.pronamespace
          from pg_catalog.pg_proc as p
        union all
        select 'pg_catalog.pg_class'::pg_catalog.regclass, c.oid, c.relnamespace
          from pg_catalog.pg_class as c
         where c.relkind = 'v'
        union all
        select 'pg_catalog.pg_trigger'::pg_catalog.regclass, t.oid, c.relnamespace
          from pg_catalog.pg_trigger as t
          join pg_catalog.pg_class as c on c.oid = t.tgrelid
         where not t.tgisinternal and t.tgparentid = 0
        union all
        select 'pg_catalog.pg_policy'::pg_catalog.regclass, p.oid, c.relnamespace
          from pg_catalog.pg_policy as p
          join pg_catalog.pg_class as c on c.oid = p.polrelid) as o (classid, objid, nsp)
  join pg_catalog.pg_namespace as n on n.oid = o.nsp
  join pg_catalog.pg_roles as r on r.oid = n.nspowner and r.rolname = 'mango_owner'
 cross join lateral pg_catalog.pg_identify_object_as_address(o.classid, o.objid, 0) as a
 where not exists (select from pg_catalog.pg_depend as d
                    where d.classid = o.classid and d.objid = o.objid and d.deptype = 'e');
"""

_START = """
create event trigger mango_record_procedures on ddl_command_end
  when tag in ('CREATE FUNCTION', 'CREATE PROCEDURE', 'CREATE AGGREGATE', 'CREATE VIEW', 'CREATE TRIGGER',
               'CREATE POLICY')
  execute function pg_temp.mango_record_procedures();
"""

_RECORDER = """
create temporary table mango_applied (type text, object_names text[], object_args text[]) on commit drop;
create temporary table mango_previous (type text, object_names text[], object_args text[]) on commit drop;
-- The files switch between the owner and the set-up's role: both write here.
grant insert on pg_temp.mango_applied to public;
create function pg_temp.mango_record_procedures() returns event_trigger
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
begin
  insert into pg_temp.mango_applied (type, object_names, object_args)
  select a.type, a.object_names, a.object_args
    from pg_catalog.pg_event_trigger_ddl_commands() as c
   cross join lateral pg_catalog.pg_identify_object_as_address(c.classid, c.objid, c.objsubid) as a;
end;
$$;
grant execute on function pg_temp.mango_record_procedures() to public;
"""

_LIST = """
create table public.mango_managed_objects (
    type text not null,
    object_names text [] not null,
    object_args text [] not null,
    primary key (type, object_names, object_args)
);
comment on table public.mango_managed_objects is
'What procedures/ defined at its last apply (functions, views, triggers, policies, by their address):
db/migrate.py drops what an apply no longer makes. Written by the set-up only.';
alter table public.mango_managed_objects enable row level security;
revoke all on table public.mango_managed_objects from public;
"""

# The objects recorded by the previous apply that this apply did not make again, with what to
# drop them by and how to name them.
_STALE = """
select case o.classid when 'pg_catalog.pg_proc'::pg_catalog.regclass then 'routine'
                        when 'pg_catalog.pg_class'::pg_catalog.regclass then 'view' end,
       o.objid, i.type || ' ' || i.identity,
       case o.classid
         when 'pg_catalog.pg_proc'::pg_catalog.regclass
           then pg_catalog.format('drop routine %s', o.objid::pg_catalog.regprocedure)
         when 'pg_catalog.pg_class'::pg_catalog.regclass
           then pg_catalog.format('drop view %s', o.objid::pg_catalog.regclass)
         when 'pg_catalog.pg_trigger'::pg_catalog.regclass
           then (select pg_catalog.format('drop trigger %I on %s', t.tgname, t.tgrelid::pg_catalog.regclass)
                   from pg_catalog.pg_trigger as t where t.oid = o.objid)
         else (select pg_catalog.format('drop policy %I on %s', p.polname, p.polrelid::pg_catalog.regclass)
                 from pg_catalog.pg_policy as p where p.oid = o.objid)
       end
  from pg_temp.mango_ours as o
 cross join lateral pg_catalog.pg_identify_object(o.classid, o.objid, 0) as i
 where exists (select from pg_temp.mango_previous as m
                where (m.type, m.object_names, m.object_args) = (o.type, o.object_names, o.object_args))
   and not exists (select from pg_temp.mango_applied as m
                    where (m.type, m.object_names, m.object_args) = (o.type, o.object_names, o.object_args))
 order by 3
"""

# PL/pgSQL and string SQL bodies record no dependency: a function that stays and names a routine or
# a view about to be dropped (always schema-qualified: every function's search_path is pg_catalog,
# pg_temp) is found in its source, unless another overload of that routine's name stays.
_USERS = """
with gone as (
  select n.nspname, p.proname as name, p.pronamespace as nsp, true as routine,
         p.oid::pg_catalog.regprocedure::text as what
    from pg_catalog.pg_proc as p
    join pg_catalog.pg_namespace as n on n.oid = p.pronamespace
   where p.oid = any(%(routines)s::pg_catalog.oid [])
  union all
  select n.nspname, c.relname, c.relnamespace, false, 'view ' || c.oid::pg_catalog.regclass::text
    from pg_catalog.pg_class as c
    join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
   where c.oid = any(%(views)s::pg_catalog.oid [])
),
staying as (
  select p.*
    from pg_temp.mango_ours as o
    join pg_catalog.pg_proc as p on o.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass and p.oid = o.objid
   where p.oid <> all(%(routines)s::pg_catalog.oid [])
)
select s.oid::pg_catalog.regprocedure::text, g.what
  from gone as g
  join staying as s
    on s.prosrc ~* ('\\m' || pg_catalog.regexp_replace(g.nspname || '.' || g.name, '(\\W)', '\\\\\\1', 'g')
                    || case when g.routine then '\\s*\\(' else '\\M' end)
 where not (g.routine and exists (select from staying as k where k.pronamespace = g.nsp and k.proname = g.name))
 order by 1, 2
"""

_KEEP = """
with made as (
  select distinct o.type, o.object_names, o.object_args
    from pg_temp.mango_ours as o
   where exists (select from pg_temp.mango_applied as m
                  where (m.type, m.object_names, m.object_args) = (o.type, o.object_names, o.object_args))
),
dropped as (
  delete from public.mango_managed_objects as l
   where not exists (select from made as m
                      where (m.type, m.object_names, m.object_args) = (l.type, l.object_names, l.object_args))
)
insert into public.mango_managed_objects (type, object_names, object_args)
select m.type, m.object_names, m.object_args
  from made as m
 where not exists (select from public.mango_managed_objects as l
                    where (l.type, l.object_names, l.object_args) = (m.type, m.object_names, m.object_args))
"""


def alembic_config(conninfo: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["conninfo"] = conninfo
    return cfg


def procedure_files() -> list[Path]:
    """Every procedures/ file in folder order (folders and files sorted by name)."""
    return sorted(p for p in PROCEDURES.rglob("*.sql") if p.is_file())


def _start_recording(conn: psycopg.Connection) -> None:
    """As the set-up's superuser: the recorder, and the previous apply's list (or, in a database
    that never kept one, every object of the managed kinds it has)."""
    if conn.execute("show is_superuser").fetchone() != ("on",):
        raise SystemExit(
            "migrate needs a superuser connection (DATABASE_URL's role): it records what procedures/ makes"
            " with an event trigger"
        )
    conn.execute(_RECORDER)
    conn.execute(_OURS)
    conn.execute(_START)  # waits for a concurrent migrate of the same database to end
    if conn.execute("select pg_catalog.to_regclass(%s)", [MANAGED_TABLE]).fetchone() == (None,):
        conn.execute(_LIST)
        conn.execute(
            "insert into pg_temp.mango_previous select type, object_names, object_args from pg_temp.mango_ours"
        )
    else:
        conn.execute(
            "insert into pg_temp.mango_previous select type, object_names, object_args from public.mango_managed_objects"
        )


def _drop_stale(conn: psycopg.Connection) -> list[str]:
    """As the set-up's superuser, after the last file: drop what the previous apply made and this
    one did not; keep the list of what this one made. Returns what was dropped."""
    conn.execute("drop event trigger mango_record_procedures")
    conn.execute("set local search_path = pg_catalog, pg_temp")  # names in the drops come qualified
    stale = conn.execute(_STALE).fetchall()
    gone = {kind: [objid for k, objid, _, _ in stale if k == kind] for kind in ("routine", "view")}
    users = conn.execute(_USERS, {"routines": gone["routine"], "views": gone["view"]}).fetchall()
    if users:
        uses = "; ".join(f"{user} uses {what}" for user, what in users)
        raise SystemExit(
            f"procedures/: no file defines these any more, but functions that stay use them ({uses}):"
            " define them again or change what uses them first (nothing was applied)"
        )
    pending = [(what, drop) for _, _, what, drop in stale]
    dropped: list[str] = []
    while pending:
        refused: list[tuple[str, str, str]] = []
        for what, drop in pending:
            try:
                with conn.transaction():
                    conn.execute(drop)
            except psycopg.errors.DependentObjectsStillExist as exc:
                refused.append((what, drop, exc.diag.message_detail or str(exc)))
            else:
                dropped.append(what)
                log.info("dropped %s: no procedures/ file defines it any more", what)
        if len(refused) == len(pending):  # what is left is used by something that stays
            uses = "; ".join(f"{what}: {detail}" for what, _, detail in refused)
            raise SystemExit(
                "procedures/: no file defines these objects any more, but objects that stay still use them"
                f" ({uses}): define them again or change what uses them first (nothing was applied)"
            )
        pending = [(what, drop) for what, drop, _ in refused]
    conn.execute(_KEEP)
    return dropped


def apply_procedures(conninfo: str, files: list[Path] | None = None) -> int:
    """Re-apply procedures/ in one transaction as the owner, after making the staff group roles of
    auth.staff_roles (as the set-up's superuser); drop what the previous apply made and no file
    makes any more (see the module's docstring); then every mango_as_* role in use gets its groups'
    privileges again (auth.sync_staff_roles), since the files revoke and re-grant them all.
    ``files`` is the whole set: what none of them makes is dropped."""
    from db.bootstrap import ensure_staff_groups

    files = procedure_files() if files is None else files
    with psycopg.connect(conninfo) as conn:
        with conn.transaction():
            ensure_staff_groups(conn)
            _start_recording(conn)
            conn.execute("set local role mango_owner")
            conn.execute("set local check_function_bodies = on")
            for path in files:
                try:
                    conn.execute(path.read_text())  # type: ignore[arg-type]
                except psycopg.Error as exc:
                    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
                    raise SystemExit(f"{where}: {exc}") from exc
            conn.execute("set local role none")
            _drop_stale(conn)
            conn.execute("set local role mango_owner")
            conn.execute("select auth.sync_staff_roles()")
    return len(files)


def migrate(settings: Settings, dbname: str | None = None, revision: str = "head") -> int:
    conninfo = settings.admin_conninfo(dbname)
    command.upgrade(alembic_config(conninfo), revision)
    return apply_procedures(conninfo)

"""`mango lint-sql`: plpgsql_check every PL/pgSQL function of our schemas in the database.

sqlfluff sees a function body as an opaque string; plpgsql_check compiles it against the real
catalogue (tables, columns, types, called functions). Trigger functions are checked once for each
table they are attached to (with its transition tables), so `new.column` is resolved against that
table. Errors fail the
check; warnings are listed.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TextIO

import psycopg

from db.settings import Settings

# Our schemas are the ones the migrations create, owned by mango_owner (the test helpers' schema
# and extensions' schemas are not).
OWNER = "mango_owner"

FUNCTIONS_SQL = """
select distinct p.oid::regprocedure::text as function, t.tgrelid::regclass::text as relation, p.oid, t.tgrelid,
       t.tgoldtable as oldtable, t.tgnewtable as newtable,
       p.prorettype = 'pg_catalog.trigger'::pg_catalog.regtype as is_trigger
  from pg_catalog.pg_proc p
  join pg_catalog.pg_namespace n on n.oid = p.pronamespace
  join pg_catalog.pg_language l on l.oid = p.prolang
  left join pg_catalog.pg_trigger t
    on t.tgfoid = p.oid and not t.tgisinternal
   and p.prorettype = 'pg_catalog.trigger'::pg_catalog.regtype
 where l.lanname = 'plpgsql'
   and pg_catalog.pg_get_userbyid(n.nspowner) = %(owner)s
 order by 1, 2, 5, 6
"""

CHECK_SQL = """
select lineno, statement, sqlstate, message, detail, hint, level, query
  from public.plpgsql_check_function_tb(
         %(oid)s::pg_catalog.regprocedure, coalesce(%(relid)s, 0)::pg_catalog.oid::pg_catalog.regclass,
         fatal_errors => false, other_warnings => true, performance_warnings => false,
         extra_warnings => true, security_warnings => true,
         oldtable => %(oldtable)s, newtable => %(newtable)s)
"""


@dataclass(frozen=True)
class Finding:
    function: str
    relation: str | None
    level: str
    lineno: int | None
    sqlstate: str | None
    message: str
    detail: str | None
    hint: str | None
    query: str | None

    @property
    def is_error(self) -> bool:
        return self.level == "error"

    def format(self) -> str:
        where = self.function + (f" on {self.relation}" if self.relation else "")
        line = f" line {self.lineno}" if self.lineno else ""
        text = f"{self.level}: {where}{line}: {self.message} [{self.sqlstate or '-'}]"
        for label, extra in (("detail", self.detail), ("hint", self.hint), ("query", self.query)):
            if extra:
                text += f"\n    {label}: {' '.join(extra.split())}"
        return text


def check_database(conn: psycopg.Connection) -> tuple[list[Finding], int]:
    """All findings of plpgsql_check on our PL/pgSQL functions, and how many functions were checked."""
    conn.execute("create extension if not exists plpgsql_check")
    findings: list[Finding] = []
    seen: set[tuple[str, str | None, int | None, str]] = set()
    checked = 0
    rows = conn.execute(FUNCTIONS_SQL, {"owner": OWNER}).fetchall()
    for function, relation, oid, relid, oldtable, newtable, is_trigger in rows:
        if is_trigger and relid is None:
            # A trigger function attached to no table cannot be checked (its row type is unknown).
            findings.append(
                Finding(
                    function,
                    None,
                    "warning",
                    None,
                    None,
                    "trigger function is not attached to any table",
                    None,
                    None,
                    None,
                )
            )
            continue
        checked += 1
        for lineno, _stmt, sqlstate, message, detail, hint, level, query in conn.execute(
            CHECK_SQL, {"oid": oid, "relid": relid, "oldtable": oldtable, "newtable": newtable}
        ):
            key = (function, relation, lineno, message)
            if key in seen:
                continue
            seen.add(key)
            findings.append(
                Finding(function, relation, level, lineno, sqlstate, message, detail, hint, query)
            )
    return findings, checked


def plpgsql_check(settings: Settings, out: TextIO | None = None) -> int:
    """Check every PL/pgSQL function of our schemas; print findings; 1 if any is an error, else 0."""
    out = out or sys.stdout
    with psycopg.connect(settings.admin_conninfo(), autocommit=True) as conn:
        findings, checked = check_database(conn)
    for finding in findings:
        print(finding.format(), file=out)
    errors = sum(f.is_error for f in findings)
    print(
        f"plpgsql_check: {checked} function checks in {settings.dbname}, "
        f"{errors} errors, {len(findings) - errors} warnings",
        file=out,
    )
    return 1 if errors else 0

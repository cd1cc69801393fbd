"""plpgsql_check over every PL/pgSQL function of the test database (what `mango lint-sql` runs)."""

from __future__ import annotations

import io

import psycopg

from db.lint import check_database, plpgsql_check
from db.settings import Settings


def test_every_plpgsql_function_passes_plpgsql_check(settings: Settings) -> None:
    out = io.StringIO()
    status = plpgsql_check(settings, out=out)
    assert status == 0, out.getvalue()
    assert "0 errors" in out.getvalue()


def test_lint_reports_a_function_that_reads_a_missing_column(db: psycopg.Connection) -> None:
    db.execute(
        """
        create function crm.lint_probe() returns integer language plpgsql set search_path = pg_catalog, pg_temp as $$
        begin
          return (select no_such_column from crm.operators limit 1);
        end;
        $$
        """
    )
    findings, checked = check_database(db)
    probe = [f for f in findings if f.function == "crm.lint_probe()"]
    assert checked > 1
    assert [f.level for f in probe] == ["error"]
    assert "no_such_column" in probe[0].message


def test_lint_checks_trigger_functions_against_their_table(db: psycopg.Connection) -> None:
    db.execute(
        """
        create function crm.tg_operators__lint_probe() returns trigger language plpgsql set search_path = pg_catalog, pg_temp as $$
        begin
          new.no_such_column := 1;
          return new;
        end;
        $$;
        create trigger _999_lint_probe before update on crm.operators
        for each row execute function crm.tg_operators__lint_probe();
        """
    )
    findings, _ = check_database(db)
    probe = [f for f in findings if f.function == "crm.tg_operators__lint_probe()"]
    assert [(f.level, f.relation) for f in probe] == [("error", "crm.operators")]

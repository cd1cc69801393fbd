"""Migrations: procedures are idempotent and all-or-nothing; a database built in one step equals one
upgraded revision by revision, and the previous release's database upgraded with this code equals a
fresh build; what a procedures file stops defining is dropped. Each test builds its own scratch
databases and drops them."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy.exc
from alembic import command
from alembic.script import ScriptDirectory

from db import bootstrap, migrate
from db.settings import ROOT, Settings
from mango import cli

ScratchFactory = Callable[[str], str]


@pytest.fixture
def scratch(settings: Settings) -> Iterator[ScratchFactory]:
    """Make empty databases (roles and extensions, no migrations) named with the pid; drop them after."""
    made: list[str] = []

    def make(suffix: str) -> str:
        name = f"mango_scratch_{os.getpid()}_{suffix}"
        bootstrap.drop_database(settings, name)
        bootstrap.ensure_database(settings, name)
        made.append(name)
        return name

    yield make
    for name in made:
        bootstrap.drop_database(settings, name)


def _pg_dump(settings: Settings, dbname: str, *args: str) -> str:
    pg_dump = shutil.which("pg_dump") or "pg_dump"
    out = subprocess.run(
        [pg_dump, *args, "--dbname", settings.admin_conninfo(dbname)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return _normalise(out)


def _normalise(dump: str) -> str:
    """Drop comments, blank lines and pg_dump's per-run restrict keys: what is left is the schema."""
    lines = []
    for line in dump.splitlines():
        if not line.strip() or line.startswith("--") or re.match(r"^\\(un)?restrict\b", line):
            continue
        lines.append(line.rstrip())
    return "\n".join(lines)


def schema_of(settings: Settings, dbname: str) -> str:
    return _pg_dump(settings, dbname, "--schema-only")


def data_of(settings: Settings, dbname: str) -> str:
    return _pg_dump(settings, dbname, "--data-only", "--exclude-table-data=audit.records")


def _assert_same(before: str, after: str, what: str) -> None:
    if before != after:
        import difflib

        diff = "\n".join(
            difflib.unified_diff(before.splitlines(), after.splitlines(), "before", "after", lineterm="", n=2)
        )
        pytest.fail(f"{what} differ:\n{diff[:6000]}")


def test_second_migrate_changes_nothing(
    settings: Settings, scratch: ScratchFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    name = scratch("twice")
    assert cli.main(["--database", name, "migrate"]) == 0
    first = capsys.readouterr().out
    schema, data = schema_of(settings, name), data_of(settings, name)

    assert cli.main(["--database", name, "migrate"]) == 0
    second = capsys.readouterr().out

    count = len(migrate.procedure_files())
    assert f"{name}: migrations at head, {count} procedure files applied" in first
    assert second.strip().splitlines()[-1] == first.strip().splitlines()[-1]
    _assert_same(schema, schema_of(settings, name), "schemas after the first and the second migrate")
    _assert_same(data, data_of(settings, name), "data after the first and the second migrate")


def test_database_built_at_once_equals_one_upgraded_step_by_step(
    settings: Settings, scratch: ScratchFactory
) -> None:
    at_once, stepwise = scratch("head"), scratch("steps")
    command.upgrade(migrate.alembic_config(settings.admin_conninfo(at_once)), "head")

    cfg = migrate.alembic_config(settings.admin_conninfo(stepwise))
    revisions = list(reversed(list(ScriptDirectory.from_config(cfg).walk_revisions("base", "heads"))))
    assert revisions, "no alembic revisions found"
    for revision in revisions:
        command.upgrade(cfg, revision.revision)
        with psycopg.connect(settings.admin_conninfo(stepwise)) as conn:
            row = conn.execute("select version_num from alembic_version").fetchone()
        assert row == (revision.revision,)

    _assert_same(
        schema_of(settings, at_once), schema_of(settings, stepwise), "tables built at once and stepwise"
    )

    for name in (at_once, stepwise):
        migrate.apply_procedures(settings.admin_conninfo(name))
    _assert_same(
        schema_of(settings, at_once),
        schema_of(settings, stepwise),
        "databases with procedures, at once and stepwise",
    )


def test_a_broken_procedure_file_applies_nothing(
    settings: Settings, scratch: ScratchFactory, tmp_path: Path
) -> None:
    name = scratch("broken")
    migrate.migrate(settings, name)
    schema = schema_of(settings, name)

    probe = tmp_path / "00_probe.sql"
    probe.write_text(
        "create or replace function crm.migrate_probe() returns integer language sql immutable"
        " set search_path = pg_catalog, pg_temp as 'select 1';\n"
        "comment on schema crm is 'changed by a migration that failed';\n"
    )
    broken = tmp_path / "99_broken.sql"
    broken.write_text("create or replace function crm.broken( returns integer;\n")

    with pytest.raises(SystemExit) as failed:
        migrate.apply_procedures(settings.admin_conninfo(name), [probe, *migrate.procedure_files(), broken])
    assert "99_broken.sql" in str(failed.value)

    with psycopg.connect(settings.admin_conninfo(name)) as conn:
        row = conn.execute(
            "select to_regprocedure('crm.migrate_probe()'), obj_description('crm'::regnamespace, 'pg_namespace')"
        ).fetchone()
    assert row is not None
    assert row[0] is None, "the probe function of the failed run was left behind"
    assert row[1] != "changed by a migration that failed"
    _assert_same(schema, schema_of(settings, name), "schemas before and after a failed procedures run")


# A file the tests add to procedures/: one of each managed kind, on a table of the migrations.
PROBE = {
    "kept": """
create or replace function crm.migrate_probe_kept() returns integer language sql immutable
set search_path = pg_catalog, pg_temp as 'select 1';
""",
    "function": """
create or replace function crm.migrate_probe_gone(p_id bigint) returns integer language sql immutable
set search_path = pg_catalog, pg_temp as 'select 2';
""",
    "view": """
create or replace view crm.migrate_probe_view as select crm.migrate_probe_kept() as one;
""",
    "trigger": """
create or replace function crm.tg_customers__migrate_probe() returns trigger language plpgsql volatile
set search_path = pg_catalog, pg_temp as 'begin return new; end';
create or replace trigger _999_migrate_probe before update on crm.customers
for each row execute function crm.tg_customers__migrate_probe();
""",
    "policy": """
drop policy if exists migrate_probe_none on crm.customers;
create policy migrate_probe_none on crm.customers for select to mango_owner using (false);
""",
    "caller": """
create or replace function crm.migrate_probe_caller() returns integer language plpgsql stable
set search_path = pg_catalog, pg_temp as 'begin return crm.migrate_probe_gone (7); end';
""",
    "reader": """
create or replace function crm.migrate_probe_reader() returns integer language plpgsql stable
set search_path = pg_catalog, pg_temp as 'begin return (select v.one from crm.migrate_probe_view v); end';
""",
}
PROBE_OBJECTS = """
select to_regprocedure('crm.migrate_probe_kept()') is not null as kept,
       to_regprocedure('crm.migrate_probe_gone(bigint)') is not null as function,
       to_regclass('crm.migrate_probe_view') is not null as view,
       exists (select from pg_trigger where tgname = '_999_migrate_probe') as trigger,
       to_regprocedure('crm.tg_customers__migrate_probe()') is not null as trigger_function,
       exists (select from pg_policy where polname = 'migrate_probe_none') as policy,
       to_regprocedure('crm.migrate_probe_caller()') is not null as caller,
       to_regprocedure('crm.migrate_probe_reader()') is not null as reader
"""


def _probe_objects(settings: Settings, name: str) -> dict[str, bool]:
    with psycopg.connect(settings.admin_conninfo(name)) as conn:
        cur = conn.execute(PROBE_OBJECTS)
        row = cur.fetchone()
        assert row is not None and cur.description is not None
        return {column.name: bool(value) for column, value in zip(cur.description, row, strict=True)}


def _apply_with(settings: Settings, name: str, probe: Path, *parts: str) -> None:
    probe.write_text("\n".join(PROBE[part] for part in parts))
    migrate.apply_procedures(settings.admin_conninfo(name), [*migrate.procedure_files(), probe])


def test_what_a_procedures_file_stops_defining_is_dropped(
    settings: Settings, scratch: ScratchFactory, tmp_path: Path
) -> None:
    name = scratch("managed")
    migrate.migrate(settings, name)
    schema = schema_of(settings, name)
    probe = tmp_path / "99_probe.sql"

    _apply_with(settings, name, probe, *PROBE)
    assert all(_probe_objects(settings, name).values())

    _apply_with(settings, name, probe, "kept", "view")
    assert _probe_objects(settings, name) == {
        "kept": True,
        "function": False,
        "view": True,
        "trigger": False,
        "trigger_function": False,
        "policy": False,
        "caller": False,
        "reader": False,
    }

    migrate.apply_procedures(settings.admin_conninfo(name))
    assert not any(_probe_objects(settings, name).values())
    _assert_same(schema, schema_of(settings, name), "schemas before the probe and after it was removed")


def test_a_function_no_file_defines_but_something_uses_is_refused(
    settings: Settings, scratch: ScratchFactory, tmp_path: Path
) -> None:
    """A view (a recorded dependency) or a PL/pgSQL function (its source names it) that stays still
    uses a function or view a file stopped defining: the apply stops, says who uses what, changes
    nothing."""
    name = scratch("refused")
    migrate.migrate(settings, name)
    probe = tmp_path / "99_probe.sql"
    _apply_with(settings, name, probe, *PROBE)
    schema = schema_of(settings, name)

    with pytest.raises(SystemExit) as refused:
        _apply_with(settings, name, probe, "view", "function", "trigger", "policy", "caller", "reader")
    assert "crm.migrate_probe_kept()" in str(refused.value)
    assert "view crm.migrate_probe_view depends on function crm.migrate_probe_kept()" in str(refused.value)
    _assert_same(schema, schema_of(settings, name), "schemas before and after a refused apply")

    with pytest.raises(SystemExit) as refused:
        _apply_with(settings, name, probe, "kept", "view", "caller")
    assert "crm.migrate_probe_caller() uses crm.migrate_probe_gone(bigint)" in str(refused.value)
    assert _probe_objects(settings, name)["function"]

    with pytest.raises(SystemExit) as refused:
        _apply_with(settings, name, probe, "kept", "reader")
    assert "crm.migrate_probe_reader() uses view crm.migrate_probe_view" in str(refused.value)
    assert _probe_objects(settings, name)["view"]


def _git(*args: str) -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    done = subprocess.run([git, "-C", str(ROOT), *args], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def previous_release() -> tuple[str, str]:
    """The commit of the previous release and how it was found: the newest tag before HEAD, else the
    parent of the newest commit that changed migrations/versions. Skips when history is missing."""
    if _git("rev-parse", "--is-inside-work-tree") != "true":
        pytest.skip("no git history here (not a git work tree, or git is not installed)")
    tag = _git("describe", "--tags", "--abbrev=0", "HEAD^")
    if tag:
        commit = _git("rev-parse", "--verify", "--quiet", f"{tag}^{{commit}}")
        assert commit, f"tag {tag} names no commit"
        return commit, f"tag {tag}"
    newest = _git("log", "-1", "--format=%H", "--", "migrations/versions")
    if not newest:
        pytest.skip("no commit in the history changed migrations/versions")
    commit = _git("rev-parse", "--verify", "--quiet", f"{newest}^^{{commit}}")
    if commit:
        return commit, f"the commit before {newest[:10]}, the newest to change migrations/versions"
    if _git("rev-parse", "--is-shallow-repository") == "true":
        pytest.skip(
            f"shallow clone: the history stops at {newest[:10]}, before the previous release;"
            " `git fetch --unshallow` to run this test"
        )
    pytest.skip(f"{newest[:10]} (the newest migration) is the first commit: there is no previous release")


def build_release(settings: Settings, commit: str, name: str, tmp_path: Path) -> str:
    """Build database ``name`` with the migrations and procedures of ``commit``, by that release's own
    `mango migrate` run from a copy of its tree. Returns what the release printed."""
    tree = tmp_path / commit[:12]
    tree.mkdir()
    git = shutil.which("git") or "git"
    archive = subprocess.run(
        [git, "-C", str(ROOT), "archive", "--format=tar", commit], capture_output=True, check=True
    )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(tree, filter="data")
    module = "mango.cli" if (tree / "mango" / "cli.py").exists() else "db.cli"
    env = {
        **os.environ,
        "PYTHONPATH": str(tree),
        "DATABASE_URL": settings.database_url,
        "MANGO_VAR": str(tmp_path / "var"),
    }
    check = f"import db, sys; sys.exit(0 if db.__file__.startswith({str(tree)!r}) else 'imports the current code')"
    run = [sys.executable, "-c", check]
    assert subprocess.run(run, cwd=tree, env=env).returncode == 0, (
        "the release's copy is not what Python imports"
    )
    done = subprocess.run(
        [sys.executable, "-m", module, "--database", name, "migrate"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        pytest.fail(f"the release {commit[:10]} could not build its database:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def managed_list(settings: Settings, dbname: str) -> list[tuple[str, list[str], list[str]]]:
    with psycopg.connect(settings.admin_conninfo(dbname)) as conn:
        rows = conn.execute("select * from public.mango_managed_objects order by 1, 2, 3").fetchall()
    return [(str(t), list(n), list(a)) for t, n, a in rows]


def test_previous_release_upgraded_equals_a_fresh_build(
    settings: Settings, scratch: ScratchFactory, tmp_path: Path
) -> None:
    """The database of the previous release, migrated by this code, has the same schema as one this
    code builds from nothing: a migration that changes a column under an existing view, a view whose
    columns changed, or a function that no file defines any more all show here (a fresh build and
    a build step by step never have the old objects)."""
    commit, found = previous_release()
    upgraded, fresh = scratch("release"), scratch("fresh")
    printed = build_release(settings, commit, upgraded, tmp_path)
    print(f"previous release: {commit[:10]} ({found}): {printed.strip()}")

    try:
        migrate.migrate(settings, upgraded)
    except (SystemExit, psycopg.Error, sqlalchemy.exc.DBAPIError) as exc:  # a procedures file, a migration
        pytest.fail(f"the previous release {commit[:10]} ({found}) does not upgrade with this code: {exc}")
    migrate.migrate(settings, fresh)
    _assert_same(
        schema_of(settings, fresh),
        schema_of(settings, upgraded),
        f"a fresh build (before) and the previous release {commit[:10]} upgraded (after)",
    )
    assert managed_list(settings, upgraded) == managed_list(settings, fresh)


def test_frozen_migrations_define_no_procedure_objects() -> None:
    """Functions, views, triggers and policies live in procedures/ only: the managed list takes every
    one of them in a database that never kept it as made by procedures/ (db/migrate.py)."""
    kinds = re.compile(
        r"\bcreate\s+(or\s+replace\s+)?(function|procedure|aggregate|view|trigger|policy)\b", re.I
    )
    found = [
        f"{path.name}: {match.group(0)}"
        for path in sorted((ROOT / "migrations" / "sql").glob("*.sql"))
        for match in kinds.finditer(re.sub(r"--.*", "", path.read_text()))
    ]
    assert not found, found

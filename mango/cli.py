"""The `mango` command: set-up, migrations, demo data, the web client, agents, users and jobs.

One ``cmd_<command>`` function per command (``cmd_user_<subcommand>`` for ``mango user``), and
``build_parser`` with their options; ``mango run`` is the process supervisor in ``mango.supervisor``.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys

import psycopg

from db import settings as settings_mod
from db.settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
    return settings_mod.load(getattr(args, "database", None))


def cmd_setup(args: argparse.Namespace) -> int:
    from db import bootstrap, migrate

    s = _settings(args)
    bootstrap.ensure_roles(s)
    created = bootstrap.ensure_database(s)
    migrate.migrate(s)
    if created:
        # Only a database the set-up made itself may receive the demo data (`mango demo`).
        bootstrap.allow_demo(s)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from db import migrate

    s = _settings(args)
    count = migrate.migrate(s, revision=args.revision)
    print(f"{s.dbname}: migrations at {args.revision}, {count} procedure files applied")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from db import demo

    return demo.main(
        _settings(args), customers=args.customers, seed=args.seed, once=args.once, force=args.force
    )


def cmd_web(args: argparse.Namespace) -> int:
    import uvicorn

    s = _settings(args)
    os.environ.setdefault("DATABASE_URL", s.database_url)
    os.environ["MANGO_WEB_WORKERS"] = str(args.workers)  # sizes each worker's pool
    uvicorn.run(
        "webclient.staff.app:create_app",
        factory=True,
        host=args.host or s.web_host,
        port=args.port or s.web_port,
        workers=args.workers,
        log_level="warning",
        proxy_headers=True,
    )
    return 0


def cmd_agent(args: argparse.Namespace) -> int:
    from agents import run_agent

    return run_agent(args.name, _settings(args))


def cmd_run(args: argparse.Namespace) -> int:
    """Start the staff web client and the agents in the foreground; Ctrl-C stops them all."""
    from mango import supervisor

    return supervisor.run(_settings(args), workers=args.workers)


def _admin_conn(args: argparse.Namespace) -> psycopg.Connection:
    return psycopg.connect(_settings(args).admin_conninfo(), autocommit=True)


def _password(args: argparse.Namespace) -> str:
    if args.password:
        return str(args.password)
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Again: "):
        raise SystemExit("the passwords differ")
    return first


def cmd_user_add(args: argparse.Namespace) -> int:
    with _admin_conn(args) as conn:
        row = conn.execute(
            "select auth.create_user(%s, %s, %s, %s, %s, %s)",
            [
                args.username,
                args.full_name or args.username,
                args.email,
                args.language,
                _split(args.roles),
                _password(args),
            ],
        ).fetchone()
    print(f"user {args.username} created (id {row[0] if row else '?'})")
    return 0


def cmd_user_passwd(args: argparse.Namespace) -> int:
    with _admin_conn(args) as conn:
        uid = _user_id(conn, args.username)
        conn.execute("select auth.set_password(%s, %s)", [uid, _password(args)])
    print(f"password of {args.username} changed; their sessions ended")
    return 0


def cmd_user_roles(args: argparse.Namespace) -> int:
    with _admin_conn(args) as conn:
        uid = _user_id(conn, args.username)
        if args.roles is not None:
            conn.execute(
                "select auth.update_user(id, full_name, email, language, %s, active) from auth.users where id = %s",
                [_split(args.roles), uid],
            )
        row = conn.execute("select roles, db_role from auth.users where id = %s", [uid]).fetchone()
    assert row is not None
    print(f"{args.username}: {', '.join(row[0]) or '(no roles)'} (database role {row[1]})")
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    with _admin_conn(args) as conn:
        rows = conn.execute(
            "select username, full_name, array_to_string(roles, ','), active, language from auth.users order by username"
        ).fetchall()
    for username, name, roles, active, lang in rows:
        print(f"{username:16} {name:28} {roles:34} {lang} {'' if active else 'inactive'}")
    return 0


def _user_id(conn: psycopg.Connection, username: str) -> int:
    row = conn.execute("select id from auth.users where username = %s", [username]).fetchone()
    if row is None:
        raise SystemExit(f"no user {username}")
    return int(row[0])


def _split(roles: str | None) -> list[str]:
    return [r.strip() for r in (roles or "").split(",") if r.strip()]


def cmd_jobs(args: argparse.Namespace) -> int:
    from agents.jobs import print_jobs, submit

    s = _settings(args)
    if args.action == "submit":
        job_id = submit(s, args.kind, args.params)
        print(f"job {job_id} queued")
        if not args.watch:
            return 0
    return print_jobs(s, watch=args.watch, limit=args.limit)


def cmd_nat_import(args: argparse.Namespace) -> int:
    """Import NAT log files into flow.nat_events, each in one transaction; exit 1 if one failed."""
    from pathlib import Path

    from agents.flowcollector.natlog import NatLogError, import_file

    failed = 0
    with _admin_conn(args) as conn:
        for name in args.files:
            try:
                result = import_file(
                    conn, Path(name), args.format, year=args.year, zone=args.timezone,
                    exporter=args.exporter, os_user=getpass.getuser(),
                )  # fmt: skip
            except NatLogError as exc:
                print(f"error: {exc}", file=sys.stderr)
                failed += 1
                continue
            print(result.summary())
    return 1 if failed else 0


def _operator_id(conn: psycopg.Connection, operator: str | None) -> int:
    """The operator given by code (or id); with none given, the only one there is."""
    if operator is None:
        rows = conn.execute("select id, code from crm.operators order by code").fetchall()
        if len(rows) == 1:
            return int(rows[0][0])
        codes = ", ".join(str(r[1]) for r in rows) or "none yet"
        raise SystemExit(f"error: which operator? give --operator (one of: {codes})")
    row = conn.execute(
        "select id from crm.operators where code = %(o)s or (%(o)s ~ '^[0-9]{1,18}$' and id = %(o)s::bigint)",
        {"o": operator},
    ).fetchone()
    if row is None:
        raise SystemExit(f"error: there is no operator {operator!r}")
    return int(row[0])


def _cdr_text(name: str, data: bytes) -> str:
    """The text of a call record file; a byte that is not UTF-8 or a NUL refuses it, naming the line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ValueError(
            f"{name}: line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); nothing imported"
        ) from exc
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ValueError(f"{name}: line {line}: a NUL character; nothing imported")
    return text


def cmd_billing_cdr_import(args: argparse.Namespace) -> int:
    """Import Asterisk Master.csv files into billing.calls (billing.import_cdrs): each file in one
    transaction and at most once (by its SHA-256), its bad lines listed with their number and field.
    Exit 1 when a file could not be imported, 2 when one had bad lines, else 0."""
    from pathlib import Path

    status = 0
    with _admin_conn(args) as conn:
        operator_id = _operator_id(conn, args.operator)
        for name in args.files:
            path = Path(name)
            try:
                text = _cdr_text(path.name, path.read_bytes())
                row = conn.execute(
                    "select import_id, already_imported, lines, calls, duplicates, bad_lines"
                    "  from billing.import_cdrs(%s, %s, %s, %s, %s)",
                    [path.name, text, operator_id, args.timezone, getpass.getuser()],
                ).fetchone()
            except (OSError, ValueError) as exc:
                print(f"error: {exc}", file=sys.stderr)
                status = 1
                continue
            except psycopg.Error as exc:
                column = f" ({exc.diag.column_name})" if exc.diag.column_name else ""
                print(f"error: {path.name}: {exc.diag.message_primary or exc}{column}", file=sys.stderr)
                status = 1
                continue
            assert row is not None
            import_id, again, lines, calls, duplicates, bad = row
            if again:
                print(f"{path.name}: imported before (import {import_id}): nothing done")
                continue
            print(
                f"{path.name}: import {import_id}: {lines} lines, {calls} calls imported,"
                f" {duplicates} known from an earlier file, {bad} bad"
            )
            for line_no, field, message in conn.execute(
                "select line_no, field, message from billing.cdr_import_errors where import_id = %s order by line_no",
                [import_id],
            ):
                where = f"field {field}: " if field else ""
                print(f"{path.name}:{line_no}: {where}{message}", file=sys.stderr)
            if bad and status == 0:
                status = 2
    return status


def format_billing_run(result: dict[str, object]) -> str:
    """A billing run's result (billing.run_result) as the billing commands print it."""
    counts = result.get("counts") or {}
    totals = result.get("totals") or {}
    assert isinstance(counts, dict) and isinstance(totals, dict)

    def by_kind(values: object) -> str:
        items = values.items() if isinstance(values, dict) else []
        return ", ".join(f"{kind} {n}" for kind, n in sorted(items))

    lines = [
        f"billing run {result.get('run')}: operator {result.get('operator')}, {result.get('period')}, "
        f"{result.get('state')}",
        f"  charges   {counts.get('charges', 0)} ({by_kind(counts.get('charges_by_kind')) or 'none'})",
        f"  documents {counts.get('documents', 0)} ({by_kind(counts.get('documents_by_kind')) or 'none'}) "
        f"for {counts.get('customers', 0)} customers",
        f"  without VAT {totals.get('without_vat', 0)}, VAT {totals.get('vat', 0)}, with VAT {totals.get('with_vat', 0)}; "
        f"the documents ask {totals.get('documents_due', 0)} (rounding {totals.get('rounding', 0)})",
    ]
    numbers = result.get("numbers")
    if isinstance(numbers, dict) and numbers.get("first"):
        lines.append(
            f"  issued {counts.get('issued', 0)} documents, numbers {numbers['first']} to {numbers['last']}"
        )
    for key, label in (("deleted_documents", "draft documents"), ("deleted_charges", "charges")):
        if key in counts:
            lines.append(f"  deleted {counts[key]} {label}")
    if "released_charges" in counts:
        lines.append(f"  {counts['released_charges']} charges staff added wait for the next run again")
    return "\n".join(lines)


def cmd_billing_run(args: argparse.Namespace) -> int:
    """Bill an operator for a month (or preview it): by default as the billing.run job, which the
    scheduler runs (its progress is printed while it runs, and in `mango jobs`); with --here in this
    process, in one transaction. Prints the run's counts and totals."""
    import json
    import time

    from psycopg.types.json import Jsonb

    with _admin_conn(args) as conn:
        operator_id = _operator_id(conn, args.operator)
        if args.here:
            row = conn.execute(
                "select billing.run(%s::bigint, %s::text, %s::boolean)",
                [operator_id, args.period, args.preview],
            ).fetchone()
            assert row is not None
            print(format_billing_run(row[0]))
            return 0
        params = {"operator": operator_id, "period": args.period, "preview": bool(args.preview)}
        row = conn.execute("select bus.submit_job('billing.run', null, %s)", [Jsonb(params)]).fetchone()
        assert row is not None
        job_id = int(row[0])
        print(f"job {job_id} queued: billing.run {json.dumps(params)}")
        if args.no_wait:
            return 0
        shown = None
        deadline = time.monotonic() + args.timeout
        while True:
            job = conn.execute(
                "select state, progress, message, result, error from bus.jobs where id = %s", [job_id]
            ).fetchone()
            assert job is not None
            state, progress, message, result, error = job
            if message and message != shown and state == "running":
                print(f"  {float(progress) * 100:3.0f}% {message}")
                shown = message
            if state == "done":
                print(format_billing_run(result))
                return 0
            if state in ("failed", "cancelled", "dead"):
                print(f"error: job {job_id} {state}: {error or ''}", file=sys.stderr)
                return 1
            if time.monotonic() > deadline:
                print(
                    f"job {job_id} is still {state} after {args.timeout:g} s: see `mango jobs`",
                    file=sys.stderr,
                )
                return 3
            time.sleep(0.2)


def cmd_billing_issue(args: argparse.Namespace) -> int:
    """Issue a finished billing run's draft documents: their numbers from the operator's series."""
    with _admin_conn(args) as conn:
        row = conn.execute("select billing.issue_run(%s::bigint)", [args.run]).fetchone()
    assert row is not None
    print(format_billing_run(row[0]))
    return 0


def cmd_billing_cancel(args: argparse.Namespace) -> int:
    """Cancel a finished billing run whose documents are not issued: its drafts and charges go."""
    with _admin_conn(args) as conn:
        row = conn.execute(
            "select billing.cancel_run(%s::bigint, %s::text)", [args.run, args.reason]
        ).fetchone()
    assert row is not None
    print(format_billing_run(row[0]))
    return 0


def cmd_lint_sql(args: argparse.Namespace) -> int:
    from db.lint import plpgsql_check

    return plpgsql_check(_settings(args))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mango", description="Mango ISP: run an ISP on PostgreSQL.")
    p.add_argument("--database", help="database name (default: from DATABASE_URL, else mango)")
    p.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = p.add_subparsers(dest="command", required=True)

    sp = sub.add_parser("setup", help="create roles, the database and extensions, then migrate")
    sp.set_defaults(func=cmd_setup)

    sp = sub.add_parser("migrate", help="alembic upgrade, then re-apply every procedures/ file")
    sp.add_argument("--revision", default="head", help="target revision (default head)")
    sp.set_defaults(func=cmd_migrate)

    sp = sub.add_parser("demo", help="load deterministic demo data (a Czech operator)")
    sp.add_argument("--customers", type=int, default=2000, help="how many customers (default 2000)")
    sp.add_argument("--seed", type=int, default=20261125, help="random seed (same seed, same data)")
    sp.add_argument("--once", action="store_true", help="do nothing if demo data is already loaded")
    sp.add_argument(
        "--force",
        action="store_true",
        help="load into a database the set-up did not create (by default only into one it made)",
    )
    sp.set_defaults(func=cmd_demo)

    sp = sub.add_parser("web", help="serve the staff web client")
    sp.add_argument("--host")
    sp.add_argument("--port", type=int)
    sp.add_argument("--workers", type=int, default=1)
    sp.set_defaults(func=cmd_web)

    sp = sub.add_parser("run", help="start the web client and the agents in the foreground")
    sp.add_argument("--workers", type=int, default=2)
    sp.set_defaults(func=cmd_run)

    sp = sub.add_parser("agent", help="run one agent (scheduler, provisioner, …) until SIGTERM")
    sp.add_argument("name")
    sp.set_defaults(func=cmd_agent)

    sp = sub.add_parser("user", help="staff users")
    usub = sp.add_subparsers(dest="user_command", required=True)
    up = usub.add_parser("add", help="create a staff user")
    up.add_argument("username")
    up.add_argument("--full-name")
    up.add_argument("--email")
    up.add_argument("--language", default="cs", choices=["cs", "en"])
    up.add_argument(
        "--roles",
        default="",
        help="comma-separated staff roles (the database's auth.staff_roles: admin, billing, …)",
    )
    up.add_argument("--password", help="(else asked for, or read from standard input)")
    up.set_defaults(func=cmd_user_add)
    up = usub.add_parser("passwd", help="set a user's password")
    up.add_argument("username")
    up.add_argument("--password")
    up.set_defaults(func=cmd_user_passwd)
    up = usub.add_parser("roles", help="show or set a user's roles")
    up.add_argument("username")
    up.add_argument("roles", nargs="?", help="comma-separated roles to set")
    up.set_defaults(func=cmd_user_roles)
    up = usub.add_parser("list", help="list staff users")
    up.set_defaults(func=cmd_user_list)

    sp = sub.add_parser("jobs", help="list background jobs, watch them, or submit one")
    sp.add_argument("action", nargs="?", choices=["list", "submit"], default="list")
    sp.add_argument("kind", nargs="?", help="job kind to submit")
    sp.add_argument("--params", default="{}", help="job parameters as JSON")
    sp.add_argument("--watch", action="store_true", help="refresh until interrupted")
    sp.add_argument("--limit", type=int, default=20)
    sp.set_defaults(func=cmd_jobs)

    sp = sub.add_parser("nat", help="NAT translation logs (data retention)")
    nsub = sp.add_subparsers(dest="nat_command", required=True)
    np_ = nsub.add_parser("import", help="import NAT log files (syslog) into flow.nat_events")
    np_.add_argument("files", nargs="+", metavar="FILE", help="log files (plain or gzip)")
    np_.add_argument("--format", default="auto", choices=["auto", "conntrack", "asa", "juniper", "mikrotik"])
    np_.add_argument("--year", type=int, help="year of time stamps without one (default: the file's)")
    np_.add_argument("--timezone", default="Europe/Prague", help="zone of time stamps without one")
    np_.add_argument("--exporter", help="address of the NAT device (default: the syslog host if an address)")
    np_.set_defaults(func=cmd_nat_import)

    # mango billing …: its commands are subparsers of bsub.
    sp = sub.add_parser("billing", help="billing: runs, documents, call records")
    bsub = sp.add_subparsers(dest="billing_command", required=True)
    bp = bsub.add_parser("cdr", help="call records (CDR) of the telephone exchange")
    csub = bp.add_subparsers(dest="cdr_command", required=True)
    cp = csub.add_parser("import", help="import Asterisk Master.csv files, each once and in one transaction")
    cp.add_argument("files", nargs="+", metavar="FILE", help="Master.csv files (cdr_csv layout)")
    cp.add_argument("--operator", help="operator code (or id) the calls are for (default: the only operator)")
    cp.add_argument(
        "--timezone", help="zone of the times in the file (default: the operator's; UTC for usegmtime)"
    )
    cp.set_defaults(func=cmd_billing_cdr_import)
    bp = bsub.add_parser("run", help="bill an operator for a month (the billing.run job), or preview it")
    bp.add_argument("--operator", help="operator code (or id) (default: the only operator)")
    bp.add_argument("--period", required=True, help="the month billed: YYYY-MM")
    bp.add_argument("--preview", action="store_true", help="show what the run would create, creating nothing")
    bp.add_argument("--here", action="store_true", help="run it in this process instead of as a job")
    bp.add_argument("--no-wait", action="store_true", help="queue the job and return")
    bp.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the job (default 3600)")
    bp.set_defaults(func=cmd_billing_run)
    bp = bsub.add_parser("issue", help="issue a finished run's documents (their numbers)")
    bp.add_argument("run", type=int, help="the billing run's id")
    bp.set_defaults(func=cmd_billing_issue)
    bp = bsub.add_parser("cancel", help="cancel a finished run whose documents are not issued")
    bp.add_argument("run", type=int, help="the billing run's id")
    bp.add_argument("--reason", help="why (kept with the run)")
    bp.set_defaults(func=cmd_billing_cancel)

    sp = sub.add_parser("lint-sql", help="plpgsql_check every function of the database")
    sp.set_defaults(func=cmd_lint_sql)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except psycopg.Error as exc:
        diag = exc.diag
        print(f"error: {diag.message_primary or exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""The customer card through the web client under load: `python -m bench.customers_web`.

Uses the database ``mango_bench_customers`` that ``python -m bench.customers`` builds (1,000,000
customers); gives a share of them services from a small catalogue (once, set-based), starts the
staff web client with 2 uvicorn workers against it, logs a support user in, and lets wrk with 32
connections request random ``/customers/{id}`` cards (the Services tab: header, counts, services
with tariffs, prices and parameters). Prints requests/s and latency p50/p99 beside the goal
"card p99 under 100 ms at 1,000 pages per second or more". Never asserts.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg

from bench import customers as customers_bench
from bench._common import db_exists, log
from db import settings as settings_mod
from db.settings import ROOT, Settings

DBNAME = customers_bench.DBNAME
GOAL = "card p99 under 100 ms at 1,000 pages per second or more"
CATALOGUE_CODE = "bench_web"

# Services for every n-th customer of the bench operator: internet (one of two tariffs) and TV
# for half of them, in a bundle, with a download parameter. Set-based, as the superuser.
SERVICES_SQL = """
with cat as (
  select (select t.id from catalog.tariffs t join catalog.products p on p.id = t.product_id
           where p.operator_id = %(op)s and t.code = 'i300') as t300,
         (select t.id from catalog.tariffs t join catalog.products p on p.id = t.product_id
           where p.operator_id = %(op)s and t.code = 'i500') as t500,
         (select t.id from catalog.tariffs t join catalog.products p on p.id = t.product_id
           where p.operator_id = %(op)s and t.code = 'tvbasic') as tv,
         (select id from catalog.products where operator_id = %(op)s and code = 'inet') as inet,
         (select id from catalog.products where operator_id = %(op)s and code = 'tv') as tvp,
         (select id from catalog.bundles where operator_id = %(op)s and code = 'combo') as bundle,
         (select id from billing.plans where operator_id = %(op)s and is_default) as plan
), picked as (
  select c.id, c.created_on, (c.id %% 2 = 0) as with_tv
    from crm.customers c
   where c.operator_id = %(op)s and c.id %% %(every)s = 0
     and not exists (select from crm.services s where s.customer_id = c.id)
), inet as (
  insert into crm.services (customer_id, operator_id, product_id, bundle_id, state, valid, period_months, billing_day,
                            billing_plan_id)
  select p.id, %(op)s, cat.inet, case when p.with_tv then cat.bundle end, 'active',
         daterange(p.created_on, null), 1, 1, cat.plan
    from picked p, cat
  returning id, customer_id, lower(valid) as since
), tv as (
  insert into crm.services (customer_id, operator_id, product_id, bundle_id, state, valid, period_months, billing_day,
                            billing_plan_id)
  select p.id, %(op)s, cat.tvp, cat.bundle, 'active', daterange(p.created_on, null), 1, 1, cat.plan
    from picked p, cat where p.with_tv
  returning id, customer_id, lower(valid) as since
)
insert into crm.service_tariffs (service_id, tariff_id, valid)
select i.id, case when i.customer_id %% 3 = 0 then cat.t500 else cat.t300 end, daterange(i.since, null) from inet i, cat
union all
select t.id, cat.tv, daterange(t.since, null) from tv t, cat
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(settings: Settings, every: int) -> tuple[int, int, int]:
    """The catalogue and the services (once); returns (operator id, lowest and highest customer id)."""
    with psycopg.connect(settings.admin_conninfo(DBNAME), autocommit=True) as conn:
        op = conn.execute(
            "select id from crm.operators where code = %s", [customers_bench.OPERATOR_CODE]
        ).fetchone()
        if op is None:
            raise SystemExit(f"{DBNAME} has no bench operator: run `python -m bench.customers` first")
        operator = int(op[0])
        has_catalogue = conn.execute(
            "select exists (select from catalog.products where operator_id = %s and code = 'inet')",
            [operator],
        ).fetchone()
        if not (has_catalogue and has_catalogue[0]):
            log("adding a small catalogue (internet 300/500, TV, a bundle) to the bench operator")
            _make_catalogue(conn, operator)
        started = time.monotonic()
        with conn.transaction():
            conn.execute("set local session_replication_role = replica")  # no audit/bus rows for bulk data
            cur = conn.execute(SERVICES_SQL, {"op": operator, "every": every})
        if cur.rowcount:
            conn.execute("analyze crm.services")
            conn.execute("analyze crm.service_tariffs")
            log(
                f"gave services to every {every}th customer: {cur.rowcount} tariff periods in "
                f"{time.monotonic() - started:.1f} s"
            )
        row = conn.execute(
            "select min(id), max(id) from crm.customers where operator_id = %s", [operator]
        ).fetchone()
        assert row
        return operator, int(row[0]), int(row[1])


def _make_catalogue(conn: psycopg.Connection, operator: int) -> None:
    suffix = CATALOGUE_CODE
    inet_class = conn.execute(
        "insert into catalog.classes (code, name, kind) values (%s, 'Internet', 'service')"
        " on conflict (code) do update set name = excluded.name returning id",
        [f"inet_{suffix}"],
    ).fetchone()
    tv_class = conn.execute(
        "insert into catalog.classes (code, name, kind) values (%s, 'Television', 'service')"
        " on conflict (code) do update set name = excluded.name returning id",
        [f"tv_{suffix}"],
    ).fetchone()
    assert inet_class and tv_class
    conn.execute(
        "insert into crm.parameter_definitions (entity, class_id, code, name, type, min_value, max_value, unit)"
        " values ('service', %s, 'download', 'Download', 'number', 1, 10000, 'Mbit/s') on conflict do nothing",
        [inet_class[0]],
    )
    inet = conn.execute(
        "insert into catalog.products (operator_id, class_id, code, name) values (%s, %s, 'inet', 'Internet')"
        " returning id",
        [operator, inet_class[0]],
    ).fetchone()
    tv = conn.execute(
        "insert into catalog.products (operator_id, class_id, code, name) values (%s, %s, 'tv', 'Television')"
        " returning id",
        [operator, tv_class[0]],
    ).fetchone()
    assert inet and tv
    tariffs = {}
    for code, name, product, price in (
        ("i300", "Fiber 300", inet[0], 300),
        ("i500", "Fiber 500", inet[0], 500),
        ("tvbasic", "TV Basic", tv[0], 200),
    ):
        row = conn.execute(
            "insert into catalog.tariffs (product_id, code, name) values (%s, %s, %s) returning id",
            [product, code, name],
        ).fetchone()
        assert row
        tariffs[code] = row[0]
        conn.execute(
            "insert into catalog.prices (tariff_id, valid, monthly_fee) values (%s, daterange('2000-01-01', null), %s)",
            [row[0], price],
        )
    bundle = conn.execute(
        "insert into catalog.bundles (operator_id, code, name) values (%s, 'combo', 'Internet + TV') returning id",
        [operator],
    ).fetchone()
    assert bundle
    conn.execute(
        "insert into catalog.bundle_items (bundle_id, tariff_id, discount_percent) values (%s, %s, 0), (%s, %s, 10)",
        [bundle[0], tariffs["i300"], bundle[0], tariffs["tvbasic"]],
    )


def start_web(settings: Settings, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": settings.database_url, "MANGO_VAR": str(settings.var_dir)}
    mango = Path(sys.executable).with_name("mango")
    command = [str(mango)] if mango.exists() else [sys.executable, "-m", "mango.cli"]
    proc = subprocess.Popen(
        [*command, "web", "--workers", str(workers), "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as response:
                if response.status == 200:
                    return proc
        except (urllib.error.URLError, ConnectionError):
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("the web client did not start")
        time.sleep(0.2)


LUA = """
-- Random customer cards with the session cookie the benchmark obtained by logging in.
wrk.headers["Cookie"] = "mango_session=%(token)s"
wrk.headers["Accept-Language"] = "cs"
local lo, hi, every = %(lo)d, %(hi)d, %(every)d
function setup(thread) thread:set("seed", math.random(1, 1000000)) end
function init(args) math.randomseed(seed) end
function request()
  local id = math.random(lo, hi)
  if math.random() < %(with_services)f then id = id - (id %% every) end
  if id < lo then id = id + every end
  return wrk.format("GET", "/customers/" .. id)
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d %%d %%.3f %%.3f %%.3f\\n", summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration, latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def run_wrk(
    port: int, token: str, lo: int, hi: int, every: int, seconds: int, connections: int
) -> dict[str, float]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA % {"token": token, "lo": lo, "hi": hi, "every": every, "with_services": 0.5})
        script = f.name
    try:
        out = subprocess.run(
            [
                wrk,
                "-t",
                "4",
                "-c",
                str(connections),
                "-d",
                f"{seconds}s",
                "-s",
                script,
                f"http://127.0.0.1:{port}/",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        os.unlink(script)
    match = re.search(r"RESULT (\d+) (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+)", out)
    if not match:
        raise SystemExit(f"unexpected wrk output:\n{out}")
    requests, status_errors, socket_errors, duration_us = (int(match.group(i)) for i in range(1, 5))
    return {
        "requests": requests,
        "non_2xx": status_errors,
        "socket_errors": socket_errors,
        "rps": requests / (duration_us / 1e6),
        "p50": float(match.group(5)),
        "p99": float(match.group(6)),
        "max": float(match.group(7)),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--every", type=int, default=20, help="give services to every n-th customer")
    args = parser.parse_args(argv)
    settings = settings_mod.load(DBNAME)
    if not db_exists(settings, DBNAME):
        raise SystemExit(f"{DBNAME} does not exist: run `python -m bench.customers` first")
    with psycopg.connect(settings.admin_conninfo(DBNAME)) as conn:
        count_row = conn.execute("select count(*) from crm.customers").fetchone()
    count = int(count_row[0]) if count_row else 0
    operator, lo, hi = prepare(settings, args.every)
    token = customers_bench.staff_token(settings)
    port = _free_port()
    log(f"{count:,} customers; web client with {args.workers} workers on port {port}")
    proc = start_web(settings, port, args.workers)
    try:
        with urllib.request.urlopen(
            urllib.request.Request(
                f"http://127.0.0.1:{port}/customers/{lo + args.every - lo % args.every}",
                headers={"Cookie": f"mango_session={token}"},
            ),
            timeout=10,
        ) as response:
            page = response.read().decode()
            if "svc-table" not in page:
                raise SystemExit("the card did not render for the bench user")
        run_wrk(port, token, lo, hi, args.every, 3, args.connections)  # warm-up: pools, caches
        result = run_wrk(port, token, lo, hi, args.every, args.seconds, args.connections)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    print()
    print(
        f"customer card /customers/{{id}} at {count:,} customers (operator {operator}), half of the requests"
    )
    print(
        f"for customers with services; {args.connections} connections, {args.workers} uvicorn workers, {args.seconds} s"
    )
    print(
        f"  requests          {result['requests']:>10,.0f}   (non-2xx {result['non_2xx']:.0f}, "
        f"socket errors {result['socket_errors']:.0f})"
    )
    print(f"  pages per second  {result['rps']:>10,.0f}")
    print(f"  latency p50       {result['p50']:>10.1f} ms")
    print(f"  latency p99       {result['p99']:>10.1f} ms   (max {result['max']:.1f} ms)")
    met = result["p99"] < 100 and result["rps"] >= 1000
    print(f"  goal: {GOAL}: {'met' if met else 'not met'}")


if __name__ == "__main__":
    main()

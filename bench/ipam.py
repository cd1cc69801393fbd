"""IP address history at 1,000,000 services (NET-3): `python -m bench.ipam`.

Builds its own database ``mango_bench_ipam`` from the migrations (or reuses it when it is
complete): one operator, 1,000,000 customers each with an internet service, five years of address
history (1–4 consecutive assignments per service from CGNAT pools, addresses reused over time),
a MAC per service and some services moved between customers. Bulk rows go in with
``insert … select`` over ``generate_series`` under ``session_replication_role = replica``, which
skips the tables' triggers (validation, audit, bus) for this generated data only; the exclusion
constraints still check every assignment.

Then it measures, as a signed-in support user (a session and its ``mango_as_support`` role, so grants and RLS apply):
- 'who had IP X at time T' (``net.who_had``) p50/p95 over random lookups of past holdings;
- allocations per second through ``net.allocate_ip`` (one transaction each, committed) with one
  and with two concurrent clients on the same pool, and two clients on two pools.

Prints the figures beside the goal "lookup p95 under 5 ms". Never asserts.
"""

from __future__ import annotations

import argparse
import random
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

import psycopg

from bench._common import act_as, db_exists, log, percentile, staff_session
from db import bootstrap, migrate
from db import settings as settings_mod
from db.settings import Settings

DBNAME = "mango_bench_ipam"
OPERATOR_CODE = "bench-ipam"
GOAL_P95_MS = 5.0
GROUPS = 16  # address groups: each a /16 of 100.64.0.0/10 with its own renumbering dates
EPOCHS = 4  # a service is renumbered at most at each of the group's three epoch boundaries
YEARS = 5
MULTIPLIERS = (7919, 104729, 1299709, 15485863)  # coprime with the group size: a permutation per epoch


# ---------------------------------------------------------------------------------------------
# the database


def is_complete(settings: Settings, services: int) -> bool:
    if not db_exists(settings, DBNAME):
        return False
    try:
        with psycopg.connect(settings.admin_conninfo(DBNAME), autocommit=True) as conn:
            row = conn.execute(
                """select (select count(*) from crm.services s join crm.operators o on o.id = s.operator_id
                            where o.code = %s),
                          (select count(*) > 0 from net.mac_assignments),
                          (select count(*) from net.pools where name ~ '^bench-[0-9]+$')""",
                [OPERATOR_CODE],
            ).fetchone()
    except psycopg.errors.UndefinedTable:
        return False
    return row is not None and row[0] == services and bool(row[1]) and row[2] == GROUPS


def load(settings: Settings, services: int, seed: int) -> None:
    started = time.monotonic()
    bootstrap.ensure_roles(settings)
    bootstrap.drop_database(settings, DBNAME)
    bootstrap.ensure_database(settings, DBNAME)
    migrate.migrate(settings, DBNAME)
    group_size = -(-services // GROUPS)
    assert group_size <= 65536, "a group's addresses must fit in its /16"
    rng = random.Random(seed)
    with psycopg.connect(settings.admin_conninfo(DBNAME)) as conn:
        conn.execute("set session_replication_role = replica")
        op = conn.execute(
            """insert into crm.operators (code, name, ico, dic, street, city, zip)
               values (%s, 'Bench IPAM s.r.o.', '27082440', 'CZ27082440', 'Hlavní 1', 'Brno', '602 00') returning id""",
            [OPERATOR_CODE],
        ).fetchone()[0]  # type: ignore[index]
        # Under replica the operator's trigger does not give it its default billing plan: made here.
        conn.execute(
            "insert into billing.plans (operator_id, code, name, is_default) values (%s, 'default', 'Invoice monthly', true)",
            [op],
        )
        cls = conn.execute(
            "insert into catalog.classes (code, name, kind) values ('internet', 'Internet', 'service') returning id"
        ).fetchone()[0]  # type: ignore[index]
        product = conn.execute(
            """insert into catalog.products (operator_id, class_id, code, name)
               values (%s, %s, 'INT', 'Internet') returning id""",
            [op, cls],
        ).fetchone()[0]  # type: ignore[index]
        log(f"customers: {services:,}")
        conn.execute(
            """
            insert into crm.customers (operator_id, customer_no, vs, kind, first_name, last_name, city, created_on)
            select %(op)s, 'B' || lpad(i::text, 8, '0'), (30000000 + i)::text, 'person',
                   (array['Jan', 'Petr', 'Eva', 'Jana', 'Pavel', 'Lucie'])[1 + i %% 6],
                   (array['Novák', 'Svoboda', 'Dvořák', 'Černá', 'Procházka', 'Veselá', 'Horák'])[1 + i %% 7],
                   (array['Brno', 'Blansko', 'Vyškov', 'Kuřim', 'Tišnov'])[1 + i %% 5],
                   current_date - %(years)s * 365 - 30
              from generate_series(1, %(n)s) i
            """,
            {"op": op, "n": services, "years": YEARS},
        )
        log("services")
        # Service i belongs to customer i; it starts somewhere in the five years, one in five has ended.
        conn.execute(
            """
            insert into crm.services (customer_id, operator_id, product_id, state, valid, billing_plan_id)
            select c.id, %(op)s, %(product)s, case when x.ended then 'ended' else 'active' end,
                   daterange(x.start, case when x.ended then x.start + 1 + ((current_date - x.start - 2) * x.r2)::int end),
                   (select id from billing.plans where operator_id = %(op)s and is_default)
              from crm.customers c
              cross join lateral (
                select current_date - %(years)s * 365 + (hashint4(c.id::int) & 1023) * (%(years)s * 365 - 30) / 1024
                         as start,
                       (hashint4(c.id::int + 7) & 1023) < 205 as ended,
                       ((hashint4(c.id::int + 13) & 1023) / 1024.0) as r2
              ) x
             where c.operator_id = %(op)s
             order by c.id
            """,
            {"op": op, "product": product, "years": YEARS},
        )
        first_service = conn.execute(
            "select min(id) from crm.services where operator_id = %s", [op]
        ).fetchone()[0]  # type: ignore[index]
        # One in a hundred services moved to another customer (the next one) halfway through.
        conn.execute(
            """
            insert into crm.service_moves (service_id, from_customer_id, to_customer_id, moved_on, reason)
            select s.id, s.customer_id, s.customer_id + 1,
                   lower(s.valid) + (coalesce(upper(s.valid), current_date) - lower(s.valid)) / 2, 'bench'
              from crm.services s
             where s.operator_id = %(op)s and s.id %% 100 = 0
               and s.customer_id < (select max(id) from crm.customers)
               and coalesce(upper(s.valid), current_date) - lower(s.valid) > 4
            """,
            {"op": op},
        )
        conn.execute(
            "update crm.services s set customer_id = m.to_customer_id from crm.service_moves m where m.service_id = s.id"
        )
        prefix = conn.execute(
            "insert into net.prefixes (prefix, kind, description) values ('100.64.0.0/10', 'cgnat', 'CGNAT') returning id"
        ).fetchone()[0]  # type: ignore[index]
        conn.execute(
            """
            insert into net.pools (prefix_id, name, first_address, last_address, purpose)
            select %s, 'bench-' || g, '100.64.0.0'::inet + g * 65536, '100.64.0.0'::inet + g * 65536 + 65535, 'customer'
              from generate_series(0, %s - 1) g
            """,
            [prefix, GROUPS],
        )
        # Epoch boundaries per group: 15, 30 and 45 months into the five years, shifted per group.
        t0 = conn.execute("select (current_date - %s * 365)::timestamptz", [YEARS]).fetchone()[0]  # type: ignore[index]
        conn.execute(
            "create temporary table bench_epochs (g integer, e integer, t_from timestamptz, t_to timestamptz)"
        )
        with conn.cursor().copy("copy bench_epochs (g, e, t_from, t_to) from stdin") as cp:
            for g in range(GROUPS):
                shift = rng.randint(-40, 40)
                cuts = [
                    "-infinity",
                    *(t0 + timedelta(days=k * 456 + shift) for k in range(1, EPOCHS)),
                    "infinity",
                ]
                for e in range(EPOCHS):
                    cp.write_row((g, e, str(cuts[e]), str(cuts[e + 1])))
        log("address history (the exclusion constraint checks every row)")
        started_ip = time.monotonic()
        conn.execute(
            """
            insert into net.ip_assignments (address, pool_id, service_id, valid)
            select '100.64.0.0'::inet + x.g * 65536 + ((x.rank * (%(m)s::bigint[])[e.e + 1] + e.e * 977) %% %(size)s),
                   p.id, x.id,
                   tstzrange(greatest(x.t_start, e.t_from), nullif(least(x.t_end, e.t_to), 'infinity'))
              from (
                select s.id, (s.id - %(first)s) %% %(groups)s as g, (s.id - %(first)s) / %(groups)s as rank,
                       lower(s.valid)::timestamptz + interval '9 hours' as t_start,
                       coalesce(upper(s.valid)::timestamptz, 'infinity') as t_end
                  from crm.services s where s.operator_id = %(op)s
              ) x
              join bench_epochs e on e.g = x.g and e.t_from < x.t_end and e.t_to > x.t_start
              join net.pools p on p.name = 'bench-' || x.g
             order by 1, 4
            """,
            {"m": list(MULTIPLIERS), "size": group_size, "groups": GROUPS, "first": first_service, "op": op},
        )
        log(f"address history in {time.monotonic() - started_ip:.0f} s; MACs")
        conn.execute(
            """
            insert into net.mac_assignments (mac, service_id, valid)
            select ('02:00:' || lpad(to_hex(s.id >> 24 & 255), 2, '0') || ':' || lpad(to_hex(s.id >> 16 & 255), 2, '0')
                    || ':' || lpad(to_hex(s.id >> 8 & 255), 2, '0') || ':' || lpad(to_hex(s.id & 255), 2, '0'))::macaddr,
                   s.id, tstzrange(lower(s.valid)::timestamptz, upper(s.valid)::timestamptz)
              from crm.services s where s.operator_id = %s
            """,
            [op],
        )
        conn.execute("reset session_replication_role")
        conn.commit()
    with psycopg.connect(settings.admin_conninfo(DBNAME), autocommit=True) as conn:
        log("vacuum analyze")
        conn.execute("vacuum analyze")
    log(f"built {DBNAME} in {time.monotonic() - started:.0f} s")


# ---------------------------------------------------------------------------------------------
# measurements


def sample_lookups(settings: Settings, count: int, seed: int) -> list[tuple[str, str]]:
    """Random (address, moment) pairs: a moment inside a random past or current holding."""
    rng = random.Random(seed)
    with psycopg.connect(settings.admin_conninfo(DBNAME)) as conn:
        lo, hi = conn.execute("select min(id), max(id) from net.ip_assignments").fetchone()  # type: ignore[misc]
        ids = [rng.randint(lo, hi) for _ in range(count)]
        rows = conn.execute(
            """
            select host(a.address),
                   (lower(a.valid) + (coalesce(upper(a.valid), now()) - lower(a.valid)) * ((hashint8(a.id) & 1023) / 1024.0))::text
              from net.ip_assignments a where a.id = any (%s)
            """,
            [ids],
        ).fetchall()
    return [(str(a), str(t)) for a, t in rows]


def measure_lookups(
    settings: Settings, support: tuple[str, str], lookups: list[tuple[str, str]]
) -> tuple[list[float], int]:
    times: list[float] = []
    found = 0
    with psycopg.connect(settings.admin_conninfo(DBNAME), autocommit=True) as conn:
        act_as(conn, support)
        for address, at in lookups[:20]:  # warm the connection and the plan cache
            conn.execute("select * from net.who_had(%s, %s)", [address, at]).fetchall()
        for address, at in lookups:
            t = time.perf_counter()
            rows = conn.execute("select * from net.who_had(%s, %s)", [address, at]).fetchall()
            times.append((time.perf_counter() - t) * 1000)
            found += len(rows) == 1
    return times, found


@dataclass
class AllocRun:
    label: str
    clients: int
    allocations: int
    seconds: float
    occupied_before: int

    @property
    def rate(self) -> float:
        return self.allocations / self.seconds if self.seconds else 0.0


def measure_allocations(
    settings: Settings, support: tuple[str, str], label: str, pools: list[str], clients: int, per_client: int
) -> AllocRun:
    with psycopg.connect(settings.admin_conninfo(DBNAME)) as conn:
        ids = [
            r[0]
            for r in conn.execute("select id from net.pools where name = any (%s) order by name", [pools])
        ]
        before = conn.execute(
            "select count(*) from net.ip_assignments where pool_id = any (%s) and upper_inf(valid)", [ids]
        ).fetchone()[0]  # type: ignore[index]
        services = [
            r[0]
            for r in conn.execute(
                "select id from crm.services where state = 'active' order by id limit %s",
                [clients * per_client],
            )
        ]
    barrier = threading.Barrier(clients + 1)
    errors: list[BaseException] = []

    def client(k: int) -> None:
        try:
            with psycopg.connect(settings.admin_conninfo(DBNAME)) as conn:
                act_as(conn, support)
                conn.commit()
                pool = ids[k % len(ids)]
                barrier.wait()
                for j in range(per_client):
                    conn.execute("select net.allocate_ip(%s, %s)", [pool, services[k * per_client + j]])
                    conn.commit()
        except BaseException as exc:  # noqa: BLE001 - shown by the caller
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return AllocRun(label, clients, clients * per_client, seconds, before)


def explain_lookup(settings: Settings, support: tuple[str, str], address: str, at: str) -> str:
    """The plan of the statements inside net.who_had for one lookup (auto_explain, sent to us)."""
    notices: list[str] = []
    with psycopg.connect(settings.admin_conninfo(DBNAME), autocommit=True) as conn:
        conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        conn.execute("load 'auto_explain'")
        conn.execute("set auto_explain.log_min_duration = 0")
        conn.execute("set auto_explain.log_analyze = on")
        conn.execute("set auto_explain.log_buffers = on")
        conn.execute("set auto_explain.log_nested_statements = on")
        conn.execute("set client_min_messages = log")
        act_as(conn, support)
        conn.execute("select * from net.who_had(%s, %s)", [address, at]).fetchall()
    return "\n".join(notices)


def report(services: int, assignments: int, times: list[float], found: int, runs: list[AllocRun]) -> None:
    p50, p95 = percentile(times, 50), percentile(times, 95)
    verdict = "meets the goal" if p95 < GOAL_P95_MS else "MISSES the goal"
    print()
    print(f"IPAM at {services:,} services, {assignments:,} address assignments over {YEARS} years")
    print(f"{'measure':<44}{'n':>7}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}  goal")
    print(
        f"{'who_had(address, moment)':<44}{len(times):>7}{p50:>9.2f}{p95:>9.2f}{max(times):>9.2f}"
        f"  p95 < {GOAL_P95_MS:.0f} ms: {verdict} ({found} of {len(times)} found their holder)"
    )
    print()
    print(f"{'allocate_ip, one transaction each':<44}{'clients':>8}{'allocs':>8}{'in use':>8}{'per s':>9}")
    for r in runs:
        print(f"{r.label:<44}{r.clients:>8}{r.allocations:>8}{r.occupied_before:>8}{r.rate:>9.0f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--services", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--allocations", type=int, default=300, help="allocations per client")
    parser.add_argument("--seed", type=int, default=20240101)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the database even if it is complete")
    args = parser.parse_args(argv)
    settings = settings_mod.load(DBNAME)
    if args.rebuild or not is_complete(settings, args.services):
        load(settings, args.services, args.seed)
    else:
        log(f"reusing {DBNAME} with {args.services:,} services")
        bootstrap.ensure_roles(settings)
        migrate.migrate(settings, DBNAME)  # the procedures as they are now
    with psycopg.connect(settings.admin_conninfo(DBNAME), autocommit=True) as conn:
        # Two /22 pools for the allocation measurement (a POP's pool), empty at the start of each run.
        conn.execute(
            "delete from net.ip_assignments where pool_id in (select id from net.pools where name like 'bench-alloc-%')"
        )
        conn.execute(
            """
            insert into net.prefixes (prefix, kind, description) values ('10.200.0.0/15', 'private', 'bench allocations')
            on conflict (prefix) do nothing
            """
        )
        conn.execute(
            """
            insert into net.pools (prefix_id, name, first_address, last_address, purpose)
            select p.id, x.name, x.first::inet, x.last::inet, 'customer'
              from net.prefixes p,
                   (values ('bench-alloc-a', '10.200.0.1', '10.200.3.254'),
                           ('bench-alloc-b', '10.201.0.1', '10.201.3.254')) as x (name, first, last)
             where p.prefix = '10.200.0.0/15'
            on conflict (name) do update
               set prefix_id = excluded.prefix_id, first_address = excluded.first_address,
                   last_address = excluded.last_address
            """
        )
        assignments = conn.execute("select count(*) from net.ip_assignments").fetchone()[0]  # type: ignore[index]
    lookups = sample_lookups(settings, args.lookups, args.seed)
    support = staff_session(settings, DBNAME, "bench-ipam-support", ["support"])
    times, found = measure_lookups(settings, support, lookups)
    log("measured who_had")
    if percentile(times, 95) >= GOAL_P95_MS:
        slowest = max(range(len(times)), key=times.__getitem__)
        print(explain_lookup(settings, support, *lookups[slowest]))
    n = args.allocations
    runs = [
        measure_allocations(settings, support, "one /22 pool, from empty", ["bench-alloc-a"], 1, n),
        measure_allocations(settings, support, "the same /22 pool, continuing", ["bench-alloc-a"], 2, n // 2),
        measure_allocations(
            settings, support, "two /22 pools, one client each", ["bench-alloc-a", "bench-alloc-b"], 2, n // 2
        ),
        measure_allocations(
            settings, support, "a /16 CGNAT pool in full use", ["bench-0"], 1, max(5, n // 30)
        ),
        measure_allocations(
            settings, support, "a /16 CGNAT pool in full use", ["bench-0"], 2, max(5, n // 60)
        ),
    ]
    log("measured allocate_ip")
    report(args.services, assignments, times, found, runs)


if __name__ == "__main__":
    main()

"""Pages that read whole tables, at 1,000,000 customers: `python -m bench.pages`.

Uses the database ``mango_bench_customers`` of ``python -m bench.customers`` (building it if it is
missing: 1,000,000 customers; every 20th with services, each internet service with a CPE), and
adds once what makes these pages heavy (set-based, under ``session_replication_role = replica``,
then the stores' counts rebuilt as the triggers would keep them):

- a topology of 1 core router, 20 distribution switches and 1,000 access points at 21 sites,
  with links; a million CPEs hanging on the access points (the services' CPEs and 950,000 more),
  each linked by radio to its access point's port, 1 % of them faulty, all in the customer store,
  each with the movement that put it there;
- a warehouse with 20,000 devices in stock and five technicians' cars;
- a device parameter with a value on every CPE (1,000,000 values) and a small one (10 values);
- a bus backlog of 1,000,000 events in one topic and 5 in another (agents down after a mass
  change), 2,000 dead events.

Then it measures, as a support user through ``mango_web`` the way the web client runs a page
(one transaction: resume the session and switch role in one statement, the page's queries, the
counts' estimates where a count passes its cap), the queries of each page, and beside them a bare
reference on the same table in the same run (``select count(*)``, what counting it at all costs).
With ``--web`` (the default) it also starts the staff web client and times the pages themselves.
Prints p50/p95 beside the goal "each page's queries under 50 ms". Never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from psycopg import AsyncConnection

from bench import customers as customers_bench
from bench import customers_web
from bench._common import log, percentile
from db import bootstrap, migrate
from db import settings as settings_mod
from db.settings import Settings
from webclient import web
from webclient.staff import bus, catalogue, counts, dashboard, net_map, net_stores, network, parameters
from webclient.web import STAFF_RESUME_SQL

DBNAME = customers_bench.DBNAME
GOAL_MS = 50.0
MARKER = "Bench pages warehouse"
ACCESS_POINTS = 1000
DISTRIBUTION = 20
CPES = 1_000_000
WAREHOUSE_STOCK = 20_000
BIG_TOPIC = "bench.pages"
SMALL_TOPIC = "bench.pages.small"

# ---------------------------------------------------------------------------------------------
# the data (once)

PREPARE_SQL = (
    # Sites, models, stores.
    """
insert into net.sites (code, name, kind)
select 'BP-' || lpad(g::text, 2, '0'), 'Bench POP ' || g, case when g = 0 then 'core' else 'pop' end
  from generate_series(0, %(dist)s) g
""",
    """
insert into net.device_models (manufacturer, model, kind) values
  ('MikroTik', 'CCR2004 bench', 'router'), ('MikroTik', 'CRS326 bench', 'switch'),
  ('Ubiquiti', 'Rocket 5AC bench', 'ap'), ('Ubiquiti', 'LiteBeam bench', 'cpe'),
  ('TP-Link', 'CPE510 bench', 'cpe'), ('Huawei', 'HG8010 bench', 'cpe')
""",
    """
insert into net.stores (name, kind)
select 'Zákazníci', 'customer' where not exists (select from net.stores where kind = 'customer')
""",
    """
insert into net.stores (name, kind, site_id)
select %(marker)s, 'warehouse', (select id from net.sites where code = 'BP-00')
union all
select 'Bench car ' || g, 'technician', null from generate_series(1, 5) g
""",
    # The operator's devices: core, distribution (one per POP), access points (50 per POP).
    """
insert into net.devices (name, model_id, role, site_id, state, is_core, managed)
select 'bp-core', (select id from net.device_models where model = 'CCR2004 bench'), 'operator',
       (select id from net.sites where code = 'BP-00'), 'active', true, true
""",
    """
insert into net.devices (name, model_id, role, site_id, state, parent_device_id, managed)
select 'bp-dist-' || lpad(g::text, 2, '0'), (select id from net.device_models where model = 'CRS326 bench'),
       'operator', (select id from net.sites where code = 'BP-' || lpad(g::text, 2, '0')), 'active',
       (select id from net.devices where name = 'bp-core'), true
  from generate_series(1, %(dist)s) g
""",
    """
insert into net.devices (name, model_id, role, site_id, state, parent_device_id, managed)
select 'bp-ap-' || lpad(g::text, 4, '0'), (select id from net.device_models where model = 'Rocket 5AC bench'),
       'operator', d.site_id, 'active', d.id, true
  from generate_series(0, %(aps)s - 1) g
  join net.devices d on d.name = 'bp-dist-' || lpad((1 + g %% %(dist)s)::text, 2, '0')
""",
    # An uplink and a downlink interface on each, a link from each uplink to its parent's downlink,
    # and a ring between the distribution switches (the map's other links).
    """
insert into net.interfaces (device_id, name, kind)
select d.id, i.name, 'sfp' from net.devices d cross join (values ('uplink'), ('downlink'), ('ring')) i (name)
 where d.name like 'bp-%%'
""",
    """
insert into net.links (a_interface_id, b_interface_id, medium, speed_mbps)
select up.id, down.id, case when d.name like 'bp-ap-%%' then 'radio' else 'fibre' end, 1000
  from net.devices d
  join net.interfaces up on up.device_id = d.id and up.name = 'uplink'
  join net.interfaces down on down.device_id = d.parent_device_id and down.name = 'downlink'
 where d.name like 'bp-%%'
""",
    """
update net.devices d set parent_interface_id = i.id
  from net.interfaces i
 where i.device_id = d.parent_device_id and i.name = 'downlink' and d.name like 'bp-%%'
""",
    """
insert into net.links (a_interface_id, b_interface_id, medium, speed_mbps)
select a.id, b.id, 'fibre', 10000
  from generate_series(1, %(dist)s) g
  join net.devices da on da.name = 'bp-dist-' || lpad(g::text, 2, '0')
  join net.devices db on db.name = 'bp-dist-' || lpad((1 + g %% %(dist)s)::text, 2, '0')
  join net.interfaces a on a.device_id = da.id and a.name = 'ring'
  join net.interfaces b on b.device_id = db.id and b.name = 'ring'
""",
    # The services' CPEs (bench.customers) into the customer store and onto the access points,
    # then as many more as make a million.
    """
update net.devices d
   set store_id = (select id from net.stores where kind = 'customer'),
       model_id = (select id from net.device_models where model = 'LiteBeam bench'),
       parent_device_id = (select a.id from net.devices a where a.name = 'bp-ap-' || lpad((d.id %% %(aps)s)::text, 4, '0'))
 where d.role = 'customer' and d.name like 'CPE %%' and d.store_id is null
""",
    """
insert into net.devices (name, model_id, role, state, store_id, parent_device_id)
select 'CPE-B ' || lpad(g::text, 7, '0'),
       m.ids[1 + g %% 3], 'customer', case when g %% 100 = 0 then 'faulty' else 'active' end,
       (select id from net.stores where kind = 'customer'), a.ids[1 + g %% %(aps)s]
  from generate_series(1, %(cpes)s - (select count(*) from net.devices where role = 'customer')) g,
       (select array_agg(id order by id) as ids from net.devices where name like 'bp-ap-%%') a,
       (select array_agg(id order by id) as ids from net.device_models where kind = 'cpe' and model like '%% bench') m
""",
    """
insert into net.devices (name, model_id, role, state, store_id, serial_no)
select 'Stock ' || g, m.ids[1 + g %% 3], 'customer', 'stock', (select id from net.stores where name = %(marker)s),
       'BPW' || lpad(g::text, 8, '0')
  from generate_series(1, %(stock)s) g,
       (select array_agg(id order by id) as ids from net.device_models where kind = 'cpe' and model like '%% bench') m
""",
    """
insert into net.stock_movements (device_id, kind, from_store_id, to_store_id, moved_at)
select d.id, case when d.store_id = w.id then 'stock_in' else 'assign' end,
       case when d.store_id = w.id then null else w.id end, d.store_id, timestamptz '2020-01-01' + d.id * interval '1 minute'
  from net.devices d, (select id from net.stores where name = %(marker)s) w
 where d.store_id is not null
 order by d.id
""",
    # Parameters of devices: a firmware version on every CPE, a small one on a few.
    """
insert into crm.parameter_definitions (entity, code, name, type)
values ('device', 'bench_firmware', 'Firmware', 'text'), ('device', 'bench_antenna', 'Antenna', 'text')
""",
    """
insert into crm.parameter_values (definition_id, entity_id, value)
select (select id from crm.parameter_definitions where code = 'bench_firmware'), d.id, 'v6.' || (d.id %% 49)
  from net.devices d where d.role = 'customer' and d.store_id = (select id from net.stores where kind = 'customer')
""",
    """
insert into crm.parameter_values (definition_id, entity_id, value)
select (select id from crm.parameter_definitions where code = 'bench_antenna'), d.id, 'sector'
  from net.devices d where d.name like 'bp-ap-%%' order by d.id limit 10
""",
    # The bus: a million events waiting in one topic, a few in another, some dead.
    """
insert into bus.events (topic, entity, payload, created_at)
select %(big)s, 'device:' || g, jsonb_build_object('device', g), now() - interval '1 hour' + g * interval '1 ms'
  from generate_series(1, 1000000) g
""",
    """
insert into bus.events (topic, entity, attempts, last_error)
select %(small)s, 'device:' || g, g %% 2, case when g %% 2 = 1 then 'timeout' end from generate_series(1, 5) g
""",
    """
insert into bus.dead_events (id, topic, entity, revision, payload, attempts, last_error, created_at)
select -g, %(small)s, 'dead:' || g, 1, '{}', 10, 'gave up', now() - interval '1 day' from generate_series(1, 2000) g
""",
)

# A radio interface on every CPE, linked to its access point's downlink (the CPE hangs on it): a
# million links that the map and the sites' links must not read. Added once, after the above.
LINKS_SQL = (
    """
insert into net.interfaces (device_id, name, kind)
select d.id, 'bench-wlan', 'wireless' from net.devices d where d.role = 'customer' and d.parent_device_id is not null
""",
    """
update net.devices d set parent_interface_id = i.id
  from net.interfaces i
 where i.device_id = d.parent_device_id and i.name = 'downlink' and d.role = 'customer'
""",
    """
insert into net.links (a_interface_id, b_interface_id, medium, speed_mbps)
select d.parent_interface_id, i.id, 'radio', 433
  from net.devices d join net.interfaces i on i.device_id = d.id and i.name = 'bench-wlan'
""",
)

# What the triggers keep, rebuilt after a load that skipped them.
RECOUNT_SQL = (
    "delete from net.store_stock",
    """
insert into net.store_stock (store_id, model_id, state, devices)
select store_id, model_id, state, count(*) from net.devices where store_id is not null group by 1, 2, 3
""",
)

ANALYZE = (
    "net.devices", "net.interfaces", "net.links", "net.stock_movements", "net.store_stock", "net.stores",
    "crm.parameter_values", "crm.parameter_definitions", "bus.events", "bus.dead_events",
)  # fmt: skip


def prepare(settings: Settings) -> None:
    """The network, stores, parameters and backlog above (once), and fresh statistics."""
    with psycopg.connect(settings.admin_conninfo(DBNAME), autocommit=True) as conn:
        done = conn.execute("select exists (select from net.stores where name = %s)", [MARKER]).fetchone()
        if not (done and done[0]):
            log("adding the network, stores, parameters and bus backlog of the page benchmark")
            started = time.monotonic()
            params = {
                "dist": DISTRIBUTION, "aps": ACCESS_POINTS, "cpes": CPES, "stock": WAREHOUSE_STOCK,
                "marker": MARKER, "big": BIG_TOPIC, "small": SMALL_TOPIC,
            }  # fmt: skip
            with conn.transaction():
                conn.execute("set local session_replication_role = replica")  # bulk data: no audit, bus
                conn.execute("set local maintenance_work_mem = '512MB'")
                for statement in PREPARE_SQL:
                    conn.execute(statement, params)  # type: ignore[arg-type]  # the constants above
                for statement in RECOUNT_SQL:
                    conn.execute(statement)  # type: ignore[arg-type]
            log(f"  added in {time.monotonic() - started:.0f} s")
        linked = conn.execute(
            "select exists (select from net.interfaces where name = 'bench-wlan')"
        ).fetchone()
        if not (linked and linked[0]):
            log("linking the CPEs to their access points")
            started = time.monotonic()
            with conn.transaction():
                conn.execute("set local session_replication_role = replica")  # no audit, no triggers
                for statement in LINKS_SQL:
                    conn.execute(statement)  # type: ignore[arg-type]  # the constants above
            log(f"  linked in {time.monotonic() - started:.0f} s")
            for table in ANALYZE:
                conn.execute(f"vacuum (analyze) {table}")  # type: ignore[arg-type]  # the names above


# ---------------------------------------------------------------------------------------------
# the pages' queries, as the web client runs them

Conn = AsyncConnection[Any]


async def map_page(conn: Conn, ids: dict[str, int]) -> int:
    rows = await web.fetch_all(conn, net_map.DEVICES_SQL, {"site": None})
    net_map.parent_links(rows, await web.fetch_all(conn, net_map.LINKS_SQL))
    cpes = await web.fetch_all(
        conn,
        net_map.CPES_SQL,
        {
            "parents": [r["id"] for r in rows],
            "per_parent": net_map.CPES_PER_PARENT,
            "limit": net_map.CPE_LIMIT,
        },
    )
    await web.fetch_all(conn, net_map.SITES_SQL)
    await web.fetch_one(conn, net_map.COUNTS_SQL)
    return len(rows) + len(cpes)


async def site_map_page(conn: Conn, ids: dict[str, int]) -> int:
    rows = await web.fetch_all(conn, net_map.DEVICES_SQL, {"site": ids["site"]})
    net_map.parent_links(rows, await web.fetch_all(conn, net_map.LINKS_SQL))
    cpes = await web.fetch_all(
        conn,
        net_map.CPES_SQL,
        {
            "parents": [r["id"] for r in rows],
            "per_parent": net_map.CPES_PER_PARENT,
            "limit": net_map.CPE_LIMIT,
        },
    )
    await web.fetch_all(conn, net_map.SITES_SQL)
    await web.fetch_one(conn, net_map.COUNTS_SQL)
    return len(rows) + len(cpes)


async def geo_page(conn: Conn, ids: dict[str, int]) -> int:
    sites = await web.fetch_all(conn, net_map.GEO_SITES_SQL)
    await counts.each(conn, sites, "devices", net_map.SITE_DEVICES, "id")
    await web.fetch_all(conn, net_map.GEO_PAIRS_SQL)
    return len(sites)


async def stores_page(conn: Conn, ids: dict[str, int]) -> int:
    rows = await web.fetch_all(conn, net_stores.LIST_SQL)
    await web.fetch_all(conn, "select id, code, name from net.sites order by code")
    return len(rows)


async def customer_store_page(conn: Conn, ids: dict[str, int]) -> int:
    store = ids["customer_store"]
    await web.fetch_one(conn, net_stores.STORE_SQL, [store])
    devices = await web.fetch_all(conn, net_stores.DEVICES_SQL, {"id": store, "after": None})
    await web.fetch_all(conn, net_stores.SUMMARY_SQL, [store])
    await web.fetch_all(conn, net_stores.MOVEMENTS_SQL, {"id": store})
    await web.fetch_all(conn, network.MODELS_SQL)
    await web.fetch_all(conn, net_stores.STORES_SQL)
    return len(devices)


async def device_list_page(conn: Conn, ids: dict[str, int]) -> int:
    params = {
        "site": None, "role": None, "like": None, "ip": None, "mac": None, "after_name": None, "after_id": None,
        "limit": network.PAGE_SIZE + 1,
    }  # fmt: skip
    rows = await web.fetch_all(conn, network.LIST_SQL, params)
    await web.fetch_all(conn, network.SITE_OPTIONS_SQL)
    return len(rows)


async def parameters_page(conn: Conn, ids: dict[str, int]) -> int:
    rows = await counts.each(
        conn, await web.fetch_all(conn, parameters.LIST_SQL), "used", parameters.VALUES, "id"
    )
    await web.fetch_all(conn, "select id, name from catalog.classes order by name")
    return len(rows)


async def product_page(conn: Conn, ids: dict[str, int]) -> int:
    data = await web.fetch_one(conn, catalogue.PRODUCT_SQL, [ids["product"]])
    assert data is not None
    await web.fetch_all(conn, catalogue.TARIFF_SERVICES_SQL, [ids["product"]])
    return len(data["tariffs"])


async def bus_page(conn: Conn, ids: dict[str, int]) -> int:
    backlog = await bus.backlog(conn)
    await web.fetch_all(conn, bus.DEAD_SQL)
    await web.fetch_all(conn, bus.AGENTS_SQL)
    return len(backlog)


async def dashboard_page(conn: Conn, ids: dict[str, int]) -> int:
    found = await web.fetch_one(conn, dashboard.COUNTS_SQL)
    assert found is not None
    await counts.count(conn, found["bus_backlog"], "bus.events")
    await counts.count(conn, found["dead_events"], "bus.dead_events")
    await web.fetch_all(conn, dashboard.AGENTS_SQL)
    await web.fetch_all(conn, dashboard.RECENT_SQL)
    return 1


# label, URL, the page's queries, and the bare reference on the table it no longer reads whole.
PAGES: list[tuple[str, str, Callable[[Conn, dict[str, int]], Awaitable[int]], str]] = [
    ("map with CPEs", "/network/map?cpe=1", map_page, "select count(*) from net.devices where role = 'customer'"),
    ("map of a site, CPEs", "/network/map?cpe=1&site={site}", site_map_page,
     "select count(*) from net.devices where role = 'customer'"),
    ("geographic map", "/network/geo", geo_page, "select count(*) from net.devices"),
    ("stores", "/network/stores", stores_page, "select count(*) from net.devices where store_id is not null"),
    ("customer store", "/network/stores/{customer_store}", customer_store_page,
     "select count(*) from net.stock_movements"),
    ("device list", "/network/devices", device_list_page, "select count(*) from net.devices"),
    ("parameters", "/parameters", parameters_page, "select count(*) from crm.parameter_values"),
    ("tariffs of a product", "/catalogue/products/{product}", product_page,
     "select count(*) from crm.service_tariffs where valid @> current_date"),
    ("bus", "/bus", bus_page, "select count(*) from bus.events"),
    ("dashboard", "/", dashboard_page, "select count(*) from bus.events"),
]  # fmt: skip


async def measure_queries(
    settings: Settings, token: str, ids: dict[str, int], rounds: int
) -> dict[str, tuple[list[float], list[float], int]]:
    """Each page's queries in one transaction as the web client runs them, and the reference."""
    out: dict[str, tuple[list[float], list[float], int]] = {}
    async with await AsyncConnection.connect(settings.role_conninfo("mango_web", DBNAME)) as conn:
        for label, _, run, reference in PAGES:
            page_ms: list[float] = []
            ref_ms: list[float] = []
            rows = 0
            for i in range(rounds + 3):  # the first rounds warm the caches
                async with conn.transaction():
                    cur = await conn.execute(STAFF_RESUME_SQL, {"token": token})
                    if await cur.fetchone() is None:
                        raise SystemExit("the bench session is not valid")
                    t0 = time.perf_counter()
                    rows = await run(conn, ids)
                    t1 = time.perf_counter()
                    await conn.execute(reference)  # type: ignore[arg-type]  # the constants above
                    t2 = time.perf_counter()
                if i >= 3:
                    page_ms.append((t1 - t0) * 1000)
                    ref_ms.append((t2 - t1) * 1000)
            out[label] = (page_ms, ref_ms, rows)
            log(f"measured {label}")
    return out


def measure_web(settings: Settings, token: str, ids: dict[str, int], rounds: int) -> dict[str, list[float]]:
    """Each page through the staff web client (one worker), one request at a time."""
    port = customers_web._free_port()
    proc = customers_web.start_web(settings, port, 1)
    out: dict[str, list[float]] = {}
    try:
        for label, url, _, _ in PAGES:
            path = url.format(**ids)
            times: list[float] = []
            for i in range(rounds + 3):
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}{path}", headers={"Cookie": f"mango_session={token}"}
                )
                t0 = time.perf_counter()
                with urllib.request.urlopen(request, timeout=30) as response:
                    response.read()
                    if response.status != 200:
                        raise SystemExit(f"{path} answered {response.status}")
                if i >= 3:
                    times.append((time.perf_counter() - t0) * 1000)
            out[label] = times
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    return out


def sizes(settings: Settings) -> dict[str, int]:
    with psycopg.connect(settings.admin_conninfo(DBNAME)) as conn:
        row = conn.execute(
            """select (select count(*) from crm.customers), (select count(*) from net.devices),
                      (select count(*) from net.stock_movements), (select count(*) from crm.parameter_values),
                      (select count(*) from crm.service_tariffs), (select count(*) from bus.events)"""
        ).fetchone()
    assert row is not None
    return dict(
        zip(
            ("customers", "devices", "movements", "parameter values", "tariff periods", "bus events"),
            row,
            strict=True,
        )
    )


def report(
    queries: dict[str, tuple[list[float], list[float], int]],
    pages: dict[str, list[float]],
    size: dict[str, int],
) -> None:
    print()
    print("pages that read whole tables, as a support user through mango_web (ms); "
          + ", ".join(f"{v:,} {k}" for k, v in size.items()))  # fmt: skip
    header = (
        f"{'page':<22}{'rows':>6}{'queries p50':>13}{'p95':>8}{'reference p50':>15}"
        f"{'page p50':>10}{'p95':>8}  goal: queries p95 < {GOAL_MS:.0f} ms"
    )
    print(header)
    print("-" * len(header))
    for label, _, _, _ in PAGES:
        page_ms, ref_ms, rows = queries[label]
        web_ms = pages.get(label)
        p95 = percentile(page_ms, 95)
        shown = f"{statistics.median(web_ms):>10.1f}{percentile(web_ms, 95):>8.1f}" if web_ms else f"{'':>18}"
        print(
            f"{label:<22}{rows:>6}{statistics.median(page_ms):>13.1f}{p95:>8.1f}{statistics.median(ref_ms):>15.1f}"
            f"{shown}  {'met' if p95 < GOAL_MS else 'MISSED'}"
        )
    print()
    print(
        "queries: the page's statements in its transaction; page: the whole page through the staff web client"
    )
    print(
        "(one worker, one request at a time: the map's time beyond its queries is drawing a thousand devices)"
    )
    print("reference: a bare count of the table the page no longer reads whole, in the same transaction:")
    for label, _, _, reference in PAGES:
        print(f"  {label:<22}{reference}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=30, help="measurements of each page")
    parser.add_argument("--no-web", dest="web", action="store_false", help="the queries only, not the pages")
    args = parser.parse_args(argv)
    settings = settings_mod.load(DBNAME)
    if not customers_bench.is_complete(settings, 1_000_000):
        customers_bench.load(settings, 1_000_000, 20240101)
    else:
        log(f"reusing {DBNAME}")
        bootstrap.ensure_roles(settings)
        migrate.migrate(settings, DBNAME)  # the procedures as they are now
    customers_bench.network_identifiers(settings)  # services and their CPEs (once)
    prepare(settings)
    with psycopg.connect(settings.admin_conninfo(DBNAME)) as conn:
        row = conn.execute(
            "select (select id from net.stores where kind = 'customer'), (select id from net.sites where code = 'BP-01'),"
            " (select id from catalog.products where code = 'inet' and operator_id ="
            "   (select id from crm.operators where code = %s))",
            [customers_bench.OPERATOR_CODE],
        ).fetchone()
    assert row is not None
    ids = {"customer_store": int(row[0]), "site": int(row[1]), "product": int(row[2])}
    token = customers_bench.staff_token(settings)
    queries = asyncio.run(measure_queries(settings, token, ids, args.rounds))
    pages = measure_web(settings, token, ids, args.rounds) if args.web else {}
    report(queries, pages, sizes(settings))


if __name__ == "__main__":
    main()

"""The demo network: every running internet service of the demo operator gets a CPE hung in the
topology, an access point or OLT, an address from a pool and a MAC; outages are computed from it.

The demo is loaded into a database of this test's own (the demo marks its operator and refuses a
second load, so it must not share the session's database with other tests).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from db import bootstrap, demo, migrate
from db.demo.network import load_network
from db.settings import Settings

CUSTOMERS = 300


@pytest.fixture(scope="module")
def demo_db(settings: Settings) -> Iterator[str]:
    name = f"mango_test_netdemo_{os.getpid()}"
    bootstrap.drop_database(settings, name)
    bootstrap.ensure_database(settings, name)
    migrate.migrate(settings, name)
    conninfo = settings.admin_conninfo(name)
    demo.load(conninfo, customers=CUSTOMERS, seed=7)
    with psycopg.connect(conninfo) as conn:
        operator = conn.execute("select id from crm.operators where code = %s", [demo.MARKER]).fetchone()
        assert operator is not None
        # The demo may load the network itself; load it here when it did not.
        if conn.execute(
            "select not exists (select from net.sites where operator_id = %s)", operator
        ).fetchone() == (True,):
            load_network(conn, random.Random(7), operator[0])
        conn.commit()
    yield conninfo
    if not os.environ.get("MANGO_KEEP_TEST_DB"):
        bootstrap.drop_database(settings, name)


@pytest.fixture
def conn(demo_db: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(demo_db) as c:
        yield c
        c.rollback()


RUNNING_INTERNET = """
    select s.id, s.customer_id
      from crm.services s
      join catalog.products p on p.id = s.product_id
      join catalog.classes k on k.id = p.class_id and k.code = 'internet'
      join crm.operators o on o.id = s.operator_id and o.code = 'demo'
     where s.state in ('active', 'blocked', 'suspended')
"""


def test_demo_has_running_internet_services(conn: psycopg.Connection[Any]) -> None:
    count = conn.execute(f"select count(*) from ({RUNNING_INTERNET}) x").fetchone()  # noqa: S608
    assert count is not None and count[0] > 50


def test_every_running_internet_service_has_cpe_access_ip_and_mac(conn: psycopg.Connection[Any]) -> None:
    missing = conn.execute(
        f"""
        select s.id,
               exists (select from net.service_devices sd join net.devices d on d.id = sd.device_id
                        where sd.service_id = s.id and sd.role = 'cpe' and upper_inf(sd.valid)
                          and d.store_id = net.customer_store() and d.parent_device_id is not null) as cpe,
               exists (select from net.service_devices sd join net.devices d on d.id = sd.device_id
                         join net.device_models m on m.id = d.model_id
                        where sd.service_id = s.id and sd.role = 'access' and upper_inf(sd.valid)
                          and m.kind in ('ap', 'olt')) as access,
               exists (select from net.ip_assignments a
                        where a.service_id = s.id and upper_inf(a.valid) and family(a.address) = 4
                          and a.pool_id is not null) as ip,
               exists (select from net.mac_assignments m where m.service_id = s.id and upper_inf(m.valid)) as mac
          from ({RUNNING_INTERNET}) s
        """  # noqa: S608
    ).fetchall()
    incomplete = [row for row in missing if not all(row[1:])]
    assert missing and not incomplete, incomplete[:10]


def test_cpe_hangs_on_its_access_device(conn: psycopg.Connection[Any]) -> None:
    wrong = conn.execute(
        """
        select cpe.service_id
          from net.service_devices cpe
          join net.devices d on d.id = cpe.device_id
          join net.service_devices acc on acc.service_id = cpe.service_id and acc.role = 'access' and upper_inf(acc.valid)
         where cpe.role = 'cpe' and upper_inf(cpe.valid)
           and (d.parent_device_id <> acc.device_id or d.parent_interface_id <> acc.interface_id)
        """
    ).fetchall()
    assert wrong == []


def test_affected_customers_of_each_aggregation_switch_are_those_behind_it(
    conn: psycopg.Connection[Any],
) -> None:
    aggs = conn.execute(
        """
        select d.id, d.name from net.devices d join net.device_models m on m.id = d.model_id
         where m.kind = 'switch' and d.parent_device_id in (select id from net.devices where is_core)
         order by d.id
        """
    ).fetchall()
    assert 3 <= len(aggs) <= 6
    total = 0
    for agg_id, agg_name in aggs:
        affected = {
            r[0]
            for r in conn.execute("select customer_id from net.affected_customers(%s)", [agg_id]).fetchall()
        }
        behind = {
            r[0]
            for r in conn.execute(
                f"""
                select s.customer_id
                  from ({RUNNING_INTERNET}) s
                  join net.service_devices sd on sd.service_id = s.id and sd.role = 'cpe' and upper_inf(sd.valid)
                 where exists (select from net.path_to_core(sd.device_id) p where p.device_id = %s)
                """,  # noqa: S608
                [agg_id],
            ).fetchall()
        }
        assert affected == behind, agg_name
        total += len(affected)
    assert total > 0


def test_path_to_core_of_a_cpe_reaches_the_core_with_media(conn: psycopg.Connection[Any]) -> None:
    rows = conn.execute(
        """
        select p.depth, p.medium, p.is_core
          from (select device_id from net.service_devices where role = 'cpe' and upper_inf(valid) order by id limit 1) c
          cross join lateral net.path_to_core(c.device_id) p
         order by p.depth
        """
    ).fetchall()
    assert rows[-1][2] is True
    assert rows[0][1] in ("radio", "fibre")
    assert all(medium is not None for _, medium, _ in rows[:-1])


def test_address_history_has_reassigned_addresses(conn: psycopg.Connection[Any]) -> None:
    row = conn.execute(
        """
        select a.address, lower(a.valid), a.service_id
          from net.ip_assignments a
         where exists (select from net.ip_assignments b
                        where b.address = a.address and b.id <> a.id and lower(b.valid) >= upper(a.valid))
           and a.service_id is not null and not upper_inf(a.valid)
         order by a.id limit 1
        """
    ).fetchone()
    assert row is not None, "no address was ever held by two services one after the other"
    address, start, service_id = row
    holder = conn.execute("select service_id from net.who_had(%s, %s)", [address, start]).fetchone()
    assert holder == (service_id,)
    renumbered = conn.execute(
        "select count(*) from (select service_id from net.ip_assignments where family(address) = 4"
        " group by service_id having count(*) > 1) x"
    ).fetchone()
    assert renumbered is not None and renumbered[0] > 0

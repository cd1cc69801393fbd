"""Concurrent address allocation: eight clients allocating from one pool at once each get a
different address, and together they fill the pool from its start without gaps."""

from __future__ import annotations

import ipaddress
import threading

import psycopg

from db.settings import Settings

CLIENTS = 8
PER_CLIENT = 5


def _make_pool_and_services(settings: Settings) -> tuple[int, list[int]]:
    with psycopg.connect(settings.admin_conninfo()) as conn:
        op = conn.execute("select tests.make_operator()").fetchone()[0]  # type: ignore[index]
        tariff = conn.execute("select tests.make_tariff(500, %s)", [op]).fetchone()[0]  # type: ignore[index]
        services = [
            conn.execute("select tests.net_make_service(null, %s)", [tariff]).fetchone()[0]  # type: ignore[index]
            for _ in range(CLIENTS)
        ]
        prefix = conn.execute(
            "insert into net.prefixes (prefix, kind) values ('100.72.0.0/24', 'cgnat') returning id"
        ).fetchone()[0]  # type: ignore[index]
        pool = conn.execute(
            """insert into net.pools (prefix_id, name, first_address, last_address, purpose)
               values (%s, 'test-concurrent', '100.72.0.10', '100.72.0.250', 'nat') returning id""",
            [prefix],
        ).fetchone()[0]  # type: ignore[index]
        # The support user the clients log in as exists before they start.
        conn.execute("select tests.make_user('{support}', 'test_support')")
        conn.commit()
    return pool, services


def test_concurrent_allocations_from_one_pool_are_distinct_and_consecutive(settings: Settings) -> None:
    pool, services = _make_pool_and_services(settings)
    barrier = threading.Barrier(CLIENTS)
    got: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def client(service_id: int) -> None:
        try:
            with psycopg.connect(settings.admin_conninfo()) as conn:
                barrier.wait()
                for _ in range(PER_CLIENT):
                    # As a support user, like the web client: the role switch and the allocation
                    # in one transaction, committed at once.
                    conn.execute("call tests.as_staff('{support}')")
                    address = conn.execute(
                        "select net.allocate_ip(%s, %s)::text", [pool, service_id]
                    ).fetchone()
                    conn.commit()
                    assert address is not None
                    with lock:
                        got.append(address[0])
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(s,)) for s in services]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not errors, errors
    addresses = sorted(ipaddress.ip_address(a.split("/")[0]) for a in got)
    assert len(addresses) == CLIENTS * PER_CLIENT
    assert len(set(addresses)) == len(addresses), "an address was allocated twice"
    start = ipaddress.ip_address("100.72.0.10")
    assert addresses == [start + i for i in range(CLIENTS * PER_CLIENT)]
    with psycopg.connect(settings.admin_conninfo()) as conn:
        rows = conn.execute(
            "select count(*), count(distinct service_id) from net.ip_assignments where pool_id = %s", [pool]
        ).fetchone()
    assert rows == (CLIENTS * PER_CLIENT, CLIENTS)

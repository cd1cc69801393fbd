"""Rating of call records (BIL-3): `python -m bench.rating`.

Builds its own database ``mango_bench_rating`` from the migrations (or reuses it when it holds the
same data), with one operator: time bands (peak, off-peak, weekend, a holiday), a rate table of
Czech and international destinations, three voice tariffs with included minutes, ``--services``
voice services holding their phone numbers, and ``--calls`` call records of one month, generated
set-based by ``generate_calls`` (which the billing benchmark may call on its own database: it
needs only an operator whose voice services hold numbers).

Then, in the same run and on the same rows: a bare ``insert … select`` of the month's calls into a
table shaped like ``billing.rated_calls`` (same indexes) as the machine's reference, the rating of
the month (``billing.rate_calls``: every call new), and the rating again (a re-rating after a rate
change: the month's ratings replaced). Prints the figures beside the goal "1,000,000 CDRs rated in
under 10 s"; asserts nothing.
"""

from __future__ import annotations

import argparse
import time
from datetime import date

import psycopg

from bench._common import db_exists, log
from db import bootstrap, migrate
from db import settings as settings_mod
from db.settings import Settings

DBNAME = "mango_bench_rating"
OPERATOR_CODE = "bench-voice"
GOAL_S = 10.0

# The rate table: prefix, name, kind, included minutes apply, price per minute in the peak band
# and in the other bands (None: one price in every band), connection fee, increments.
DESTINATIONS: tuple[tuple[str, str, str, bool, float, float | None, float, int, int], ...] = (
    ("420", "Česká republika – pevné sítě", "fixed", True, 0.99, 0.49, 0.0, 60, 60),
    ("4206", "Česká republika – mobilní sítě", "mobile", True, 1.99, 1.49, 0.0, 60, 60),
    ("4207", "Česká republika – mobilní sítě", "mobile", True, 1.99, 1.49, 0.0, 60, 60),
    ("420112", "Tísňové volání", "emergency", False, 0.0, None, 0.0, 1, 1),
    ("420150", "Tísňové volání", "emergency", False, 0.0, None, 0.0, 1, 1),
    ("420155", "Tísňové volání", "emergency", False, 0.0, None, 0.0, 1, 1),
    ("420158", "Tísňové volání", "emergency", False, 0.0, None, 0.0, 1, 1),
    ("4201188", "Informační služby", "special", False, 12.0, None, 5.0, 60, 60),
    ("4208", "Bezplatné linky", "special", False, 0.0, None, 0.0, 1, 1),
    ("4209", "Audiotex", "premium", False, 29.0, None, 0.0, 1, 1),
    ("421", "Slovensko", "international", False, 4.9, None, 0.0, 60, 60),
    ("42190", "Slovensko – mobilní", "international", False, 6.9, None, 0.0, 60, 60),
    ("43", "Rakousko", "international", False, 5.9, None, 0.0, 60, 1),
    ("4366", "Rakousko – mobilní", "international", False, 8.9, None, 0.0, 60, 1),
    ("44", "Velká Británie", "international", False, 3.9, None, 0.0, 1, 1),
    ("447", "Velká Británie – mobilní", "international", False, 7.9, None, 0.0, 1, 1),
    ("48", "Polsko", "international", False, 4.9, None, 0.0, 60, 60),
    ("49", "Německo", "international", False, 5.5, None, 0.0, 30, 30),
    ("4915", "Německo – mobilní", "international", False, 8.5, None, 0.0, 30, 30),
    ("1", "USA a Kanada", "international", False, 3.9, None, 0.0, 60, 60),
)
# Voice tariffs: code, name, monthly fee, included minutes.
TARIFFS: tuple[tuple[str, str, int, int], ...] = (
    ("VOIP0", "Hlas bez minut", 49, 0),
    ("VOIP100", "Hlas 100", 149, 100),
    ("VOIP300", "Hlas 300", 249, 300),
)

# N calls of a month from the operator's voice services, set-based: the calling services drawn
# uniformly, three calls in four on working hours, 45 % to Czech mobiles, 35 % to Czech fixed
# lines, 10 % international, 3 % special numbers, the rest to other customers; 88 % answered
# with talk times of an exponential distribution (mean two minutes); 3 % are incoming calls
# (an outside caller, not rated to anyone).
GENERATE_CALLS = """
with numbers as materialized (
    select row_number() over (order by n.id) - 1 as k, n.number
      from billing.phone_numbers n
      join crm.services s on s.id = n.service_id
     where s.operator_id = %(op)s and n.valid @> %(start)s::timestamptz
), drawn as (
    select i, random() as r_caller, random() as r_day, random() as r_work, random() as r_minute,
           random() as r_second, random() as r_kind, random() as r_number, random() as r_disposition,
           random() as r_talk, random() as r_ring, random() as r_incoming
      from generate_series(1, %(n)s) i
), calls as (
    select d.i, n.number as ours,
           (%(start)s::date + floor(d.r_day * %(days)s)::integer)::timestamp
             + make_interval(mins => case when d.r_work < 0.75 then 420 + floor(d.r_minute * 720)::integer
                                          else (1140 + floor(d.r_minute * 720)::integer) %% 1440 end,
                             secs => floor(d.r_second * 60)) as local_start,
           case when d.r_kind < 0.45 then (array['60', '70', '73', '77'])[1 + floor(d.r_number * 4)::integer]
                                          || lpad(floor(d.r_number * 1e7)::bigint::text, 7, '0')
                when d.r_kind < 0.80 then (2 + floor(d.r_number * 4)::integer)::text
                                          || lpad(floor(d.r_number * 1e8)::bigint::text, 8, '0')
                when d.r_kind < 0.90 then (array['00421', '0042190', '0043', '004366', '0044', '00447', '0048',
                                                 '0049', '004915', '001'])[1 + floor(d.r_number * 10)::integer]
                                          || lpad(floor(d.r_number * 1e8)::bigint::text, 8, '0')
                when d.r_kind < 0.93 then (array['1188', '800123456', '900111222', '112'])[
                                          1 + floor(d.r_number * 4)::integer]
                else '53' || lpad(floor(d.r_number * 1e7)::bigint::text, 7, '0')
           end as dialled,
           case when d.r_disposition < 0.88 then 'ANSWERED' when d.r_disposition < 0.95 then 'NO ANSWER'
                when d.r_disposition < 0.98 then 'BUSY' else 'FAILED' end as disposition,
           floor(-ln(1 - d.r_talk) * 120)::integer + 1 as talk,
           3 + floor(d.r_ring * 15)::integer as ring,
           d.r_incoming < 0.03 as incoming
      from drawn d
      join numbers n on n.k = floor(d.r_caller * (select count(*) from numbers))::bigint
)
insert into billing.calls (operator_id, import_id, line_no, line_key, accountcode, src, dst, dcontext, clid, channel,
                           dstchannel, lastapp, lastdata, start_at, answer_at, end_at, duration, billsec,
                           disposition, amaflags, uniqueid, account_number, calling_number, called_number)
select %(op)s, %(import)s, c.i, md5(%(tag)s || c.i)::uuid,
       case when c.incoming then '' else substr(c.ours, 5) end,
       case when c.incoming then c.dialled else substr(c.ours, 5) end,
       case when c.incoming then substr(c.ours, 5) else c.dialled end,
       case when c.incoming then 'from-trunk' else 'from-customers' end,
       '"' || substr(c.ours, 5) || '" <' || substr(c.ours, 5) || '>', 'PJSIP/' || substr(c.ours, 5) || '-' || c.i,
       'PJSIP/trunk-' || c.i, 'Dial', 'PJSIP/' || c.dialled || '@trunk,60,Tt',
       c.local_start at time zone %(zone)s,
       case when c.disposition = 'ANSWERED' then (c.local_start + make_interval(secs => c.ring)) at time zone %(zone)s end,
       (c.local_start + make_interval(secs => c.ring + case when c.disposition = 'ANSWERED' then c.talk else 0 end))
         at time zone %(zone)s,
       c.ring + case when c.disposition = 'ANSWERED' then c.talk else 0 end,
       case when c.disposition = 'ANSWERED' then c.talk else 0 end,
       c.disposition, 'DOCUMENTATION', '1790000000.' || c.i,
       case when c.incoming then null else c.ours end,
       case when c.incoming then billing.e164(c.dialled) else c.ours end,
       billing.called_digits(case when c.incoming then substr(c.ours, 5) else c.dialled end)
  from calls c
"""


def generate_calls(
    conn: psycopg.Connection, operator_id: int, month: date, n: int, seed: int = 20261101
) -> int:
    """Insert n call records of the month (its first day) for the operator's voice services, as one
    import; returns the import's id. Deterministic for a seed (one statement, one plan)."""
    zone_row = conn.execute("select crm.business_zone(%s)", [operator_id]).fetchone()
    assert zone_row is not None
    zone = str(zone_row[0])
    nxt = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    tag = f"bench {operator_id} {month} {n} {seed} "
    row = conn.execute(
        "insert into billing.cdr_imports (operator_id, file_name, sha256, time_zone)"
        " values (%s, %s, sha256(convert_to(%s, 'UTF8')), %s) returning id",
        [operator_id, f"generated {n} calls of {month:%Y-%m}", tag, zone],
    ).fetchone()
    assert row is not None
    import_id = int(row[0])
    conn.execute("select setseed(%s)", [(seed % 2_000_000) / 1_000_000 - 1])
    conn.execute(
        GENERATE_CALLS,
        {"op": operator_id, "import": import_id, "start": month, "days": (nxt - month).days, "n": n, "zone": zone,
         "tag": tag},
    )  # fmt: skip
    conn.execute(
        "update billing.cdr_imports i set lines = s.n, calls = s.n, first_call = s.first_call, last_call = s.last_call"
        "  from (select count(*) as n, min(start_at) as first_call, max(start_at) as last_call"
        "          from billing.calls where import_id = %(id)s) s"
        " where i.id = %(id)s",
        {"id": import_id},
    )
    return import_id


def setup_operator(conn: psycopg.Connection, services: int) -> int:
    """The bench operator with its bands, rate table, voice tariffs, customers and voice services."""
    row = conn.execute(
        "insert into crm.operators (code, name, ico, dic, street, city, zip)"
        " values (%s, 'Bench Voice s.r.o.', '27082440', 'CZ27082440', 'Hlavní 1', 'Brno', '602 00') returning id",
        [OPERATOR_CODE],
    ).fetchone()
    assert row is not None
    op = int(row[0])
    for statement in (
        """
        insert into billing.time_bands (operator_id, code, name)
        values (%(op)s, 'peak', 'Špička'), (%(op)s, 'offpeak', 'Mimo špičku'), (%(op)s, 'weekend', 'Víkend')
        """,
        """
        insert into billing.time_band_hours (operator_id, band_id, isodow, minutes)
        select %(op)s, b.id, d, m.minutes
          from generate_series(1, 7) d
          join billing.time_bands b on b.operator_id = %(op)s
         cross join lateral (values (int4range(420, 1140), 'peak', false), (int4range(0, 420), 'offpeak', false),
                                    (int4range(1140, 1440), 'offpeak', false), (int4range(0, 1440), 'weekend', true)) m
                              (minutes, band, weekend)
         where m.band = b.code and (d >= 6) = m.weekend
        """,
        """
        insert into billing.holidays (operator_id, day, band_id, name)
        select %(op)s, '2026-11-17', id, 'Den boje za svobodu a demokracii' from billing.time_bands
         where operator_id = %(op)s and code = 'weekend'
        """,
        """
        insert into billing.rate_tables (operator_id, code, name, is_default) values (%(op)s, 'zakladni', 'Základní', true)
        """,
    ):
        conn.execute(statement, {"op": op})  # type: ignore[arg-type]
    for prefix, name, kind, included, peak, other, fee, first, nxt in DESTINATIONS:
        conn.execute(
            """
            with d as (
              insert into billing.destinations (operator_id, rate_table_id, prefix, name, kind, uses_included_minutes)
              select %(op)s, t.id, %(prefix)s, %(name)s, %(kind)s, %(included)s
                from billing.rate_tables t where t.operator_id = %(op)s and t.code = 'zakladni'
              returning id
            )
            insert into billing.rates (operator_id, destination_id, band_id, valid, price_per_minute, connection_fee,
                                       first_increment, next_increment)
            select %(op)s, d.id, b.id, daterange('2020-01-01', null), coalesce(b.price, %(peak)s), %(fee)s,
                   %(first)s, %(next)s
              from d
             cross join lateral (select t.id, %(peak)s::numeric as price from billing.time_bands t
                                  where t.operator_id = %(op)s and t.code = 'peak' and %(other)s::numeric is not null
                                 union all
                                 select null, %(other)s::numeric) b
            """,
            {"op": op, "prefix": prefix, "name": name, "kind": kind, "included": included, "peak": peak,
             "other": other, "fee": fee, "first": first, "next": nxt},
        )  # fmt: skip
    for statement in (
        """
        insert into catalog.classes (code, name, kind) values ('bench_voice', 'Hlas', 'service')
        on conflict (code) do nothing
        """,
        """
        insert into crm.parameter_definitions (entity, class_id, code, name, type, min_value, max_value)
        select 'tariff', c.id, 'free_minutes', 'Volné minuty', 'number', 0, 100000
          from catalog.classes c where c.code = 'bench_voice'
        on conflict do nothing
        """,
        """
        insert into crm.parameter_definitions (entity, class_id, code, name, type, pattern)
        select 'service', c.id, 'phone_number', 'Telefonní číslo', 'text', '^\\+420\\d{9}$'
          from catalog.classes c where c.code = 'bench_voice'
        on conflict do nothing
        """,
        """
        insert into catalog.products (operator_id, class_id, code, name)
        select %(op)s, c.id, 'VOIP', 'VoIP linka' from catalog.classes c where c.code = 'bench_voice'
        """,
    ):
        conn.execute(statement, {"op": op})  # type: ignore[arg-type]
    for code, name, fee, minutes in TARIFFS:
        row = conn.execute(
            "insert into catalog.tariffs (product_id, code, name)"
            " select p.id, %s, %s from catalog.products p where p.operator_id = %s and p.code = 'VOIP' returning id",
            [code, name, op],
        ).fetchone()
        assert row is not None
        conn.execute(
            "insert into catalog.prices (tariff_id, valid, monthly_fee) values (%s, daterange('2020-01-01', null), %s)",
            [row[0], fee],
        )
        conn.execute("select crm.set_parameter('tariff', %s, 'free_minutes', %s)", [row[0], str(minutes)])
    # Customers, their voice services from 2026-01-01 (a few in ten tariff changes and starts inside
    # the month, so that pro rata included minutes are measured too) and their numbers, set-based.
    for statement in (
        """
        insert into crm.customers (operator_id, customer_no, vs, kind, first_name, last_name, street, house_no, city,
                                   zip, created_on)
        select %(op)s, 'V' || lpad(i::text, 7, '0'), (30000000 + i)::text, 'person', 'Jan', 'Zákazník ' || i,
               'Hlavní', i::text, 'Brno', '602 00', '2020-01-01'
          from generate_series(1, %(n)s) i
        """,
        """
        with s as (
          insert into crm.services (customer_id, operator_id, product_id, state, valid, billing_plan_id)
          select c.id, %(op)s, p.id, 'active',
                 daterange(case when c.id %% 10 = 0 then '2026-11-17'::date else '2026-01-01'::date end, null), bp.id
            from crm.customers c
            join catalog.products p on p.operator_id = %(op)s and p.code = 'VOIP'
            join billing.plans bp on bp.operator_id = %(op)s and bp.is_default
           where c.operator_id = %(op)s
          returning id, customer_id, lower(valid) as since
        ), t as (
          insert into crm.service_tariffs (service_id, tariff_id, valid)
          select s.id, t.id,
                 case when s.customer_id %% 10 = 5 then daterange(s.since, '2026-11-15') else daterange(s.since, null) end
            from s
            join catalog.tariffs t on t.code = (array['VOIP0', 'VOIP100', 'VOIP300'])[1 + s.customer_id %% 3]
            join catalog.products p on p.id = t.product_id and p.operator_id = %(op)s
          union all
          select s.id, t.id, daterange('2026-11-15', null)
            from s
            join catalog.tariffs t on t.code = 'VOIP300'
            join catalog.products p on p.id = t.product_id and p.operator_id = %(op)s
           where s.customer_id %% 10 = 5
        )
        insert into billing.phone_numbers (number, service_id, valid)
        select '+420532' || lpad(s.id::text, 6, '0'), s.id, tstzrange(s.since::timestamp at time zone 'Europe/Prague', null)
          from s
        """,
    ):
        conn.execute(statement, {"op": op, "n": services})  # type: ignore[arg-type]
    return op


def is_complete(settings: Settings, services: int, calls: int) -> bool:
    if not db_exists(settings, DBNAME):
        return False
    try:
        with psycopg.connect(settings.admin_conninfo(DBNAME), autocommit=True) as conn:
            row = conn.execute(
                "select (select count(*) from crm.services s join crm.operators o on o.id = s.operator_id"
                "         where o.code = %s),"
                "       (select count(*) from billing.calls c join crm.operators o on o.id = c.operator_id"
                "         where o.code = %s)",
                [OPERATOR_CODE, OPERATOR_CODE],
            ).fetchone()
    except psycopg.Error:
        return False
    return row is not None and row[0] == services and row[1] == calls


def build(settings: Settings, services: int, calls: int, month: date, seed: int) -> None:
    log(f"building database {DBNAME} from the migrations")
    bootstrap.ensure_roles(settings)
    bootstrap.drop_database(settings, DBNAME)
    bootstrap.ensure_database(settings, DBNAME)
    migrate.migrate(settings, DBNAME)
    with psycopg.connect(settings.admin_conninfo(DBNAME)) as conn:
        start = time.perf_counter()
        op = setup_operator(conn, services)
        conn.commit()
        log(f"operator, rate table and {services:,} voice services: {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        generate_calls(conn, op, month, calls, seed)
        conn.commit()
        log(f"{calls:,} call records generated: {time.perf_counter() - start:.1f} s")
    with psycopg.connect(settings.admin_conninfo(DBNAME), autocommit=True) as conn:
        conn.execute("vacuum analyze billing.calls")
        conn.execute("vacuum analyze billing.phone_numbers")
        conn.execute("vacuum analyze crm.service_tariffs")


def timed(
    conn: psycopg.Connection, statement: str, params: dict[str, object]
) -> tuple[float, tuple[object, ...]]:
    start = time.perf_counter()
    row = conn.execute(statement, params).fetchone()  # type: ignore[arg-type]
    return time.perf_counter() - start, tuple(row or ())


REFERENCE = """
with x as (
insert into bench.rated_reference (call_id, run_id, service_id, tariff_id, status, destination_id, band_id, rate_id,
                                   charged_seconds, free_seconds, price)
select c.id, 0, null, null, 'rated', null, null, null, c.billsec, 0, 0
  from billing.calls c
 where c.operator_id = %(op)s and c.start_at >= %(start)s::date::timestamp at time zone 'Europe/Prague'
   and c.start_at < %(end)s::date::timestamp at time zone 'Europe/Prague'
returning 1
)
select count(*) from x
"""

RATE = """
select r.calls, r.rated, r.not_billable, r.unrated, r.amount
  from billing.rate_calls(%(op)s, %(period)s::daterange) r
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--services", type=int, default=20_000, help="voice services (default 20,000)")
    parser.add_argument(
        "--calls", type=int, default=1_000_000, help="call records of the month (default 1,000,000)"
    )
    parser.add_argument("--month", default="2026-11-01", help="the month rated (its first day)")
    parser.add_argument("--seed", type=int, default=20261101)
    parser.add_argument(
        "--rebuild", action="store_true", help="rebuild the database even if it holds the data"
    )
    args = parser.parse_args(argv)
    month = date.fromisoformat(args.month)
    end = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    settings = settings_mod.load(DBNAME)
    if args.rebuild or not is_complete(settings, args.services, args.calls):
        build(settings, args.services, args.calls, month, args.seed)
    else:
        log(f"reusing {DBNAME} with {args.services:,} voice services and {args.calls:,} calls")
        bootstrap.ensure_roles(settings)
        migrate.migrate(settings, DBNAME)  # the procedures as they are now
    with psycopg.connect(settings.admin_conninfo(DBNAME), autocommit=True) as conn:
        op_row = conn.execute("select id from crm.operators where code = %s", [OPERATOR_CODE]).fetchone()
        assert op_row is not None
        params: dict[str, object] = {
            "op": int(op_row[0]),
            "period": f"[{month},{end})",
            "start": month,
            "end": end,
        }
        # Every rating of the month so far goes, so that the first rating below rates every call anew.
        conn.execute(
            "delete from billing.rated_calls where run_id in (select id from billing.rating_runs where operator_id = %(op)s)",
            params,
        )
        conn.execute("delete from billing.rating_runs where operator_id = %(op)s", params)
        conn.execute("vacuum analyze billing.rated_calls")
        conn.execute("create schema if not exists bench")
        conn.execute("drop table if exists bench.rated_reference")
        conn.execute("create table bench.rated_reference (like billing.rated_calls including all)")
        conn.execute("select count(*) from billing.calls")  # the same warm cache for both
        ref_s, _ = timed(conn, REFERENCE, params)
        first_s, first = timed(conn, RATE, params)
        again_s, again = timed(conn, RATE, params)
    calls, rated, not_billable, unrated, amount = first
    log(
        f"rated {calls:,} calls: {rated:,} rated, {not_billable:,} not billable, {unrated:,} unrated"
        f" (incoming and unknown numbers), {amount} CZK"
    )
    print(f"bare insert … select of the same {calls:,} rows (reference): {ref_s:6.2f} s")
    print(
        f"rating {calls:,} CDRs (billing.rate_calls, first):   {first_s:6.2f} s"
        f"  ({first_s / ref_s:.1f}× the reference; goal: under {GOAL_S:.0f} s)"
    )
    print(
        f"rating them again (ratings replaced):           {again_s:6.2f} s"
        f"  ({again_s / ref_s:.1f}× the reference; same result: {again == first})"
    )


if __name__ == "__main__":
    main()

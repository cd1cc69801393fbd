"""The monthly billing run (BIL-2) at 100,000 customers: `python -m bench.billing`.

Builds its own database ``mango_bench_billing`` from the migrations (or reuses it when it is
complete): one operator with a small catalogue (internet with VAT and without, TV, voice, a router
rental), a bundle with discounts and a group discount, ``--customers`` customers (one in a hundred
a branch its parent pays for) and about 2.5 services each, set-based under
``session_replication_role = replica`` (no audit or bus rows for bulk data; every service carries
the operator's default billing plan, which the trigger would fill in): some started or ended inside
the month, suspended for some days, with a tariff change in the middle of it, billed by quarters
or years.

The month before the measured one is billed once (not measured), as a database in use holds last
month's charges. Then, in the same run: the billing of the current month as a signed-in billing user
(``billing.run``: charges, draft documents with their lines, VAT recap and rounding; no PDFs), the
second run of the same month (it must create nothing), and a bare set-based ``insert … select`` of
the same charges into a scratch table shaped like ``billing.charges`` (same indexes) as the
machine's reference. Prints the figures beside the goals "run under 15 s and at most 2× the bare
reference; second run under 3 s". With ``--explain``, the plans of the run's two statements
(``billing.run_charges``, ``billing.run_documents``) with their timings, in a transaction rolled
back. A run that takes longer than ``--timeout`` seconds is cancelled and reported. Asserts nothing.
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from typing import Any

import psycopg

from bench._common import act_as, db_exists, log, staff_session
from db import bootstrap, migrate
from db import settings as settings_mod
from db.settings import Settings

DBNAME = "mango_bench_billing"
OPERATOR_CODE = "bench-billing"
STAFF_USER = "bench_billing"
GOAL_RUN_S = 15.0
GOAL_RATIO = 2.0
GOAL_SECOND_S = 3.0
VS_BASE = 30_000_000

# code, product (code, name, price mode), name, monthly fee, setup fee
TARIFFS: tuple[tuple[str, str, str, str, str, int, int], ...] = (
    ("NET300", "NET", "Internet", "with_vat", "Optika 300", 599, 1490),
    ("NET1000", "NET", "Internet", "with_vat", "Optika 1000", 849, 1490),
    ("BIZ500", "BIZ", "Internet pro firmy", "without_vat", "Business 500", 1390, 2500),
    ("TVSTART", "TV", "Televize", "with_vat", "TV Start", 219, 0),
    ("TVKOMPLET", "TV", "Televize", "with_vat", "TV Komplet", 429, 0),
    ("VOICE100", "VOICE", "Volání", "with_vat", "Volání 100", 119, 0),
    ("ROUTER", "ROUTER", "Pronájem routeru", "with_vat", "Pronájem routeru", 59, 0),
)

# The customers, set-based: every hundredth one (from the 101st) a branch paid by the customer
# before it; a group discount for one in fifty.
CUSTOMERS_SQL = """
insert into crm.customers (operator_id, customer_no, vs, kind, first_name, last_name, company_name, ico, street,
                           house_no, city, zip, created_on)
select %(op)s, 'B' || lpad(i::text, 7, '0'), (%(vs)s + i)::text,
       case when i %% 10 = 0 then 'company' else 'person' end,
       case when i %% 10 <> 0 then (array['Jan', 'Eva', 'Petr', 'Jana', 'Tomáš', 'Lenka'])[1 + i %% 6] end,
       case when i %% 10 <> 0 then (array['Novák', 'Svobodová', 'Dvořák', 'Černá', 'Procházka', 'Veselá'])[1 + i %% 6]
       end,
       case when i %% 10 = 0 then 'Firma ' || i || ' s.r.o.' end, null,
       (array['Hlavní', 'Nádražní', 'Školní', 'Zahradní'])[1 + i %% 4], (1 + i %% 300)::text,
       (array['Brno', 'Praha', 'Ostrava', 'Olomouc'])[1 + i %% 4], '602 00',
       date '2019-01-01' + (i %% 2500)
  from generate_series(1, %(n)s) i
"""
BRANCHES_SQL = """
update crm.customers c set parent_id = p.id
  from crm.customers p
 where c.operator_id = %(op)s and p.operator_id = %(op)s and c.customer_no ~ '^B'
   and substr(c.customer_no, 2)::integer %% 100 = 1 and substr(c.customer_no, 2)::integer > 100
   and p.customer_no = 'B' || lpad((substr(c.customer_no, 2)::integer - 1)::text, 7, '0')
"""
# About 2.5 services a customer: internet for everyone (a business tariff without VAT for
# companies), TV for 70 % (half of it in the bundle with the internet), voice for 50 %, a router for
# 30 %. Most are billed monthly from the 1st; 5 % by quarters, 3 % by years; 2 % started this month
# (a setup fee and pro rata), 1 % end in it, 1 % are suspended for ten days of it, 1 % change tariff
# on the 16th.
SERVICES_SQL = """
with cat as (
  select (select id from billing.plans where operator_id = %(op)s and is_default) as plan,
         (select id from catalog.bundles where operator_id = %(op)s and code = 'DUO') as bundle
), picked as (
  select c.id as customer_id, c.kind, row_number() over (order by c.id) as k, x.item, t.id as tariff_id,
         t.product_id
    from crm.customers c
   cross join lateral (values ('net'), ('tv'), ('voice'), ('router')) x (item)
    join catalog.tariffs t on t.code = case
           when x.item = 'net' and c.kind = 'company' then 'BIZ500'
           when x.item = 'net' and c.id %% 3 = 0 then 'NET1000'
           when x.item = 'net' then 'NET300'
           when x.item = 'tv' and c.id %% 10 < 7 then case when c.id %% 2 = 0 then 'TVSTART' else 'TVKOMPLET' end
           when x.item = 'voice' and c.id %% 10 >= 5 then 'VOICE100'
           when x.item = 'router' and c.id %% 10 in (1, 4, 8) then 'ROUTER'
         end
    join catalog.products pr on pr.id = t.product_id and pr.operator_id = %(op)s
   where c.operator_id = %(op)s
), shaped as (
  select p.*,
         case when p.k %% 50 = 7 then %(month)s::date + 4 + (p.k %% 20)::integer
              else date '2019-01-01' + (p.k %% 2500)::integer end as since,
         case when p.k %% 100 = 13 then %(month)s::date + 9 end as until,
         case when p.k %% 100 = 29 then daterange(%(month)s::date + 5, %(month)s::date + 15) end as suspended,
         case when p.k %% 100 < 5 then 3 when p.k %% 100 < 8 then 12 else 1 end as period_months,
         case when p.item in ('net', 'tv') and p.kind = 'person' and p.customer_id %% 4 = 0
              and p.customer_id %% 10 < 7 then (select bundle from cat) end as bundle_id
    from picked p
), services as (
  insert into crm.services (customer_id, operator_id, product_id, bundle_id, state, valid, period_months, billing_day,
                            billing_plan_id, suspended)
  select s.customer_id, %(op)s, s.product_id, s.bundle_id,
         case when s.suspended is not null then 'suspended' when s.until is not null and s.until <= current_date
              then 'ended' else 'active' end,
         daterange(s.since, s.until), s.period_months, 1, (select plan from cat), s.suspended
    from shaped s
   order by s.customer_id, s.item
  returning id, customer_id, product_id, lower(valid) as since
)
insert into crm.service_tariffs (service_id, tariff_id, valid)
select s.id, t.id,
       case when s.id %% 100 = 41 and s.since < %(month)s::date then daterange(s.since, %(month)s::date + 15)
            else daterange(s.since, null) end
  from services s
  join shaped p on p.customer_id = s.customer_id and p.product_id = s.product_id
  join catalog.tariffs t on t.id = p.tariff_id
union all
-- The tariff change on the 16th: the internet's faster tariff from then on.
select s.id, (select id from catalog.tariffs where code = 'NET1000'), daterange(%(month)s::date + 15, null)
  from services s
  join shaped p on p.customer_id = s.customer_id and p.product_id = s.product_id
 where s.id %% 100 = 41 and s.since < %(month)s::date
"""

REFERENCE_SQL = """
with x as (
insert into bench.charges_reference (
  operator_id, customer_id, payer_id, service_id, plan_id, kind, period, covered, days, period_days, tariff_id,
  description, quantity, unit, unit_price, discount_percent, price_mode, amount_without_vat, amount_with_vat,
  vat_class, vat_rate, reverse_charge, tax_point, document_kind, due_days, bill_separately, run_id, key, created_by
)
select operator_id, customer_id, payer_id, service_id, plan_id, kind, period, covered, days, period_days, tariff_id,
       description, quantity, unit, unit_price, discount_percent, price_mode, amount_without_vat, amount_with_vat,
       vat_class, vat_rate, reverse_charge, tax_point, document_kind, due_days, bill_separately, run_id, key, created_by
  from billing.charges
 where run_id = %(run)s
returning 1
)
select count(*) from x
"""


def operator_id(conn: psycopg.Connection[Any]) -> int | None:
    row = conn.execute("select id from crm.operators where code = %s", [OPERATOR_CODE]).fetchone()
    return int(row[0]) if row else None


def is_complete(settings: Settings, customers: int) -> bool:
    """Whether the bench database exists with all its customers and their services."""
    if not db_exists(settings, DBNAME):
        return False
    try:
        with psycopg.connect(settings.admin_conninfo(DBNAME), autocommit=True) as conn:
            op = operator_id(conn)
            if op is None:
                return False
            row = conn.execute(
                "select (select count(*) from crm.customers where operator_id = %(op)s),"
                "       (select count(*) from crm.services where operator_id = %(op)s),"
                "       (select value from auth.settings where key = 'bench_billing_month')",
                {"op": op},
            ).fetchone()
    except psycopg.Error:
        return False
    return bool(row and row[0] == customers and row[1] > 0 and row[2] is not None)


def build(settings: Settings, customers: int, month: date) -> None:
    log(f"building database {DBNAME} from the migrations")
    bootstrap.ensure_roles(settings)
    bootstrap.drop_database(settings, DBNAME)
    bootstrap.ensure_database(settings, DBNAME)
    migrate.migrate(settings, DBNAME)
    with psycopg.connect(settings.admin_conninfo(DBNAME)) as conn:
        start = time.perf_counter()
        row = conn.execute(
            "insert into crm.operators (code, name, ico, dic, vat_payer, street, city, zip)"
            " values (%s, 'Bench Billing s.r.o.', '27082440', 'CZ27082440', true, 'Hlavní 1', 'Brno', '602 00')"
            " returning id",
            [OPERATOR_CODE],
        ).fetchone()
        assert row is not None
        op = int(row[0])
        conn.execute(
            "insert into crm.number_series (operator_id, kind, format, yearly, start_value) values"
            " (%(op)s, 'customer', 'B{N:7}', false, 1), (%(op)s, 'vs', '{N}', false, %(vs)s),"
            " (%(op)s, 'invoice', 'BF{YYYY}{N:6}', true, 1), (%(op)s, 'credit_note', 'BD{YYYY}{N:5}', true, 1),"
            " (%(op)s, 'payment_request', 'BP{YYYY}{N:6}', true, 1),"
            " (%(op)s, 'advance_invoice', 'BZ{YYYY}{N:5}', true, 1)",
            {"op": op, "vs": VS_BASE + 1},
        )
        classes: dict[str, int] = {}
        for code, kind in (("NET", "service"), ("BIZ", "service"), ("TV", "service"), ("VOICE", "service")):
            r = conn.execute(
                "insert into catalog.classes (code, name, kind) values (%s, %s, %s)"
                " on conflict (code) do update set name = excluded.name returning id",
                [f"bench_billing_{code.lower()}", code, kind],
            ).fetchone()
            assert r is not None
            classes[code] = int(r[0])
        classes["ROUTER"] = classes["NET"]
        products: dict[str, int] = {}
        for code, product, product_name, mode, name, fee, setup in TARIFFS:
            if product not in products:
                r = conn.execute(
                    "insert into catalog.products (operator_id, class_id, code, name, price_mode)"
                    " values (%s, %s, %s, %s, %s) returning id",
                    [op, classes[product], product, product_name, mode],
                ).fetchone()
                assert r is not None
                products[product] = int(r[0])
            r = conn.execute(
                "insert into catalog.tariffs (product_id, code, name) values (%s, %s, %s) returning id",
                [products[product], code, name],
            ).fetchone()
            assert r is not None
            conn.execute("select catalog.set_price(%s, '2019-01-01', %s, %s)", [r[0], fee, setup])
        bundle = conn.execute(
            "insert into catalog.bundles (operator_id, code, name) values (%s, 'DUO', 'Internet + TV') returning id",
            [op],
        ).fetchone()
        assert bundle is not None
        conn.execute(
            "insert into catalog.bundle_items (bundle_id, tariff_id, discount_percent)"
            " select %s, t.id, d from (values ('NET300', 10), ('NET1000', 10), ('TVSTART', 20), ('TVKOMPLET', 20))"
            " v (code, d) join catalog.tariffs t on t.code = v.code",
            [bundle[0]],
        )
        conn.commit()
        log(f"operator and catalogue: {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        with conn.transaction():
            conn.execute("set local session_replication_role = replica")  # no audit/bus rows for bulk data
            params = {"op": op, "n": customers, "vs": VS_BASE, "month": month}
            conn.execute(CUSTOMERS_SQL, params)
            conn.execute(BRANCHES_SQL, params)
            conn.execute(
                "insert into crm.number_series_counters (series_id, year, last_value)"
                " select id, 0, case kind when 'customer' then %(n)s else %(vs)s + %(n)s end"
                " from crm.number_series where operator_id = %(op)s and kind in ('customer', 'vs')",
                params,
            )
            conn.execute(
                "insert into catalog.customer_discounts (customer_id, percent, valid, reason)"
                " select id, 10, daterange('2020-01-01', null), 'Věrnostní sleva' from crm.customers"
                " where operator_id = %(op)s and id %% 50 = 3",
                params,
            )
            cur = conn.execute(SERVICES_SQL, params)
            conn.execute(
                "insert into auth.settings (key, value) values ('bench_billing_month', to_jsonb(%s::text))"
                " on conflict (key) do update set value = excluded.value",
                [month.isoformat()],
            )
        log(
            f"{customers:,} customers and their services ({cur.rowcount:,} tariff periods): "
            f"{time.perf_counter() - start:.1f} s"
        )
    with psycopg.connect(settings.admin_conninfo(DBNAME), autocommit=True) as conn:
        for table in ("crm.customers", "crm.services", "crm.service_tariffs", "catalog.customer_discounts"):
            conn.execute(f"vacuum analyze {table}")


def reset(conn: psycopg.Connection[Any], op: int, period: date) -> None:
    """The earlier runs of the measured month go (their drafts and charges), so the run below bills
    it anew; the month before stays billed, as a database in use holds last month's charges."""
    params = {"op": op, "period": period}
    conn.execute(
        "delete from billing.documents where state = 'draft' and run_id in"
        " (select id from billing.runs where operator_id = %(op)s and period = %(period)s)",
        params,
    )
    conn.execute(
        "delete from billing.charges where run_id in"
        " (select id from billing.runs where operator_id = %(op)s and period = %(period)s)",
        params,
    )
    conn.execute("delete from billing.runs where operator_id = %(op)s and period = %(period)s", params)
    for table in ("billing.charges", "billing.documents", "billing.document_lines", "billing.document_vat"):
        conn.execute(f"vacuum analyze {table}")


def bill_month_before(
    settings: Settings, session: tuple[str, str], op: int, period: date, timeout: int
) -> None:
    """The run of the month before the measured one, once (not measured): last month's charges."""
    before = date(period.year - (period.month == 1), (period.month - 2) % 12 + 1, 1)
    with psycopg.connect(settings.admin_conninfo(DBNAME), autocommit=True) as conn:
        done = conn.execute(
            "select exists (select from billing.runs where operator_id = %s and period = %s and state = 'done')",
            [op, before],
        ).fetchone()
        if done and done[0]:
            return
        start = time.perf_counter()
        act_as(conn, session)
        conn.execute("select set_config('statement_timeout', %s, false)", [f"{timeout}s"])
        conn.execute("select billing.run(%s, %s)", [op, f"{before:%Y-%m}"])
        conn.execute("reset role")
        for table in (
            "billing.charges",
            "billing.documents",
            "billing.document_lines",
            "billing.document_vat",
        ):
            conn.execute(f"vacuum analyze {table}")
        log(f"billed the month before ({before:%Y-%m}) as the history: {time.perf_counter() - start:.1f} s")


def timed(conn: psycopg.Connection[Any], statement: str, params: dict[str, Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    row = conn.execute(statement, params).fetchone()
    return time.perf_counter() - start, (row[0] if row else None)


def explain(settings: Settings, session: tuple[str, str], op: int, period: str) -> None:
    """The plans of the run's statements with their timings (auto_explain), in a transaction rolled back."""
    with psycopg.connect(settings.admin_conninfo(DBNAME)) as conn:
        conn.add_notice_handler(lambda d: print(d.message_primary))
        conn.execute("load 'auto_explain'")
        for setting, value in (
            ("auto_explain.log_min_duration", "200"),
            ("auto_explain.log_nested_statements", "on"),
            ("auto_explain.log_analyze", "on"),
            ("auto_explain.log_timing", "on"),
            ("auto_explain.log_level", "notice"),
            ("client_min_messages", "notice"),
        ):
            conn.execute("select set_config(%s, %s, false)", [setting, value])
        act_as(conn, session)
        for step in ("start_run", "run_charges", "run_documents", "finish_run"):
            start = time.perf_counter()
            if step == "start_run":
                row = conn.execute("select billing.start_run(%s, %s, false)", [op, period]).fetchone()
                assert row is not None
                run = int(row[0])
            else:
                conn.execute(f"select billing.{step}(%s)", [run])
            print(f"== billing.{step}: {time.perf_counter() - start:.2f} s")
        conn.rollback()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the database even if it is complete")
    parser.add_argument("--explain", action="store_true", help="print the plans of the run's statements")
    parser.add_argument(
        "--timeout", type=int, default=1200, help="give up on a run after this many seconds (default 1200)"
    )
    args = parser.parse_args(argv)
    settings = settings_mod.load(DBNAME)
    today = date.today()
    month = today.replace(day=1)
    if args.rebuild or not is_complete(settings, args.customers):
        build(settings, args.customers, month)
    else:
        log(f"reusing {DBNAME} with {args.customers:,} customers")
        bootstrap.ensure_roles(settings)
        migrate.migrate(settings, DBNAME)  # the procedures as they are now
    with psycopg.connect(settings.admin_conninfo(DBNAME), autocommit=True) as conn:
        op = operator_id(conn)
        assert op is not None
        row = conn.execute(
            "select value ->> 0 from auth.settings where key = 'bench_billing_month'"
        ).fetchone()
        built = date.fromisoformat(str(row[0])) if row and row[0] else month
        services = conn.execute("select count(*) from crm.services where operator_id = %s", [op]).fetchone()
    # The month the services were shaped for (started, ended, suspended inside it), if a run may
    # still bill it (a month ahead at most); else this month.
    first_day = built if built >= month else month
    period = f"{first_day:%Y-%m}"
    session = staff_session(settings, DBNAME, STAFF_USER, ["billing"])
    try:
        bill_month_before(settings, session, op, first_day, args.timeout)
    except psycopg.errors.QueryCanceled:
        print(f"billing run of the month before {period}: cancelled after {args.timeout} s; goal not met")
        return
    with psycopg.connect(settings.admin_conninfo(DBNAME), autocommit=True) as conn:
        reset(conn, op, first_day)
    if args.explain:
        explain(settings, session, op, period)
    with psycopg.connect(settings.admin_conninfo(DBNAME), autocommit=True) as conn:
        act_as(conn, session)
        conn.execute("select set_config('statement_timeout', %s, false)", [f"{args.timeout}s"])
        try:
            run_s, first = timed(conn, "select billing.run(%(op)s, %(period)s)", {"op": op, "period": period})
            again_s, second = timed(
                conn, "select billing.run(%(op)s, %(period)s)", {"op": op, "period": period}
            )
        except psycopg.errors.QueryCanceled:
            print(
                f"billing run of {period}: cancelled after {args.timeout} s; goal (under {GOAL_RUN_S:.0f} s) not met"
            )
            return
        conn.execute("reset role")
        conn.execute("create schema if not exists bench")
        conn.execute("drop table if exists bench.charges_reference")
        conn.execute("create table bench.charges_reference (like billing.charges including all)")
        ref_s, _ = timed(
            conn,
            REFERENCE_SQL,
            {"run": first["run"]},
        )
        conn.execute("drop table bench.charges_reference")
    counts, totals = first["counts"], first["totals"]
    n_services = int(services[0]) if services else 0
    log(
        f"billed {period} for {n_services:,} services: {counts['charges']:,} charges, {counts['documents']:,} documents"
        f" for {counts['customers']:,} paying customers, {totals['with_vat']} CZK with VAT"
    )
    print(f"bare insert … select of the same {counts['charges']:,} charges (reference): {ref_s:6.2f} s")
    print(
        f"billing run (billing.run: charges, documents, VAT recap): {run_s:6.2f} s"
        f"  ({run_s / ref_s:.1f}× the reference; goal: under {GOAL_RUN_S:.0f} s and at most {GOAL_RATIO:.0f}×:"
        f" {'met' if run_s < GOAL_RUN_S and run_s <= GOAL_RATIO * ref_s else 'not met'})"
    )
    made = second["counts"]["charges"] + second["counts"]["documents"]
    print(
        f"second run of the same month:                            {again_s:6.2f} s"
        f"  (created {second['counts']['charges']} charges and {second['counts']['documents']} documents;"
        f" goal: under {GOAL_SECOND_S:.0f} s, nothing: {'met' if again_s < GOAL_SECOND_S and made == 0 else 'not met'})"
    )


if __name__ == "__main__":
    main()

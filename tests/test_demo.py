"""The demo data generator: it loads, follows the database's rules, is deterministic, logs in."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from db import bootstrap, demo, migrate
from db import settings as settings_mod
from db.settings import Settings
from mango import cli

SEED = 4242
CUSTOMERS = 60


@pytest.fixture(scope="module")
def demo_loaded(settings: Settings) -> Settings:
    """The demo in the session's test database (loaded once for this module)."""
    assert demo.main(settings, customers=CUSTOMERS, seed=SEED, once=True) == 0
    return settings


@pytest.fixture
def scratch_db(settings: Settings) -> Iterator[list[Settings]]:
    """Fresh databases of our own, built from the migrations; dropped afterwards."""
    made: list[Settings] = []
    yield made
    for s in made:
        bootstrap.drop_database(s, s.dbname)


def _fresh(made: list[Settings], suffix: str) -> Settings:
    name = f"mango_test_demo_{os.getpid()}_{suffix}"
    s = settings_mod.load(name)
    made.append(s)
    bootstrap.drop_database(s, name)
    bootstrap.ensure_database(s, name)
    migrate.migrate(s, name)
    return s


def _demo_customers(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute(
        """
        select c.customer_no, c.vs, c.kind, crm.customer_name(c), c.ico, c.street, c.house_no, c.city, c.zip,
               c.created_on, c.state, c.ended_on
          from crm.customers c join crm.operators o on o.id = c.operator_id
         where o.code in ('demo', 'demo-tv')
         order by c.customer_no
        """
    ).fetchall()


def _demo_services(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute(
        """
        select s.id, c.customer_no, s.state, s.valid::text, s.block_kind, s.bundle_id, s.contract_id,
               s.delivery_place_id, s.period_months, s.billing_day,
               (select array_agg(t.tariff_id::text || ' ' || t.valid::text order by t.id)
                  from crm.service_tariffs t where t.service_id = s.id),
               (select array_agg(d.code || '=' || v.value order by d.code)
                  from crm.parameter_values v
                  join crm.parameter_definitions d on d.id = v.definition_id and d.entity = 'service'
                 where v.entity_id = s.id),
               (select e.revision from bus.events e where e.topic = 'provisioning' and e.entity = 'service:' || s.id)
          from crm.services s join crm.customers c on c.id = s.customer_id
         order by s.id
        """
    ).fetchall()


def test_check_digits_match_known_numbers() -> None:
    assert demo.is_valid_ico("25097563") and demo.is_valid_ico("27082440")
    assert not demo.is_valid_ico("25097564")
    assert demo.make_ico(2509756) == "25097563"
    for prefix, number in (
        (None, "2600113745"),
        (None, "2700342289"),
        ("19", "2000145399"),
        (None, "1265098001"),
    ):
        assert demo.is_valid_account(prefix, number)
    assert not demo.is_valid_account(None, "2600113746")
    assert demo.is_valid_account(None, demo.make_account(1234567890))


def test_demo_loads_two_operators_with_series_and_accounts(
    demo_loaded: Settings, admin: psycopg.Connection
) -> None:
    rows = admin.execute(
        """
        select o.code, o.ico, o.dic, crm.is_valid_ico(o.ico),
               (select count(*) from crm.number_series n where n.operator_id = o.id),
               (select count(*) from payment.bank_accounts b where b.operator_id = o.id and b.is_default)
          from crm.operators o where o.code in ('demo', 'demo-tv') order by o.code
        """
    ).fetchall()
    assert [r[0] for r in rows] == ["demo", "demo-tv"]
    for _code, ico, dic, valid, series, default_accounts in rows:
        assert valid and demo.is_valid_ico(ico) and dic == f"CZ{ico}"
        assert series >= 6 and default_accounts == 1


def test_every_company_ico_is_valid(demo_loaded: Settings, admin: psycopg.Connection) -> None:
    rows = admin.execute(
        """
        select c.ico, c.dic, crm.is_valid_ico(c.ico)
          from crm.customers c join crm.operators o on o.id = c.operator_id
         where o.code in ('demo', 'demo-tv') and c.kind = 'company'
        """
    ).fetchall()
    assert rows, "the demo has companies"
    for ico, dic, valid in rows:
        assert valid and demo.is_valid_ico(ico)
        assert dic is None or dic == f"CZ{ico}"


def test_every_customer_has_a_contact_a_place_a_contract_and_a_service(
    demo_loaded: Settings, admin: psycopg.Connection
) -> None:
    row = admin.execute(
        """
        select count(*),
               count(*) filter (where not exists (select from crm.contacts k where k.customer_id = c.id)),
               count(*) filter (where not exists (select from crm.delivery_places p where p.customer_id = c.id)),
               count(*) filter (where not exists (select from crm.contracts k where k.customer_id = c.id)),
               count(*) filter (where not exists (select from crm.services s where s.customer_id = c.id)),
               count(*) filter (where c.kind = 'company'),
               count(*) filter (where c.state = 'ended'),
               count(*) filter (where c.parent_id is not null)
          from crm.customers c join crm.operators o on o.id = c.operator_id
         where o.code in ('demo', 'demo-tv')
        """
    ).fetchone()
    assert row is not None
    total, no_contact, no_place, no_contract, no_service, companies, ended, branches = row
    assert total >= CUSTOMERS
    assert (no_contact, no_place, no_contract, no_service) == (0, 0, 0, 0)
    assert companies > 0 and ended > 0 and branches > 0


def test_ended_customers_have_only_ended_services(demo_loaded: Settings, admin: psycopg.Connection) -> None:
    row = admin.execute(
        """
        select count(*) from crm.services s join crm.customers c on c.id = s.customer_id
          join crm.operators o on o.id = c.operator_id
         where o.code in ('demo', 'demo-tv') and c.state = 'ended' and s.state <> 'ended'
        """
    ).fetchone()
    assert row == (0,)


def test_services_have_a_lifecycle_and_orders_a_salesperson(
    demo_loaded: Settings, admin: psycopg.Connection
) -> None:
    states: dict[str, int] = dict(
        admin.execute(
            """
            select s.state, count(*) from crm.services s join crm.operators o on o.id = s.operator_id
             where o.code in ('demo', 'demo-tv') group by s.state
            """
        ).fetchall()
    )
    assert states.get("active", 0) > 0 and states.get("ended", 0) > 0
    orders = admin.execute(
        """
        select o.kind, o.stage, o.salesperson_id is not null, u.username
          from catalog.orders o join crm.operators op on op.id = o.operator_id
          left join auth.users u on u.id = o.salesperson_id
         where op.code in ('demo', 'demo-tv')
        """
    ).fetchall()
    assert any(kind == "change_tariff" and stage == "done" for kind, stage, _, _ in orders)
    assert any(has_sales for _, _, has_sales, _ in orders)
    assert {u for _, _, _, u in orders if u} <= {"sales", "lenka.pokorna", "jiri.cerny"}
    # A done tariff change left two tariff periods on its service.
    row = admin.execute(
        """
        select min((select count(*) from crm.service_tariffs t where t.service_id = o.service_id))
          from catalog.orders o join crm.operators op on op.id = o.operator_id
         where op.code = 'demo' and o.kind = 'change_tariff' and o.stage = 'done'
        """
    ).fetchone()
    assert row is not None and row[0] == 2


def test_demo_logins_can_log_in(demo_loaded: Settings) -> None:
    assert [u for u, _, _ in demo.DEMO_LOGINS] == [
        "admin",
        "billing",
        "support",
        "technician",
        "sales",
        "report",
        "officer",
        "supervisor",
    ]
    with psycopg.connect(demo_loaded.role_conninfo("mango_web")) as conn:
        for username, password, _ in demo.DEMO_LOGINS:
            assert len(password) >= 10
            row = conn.execute(
                "select status, token from auth.login(%s, %s, '127.0.0.1', 'pytest')", [username, password]
            ).fetchone()
            conn.commit()
            assert row is not None and row[0] == "ok", username
            who = conn.execute("select username, roles from auth.resume_session(%s)", [row[1]]).fetchone()
            conn.execute("select auth.logout(%s)", [row[1]])
            conn.commit()
            assert who is not None and who[0] == username
            # One demo user per staff role, named after it (the data-retention officer holds 'flow').
            assert list(who[1]) == ["flow" if username == "officer" else username]


def test_once_is_idempotent_and_a_second_load_is_refused(
    demo_loaded: Settings, admin: psycopg.Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _demo_customers(admin)
    assert demo.main(demo_loaded, customers=CUSTOMERS, seed=SEED, once=True) == 0
    assert cli.main(["--database", demo_loaded.dbname, "demo", "--once", "--customers", "5"]) == 0
    assert "already loaded" in capsys.readouterr().out
    assert demo.main(demo_loaded, customers=CUSTOMERS, seed=SEED) == 1
    assert "already holds the demo data" in capsys.readouterr().err
    assert _demo_customers(admin) == before


def test_same_seed_gives_the_same_data(settings: Settings, scratch_db: list[Settings]) -> None:
    a = _fresh(scratch_db, "a")
    b = _fresh(scratch_db, "b")
    demo.load(a.admin_conninfo(), customers=CUSTOMERS, seed=SEED)
    demo.load(b.admin_conninfo(), customers=CUSTOMERS, seed=SEED)
    with psycopg.connect(a.admin_conninfo()) as ca, psycopg.connect(b.admin_conninfo()) as cb:
        customers_a = _demo_customers(ca)
        assert len(customers_a) >= CUSTOMERS
        assert customers_a == _demo_customers(cb)
        assert _demo_services(ca) == _demo_services(cb)
        orders = "select kind, stage, effective_on, price_before, price_after from catalog.orders order by id"
        assert ca.execute(orders).fetchall() == cb.execute(orders).fetchall()
        documents = (
            "select kind, number, issue_date, customer_no, total_without_vat, total_vat, rounding, amount_due"
            " from billing.documents order by number"
        )
        assert ca.execute(documents).fetchall() == cb.execute(documents).fetchall()


def test_billing_history_has_twelve_issued_runs_per_operator(
    demo_loaded: Settings, admin: psycopg.Connection
) -> None:
    rows = admin.execute(
        """
        select o.code, count(*) filter (where r.state = 'issued'), count(distinct r.period) filter (where r.state = 'issued'),
               max(r.period) filter (where r.state = 'issued') = date_trunc('month', crm.business_date(o.id))::date,
               count(*) filter (where r.state not in ('issued', 'preview')),
               bool_and(r.issued_by is not null and r.created_by is not null)
          from crm.operators o left join billing.runs r on r.operator_id = o.id
         where o.code in ('demo', 'demo-tv') group by o.code, o.id order by o.code
        """
    ).fetchall()
    assert rows == [("demo", 12, 12, True, 0, True), ("demo-tv", 12, 12, True, 0, True)]
    # Every run issued documents on the first of its month; none is left a draft.
    row = admin.execute(
        """
        select count(*), count(*) filter (where d.state <> 'issued'),
               count(*) filter (where d.run_id is not null and d.issue_date <> r.period),
               count(*) filter (where d.issue_date > crm.business_date(d.operator_id))
          from billing.documents d join crm.operators o on o.id = d.operator_id
          left join billing.runs r on r.id = d.run_id
         where o.code in ('demo', 'demo-tv')
        """
    ).fetchone()
    assert row is not None and row[0] > 0 and row[1:] == (0, 0, 0)


def test_billing_documents_are_numbered_gap_free_per_series_and_year(
    demo_loaded: Settings, admin: psycopg.Connection
) -> None:
    rows = admin.execute(
        """
        with numbered as (
          select d.number, s.format, s.start_value, d.issue_date, d.kind, o.code,
                 row_number() over (partition by s.id, crm.series_year(s.yearly, d.issue_date)
                                    order by d.issue_date, d.issued_at, d.id) as n
            from billing.documents d join crm.operators o on o.id = d.operator_id
            join crm.number_series s on s.operator_id = d.operator_id and s.kind = d.kind
           where o.code in ('demo', 'demo-tv') and d.state = 'issued'
        )
        select x.code, x.kind, count(*),
               count(*) filter (where x.number <> crm.format_number(x.format, x.start_value + x.n - 1, x.issue_date)),
               (select c.last_value from crm.number_series_counters c join crm.number_series s on s.id = c.series_id
                 join crm.operators o on o.id = s.operator_id
                 where o.code = x.code and s.kind = x.kind
                   and c.year = extract(year from max(x.issue_date))::integer) = max(x.start_value + x.n - 1)
          from numbered x group by x.code, x.kind order by 1, 2
        """
    ).fetchall()
    kinds = {(code, kind) for code, kind, *_ in rows}
    assert {
        ("demo", "invoice"),
        ("demo", "credit_note"),
        ("demo", "payment_request"),
        ("demo-tv", "invoice"),
    } <= kinds
    for code, kind, count, wrong, counter_matches in rows:
        assert count > 0 and wrong == 0 and counter_matches, (code, kind)


def test_billing_history_has_credit_notes_charges_calls_and_prepaid_credit(
    demo_loaded: Settings, admin: psycopg.Connection
) -> None:
    row = admin.execute(
        """
        select (select count(*) from billing.documents d join billing.documents o on o.id = d.original_id
                 where d.operator_id = any(x.ops) and d.kind = 'credit_note' and d.state = 'issued'
                   and d.amount_due < 0 and d.issue_date >= o.issue_date),
               (select count(*) from billing.documents d where d.operator_id = any(x.ops) and d.request_id is not null),
               (select count(*) from billing.charges c where c.operator_id = any(x.ops) and c.key is null
                   and c.corrects_id is null and c.kind in ('one_time', 'manual', 'discount', 'reconnection')),
               (select count(*) from billing.charges c where c.operator_id = any(x.ops) and c.kind = 'usage'
                   and c.key like 'calls%%'),
               (select count(*) from billing.rated_calls r join billing.calls c on c.id = r.call_id
                 where c.operator_id = any(x.ops) and r.status = 'rated' and r.price > 0),
               (select count(*) from billing.cdr_imports i where i.operator_id = any(x.ops)),
               (select count(distinct a.id) from billing.credit_accounts a join billing.credit_movements m
                   on m.account_id = a.id and m.kind = 'top_up' where a.operator_id = any(x.ops)),
               (select count(*) from billing.credit_movements m join billing.credit_accounts a on a.id = m.account_id
                 where a.operator_id = any(x.ops) and m.kind = 'spend'),
               (select count(distinct p.code) from billing.plans p where p.operator_id = any(x.ops))
          from (select array_agg(id) as ops from crm.operators where code in ('demo', 'demo-tv')) x
        """
    ).fetchone()
    assert row is not None
    credit_notes, paid_requests, added, call_lines, rated, imports, accounts, spends, plans = row
    assert credit_notes >= 2 and paid_requests > 0 and added > 0
    assert call_lines > 0 and rated > 0 and imports >= 12
    assert accounts >= 2 and spends > 0 and plans == 5
    # Prepaid-credit services are paid from credit, never by a run.
    row = admin.execute(
        """
        select count(*) from billing.charges c join billing.plans p on p.id = c.plan_id
         where p.prepaid_credit and c.run_id is not null
        """
    ).fetchone()
    assert row == (0,)

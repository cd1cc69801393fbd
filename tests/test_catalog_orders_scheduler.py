"""The scheduler agent carries out accepted orders on their date (CAT-5), as its own login role.

The orders are placed and accepted by a sales user through the web client's role switch; the
scheduler then runs catalog.apply_due_orders as mango_agent_scheduler, like the daily job does.
"""

from __future__ import annotations

from datetime import date, timedelta

import psycopg

from db.settings import Settings
from tests.catalog_helpers import Shop, as_sales, place_accepted


def business_today(admin: psycopg.Connection, shop: Shop) -> date:
    """The shop operator's today (crm.business_date), which the orders' dates count from."""
    row = admin.execute(
        "select crm.business_date(operator_id) from crm.customers where id = %s", [shop.customer]
    ).fetchone()
    assert row is not None
    return date.fromisoformat(str(row[0]))


def run_scheduler(settings: Settings, today: date) -> int:
    with psycopg.connect(settings.role_conninfo("mango_agent_scheduler")) as conn:
        row = conn.execute("select catalog.apply_due_orders(%s)", [today]).fetchone()
        assert row is not None
        return int(row[0])


def test_scheduler_changes_the_tariff_of_an_accepted_order_on_its_date(
    settings: Settings, admin: psycopg.Connection, shop: Shop
) -> None:
    on = business_today(admin, shop) + timedelta(days=5)
    with as_sales(settings, admin) as web:
        order = place_accepted(web, shop, "change_tariff", on, service=shop.service, tariff=shop.fast)
    assert run_scheduler(settings, on - timedelta(days=1)) == 0
    assert run_scheduler(settings, on) == 1
    row = admin.execute(
        "select crm.current_tariff(%s, %s), crm.current_tariff(%s, %s), (select stage from catalog.orders where id = %s)",
        [shop.service, on, shop.service, on - timedelta(days=1), order],
    ).fetchone()
    assert row == (shop.fast, shop.slow, "done")


def test_scheduler_activates_an_ordered_service_and_cancels_another(
    settings: Settings, admin: psycopg.Connection, shop: Shop
) -> None:
    on = business_today(admin, shop) + timedelta(days=3)
    with as_sales(settings, admin) as web:
        activate = place_accepted(web, shop, "activate", on, tariff=shop.fast)
        place_accepted(web, shop, "cancel", on, service=shop.service)
    assert run_scheduler(settings, on) == 2
    new_service = admin.execute("select service_id from catalog.orders where id = %s", [activate]).fetchone()
    assert new_service is not None and new_service[0] is not None
    states = admin.execute(
        "select id, lower(valid), upper(valid) from crm.services where customer_id = %s order by id",
        [shop.customer],
    ).fetchall()
    assert states == [(shop.service, date(2024, 1, 1), on), (new_service[0], on, None)]


def test_scheduler_changes_service_parameters_of_an_accepted_order(
    settings: Settings, admin: psycopg.Connection, shop: Shop
) -> None:
    admin.execute(
        "insert into crm.parameter_definitions (entity, code, name, type) values ('service', 'vlan', 'VLAN', 'number') "
        "on conflict do nothing"
    )
    on = business_today(admin, shop) + timedelta(days=2)
    with as_sales(settings, admin) as web:
        row = web.execute(
            "select catalog.place_order(%s, 'change_params', %s, p_params => '{\"vlan\": \"120\"}', p_effective_on => %s)",
            [shop.customer, shop.service, on],
        ).fetchone()
        assert row is not None
        web.execute("select catalog.advance_order(%s, 'accepted')", [row[0]])
        web.commit()
    assert run_scheduler(settings, on) == 1
    value = admin.execute(
        "select value from crm.parameters where entity = 'service' and entity_id = %s and code = 'vlan'",
        [shop.service],
    ).fetchone()
    assert value == ("120",)

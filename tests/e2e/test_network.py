"""The network inventory in a real browser: a device card, its path to the core, the customers an
outage would hit, and the topology map."""

from __future__ import annotations

import secrets

import psycopg
from playwright.sync_api import Page, expect

from tests.e2e.conftest import log_in, screenshot
from tests.web_helpers import PASSWORD, make_staff


def _one(admin: psycopg.Connection, sql: str, params: list[object] | None = None) -> int:
    row = admin.execute(sql, params).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return int(row[0])


def _network(admin: psycopg.Connection) -> dict[str, int | str]:
    """Core router – fibre – two POP switches – radio – access points – CPEs of customers."""
    sfx = secrets.token_hex(2)
    core_site = _one(admin, "select tests.net_make_site(%s, 'core')", [f"BRN-{sfx}"])
    admin.execute(
        "update net.sites set name = 'Brno Cejl', latitude = 49.1993, longitude = 16.6218 where id = %s",
        [core_site],
    )
    core = _one(
        admin,
        "select tests.net_make_device(%s, null, 'router', 'fibre', true, %s)",
        [f"core-{sfx}", core_site],
    )
    customer_store = _one(admin, "select tests.net_store('customer')")
    warehouse = _one(admin, "select tests.net_store('warehouse', %s)", [f"Sklad {sfx}"])
    model = _one(
        admin,
        "insert into net.device_models (manufacturer, model, kind) values ('Ubiquiti', %s, 'cpe') returning id",
        [f"LiteBeam {sfx}"],
    )
    ids: dict[str, int | str] = {"core": core, "sfx": sfx, "customer_store": customer_store}
    for p, (town, lat, lon) in enumerate((("Kuřim", 49.2985, 16.5314), ("Šlapanice", 49.1686, 16.7273))):
        site = _one(admin, "select tests.net_make_site(%s, 'pop')", [f"POP{p}-{sfx}"])
        admin.execute(
            "update net.sites set name = %s, latitude = %s, longitude = %s where id = %s",
            [town, lat, lon, site],
        )
        switch = _one(
            admin,
            "select tests.net_make_device(%s, %s, 'switch', 'fibre', false, %s)",
            [f"sw-{town.lower()}-{sfx}", core, site],
        )
        for a in range(2):
            ap = _one(
                admin,
                "select tests.net_make_device(%s, %s, 'ap', 'radio', false, %s)",
                [f"ap-{town.lower()}-{a}-{sfx}", switch, site],
            )
            ids[f"ap{p}{a}"] = ap
            for c in range(3):
                customer = _one(
                    admin, "select tests.make_customer(null, %s, 'Jana')", [f"Zákaznice{p}{a}{c}"]
                )
                service = _one(admin, "select tests.net_make_service(%s)", [customer])
                cpe = _one(admin, "select net.stock_in(%s, %s, %s)", [warehouse, model, f"E2E{sfx}{p}{a}{c}"])
                admin.execute("select net.assign_device(%s, %s, %s)", [cpe, service, ap])
    return ids


def test_device_card_leads_to_the_core_and_lists_affected_customers(
    server: str, page: Page, admin: psycopg.Connection
) -> None:
    net = _network(admin)
    user = make_staff(admin, ["technician"], prefix="petr")
    admin.execute("update auth.users set full_name = 'Petr Technik' where username = %s", [user])
    log_in(page, server, user, PASSWORD)
    page.click(".sidebar >> text=Network")
    expect(page.get_by_role("heading", name="Devices")).to_be_visible()
    page.fill("#f-q", f"ap-kuřim-1-{net['sfx']}")
    page.get_by_role("button", name="Search").click()
    page.click(f"#devices >> text=ap-kuřim-1-{net['sfx']}")
    expect(page.get_by_role("heading", name=f"ap-kuřim-1-{net['sfx']}")).to_be_visible()
    chain = page.locator(".path-chain")
    expect(chain.locator(".path-node")).to_have_count(3)
    expect(chain.locator(".path-link.medium-radio")).to_be_visible()
    affected = page.locator("#affected")
    expect(affected).to_contain_text("3 customers, 3 services")
    expect(affected.locator("tbody tr")).to_have_count(3)
    screenshot(page, "network_device")
    # Up the chain: the switch, then the core.
    chain.get_by_role("link", name=f"sw-kuřim-{net['sfx']}").click()
    expect(page.get_by_role("heading", name=f"sw-kuřim-{net['sfx']}")).to_be_visible()
    expect(page.locator("#affected")).to_contain_text("6 customers, 6 services")
    page.locator(".path-chain").get_by_role("link", name=f"core-{net['sfx']}").click()
    expect(page.get_by_role("heading", name=f"core-{net['sfx']}")).to_be_visible()
    expect(page.locator(".path-chain .path-node.core.here")).to_be_visible()
    expect(page.locator("#affected")).to_contain_text("12 customers, 12 services")


def test_the_map_draws_the_network(server: str, page: Page, admin: psycopg.Connection) -> None:
    if admin.execute("select not exists (select from net.devices where is_core)").fetchone() == (True,):
        _network(admin)
    user = make_staff(admin, ["support"], prefix="map")
    log_in(page, server, user, PASSWORD)
    page.goto(f"{server}/network/map")
    svg = page.locator("svg.topology")
    expect(svg).to_be_visible()
    core = svg.locator("a.node.core").first
    expect(core).to_be_visible()
    assert svg.locator("a.node").count() >= 7
    assert svg.locator("a.node.customer").count() == 0
    screenshot(page, "network_map")
    page.check("input[name=cpe]")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("svg.topology a.node.customer").first).to_be_visible()
    screenshot(page, "network_map_cpe")
    page.goto(f"{server}/network/geo")
    expect(page.locator("svg.geo .geo-site").first).to_be_visible()
    expect(page.locator("svg.geo .scale-bar")).to_contain_text("km")
    screenshot(page, "network_geo")
    page.goto(f"{server}/network/map")
    page.locator("svg.topology a.node.core").first.click()
    expect(page.locator(".path-chain .path-node.core.here")).to_be_visible()

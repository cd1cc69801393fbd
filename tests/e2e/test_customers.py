"""Customers in a real browser: create one, activate a bundle, change a tariff, read the history;
a validation error shows next to its field."""

from __future__ import annotations

import re
from datetime import timedelta

import psycopg
from playwright.sync_api import Page, expect

from tests.e2e.conftest import log_in, screenshot
from tests.web_helpers import PASSWORD, make_staff


def test_staff_member_creates_a_customer_activates_a_bundle_and_changes_a_tariff(
    server: str, page: Page, admin: psycopg.Connection
) -> None:
    row = admin.execute("select tests.make_catalogue()").fetchone()
    assert row
    operator = row[0]
    # The operator's today: between 23:00 and 24:00 UTC Prague already has the next day.
    day = admin.execute("select crm.business_date(%s)", [operator]).fetchone()
    assert day
    today = day[0]
    admin.execute("insert into crm.groups (name) values ('VIP'), ('Employees') on conflict (name) do nothing")
    user = make_staff(admin, ["support", "sales"], prefix="petra")
    admin.execute("update auth.users set full_name = 'Petra Prodejná' where username = %s", [user])
    log_in(page, server, user, PASSWORD)
    page.click(".sidebar >> text=Customers")
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()
    page.click("text=+ New customer")
    page.select_option("#f-operator_id", str(operator))
    page.fill("#f-first_name", "Dagmar")
    page.fill("#f-last_name", "Šťastná")
    page.fill("#f-ico", "12345678")
    page.fill("#f-street", "Koliště")
    page.fill("#f-house_no", "55")
    page.fill("#f-city", "Brno")
    page.fill("#f-zip", "60200")
    page.fill("#f-phone", "777 555 111")
    page.fill("#f-email", "dagmar@example.cz")
    page.click("text=Create customer")
    # The bad IČO is shown next to its field; what was typed stays.
    error = page.locator("#error-ico")
    expect(error).to_contain_text("IČO 12345678 is not valid")
    expect(page.locator("#f-first_name")).to_have_value("Dagmar")
    screenshot(page, "customer_new_error", full_page=False)
    page.fill("#f-ico", "")
    page.click("text=Create customer")
    expect(page.locator(".flash")).to_contain_text("Customer created.")
    customer_url = page.url.split("?")[0]

    # A delivery place, then the bundle from the catalogue.
    page.click(".tabs >> text=Delivery places")
    page.fill("#f-street", "Koliště")
    page.fill("#f-house_no", "55")
    page.fill("#f-flat", "12")
    page.fill("#f-city", "Brno")
    page.fill("#f-zip", "60200")
    page.click("text=Add place")
    expect(page.locator(".flash")).to_contain_text("Delivery place saved.")
    page.click("text=+ Activate service")
    page.check("input[name=mode][value=bundle]")
    page.select_option("#f-bundle_id", label="Internet + TV — CZK 480.00")
    page.fill("#f-valid_from", today.isoformat())
    page.select_option("#f-place_id", index=1)
    page.select_option("#f-period_months", "3")
    screenshot(page, "customer_activate")
    page.click("button:has-text('Activate')")
    expect(page.locator(".flash")).to_contain_text("Bundle activated.")
    services = page.locator(".svc-table tbody tr")
    expect(services).to_have_count(2)
    expect(page.locator(".svc-table")).to_contain_text("Fiber 300")
    expect(page.locator(".svc-table")).to_contain_text("TV Basic")

    # Change the internet tariff from the first of next month.
    first_next = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    internet = services.filter(has=page.locator("td:first-child strong", has_text="Internet"))
    internet.locator("summary", has_text="Actions").click()
    pop = internet.locator(".pop")
    pop.locator("select[name=tariff_id]").select_option(label="Internet · Fiber 500")
    pop.locator("form[action$=change_tariff] input[name=on]").fill(first_next.isoformat())
    screenshot(page, "customer_service_actions", full_page=False)
    pop.locator("button", has_text="Change").click()
    expect(page.locator(".flash")).to_contain_text("The tariff changes on")
    expect(page.locator(".svc-table")).to_contain_text("→ Fiber 500 from")
    screenshot(page, "customer_card")

    # The history shows what happened, with who did it.
    page.click(".tabs >> text=History")
    expect(page.locator("table.audit")).to_contain_text("service_tariffs")
    expect(page.locator("table.audit")).to_contain_text("Petra Prodejná")
    screenshot(page, "customer_history")

    # The list finds her without diacritics, as the user types.
    page.goto(f"{server}/customers")
    page.fill("#f-q", "stastna dagm")
    expect(page.locator("#customer-rows")).to_contain_text("Dagmar Šťastná")
    expect(page).to_have_url(re.compile(r"/customers\?q=stastna\+dagm"), timeout=5000)
    screenshot(page, "customers_list", full_page=False)
    page.goto(customer_url + "?tab=details")
    screenshot(page, "customer_details")


def test_a_wrong_parameter_value_shows_next_to_its_field(
    server: str, page: Page, admin: psycopg.Connection
) -> None:
    row = admin.execute("select tests.make_catalogue()").fetchone()
    assert row
    customer = admin.execute(
        "select c, crm.business_date(%s) from tests.make_customer(%s, 'Malá', 'Iva', crm.business_date(%s)) c",
        [row[0], row[0], row[0]],
    ).fetchone()
    assert customer
    user = make_staff(admin, ["support"])
    log_in(page, server, user, PASSWORD)
    page.goto(f"{server}/customers/{customer[0]}/activate")
    page.select_option("#f-tariff_id", label="Internet · Fiber 300 — CZK 300.00")
    expect(page.locator("#f-p_download")).to_be_visible()  # the class's parameter appears
    page.fill("#f-p_download", "20000")
    page.fill("#f-valid_from", customer[1].isoformat())
    page.click("button:has-text('Activate')")
    expect(page.locator("#error-p_download")).to_contain_text("must be between 1 and 10000")
    screenshot(page, "customer_activate_error", full_page=False)

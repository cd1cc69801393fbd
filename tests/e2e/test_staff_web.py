"""What a person sees in the staff web client, in a real browser."""

from __future__ import annotations

import psycopg
from playwright.sync_api import Browser, Page, expect
from psycopg.types.json import Jsonb

from tests.e2e.conftest import log_in, screenshot
from tests.web_helpers import PASSWORD, make_staff


def _some_activity(admin: psycopg.Connection) -> None:
    """Jobs, an agent heartbeat and audited changes, so the pages show something (once)."""
    if admin.execute("select exists (select from crm.operators where code = 'e2e_net')").fetchone() == (
        True,
    ):
        return
    admin.execute("select bus.heartbeat('scheduler', 'main', 'isp-app-1', 4242, '{jobs,billing}', 1520, 3)")
    admin.execute("select bus.heartbeat('provisioner', 'main', 'isp-app-1', 4243, '{prov}', 8840, 0)")
    # Jobs of kinds that do not exist yet (bus.job_kinds has no row for them): written as they would be.
    running = admin.execute(
        "insert into bus.jobs (kind, title, financial) values ('billing_run', 'Monthly billing run 2025-11', true)"
        " returning id"
    ).fetchone()
    assert running
    admin.execute(
        "update bus.jobs set state = 'running', progress = 0.62, message = 'invoices 6 200 of 10 000',"
        " started_at = now() where id = %s",
        [running[0]],
    )
    admin.execute("insert into bus.jobs (kind, title) values ('import', 'Bank statement import Fio 11/2025')")
    admin.execute(
        "insert into crm.operators (code, name, ico, dic, city, zip, street)"
        " values ('e2e_net', 'Mango Net s.r.o.', '25596641', 'CZ25596641', 'Brno', '602 00', 'Lidická 12')"
        " on conflict (code) do nothing"
    )


def test_staff_member_logs_in_and_sees_the_dashboard(
    server: str, page: Page, admin: psycopg.Connection
) -> None:
    _some_activity(admin)
    user = make_staff(admin, ["admin"], prefix="jana")
    admin.execute("update auth.users set full_name = 'Jana Nováková' where username = %s", [user])
    page.goto(f"{server}/login")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    screenshot(page, "login")
    log_in(page, server, user, PASSWORD)
    expect(page.get_by_role("heading", name="Good to see you, Jana")).to_be_visible()
    expect(page.locator(".tile", has_text="Jobs running")).to_contain_text("1")
    expect(page.locator(".sidebar")).to_contain_text("Users")
    expect(page.locator(".sidebar .disabled", has_text="Payments")).to_contain_text("coming")
    screenshot(page, "dashboard")
    page.goto(f"{server}/jobs")
    expect(page.locator("progress.state-running")).to_be_visible()
    screenshot(page, "jobs")
    page.click(".sidebar >> text=Audit")
    page.select_option("#f-table", "crm.operators")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.audit")).to_contain_text("Mango Net s.r.o.")
    screenshot(page, "audit")


def test_non_admin_is_refused_user_administration(server: str, page: Page, admin: psycopg.Connection) -> None:
    user = make_staff(admin, ["support"])
    log_in(page, server, user, PASSWORD)
    expect(page.locator(".sidebar")).not_to_contain_text("Users")
    response = page.goto(f"{server}/users")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="You are not allowed to do this")).to_be_visible()
    screenshot(page, "forbidden")


def test_admin_creates_a_user(server: str, page: Page, admin: psycopg.Connection) -> None:
    log_in(page, server, make_staff(admin, ["admin"]), PASSWORD)
    page.click(".sidebar >> text=Users")
    page.get_by_role("link", name="New user").click()
    page.fill("#f-username", "petr_e2e")
    page.fill("#f-full_name", "Petr Svoboda")
    page.fill("#f-email", "petr@example.cz")
    page.select_option("#f-language", "cs")
    page.check("input[name=role_billing]")
    page.check("input[name=role_support]")
    page.fill("#f-password", "short")
    page.get_by_role("button", name="Create user").click()
    expect(page.locator("#error-password")).to_contain_text("at least 10 characters")
    screenshot(page, "user-form-error")
    page.fill("#f-password", "a-good-long-password")
    page.get_by_role("button", name="Create user").click()
    expect(page.locator(".flash")).to_contain_text("User petr_e2e created.")
    roles = admin.execute("select roles, db_role from auth.users where username = 'petr_e2e'").fetchone()
    assert roles == (["billing", "support"], "mango_as_billing_support")
    page.click(".sidebar >> text=Users")
    expect(page.locator("table")).to_contain_text("Petr Svoboda")
    screenshot(page, "users")


def test_operator_page_and_small_screen(server: str, browser: Browser, admin: psycopg.Connection) -> None:
    _some_activity(admin)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="cs-CZ")
    page = context.new_page()
    try:
        user = make_staff(admin, ["admin"])
        admin.execute("update auth.users set language = 'cs' where username = %s", [user])
        log_in(page, server, user, PASSWORD)
        expect(page.locator(".sidebar")).not_to_be_in_viewport()
        page.click("label.nav-button")
        expect(page.locator(".sidebar")).to_be_in_viewport()
        screenshot(page, "mobile-nav", full_page=False)
        page.click(".sidebar >> text=Provozovatelé")
        page.click("text=Mango Net s.r.o.")
        page.fill("#accounts #f-name", "Hlavní účet")
        page.fill("#accounts #f-account_number", "1234567890")
        page.fill("#accounts #f-bank_code", "0800")
        page.get_by_role("button", name="Přidat účet").click()
        expect(page.locator("#error-account_number")).to_contain_text("mod 11")
        screenshot(page, "mobile-operator")
    finally:
        context.close()


def test_admin_sees_data_retention_and_changes_the_period(
    server: str, page: Page, admin: psycopg.Connection
) -> None:
    admin.execute("select flow.create_partitions(2, 4)")
    # Addresses no other test uses (flow tests count what they find of theirs).
    admin.execute(
        "insert into flow.flows (exporter, flow_start, flow_end, src_addr, dst_addr, src_port, dst_port,"
        " protocol, bytes, packets, sampling)"
        " select '192.0.2.1', t, t + interval '2 seconds', ('10.77.0.' || (i % 200 + 1))::inet, '10.77.1.80',"
        " 40000 + i % 20000, 443, 6, 1500 + i % 9000, 3 + i % 20, 1"
        " from generate_series(1, 40000) i,"
        " lateral (select now() - make_interval(hours => i % 96, secs => i % 3600) as t) x"
    )
    admin.execute("select flow.close_partitions()")
    admin.execute(
        "insert into flow.collector_status (collector, exporter, received, stored, dropped, malformed, spooled,"
        " sampling_interval, last_seen) values"
        " ('e2e', '192.0.2.1', 40000, 40000, 0, 0, 0, 1, now() - interval '20 seconds'),"
        " ('e2e', '192.0.2.2', 18200, 18150, 50, 2, 0, 100, now() - interval '3 hours')"
        " on conflict do nothing"
    )
    user = make_staff(admin, ["admin"], prefix="radek")
    previous = admin.execute("select value from flow.settings where key = 'retention'").fetchone()
    assert previous is not None
    try:
        log_in(page, server, user, PASSWORD)
        page.click(".sidebar >> text=Data retention")
        expect(page.get_by_role("heading", name="Data retention", exact=True)).to_be_visible()
        expect(page.locator("#collectors tr.stale")).to_contain_text("192.0.2.2")
        expect(page.locator("#partitions")).to_contain_text("closed")
        page.fill("#f-amount", "7")
        page.select_option("#f-unit", "months")
        page.click("#retention-form button.btn-primary")
        expect(page.locator(".flash")).to_contain_text("The retention period is now 7 months.")
        expect(page.locator("#log")).to_contain_text(f"by {user}")
        screenshot(page, "retention")
    finally:
        admin.execute("update flow.settings set value = %s where key = 'retention'", [Jsonb(previous[0])])
        admin.execute("delete from flow.collector_status where collector = 'e2e'")
        # Committed rows other tests must not count: the flows of this test's own addresses.
        admin.execute("delete from flow.flows where src_addr <<= '10.77.0.0/24' and dst_addr = '10.77.1.80'")

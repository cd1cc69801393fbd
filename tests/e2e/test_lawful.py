"""Lawful requests in a real browser: an officer finds the menu item, opens a case, asks who had a
public NAT address and port at a time, reads the answer and downloads it as CSV."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import psycopg
from playwright.sync_api import Page, expect

from tests.e2e.conftest import log_in, screenshot
from tests.web_helpers import PASSWORD, make_staff
from webclient import i18n


def _local(value: datetime) -> str:
    return value.astimezone(i18n.timezone()).strftime("%Y-%m-%dT%H:%M")


def test_officer_finds_the_subscriber_behind_a_nat_port_and_downloads_the_answer(
    server: str, page: Page, admin: psycopg.Connection
) -> None:
    n = 100 + secrets.randbelow(150)
    row = admin.execute("select t0, host(pub), host(priv1) from tests.lawful_scenario(%s)", [n]).fetchone()
    assert row is not None
    t0, pub, priv1 = row
    user = make_staff(admin, ["flow"], prefix="olga")
    admin.execute("update auth.users set full_name = 'Olga Pověřená' where username = %s", [user])
    log_in(page, server, user, PASSWORD)

    page.click(".sidebar >> text=Lawful requests")
    expect(page.get_by_role("heading", name="Lawful requests")).to_be_visible()
    page.click("text=+ New case")
    page.fill("#f-reference", f"KRPB-{n}/TČ-2025")
    page.fill("#f-requesting_body", "Policie ČR, KŘP Jihomoravského kraje")
    page.fill("#f-legal_basis", "§ 88a trestního řádu")
    page.click("#case-form button.btn-primary")
    expect(page.get_by_role("heading", name=f"KRPB-{n}/TČ-2025")).to_be_visible()

    screenshot(page, "lawful-case")
    form = page.locator("#by-address")
    form.locator("#f-address").fill(pub)
    form.locator("#f-port").fill("1500")
    form.locator("#f-period_from").fill(_local(t0))
    form.locator("#f-period_to").fill(_local(t0 + timedelta(hours=1)))
    form.locator("button.btn-primary").click()
    expect(page.locator(".flash")).to_contain_text("The query is answered and kept.")
    translations = page.locator("#translations")
    expect(translations).to_contain_text("Jan Novák")
    expect(translations).to_contain_text(priv1)
    expect(translations).to_contain_text("1024–2047")
    expect(page.locator("#flows")).to_contain_text(f"{pub}:1500")

    with page.expect_download() as info:
        page.click("#export-subscribers")
    download = info.value
    assert download.suggested_filename.endswith("-subscribers.csv")
    page.reload()
    expect(page.locator("#exports")).to_contain_text("subscribers (CSV)")
    screenshot(page, "lawful-result")


def test_support_staff_do_not_see_lawful_requests(server: str, page: Page, admin: psycopg.Connection) -> None:
    user = make_staff(admin, ["support"], prefix="sona")
    log_in(page, server, user, PASSWORD)
    expect(page.locator(".sidebar")).not_to_contain_text("Lawful requests")
    response = page.goto(f"{server}/lawful")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="You are not allowed to do this")).to_be_visible()

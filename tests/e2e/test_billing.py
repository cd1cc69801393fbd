"""Billing in a real browser: a billing user previews the month of one operator, runs it and issues
its documents (the run is a job a real scheduler process runs), opens a customer's account and a
document with its lines and VAT recap, and issues a credit note of it."""

from __future__ import annotations

import re

import psycopg
from playwright.sync_api import Dialog, Page, expect

from tests.agents_helpers import AgentProcesses, start_scheduler
from tests.e2e.conftest import log_in, screenshot
from tests.test_web_billing import make_billing
from tests.web_helpers import PASSWORD, make_staff


def _accept(dialog: Dialog) -> None:
    dialog.accept()


def test_billing_user_previews_runs_issues_and_credits_a_document(
    server: str, page: Page, admin: psycopg.Connection, agents: AgentProcesses
) -> None:
    billing = make_billing(admin)
    start_scheduler(admin, agents)
    user = make_staff(admin, ["billing"], prefix="bara")
    admin.execute("update auth.users set full_name = 'Bára Fakturantová' where username = %s", [user])
    page.on("dialog", _accept)  # the confirmations of running, issuing and crediting
    log_in(page, server, user, PASSWORD)

    # A preview: what the run would make, nothing written.
    page.click(".sidebar >> text=Billing")
    expect(page.get_by_role("heading", name="Billing", exact=True)).to_be_visible()
    page.select_option("#f-operator", str(billing.operator))
    page.fill("#f-period", billing.period)
    page.click("button:has-text('Preview')")
    expect(page.locator("#totals")).to_contain_text("CZK\u00a0300.00", timeout=60_000)
    expect(page.locator("h1")).to_contain_text("preview")
    assert admin.execute(
        "select count(*) from billing.charges where operator_id = %s", [billing.operator]
    ).fetchone() == (0,)

    # The run, then its documents issued.
    page.goto(f"{server}/billing")
    page.select_option("#f-operator", str(billing.operator))
    page.fill("#f-period", billing.period)
    page.click("button:has-text('Run')")
    expect(page.locator("#issue-run")).to_be_visible(timeout=60_000)
    expect(page.locator("#totals")).to_contain_text("CZK\u00a0247.93")
    page.click("#issue-run")
    expect(page.locator(".flash")).to_contain_text(re.compile(r"Run issued: documents FV\d+ to FV\d+\."))
    expect(page.locator("#documents")).to_contain_text("Petr Dvořák")
    screenshot(page, "billing_run")

    # The customer's account: the invoice is open; then the document.
    page.click("#documents >> text=Petr Dvořák")
    expect(page.locator(f"#open-{billing.operator}")).to_have_text("CZK\u00a0300.00")
    expect(page.locator("#charges")).to_contain_text("Internet – Fiber 300")
    page.click("#entries a.mono")
    expect(page.locator("#lines")).to_contain_text("Internet – Fiber 300")
    expect(page.locator("#vat")).to_contain_text("CZK\u00a0247.93")
    expect(page.locator("#vat")).to_contain_text("CZK\u00a052.07")
    expect(page.locator("#amount-due")).to_have_text("CZK\u00a0300.00")
    screenshot(page, "billing_document")

    # A credit note of one line, by 100 crowns; without a reason it is refused beside the field.
    page.check("input[name=scope][value=some]")
    page.locator("#credit-note input[type=checkbox]").first.check()
    page.locator("#credit-note input[name^=amount_]").first.fill("100")
    page.click("#issue-credit-note")
    expect(page.locator("#error-reason")).to_have_text("Say why the document is corrected.")
    page.fill("#f-reason", "Outage of four days")
    page.click("#issue-credit-note")
    expect(page.locator(".flash")).to_contain_text(re.compile(r"Credit note OD\d+ issued\."))
    expect(page.locator("#amount-due")).to_have_text("CZK\u00a0-100.00")
    expect(page.locator("#corrects")).to_contain_text("Outage of four days")
    screenshot(page, "billing_credit_note")

    # In Czech: money as "1 234,50 Kč", dates as "1. 12. 2026".
    admin.execute("update auth.users set language = 'cs' where username = %s", [user])
    page.click("#corrects a")
    expect(page.locator("#amount-due")).to_have_text("300,00\u00a0Kč")
    expect(page.locator("#vat")).to_contain_text("247,93\u00a0Kč")
    end = billing.period_end
    expect(page.locator("#dates")).to_contain_text(f"{end.day}. {end.month}. {end.year}")
    screenshot(page, "billing_document_cs")
    page.click(".crumbs a")
    page.click(".tabs >> text=Saldo")
    expect(page.locator(f"#open-{billing.operator}")).to_have_text("200,00\u00a0Kč")
    screenshot(page, "billing_saldo_cs")
    page.click(".tabs >> text=uniCredit")
    page.fill("#f-amount", "500")
    page.fill("#f-reference", "pokladna 1")
    page.click("#top-up button")
    expect(page.locator(".flash")).to_contain_text("Kredit dobit.")
    expect(page.locator("#credit-accounts")).to_contain_text("500,00\u00a0Kč")
    expect(page.locator("#movements")).to_contain_text("pokladna 1")
    screenshot(page, "billing_credit_cs")
    page.goto(f"{server}/billing?operator={billing.operator}")
    expect(page.locator("#runs tbody tr")).to_have_count(2)  # the preview and the run
    screenshot(page, "billing_runs_cs")
    page.click(".tabs >> text=Fakturační plány")
    expect(page.locator("#plans")).to_contain_text("Invoice monthly")
    screenshot(page, "billing_plans_cs")

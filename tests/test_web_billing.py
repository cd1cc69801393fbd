"""The billing pages of the staff web client against the real test database: billing runs through
the ``billing.run`` job (preview, run, result, issue, cancel), billing plans, a document with its
lines and VAT recap in Czech formats, credit notes, one-time charges, the customer card's account,
documents and uniCredit tabs, call record imports; what support may read and may not do; bad input
answered beside its field, never with a 500."""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest
from starlette.testclient import TestClient

from tests.agents_helpers import AgentProcesses, start_scheduler, wait_finished
from tests.web_helpers import field_error, login, make_staff

NBSP = "\u00a0"
CDR_FILE = Path(__file__).parent / "fixtures" / "cdr" / "Master.csv"


@dataclass
class Billing:
    operator: int
    customer: int
    service: int
    period: str  # the month billed: the one before the operator's today
    period_end: date


def make_billing(admin: psycopg.Connection) -> Billing:
    """An operator with the small catalogue and document series, a customer with Fiber 300 (300 Kč
    a month with VAT) running since the first of the month two months back (committed)."""
    row = admin.execute("select tests.make_catalogue()").fetchone()
    assert row
    operator = int(row[0])
    admin.execute(
        "insert into crm.number_series (operator_id, kind, format, yearly, start_value) values"
        " (%(o)s, 'invoice', 'FV{YYYY}{N:5}', true, 1), (%(o)s, 'credit_note', 'OD{YYYY}{N:5}', true, 1),"
        " (%(o)s, 'payment_request', 'VP{YYYY}{N:5}', true, 1)",
        {"o": operator},
    )
    row = admin.execute("select crm.business_date(%s)", [operator]).fetchone()
    assert row
    today: date = row[0]
    this_month = today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    start = (last_month - timedelta(days=1)).replace(day=1)
    row = admin.execute(
        "select c, tests.net_make_service(c, (select t.id from catalog.tariffs t join catalog.products p"
        " on p.id = t.product_id where p.operator_id = %s and t.code = 'i300'), %s)"
        " from tests.make_customer(%s, 'Dvořák', 'Petr') c",
        [operator, start, operator],
    ).fetchone()
    assert row
    return Billing(
        operator, int(row[0]), int(row[1]), last_month.strftime("%Y-%m"), this_month - timedelta(days=1)
    )


@pytest.fixture
def billing(admin: psycopg.Connection) -> Billing:
    return make_billing(admin)


def run_sql(admin: psycopg.Connection, b: Billing, issue: bool = False) -> int:
    """A finished billing run of the month (as a billing user), issued if asked; its id."""
    with admin.transaction():
        admin.execute("call tests.as_staff('{billing}')")
        row = admin.execute("select billing.run(%s, %s)", [b.operator, b.period]).fetchone()
        assert row
        run_id = int(row[0]["run"])
        if issue:
            admin.execute("select billing.issue_run(%s)", [run_id])
    return run_id


def the_document(admin: psycopg.Connection, run_id: int) -> int:
    row = admin.execute(
        "select id from billing.documents where run_id = %s order by id limit 1", [run_id]
    ).fetchone()
    assert row
    return int(row[0])


def _text(html: str) -> str:
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", html))


def _flash(html: str) -> str:
    match = re.search(r'class="[^"]*\bflash\b[^"]*"[^>]*>(.*?)</', html, re.S)
    return html_lib.unescape(match.group(1)).strip() if match else ""


# ---------------------------------------------------------------------------------------------
# Runs


def test_billing_user_previews_runs_and_issues_a_month_through_the_job(
    client: TestClient, admin: psycopg.Connection, agents: AgentProcesses, billing: Billing
) -> None:
    start_scheduler(admin, agents)
    csrf = login(client, make_staff(admin, ["billing"]))
    page = client.get("/billing")
    assert page.status_code == 200 and 'action="/billing/runs"' in page.text

    preview = client.post(
        "/billing/runs",
        data={"csrf": csrf, "operator": str(billing.operator), "period": billing.period, "preview": "1"},
        follow_redirects=False,
    )
    assert preview.status_code == 303, preview.text
    job_url = preview.headers["location"]
    job_id = int(job_url.rsplit("/", 1)[1])
    assert wait_finished(admin, job_id)["state"] == "done"
    shown = client.get(job_url)  # a finished job's page leads to its run
    assert shown.status_code == 200 and "preview" in shown.text
    assert "CZK\u00a0300.00" in shown.text  # the totals, as the run stored them
    assert admin.execute(
        "select count(*) from billing.charges where operator_id = %s", [billing.operator]
    ).fetchone() == (0,)

    run = client.post(
        "/billing/runs",
        data={"csrf": csrf, "operator": str(billing.operator), "period": billing.period, "preview": "0"},
        follow_redirects=False,
    )
    job_id = int(run.headers["location"].rsplit("/", 1)[1])
    assert wait_finished(admin, job_id)["state"] == "done"
    result = client.get(run.headers["location"], follow_redirects=False)
    assert result.status_code == 303
    run_url = result.headers["location"]
    page = client.get(run_url)
    assert 'id="issue-run"' in page.text and 'id="cancel-run"' in page.text
    text = _text(page.text)
    assert "Customers 1" in " ".join(text.split()) and "CZK\u00a0247.93" in text and "CZK\u00a052.07" in text

    issued = client.post(run_url + "/issue", data={"csrf": csrf})
    assert issued.status_code == 200
    assert re.search(r"Run issued: documents FV\d{9} to FV\d{9}\.", _flash(issued.text)), _flash(issued.text)
    assert 'id="issue-run"' not in issued.text and "issued" in issued.text
    # The list shows it per operator and month.
    listed = client.get(f"/billing?operator={billing.operator}&period={billing.period}")
    assert f'href="{run_url}"' in listed.text


def test_a_run_is_cancelled_as_a_whole_once_and_an_issued_run_is_not(
    client: TestClient, admin: psycopg.Connection, billing: Billing
) -> None:
    run_id = run_sql(admin, billing)
    csrf = login(client, make_staff(admin, ["billing"]))
    done = client.post(f"/billing/runs/{run_id}/cancel", data={"csrf": csrf, "reason": "wrong prices"})
    assert done.status_code == 200 and "Run cancelled" in _flash(done.text)
    assert "wrong prices" in done.text
    assert admin.execute("select count(*) from billing.documents where run_id = %s", [run_id]).fetchone() == (
        0,
    )
    again = client.post(f"/billing/runs/{run_id}/cancel", data={"csrf": csrf, "reason": ""})
    assert again.status_code == 422 and "only a finished run" in _text(again.text)
    issued = run_sql(admin, billing, issue=True)
    refused = client.post(f"/billing/runs/{issued}/cancel", data={"csrf": csrf, "reason": "x" * 501})
    assert refused.status_code == 422


def test_bad_month_or_operator_is_answered_beside_the_field(
    client: TestClient, admin: psycopg.Connection, billing: Billing
) -> None:
    csrf = login(client, make_staff(admin, ["billing"]))
    form = {"csrf": csrf, "operator": str(billing.operator), "preview": "1"}
    bad = client.post("/billing/runs", data={**form, "period": "2026-13"})
    assert (
        bad.status_code == 422
        and field_error(bad.text, "period") == "This is not a month: give it as YYYY-MM."
    )
    empty = client.post("/billing/runs", data={**form, "period": ""})
    assert field_error(empty.text, "period") == "This field is required."
    no_operator = client.post("/billing/runs", data={**form, "operator": "abc", "period": billing.period})
    assert field_error(no_operator.text, "operator") == "This is not a whole number."
    missing = client.post("/billing/runs", data={**form, "operator": "999999999", "period": billing.period})
    assert field_error(missing.text, "operator") == "This operator does not exist."
    assert client.get("/billing/runs/999999999").status_code == 404
    assert client.get("/billing/jobs/999999999").status_code == 404
    assert client.get("/billing?operator=x&period=nonsense&before=zz").status_code == 200


def test_support_reads_billing_but_may_not_run_issue_cancel_credit_or_charge(
    client: TestClient, admin: psycopg.Connection, billing: Billing
) -> None:
    run_id = run_sql(admin, billing)
    issued = run_sql(admin, make_billing(admin), issue=True)
    document = the_document(admin, issued)
    csrf = login(client, make_staff(admin, ["support"]))
    runs = client.get("/billing")
    assert runs.status_code == 200 and 'action="/billing/runs"' not in runs.text
    run_page = client.get(f"/billing/runs/{run_id}")
    assert run_page.status_code == 200 and 'id="issue-run"' not in run_page.text
    doc_page = client.get(f"/billing/documents/{document}")
    assert doc_page.status_code == 200 and 'id="issue-credit-note"' not in doc_page.text
    saldo = client.get(f"/customers/{billing.customer}?tab=saldo")
    assert (
        saldo.status_code == 200
        and 'action="/customers/' + str(billing.customer) + '/charges"' not in saldo.text
    )
    assert client.get("/billing/plans").status_code == 200
    assert client.get("/billing/cdr").status_code == 200
    start = {"csrf": csrf, "operator": str(billing.operator), "period": billing.period, "preview": "1"}
    assert client.post("/billing/runs", data=start).status_code == 403
    assert client.post(f"/billing/runs/{run_id}/issue", data={"csrf": csrf}).status_code == 403
    assert client.post(f"/billing/runs/{run_id}/cancel", data={"csrf": csrf}).status_code == 403
    credit = {"csrf": csrf, "reason": "goodwill", "scope": "all"}
    assert client.post(f"/billing/documents/{document}/credit-note", data=credit).status_code == 403
    charge = {
        "csrf": csrf,
        "service_id": str(billing.service),
        "kind": "one_time",
        "description": "Router",
        "amount": "990",
    }
    assert client.post(f"/customers/{billing.customer}/charges", data=charge).status_code == 403
    assert admin.execute("select state from billing.runs where id = %s", [run_id]).fetchone() == ("done",)
    assert admin.execute(
        "select count(*) from billing.documents where original_id = %s", [document]
    ).fetchone() == (0,)


# ---------------------------------------------------------------------------------------------
# Documents and credit notes


def test_document_page_shows_lines_vat_recap_and_dates_in_czech_formats(
    client: TestClient, admin: psycopg.Connection, billing: Billing
) -> None:
    document = the_document(admin, run_sql(admin, billing, issue=True))
    user = make_staff(admin, ["billing"])
    admin.execute("update auth.users set language = 'cs' where username = %s", [user])
    login(client, user)
    page = client.get(f"/billing/documents/{document}")
    assert page.status_code == 200
    text = _text(page.text)
    assert re.search(r"FV\d{9}", text)
    for amount in ("247,93", "52,07", "300,00"):
        assert f"{amount}{NBSP}Kč" in text, amount
    end = billing.period_end
    assert f"{end.day}. {end.month}. {end.year}" in text  # the tax point: the period's last day
    assert "21 %" in text and "Internet – Fiber 300" in text
    assert 'id="issue-credit-note"' in page.text


def test_credit_note_of_some_lines_then_the_rest_and_bad_input_beside_its_field(
    client: TestClient, admin: psycopg.Connection, billing: Billing
) -> None:
    document = the_document(admin, run_sql(admin, billing, issue=True))
    row = admin.execute(
        "select id from billing.document_lines where document_id = %s and line_kind = 'charge' order by position limit 1",
        [document],
    ).fetchone()
    assert row
    line = int(row[0])
    csrf = login(client, make_staff(admin, ["billing"]))
    url = f"/billing/documents/{document}/credit-note"
    no_reason = client.post(url, data={"csrf": csrf, "reason": "", "scope": "all"})
    assert (
        no_reason.status_code == 422
        and field_error(no_reason.text, "reason") == "Say why the document is corrected."
    )
    none_ticked = client.post(url, data={"csrf": csrf, "reason": "goodwill", "scope": "some"})
    assert field_error(none_ticked.text, "lines") == "Tick the lines to credit, or credit the whole document."
    not_number = client.post(
        url,
        data={
            "csrf": csrf,
            "reason": "goodwill",
            "scope": "some",
            f"line_{line}": "on",
            f"amount_{line}": "abc",
        },
    )
    assert field_error(not_number.text, f"amount_{line}") == "This is not a number."
    too_much = client.post(
        url,
        data={
            "csrf": csrf,
            "reason": "goodwill",
            "scope": "some",
            f"line_{line}": "on",
            f"amount_{line}": "5000",
        },
    )
    assert too_much.status_code == 422 and "at most 300" in field_error(too_much.text, "lines")

    some = client.post(
        url,
        data={
            "csrf": csrf,
            "reason": "outage",
            "scope": "some",
            f"line_{line}": "on",
            f"amount_{line}": "100",
        },
    )
    assert some.status_code == 200 and re.search(r"Credit note OD\d{9} issued\.", _flash(some.text))
    assert "CZK\u00a0-100.00" in _text(some.text) and "outage" in some.text
    whole = client.post(url, data={"csrf": csrf, "reason": "contract ended", "scope": "all"})
    assert whole.status_code == 200 and "CZK\u00a0-200.00" in _text(whole.text)
    original = client.get(f"/billing/documents/{document}")
    assert (
        original.text.count('href="/billing/documents/') >= 2
        and 'id="issue-credit-note"' not in original.text
    )
    again = client.post(url, data={"csrf": csrf, "reason": "again", "scope": "all"})
    assert again.status_code == 422 and "credited in full" in _text(again.text)


# ---------------------------------------------------------------------------------------------
# The customer card: account (saldo), documents, uniCredit; one-time charges


def test_saldo_and_documents_tabs_show_charges_documents_and_what_is_open(
    client: TestClient, admin: psycopg.Connection, billing: Billing
) -> None:
    document = the_document(admin, run_sql(admin, billing, issue=True))
    login(client, make_staff(admin, ["support"]))
    saldo = client.get(f"/customers/{billing.customer}?tab=saldo")
    assert saldo.status_code == 200
    open_tile = re.search(rf'id="open-{billing.operator}">([^<]*)<', saldo.text)
    assert open_tile and html_lib.unescape(open_tile.group(1)) == "CZK\u00a0300.00"
    assert f'href="/billing/documents/{document}"' in saldo.text and "Internet – Fiber 300" in saldo.text
    assert 'aria-current="page">Balance' in saldo.text
    documents = client.get(f"/customers/{billing.customer}?tab=documents")
    assert documents.status_code == 200 and f'href="/billing/documents/{document}"' in documents.text
    # The other tabs stay the card's own.
    assert client.get(f"/customers/{billing.customer}?tab=notes").status_code == 200
    assert client.get("/customers/999999999?tab=saldo").status_code == 404
    # A technician reads the customer but not the credit: no billing tabs, and the database refuses.
    client.cookies.clear()
    login(client, make_staff(admin, ["technician"]))
    card = client.get(f"/customers/{billing.customer}")
    assert card.status_code == 200 and "?tab=saldo" not in card.text
    assert client.get(f"/customers/{billing.customer}?tab=credit").status_code == 403


def test_one_time_charge_on_a_service_waits_for_the_next_run_and_bad_input_is_shown_by_its_field(
    client: TestClient, admin: psycopg.Connection, billing: Billing
) -> None:
    other = make_billing(admin)
    csrf = login(client, make_staff(admin, ["billing"]))
    url = f"/customers/{billing.customer}/charges"
    form = {
        "csrf": csrf,
        "service_id": str(billing.service),
        "kind": "one_time",
        "description": "Router",
        "amount": "990",
    }
    for field, value, message in (
        ("amount", "", "This field is required."),
        ("amount", "NaN", "This is not a number."),
        ("description", "", "This field is required."),
        ("on", "31. 2. 2026", "This is not a date."),
        ("service_id", str(other.service), "This service is not the customer's."),
    ):
        bad = client.post(url, data={**form, field: value})
        assert bad.status_code == 422 and field_error(bad.text, field) == message, (field, value)
    zero = client.post(url, data={**form, "amount": "0"})
    assert zero.status_code == 422 and "not zero" in field_error(zero.text, "amount")
    discount = client.post(url, data={**form, "kind": "discount", "amount": "50"})
    assert "negative" in field_error(discount.text, "amount")
    added = client.post(url, data=form)
    assert added.status_code == 200 and "Charge added" in _flash(added.text)
    assert "Router" in added.text and "waits for the billing run" in added.text
    assert admin.execute(
        "select kind, amount_with_vat::text from billing.charges where service_id = %s and key is null",
        [billing.service],
    ).fetchall() == [("one_time", "990.00")]


def test_unicredit_tab_shows_accounts_and_movements_and_support_tops_up(
    client: TestClient, admin: psycopg.Connection, billing: Billing
) -> None:
    csrf = login(client, make_staff(admin, ["support"]))
    url = f"/customers/{billing.customer}/credit/top-up"
    empty = client.get(f"/customers/{billing.customer}?tab=credit")
    assert empty.status_code == 200 and "No credit account yet." in empty.text
    bad = client.post(url, data={"csrf": csrf, "amount": "abc"})
    assert bad.status_code == 422 and field_error(bad.text, "amount") == "This is not a number."
    negative = client.post(url, data={"csrf": csrf, "amount": "-5"})
    assert negative.status_code == 422
    done = client.post(url, data={"csrf": csrf, "amount": "250", "reference": "desk 1"})
    assert done.status_code == 200 and "Credit topped up." in _flash(done.text)
    assert "CZK\u00a0250.00" in _text(done.text) and "desk 1" in done.text and "Top-up" in done.text


# ---------------------------------------------------------------------------------------------
# Plans and call record imports


def test_admin_adds_and_edits_a_billing_plan_others_read_it(
    client: TestClient, admin: psycopg.Connection, billing: Billing
) -> None:
    csrf = login(client, make_staff(admin, ["admin"]))
    form = {
        "csrf": csrf,
        "operator_id": str(billing.operator),
        "code": "quarterly",
        "name": "Quarterly invoice",
        "fixed_document": "invoice",
        "usage_document": "invoice",
        "mode": "prepaid",
        "usage_mode": "postpaid",
        "tax_point_rule": "period_end",
        "due_days": "21",
        "tariff_change": "full_old_prorata_new",
        "active": "on",
    }
    bad_code = client.post("/billing/plans", data={**form, "code": "Bad Code!"})
    assert bad_code.status_code == 422 and field_error(bad_code.text, "code")
    bad_days = client.post("/billing/plans", data={**form, "due_days": "999"})
    assert field_error(bad_days.text, "due_days") == "A value from 0 to 365."
    mixed = client.post("/billing/plans", data={**form, "tax_point_rule": "payment_day"})
    assert mixed.status_code == 422 and field_error(mixed.text, "tax_point_rule")
    added = client.post("/billing/plans", data=form, follow_redirects=False)
    assert added.status_code == 303
    plan_url = added.headers["location"]
    saved = client.post(plan_url, data={**form, "name": "Quarterly, 21 days"})
    assert saved.status_code == 200 and "Changes saved." in _flash(saved.text)
    same = client.post(plan_url, data={**form, "name": "Quarterly, 21 days"})
    assert "Nothing changed" in _flash(same.text)
    assert "Quarterly, 21 days" in client.get("/billing/plans").text

    client.cookies.clear()
    csrf = login(client, make_staff(admin, ["billing"]))
    read = client.get(plan_url)
    assert read.status_code == 200 and "Administrators change billing plans." in read.text
    assert 'action="/billing/plans" class' not in client.get("/billing/plans").text
    assert client.post(plan_url, data={**form, "csrf": csrf, "name": "Mine"}).status_code == 403


def test_call_record_imports_are_listed_with_their_bad_lines(
    client: TestClient, admin: psycopg.Connection, billing: Billing
) -> None:
    content = CDR_FILE.read_text(encoding="utf-8") + "not,a,call,record\n"
    with admin.transaction():
        admin.execute("call tests.as_staff('{billing}')")
        row = admin.execute(
            "select import_id, bad_lines from billing.import_cdrs('Master.csv', %s, %s)",
            [content, billing.operator],
        ).fetchone()
    assert row and row[1] >= 1
    login(client, make_staff(admin, ["support"]))
    listed = client.get("/billing/cdr")
    assert listed.status_code == 200 and f'href="/billing/cdr/{row[0]}"' in listed.text
    detail = client.get(f"/billing/cdr/{row[0]}")
    assert detail.status_code == 200 and "not,a,call,record" in detail.text
    assert client.get("/billing/cdr/999999999").status_code == 404


def test_a_queued_run_has_a_page_that_refreshes_until_the_run_is_done(
    client: TestClient, admin: psycopg.Connection, billing: Billing
) -> None:
    csrf = login(client, make_staff(admin, ["billing"]))
    queued = client.post(
        "/billing/runs",
        data={"csrf": csrf, "operator": str(billing.operator), "period": billing.period, "preview": "1"},
    )
    job_id = int(str(queued.url).rsplit("/", 1)[1])
    try:
        assert queued.status_code == 200 and "Preview queued" in _flash(queued.text)
        assert '<meta http-equiv="refresh" content="2">' in queued.text and "queued" in queued.text
        listed = client.get("/billing")
        assert 'id="pending"' in listed.text and "Billing preview" in listed.text
    finally:  # no scheduler runs here: the one of another test must not find it
        cancelled = client.post(f"/jobs/{job_id}/cancel", data={"csrf": csrf}, follow_redirects=False)
        assert cancelled.status_code == 303
    assert client.get(f"/billing/jobs/{job_id}").status_code == 200


@pytest.mark.parametrize(
    "value",
    ["", "abc", "-1", "0", "1e400", "99999999999999999999", "NaN", "1,5", "'; drop table x; --", "ř" * 600],
)
def test_odd_input_to_every_billing_form_is_answered_never_with_a_server_error(
    client: TestClient, admin: psycopg.Connection, billing: Billing, value: str
) -> None:
    run_id = run_sql(admin, billing)
    document = the_document(admin, run_sql(admin, make_billing(admin), issue=True))
    row = admin.execute(
        "select id from billing.document_lines where document_id = %s limit 1", [document]
    ).fetchone()
    assert row
    line = row[0]
    csrf = login(client, make_staff(admin, ["admin"]))
    posts = {
        "/billing/runs": {"operator": value, "period": value, "preview": value},
        f"/billing/runs/{run_id}/cancel": {"reason": value},
        f"/billing/documents/{document}/credit-note": {
            "reason": value,
            "scope": "some",
            f"line_{line}": "on",
            f"amount_{line}": value,
            "line_999999999999999999": "on",
        },
        f"/customers/{billing.customer}/charges": {
            "service_id": value,
            "kind": value,
            "description": value,
            "amount": value,
            "on": value,
            "quantity": value,
        },
        f"/customers/{billing.customer}/credit/top-up": {
            "amount": value,
            "reference": value,
            "operator_id": value,
        },
        "/billing/plans": {
            "operator_id": str(billing.operator),
            "code": value,
            "name": value,
            "due_days": value,
            "mode": value,
            "tax_point_rule": value,
        },
    }
    for url, form in posts.items():
        response = client.post(url, data={"csrf": csrf, **form})
        assert response.status_code < 500, (url, value, response.status_code)
    for url in (
        f"/billing?operator={value}&period={value}&before={value}",
        f"/billing/runs/{run_id}?after={value}",
        f"/customers/{billing.customer}?tab=documents&before={value}",
        f"/billing/cdr?before={value}",
    ):
        assert client.get(url).status_code == 200, url

"""Billing (BIL-1…4, UC-1…2, CRM-4 saldo): plans, billing runs (preview, progress, result, issue,
cancel), documents with their lines and VAT recap, credit notes, one-time charges, the customer
card's account, documents and uniCredit tabs, and the call record imports.

Every rule is the database's: a run is a ``billing.run`` job (``bus.submit_job`` checks who may
queue it, the scheduler runs it and reports progress on the jobs page), issuing, cancelling, credit
notes and charges are ``billing.*`` functions that check the signed-in user's rights, and an issued
document cannot be changed by anyone. The pages show an action only when ``auth.may`` says the user
holds the right; the database refuses it anyway. Money is shown exactly as the database stored
it: amounts come as ``numeric`` (a run's totals, JSON numbers or exact text, are read as decimals),
never computed here or in a template. The billing tabs of the customer card are pages of a few
queries in one transaction (``card_tabs``); the card's other tabs stay its one statement.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from functools import partial
from typing import Any

from psycopg.abc import Params
from psycopg.abc import QueryNoTemplate as Query
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb, set_json_loads
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from webclient import web
from webclient.staff import customers, forms
from webclient.web import Conn, FormErrors, Page

PAGE_SIZE = 50
CARD_TABS = ("saldo", "documents", "credit")
GET_POST = ["GET", "POST"]
POST = ["POST"]

_decimal_loads = partial(json.loads, parse_float=Decimal)


_AMOUNT = re.compile(r"-?\d{1,15}(\.\d{1,4})?")


def _amounts(value: Any) -> Any:
    """A run's totals as amounts: the database stores them in JSON as exact text ("247.93") or as
    numbers; both become decimals, shown as they are."""
    if isinstance(value, dict):
        return {k: _amounts(v) for k, v in value.items()}
    if isinstance(value, str) and _AMOUNT.fullmatch(value):
        return Decimal(value)
    return value


async def _rows(conn: Conn, query: Query, params: Params | None = None) -> list[dict[str, Any]]:
    """Rows as dicts, JSON numbers as decimals and a run's totals as amounts (shown as stored)."""
    cur = conn.cursor(row_factory=dict_row)
    set_json_loads(_decimal_loads, cur)
    await cur.execute(query, params)
    rows = await cur.fetchall()
    for row in rows:
        if "totals" in row:
            row["totals"] = _amounts(row["totals"])
    return rows


async def _row(conn: Conn, query: Query, params: Params | None = None) -> dict[str, Any] | None:
    rows = await _rows(conn, query, params)
    return rows[0] if rows else None


def _failed_text(failed: FormErrors) -> str:
    return " ".join([*failed.general, *failed.fields.values()])


def _id(text: str) -> int | None:
    """An id from a query string (at most a bigint), or None."""
    return int(text) if re.fullmatch(r"\d{1,18}", text) else None


def _before(request: Request) -> int:
    """The keyset cursor ``?before=ID`` (web.before_id), kept inside a bigint."""
    return min(web.before_id(request), 2**62)


RIGHTS_SQL = "select auth.may('billing') as billing, auth.may('admin') as admin"


async def _may(page: Page) -> dict[str, Any]:
    return await web.fetch_one(page.conn, RIGHTS_SQL) or {"billing": False, "admin": False}


def routes() -> list[Route]:
    page = web.staff_page
    return [
        Route("/billing", page(run_list)),
        Route("/billing/runs", page(run_start), methods=POST),
        Route("/billing/runs/{id:int}", page(run_detail)),
        Route("/billing/runs/{id:int}/issue", page(run_issue), methods=POST),
        Route("/billing/runs/{id:int}/cancel", page(run_cancel), methods=POST),
        Route("/billing/jobs/{id:int}", page(run_job)),
        Route("/billing/plans", page(plan_list), methods=GET_POST),
        Route("/billing/plans/{id:int}", page(plan_edit), methods=GET_POST),
        Route("/billing/documents/{id:int}", page(document)),
        Route("/billing/documents/{id:int}/credit-note", page(credit_note), methods=POST),
        Route("/billing/cdr", page(cdr_list)),
        Route("/billing/cdr/{id:int}", page(cdr_detail)),
        Route("/customers/{id:int}/charges", page(charge_add), methods=POST),
        Route("/customers/{id:int}/credit/top-up", page(top_up), methods=POST),
    ]


OPERATORS_SQL = "select id, code, name, currency from crm.operators where active order by name"


# ---------------------------------------------------------------------------------------------
# Billing runs

RUNS_SQL = """
select r.id, r.operator_id, o.name as operator_name, o.currency, r.period, r.state, r.job_id, r.counts, r.totals,
       r.started_at, r.finished_at, r.issued_at, r.cancelled_at, u.full_name as created_by_name
  from billing.runs r
  join crm.operators o on o.id = r.operator_id
  left join auth.users u on u.id = r.created_by
 where (%(operator)s::bigint is null or r.operator_id = %(operator)s)
   and (%(period)s::date is null or r.period = %(period)s)
   and r.id < %(before)s
 order by r.id desc
 limit %(limit)s
"""

# Runs queued or running now (not yet a row of billing.runs: a run is committed when it is done).
PENDING_SQL = """
select j.id, j.title, j.state, j.progress, j.message, j.params, j.created_at
  from bus.jobs j
 where j.kind = 'billing.run' and j.state in ('queued', 'running')
 order by j.id desc
"""


def _month(text: str) -> str | None:
    """A month from ``<input type=month>`` (YYYY-MM) or a date in it; None when it is not one."""
    text = text.strip()
    czech = re.fullmatch(r"(\d{1,2})\s*/\s*(\d{4})", text)
    if czech:
        text = f"{czech.group(2)}-{int(czech.group(1)):02d}"
    return text if re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text) else None


async def _runs_page(
    page: Page, *, values: dict[str, Any] | None = None, errors: FormErrors | None = None
) -> Response:
    qp = page.request.query_params
    operator = qp.get("operator", "")
    month = _month(qp.get("period", ""))
    rows = await _rows(
        page.conn,
        RUNS_SQL,
        {
            "operator": _id(operator),
            "period": f"{month}-01" if month else None,
            "before": _before(page.request),
            "limit": PAGE_SIZE + 1,
        },
    )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    operators = await web.fetch_all(page.conn, OPERATORS_SQL)
    shown = values or {}
    if not values:
        shown = {
            "operator": operator or (str(operators[0]["id"]) if len(operators) == 1 else ""),
            "period": month,
        }
        if not month:
            default = await web.fetch_value(
                page.conn, "select to_char(date_trunc('month', current_date) - interval '1 month', 'YYYY-MM')"
            )
            shown["period"] = default
    return page.render(
        "billing_runs.html",
        {
            "runs": rows,
            "pending": await _rows(page.conn, PENDING_SQL),
            "operators": operators,
            "filter": {"operator": operator if _id(operator) else "", "period": month or ""},
            "next_before": rows[-1]["id"] if more else None,
            "may": await _may(page),
            "values": shown,
            "errors": errors or FormErrors(),
        },
        status_code=422 if errors else 200,
    )


async def run_list(page: Page) -> Response:
    return await _runs_page(page)


async def run_start(page: Page) -> Response:
    """Queue a billing run (or its preview) as a ``billing.run`` job; its page shows the progress."""
    errors = FormErrors()
    operator = forms.parse_int(page, "operator", errors, required=True)
    month = _month(page.field("period"))
    if not page.field("period"):
        errors.fields["period"] = page._("This field is required.")
    elif month is None:
        errors.fields["period"] = page._("This is not a month: give it as YYYY-MM.")
    preview = page.field("preview") == "1"
    values = {"operator": page.field("operator"), "period": page.field("period")}
    job_id = None
    if not errors:
        code = await web.fetch_value(page.conn, "select code from crm.operators where id = %s", [operator])
        if code is None:
            errors.fields["operator"] = page._("This operator does not exist.")
        else:
            title = page._(
                "Billing preview {operator} {period}" if preview else "Billing run {operator} {period}",
                operator=code,
                period=month,
            )
            params = {"operator": operator, "period": month, "preview": preview}
            job_id, failed = await page.attempt(
                lambda: web.fetch_value(
                    page.conn, "select bus.submit_job('billing.run', %s, %s)", [title, Jsonb(params)]
                )
            )
            forms.merge(errors, failed)
    if errors or job_id is None:
        return await _runs_page(page, values=values, errors=errors)
    message = "Preview queued: it shows what the run would make." if preview else "Billing run queued."
    return web.redirect(f"/billing/jobs/{job_id}", page._(message))


JOB_SQL = """
select j.id, j.title, j.state, j.progress, j.message, j.error, j.params, j.result, j.created_at, j.started_at,
       j.finished_at, (select r.id from billing.runs r where r.job_id = j.id order by r.id desc limit 1) as run_id
  from bus.jobs j
 where j.id = %s and j.kind = 'billing.run'
"""


async def run_job(page: Page) -> Response:
    """A queued or running run: its progress, refreshed until it ends; then its result page."""
    job = await _row(page.conn, JOB_SQL, [int(page.request.path_params["id"])])
    if job is None:
        return forms.not_found(page, page._("This billing job does not exist."))
    if job["state"] == "done" and job["run_id"] is not None:
        return web.redirect(f"/billing/runs/{job['run_id']}", web.read_flash(page.request))
    return page.render("billing_job.html", {"job": job, "live": job["state"] in ("queued", "running")})


RUN_SQL = """
select r.*, o.name as operator_name, o.code as operator_code, o.currency, u.full_name as created_by_name,
       i.full_name as issued_by_name, k.full_name as cancelled_by_name,
       (select min(d.number) from billing.documents d where d.run_id = r.id) as first_number,
       (select max(d.number) from billing.documents d where d.run_id = r.id) as last_number
  from billing.runs r
  join crm.operators o on o.id = r.operator_id
  left join auth.users u on u.id = r.created_by
  left join auth.users i on i.id = r.issued_by
  left join auth.users k on k.id = r.cancelled_by
 where r.id = %s
"""

RUN_DOCUMENTS_SQL = """
select d.id, d.kind, d.state, d.number, d.customer_id, d.customer_name, d.customer_no, d.issue_date, d.tax_point,
       d.due_date, d.total_without_vat, d.total_vat, d.total_with_vat, d.rounding, d.amount_due, d.currency
  from billing.documents d
 where d.run_id = %(run)s and d.id > %(after)s
 order by d.id
 limit %(limit)s
"""


async def _run_page(page: Page, run_id: int, errors: FormErrors | None = None) -> Response:
    run = await _row(page.conn, RUN_SQL, [run_id])
    if run is None:
        return forms.not_found(page, page._("This billing run does not exist."))
    after = page.request.query_params.get("after", "")
    documents = await _rows(
        page.conn,
        RUN_DOCUMENTS_SQL,
        {"run": run_id, "after": _id(after) or 0, "limit": PAGE_SIZE + 1},
    )
    more = len(documents) > PAGE_SIZE
    documents = documents[:PAGE_SIZE]
    return page.render(
        "billing_run.html",
        {
            "run": run,
            "documents": documents,
            "next_after": documents[-1]["id"] if more else None,
            "may": await _may(page),
            "errors": errors or FormErrors(),
            "values": {"reason": page.field("reason")} if errors else {},
        },
        status_code=422 if errors else 200,
    )


async def run_detail(page: Page) -> Response:
    return await _run_page(page, int(page.request.path_params["id"]))


async def run_issue(page: Page) -> Response:
    run_id = int(page.request.path_params["id"])
    result, failed = await page.attempt(
        lambda: _row(page.conn, "select billing.issue_run(%s) as r", [run_id])
    )
    if failed or result is None:
        return await _run_page(page, run_id, failed)
    numbers = result["r"].get("numbers") or {}
    if numbers.get("first"):
        message = page._(
            "Run issued: documents {first} to {last}.", first=numbers["first"], last=numbers["last"]
        )
    else:
        message = page._("Run issued.")
    return web.redirect(f"/billing/runs/{run_id}", message)


async def run_cancel(page: Page) -> Response:
    run_id = int(page.request.path_params["id"])
    reason = page.field("reason") or None
    _, failed = await page.attempt(
        lambda: page.conn.execute("select billing.cancel_run(%s, %s)", [run_id, reason])
    )
    if failed:
        return await _run_page(page, run_id, failed)
    return web.redirect(
        f"/billing/runs/{run_id}", page._("Run cancelled: its drafts and charges are deleted.")
    )


# ---------------------------------------------------------------------------------------------
# Billing plans

PLAN_FIELDS = ("code", "name", "description")
PLAN_CHOICES = ("fixed_document", "usage_document", "mode", "usage_mode", "tax_point_rule", "tariff_change")
PLAN_FLAGS = ("advance_invoices", "sipo", "prepaid_credit", "reverse_charge", "is_default", "active")

PLANS_SQL = """
select p.*, o.name as operator_name
  from billing.plans p join crm.operators o on o.id = p.operator_id
 order by o.name, p.is_default desc, p.active desc, p.name, p.id
"""


def _plan_values(page: Page, errors: FormErrors) -> dict[str, Any]:
    values: dict[str, Any] = {k: forms.text(page, k) for k in (*PLAN_FIELDS, *PLAN_CHOICES)}
    for k in PLAN_CHOICES:  # empty: the column's default
        values[k] = values[k] or web.RULES.default(f"billing.plans.{k}")
    values["due_days"] = forms.int_or_default(page, "due_days", errors, "billing.plans.due_days")
    for k in PLAN_FLAGS:
        values[k] = page.checked(k)
    return values


def _plan_defaults() -> dict[str, Any]:
    """A new plan's form: the columns' defaults, as the database has them."""
    values: dict[str, Any] = {k: web.RULES.default(f"billing.plans.{k}") for k in (*PLAN_CHOICES, "due_days")}
    values["active"] = True
    return values


async def _plans_page(
    page: Page, *, values: dict[str, Any] | None = None, errors: FormErrors | None = None
) -> Response:
    return page.render(
        "billing_plans.html",
        {
            "plans": await web.fetch_all(page.conn, PLANS_SQL),
            "operators": await web.fetch_all(page.conn, OPERATORS_SQL),
            "may": await _may(page),
            "values": values or _plan_defaults(),
            "errors": errors or FormErrors(),
        },
        status_code=422 if errors else 200,
    )


PLAN_INSERT_SQL = """
insert into billing.plans (operator_id, code, name, description, fixed_document, usage_document, mode, usage_mode,
                           tax_point_rule, due_days, advance_invoices, sipo, tariff_change, prepaid_credit,
                           reverse_charge, is_default, active)
values (%(operator_id)s, %(code)s, %(name)s, %(description)s, %(fixed_document)s, %(usage_document)s, %(mode)s,
        %(usage_mode)s, %(tax_point_rule)s, %(due_days)s, %(advance_invoices)s, %(sipo)s, %(tariff_change)s,
        %(prepaid_credit)s, %(reverse_charge)s, %(is_default)s, %(active)s)
returning id
"""


async def plan_list(page: Page) -> Response:
    if page.form is None:
        return await _plans_page(page)
    errors = FormErrors()
    values = _plan_values(page, errors)
    values["operator_id"] = forms.parse_int(page, "operator_id", errors, required=True)
    new_id = None
    if not errors:
        new_id, failed = await page.attempt(lambda: web.fetch_value(page.conn, PLAN_INSERT_SQL, values))
        forms.merge(errors, failed)
    if errors or new_id is None:
        return await _plans_page(page, values=values, errors=_plan_errors(errors))
    return web.redirect(f"/billing/plans/{new_id}", page._("Billing plan added."))


def _plan_errors(errors: FormErrors) -> FormErrors:
    # A check over several columns (the tax point and the documents) is named after the first.
    return forms.rename(
        errors,
        {"tax_point_rule_document": "tax_point_rule", "default_active": "active", "code_format": "code"},
    )


PLAN_SQL = """
select p.*, o.name as operator_name,
       (select count(*) from (select from crm.services s where s.billing_plan_id = p.id limit 10001) x) as services
  from billing.plans p join crm.operators o on o.id = p.operator_id
 where p.id = %s
"""

PLAN_UPDATE_SQL = """
with u as (
  update billing.plans
     set code = %(code)s, name = %(name)s, description = %(description)s, fixed_document = %(fixed_document)s,
         usage_document = %(usage_document)s, mode = %(mode)s, usage_mode = %(usage_mode)s,
         tax_point_rule = %(tax_point_rule)s, due_days = %(due_days)s, advance_invoices = %(advance_invoices)s,
         sipo = %(sipo)s, tariff_change = %(tariff_change)s, prepaid_credit = %(prepaid_credit)s,
         reverse_charge = %(reverse_charge)s, is_default = %(is_default)s, active = %(active)s
   where id = %(id)s
     and (code, name, description, fixed_document, usage_document, mode, usage_mode, tax_point_rule, due_days,
          advance_invoices, sipo, tariff_change, prepaid_credit, reverse_charge, is_default, active)
         is distinct from
         (%(code)s::text, %(name)s::text, %(description)s::text, %(fixed_document)s::text, %(usage_document)s::text,
          %(mode)s::text, %(usage_mode)s::text, %(tax_point_rule)s::text, %(due_days)s::integer,
          %(advance_invoices)s::boolean, %(sipo)s::boolean, %(tariff_change)s::text, %(prepaid_credit)s::boolean,
          %(reverse_charge)s::boolean, %(is_default)s::boolean, %(active)s::boolean)
  returning 1
)
select exists (select from u) as changed
"""


async def plan_edit(page: Page) -> Response:
    plan_id = int(page.request.path_params["id"])
    plan = await web.fetch_one(page.conn, PLAN_SQL, [plan_id])
    if plan is None:
        return forms.not_found(page, page._("This billing plan does not exist."))
    errors = FormErrors()
    values: dict[str, Any] = plan
    if page.form is not None:
        values = {**_plan_values(page, errors), "id": plan_id}
        done = None
        if not errors:
            done, failed = await page.attempt(lambda: web.fetch_one(page.conn, PLAN_UPDATE_SQL, values))
            forms.merge(errors, failed)
        if not errors and done is not None:
            message = "Changes saved." if done["changed"] else forms.NOTHING_CHANGED
            return web.redirect(f"/billing/plans/{plan_id}", page._(message))
        errors = _plan_errors(errors)
    return page.render(
        "billing_plan.html",
        {"plan": plan, "values": values, "errors": errors, "may": await _may(page)},
        status_code=422 if errors else 200,
    )


# ---------------------------------------------------------------------------------------------
# A document: its lines, VAT recap, credit notes; a credit note of it

DOCUMENT_SQL = """
select d.*, lower(d.period) as period_from, upper(d.period) - 1 as period_to, r.period as run_period, o.number as original_number, o.kind as original_kind,
       q.number as request_number
  from billing.documents d
  left join billing.runs r on r.id = d.run_id
  left join billing.documents o on o.id = d.original_id
  left join billing.documents q on q.id = d.request_id
 where d.id = %s
"""

# Each line with what is left of it after the credit notes before (what a credit note may take).
LINES_SQL = """
select l.id, l.position, l.line_kind, l.description, lower(l.covered) as covered_from,
       upper(l.covered) - 1 as covered_to, l.quantity, l.unit, l.unit_price,
       l.discount_percent, l.price_mode, l.vat_rate, l.tax_point, l.amount_without_vat, l.vat_amount,
       l.amount_with_vat, c.service_id, c.kind as charge_kind,
       l.amount_without_vat + coalesce(k.without_vat, 0) as rest_without_vat,
       l.amount_with_vat + coalesce(k.with_vat, 0) as rest_with_vat
  from billing.document_lines l
  left join billing.charges c on c.id = l.charge_id
  left join lateral (select sum(x.amount_without_vat) as without_vat, sum(x.amount_with_vat) as with_vat
                       from billing.document_lines x where x.credited_line_id = l.id) k on true
 where l.document_id = %s
 order by l.position
"""

VAT_SQL = "select vat_rate, base, vat, total from billing.document_vat where document_id = %s order by vat_rate desc"

CREDIT_NOTES_SQL = """
select d.id, d.number, d.issue_date, d.reason, d.total_with_vat, d.amount_due, d.currency
  from billing.documents d
 where d.original_id = %s
 order by d.id
"""


async def _document_page(
    page: Page, document_id: int, *, values: dict[str, Any] | None = None, errors: FormErrors | None = None
) -> Response:
    doc = await web.fetch_one(page.conn, DOCUMENT_SQL, [document_id])
    if doc is None:
        return forms.not_found(page, page._("This document does not exist."))
    lines = await web.fetch_all(page.conn, LINES_SQL, [document_id])
    may = await _may(page)
    creditable = (
        doc["state"] == "issued"
        and doc["kind"] in ("invoice", "advance_invoice")
        and any(line["line_kind"] != "rounding" and line["rest_with_vat"] != 0 for line in lines)
    )
    return page.render(
        "billing_document.html",
        {
            "d": doc,
            "lines": lines,
            "vat": await web.fetch_all(page.conn, VAT_SQL, [document_id]),
            "credit_notes": await web.fetch_all(page.conn, CREDIT_NOTES_SQL, [document_id]),
            "may": may,
            "creditable": creditable,
            "values": values or {"scope": "all"},
            "errors": errors or FormErrors(),
        },
        status_code=422 if errors else 200,
    )


async def document(page: Page) -> Response:
    return await _document_page(page, int(page.request.path_params["id"]))


async def credit_note(page: Page) -> Response:
    """A credit note of an issued invoice: every line that is left, or the lines ticked (each by
    all that is left of it, or by the amount given in its price mode)."""
    document_id = int(page.request.path_params["id"])
    errors = FormErrors()
    reason = page.field("reason")
    scope = "some" if page.field("scope") == "some" else "all"
    values: dict[str, Any] = {"reason": reason, "scope": scope}
    if not reason:
        errors.fields["reason"] = page._("Say why the document is corrected.")
    selection: list[dict[str, Any]] | None = None
    if scope == "some":
        selection = []
        for key in page.form.keys() if page.form is not None else []:
            match = re.fullmatch(r"line_(\d{1,18})", key)
            if not match or not page.checked(key):
                continue
            values[key] = True
            values[f"amount_{match.group(1)}"] = page.field(f"amount_{match.group(1)}")
            amount = forms.parse_decimal(page, f"amount_{match.group(1)}", errors)
            selection.append(
                {"line": int(match.group(1)), "amount": str(amount) if amount is not None else None}
            )
        if not selection:
            errors.fields["lines"] = page._("Tick the lines to credit, or credit the whole document.")
    new_id = None
    if not errors:
        new_id, failed = await page.attempt(
            lambda: web.fetch_value(
                page.conn,
                "select billing.credit_note(%s, %s, %s)",
                [document_id, reason, Jsonb(selection) if selection is not None else None],
            )
        )
        forms.merge(errors, forms.rename(failed, {"document_id": "lines"}) if failed else None)
    if errors or new_id is None:
        return await _document_page(page, document_id, values=values, errors=errors)
    number = await web.fetch_value(page.conn, "select number from billing.documents where id = %s", [new_id])
    return web.redirect(f"/billing/documents/{new_id}", page._("Credit note {number} issued.", number=number))


# ---------------------------------------------------------------------------------------------
# Call record imports (BIL-3)

CDR_SQL = """
select i.id, i.operator_id, o.name as operator_name, i.file_name, i.time_zone, i.lines, i.calls, i.duplicates,
       i.bad_lines, i.first_call, i.last_call, i.os_user, i.db_role, i.imported_at, u.full_name
  from billing.cdr_imports i
  join crm.operators o on o.id = i.operator_id
  left join auth.users u on u.id = i.user_id
 where i.id < %(before)s
 order by i.id desc
 limit %(limit)s
"""


async def cdr_list(page: Page) -> Response:
    rows = await web.fetch_all(page.conn, CDR_SQL, {"before": _before(page.request), "limit": PAGE_SIZE + 1})
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return page.render("billing_cdr.html", {"imports": rows, "next_before": rows[-1]["id"] if more else None})


async def cdr_detail(page: Page) -> Response:
    import_id = int(page.request.path_params["id"])
    rows = await web.fetch_all(page.conn, CDR_SQL + "", {"before": import_id + 1, "limit": 1})
    if not rows or rows[0]["id"] != import_id:
        return forms.not_found(page, page._("This import does not exist."))
    bad = await web.fetch_all(
        page.conn,
        "select line_no, field, message, line from billing.cdr_import_errors where import_id = %s"
        " order by line_no limit 500",
        [import_id],
    )
    return page.render("billing_cdr_import.html", {"i": rows[0], "bad": bad})


# ---------------------------------------------------------------------------------------------
# The customer card's tabs: account (saldo), documents, uniCredit

ACCOUNT_SQL = """
select a.*, o.name as operator_name
  from billing.customer_account(%s) a join crm.operators o on o.id = a.operator_id
 order by o.name
"""

ENTRIES_SQL = """
select e.source, e.document_id, e.charge_id, e.kind, e.number, e.entry_date, e.due_date, e.amount, e.currency,
       e.amount > 0 and e.due_date < crm.business_date(e.operator_id) as past_due
  from billing.account_entries e
 where e.customer_id = %s
 order by e.entry_date desc nulls last, e.document_id desc nulls last, e.charge_id desc
 limit 100
"""

CHARGES_SQL = """
select c.id, c.kind, c.description, lower(c.covered) as covered_from, upper(c.covered) - 1 as covered_to,
       c.quantity, c.unit, c.amount_without_vat, c.vat_rate,
       c.amount_with_vat, c.currency, c.service_id, c.customer_id, c.payer_id, c.document_kind, c.corrects_id,
       d.id as document_id, d.number as document_number, d.state as document_state
  from (select c.*, o.currency from billing.charges c join crm.operators o on o.id = c.operator_id
         where c.customer_id = %(id)s or c.payer_id = %(id)s
         order by c.id desc limit 100) c
  left join lateral (select d.id, d.number, d.state from billing.document_lines l
                       join billing.documents d on d.id = l.document_id
                      where l.charge_id = c.id order by d.id limit 1) d on true
 order by c.id desc
"""

CUSTOMER_SERVICES_SQL = """
select s.id, p.name as product, t.name as tariff, s.state
  from crm.services s
  join catalog.products p on p.id = s.product_id
  left join catalog.tariffs t on t.id = crm.current_tariff(s.id, crm.business_date(s.operator_id))
 where s.customer_id = %s and s.state <> 'ended'
 order by s.id
"""

DOCUMENTS_SQL = """
select d.id, d.kind, d.state, d.number, d.issue_date, d.tax_point, d.due_date, lower(d.period) as period_from,
       upper(d.period) - 1 as period_to, d.total_without_vat,
       d.total_vat, d.total_with_vat, d.amount_due, d.currency, d.original_id, d.run_id,
       d.state = 'issued' and d.amount_due > 0 and d.due_date < crm.business_date(d.operator_id) as past_due
  from billing.documents d
 where d.customer_id = %(id)s and d.id < %(before)s
 order by d.id desc
 limit %(limit)s
"""

CREDIT_ACCOUNTS_SQL = """
select a.id, a.operator_id, o.name as operator_name, o.currency, a.kind, a.free, a.reserved, a.total,
       a.last_top_up_at, a.last_spent_at
  from billing.credit_accounts a join crm.operators o on o.id = a.operator_id
 where a.customer_id = %s
 order by o.name, a.kind
"""

CREDIT_MOVEMENTS_SQL = """
select h.* from billing.credit_history(%s) h order by h.movement_id desc limit 200
"""


def card_tabs(view_endpoint: Any) -> Any:
    """The card's endpoint: the billing tabs (``?tab=saldo|documents|credit``) are pages of their
    own queries in one transaction; every other tab is the card's one statement."""
    billing_tab = web.staff_page(customer_tab)

    async def endpoint(request: Request) -> Response:
        if request.query_params.get("tab") in CARD_TABS:
            return await billing_tab(request)
        response: Response = await view_endpoint(request)
        return response

    return endpoint


async def customer_tab(
    page: Page,
    *,
    tab: str | None = None,
    form: str = "",
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
) -> Response:
    customer_id = int(page.request.path_params["id"])
    tab = tab or page.request.query_params.get("tab", "saldo")
    card = await web.fetch_value(page.conn, "select crm.customer_card(%s, 'notes')", [customer_id])
    if card is None:
        return forms.not_found(page, page._("This customer does not exist."))
    context: dict[str, Any] = {
        "c": card["customer"],
        "tab": tab,
        "tabs": customers.TABS,
        "rows": [],
        "form": form,
        "values": values or {},
        "errors": errors or FormErrors(),
        "target": None,
        "may": await _may(page),
    }
    if tab == "saldo":
        context["accounts"] = await web.fetch_all(page.conn, ACCOUNT_SQL, [customer_id])
        context["entries"] = await web.fetch_all(page.conn, ENTRIES_SQL, [customer_id])
        context["charges"] = await web.fetch_all(page.conn, CHARGES_SQL, {"id": customer_id})
        context["services"] = await web.fetch_all(page.conn, CUSTOMER_SERVICES_SQL, [customer_id])
    elif tab == "documents":
        rows = await web.fetch_all(
            page.conn,
            DOCUMENTS_SQL,
            {"id": customer_id, "before": _before(page.request), "limit": PAGE_SIZE + 1},
        )
        context["documents"] = rows[:PAGE_SIZE]
        context["next_before"] = rows[PAGE_SIZE - 1]["id"] if len(rows) > PAGE_SIZE else None
    else:
        context["credit_accounts"] = await web.fetch_all(page.conn, CREDIT_ACCOUNTS_SQL, [customer_id])
        context["movements"] = await web.fetch_all(page.conn, CREDIT_MOVEMENTS_SQL, [customer_id])
        context["operators"] = await web.fetch_all(page.conn, OPERATORS_SQL)
    return page.render("customers_card.html", context, status_code=422 if errors else 200)


CHARGE_KINDS = ("one_time", "manual", "discount", "reconnection")


async def charge_add(page: Page) -> Response:
    """A one-time (or manual, discount, reconnection) charge on a service: the next run bills it."""
    customer_id = int(page.request.path_params["id"])
    errors = FormErrors()
    values: dict[str, Any] = {
        k: page.field(k)
        for k in ("service_id", "kind", "description", "amount", "on", "quantity", "unit", "note")
    }
    service_id = forms.parse_int(page, "service_id", errors, required=True)
    amount = forms.parse_decimal(page, "amount", errors, required=True)
    on = forms.parse_date(page, "on", errors)
    if not values["description"]:
        errors.fields["description"] = page._("This field is required.")
    options: dict[str, Any] = {}
    if values["quantity"]:
        quantity = forms.parse_decimal(page, "quantity", errors)
        options["quantity"] = str(quantity) if quantity is not None else None
    for k in ("unit", "note"):
        if values[k]:
            options[k] = values[k]
    if service_id is not None and not errors:
        owner = await web.fetch_value(
            page.conn, "select customer_id from crm.services where id = %s", [service_id]
        )
        if owner != customer_id:
            errors.fields["service_id"] = page._("This service is not the customer's.")
    if not errors:
        _, failed = await page.attempt(
            lambda: page.conn.execute(
                "select billing.add_charge(%s, %s, %s, %s, %s, %s)",
                [service_id, values["kind"] or "one_time", values["description"], amount, on, Jsonb(options)],
            )
        )
        forms.merge(errors, forms.rename(failed, {"p_amount": "amount"}) if failed else None)
    if errors:
        return await customer_tab(page, tab="saldo", form="charge", values=values, errors=errors)
    return web.redirect(
        f"/customers/{customer_id}?tab=saldo",
        page._("Charge added: the next billing run puts it on a document."),
    )


async def top_up(page: Page) -> Response:
    """Cash paid at the desk into the customer's uniCredit money account."""
    customer_id = int(page.request.path_params["id"])
    errors = FormErrors()
    values = {k: page.field(k) for k in ("amount", "reference", "operator_id")}
    amount = forms.parse_decimal(page, "amount", errors, required=True)
    operator = forms.parse_int(page, "operator_id", errors)
    if not errors:
        _, failed = await page.attempt(
            lambda: page.conn.execute(
                "select billing.top_up_cash(%s, %s, %s, %s)",
                [customer_id, amount, values["reference"] or None, operator],
            )
        )
        forms.merge(
            errors,
            forms.rename(failed, {"customer_id": "amount", "operator": "operator_id"}) if failed else None,
        )
    if errors:
        return await customer_tab(page, tab="credit", form="top_up", values=values, errors=errors)
    return web.redirect(f"/customers/{customer_id}?tab=credit", page._("Credit topped up."))

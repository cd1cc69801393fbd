"""Lawful requests (DR-4): the cases of authorised officers, queries by IP address (and port) and
time window or by customer and period, their kept answers (subscribers, NAT translations, flows)
and CSV exports for the hand-over.

Only users with the flow role get anywhere: the flow schema is closed to every other role, so the
first query of each page raises a permission error and the user sees "not allowed". Every case
change, query and export is a row written by the database functions (flow.open_case,
flow.run_address_query, flow.export_query, …) and goes to the audit history.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from datetime import date, datetime, timedelta
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from webclient import i18n, web
from webclient.staff import forms
from webclient.staff.retention import period_text
from webclient.web import FormErrors, Page

PROTOCOLS = {1: "ICMP", 6: "TCP", 17: "UDP", 47: "GRE", 50: "ESP", 58: "ICMPv6"}
FLOWS_SHOWN = 1000
CASE_FIELDS = ("reference", "requesting_body", "legal_basis", "received_on", "deadline", "note")

CASES_SQL = """
select c.id, c.reference, c.requesting_body, c.legal_basis, c.received_on, c.deadline, c.state, c.outcome,
       u.full_name as officer,
       (select count(*) from flow.lawful_queries q where q.case_id = c.id) as queries,
       (select max(q.run_at) from flow.lawful_queries q where q.case_id = c.id) as last_query
  from flow.lawful_cases c
  join auth.users u on u.id = c.officer_id
 where %(state)s = 'all' or c.state = %(state)s
 order by c.state = 'open' desc, c.deadline nulls last, c.received_on desc, c.id desc
 limit 500
"""

CASE_SQL = """
select c.id, c.reference, c.requesting_body, c.legal_basis, c.received_on, c.deadline, c.state, c.outcome,
       c.closed_at, c.note, c.created_at, c.updated_at, u.full_name as officer
  from flow.lawful_cases c
  join auth.users u on u.id = c.officer_id
 where c.id = %s
"""

QUERIES_SQL = """
select q.id, q.kind, q.address, q.port, q.customer_id, cu.customer_no, crm.customer_name(cu) as customer_name,
       lower(q.period) as period_from, upper(q.period) as period_to, q.run_at, u.full_name as run_by,
       q.subscriber_rows, q.nat_rows, q.flow_rows, q.flows_truncated, lower(q.period) < q.retained_from as before_retention,
       (select count(*) from flow.lawful_exports e where e.query_id = q.id) as exports
  from flow.lawful_queries q
  join auth.users u on u.id = q.run_by
  left join crm.customers cu on cu.id = q.customer_id
 where q.case_id = %s
 order by q.id desc
"""

QUERY_SQL = """
select q.id, q.case_id, q.kind, q.address, q.port, q.customer_id, cu.customer_no, crm.customer_name(cu) as customer_name,
       lower(q.period) as period_from, upper(q.period) as period_to, q.flow_limit, q.run_at, u.full_name as run_by,
       extract(year from q.retention)::integer * 12 + extract(month from q.retention)::integer as retention_months,
       extract(day from q.retention)::integer as retention_days, q.retained_from,
       lower(q.period) < q.retained_from as before_retention,
       upper(q.period) <= q.retained_from as all_before_retention,
       q.subscriber_rows, q.nat_rows, q.flow_rows, q.flows_truncated,
       c.reference, c.requesting_body, c.state as case_state
  from flow.lawful_queries q
  join flow.lawful_cases c on c.id = q.case_id
  join auth.users u on u.id = q.run_by
  left join crm.customers cu on cu.id = q.customer_id
 where q.id = %s
"""

SUBSCRIBERS_SQL = """
select r.position, x.*
  from flow.lawful_results r
 cross join lateral jsonb_to_record(r.data) as x (
   source text, connection_type text, customer_id bigint, customer_no text, customer_name text, contract_no text,
   service_id bigint, service_name text, mac text, connection_start timestamptz, connection_end timestamptz,
   access_point_id bigint, access_point text, access_point_site text, device_id bigint, device_name text,
   ip_address inet, port integer, private_ip inet, private_port integer, public_ip inet, public_port_first integer,
   public_port_last integer, protocol smallint, nat_start timestamptz, nat_end timestamptz)
 where r.query_id = %s and r.part = 'subscribers'
 order by r.position
"""

FLOWS_SQL = """
select r.position, x.*
  from flow.lawful_results r
 cross join lateral jsonb_to_record(r.data) as x (
   flow_start timestamptz, flow_end timestamptz, direction text, exporter inet, protocol smallint, src_addr inet,
   src_port integer, dst_addr inet, dst_port integer, bytes bigint, packets bigint, sampling integer)
 where r.query_id = %s and r.part = 'flows'
 order by r.position
 limit %s
"""

EXPORTS_SQL = """
select e.id, e.part, e.format, e.row_count, e.sha256, e.exported_at, u.full_name as exported_by
  from flow.lawful_exports e
  join auth.users u on u.id = e.exported_by
 where e.query_id = %s
 order by e.id desc
"""


def routes() -> list[Route]:
    page = web.staff_page
    post = ["POST"]
    return [
        Route("/lawful", page(case_list)),
        Route("/lawful/new", page(case_new), methods=["GET", "POST"]),
        Route("/lawful/{id:int}", page(case_detail)),
        Route("/lawful/{id:int}", page(case_edit), methods=post),
        Route("/lawful/{id:int}/close", page(case_close), methods=post),
        Route("/lawful/{id:int}/reopen", page(case_reopen), methods=post),
        Route("/lawful/{id:int}/queries", page(query_run), methods=post),
        Route("/lawful/queries/{qid:int}", page(query_result)),
        Route("/lawful/queries/{qid:int}/export", page(query_export), methods=post),
    ]


def _today() -> date:
    return datetime.now(i18n.timezone()).date()


def _date_or_none(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _datetime_or_none(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=i18n.timezone())
    return value


def _local_input(value: datetime) -> str:
    """A moment as the value of a datetime-local field (local time, minutes)."""
    return value.astimezone(i18n.timezone()).strftime("%Y-%m-%dT%H:%M")


# ---------------------------------------------------------------------------------------------
# Cases


async def case_list(page: Page) -> Response:
    state = page.request.query_params.get("state", "open")
    if state not in (*web.RULES.choices("flow.lawful_cases.state"), "all"):
        state = "open"
    cases = await web.fetch_all(page.conn, CASES_SQL, {"state": state})
    return page.render("lawful_list.html", {"cases": cases, "state": state, "today": _today()})


def _case_values(page: Page) -> tuple[dict[str, Any], FormErrors]:
    values: dict[str, Any] = {f: page.field(f) for f in CASE_FIELDS}
    errors = FormErrors()
    for name in ("received_on", "deadline"):
        if values[name] and _date_or_none(values[name]) is None:
            errors.fields[name] = page._("This is not a date.")
    return values, errors


async def _save_case(
    page: Page, values: dict[str, Any], case_id: int | None
) -> tuple[Any, FormErrors | None]:
    params = [
        values["reference"],
        values["requesting_body"],
        values["legal_basis"],
        _date_or_none(values["received_on"]),
        _date_or_none(values["deadline"]),
        values["note"],
    ]
    if case_id is None:
        return await page.attempt(
            lambda: web.fetch_value(page.conn, "select flow.open_case(%s, %s, %s, %s, %s, %s)", params)
        )
    return await page.attempt(
        lambda: web.fetch_value(
            page.conn, "select flow.update_case(%s, %s, %s, %s, %s, %s, %s)", [case_id, *params]
        )
    )


async def case_new(page: Page) -> Response:
    values: dict[str, Any] = {"received_on": _today().isoformat()}
    errors = FormErrors()
    if page.form is not None:
        values, errors = _case_values(page)
        if not errors:
            new_id, failed = await _save_case(page, values, None)
            if failed is None:
                return web.redirect(
                    f"/lawful/{new_id}", page._("Case {ref} opened.", ref=values["reference"])
                )
            errors = failed
    else:
        # Reading the cases is what needs the flow role: everyone else gets "not allowed" here.
        await page.conn.execute("select 1 from flow.lawful_cases limit 1")
    return page.render(
        "lawful_new.html", {"values": values, "errors": errors}, status_code=422 if errors else 200
    )


async def _case_page(page: Page, case_id: int, **given: Any) -> Response:
    case = await web.fetch_one(page.conn, CASE_SQL, [case_id])
    if case is None:
        return forms.not_found(page, page._("This case does not exist."))
    limits = await web.fetch_one(page.conn, "select * from flow.query_limits()")
    default_limit = limits["default_flow_limit"] if limits else ""
    now = datetime.now(i18n.timezone())
    context: dict[str, Any] = {
        "case": case,
        "queries": await web.fetch_all(page.conn, QUERIES_SQL, [case_id]),
        "values": {
            **{f: case[f] for f in CASE_FIELDS},
            "received_on": case["received_on"].isoformat(),
            "deadline": case["deadline"].isoformat() if case["deadline"] else "",
            "note": case["note"] or "",
        },
        "errors": FormErrors(),
        "address": {
            "period_from": _local_input(now - timedelta(hours=1)),
            "period_to": _local_input(now),
            "flow_limit": default_limit,
        },
        "address_errors": FormErrors(),
        "customer": {
            "period_from": (_today() - timedelta(days=30)).isoformat(),
            "period_to": _today().isoformat(),
            "flow_limit": default_limit,
        },
        "customer_errors": FormErrors(),
        "close_errors": FormErrors(),
        "kind": "address",
        "today": _today(),
        "max_flow_limit": limits["max_flow_limit"] if limits else None,
    }
    context.update({k: v for k, v in given.items() if v is not None})
    failed = any(isinstance(v, FormErrors) and v for v in given.values())
    return page.render("lawful_case.html", context, status_code=422 if failed else 200)


async def case_detail(page: Page) -> Response:
    return await _case_page(page, int(page.request.path_params["id"]))


async def case_edit(page: Page) -> Response:
    case_id = int(page.request.path_params["id"])
    values, errors = _case_values(page)
    if not errors:
        _, failed = await _save_case(page, values, case_id)
        if failed is None:
            return web.redirect(f"/lawful/{case_id}", page._("Changes saved."))
        errors = failed
    return await _case_page(page, case_id, values=values, errors=errors)


async def case_close(page: Page) -> Response:
    case_id = int(page.request.path_params["id"])
    outcome = page.field("outcome")
    _, failed = await page.attempt(
        lambda: page.conn.execute(
            "select flow.close_case(%s, %s, %s)", [case_id, outcome or None, page.field("close_note") or None]
        )
    )
    if failed is None:
        return web.redirect(f"/lawful/{case_id}", page._("The case is closed."))
    return await _case_page(page, case_id, close_errors=failed)


async def case_reopen(page: Page) -> Response:
    case_id = int(page.request.path_params["id"])
    _, failed = await page.attempt(lambda: page.conn.execute("select flow.reopen_case(%s)", [case_id]))
    if failed is not None:
        return web.redirect(f"/lawful/{case_id}", " ".join(failed.general or list(failed.fields.values())))
    return web.redirect(f"/lawful/{case_id}", page._("The case is open again."))


# ---------------------------------------------------------------------------------------------
# Queries


def _flow_limit(page: Page, errors: FormErrors) -> int | None:
    """The limit of flow records typed, or None for the database's default (flow.query_limits),
    which also checks its range."""
    return forms.parse_int(page, "flow_limit", errors)


async def _address_query(page: Page, case_id: int) -> Response:
    values = {f: page.field(f) for f in ("address", "port", "period_from", "period_to", "flow_limit")}
    errors = FormErrors()
    address: str | None = None
    try:
        address = str(ipaddress.ip_interface(values["address"]).network) if "/" in values["address"] else None
        if address is None:
            address = str(ipaddress.ip_address(values["address"]))
    except ValueError:
        errors.fields["address"] = page._("This is not an IP address.")
    port: int | None = None
    if values["port"]:
        if values["port"].isdigit() and int(values["port"]) <= 65535:
            port = int(values["port"])
        else:
            errors.fields["port"] = page._("A port is a whole number from 0 to 65535.")
    start = _datetime_or_none(values["period_from"])
    end = _datetime_or_none(values["period_to"])
    if start is None:
        errors.fields["period_from"] = page._("This is not a date and time.")
    if end is None:
        errors.fields["period_to"] = page._("This is not a date and time.")
    elif start is not None and end <= start:
        errors.fields["period_to"] = page._("The end must be after the start.")
    limit = _flow_limit(page, errors)
    if not errors:
        query_id, failed = await page.attempt(
            lambda: web.fetch_value(
                page.conn,
                "select flow.run_address_query(%s, %s::inet, %s, tstzrange(%s, %s), %s)",
                [case_id, address, port, start, end, limit],
            )
        )
        if failed is None:
            return web.redirect(f"/lawful/queries/{query_id}", page._("The query is answered and kept."))
        errors = forms.rename(failed, {"period": "period_to"})
    return await _case_page(page, case_id, address=values, address_errors=errors, kind="address")


async def _customer_query(page: Page, case_id: int) -> Response:
    values = {f: page.field(f) for f in ("customer", "period_from", "period_to", "flow_limit")}
    errors = FormErrors()
    customer_id: int | None = None
    if not values["customer"]:
        errors.fields["customer"] = page._("Give the customer number or variable symbol.")
    else:
        customer_id = await forms.find_customer(page, values["customer"])
        if customer_id is None:
            errors.fields["customer"] = page._("There is no customer with this number.")
    start = _date_or_none(values["period_from"])
    end = _date_or_none(values["period_to"])
    if start is None:
        errors.fields["period_from"] = page._("This is not a date.")
    if end is None:
        errors.fields["period_to"] = page._("This is not a date.")
    limit = _flow_limit(page, errors)
    if not errors:
        # Whole days in the operator's time zone, first to last: the database makes the period.
        query_id, failed = await page.attempt(
            lambda: web.fetch_value(
                page.conn,
                "select flow.run_customer_query(%s, %s, %s::date, %s::date, %s)",
                [case_id, customer_id, start, end, limit],
            )
        )
        if failed is None:
            return web.redirect(f"/lawful/queries/{query_id}", page._("The query is answered and kept."))
        errors = forms.rename(failed, {"period": "period_to"})
    return await _case_page(page, case_id, customer=values, customer_errors=errors, kind="customer")


async def query_run(page: Page) -> Response:
    case_id = int(page.request.path_params["id"])
    if page.field("kind") == "customer":
        return await _customer_query(page, case_id)
    return await _address_query(page, case_id)


def _protocol(value: int | None) -> str:
    if value is None:
        return ""
    return PROTOCOLS.get(value, str(value))


def _ports(first: int | None, last: int | None) -> str:
    if first is None:
        return ""
    return str(first) if first == last else f"{first}–{last}"


async def query_result(page: Page) -> Response:
    query_id = int(page.request.path_params["qid"])
    query = await web.fetch_one(page.conn, QUERY_SQL, [query_id])
    if query is None:
        return forms.not_found(page, page._("This query does not exist."))
    rows = await web.fetch_all(page.conn, SUBSCRIBERS_SQL, [query_id])
    for row in rows:
        row["protocol_name"] = _protocol(row["protocol"])
        row["ports"] = _ports(row["public_port_first"], row["public_port_last"])
    flows = await web.fetch_all(page.conn, FLOWS_SQL, [query_id, FLOWS_SHOWN])
    for row in flows:
        row["protocol_name"] = _protocol(row["protocol"])
    return page.render(
        "lawful_result.html",
        {
            "q": query,
            "retention": period_text(page, query["retention_months"], query["retention_days"]),
            "holders": [r for r in rows if r["source"] == "assignment"],
            "translations": [r for r in rows if r["source"] == "nat"],
            "flows": flows,
            "flows_shown": FLOWS_SHOWN,
            "exports": await web.fetch_all(page.conn, EXPORTS_SQL, [query_id]),
            "parts": web.RULES.choices("flow.lawful_exports.part"),
        },
    )


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-")[:60] or "case"


async def query_export(page: Page) -> Response:
    """The CSV file of one part of the kept answer, recorded by the database with its SHA-256."""
    query_id = int(page.request.path_params["qid"])
    part = page.field("part")
    if part not in web.RULES.choices("flow.lawful_exports.part"):
        return web.redirect(f"/lawful/queries/{query_id}", page._("Choose what to export."))
    query = await web.fetch_one(page.conn, QUERY_SQL, [query_id])
    if query is None:
        return forms.not_found(page, page._("This query does not exist."))
    cur = await page.conn.execute(
        "select line from flow.export_query(%s, %s) order by line_no", [query_id, part]
    )
    lines = [row[0] for row in await cur.fetchall()]
    body = "".join(line + "\r\n" for line in lines).encode("utf-8")
    filename = f"{_slug(query['reference'])}-q{query_id}-{part}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )

"""Operators (PLT-1): company data, bank accounts and number series. Administrators edit them
(billing staff also manage bank accounts); everyone else reads. The database enforces it."""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from webclient import web
from webclient.staff import forms
from webclient.web import FormErrors, Page

OPERATOR_FIELDS = (
    "code",
    "name",
    "ico",
    "dic",
    "street",
    "city",
    "zip",
    "country",
    "email",
    "phone",
    "web",
    "currency",
    "registration",
)

LIST_SQL = """
select o.id, o.code, o.name, o.ico, o.dic, o.city, o.vat_payer, o.active, o.currency,
       (select count(*) from payment.bank_accounts b where b.operator_id = o.id) as accounts,
       (select count(*) from crm.number_series s where s.operator_id = o.id) as series
  from crm.operators o
 order by o.active desc, o.name
"""

OPERATOR_SQL = "select * from crm.operators where id = %s"

ACCOUNTS_SQL = """
select id, name, account_prefix, account_number, bank_code, iban, bic, currency, is_default, active
  from payment.bank_accounts
 where operator_id = %s
 order by is_default desc, name, id
"""

SERIES_SQL = """
select s.id, s.kind, s.format, s.yearly, s.start_value, s.description, crm.peek_number(s.id) as next_number
  from crm.number_series s
 where s.operator_id = %s
 order by s.kind
"""

INSERT_SQL = """
insert into crm.operators (code, name, ico, dic, vat_payer, street, city, zip, country, email, phone, web,
                           currency, registration, active)
values (%(code)s, %(name)s, %(ico)s, %(dic)s, %(vat_payer)s, %(street)s, %(city)s, %(zip)s, %(country)s,
        %(email)s, %(phone)s, %(web)s, %(currency)s, %(registration)s, %(active)s)
returning id
"""

UPDATE_SQL = """
update crm.operators
   set code = %(code)s, name = %(name)s, ico = %(ico)s, dic = %(dic)s, vat_payer = %(vat_payer)s,
       street = %(street)s, city = %(city)s, zip = %(zip)s, country = %(country)s, email = %(email)s,
       phone = %(phone)s, web = %(web)s, currency = %(currency)s, registration = %(registration)s,
       active = %(active)s
 where id = %(id)s
"""


async def operator_list(page: Page) -> Response:
    return page.render("operators_list.html", {"operators": await web.fetch_all(page.conn, LIST_SQL)})


def _operator_values(page: Page) -> dict[str, Any]:
    values: dict[str, Any] = {f: page.field(f) or None for f in OPERATOR_FIELDS}
    values["country"] = (values["country"] or "CZ").upper()
    values["currency"] = (values["currency"] or "CZK").upper()
    values["vat_payer"] = page.checked("vat_payer")
    values["active"] = page.checked("active")
    return values


async def operator_new(page: Page) -> Response:
    values: dict[str, Any] = {"country": "CZ", "currency": "CZK", "vat_payer": True, "active": True}
    errors = FormErrors()
    if page.form is not None:
        values = _operator_values(page)
        new_id, failed = await page.attempt(lambda: web.fetch_value(page.conn, INSERT_SQL, values))
        if failed is None:
            return web.redirect(
                f"/operators/{new_id}", page._("Operator {name} created.", name=values["name"])
            )
        errors = failed
    return page.render(
        "operators_new.html", {"values": values, "errors": errors}, status_code=422 if errors else 200
    )


async def _detail(
    page: Page,
    operator_id: int,
    *,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    account: dict[str, Any] | None = None,
    account_errors: FormErrors | None = None,
    series: dict[str, Any] | None = None,
    series_errors: FormErrors | None = None,
) -> Response:
    operator = await web.fetch_one(page.conn, OPERATOR_SQL, [operator_id])
    if operator is None:
        return page.render(
            "error.html",
            {
                "status": 404,
                "title": page._("Page not found"),
                "message": page._("This operator does not exist."),
            },
            404,
        )
    failed = bool(errors or account_errors or series_errors)
    return page.render(
        "operators_detail.html",
        {
            "operator": operator,
            "values": values or operator,
            "errors": errors or FormErrors(),
            "accounts": await web.fetch_all(page.conn, ACCOUNTS_SQL, [operator_id]),
            "account": account or {"currency": operator["currency"]},
            "account_errors": account_errors or FormErrors(),
            "series_list": await web.fetch_all(page.conn, SERIES_SQL, [operator_id]),
            "series": series or {"yearly": True, "start_value": 1},
            "series_errors": series_errors or FormErrors(),
        },
        status_code=422 if failed else 200,
    )


async def operator_detail(page: Page) -> Response:
    operator_id = int(page.request.path_params["id"])
    if page.form is None:
        return await _detail(page, operator_id)
    values = {**_operator_values(page), "id": operator_id}
    _, failed = await page.attempt(lambda: page.conn.execute(UPDATE_SQL, values))
    if failed is None:
        return web.redirect(f"/operators/{operator_id}", page._("Changes saved."))
    return await _detail(page, operator_id, values=values, errors=failed)


ACCOUNT_RE = re.compile(r"^(?:(\d{1,6})-)?(\d{2,10})/(\d{4})$")

INSERT_ACCOUNT_SQL = """
insert into payment.bank_accounts (operator_id, name, account_prefix, account_number, bank_code, iban, bic,
                                   currency, is_default)
values (%(operator_id)s, %(name)s, %(account_prefix)s, %(account_number)s, %(bank_code)s, %(iban)s, %(bic)s,
        %(currency)s, %(is_default)s)
"""


async def account_add(page: Page) -> Response:
    operator_id = int(page.request.path_params["id"])
    account: dict[str, Any] = {
        "operator_id": operator_id,
        "name": page.field("name") or None,
        "account_prefix": page.field("account_prefix") or None,
        "account_number": re.sub(r"\s", "", page.field("account_number")) or None,
        "bank_code": page.field("bank_code") or None,
        "iban": page.field("iban").replace(" ", "").upper() or None,
        "bic": page.field("bic").replace(" ", "").upper() or None,
        "currency": (page.field("currency") or "CZK").upper(),
        "is_default": page.checked("is_default"),
    }
    # "19-2000145399/0800" typed into the number field: split it.
    whole = ACCOUNT_RE.match(account["account_number"] or "")
    if whole:
        account["account_prefix"] = whole.group(1) or account["account_prefix"]
        account["account_number"] = whole.group(2)
        account["bank_code"] = whole.group(3)
    _, failed = await page.attempt(lambda: page.conn.execute(INSERT_ACCOUNT_SQL, account))
    if failed is None:
        return web.redirect(f"/operators/{operator_id}#accounts", page._("Bank account added."))
    return await _detail(page, operator_id, account=account, account_errors=failed)


INSERT_SERIES_SQL = """
insert into crm.number_series (operator_id, kind, format, yearly, start_value, description)
values (%(operator_id)s, %(kind)s, %(format)s, %(yearly)s, %(start_value)s, %(description)s)
"""

UPDATE_SERIES_SQL = """
update crm.number_series
   set format = %(format)s, yearly = %(yearly)s, start_value = %(start_value)s, description = %(description)s
 where id = %(id)s and operator_id = %(operator_id)s
"""


def _series_values(page: Page, operator_id: int) -> dict[str, Any]:
    start = page.field("start_value")
    return {
        "operator_id": operator_id,
        "kind": page.field("kind").lower() or None,
        "format": page.field("format") or None,
        "yearly": page.checked("yearly"),
        "start_value": int(start) if start.isdigit() else start or None,
        "description": page.field("description") or None,
    }


async def series_add(page: Page) -> Response:
    operator_id = int(page.request.path_params["id"])
    series = _series_values(page, operator_id)
    # A start that is not a number: the only value of the form the database reads as one.
    _, failed = await forms.attempt(page, lambda: page.conn.execute(INSERT_SERIES_SQL, series), "start_value")
    if failed is None:
        return web.redirect(f"/operators/{operator_id}#series", page._("Number series added."))
    return await _detail(page, operator_id, series=series, series_errors=failed)


async def series_edit(page: Page) -> Response:
    operator_id = int(page.request.path_params["id"])
    series_id = int(page.request.path_params["sid"])
    current = await web.fetch_one(
        page.conn,
        "select s.*, o.name as operator_name from crm.number_series s join crm.operators o on o.id = s.operator_id"
        " where s.id = %s and s.operator_id = %s",
        [series_id, operator_id],
    )
    if current is None:
        return page.render(
            "error.html",
            {
                "status": 404,
                "title": page._("Page not found"),
                "message": page._("This number series does not exist."),
            },
            404,
        )
    errors = FormErrors()
    values: dict[str, Any] = dict(current)
    if page.form is not None:
        values = {**current, **_series_values(page, operator_id), "id": series_id, "kind": current["kind"]}
        _, failed = await forms.attempt(
            page, lambda: page.conn.execute(UPDATE_SERIES_SQL, values), "start_value"
        )
        if failed is None:
            return web.redirect(f"/operators/{operator_id}#series", page._("Changes saved."))
        errors = failed
    return page.render(
        "series_form.html",
        {"values": values, "current": current, "errors": errors},
        status_code=422 if errors else 200,
    )

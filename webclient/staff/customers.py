"""Customers (CRM-1…6, RPT-3): the list with instant search, the new-customer form and the
customer card with its tabs. Support, sales and billing change customers; the database decides.

The card is ONE function, ``crm.customer_card``: the customer, the counts of each tab and the open
tab's rows come back as JSON (dates as ISO text, shown with the ``value`` filter). Viewing a card is
one statement (``web.staff_view``); a form that fails shows the card again from its transaction.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from webclient import i18n, web
from webclient.staff import forms
from webclient.staff.forms import collect
from webclient.web import FormErrors, Page, View

PAGE_SIZE = 50
TABS = ("services", "details", "places", "contacts", "contracts", "orders", "notes", "history")

CUSTOMER_FIELDS = (
    "kind",
    "first_name",
    "last_name",
    "company_name",
    "ico",
    "dic",
    "street",
    "house_no",
    "city",
    "zip",
    "country",
    "language",
    "note",
)

# ---------------------------------------------------------------------------------------------
# The list

PARAM_DEFS_SQL = """
select id, code, name, type, choices, required, pattern, min_value, max_value, unit, show_in_lists, class_id
  from crm.parameter_definitions
 where entity = %s and active
 order by position, name
"""

LIST_SQL = """
select f.id, f.customer_no, f.vs, f.name, f.kind, f.city, f.street, f.state, f.sort_name,
       (select jsonb_object_agg(p.code, p.value) from crm.parameters p
         where p.entity = 'customer' and p.entity_id = f.id and p.show_in_lists) as params,
       (select k.value from crm.contacts k where k.customer_id = f.id and k.kind = 'phone'
         order by k.is_primary desc, k.id limit 1) as phone
  from crm.search_customers(%(q)s, %(after_name)s, %(after_id)s, %(limit)s, %(ended)s) f
 order by f.sort_name, f.id
"""

# The same search limited to customers whose parameter has a value (RPT-3 filter); served by
# parameter_values (definition_id, value) and the sort index.
LIST_BY_PARAM_SQL = """
select c.id, c.customer_no, c.vs, crm.customer_name(c) as name, c.kind, c.city,
       concat_ws(' ', c.street, c.house_no) as street, c.state, s.sort_name,
       (select jsonb_object_agg(p.code, p.value) from crm.parameters p
         where p.entity = 'customer' and p.entity_id = c.id and p.show_in_lists) as params,
       (select k.value from crm.contacts k where k.customer_id = c.id and k.kind = 'phone'
         order by k.is_primary desc, k.id limit 1) as phone
  from crm.parameter_values v
  join crm.customers c on c.id = v.entity_id
  join crm.customer_search s on s.customer_id = c.id
 where v.definition_id = %(definition_id)s and v.value = %(value)s
   and (select bool_and(s.search_text like '%%' || w || '%%')
          from unnest(regexp_split_to_array(crm.fold(btrim(%(q)s)), '\\s+')) w)
   and (%(ended)s or c.state <> 'ended')
   and (%(after_name)s::text is null or (s.sort_name, s.customer_id) > (%(after_name)s, %(after_id)s))
 order by s.sort_name, s.customer_id
 limit %(limit)s
"""


async def _list_context(page: Page) -> dict[str, Any]:
    qp = page.request.query_params
    q = qp.get("q", "").strip()[:200]
    ended = qp.get("ended") == "1"
    after_id = qp.get("after_id", "")
    after = (
        (qp.get("after_name"), int(after_id)) if after_id.isdigit() and qp.get("after_name") else (None, None)
    )
    defs = await web.fetch_all(page.conn, PARAM_DEFS_SQL, ["customer"])
    pcode, pvalue = qp.get("param", ""), qp.get("pval", "").strip()
    pdef = next((d for d in defs if d["code"] == pcode), None)
    params = {"q": q, "ended": ended, "after_name": after[0], "after_id": after[1], "limit": PAGE_SIZE + 1}
    if pdef and pvalue:
        if pdef["type"] == "boolean":
            pvalue = "true" if pvalue.lower() in ("1", "true", "on", "yes", "ano") else "false"
        rows = await web.fetch_all(
            page.conn, LIST_BY_PARAM_SQL, {**params, "definition_id": pdef["id"], "value": pvalue}
        )
    else:
        rows = await web.fetch_all(page.conn, LIST_SQL, params)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return {
        "customers": rows,
        "columns": [d for d in defs if d["show_in_lists"]],
        "param_defs": defs,
        "filter": {"q": q, "ended": ended, "param": pcode if pdef else "", "pval": pvalue if pdef else ""},
        "next": rows[-1] if more else None,
        "paged": after[0] is not None,
    }


async def customer_list(page: Page) -> Response:
    return page.render("customers_list.html", await _list_context(page))


async def customer_rows(page: Page) -> Response:
    """The table body alone: what the search box fetches while the user types."""
    return page.render("customers_rows.html", await _list_context(page))


# ---------------------------------------------------------------------------------------------
# New customer

OPERATORS_SQL = "select id, name, currency from crm.operators where active order by name"

INSERT_SQL = """
insert into crm.customers (operator_id, kind, first_name, last_name, company_name, ico, dic, birth_date,
                           street, house_no, city, zip, country, language, note)
values (%(operator_id)s, %(kind)s, %(first_name)s, %(last_name)s, %(company_name)s, %(ico)s, %(dic)s,
        %(birth_date)s, %(street)s, %(house_no)s, %(city)s, %(zip)s, %(country)s, %(language)s, %(note)s)
returning id
"""

INSERT_CONTACT_SQL = """
insert into crm.contacts (customer_id, kind, value, label, is_primary)
values (%(customer_id)s, %(kind)s, %(value)s, %(label)s, %(is_primary)s)
"""


def _customer_values(page: Page, errors: FormErrors) -> dict[str, Any]:
    values: dict[str, Any] = {f: forms.text(page, f) for f in CUSTOMER_FIELDS}
    for name in ("kind", "country", "language"):  # empty: the column's default
        values[name] = values[name] or web.RULES.default(f"crm.customers.{name}")
    values["country"] = (values["country"] or "").upper() or None
    values["birth_date"] = forms.parse_date(page, "birth_date", errors)
    return values


async def customer_new(page: Page) -> Response:
    operators = await web.fetch_all(page.conn, OPERATORS_SQL)
    values: dict[str, Any] = {"kind": "person", "country": "CZ", "language": "cs"}
    if len(operators) == 1:
        values["operator_id"] = operators[0]["id"]
    errors = FormErrors()
    if page.form is not None:
        values = _customer_values(page, errors)
        values["operator_id"] = forms.parse_int(page, "operator_id", errors, required=True)
        values["email"], values["phone"] = forms.text(page, "email"), forms.text(page, "phone")
        new_id: int | None = None
        if not errors:
            async with page.conn.transaction():
                new_id = await collect(page, errors, lambda: web.fetch_value(page.conn, INSERT_SQL, values))
                for kind in ("email", "phone"):
                    if new_id is not None and values[kind]:
                        contact = {
                            "customer_id": new_id,
                            "kind": kind,
                            "value": values[kind],
                            "label": None,
                            "is_primary": True,
                        }
                        failed = FormErrors()
                        await collect(page, failed, partial(page.conn.execute, INSERT_CONTACT_SQL, contact))
                        forms.merge(errors, forms.rename(failed, {"value": kind}))
                forms.all_or_nothing(errors)
        if not errors and new_id is not None:
            return web.redirect(f"/customers/{new_id}?tab=details", page._("Customer created."))
    return page.render(
        "customers_new.html",
        {"values": values, "errors": errors, "operators": operators},
        status_code=422 if errors else 200,
    )


# ---------------------------------------------------------------------------------------------
# The card


def tab_of(request: Request) -> str:
    tab = request.query_params.get("tab", "")
    return tab if tab in TABS else "services"


def _asked_service(request: Request) -> int | None:
    asked = request.query_params.get("service", "")
    return int(asked) if asked.isdigit() else None


def card_params(request: Request) -> dict[str, Any]:
    """The arguments of ``crm.customer_card`` for a card page: the tab, and the operator's tariffs
    when the services tab opens one service's actions (``?service=ID``)."""
    tab = tab_of(request)
    return {
        "id": int(request.path_params["id"]),
        "tab": tab,
        "tariffs": tab == "services" and _asked_service(request) is not None,
    }


CARD_CALL = "crm.customer_card(%(id)s, %(tab)s, %(tariffs)s)"


async def customer_card(view: View, data: Any) -> Response:
    """GET /customers/{id}: the card from one ``crm.customer_card`` call (see ``web.staff_view``)."""
    return show_card(view, data, tab_of(view.request), target=_asked_service(view.request))


async def card(
    page: Page,
    customer_id: int,
    tab: str | None = None,
    *,
    form: str = "",
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    target: int | None = None,
) -> Response:
    """The card again inside a form's transaction; ``form``/``values``/``errors`` re-show the failed
    form (``target`` is the row the form was about: a service, a place, an order)."""
    tab = tab or tab_of(page.request)
    if target is None and tab == "services":
        target = _asked_service(page.request)
    data = await web.fetch_value(
        page.conn,
        "select " + CARD_CALL,
        {"id": customer_id, "tab": tab, "tariffs": tab == "services" and target is not None},
    )
    return show_card(page, data, tab, form=form, values=values, errors=errors, target=target)


def show_card(
    view: View,
    data: dict[str, Any] | None,
    tab: str,
    *,
    form: str = "",
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    target: int | None = None,
) -> Response:
    if data is None:
        return forms.not_found(view, view._("This customer does not exist."))
    query = view.request.query_params
    context: dict[str, Any] = {
        "c": data["customer"],
        "tab": tab,
        "tabs": TABS,
        "rows": data["rows"],
        "form": form,
        "values": values or {},
        "errors": errors or FormErrors(),
        "target": target,
    }
    for extra in ("tariffs", "services", "bundles"):
        if extra in data:
            context[extra] = data[extra]
    if tab == "details":
        context["params"] = data["params"]
        context["param_defs"] = data["param_defs"]
        if not values:
            context["values"] = {**data["customer"], **{f"p_{k}": v for k, v in data["params"].items()}}
            parent = data["customer"]["parent"]
            context["values"]["parent"] = parent["customer_no"] if parent else ""
    if tab == "places" and query.get("edit", "").isdigit() and not form:
        edit = int(query["edit"])
        place = next((p for p in data["rows"] if p["id"] == edit), None)
        if place:
            context.update(form="place", target=edit, values=place)
    return view.render("customers_card.html", context, status_code=422 if errors else 200)


ACTIONS_CALL = "crm.service_actions(%(id)s, %(sid)s)"


def actions_params(request: Request) -> dict[str, Any]:
    return {"id": int(request.path_params["id"]), "sid": int(request.path_params["sid"])}


async def service_actions(view: View, data: Any) -> Response:
    """The actions menu of one service (change tariff, suspend, block, end, move, restore): the
    card renders it only for the service asked for, the others fetch it when their menu opens."""
    if data is None:
        return forms.not_found(view, view._("This service does not exist."))
    service = data["service"]
    context = {
        "c": data["customer"],
        "s": service,
        "tariffs": data["tariffs"],
        "target": service["id"],
        "form": "",
        "values": {},
        "errors": FormErrors(),
    }
    return view.render("customers_service_actions.html", context)


def _cid(page: Page) -> int:
    return int(page.request.path_params["id"])


def _back(customer_id: int, tab: str, anchor: str = "") -> str:
    return f"/customers/{customer_id}?tab={tab}" + (f"#{anchor}" if anchor else "")


# ---------------------------------------------------------------------------------------------
# Details

UPDATE_SQL = """
update crm.customers
   set kind = %(kind)s, first_name = %(first_name)s, last_name = %(last_name)s, company_name = %(company_name)s,
       ico = %(ico)s, dic = %(dic)s, birth_date = %(birth_date)s, street = %(street)s, house_no = %(house_no)s,
       city = %(city)s, zip = %(zip)s, country = %(country)s, language = %(language)s, note = %(note)s,
       parent_id = %(parent_id)s
 where id = %(id)s
"""


async def customer_save(page: Page) -> Response:
    customer_id = _cid(page)
    errors = FormErrors()
    values = _customer_values(page, errors)
    values["id"] = customer_id
    values["parent"] = page.field("parent")
    values["parent_id"] = None
    if values["parent"]:
        values["parent_id"] = await forms.find_customer(page, values["parent"])
        if values["parent_id"] is None:
            errors.fields["parent"] = page._("No customer has this number or VS.")
    defs = await web.fetch_all(page.conn, PARAM_DEFS_SQL, ["customer"])
    group_ids = [int(str(v)) for v in (page.form.getlist("group") if page.form else []) if str(v).isdigit()]
    values.update(forms.parameter_values(page, defs))
    if not errors:
        async with page.conn.transaction():
            failed = FormErrors()
            await collect(page, failed, lambda: page.conn.execute(UPDATE_SQL, values))
            forms.merge(errors, forms.rename(failed, {"parent_id": "parent"}))
            await forms.save_parameters(page, errors, "customer", customer_id, defs, values)
            await collect(
                page,
                errors,
                lambda: page.conn.execute(
                    "with gone as (delete from crm.customer_groups where customer_id = %(c)s"
                    " and not group_id = any(%(g)s)) insert into crm.customer_groups (customer_id, group_id)"
                    " select %(c)s, g from unnest(%(g)s::bigint[]) g on conflict do nothing",
                    {"c": customer_id, "g": group_ids},
                ),
            )
            forms.all_or_nothing(errors)
    if errors:
        return await card(page, customer_id, "details", form="details", values=values, errors=errors)
    return web.redirect(_back(customer_id, "details"), page._("Changes saved."))


async def customer_end(page: Page) -> Response:
    customer_id = _cid(page)
    errors = FormErrors()
    on = forms.parse_date(page, "ended_on", errors, required=True)
    values = {"ended_on": page.field("ended_on"), "end_reason": page.field("end_reason")}
    if not errors:
        forms.merge(
            errors,
            (
                await page.attempt(
                    lambda: page.conn.execute(
                        "select crm.end_customer(%s, %s, %s)", [customer_id, on, values["end_reason"] or None]
                    )
                )
            )[1],
        )
    if errors:
        return await card(page, customer_id, "details", form="end", values=values, errors=errors)
    return web.redirect(
        _back(customer_id, "services"), page._("The customer is ended; their services end too.")
    )


async def customer_restore(page: Page) -> Response:
    customer_id = _cid(page)
    _, failed = await page.attempt(
        lambda: page.conn.execute("select crm.restore_customer(%s)", [customer_id])
    )
    if failed:
        return web.redirect(
            _back(customer_id, "details"), " ".join([*failed.general, *failed.fields.values()])
        )
    return web.redirect(_back(customer_id, "services"), page._("The customer is active again."))


# ---------------------------------------------------------------------------------------------
# Delivery places

PLACE_FIELDS = ("street", "house_no", "flat", "city", "zip", "note")


async def place_save(page: Page) -> Response:
    customer_id = _cid(page)
    place_id = page.request.path_params.get("pid")
    errors = FormErrors()
    values: dict[str, Any] = {f: forms.text(page, f) for f in PLACE_FIELDS}
    values["ruian_code"] = forms.parse_int(page, "ruian_code", errors)
    values["latitude"] = forms.parse_decimal(page, "latitude", errors)
    values["longitude"] = forms.parse_decimal(page, "longitude", errors)
    values.update(customer_id=customer_id, id=int(place_id) if place_id else None)
    if not errors:
        if place_id:
            sql = (
                "update crm.delivery_places set street = %(street)s, house_no = %(house_no)s, flat = %(flat)s,"
                " city = %(city)s, zip = %(zip)s, note = %(note)s, ruian_code = %(ruian_code)s,"
                " latitude = %(latitude)s, longitude = %(longitude)s"
                " where id = %(id)s and customer_id = %(customer_id)s"
            )
        else:
            sql = (
                "insert into crm.delivery_places (customer_id, street, house_no, flat, city, zip, note, ruian_code,"
                " latitude, longitude) values (%(customer_id)s, %(street)s, %(house_no)s, %(flat)s, %(city)s,"
                " %(zip)s, %(note)s, %(ruian_code)s, %(latitude)s, %(longitude)s)"
            )
        forms.merge(errors, (await page.attempt(lambda: page.conn.execute(sql, values)))[1])
    if errors:
        return await card(
            page, customer_id, "places", form="place", values=values, errors=errors, target=values["id"]
        )
    return web.redirect(_back(customer_id, "places"), page._("Delivery place saved."))


async def place_active(page: Page) -> Response:
    customer_id = _cid(page)
    await page.conn.execute(
        "update crm.delivery_places set active = %s where id = %s and customer_id = %s",
        [page.field("active") == "1", int(page.request.path_params["pid"]), customer_id],
    )
    return web.redirect(_back(customer_id, "places"), page._("Changes saved."))


# ---------------------------------------------------------------------------------------------
# Contacts


async def contact_add(page: Page) -> Response:
    customer_id = _cid(page)
    values: dict[str, Any] = {
        "customer_id": customer_id,
        "kind": page.field("kind") or None,
        "value": page.field("value"),
        "label": forms.text(page, "label"),
        "is_primary": page.checked("is_primary"),
    }
    errors = FormErrors()
    if not values["value"]:
        errors.fields["value"] = page._("This field is required.")
    else:
        forms.merge(errors, (await page.attempt(lambda: page.conn.execute(INSERT_CONTACT_SQL, values)))[1])
    if errors:
        return await card(page, customer_id, "contacts", form="contact", values=values, errors=errors)
    return web.redirect(_back(customer_id, "contacts"), page._("Contact added."))


async def contact_remove(page: Page) -> Response:
    customer_id = _cid(page)
    await page.conn.execute(
        "delete from crm.contacts where id = %s and customer_id = %s",
        [int(page.request.path_params["kid"]), customer_id],
    )
    return web.redirect(_back(customer_id, "contacts"), page._("Contact removed."))


# ---------------------------------------------------------------------------------------------
# Contracts


CONTRACT_SQL = """
insert into crm.contracts (customer_id, operator_id, number, signed_on, valid_from, fixed_until, notice_months,
                           state, note)
select %(customer_id)s, operator_id, %(number)s, %(signed_on)s, %(valid_from)s, %(fixed_until)s,
       %(notice_months)s, %(state)s, %(note)s
  from crm.customers where id = %(customer_id)s
"""


async def contract_add(page: Page) -> Response:
    customer_id = _cid(page)
    errors = FormErrors()
    values: dict[str, Any] = {
        "customer_id": customer_id,
        "number": forms.text(page, "number"),
        "signed_on": forms.parse_date(page, "signed_on", errors),
        "valid_from": forms.parse_date(page, "valid_from", errors, required=True),
        "fixed_until": forms.parse_date(page, "fixed_until", errors),
        "notice_months": forms.int_or_default(page, "notice_months", errors, "crm.contracts.notice_months"),
        "state": "signed" if page.checked("signed") else "draft",
        "note": forms.text(page, "note"),
    }
    if not errors:
        forms.merge(errors, (await page.attempt(lambda: page.conn.execute(CONTRACT_SQL, values)))[1])
    if errors:
        shown = {**values, **{k: page.field(k) for k in ("signed_on", "valid_from", "fixed_until")}}
        return await card(page, customer_id, "contracts", form="contract", values=shown, errors=errors)
    return web.redirect(_back(customer_id, "contracts"), page._("Contract added."))


async def contract_terminate(page: Page) -> Response:
    customer_id = _cid(page)
    contract_id = int(page.request.path_params["kid"])
    errors = FormErrors()
    on = forms.parse_date(page, "notice_on", errors, required=True)
    end = None
    if not errors:
        end, failed = await page.attempt(
            lambda: web.fetch_value(page.conn, "select crm.terminate_contract(%s, %s)", [contract_id, on])
        )
        forms.merge(errors, failed)
    if errors:
        return await card(
            page,
            customer_id,
            "contracts",
            form="terminate",
            values={"notice_on": page.field("notice_on")},
            errors=errors,
            target=contract_id,
        )
    return web.redirect(
        _back(customer_id, "contracts"),
        page._("Notice given; the contract ends on {date}.", date=i18n.format_date(end, page.lang)),
    )


# ---------------------------------------------------------------------------------------------
# Notes


async def note_add(page: Page) -> Response:
    customer_id = _cid(page)
    values = {"body": page.field("body"), "customer_id": customer_id}
    errors = FormErrors()
    if not values["body"]:
        errors.fields["body"] = page._("This field is required.")
    else:
        forms.merge(
            errors,
            (
                await page.attempt(
                    lambda: page.conn.execute(
                        "insert into crm.customer_notes (customer_id, body, created_by)"
                        " values (%(customer_id)s, %(body)s, auth.user_id())",
                        values,
                    )
                )
            )[1],
        )
    if errors:
        return await card(page, customer_id, "notes", form="note", values=values, errors=errors)
    return web.redirect(_back(customer_id, "notes"), page._("Note added."))

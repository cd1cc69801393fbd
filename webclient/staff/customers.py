"""Customers (CRM-1…6, RPT-3): the list with instant search, the new-customer form and the
customer card with its tabs. Support, sales and billing change customers; the database decides.

The card is ONE query: the customer, the counts of each tab and the open tab's rows come back as
JSON in one round trip (dates as ISO text, shown with the ``value`` filter).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.responses import Response

from webclient import i18n, web
from webclient.staff import forms
from webclient.staff.forms import collect
from webclient.web import FormErrors, Page

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
    values["kind"] = "company" if values["kind"] == "company" else "person"
    values["country"] = (values["country"] or "CZ").upper()
    values["language"] = values["language"] if values["language"] in ("cs", "en") else "cs"
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

# The monthly total of the running services; the services tab sums the prices of its own rows instead.
MONTHLY_SQL = """
         'monthly', (select sum(pr.monthly_with_vat) from crm.services s
                       cross join lateral catalog.service_price(s.id, current_date) pr
                      where s.customer_id = c.id and s.state in ('active', 'blocked')),
"""

CARD_HEAD = """
select to_jsonb(c) || jsonb_build_object(
         'name', crm.customer_name(c), 'operator_name', o.name, 'currency', o.currency,
         'parent', (select jsonb_build_object('id', p.id, 'name', crm.customer_name(p), 'customer_no', p.customer_no)
                      from crm.customers p where p.id = c.parent_id),
         'branches', (select count(*) from crm.customers b where b.parent_id = c.id),
         'email', (select k.value from crm.contacts k where k.customer_id = c.id and k.kind = 'email'
                    order by k.is_primary desc, k.id limit 1),
         'phone', (select k.value from crm.contacts k where k.customer_id = c.id and k.kind = 'phone'
                    order by k.is_primary desc, k.id limit 1),
         'groups', coalesce((select jsonb_agg(g.name order by g.name) from crm.customer_groups cg
                              join crm.groups g on g.id = cg.group_id where cg.customer_id = c.id), '[]'),
{monthly}         'counts', jsonb_build_object(
           'services', (select count(*) from crm.services s where s.customer_id = c.id and s.state <> 'ended'),
           'places', (select count(*) from crm.delivery_places d where d.customer_id = c.id and d.active),
           'contacts', (select count(*) from crm.contacts k where k.customer_id = c.id),
           'contracts', (select count(*) from crm.contracts k where k.customer_id = c.id and k.state <> 'terminated'),
           'orders', (select count(*) from catalog.orders r where r.customer_id = c.id
                       and r.stage in ('enquiry', 'offer', 'order', 'accepted')),
           'notes', (select count(*) from crm.customer_notes n where n.customer_id = c.id)))
"""

TAB_SQL: dict[str, str] = {
    "services": """
  , (select jsonb_build_object(
             'rows', coalesce(jsonb_agg(to_jsonb(x) order by x.state = 'ended', x.id), '[]'),
             'monthly', sum(x.price) filter (where x.state in ('active', 'blocked')))
       from (
      select s.id, s.state, lower(s.valid) as valid_from, upper(s.valid) as valid_to, s.period_months,
             s.billing_day, s.bill_from, s.bill_separately, s.block_kind, s.block_reason,
             lower(s.suspended) as suspended_from, upper(s.suspended) as suspended_to, s.end_reason, s.note,
             p.name as product, p.class_id, cl.name as class_name, t.id as tariff_id, t.name as tariff,
             pr.monthly_with_vat as price, pr.monthly_without_vat as price_without_vat,
             pr.list_with_vat as list_price, pr.bundle_discount, pr.group_discount, b.name as bundle,
             concat_ws(' ', d.street, d.house_no, d.flat, d.city) as place,
             (select jsonb_agg(jsonb_build_object('tariff', nt.name, 'from', lower(st.valid)) order by lower(st.valid))
                from crm.service_tariffs st join catalog.tariffs nt on nt.id = st.tariff_id
               where st.service_id = s.id and lower(st.valid) > current_date) as planned,
             (select jsonb_agg(jsonb_build_object('name', pp.name, 'value', pp.value, 'unit', pp.unit,
                                                  'type', pp.type) order by pp.position, pp.name)
                from crm.parameters pp where pp.entity = 'service' and pp.entity_id = s.id) as params
        from crm.services s
        join catalog.products p on p.id = s.product_id
        join catalog.classes cl on cl.id = p.class_id
        left join lateral catalog.service_price(
          s.id, case when s.state = 'ended' then upper(s.valid) - 1 else greatest(lower(s.valid), current_date) end) pr
          on true
        left join catalog.tariffs t on t.id = coalesce(pr.tariff_id, crm.current_tariff(s.id))
        left join catalog.bundles b on b.id = s.bundle_id
        left join crm.delivery_places d on d.id = s.delivery_place_id
       where s.customer_id = c.id) x) as services
""",
    "details": """
  , coalesce((select jsonb_agg(jsonb_build_object('id', g.id, 'name', g.name,
                                                  'member', exists (select from crm.customer_groups cg
                                                                     where cg.customer_id = c.id and cg.group_id = g.id))
                               order by g.name) from crm.groups g), '[]') as rows
  , coalesce((select jsonb_object_agg(p.code, p.value) from crm.parameters p
               where p.entity = 'customer' and p.entity_id = c.id), '{}') as params
""",
    "places": """
  , coalesce((select jsonb_agg(to_jsonb(d) || jsonb_build_object(
                 'services', (select count(*) from crm.services s where s.delivery_place_id = d.id and s.state <> 'ended'))
               order by d.active desc, d.id) from crm.delivery_places d where d.customer_id = c.id), '[]') as rows
""",
    "contacts": """
  , coalesce((select jsonb_agg(to_jsonb(k) order by k.kind, k.is_primary desc, k.id)
                from crm.contacts k where k.customer_id = c.id), '[]') as rows
""",
    "contracts": """
  , coalesce((select jsonb_agg(to_jsonb(k) || jsonb_build_object(
                 'services', (select count(*) from crm.services s where s.contract_id = k.id))
               order by k.valid_from desc, k.id desc) from crm.contracts k where k.customer_id = c.id), '[]') as rows
""",
    "orders": """
  , coalesce((select jsonb_agg(to_jsonb(r) || jsonb_build_object(
                 'tariff', t.name, 'bundle', b.name, 'salesperson', u.full_name,
                 'service', (select concat_ws(' · ', p.name, ct.name) from crm.services s
                               join catalog.products p on p.id = s.product_id
                               left join catalog.tariffs ct on ct.id = crm.current_tariff(s.id)
                              where s.id = r.service_id),
                 'events', (select jsonb_agg(jsonb_build_object('stage', e.stage, 'note', e.note, 'at', e.created_at,
                                                                'who', eu.full_name) order by e.id)
                              from catalog.order_events e left join auth.users eu on eu.id = e.user_id
                             where e.order_id = r.id))
               order by r.id desc)
                from catalog.orders r
                left join catalog.tariffs t on t.id = r.tariff_id
                left join catalog.bundles b on b.id = r.bundle_id
                left join auth.users u on u.id = r.salesperson_id
               where r.customer_id = c.id), '[]') as rows
  , coalesce((select jsonb_agg(jsonb_build_object('id', t.id, 'name', t.name, 'product', p.name,
                                                  'price', (select tp.monthly_with_vat
                                                              from catalog.tariff_price(t.id, current_date) tp))
                               order by p.name, t.position, t.name)
                from catalog.tariffs t join catalog.products p on p.id = t.product_id
               where p.operator_id = c.operator_id and p.active and t.active), '[]') as tariffs
""",
    "notes": """
  , coalesce((select jsonb_agg(jsonb_build_object('id', n.id, 'body', n.body, 'at', n.created_at,
                                                  'who', u.full_name) order by n.id desc)
                from crm.customer_notes n left join auth.users u on u.id = n.created_by
               where n.customer_id = c.id), '[]') as rows
""",
    "history": """
  , coalesce((select jsonb_agg(to_jsonb(h) order by h.id desc) from (
      select h.* from audit.history h
       where (h.table_schema, h.table_name, h.record_id) in (
               select 'crm', 'customers', c.id::text
               union all select 'crm', 'services', s.id::text from crm.services s where s.customer_id = c.id
               union all select 'crm', 'service_tariffs', st.id::text
                           from crm.service_tariffs st join crm.services s on s.id = st.service_id
                          where s.customer_id = c.id
               union all select 'crm', 'contacts', k.id::text from crm.contacts k where k.customer_id = c.id
               union all select 'crm', 'delivery_places', d.id::text from crm.delivery_places d where d.customer_id = c.id
               union all select 'crm', 'contracts', k.id::text from crm.contracts k where k.customer_id = c.id
               union all select 'catalog', 'orders', r.id::text from catalog.orders r where r.customer_id = c.id
               union all select 'crm', 'parameter_values', v.id::text from crm.parameter_values v
                           join crm.parameter_definitions pd on pd.id = v.definition_id
                          where pd.entity = 'customer' and v.entity_id = c.id)
       order by h.id desc limit 200) h), '[]') as rows
""",
}

CARD_TAIL = """
  from crm.customers c
  join crm.operators o on o.id = c.operator_id
 where c.id = %s
"""

# The operator's tariffs, for the change-tariff form of a service's actions (rendered only for the
# service asked for, or fetched when its menu opens).
TARIFFS_SQL = """
  , coalesce((select jsonb_agg(jsonb_build_object('id', t.id, 'name', t.name, 'product', p.name,
                                                  'product_id', p.id) order by p.name, t.position, t.name)
                from catalog.tariffs t join catalog.products p on p.id = t.product_id
               where p.operator_id = c.operator_id and p.active and t.active), '[]') as tariffs
"""


def _card_sql(tab: str, extra: str = "") -> str:
    """The card query with one tab's rows (the services tab sums its own rows' prices)."""
    head = CARD_HEAD.format(monthly="" if tab == "services" else MONTHLY_SQL)
    return head + " as customer" + TAB_SQL[tab] + extra + CARD_TAIL


CARD_SQL = {tab: _card_sql(tab) for tab in TABS}
CARD_WITH_TARIFFS_SQL = _card_sql("services", TARIFFS_SQL)


def tab_of(page: Page) -> str:
    tab = page.request.query_params.get("tab", "")
    return tab if tab in TABS else "services"


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
    """The customer card with one tab open; ``form``/``values``/``errors`` re-show a failed form
    (``target`` is the row the form was about: a service, a place, an order)."""
    tab = tab or tab_of(page)
    asked = page.request.query_params.get("service", "")
    if target is None and tab == "services" and asked.isdigit():
        target = int(asked)
    query = CARD_WITH_TARIFFS_SQL if tab == "services" and target is not None else CARD_SQL[tab]
    row = await web.fetch_one(page.conn, query, [customer_id])
    if row is None:
        return forms.not_found(page, page._("This customer does not exist."))
    if "services" in row:  # the rows and their monthly total in one
        row["rows"] = row["services"]["rows"]
        row["customer"]["monthly"] = row["services"]["monthly"]
    context: dict[str, Any] = {
        "c": row["customer"],
        "tab": tab,
        "tabs": TABS,
        "rows": row["rows"],
        "form": form,
        "values": values or {},
        "errors": errors or FormErrors(),
        "target": target,
        "today": page.request.query_params.get("on", ""),
    }
    if tab == "details":
        context["params"] = row["params"]
        context["param_defs"] = await web.fetch_all(page.conn, PARAM_DEFS_SQL, ["customer"])
        if not values:
            context["values"] = {**row["customer"], **{f"p_{k}": v for k, v in row["params"].items()}}
            parent = row["customer"]["parent"]
            context["values"]["parent"] = parent["customer_no"] if parent else ""
    if "tariffs" in row:
        context["tariffs"] = row["tariffs"]
    if tab == "orders":
        services = await web.fetch_all(
            page.conn,
            "select s.id, p.name as product, t.name as tariff, s.state from crm.services s"
            " join catalog.products p on p.id = s.product_id"
            " left join catalog.tariffs t on t.id = crm.current_tariff(s.id)"
            " where s.customer_id = %s and s.state <> 'ended' order by s.id",
            [customer_id],
        )
        bundles = await web.fetch_all(
            page.conn,
            "select id, name from catalog.bundles where operator_id = %s and active order by name",
            [row["customer"]["operator_id"]],
        )
        context["services"] = services
        context["bundles"] = bundles
    if tab == "places" and page.request.query_params.get("edit", "").isdigit() and not form:
        edit = int(page.request.query_params["edit"])
        place = next((p for p in row["rows"] if p["id"] == edit), None)
        if place:
            context.update(form="place", target=edit, values=place)
    return page.render("customers_card.html", context, status_code=422 if errors else 200)


async def customer_card(page: Page) -> Response:
    return await card(page, int(page.request.path_params["id"]))


async def service_actions(page: Page) -> Response:
    """The actions menu of one service (change tariff, suspend, block, end, move, restore): the
    card renders it only for the service asked for, the others fetch it when their menu opens."""
    customer_id, service_id = _cid(page), int(page.request.path_params["sid"])
    row = await web.fetch_one(page.conn, CARD_WITH_TARIFFS_SQL, [customer_id])
    service = next((s for s in row["services"]["rows"] if s["id"] == service_id), None) if row else None
    if row is None or service is None:
        return forms.not_found(page, page._("This service does not exist."))
    context = {
        "c": row["customer"],
        "s": service,
        "tariffs": row["tariffs"],
        "target": service_id,
        "form": "",
        "values": {},
        "errors": FormErrors(),
    }
    return page.render("customers_service_actions.html", context)


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
        values["parent_id"] = await web.fetch_value(
            page.conn,
            "select id from crm.customers where customer_no = %(n)s or vs = %(n)s limit 1",
            {"n": values["parent"]},
        )
        if values["parent_id"] is None:
            errors.fields["parent"] = page._("No customer has this number or VS.")
    defs = await web.fetch_all(page.conn, PARAM_DEFS_SQL, ["customer"])
    group_ids = [int(str(v)) for v in (page.form.getlist("group") if page.form else []) if str(v).isdigit()]
    for d in defs:
        key = f"p_{d['code']}"
        values[key] = (
            ("true" if page.checked(key) else "false") if d["type"] == "boolean" else page.field(key)
        )
    if not errors:
        async with page.conn.transaction():
            failed = FormErrors()
            await collect(page, failed, lambda: page.conn.execute(UPDATE_SQL, values))
            forms.merge(errors, forms.rename(failed, {"parent_id": "parent"}))
            for d in defs:
                code, value = d["code"], values[f"p_{d['code']}"]
                await collect(
                    page,
                    errors,
                    partial(
                        page.conn.execute,
                        "select crm.set_parameter('customer', %s, %s, %s)",
                        [customer_id, code, value],
                    ),
                    prefix="p_",
                )
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
    kind = page.field("kind")
    values: dict[str, Any] = {
        "customer_id": customer_id,
        "kind": kind if kind in ("email", "phone", "billing_email") else "email",
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


async def contract_add(page: Page) -> Response:
    customer_id = _cid(page)
    errors = FormErrors()
    values: dict[str, Any] = {
        "customer_id": customer_id,
        "number": forms.text(page, "number"),
        "signed_on": forms.parse_date(page, "signed_on", errors),
        "valid_from": forms.parse_date(page, "valid_from", errors, required=True),
        "fixed_until": forms.parse_date(page, "fixed_until", errors),
        "notice_months": forms.parse_int(page, "notice_months", errors) or 1,
        "state": "signed" if page.checked("signed") else "draft",
        "note": forms.text(page, "note"),
    }
    if not errors:
        sql = (
            "insert into crm.contracts (customer_id, operator_id, number, signed_on, valid_from, fixed_until,"
            " notice_months, state, note) select %(customer_id)s, operator_id, %(number)s, %(signed_on)s,"
            " %(valid_from)s, %(fixed_until)s, %(notice_months)s, %(state)s, %(note)s"
            " from crm.customers where id = %(customer_id)s"
        )
        forms.merge(errors, (await page.attempt(lambda: page.conn.execute(sql, values)))[1])
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

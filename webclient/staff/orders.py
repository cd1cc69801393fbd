"""Services of a customer and their orders (CAT-4, CAT-5): activation from the catalogue (a tariff
or a bundle), tariff change, suspension, block, end, restore, move; enquiries, offers and orders
with prices before and after. Every step is a function of the database."""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb
from starlette.responses import Response

from webclient import web
from webclient.staff import customers, forms
from webclient.staff.forms import collect
from webclient.web import FormErrors, Page

# ---------------------------------------------------------------------------------------------
# Activation

ACTIVATE_SQL = """
select c.id, crm.customer_name(c) as name, c.customer_no, c.vs, c.state, c.operator_id,
       crm.tariffs_for_customer(c.id) as tariffs,
       coalesce((select jsonb_agg(jsonb_build_object(
                   'id', b.id, 'name', b.name,
                   'items', (select jsonb_agg(jsonb_build_object('tariff', t.name, 'product', p.name,
                                                                 'discount', i.discount_percent) order by i.id)
                               from catalog.bundle_items i join catalog.tariffs t on t.id = i.tariff_id
                               join catalog.products p on p.id = t.product_id where i.bundle_id = b.id),
                   'price', (select sum(pf.monthly_with_vat)
                               from catalog.bundle_items i
                              cross join lateral catalog.price_for(i.tariff_id, current_date, b.id, c.id) pf
                              where i.bundle_id = b.id)) order by b.name)
                   from catalog.bundles b where b.operator_id = c.operator_id and b.active), '[]') as bundles,
       coalesce((select jsonb_agg(jsonb_build_object('id', d.id,
                                                     'name', concat_ws(' ', d.street, d.house_no, d.flat, d.city))
                                  order by d.id)
                   from crm.delivery_places d where d.customer_id = c.id and d.active), '[]') as places,
       coalesce((select jsonb_agg(jsonb_build_object('id', k.id, 'number', k.number) order by k.id desc)
                   from crm.contracts k where k.customer_id = c.id and k.state <> 'terminated'), '[]') as contracts
  from crm.customers c
 where c.id = %s
"""

SERVICE_PARAMS_SQL = """
select id, code, name, type, choices, required, pattern, min_value, max_value, unit, default_value
  from crm.parameter_definitions
 where entity = 'service' and active and (class_id is null or class_id = %s)
 order by position, name
"""


async def activate(page: Page) -> Response:
    customer_id = int(page.request.path_params["id"])
    data = await web.fetch_one(page.conn, ACTIVATE_SQL, [customer_id])
    if data is None:
        return forms.not_found(page, page._("This customer does not exist."))
    source = page.form if page.form is not None else page.request.query_params
    raw_tariff = str(source.get("tariff_id") or "")
    tariff = next((t for t in data["tariffs"] if str(t["id"]) == raw_tariff), None)
    raw_bundle = str(source.get("bundle_id") or "")
    bundle = next((b for b in data["bundles"] if str(b["id"]) == raw_bundle), None)
    mode = "bundle" if source.get("mode") == "bundle" or (bundle and not tariff) else "tariff"
    params = await web.fetch_all(page.conn, SERVICE_PARAMS_SQL, [tariff["class_id"]]) if tariff else []
    errors = FormErrors()
    values: dict[str, Any] = {
        "mode": mode,
        "tariff_id": tariff["id"] if tariff else None,
        "bundle_id": bundle["id"] if bundle else None,
        "period_months": web.RULES.default("crm.services.period_months"),
        "billing_day": web.RULES.default("crm.services.billing_day"),
        **{f"p_{p['code']}": p["default_value"] or "" for p in params},
    }
    if page.form is not None and page.field("go") == "1":
        values.update(
            {k: page.field(k) for k in ("valid_from", "bill_from", "note", "place_id", "contract_id")}
        )
        values["bill_separately"] = page.checked("bill_separately")
        valid_from = forms.parse_date(page, "valid_from", errors, required=True)
        bill_from = forms.parse_date(page, "bill_from", errors)
        period = forms.parse_int(page, "period_months", errors)
        day = forms.parse_int(page, "billing_day", errors)
        values.update(period_months=page.field("period_months"), billing_day=page.field("billing_day"))
        place = forms.parse_int(page, "place_id", errors)
        options: dict[str, Any] = {
            "bill_separately": values["bill_separately"],
            "contract_id": forms.parse_int(page, "contract_id", errors),
        }
        # Left empty: the database's default; a number, even 0, goes to the database to judge.
        if period is not None:
            options["period_months"] = period
        if day is not None:
            options["billing_day"] = day
        if bill_from:
            options["bill_from"] = bill_from.isoformat()
        if values["note"]:
            options["note"] = values["note"]
        if mode == "bundle" and bundle is None:
            errors.fields["bundle_id"] = page._("Choose a bundle.")
        if mode != "bundle" and tariff is None:
            errors.fields["tariff_id"] = page._("Choose a tariff.")
        if mode != "bundle":
            pvalues: dict[str, str] = {}
            for p in params:
                key = f"p_{p['code']}"
                values[key] = (
                    ("true" if page.checked(key) else "false") if p["type"] == "boolean" else page.field(key)
                )
                if values[key] != "":
                    pvalues[p["code"]] = values[key]
            options["params"] = pvalues
        if not errors:
            async with page.conn.transaction():
                if mode == "bundle":
                    sql = "select crm.activate_bundle(%s, %s, %s, %s, %s)"
                    target = values["bundle_id"]
                else:
                    sql = "select crm.activate_service(%s, %s, %s, %s, %s)"
                    target = values["tariff_id"]
                failed = FormErrors()
                await collect(
                    page,
                    failed,
                    lambda: page.conn.execute(sql, [customer_id, target, valid_from, place, Jsonb(options)]),
                )
                codes = {p["code"] for p in params}
                failed.fields = {
                    (f"p_{k}" if k in codes else {"valid": "valid_from"}.get(k, k)): v
                    for k, v in failed.fields.items()
                }
                forms.merge(errors, failed)
                forms.all_or_nothing(errors)
        if not errors:
            message = page._("Bundle activated.") if mode == "bundle" else page._("Service activated.")
            return web.redirect(f"/customers/{customer_id}?tab=services", message)
    return page.render(
        "customers_activate.html",
        {"c": data, "values": values, "errors": errors, "params": params, "tariff": tariff, "bundle": bundle},
        status_code=422 if errors else 200,
    )


# ---------------------------------------------------------------------------------------------
# Actions on a service

ACTIONS: dict[str, tuple[str, str]] = {
    "change_tariff": (
        "select crm.change_tariff(%(sid)s, %(tariff_id)s, %(on)s)",
        "The tariff changes on {on}.",
    ),
    "suspend": ("select crm.suspend_service(%(sid)s, %(on)s, %(until)s, %(reason)s)", "Service suspended."),
    "resume": ("select crm.resume_service(%(sid)s)", "Service resumed."),
    "block": ("select crm.block_service(%(sid)s, 'manual', %(reason)s)", "Service blocked."),
    "unblock": ("select crm.unblock_service(%(sid)s, 'manual')", "Service unblocked."),
    "end": ("select crm.end_service(%(sid)s, %(on)s, %(reason)s)", "Service ended on {on}."),
    "restore": ("select crm.restore_service(%(sid)s)", "Service restored."),
    "move": (
        "select crm.move_service(%(sid)s, %(to)s, %(on)s, %(reason)s)",
        "Service moved to customer {to_no}.",
    ),
}
NEEDS_DATE = ("change_tariff", "suspend", "end", "move")


async def service_action(page: Page) -> Response:
    customer_id = int(page.request.path_params["id"])
    service_id = int(page.request.path_params["sid"])
    action = str(page.request.path_params["action"])
    if action not in ACTIONS:
        return forms.not_found(page, page._("There is nothing at this address."))
    errors = FormErrors()
    owner = await web.fetch_value(
        page.conn, "select customer_id from crm.services where id = %s", [service_id]
    )
    if owner != customer_id:
        return forms.not_found(page, page._("This service does not exist."))
    shown = {k: page.field(k) for k in ("on", "until", "reason", "tariff_id", "to")}
    params: dict[str, Any] = {
        "sid": service_id,
        "on": forms.parse_date(page, "on", errors, required=action in NEEDS_DATE),
        "until": forms.parse_date(page, "until", errors),
        "reason": forms.text(page, "reason"),
        "tariff_id": forms.parse_int(page, "tariff_id", errors, required=action == "change_tariff"),
        "to": None,
        "to_no": shown["to"],
    }
    if action == "move" and not errors:
        params["to"] = await forms.find_customer(page, shown["to"])
        if params["to"] is None:
            errors.fields["to"] = page._("No customer has this number or VS.")
    if not errors:
        sql, _message = ACTIONS[action]
        failed = (await page.attempt(lambda: page.conn.execute(sql, params)))[1]
        if failed:
            names = {"suspended": "until", "customer_id": "to", "valid": "on"}
            # What has no message of its own beside it (the reason) goes above the form.
            forms.merge(errors, forms.beside(forms.rename(failed, names), ("on", "until", "tariff_id", "to")))
    if errors:
        return await customers.card(
            page, customer_id, "services", form=action, values=shown, errors=errors, target=service_id
        )
    on = web.i18n.format_date(params["on"], page.lang) if params["on"] else ""
    return web.redirect(
        f"/customers/{customer_id}?tab=services#service-{service_id}",
        page._(ACTIONS[action][1], on=on, to_no=shown["to"]),
    )


# ---------------------------------------------------------------------------------------------
# Orders

PLACE_ORDER_SQL = """
select catalog.place_order(%(customer_id)s, %(kind)s, %(service_id)s, %(tariff_id)s, %(bundle_id)s, null,
                           %(params)s, %(effective_on)s, %(note)s, %(stage)s)
"""


async def order_new(page: Page) -> Response:
    customer_id = int(page.request.path_params["id"])
    errors = FormErrors()
    kind = page.field("kind")
    stage = page.field("stage")
    target = page.field("target")  # "t:<tariff id>" or "b:<bundle id>"
    values: dict[str, Any] = {
        k: page.field(k) for k in ("kind", "stage", "target", "service_id", "effective_on", "note", "params")
    }
    # Which kinds need a service or a tariff, and which stages an order starts in, the database
    # says (catalog.place_order, the orders' constraints).
    params: dict[str, Any] = {
        "customer_id": customer_id,
        "kind": kind,
        "stage": stage,
        "service_id": forms.parse_int(page, "service_id", errors),
        "tariff_id": int(target[2:]) if target.startswith("t:") and target[2:].isdigit() else None,
        "bundle_id": int(target[2:]) if target.startswith("b:") and target[2:].isdigit() else None,
        "effective_on": forms.parse_date(page, "effective_on", errors, required=True),
        "note": forms.text(page, "note"),
        "params": Jsonb({}),
    }
    if params["kind"] == "change_params":
        pairs = [line.split("=", 1) for line in values["params"].splitlines() if "=" in line]
        params["params"] = Jsonb({k.strip(): v.strip() for k, v in pairs})
        if not pairs:
            errors.fields["params"] = page._("Write the parameters as code=value, one a line.")
    if not errors:
        failed = (await page.attempt(lambda: page.conn.execute(PLACE_ORDER_SQL, params)))[1]
        forms.merge(
            errors, forms.rename(failed, {"tariff_id": "target", "bundle_id": "target"}) if failed else None
        )
    if errors:
        return await customers.card(page, customer_id, "orders", form="order", values=values, errors=errors)
    return web.redirect(f"/customers/{customer_id}?tab=orders", page._("Order placed."))


async def order_advance(page: Page) -> Response:
    customer_id = int(page.request.path_params["id"])
    order_id = int(page.request.path_params["oid"])
    stage = page.field("stage")
    note = forms.text(page, "note")
    errors = FormErrors()
    owner = await web.fetch_value(
        page.conn, "select customer_id from catalog.orders where id = %s", [order_id]
    )
    if owner != customer_id:
        return forms.not_found(page, page._("This order does not exist."))
    # A rejection needs its reason: catalog.advance_order says so beside the note.
    result, failed = await page.attempt(
        lambda: web.fetch_value(
            page.conn, "select catalog.advance_order(%s, %s, %s)", [order_id, stage, note]
        )
    )
    forms.merge(errors, forms.rename(failed, {"reject_reason": "note"}) if failed else None)
    if errors:
        return await customers.card(
            page,
            customer_id,
            "orders",
            form=f"advance-{stage}",
            values={"note": note or ""},
            errors=errors,
            target=order_id,
        )
    return web.redirect(
        f"/customers/{customer_id}?tab=orders#order-{order_id}",
        page._("Order {id} is now: {stage}.", id=order_id, stage=page._(str(result))),
    )


OPEN_ORDERS_SQL = """
select r.id, r.kind, r.stage, r.effective_on, r.price_before, r.price_after, r.created_at, r.customer_id,
       crm.customer_name(c) as customer, c.customer_no, t.name as tariff, b.name as bundle, u.full_name as salesperson
  from catalog.orders r
  join crm.customers c on c.id = r.customer_id
  left join catalog.tariffs t on t.id = r.tariff_id
  left join catalog.bundles b on b.id = r.bundle_id
  left join auth.users u on u.id = r.salesperson_id
 where r.stage = any(%(stages)s) and r.id < %(before)s
 order by r.id desc
 limit 101
"""


async def order_list(page: Page) -> Response:
    """Orders across customers: the open ones by default, or all."""
    every = page.request.query_params.get("all") == "1"
    before = page.request.query_params.get("before", "")
    # Open: the stages before an order is carried out, rejected or cancelled (orders_stage_idx).
    stages = ["enquiry", "offer", "order", "accepted"]
    if every:
        stages = list(web.RULES.choices("catalog.orders.stage"))
    rows = await web.fetch_all(
        page.conn, OPEN_ORDERS_SQL, {"stages": stages, "before": int(before) if before.isdigit() else 2**62}
    )
    return page.render(
        "orders_list.html",
        {"orders": rows[:100], "every": every, "next_before": rows[99]["id"] if len(rows) > 100 else None},
    )

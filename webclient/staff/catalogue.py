"""The catalogue (CAT-1…3): classes, products, tariffs with their parameters and dated prices,
zones and zone prices, bundles with discounts. Everyone on the staff reads it; administrators
change it. The database enforces that: anyone else gets the "not allowed" page."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from webclient import web
from webclient.staff import counts, forms
from webclient.staff.forms import collect
from webclient.web import FormErrors, Page

OVERVIEW_SQL = """
select
  coalesce((select jsonb_agg(to_jsonb(k) || jsonb_build_object(
              'products', (select count(*) from catalog.products p where p.class_id = k.id),
              'params', (select count(*) from crm.parameter_definitions d where d.class_id = k.id and d.active))
            order by k.name) from catalog.classes k), '[]') as classes,
  coalesce((select jsonb_agg(to_jsonb(p) || jsonb_build_object(
              'class_name', k.name, 'operator_name', o.name,
              'tariffs', (select jsonb_agg(jsonb_build_object(
                             'id', t.id, 'name', t.name, 'active', t.active,
                             'price', (select tp.monthly_fee from catalog.tariff_price(t.id, current_date) tp))
                           order by t.position, t.name) from catalog.tariffs t where t.product_id = p.id))
            order by p.active desc, k.name, p.name)
              from catalog.products p join catalog.classes k on k.id = p.class_id
              join crm.operators o on o.id = p.operator_id), '[]') as products,
  coalesce((select jsonb_agg(to_jsonb(b) || jsonb_build_object(
              'operator_name', o.name,
              'items', (select count(*) from catalog.bundle_items i where i.bundle_id = b.id))
            order by b.active desc, b.name)
              from catalog.bundles b join crm.operators o on o.id = b.operator_id), '[]') as bundles,
  coalesce((select jsonb_agg(to_jsonb(z) || jsonb_build_object('operator_name', o.name) order by o.name, z.name)
              from catalog.zones z join crm.operators o on o.id = z.operator_id), '[]') as zones,
  coalesce((select jsonb_agg(jsonb_build_object('id', o.id, 'name', o.name) order by o.name)
              from crm.operators o where o.active), '[]') as operators
"""

PRODUCT_FIELDS = ("code", "name", "price_mode", "vat_class", "invoice_text", "description")


async def overview(
    page: Page, *, form: str = "", values: dict[str, Any] | None = None, errors: FormErrors | None = None
) -> Response:
    data = await web.fetch_one(page.conn, OVERVIEW_SQL)
    assert data is not None
    return page.render(
        "catalogue_list.html",
        {**data, "form": form, "values": values or {}, "errors": errors or FormErrors()},
        status_code=422 if errors else 200,
    )


async def catalogue(page: Page) -> Response:
    return await overview(page)


async def class_add(page: Page) -> Response:
    values = {k: forms.text(page, k) for k in ("code", "name", "kind", "description")}
    values["kind"] = "goods" if values["kind"] == "goods" else "service"
    _, failed = await page.attempt(
        lambda: page.conn.execute(
            "insert into catalog.classes (code, name, kind, description)"
            " values (%(code)s, %(name)s, %(kind)s, %(description)s)",
            values,
        )
    )
    if failed:
        return await overview(page, form="class", values=values, errors=failed)
    return web.redirect("/catalogue#classes", page._("Class added."))


def _product_values(page: Page, errors: FormErrors) -> dict[str, Any]:
    values: dict[str, Any] = {k: forms.text(page, k) for k in PRODUCT_FIELDS}
    values["operator_id"] = forms.parse_int(page, "operator_id", errors, required=True)
    values["class_id"] = forms.parse_int(page, "class_id", errors, required=True)
    values["price_mode"] = "without_vat" if values["price_mode"] == "without_vat" else "with_vat"
    values["vat_class"] = values["vat_class"] or "standard"
    values["active"] = page.checked("active") or page.form is None
    return values


async def product_add(page: Page) -> Response:
    errors = FormErrors()
    values = _product_values(page, errors)
    values["active"] = True
    new_id = None
    if not errors:
        new_id, failed = await page.attempt(
            lambda: web.fetch_value(
                page.conn,
                "insert into catalog.products (operator_id, class_id, code, name, price_mode, vat_class, invoice_text,"
                " description) values (%(operator_id)s, %(class_id)s, %(code)s, %(name)s, %(price_mode)s,"
                " %(vat_class)s, %(invoice_text)s, %(description)s) returning id",
                values,
            )
        )
        forms.merge(errors, failed)
    if errors:
        return await overview(page, form="product", values=values, errors=errors)
    return web.redirect(f"/catalogue/products/{new_id}", page._("Product added."))


async def zone_add(page: Page) -> Response:
    errors = FormErrors()
    values: dict[str, Any] = {k: forms.text(page, k) for k in ("name", "description")}
    values["operator_id"] = forms.parse_int(page, "operator_id", errors, required=True)
    if not errors:
        forms.merge(
            errors,
            (
                await page.attempt(
                    lambda: page.conn.execute(
                        "insert into catalog.zones (operator_id, name, description)"
                        " values (%(operator_id)s, %(name)s, %(description)s)",
                        values,
                    )
                )
            )[1],
        )
    if errors:
        return await overview(page, form="zone", values=values, errors=errors)
    return web.redirect("/catalogue#zones", page._("Zone added."))


async def bundle_add(page: Page) -> Response:
    errors = FormErrors()
    values: dict[str, Any] = {k: forms.text(page, k) for k in ("code", "name", "description")}
    values["operator_id"] = forms.parse_int(page, "operator_id", errors, required=True)
    new_id = None
    if not errors:
        new_id, failed = await page.attempt(
            lambda: web.fetch_value(
                page.conn,
                "insert into catalog.bundles (operator_id, code, name, description)"
                " values (%(operator_id)s, %(code)s, %(name)s, %(description)s) returning id",
                values,
            )
        )
        forms.merge(errors, failed)
    if errors:
        return await overview(page, form="bundle", values=values, errors=errors)
    return web.redirect(f"/catalogue/bundles/{new_id}", page._("Bundle added."))


# ---------------------------------------------------------------------------------------------
# A product and its tariffs

PRODUCT_SQL = """
select to_jsonb(p) || jsonb_build_object('class_name', k.name, 'operator_name', o.name, 'currency', o.currency)
         as product,
       coalesce((select jsonb_agg(to_jsonb(t) || jsonb_build_object(
                   'price', (select to_jsonb(tp) from catalog.tariff_price(t.id, current_date) tp))
                 order by t.position, t.name) from catalog.tariffs t where t.product_id = p.id), '[]') as tariffs,
       coalesce((select jsonb_agg(jsonb_build_object('id', k2.id, 'name', k2.name) order by k2.name)
                   from catalog.classes k2), '[]') as classes
  from catalog.products p
  join catalog.classes k on k.id = p.class_id
  join crm.operators o on o.id = p.operator_id
 where p.id = %s
"""
# The services on each tariff today: exact up to counts.CAP, above it estimated (a tariff may
# carry half a million), by catalog.tariff_services.
TARIFF_SERVICES_SQL = """
select t.id, s.services, s.estimated
  from catalog.tariffs t cross join lateral catalog.tariff_services(t.id) s
 where t.product_id = %s
"""


async def _product_page(
    page: Page,
    product_id: int,
    *,
    form: str = "",
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
) -> Response:
    data = await web.fetch_one(page.conn, PRODUCT_SQL, [product_id])
    if data is None:
        return forms.not_found(page, page._("This product does not exist."))
    services = {
        r["id"]: counts.shown(r["services"], r["estimated"])
        for r in await web.fetch_all(page.conn, TARIFF_SERVICES_SQL, [product_id])
    }
    for tariff in data["tariffs"]:
        tariff["services"] = services[tariff["id"]]
    return page.render(
        "catalogue_product.html",
        {**data, "form": form, "values": values or data["product"], "errors": errors or FormErrors()},
        status_code=422 if errors else 200,
    )


async def product(page: Page) -> Response:
    product_id = int(page.request.path_params["id"])
    if page.form is None:
        return await _product_page(page, product_id)
    errors = FormErrors()
    values: dict[str, Any] = {k: forms.text(page, k) for k in PRODUCT_FIELDS}
    values.update(
        id=product_id,
        class_id=forms.parse_int(page, "class_id", errors, required=True),
        price_mode="without_vat" if page.field("price_mode") == "without_vat" else "with_vat",
        vat_class=page.field("vat_class") or "standard",
        active=page.checked("active"),
    )
    done = None
    if not errors:
        done, failed = await page.attempt(lambda: web.fetch_one(page.conn, PRODUCT_UPDATE_SQL, values))
        forms.merge(errors, failed)
    if errors or done is None:
        return await _product_page(page, product_id, form="product", values=values, errors=errors)
    if not done["found"]:
        return forms.not_found(page, page._("This product does not exist."))
    message = "Changes saved." if done["changed"] else forms.NOTHING_CHANGED
    return web.redirect(f"/catalogue/products/{product_id}", page._(message))


PRODUCT_UPDATE_SQL = """
with u as (
  update catalog.products
     set code = %(code)s, name = %(name)s, class_id = %(class_id)s, price_mode = %(price_mode)s,
         vat_class = %(vat_class)s, invoice_text = %(invoice_text)s, description = %(description)s, active = %(active)s
   where id = %(id)s
     and (code, name, class_id, price_mode, vat_class, invoice_text, description, active)
         is distinct from (%(code)s::text, %(name)s::text, %(class_id)s::bigint, %(price_mode)s::text,
                           %(vat_class)s::text, %(invoice_text)s::text, %(description)s::text, %(active)s::boolean)
  returning 1
)
select exists (select from u) as changed, exists (select from catalog.products where id = %(id)s) as found
"""


async def tariff_add(page: Page) -> Response:
    product_id = int(page.request.path_params["id"])
    errors = FormErrors()
    values: dict[str, Any] = {k: forms.text(page, k) for k in ("code", "name", "description")}
    values["product_id"] = product_id
    values["position"] = forms.int_or_default(page, "position", errors, "catalog.tariffs.position")
    fee = forms.parse_decimal(page, "monthly_fee", errors)
    valid_from = forms.parse_date(page, "valid_from", errors, required=fee is not None)
    new_id = None
    if not errors:
        async with page.conn.transaction():
            new_id = await collect(
                page,
                errors,
                lambda: web.fetch_value(
                    page.conn,
                    "insert into catalog.tariffs (product_id, code, name, description, position)"
                    " values (%(product_id)s, %(code)s, %(name)s, %(description)s, %(position)s) returning id",
                    values,
                ),
            )
            if new_id is not None and fee is not None:
                await collect(
                    page,
                    errors,
                    lambda: page.conn.execute(
                        "select catalog.set_price(%s, %s, %s)", [new_id, valid_from, fee]
                    ),
                )
            forms.all_or_nothing(errors)
    if errors:
        shown = {**values, "monthly_fee": page.field("monthly_fee"), "valid_from": page.field("valid_from")}
        return await _product_page(page, product_id, form="tariff", values=shown, errors=errors)
    return web.redirect(f"/catalogue/tariffs/{new_id}", page._("Tariff added."))


# ---------------------------------------------------------------------------------------------
# A tariff: its parameters and prices

TARIFF_SQL = """
select to_jsonb(t) || jsonb_build_object('product_name', p.name, 'product_id', p.id, 'class_id', p.class_id,
                                         'class_name', k.name, 'price_mode', p.price_mode, 'vat_class', p.vat_class,
                                         'currency', o.currency, 'operator_id', p.operator_id) as tariff,
       coalesce((select jsonb_agg(to_jsonb(pr) || jsonb_build_object(
                   'valid_from', lower(pr.valid), 'valid_to', upper(pr.valid), 'zone', z.name,
                   'current', pr.valid @> current_date)
                 order by z.name nulls first, lower(pr.valid) desc)
                   from catalog.prices pr left join catalog.zones z on z.id = pr.zone_id
                  where pr.tariff_id = t.id), '[]') as prices,
       coalesce((select jsonb_agg(jsonb_build_object('id', z.id, 'name', z.name) order by z.name)
                   from catalog.zones z where z.operator_id = p.operator_id), '[]') as zones,
       coalesce((select jsonb_object_agg(v.code, v.value) from crm.parameters v
                  where v.entity = 'tariff' and v.entity_id = t.id), '{}') as params
  from catalog.tariffs t
  join catalog.products p on p.id = t.product_id
  join catalog.classes k on k.id = p.class_id
  join crm.operators o on o.id = p.operator_id
 where t.id = %s
"""

TARIFF_PARAMS_SQL = """
select id, code, name, type, choices, required, pattern, min_value, max_value, unit
  from crm.parameter_definitions
 where entity = 'tariff' and active and (class_id is null or class_id = %s)
 order by position, name
"""


async def _tariff_page(
    page: Page,
    tariff_id: int,
    *,
    form: str = "",
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
) -> Response:
    data = await web.fetch_one(page.conn, TARIFF_SQL, [tariff_id])
    if data is None:
        return forms.not_found(page, page._("This tariff does not exist."))
    defs = await web.fetch_all(page.conn, TARIFF_PARAMS_SQL, [data["tariff"]["class_id"]])
    shown = values
    if shown is None or form != "tariff":
        shown = {**data["tariff"], **{f"p_{k}": v for k, v in data["params"].items()}}
    return page.render(
        "catalogue_tariff.html",
        {
            **data,
            "param_defs": defs,
            "form": form,
            "values": shown,
            "price_values": values if form == "price" and values else {},
            "errors": errors or FormErrors(),
        },
        status_code=422 if errors else 200,
    )


async def tariff(page: Page) -> Response:
    tariff_id = int(page.request.path_params["id"])
    if page.form is None:
        return await _tariff_page(page, tariff_id)
    data = await web.fetch_one(page.conn, TARIFF_SQL, [tariff_id])
    if data is None:
        return forms.not_found(page, page._("This tariff does not exist."))
    defs = await web.fetch_all(page.conn, TARIFF_PARAMS_SQL, [data["tariff"]["class_id"]])
    errors = FormErrors()
    values: dict[str, Any] = {k: forms.text(page, k) for k in ("code", "name", "description")}
    values.update(
        id=tariff_id,
        position=forms.int_or_default(page, "position", errors, "catalog.tariffs.position"),
        active=page.checked("active"),
    )
    values.update(forms.parameter_values(page, defs))
    changed = None
    params_changed = _parameters_changed(data["params"], defs, values)
    if not errors:
        async with page.conn.transaction():
            changed = await collect(
                page, errors, lambda: web.fetch_value(page.conn, TARIFF_UPDATE_SQL, values)
            )
            if params_changed:
                await forms.save_parameters(page, errors, "tariff", tariff_id, defs, values)
            forms.all_or_nothing(errors)
    if errors:
        return await _tariff_page(page, tariff_id, form="tariff", values=values, errors=errors)
    message = "Changes saved." if changed is not None or params_changed else forms.NOTHING_CHANGED
    return web.redirect(f"/catalogue/tariffs/{tariff_id}", page._(message))


TARIFF_UPDATE_SQL = """
update catalog.tariffs
   set code = %(code)s, name = %(name)s, description = %(description)s, position = %(position)s, active = %(active)s
 where id = %(id)s
   and (code, name, description, position, active)
       is distinct from (%(code)s::text, %(name)s::text, %(description)s::text, %(position)s::integer,
                         %(active)s::boolean)
returning id
"""


def _parameters_changed(current: dict[str, Any], defs: list[dict[str, Any]], values: dict[str, Any]) -> bool:
    """Whether the form gives any parameter a value other than the one saved (an unset yes/no is no)."""
    for d in defs:
        saved = current.get(d["code"]) or ("false" if d["type"] == "boolean" else "")
        if (values[f"p_{d['code']}"] or "") != saved:
            return True
    return False


async def price_add(page: Page) -> Response:
    tariff_id = int(page.request.path_params["id"])
    errors = FormErrors()
    valid_from = forms.parse_date(page, "valid_from", errors, required=True)
    fee = forms.parse_decimal(page, "monthly_fee", errors, required=True)
    setup = forms.parse_decimal(page, "setup_fee", errors) or 0
    zone = forms.parse_int(page, "zone_id", errors)
    if not errors:
        _, failed = await page.attempt(
            lambda: page.conn.execute(
                "select catalog.set_price(%s, %s, %s, %s, %s)", [tariff_id, valid_from, fee, setup, zone]
            )
        )
        forms.merge(
            errors,
            forms.rename(failed, {"valid": "valid_from", "monthly_fee": "monthly_fee"}) if failed else None,
        )
    if errors:
        shown = {k: page.field(k) for k in ("valid_from", "monthly_fee", "setup_fee", "zone_id")}
        return await _tariff_page(page, tariff_id, form="price", values=shown, errors=errors)
    return web.redirect(f"/catalogue/tariffs/{tariff_id}#prices", page._("Price added."))


# ---------------------------------------------------------------------------------------------
# A bundle and its items

BUNDLE_SQL = """
select to_jsonb(b) || jsonb_build_object('operator_name', o.name, 'currency', o.currency) as bundle,
       coalesce((select jsonb_agg(jsonb_build_object(
                   'id', i.id, 'tariff_id', t.id, 'tariff', t.name, 'product', p.name,
                   'discount', i.discount_percent,
                   'price', (select tp.monthly_with_vat from catalog.tariff_price(t.id, current_date) tp))
                 order by i.id)
                   from catalog.bundle_items i join catalog.tariffs t on t.id = i.tariff_id
                   join catalog.products p on p.id = t.product_id where i.bundle_id = b.id), '[]') as items,
       coalesce((select jsonb_agg(jsonb_build_object('id', t.id, 'name', t.name, 'product', p.name)
                                  order by p.name, t.position, t.name)
                   from catalog.tariffs t join catalog.products p on p.id = t.product_id
                  where p.operator_id = b.operator_id and t.active), '[]') as tariffs
  from catalog.bundles b
  join crm.operators o on o.id = b.operator_id
 where b.id = %s
"""


async def _bundle_page(
    page: Page,
    bundle_id: int,
    *,
    form: str = "",
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
) -> Response:
    data = await web.fetch_one(page.conn, BUNDLE_SQL, [bundle_id])
    if data is None:
        return forms.not_found(page, page._("This bundle does not exist."))
    return page.render(
        "catalogue_bundle.html",
        {**data, "form": form, "values": values or {}, "errors": errors or FormErrors()},
        status_code=422 if errors else 200,
    )


async def bundle(page: Page) -> Response:
    bundle_id = int(page.request.path_params["id"])
    if page.form is None:
        return await _bundle_page(page, bundle_id)
    values: dict[str, Any] = {k: forms.text(page, k) for k in ("code", "name", "description")}
    values.update(id=bundle_id, active=page.checked("active"))
    done, failed = await page.attempt(lambda: web.fetch_one(page.conn, BUNDLE_UPDATE_SQL, values))
    if failed or done is None:
        return await _bundle_page(page, bundle_id, form="bundle", values=values, errors=failed)
    if not done["found"]:
        return forms.not_found(page, page._("This bundle does not exist."))
    message = "Changes saved." if done["changed"] else forms.NOTHING_CHANGED
    return web.redirect(f"/catalogue/bundles/{bundle_id}", page._(message))


BUNDLE_UPDATE_SQL = """
with u as (
  update catalog.bundles
     set code = %(code)s, name = %(name)s, description = %(description)s, active = %(active)s
   where id = %(id)s
     and (code, name, description, active)
         is distinct from (%(code)s::text, %(name)s::text, %(description)s::text, %(active)s::boolean)
  returning 1
)
select exists (select from u) as changed, exists (select from catalog.bundles where id = %(id)s) as found
"""


async def bundle_item_add(page: Page) -> Response:
    bundle_id = int(page.request.path_params["id"])
    errors = FormErrors()
    values: dict[str, Any] = {
        "bundle_id": bundle_id,
        "tariff_id": forms.parse_int(page, "tariff_id", errors, required=True),
        "discount_percent": forms.parse_decimal(page, "discount_percent", errors) or 0,
    }
    if not errors:
        forms.merge(
            errors,
            (
                await page.attempt(
                    lambda: page.conn.execute(
                        "insert into catalog.bundle_items (bundle_id, tariff_id, discount_percent)"
                        " values (%(bundle_id)s, %(tariff_id)s, %(discount_percent)s)",
                        values,
                    )
                )
            )[1],
        )
    if errors:
        shown = {"tariff_id": page.field("tariff_id"), "discount_percent": page.field("discount_percent")}
        return await _bundle_page(page, bundle_id, form="item", values=shown, errors=forms.rename(errors, {}))
    return web.redirect(f"/catalogue/bundles/{bundle_id}", page._("Item added."))


async def bundle_item_remove(page: Page) -> Response:
    bundle_id = int(page.request.path_params["id"])
    removed = await web.fetch_value(
        page.conn,
        "delete from catalog.bundle_items where id = %s and bundle_id = %s returning id",
        [int(page.request.path_params["iid"]), bundle_id],
    )
    message = "Item removed." if removed is not None else "This bundle has no such item: nothing was removed."
    return web.redirect(f"/catalogue/bundles/{bundle_id}", page._(message))

"""User-defined parameters (RPT-3): typed fields the operator defines for customers, tariffs and
services (per class) and devices. Administrators define them; the database validates values."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from webclient import web
from webclient.staff import counts, forms
from webclient.web import FormErrors, Page

ENTITIES = ("customer", "tariff", "service", "device")
TYPES = ("text", "number", "date", "boolean", "choice", "ip", "mac")

# Values of each definition counted up to counts.CAP (a parameter of every customer has a million):
# above it the page shows the planner's estimate (VALUES).
LIST_SQL = """
select d.*, k.name as class_name,
       (select count(*) from (select from crm.parameter_values v where v.definition_id = d.id limit 1001) as capped) as used
  from crm.parameter_definitions d
  left join catalog.classes k on k.id = d.class_id
 order by d.entity, k.name nulls first, d.position, d.name
"""
VALUES = "crm.parameter_values where definition_id = %s"

INSERT_SQL = """
insert into crm.parameter_definitions (entity, class_id, code, name, type, choices, required, pattern, min_value,
                                       max_value, unit, default_value, show_in_lists, position, active)
values (%(entity)s, %(class_id)s, %(code)s, %(name)s, %(type)s, %(choices)s, %(required)s, %(pattern)s,
        %(min_value)s, %(max_value)s, %(unit)s, %(default_value)s, %(show_in_lists)s, %(position)s, %(active)s)
"""

# Changes only a definition that differs; says whether it changed it and whether it exists.
UPDATE_SQL = """
with u as (
  update crm.parameter_definitions
     set class_id = %(class_id)s, name = %(name)s, type = %(type)s, choices = %(choices)s, required = %(required)s,
         pattern = %(pattern)s, min_value = %(min_value)s, max_value = %(max_value)s, unit = %(unit)s,
         default_value = %(default_value)s, show_in_lists = %(show_in_lists)s, position = %(position)s,
         active = %(active)s
   where id = %(id)s
     and (class_id, name, type, choices, required, pattern, min_value, max_value, unit, default_value, show_in_lists,
          position, active)
         is distinct from (%(class_id)s::bigint, %(name)s::text, %(type)s::text, %(choices)s::text[],
                           %(required)s::boolean, %(pattern)s::text, %(min_value)s::numeric, %(max_value)s::numeric,
                           %(unit)s::text, %(default_value)s::text, %(show_in_lists)s::boolean,
                           %(position)s::integer, %(active)s::boolean)
  returning 1
)
select exists (select from u) as changed, exists (select from crm.parameter_definitions where id = %(id)s) as found
"""


def _values(page: Page, errors: FormErrors) -> dict[str, Any]:
    values: dict[str, Any] = {
        k: forms.text(page, k) for k in ("code", "name", "pattern", "unit", "default_value")
    }
    entity, kind = page.field("entity"), page.field("type")
    values["entity"] = entity if entity in ENTITIES else "customer"
    values["type"] = kind if kind in TYPES else "text"
    values["class_id"] = forms.parse_int(page, "class_id", errors)
    values["min_value"] = forms.parse_decimal(page, "min_value", errors)
    values["max_value"] = forms.parse_decimal(page, "max_value", errors)
    values["position"] = forms.int_or_default(page, "position", errors, "crm.parameter_definitions.position")
    values["choices_text"] = page.field("choices")
    choices = [c.strip() for c in values["choices_text"].replace("\n", ",").split(",") if c.strip()]
    values["choices"] = choices if values["type"] == "choice" else None
    if values["type"] == "choice" and not choices:
        errors.fields["choices"] = page._("A choice needs its choices, separated by commas.")
    for flag in ("required", "show_in_lists", "active"):
        values[flag] = page.checked(flag)
    return values


async def _page(
    page: Page,
    *,
    form: str = "",
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    target: int | None = None,
) -> Response:
    rows = await counts.each(page.conn, await web.fetch_all(page.conn, LIST_SQL), "used", VALUES, "id")
    classes = await web.fetch_all(page.conn, "select id, name from catalog.classes order by name")
    edit = page.request.query_params.get("edit", "")
    if not form and edit.isdigit():
        found = next((r for r in rows if r["id"] == int(edit)), None)
        if found:
            form, target = "edit", found["id"]
            values = {**found, "choices_text": ", ".join(found["choices"] or [])}
    return page.render(
        "parameters_list.html",
        {
            "rows": rows,
            "classes": classes,
            "entities": ENTITIES,
            "types": TYPES,
            "form": form,
            "target": target,
            "values": values or {"entity": "customer", "type": "text", "active": True, "position": 100},
            "errors": errors or FormErrors(),
        },
        status_code=422 if errors else 200,
    )


async def parameter_list(page: Page) -> Response:
    return await _page(page)


async def parameter_add(page: Page) -> Response:
    errors = FormErrors()
    values = _values(page, errors)
    if not errors:
        forms.merge(errors, (await page.attempt(lambda: page.conn.execute(INSERT_SQL, values)))[1])
    if errors:
        return await _page(page, form="new", values=values, errors=forms.rename(errors, {"code_uq": "code"}))
    return web.redirect("/parameters", page._("Parameter defined."))


async def parameter_edit(page: Page) -> Response:
    definition_id = int(page.request.path_params["id"])
    errors = FormErrors()
    values = {**_values(page, errors), "id": definition_id}
    done = None
    if not errors:
        done, failed = await page.attempt(lambda: web.fetch_one(page.conn, UPDATE_SQL, values))
        forms.merge(errors, failed)
    if errors or done is None:
        return await _page(page, form="edit", values=values, errors=errors, target=definition_id)
    if not done["found"]:
        return forms.not_found(page, page._("This parameter does not exist."))
    return web.redirect("/parameters", page._("Changes saved." if done["changed"] else forms.NOTHING_CHANGED))

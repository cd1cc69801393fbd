"""Sites (NET-2): POPs, towers, cabinets and offices with their address and GPS, the devices at
each and the sub-sites behind it (sites whose devices hang on devices of this one)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from webclient import web
from webclient.staff import counts, forms
from webclient.web import FormErrors, Page

KINDS = ("core", "pop", "provozovna", "tower", "cabinet", "datacenter")
FIELDS = ("code", "name", "kind", "street", "house_no", "city", "zip", "latitude", "longitude", "note")

# Devices per site counted up to a cap (a site whose CPEs are counted there may hold thousands).
LIST_SQL = """
select s.id, s.code, s.name, s.kind, s.city, s.street, s.house_no, s.latitude, s.longitude, s.active,
       (select count(*) from (select from net.devices d where d.site_id = s.id and d.state <> 'retired' limit 1001) as capped) as devices
  from net.sites s
 order by s.active desc, s.code
"""
SITE_DEVICES = "net.devices where site_id = %s and state <> 'retired'"

SITE_SQL = "select * from net.sites where id = %s"

DEVICES_SQL = """
select d.id, d.name, d.role, d.state, d.is_core, host(d.mgmt_address) as mgmt_address, m.kind as model_kind,
       m.manufacturer, m.model, p.id as parent_id, p.name as parent_name
  from net.devices d
  left join net.device_models m on m.id = d.model_id
  left join net.devices p on p.id = d.parent_device_id
 where d.site_id = %s and d.state <> 'retired'
 order by d.is_core desc, d.role, d.name
"""

# Sub-sites: other sites whose devices hang directly on a device of this site.
SUBSITES_SQL = """
select s.id, s.code, s.name, s.kind, count(*) as devices
  from net.devices d
  join net.devices p on p.id = d.parent_device_id
  join net.sites s on s.id = d.site_id
 where p.site_id = %(id)s and d.site_id <> %(id)s
 group by s.id, s.code, s.name, s.kind
 order by s.code
"""

UPLINK_SQL = """
select distinct s.id, s.code, s.name
  from net.devices d
  join net.devices p on p.id = d.parent_device_id
  join net.sites s on s.id = p.site_id
 where d.site_id = %(id)s and p.site_id <> %(id)s
"""

INSERT_SQL = """
insert into net.sites (code, name, kind, street, house_no, city, zip, latitude, longitude, note, active)
values (%(code)s, %(name)s, %(kind)s, %(street)s, %(house_no)s, %(city)s, %(zip)s, %(latitude)s::numeric,
        %(longitude)s::numeric, %(note)s, %(active)s)
returning id
"""

UPDATE_SQL = """
update net.sites
   set code = %(code)s, name = %(name)s, kind = %(kind)s, street = %(street)s, house_no = %(house_no)s,
       city = %(city)s, zip = %(zip)s, latitude = %(latitude)s::numeric, longitude = %(longitude)s::numeric,
       note = %(note)s, active = %(active)s
 where id = %(id)s
   and (code, name, kind, street, house_no, city, zip, latitude, longitude, note, active)
       is distinct from (%(code)s::text, %(name)s::text, %(kind)s::text, %(street)s::text, %(house_no)s::text,
                         %(city)s::text, %(zip)s::text, %(latitude)s::numeric, %(longitude)s::numeric,
                         %(note)s::text, %(active)s::boolean)
returning id
"""


def _values(page: Page) -> dict[str, Any]:
    values: dict[str, Any] = {f: page.field(f) or None for f in FIELDS}
    for coordinate in ("latitude", "longitude"):
        if values[coordinate]:
            values[coordinate] = values[coordinate].replace(",", ".")
    values["kind"] = values["kind"] or "pop"
    values["active"] = page.checked("active")
    return values


async def site_list(page: Page) -> Response:
    sites = await web.fetch_all(page.conn, LIST_SQL)
    return page.render(
        "network_sites.html", {"sites": await counts.each(page.conn, sites, "devices", SITE_DEVICES, "id")}
    )


async def site_new(page: Page) -> Response:
    values: dict[str, Any] = {"kind": "pop", "active": True}
    errors = FormErrors()
    if page.form is not None:
        values = _values(page)
        new_id, failed = await page.attempt(lambda: web.fetch_value(page.conn, INSERT_SQL, values))
        if failed is None:
            return web.redirect(
                f"/network/sites/{new_id}", page._("Site {name} created.", name=values["name"])
            )
        errors = failed
    return page.render(
        "network_site_form.html",
        {"values": values, "errors": errors, "kinds": KINDS, "site": None},
        status_code=422 if errors else 200,
    )


async def site_detail(page: Page) -> Response:
    site_id = int(page.request.path_params["id"])
    site = await web.fetch_one(page.conn, SITE_SQL, [site_id])
    if site is None:
        return forms.not_found(page, page._("This site does not exist."))
    values: dict[str, Any] = dict(site)
    errors = FormErrors()
    if page.form is not None:
        values = {**_values(page), "id": site_id}
        changed, failed = await page.attempt(lambda: web.fetch_value(page.conn, UPDATE_SQL, values))
        if failed is None:
            message = "Changes saved." if changed is not None else forms.NOTHING_CHANGED
            return web.redirect(f"/network/sites/{site_id}", page._(message))
        errors = failed
    return page.render(
        "network_site.html",
        {
            "site": site,
            "values": values,
            "errors": errors,
            "kinds": KINDS,
            "devices": await web.fetch_all(page.conn, DEVICES_SQL, [site_id]),
            "subsites": await web.fetch_all(page.conn, SUBSITES_SQL, {"id": site_id}),
            "uplinks": await web.fetch_all(page.conn, UPLINK_SQL, {"id": site_id}),
            "vlans": await web.fetch_all(
                page.conn, "select id, vid, name from net.vlans where site_id = %s order by vid", [site_id]
            ),
            "prefixes": await web.fetch_all(
                page.conn,
                "select id, prefix, kind, description from net.prefixes where site_id = %s order by prefix",
                [site_id],
            ),
        },
        status_code=422 if errors else 200,
    )

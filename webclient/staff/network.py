"""Network devices (NET-1, NET-2, NET-5): the list with search, the device card with its class
parameters, interfaces, links, place in the topology, path to the core, the services it carries,
the customers an outage would affect, its event log and history.

Everyone on the staff reads; technicians (and admins) change the inventory. The database
enforces it: a write by anyone else ends on the "not allowed" page. A credential's secret is
never read back: the card shows the credential's name, and a technician may replace the secret
through a form that only writes it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response

from webclient import web
from webclient.staff import forms
from webclient.staff.forms import NOTHING_CHANGED
from webclient.web import FormErrors, Page

PAGE_SIZE = 50
MAC_RE = re.compile(r"^[0-9A-Fa-f]{2}([:.-]?[0-9A-Fa-f]{2}){5}$")


def parse_ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_interface(text.strip()).ip) if text.strip() else None
    except ValueError:
        return None


def like_pattern(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def int_or_none(value: str) -> int | None:
    return int(value) if value.strip().isdigit() else None


# ---------------------------------------------------------------------------------------------
# List and search

LIST_SQL = """
select d.id, d.name, d.role, d.state, d.serial_no, host(d.mgmt_address) as mgmt_address, d.is_core, d.managed,
       m.manufacturer, m.model, m.kind as model_kind, s.id as site_id, s.code as site_code, s.name as site_name,
       (select host(a.address) from net.ip_assignments a
         where a.device_id = d.id and upper_inf(a.valid) order by a.id limit 1) as ip,
       p.id as parent_id, p.name as parent_name
  from net.devices d
  left join net.device_models m on m.id = d.model_id
  left join net.sites s on s.id = d.site_id
  left join net.devices p on p.id = d.parent_device_id
 where (%(site)s::bigint is null or d.site_id = %(site)s)
   and (%(role)s::text is null or d.role = %(role)s)
   and (%(like)s::text is null or d.name ilike %(like)s or d.serial_no ilike %(like)s
        or d.identifier_code ilike %(like)s)
   and (%(ip)s::inet is null
        or d.mgmt_address = %(ip)s::inet
        or exists (select from net.ip_assignments a
                    where a.address >>= %(ip)s::inet and upper_inf(a.valid)
                      and (a.device_id = d.id
                           or a.interface_id in (select i.id from net.interfaces i where i.device_id = d.id)
                           or a.service_id in (select sd.service_id from net.service_devices sd
                                                where sd.device_id = d.id and upper_inf(sd.valid)))))
   and (%(mac)s::macaddr is null
        or exists (select from net.interfaces i where i.device_id = d.id and i.mac = %(mac)s::macaddr)
        or exists (select from net.mac_assignments ma
                    where ma.mac = %(mac)s::macaddr and upper_inf(ma.valid)
                      and (ma.device_id = d.id
                           or ma.service_id in (select sd.service_id from net.service_devices sd
                                                 where sd.device_id = d.id and upper_inf(sd.valid)))))
   and (%(after_name)s::text is null or (d.name, d.id) > (%(after_name)s::text, %(after_id)s::bigint))
 order by d.name, d.id
 limit %(limit)s
"""

SITE_OPTIONS_SQL = "select id, code, name from net.sites order by code"


async def device_list(page: Page) -> Response:
    qp = page.request.query_params
    q = qp.get("q", "").strip()
    ip = parse_ip(q) if q else None
    mac = q if q and MAC_RE.match(q) and ip is None else None
    params = {
        "site": int_or_none(qp.get("site", "")),
        "role": qp.get("role") if qp.get("role") in ("operator", "customer") else None,
        "like": like_pattern(q) if q and ip is None and mac is None else None,
        "ip": ip,
        "mac": mac,
        "after_name": qp.get("after_name") if qp.get("after_id", "").isdigit() else None,
        "after_id": int_or_none(qp.get("after_id", "")),
        "limit": PAGE_SIZE + 1,
    }
    rows = await web.fetch_all(page.conn, LIST_SQL, params)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    next_query = None
    if more:
        keep = {k: v for k, v in (("q", q), ("site", qp.get("site", "")), ("role", qp.get("role", ""))) if v}
        next_query = {**keep, "after_name": rows[-1]["name"], "after_id": rows[-1]["id"]}
    return page.render(
        "network_devices.html",
        {
            "devices": rows,
            "q": q,
            "search_kind": "ip" if ip else "mac" if mac else "text" if q else "",
            "site": params["site"],
            "role": params["role"] or "",
            "sites": await web.fetch_all(page.conn, SITE_OPTIONS_SQL),
            "next_query": next_query,
            "first_page": params["after_id"] is None,
        },
    )


# ---------------------------------------------------------------------------------------------
# The card

DEVICE_SQL = """
select d.id, d.name, d.role, d.state, d.serial_no, d.identifier_code, host(d.mgmt_address) as mgmt_address,
       d.managed, d.is_core, d.note, d.created_at, d.updated_at, d.model_id, d.class_id, d.site_id,
       d.parent_device_id, d.parent_interface_id, d.store_id, d.credential_id,
       m.manufacturer, m.model, m.kind as model_kind, c.name as class_name,
       s.code as site_code, s.name as site_name,
       cr.name as credential_name, cr.kind as credential_kind, cr.username as credential_username,
       cr.updated_at as credential_updated_at,
       p.name as parent_name, pi.name as parent_interface_name, st.name as store_name, st.kind as store_kind
  from net.devices d
  left join net.device_models m on m.id = d.model_id
  left join catalog.classes c on c.id = d.class_id
  left join net.sites s on s.id = d.site_id
  left join net.credentials cr on cr.id = d.credential_id
  left join net.devices p on p.id = d.parent_device_id
  left join net.interfaces pi on pi.id = d.parent_interface_id
  left join net.stores st on st.id = d.store_id
 where d.id = %s
"""

PARAMETERS_SQL = """
select pd.id, pd.code, pd.name, pd.type, pd.unit, pd.choices, pd.required, pd.position, pv.value
  from crm.parameter_definitions pd
  left join crm.parameters pv on pv.definition_id = pd.id and pv.entity = 'device' and pv.entity_id = %(id)s
 where pd.entity = 'device' and pd.active
   and (pd.class_id is null or pd.class_id = (select class_id from net.devices where id = %(id)s))
 order by pd.position, pd.name
"""

INTERFACES_SQL = """
select i.id, i.name, i.kind, i.mac, i.speed_mbps, i.if_index, i.note,
       k.id as link_id, k.medium, k.speed_mbps as link_speed,
       o.id as other_interface_id, o.name as other_interface, od.id as other_device_id, od.name as other_device,
       (select string_agg(abbrev(a.address), ', ')
          from net.ip_assignments a where a.interface_id = i.id and upper_inf(a.valid)) as addresses,
       exists (select from net.devices ch where ch.parent_interface_id = i.id) as feeds_children
  from net.interfaces i
  left join net.links k on i.id in (k.a_interface_id, k.b_interface_id)
  left join net.interfaces o on o.id = case when k.a_interface_id = i.id then k.b_interface_id else k.a_interface_id end
  left join net.devices od on od.id = o.device_id
 where i.device_id = %s
 order by i.name, k.id
"""

CHILDREN_SQL = """
select d.id, d.name, d.role, d.state, i.name as via_interface, m.kind as model_kind
  from net.devices d
  left join net.interfaces i on i.id = d.parent_interface_id
  left join net.device_models m on m.id = d.model_id
 where d.parent_device_id = %s
 order by d.role, d.name
 limit 200
"""

SERVICES_SQL = """
select sd.id, sd.role, sd.valid, upper_inf(sd.valid) as current, s.id as service_id, s.state,
       p.name as product, c.id as customer_id, c.customer_no, crm.customer_name(c) as customer_name,
       i.name as interface
  from net.service_devices sd
  join crm.services s on s.id = sd.service_id
  join catalog.products p on p.id = s.product_id
  join crm.customers c on c.id = s.customer_id
  left join net.interfaces i on i.id = sd.interface_id
 where sd.device_id = %s
 order by upper_inf(sd.valid) desc, lower(sd.valid) desc
 limit 100
"""

# The first rows of the services an outage would affect, each row with the totals of all of them.
AFFECTED_SQL = """
with a as (select * from net.affected_customers(%s))
select a.customer_id, a.customer_no, a.customer_name, a.service_id, a.product, a.state, a.via_device_id,
       a.via_device, t.services, t.customers
  from a cross join (select count(*) as services, count(distinct customer_id) as customers from a) t
 order by a.customer_name, a.service_id
 limit 200
"""

ADDRESSES_SQL = """
select a.id, host(a.address) as host, abbrev(a.address) as address_text, a.valid,
       upper_inf(a.valid) as current, a.service_id, a.note, pl.name as pool,
       i.name as interface
  from net.ip_assignments a
  left join net.pools pl on pl.id = a.pool_id
  left join net.interfaces i on i.id = a.interface_id
 where a.device_id = %(id)s or a.interface_id in (select id from net.interfaces where device_id = %(id)s)
 order by upper_inf(a.valid) desc, lower(a.valid) desc
 limit 50
"""

MACS_SQL = """
select m.mac, m.valid, upper_inf(m.valid) as current, m.service_id
  from net.mac_assignments m where m.device_id = %s
 order by upper_inf(m.valid) desc, lower(m.valid) desc limit 20
"""

EVENTS_SQL = """
select e.id, e.happened_at, e.kind, e.message, u.full_name as user_name
  from net.device_events e left join auth.users u on u.id = e.user_id
 where e.device_id = %s
 order by e.id desc
 limit 50
"""

MOVEMENTS_SQL = """
select m.id, m.kind, m.moved_at, m.note, m.service_id, fs.id as from_id, fs.name as from_store,
       ts.id as to_id, ts.name as to_store, u.full_name as user_name
  from net.stock_movements m
  left join net.stores fs on fs.id = m.from_store_id
  left join net.stores ts on ts.id = m.to_store_id
  left join auth.users u on u.id = m.user_id
 where m.device_id = %s
 order by m.id desc
 limit 50
"""

MODELS_SQL = "select id, manufacturer, model, kind from net.device_models order by manufacturer, model"
CREDENTIALS_SQL = "select id, name, kind, username from net.credentials order by name"
POOLS_SQL = (
    "select id, name, host(first_address) as first, host(last_address) as last from net.pools order by name"
)
STORES_SQL = "select id, name, kind from net.stores where active order by kind <> 'warehouse', name"
DEVICE_NAMES_SQL = """
select name from net.devices where role = 'operator' and state in ('active', 'faulty') order by name limit 2000
"""

ROLES = ("operator", "customer")
STATES = ("stock", "active", "faulty", "retired")
INTERFACE_KINDS = ("ethernet", "sfp", "wireless", "pon", "virtual", "other")
CREDENTIAL_KINDS = ("snmp_v2c", "snmp_v3", "ssh", "routeros_api", "http")
MEDIA = ("fibre", "radio", "copper")


async def _card(page: Page, device_id: int, **given: Any) -> Response:
    device = await web.fetch_one(page.conn, DEVICE_SQL, [device_id])
    if device is None:
        return forms.not_found(page, page._("This device does not exist."))
    affected = await web.fetch_all(page.conn, AFFECTED_SQL, [device_id])
    # From the core down: each step carries the link to the one above it.
    path = await web.fetch_all(
        page.conn, "select * from net.path_to_core(%s) order by depth desc", [device_id]
    )
    may_edit = page.user.has("technician")
    edit_lists: dict[str, Any] = {}
    if may_edit:
        edit_lists = {
            "models": await web.fetch_all(page.conn, MODELS_SQL),
            "credentials": await web.fetch_all(page.conn, CREDENTIALS_SQL),
            "pools": await web.fetch_all(page.conn, POOLS_SQL),
            "device_names": [r["name"] for r in await web.fetch_all(page.conn, DEVICE_NAMES_SQL)],
        }
    failed = any(isinstance(v, FormErrors) and v for v in given.values())
    context: dict[str, Any] = {
        "device": device,
        "parameters": await web.fetch_all(page.conn, PARAMETERS_SQL, {"id": device_id}),
        "interfaces": await web.fetch_all(page.conn, INTERFACES_SQL, [device_id]),
        "children": await web.fetch_all(page.conn, CHILDREN_SQL, [device_id]),
        "services": await web.fetch_all(page.conn, SERVICES_SQL, [device_id]),
        "affected": affected,
        "affected_count": affected[0]["services"] if affected else 0,
        "affected_customers": affected[0]["customers"] if affected else 0,
        "core_path": path,
        "reaches_core": any(r["is_core"] for r in path),
        "addresses": await web.fetch_all(page.conn, ADDRESSES_SQL, {"id": device_id}),
        "macs": await web.fetch_all(page.conn, MACS_SQL, [device_id]),
        "events": await web.fetch_all(page.conn, EVENTS_SQL, [device_id]),
        "movements": await web.fetch_all(page.conn, MOVEMENTS_SQL, [device_id]),
        "sites": await web.fetch_all(page.conn, SITE_OPTIONS_SQL),
        "stores": await web.fetch_all(page.conn, STORES_SQL),
        "may_edit": may_edit,
        "roles": ROLES,
        "states": STATES,
        "interface_kinds": INTERFACE_KINDS,
        "credential_kinds": CREDENTIAL_KINDS,
        "media": MEDIA,
        **edit_lists,
    }
    defaults: dict[str, Any] = {
        "values": device,
        "errors": FormErrors(),
        "parent": {
            "parent_device_id": device["parent_name"] or "",
            "parent_interface_id": device["parent_interface_name"] or "",
        },
        "parent_errors": FormErrors(),
        "iface": {"kind": "ethernet"},
        "iface_errors": FormErrors(),
        "link": {"medium": "fibre"},
        "link_errors": FormErrors(),
        "param_values": {p["code"]: p["value"] for p in context["parameters"]},
        "param_errors": FormErrors(),
        "cred": {
            "name": device["credential_name"] or "",
            "kind": device["credential_kind"] or "snmp_v2c",
            "username": device["credential_username"] or "",
        },
        "cred_errors": FormErrors(),
        "addr": {},
        "addr_errors": FormErrors(),
        "note_errors": FormErrors(),
    }
    defaults.update({k: v for k, v in given.items() if v is not None})
    return page.render("network_device.html", {**context, **defaults}, status_code=422 if failed else 200)


async def device_detail(page: Page) -> Response:
    device_id = int(page.request.path_params["id"])
    if page.form is None:
        return await _card(page, device_id)
    values = _device_values(page)
    values["id"] = device_id
    done, failed = await page.attempt(lambda: web.fetch_one(page.conn, UPDATE_SQL, values))
    if failed is None and done is not None:
        if not done["found"]:
            return forms.not_found(page, page._("This device does not exist."))
        message = "Changes saved." if done["changed"] else NOTHING_CHANGED
        return web.redirect(f"/network/devices/{device_id}", page._(message))
    return await _card(page, device_id, values=values, errors=failed)


UPDATE_SQL = """
with u as (
  update net.devices
     set name = %(name)s, model_id = %(model_id)s, role = %(role)s, site_id = %(site_id)s, serial_no = %(serial_no)s,
         identifier_code = %(identifier_code)s, mgmt_address = %(mgmt_address)s::inet, managed = %(managed)s,
         state = %(state)s, is_core = %(is_core)s, note = %(note)s,
         class_id = coalesce((select class_id from net.device_models where id = %(model_id)s), class_id)
   where id = %(id)s
     and (name, model_id, role, site_id, serial_no, identifier_code, mgmt_address, managed, state, is_core, note)
         is distinct from (%(name)s::text, %(model_id)s::bigint, %(role)s::text, %(site_id)s::bigint,
                           nullif(btrim(%(serial_no)s::text), ''), %(identifier_code)s::text, %(mgmt_address)s::inet,
                           %(managed)s::boolean, %(state)s::text, %(is_core)s::boolean, %(note)s::text)
  returning 1
)
select exists (select from u) as changed, exists (select from net.devices where id = %(id)s) as found
"""

INSERT_SQL = """
insert into net.devices (name, model_id, role, site_id, serial_no, identifier_code, mgmt_address, managed, state,
                         is_core, note)
values (%(name)s, %(model_id)s, %(role)s, %(site_id)s, %(serial_no)s, %(identifier_code)s, %(mgmt_address)s::inet,
        %(managed)s, %(state)s, %(is_core)s, %(note)s)
returning id
"""


def _device_values(page: Page) -> dict[str, Any]:
    return {
        "name": page.field("name") or None,
        "model_id": int_or_none(page.field("model_id")),
        "role": page.field("role") or "operator",
        "site_id": int_or_none(page.field("site_id")),
        "serial_no": page.field("serial_no") or None,
        "identifier_code": page.field("identifier_code") or None,
        "mgmt_address": page.field("mgmt_address") or None,
        "managed": page.checked("managed"),
        "state": page.field("state") or "active",
        "is_core": page.checked("is_core"),
        "note": page.field("note") or None,
    }


async def device_new(page: Page) -> Response:
    values: dict[str, Any] = {"role": "operator", "state": "active"}
    site = page.request.query_params.get("site", "")
    if site.isdigit():
        values["site_id"] = int(site)
    errors = FormErrors()
    if page.form is not None:
        values = _device_values(page)
        new_id, failed = await page.attempt(lambda: web.fetch_value(page.conn, INSERT_SQL, values))
        if failed is None:
            return web.redirect(
                f"/network/devices/{new_id}", page._("Device {name} created.", name=values["name"])
            )
        errors = failed
    return page.render(
        "network_device_new.html",
        {
            "values": values,
            "errors": errors,
            "models": await web.fetch_all(page.conn, MODELS_SQL),
            "sites": await web.fetch_all(page.conn, SITE_OPTIONS_SQL),
            "roles": ROLES,
            "states": STATES,
        },
        status_code=422 if errors else 200,
    )


async def find_device(page: Page, text: str) -> int | None:
    """A device by its id or its exact name (the first of that name)."""
    if text.isdigit():
        found = await web.fetch_value(page.conn, "select id from net.devices where id = %s", [int(text)])
        if found is not None:
            return int(found)
    found = await web.fetch_value(
        page.conn, "select id from net.devices where name = %s order by role, id limit 1", [text]
    )
    return int(found) if found is not None else None


async def find_interface(page: Page, device_id: int, text: str) -> int | None:
    found = await web.fetch_value(
        page.conn, "select id from net.interfaces where device_id = %s and name = %s", [device_id, text]
    )
    return int(found) if found is not None else None


PARENT_SQL = """
with u as (
  update net.devices set parent_device_id = %(parent)s, parent_interface_id = %(interface)s
   where id = %(id)s
     and (parent_device_id, parent_interface_id) is distinct from (%(parent)s::bigint, %(interface)s::bigint)
  returning 1
)
select exists (select from u) as changed, exists (select from net.devices where id = %(id)s) as found
"""


async def device_parent(page: Page) -> Response:
    """Hang the device on another device (and one of its interfaces); a loop is refused."""
    device_id = int(page.request.path_params["id"])
    parent = {
        "parent_device_id": page.field("parent_device_id"),
        "parent_interface_id": page.field("parent_interface_id"),
    }
    errors = FormErrors()
    parent_id: int | None = None
    interface_id: int | None = None
    if parent["parent_device_id"]:
        parent_id = await find_device(page, parent["parent_device_id"])
        if parent_id is None:
            errors.fields["parent_device_id"] = page._("There is no device of this name.")
        elif parent["parent_interface_id"]:
            interface_id = await find_interface(page, parent_id, parent["parent_interface_id"])
            if interface_id is None:
                errors.fields["parent_interface_id"] = page._(
                    "The parent device has no interface of this name."
                )
    if not errors:
        done, failed = await page.attempt(
            lambda: web.fetch_one(
                page.conn,
                PARENT_SQL,
                {"parent": parent_id, "interface": interface_id, "id": device_id},
            )
        )
        if failed is None and done is not None:
            if not done["found"]:
                return forms.not_found(page, page._("This device does not exist."))
            message = "The device hangs on its new parent." if done["changed"] else NOTHING_CHANGED
            return web.redirect(f"/network/devices/{device_id}#topology", page._(message))
        errors = failed or errors
    return await _card(page, device_id, parent=parent, parent_errors=errors)


INSERT_INTERFACE_SQL = """
insert into net.interfaces (device_id, name, kind, mac, speed_mbps, if_index, note)
values (%(device_id)s, %(name)s, %(kind)s, %(mac)s::macaddr, %(speed_mbps)s, %(if_index)s, %(note)s)
"""

UPDATE_INTERFACE_SQL = """
update net.interfaces
   set name = %(name)s, kind = %(kind)s, mac = %(mac)s::macaddr, speed_mbps = %(speed_mbps)s, if_index = %(if_index)s,
       note = %(note)s
 where id = %(id)s and device_id = %(device_id)s
   and (name, kind, mac, speed_mbps, if_index, note)
       is distinct from (%(name)s::text, %(kind)s::text, %(mac)s::macaddr, %(speed_mbps)s::integer,
                         %(if_index)s::integer, %(note)s::text)
returning id
"""


def _interface_values(page: Page, device_id: int) -> dict[str, Any]:
    speed, if_index = page.field("speed_mbps"), page.field("if_index")
    return {
        "device_id": device_id,
        "name": page.field("name") or None,
        "kind": page.field("kind") or "ethernet",
        "mac": page.field("mac") or None,
        "speed_mbps": int(speed) if speed.isdigit() else speed or None,
        "if_index": int(if_index) if if_index.isdigit() else if_index or None,
        "note": page.field("note") or None,
    }


async def interface_add(page: Page) -> Response:
    device_id = int(page.request.path_params["id"])
    iface = _interface_values(page, device_id)
    _, failed = await page.attempt(lambda: page.conn.execute(INSERT_INTERFACE_SQL, iface))
    if failed is None:
        return web.redirect(
            f"/network/devices/{device_id}#interfaces", page._("Interface {name} added.", name=iface["name"])
        )
    return await _card(page, device_id, iface=iface, iface_errors=failed)


async def interface_edit(page: Page) -> Response:
    device_id = int(page.request.path_params["id"])
    interface_id = int(page.request.path_params["iid"])
    current = await web.fetch_one(
        page.conn,
        "select i.*, d.name as device_name from net.interfaces i join net.devices d on d.id = i.device_id"
        " where i.id = %s and i.device_id = %s",
        [interface_id, device_id],
    )
    if current is None:
        return forms.not_found(page, page._("This interface does not exist."))
    values: dict[str, Any] = dict(current)
    errors = FormErrors()
    if page.form is not None:
        values = {**_interface_values(page, device_id), "id": interface_id}
        changed, failed = await page.attempt(lambda: web.fetch_value(page.conn, UPDATE_INTERFACE_SQL, values))
        if failed is None:
            message = "Changes saved." if changed is not None else NOTHING_CHANGED
            return web.redirect(f"/network/devices/{device_id}#interfaces", page._(message))
        errors = failed
    return page.render(
        "network_interface.html",
        {"values": values, "current": current, "errors": errors, "interface_kinds": INTERFACE_KINDS},
        status_code=422 if errors else 200,
    )


async def link_add(page: Page) -> Response:
    """Link one of this device's interfaces to an interface of another device (created if missing)."""
    device_id = int(page.request.path_params["id"])
    speed = page.field("speed_mbps")
    link: dict[str, Any] = {
        "a_interface_id": page.field("a_interface_id"),
        "b_device": page.field("b_device"),
        "b_interface": page.field("b_interface"),
        "medium": page.field("medium") or "fibre",
        "speed_mbps": int(speed) if speed.isdigit() else speed or None,
        "note": page.field("note") or None,
    }
    errors = FormErrors()
    a_id = int_or_none(link["a_interface_id"])
    if a_id is None:
        errors.fields["a_interface_id"] = page._("This field is required.")
    other = await find_device(page, link["b_device"]) if link["b_device"] else None
    if other is None:
        errors.fields["b_device"] = page._("There is no device of this name.")
    elif other == device_id:
        errors.fields["b_device"] = page._("Choose another device.")
    if not link["b_interface"]:
        errors.fields["b_interface"] = page._("This field is required.")
    if not errors and other is not None:

        async def create() -> None:
            b_id = await find_interface(page, other, link["b_interface"])
            if b_id is None:
                b_id = await web.fetch_value(
                    page.conn,
                    "insert into net.interfaces (device_id, name, kind) values (%s, %s, %s) returning id",
                    [other, link["b_interface"], "wireless" if link["medium"] == "radio" else "ethernet"],
                )
            await page.conn.execute(
                "insert into net.links (a_interface_id, b_interface_id, medium, speed_mbps, note)"
                " select %(a)s, %(b)s, %(medium)s, %(speed)s, %(note)s"
                "  where exists (select from net.interfaces where id = %(a)s and device_id = %(device)s)",
                {
                    "a": a_id,
                    "b": b_id,
                    "medium": link["medium"],
                    "speed": link["speed_mbps"],
                    "note": link["note"],
                    "device": device_id,
                },
            )

        _, failed = await page.attempt(create)
        if failed is None:
            return web.redirect(f"/network/devices/{device_id}#interfaces", page._("Link added."))
        errors = failed
        if "links_pair_uq" in str(errors.general) or errors.state == "23505":
            errors = FormErrors(fields={"b_interface": page._("These two interfaces are already linked.")})
    return await _card(page, device_id, link=link, link_errors=errors)


async def link_delete(page: Page) -> Response:
    device_id = int(page.request.path_params["id"])
    link_id = int(page.request.path_params["lid"])
    removed = await web.fetch_value(
        page.conn,
        "delete from net.links where id = %s and exists (select from net.interfaces i where i.device_id = %s"
        " and i.id in (a_interface_id, b_interface_id)) returning id",
        [link_id, device_id],
    )
    message = "Link removed." if removed is not None else "This device has no such link: nothing was removed."
    return web.redirect(f"/network/devices/{device_id}#interfaces", page._(message))


def _set_parameter(page: Page, device_id: int, code: str, value: str) -> Callable[[], Awaitable[object]]:
    async def run() -> object:
        return await page.conn.execute(
            "select crm.set_parameter('device', %s, %s, %s)", [device_id, code, value]
        )

    return run


async def parameters_save(page: Page) -> Response:
    device_id = int(page.request.path_params["id"])
    definitions = await web.fetch_all(page.conn, PARAMETERS_SQL, {"id": device_id})
    submitted = {d["code"]: page.field("p_" + d["code"]) for d in definitions}
    errors = FormErrors()
    changed = 0
    for definition in definitions:
        code = definition["code"]
        if (definition["value"] or "") == submitted[code]:
            continue
        _, failed = await page.attempt(_set_parameter(page, device_id, code, submitted[code]))
        if failed is not None:
            errors.fields.update(failed.fields)
            errors.general.extend(failed.general)
        changed += 1
    if not errors:
        message = "Parameters saved." if changed else NOTHING_CHANGED
        return web.redirect(f"/network/devices/{device_id}#parameters", page._(message))
    return await _card(page, device_id, param_values=submitted, param_errors=errors)


async def credential_save(page: Page) -> Response:
    """Choose or create the device's credential and (optionally) replace its secret, never showing it."""
    device_id = int(page.request.path_params["id"])
    cred = {
        "name": page.field("name"),
        "kind": page.field("kind") or "snmp_v2c",
        "username": page.field("username") or None,
    }
    secret = page.form.get("secret") if page.form is not None else None
    secret = secret if isinstance(secret, str) and secret != "" else None
    errors = FormErrors()
    if not cred["name"]:
        errors.fields["name"] = page._("This field is required.")
    if not errors:

        async def save() -> int:
            """How many rows it changed (a secret given counts: it cannot be read to compare)."""
            existing = await web.fetch_value(
                page.conn, "select id from net.credentials where name = %s", [cred["name"]]
            )
            changed = 0
            if existing is None:
                if secret is None:
                    raise _MissingSecret
                cred_id = await web.fetch_value(
                    page.conn,
                    "insert into net.credentials (name, kind, username, secret) values (%s, %s, %s, %s) returning id",
                    [cred["name"], cred["kind"], cred["username"], secret],
                )
                changed += 1
            else:
                cred_id = existing
                # Staff may not read the secret, so it is written only when a new one is given.
                cur = await page.conn.execute(
                    "update net.credentials set kind = %(kind)s, username = %(username)s where id = %(id)s"
                    " and (kind, username) is distinct from (%(kind)s::text, %(username)s::text)",
                    {"kind": cred["kind"], "username": cred["username"], "id": cred_id},
                )
                changed += cur.rowcount
                if secret is not None:
                    cur = await page.conn.execute(
                        "update net.credentials set secret = %s where id = %s", [secret, cred_id]
                    )
                    changed += cur.rowcount
            cur = await page.conn.execute(
                "update net.devices set credential_id = %(cred)s where id = %(id)s"
                " and credential_id is distinct from %(cred)s::bigint",
                {"cred": cred_id, "id": device_id},
            )
            return changed + cur.rowcount

        try:
            changed, failed = await page.attempt(save)
        except _MissingSecret:
            failed = FormErrors(fields={"secret": page._("A new credential needs its secret.")})
        if failed is None:
            message = "Credential saved." if changed else NOTHING_CHANGED
            return web.redirect(f"/network/devices/{device_id}#management", page._(message))
        errors = failed
    return await _card(page, device_id, cred=cred, cred_errors=errors)


class _MissingSecret(Exception):
    pass


async def note_add(page: Page) -> Response:
    device_id = int(page.request.path_params["id"])
    message = page.field("message")
    if not message:
        return await _card(
            page, device_id, note_errors=FormErrors(fields={"message": page._("This field is required.")})
        )
    kind = page.field("kind") or "note"
    await page.conn.execute("select net.log_device_event(%s, %s, %s)", [device_id, kind, message])
    return web.redirect(f"/network/devices/{device_id}#events", page._("Note added."))


async def address_add(page: Page) -> Response:
    """Give the device an address: a typed one (net.assign_ip) or the next free one of a pool."""
    device_id = int(page.request.path_params["id"])
    addr: dict[str, Any] = {
        "address": page.field("address"),
        "pool_id": page.field("pool_id"),
        "note": page.field("note") or None,
    }
    errors = FormErrors()
    pool = int_or_none(addr["pool_id"])
    if addr["address"]:
        _, failed = await page.attempt(
            lambda: page.conn.execute(
                "select net.assign_ip(%s::inet, null, %s, now(), %s)",
                [addr["address"], device_id, addr["note"]],
            )
        )
    elif pool is not None:
        _, failed = await page.attempt(
            lambda: page.conn.execute("select net.allocate_ip(%s, null, %s)", [pool, device_id])
        )
        if failed is not None and not failed.fields:
            failed = FormErrors(fields={"pool_id": " ".join(failed.general)}, state=failed.state)
    else:
        failed = FormErrors(fields={"address": page._("Type an address or choose a pool.")})
    if failed is None:
        return web.redirect(f"/network/devices/{device_id}#addresses", page._("Address assigned."))
    errors = failed
    return await _card(page, device_id, addr=addr, addr_errors=errors)


async def address_release(page: Page) -> Response:
    device_id = int(page.request.path_params["id"])
    assignment = int(page.request.path_params["aid"])
    # Only an address of this device (or of its interfaces): the database refuses any other.
    _, failed = await page.attempt(
        lambda: page.conn.execute("select net.release_device_ip(%s, %s)", [device_id, assignment])
    )
    if failed is not None:
        return web.redirect(
            f"/network/devices/{device_id}#addresses", " ".join(failed.general or failed.fields.values())
        )
    return web.redirect(f"/network/devices/{device_id}#addresses", page._("Address released."))

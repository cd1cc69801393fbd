"""IPAM (NET-3): the prefix tree with its usage, pools and VLANs; an address page that answers
'who had this IP when' and shows the full history of the address; assigning and releasing
addresses on a service or device (an overlap is refused by the database, shown beside the field).
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Any

from starlette.responses import Response

from webclient import i18n, web
from webclient.staff.network import find_device, int_or_none, parse_ip
from webclient.web import FormErrors, Page

PREFIXES_SQL = """
select u.id, u.prefix, u.kind, u.description, u.parent_id, u.size, u.used, v.vid, v.name as vlan,
       s.id as site_id, s.code as site_code,
       (select count(*) from net.pools pl where pl.prefix_id = u.id) as pools
  from net.prefix_usage u
  join net.prefixes p on p.id = u.id
  left join net.vlans v on v.id = p.vlan_id
  left join net.sites s on s.id = p.site_id
"""

POOLS_SQL = """
select pl.id, pl.name, host(pl.first_address) as first, host(pl.last_address) as last, pl.assign_prefix_length,
       pl.purpose, p.prefix,
       case when family(pl.first_address) = 4 and pl.assign_prefix_length is null
            then (pl.last_address - pl.first_address) + 1 end as size,
       (select count(*) from net.ip_assignments a where a.pool_id = pl.id and upper_inf(a.valid)) as used
  from net.pools pl join net.prefixes p on p.id = pl.prefix_id
 order by pl.name
"""

VLANS_SQL = """
select v.id, v.vid, v.name, v.note, s.id as site_id, s.code as site_code,
       (select count(*) from net.prefixes p where p.vlan_id = v.id) as prefixes
  from net.vlans v left join net.sites s on s.id = v.site_id
 order by v.vid, s.code nulls first
"""

PREFIX_KINDS = ("public", "private", "cgnat", "infrastructure", "customer", "management")
POOL_PURPOSES = ("customer", "infrastructure", "nat", "delegation")


def prefix_tree(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Prefixes in tree order (each followed by the prefixes inside it), with their depth."""
    children: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        children.setdefault(row["parent_id"], []).append(row)

    def key(r: dict[str, Any]) -> tuple[int, Any]:
        net = r["prefix"]
        return (net.version, net)

    out: list[dict[str, Any]] = []
    ids = {r["id"] for r in rows}
    roots = [r for r in rows if r["parent_id"] is None or r["parent_id"] not in ids]
    stack = [(r, 0) for r in sorted(roots, key=key, reverse=True)]
    while stack:
        row, depth = stack.pop()
        out.append({**row, "depth": depth})
        for kid in sorted(children.get(row["id"], []), key=key, reverse=True):
            stack.append((kid, depth + 1))
    return out


async def ipam(page: Page, **forms: Any) -> Response:
    rows = await web.fetch_all(page.conn, PREFIXES_SQL)
    failed = any(isinstance(v, FormErrors) and v for v in forms.values())
    context: dict[str, Any] = {
        "prefixes": prefix_tree(rows),
        "pools": await web.fetch_all(page.conn, POOLS_SQL),
        "vlans": await web.fetch_all(page.conn, VLANS_SQL),
        "sites": await web.fetch_all(page.conn, "select id, code, name from net.sites order by code"),
        "prefix_kinds": PREFIX_KINDS,
        "pool_purposes": POOL_PURPOSES,
        "prefix": {"kind": "customer"},
        "prefix_errors": FormErrors(),
        "pool": {"purpose": "customer"},
        "pool_errors": FormErrors(),
        "vlan": {},
        "vlan_errors": FormErrors(),
    }
    context.update({k: v for k, v in forms.items() if v is not None})
    return page.render("network_ipam.html", context, status_code=422 if failed else 200)


async def ipam_page(page: Page) -> Response:
    return await ipam(page)


async def prefix_add(page: Page) -> Response:
    prefix = {
        "prefix": page.field("prefix") or None,
        "kind": page.field("kind") or "customer",
        "vlan_id": int_or_none(page.field("vlan_id")),
        "site_id": int_or_none(page.field("site_id")),
        "description": page.field("description") or None,
    }
    _, failed = await page.attempt(
        lambda: page.conn.execute(
            "insert into net.prefixes (prefix, kind, vlan_id, site_id, description)"
            " values (%(prefix)s::cidr, %(kind)s, %(vlan_id)s, %(site_id)s, %(description)s)",
            prefix,
        )
    )
    if failed is None:
        return web.redirect("/network/ipam#prefixes", page._("Prefix {p} added.", p=prefix["prefix"]))
    if failed.general and failed.state.startswith("22"):
        failed = FormErrors(fields={"prefix": " ".join(failed.general)}, state=failed.state)
    return await ipam(page, prefix=prefix, prefix_errors=failed)


async def pool_add(page: Page) -> Response:
    length = page.field("assign_prefix_length")
    pool = {
        "name": page.field("name") or None,
        "prefix_id": int_or_none(page.field("prefix_id")),
        "first_address": page.field("first_address") or None,
        "last_address": page.field("last_address") or None,
        "assign_prefix_length": int(length) if length.isdigit() else None,
        "purpose": page.field("purpose") or "customer",
    }
    _, failed = await page.attempt(
        lambda: page.conn.execute(
            "insert into net.pools (name, prefix_id, first_address, last_address, assign_prefix_length, purpose)"
            " values (%(name)s, %(prefix_id)s, %(first_address)s::inet, %(last_address)s::inet,"
            " %(assign_prefix_length)s, %(purpose)s)",
            pool,
        )
    )
    if failed is None:
        return web.redirect("/network/ipam#pools", page._("Pool {name} added.", name=pool["name"]))
    return await ipam(page, pool=pool, pool_errors=failed)


async def vlan_add(page: Page) -> Response:
    vid = page.field("vid")
    vlan = {
        "vid": int(vid) if vid.isdigit() else vid or None,
        "name": page.field("name") or None,
        "site_id": int_or_none(page.field("site_id")),
        "note": page.field("note") or None,
    }
    _, failed = await page.attempt(
        lambda: page.conn.execute(
            "insert into net.vlans (vid, name, site_id, note) values (%(vid)s, %(name)s, %(site_id)s, %(note)s)",
            vlan,
        )
    )
    if failed is None:
        return web.redirect("/network/ipam#vlans", page._("VLAN {vid} added.", vid=vlan["vid"]))
    if failed.state == "23505":
        failed = FormErrors(
            fields={"vid": page._("This VLAN already exists at this site.")}, state=failed.state
        )
    return await ipam(page, vlan=vlan, vlan_errors=failed)


# ---------------------------------------------------------------------------------------------
# Who had this IP when

WHO_HAD_SQL = """
select w.assignment_id, abbrev(w.address) as address, w.valid, w.service_id, w.customer_id, w.customer_no,
       w.customer_name, w.device_id, w.device_name, w.mac
  from net.who_had(%(ip)s::inet, %(at)s::timestamptz) w
"""

HISTORY_SQL = """
select a.id, abbrev(a.address) as address, a.valid, upper_inf(a.valid) as current, a.service_id, a.device_id,
       d.name as device_name, a.note, pl.name as pool, c.id as customer_id, c.customer_no,
       crm.customer_name(c) as customer_name
  from net.ip_assignments a
  left join net.devices d on d.id = a.device_id
  left join net.pools pl on pl.id = a.pool_id
  left join crm.services s on s.id = a.service_id
  left join crm.customers c on c.id = s.customer_id
 where a.address && %(ip)s::inet
 order by lower(a.valid) desc, a.id desc
 limit 200
"""

CONTAINING_SQL = """
select id, prefix, kind, description from net.prefixes where prefix >>= %(ip)s::inet order by masklen(prefix) desc
"""


def local_now() -> str:
    return datetime.now(i18n.timezone()).strftime("%Y-%m-%dT%H:%M")


def _shown(at: str, lang: str) -> str:
    """The moment asked about as people write it (the form's value is ``2026-11-26T04:27``)."""
    try:
        return i18n.format_datetime(datetime.fromisoformat(at), lang)
    except ValueError:
        return at


async def _who_had(page: Page, ip_text: str, at_text: str, **forms: Any) -> Response:
    ip = parse_ip(ip_text) if ip_text else None
    at = at_text or local_now()
    errors = FormErrors()
    holders: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    containing: list[dict[str, Any]] = []
    if ip_text and ip is None:
        errors.fields["ip"] = page._("This is not an IP address.")
    if ip is not None:
        found, failed = await page.attempt(
            lambda: web.fetch_all(page.conn, WHO_HAD_SQL, {"ip": ip, "at": at})
        )
        if failed is not None:
            errors.fields["at"] = " ".join(failed.general) or page._("This is not a date and time.")
        else:
            holders = found or []
        history = await web.fetch_all(page.conn, HISTORY_SQL, {"ip": ip})
        containing = await web.fetch_all(page.conn, CONTAINING_SQL, {"ip": ip})
    may_assign = page.user.has("technician") or page.user.has("support")
    failed_forms = any(isinstance(v, FormErrors) and v for v in forms.values())
    context: dict[str, Any] = {
        "ip": ip,
        "query": {"ip": ip_text, "at": at},
        "at_shown": _shown(at, page.lang),
        "errors": errors,
        "holders": holders,
        "history": history,
        "containing": containing,
        "may_assign": may_assign,
        "assign": {"address": ip or "", "valid_from": local_now()},
        "assign_errors": FormErrors(),
    }
    context.update({k: v for k, v in forms.items() if v is not None})
    return page.render("network_address.html", context, status_code=422 if (errors or failed_forms) else 200)


async def who_had(page: Page) -> Response:
    qp = page.request.query_params
    return await _who_had(page, qp.get("ip", "").strip(), qp.get("at", "").strip())


async def assign(page: Page) -> Response:
    """Assign an address to a service and/or device from a moment on."""
    assign: dict[str, Any] = {
        "address": page.field("address"),
        "service_id": page.field("service_id"),
        "device": page.field("device"),
        "valid_from": page.field("valid_from") or local_now(),
        "note": page.field("note") or None,
    }
    errors = FormErrors()
    service_id = int_or_none(assign["service_id"])
    if assign["service_id"] and service_id is None:
        errors.fields["service_id"] = page._("A service number is a whole number.")
    device_id: int | None = None
    if assign["device"]:
        device_id = await find_device(page, assign["device"])
        if device_id is None:
            errors.fields["device"] = page._("There is no device of this name.")
    if not errors and service_id is None and device_id is None:
        errors.fields["service_id"] = page._("Give a service or a device.")
    try:
        ipaddress.ip_interface(assign["address"])
    except ValueError:
        errors.fields["address"] = page._("This is not an IP address.")
    if not errors:
        _, failed = await page.attempt(
            lambda: page.conn.execute(
                "select net.assign_ip(%s::inet, %s, %s, %s::timestamptz, %s)",
                [assign["address"], service_id, device_id, assign["valid_from"], assign["note"]],
            )
        )
        if failed is None:
            host = parse_ip(assign["address"]) or ""
            return web.redirect(f"/network/who-had?ip={host}", page._("Address assigned."))
        if failed.general and failed.state.startswith("22"):
            failed = FormErrors(fields={"valid_from": " ".join(failed.general)}, state=failed.state)
        if failed.state == "23503":
            failed = FormErrors(
                fields={"service_id": page._("There is no such service.")}, state=failed.state
            )
        errors = failed
    return await _who_had(page, parse_ip(assign["address"]) or "", "", assign=assign, assign_errors=errors)


async def release(page: Page) -> Response:
    assignment = int(page.request.path_params["aid"])
    at = page.field("at") or None
    row = await web.fetch_one(
        page.conn, "select host(address) as host from net.ip_assignments where id = %s", [assignment]
    )
    target = f"/network/who-had?ip={row['host']}" if row else "/network/who-had"
    _, failed = await page.attempt(
        lambda: page.conn.execute(
            "select net.release_ip(%s, coalesce(%s::timestamptz, now()))", [assignment, at]
        )
    )
    if failed is not None:
        return web.redirect(target, " ".join(failed.general or list(failed.fields.values())))
    return web.redirect(target, page._("Address released."))

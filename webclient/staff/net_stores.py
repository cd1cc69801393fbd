"""Stores (NET-4): warehouses, technicians' cars, the customer store, repair and scrap; stock in
(several serial numbers at once), moves between stores (out of the customer store detaches the
device from its service), assigning a device to a customer's service, and the movement history."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from webclient import web
from webclient.staff import forms
from webclient.staff.network import MODELS_SQL, int_or_none
from webclient.web import FormErrors, Page

KINDS = ("warehouse", "technician", "customer", "service", "scrap")

# Counts from net.store_stock (kept by triggers on net.devices), not from a million devices.
LIST_SQL = """
select st.id, st.name, st.kind, st.active, s.id as site_id, s.code as site_code, u.full_name as technician,
       coalesce(c.devices, 0) as devices, coalesce(c.faulty, 0) as faulty
  from net.stores st
  left join net.sites s on s.id = st.site_id
  left join auth.users u on u.id = st.technician_id
  left join (select k.store_id, sum(k.devices) as devices, sum(k.devices) filter (where k.state = 'faulty') as faulty
               from net.store_stock k group by k.store_id) c on c.store_id = st.id
 order by st.active desc, array_position(array['warehouse', 'technician', 'customer', 'service', 'scrap'], st.kind),
          st.name
"""

STORE_SQL = """
select st.*, s.code as site_code, u.full_name as technician
  from net.stores st left join net.sites s on s.id = st.site_id left join auth.users u on u.id = st.technician_id
 where st.id = %s
"""

DEVICES_SQL = """
select d.id, d.name, d.serial_no, d.state, m.manufacturer, m.model, m.kind as model_kind,
       cur.service_id, cur.customer_id, cur.customer_name
  from net.devices d
  left join net.device_models m on m.id = d.model_id
  left join lateral (
    select sd.service_id, c.id as customer_id, crm.customer_name(c) as customer_name
      from net.service_devices sd
      join crm.services sv on sv.id = sd.service_id
      join crm.customers c on c.id = sv.customer_id
     where sd.device_id = d.id and upper_inf(sd.valid)
     order by sd.id desc
     limit 1
  ) cur on true
 where d.store_id = %(id)s
   and (%(after)s::bigint is null or d.id < %(after)s)
 order by d.id desc
 limit 101
"""

SUMMARY_SQL = """
select m.manufacturer, m.model, sum(k.devices) as devices
  from net.store_stock k left join net.device_models m on m.id = k.model_id
 where k.store_id = %s
 group by m.manufacturer, m.model
having sum(k.devices) > 0
 order by sum(k.devices) desc
"""

# The last movements in or out: the newest of each direction by its index, then the newest of both.
MOVEMENTS_SQL = """
select m.id, m.kind, m.moved_at, m.note, m.service_id, d.id as device_id, d.name as device_name, d.serial_no,
       fs.id as from_id, fs.name as from_store, ts.id as to_id, ts.name as to_store, u.full_name as user_name
  from (select * from (select * from net.stock_movements where from_store_id = %(id)s order by id desc limit 100) o
        union
        select * from (select * from net.stock_movements where to_store_id = %(id)s order by id desc limit 100) i) m
  join net.devices d on d.id = m.device_id
  left join net.stores fs on fs.id = m.from_store_id
  left join net.stores ts on ts.id = m.to_store_id
  left join auth.users u on u.id = m.user_id
 order by m.id desc
 limit 100
"""

STORES_SQL = "select id, name, kind from net.stores where active order by name"


async def store_list(
    page: Page, store: dict[str, Any] | None = None, errors: FormErrors | None = None
) -> Response:
    return page.render(
        "network_stores.html",
        {
            "stores": await web.fetch_all(page.conn, LIST_SQL),
            "kinds": KINDS,
            "sites": await web.fetch_all(page.conn, "select id, code, name from net.sites order by code"),
            "store": store or {"kind": "warehouse"},
            "store_errors": errors or FormErrors(),
        },
        status_code=422 if errors else 200,
    )


async def stores(page: Page) -> Response:
    return await store_list(page)


async def store_add(page: Page) -> Response:
    store = {
        "name": page.field("name") or None,
        "kind": page.field("kind") or "warehouse",
        "site_id": int_or_none(page.field("site_id")),
    }
    _, failed = await page.attempt(
        lambda: page.conn.execute(
            "insert into net.stores (name, kind, site_id) values (%(name)s, %(kind)s, %(site_id)s)", store
        )
    )
    if failed is None:
        return web.redirect("/network/stores", page._("Store {name} added.", name=store["name"]))
    return await store_list(page, store, failed)


async def _card(page: Page, store_id: int, **given: Any) -> Response:
    store = await web.fetch_one(page.conn, STORE_SQL, [store_id])
    if store is None:
        return forms.not_found(page, page._("This store does not exist."))
    after = int_or_none(page.request.query_params.get("after", ""))
    devices = await web.fetch_all(page.conn, DEVICES_SQL, {"id": store_id, "after": after})
    failed = any(isinstance(v, FormErrors) and v for v in given.values())
    context: dict[str, Any] = {
        "store": store,
        "devices": devices[:100],
        "next_after": devices[99]["id"] if len(devices) > 100 else None,
        "summary": await web.fetch_all(page.conn, SUMMARY_SQL, [store_id]),
        "movements": await web.fetch_all(page.conn, MOVEMENTS_SQL, {"id": store_id}),
        "models": await web.fetch_all(page.conn, MODELS_SQL),
        "stores": await web.fetch_all(page.conn, STORES_SQL),
        "stock": {},
        "stock_errors": FormErrors(),
        "move": {},
        "move_errors": FormErrors(),
        "give": {},
        "give_errors": FormErrors(),
        "may_edit": page.user.has("technician"),
    }
    context.update({k: v for k, v in given.items() if v is not None})
    return page.render("network_store.html", context, status_code=422 if failed else 200)


async def store_detail(page: Page) -> Response:
    return await _card(page, int(page.request.path_params["id"]))


async def stock_in(page: Page) -> Response:
    """Receive devices of one model: one serial number a line, all or nothing."""
    store_id = int(page.request.path_params["id"])
    raw = page.form.get("serials") if page.form is not None else ""
    serials = [line.strip() for line in (raw if isinstance(raw, str) else "").splitlines() if line.strip()]
    stock = {
        "model_id": int_or_none(page.field("model_id")),
        "serials": raw,
        "note": page.field("note") or None,
    }
    errors = FormErrors()
    if stock["model_id"] is None:
        errors.fields["model_id"] = page._("This field is required.")
    if not serials:
        errors.fields["serials"] = page._("Give at least one serial number.")
    elif len(set(serials)) != len(serials):
        errors.fields["serials"] = page._("A serial number is given twice.")
    if not errors:
        # One statement, in the order given: the first serial number already registered undoes all.
        _, failed = await page.attempt(
            lambda: page.conn.execute(
                "select net.stock_in(%s, %s, s.serial, null, %s)"
                " from unnest(%s::text[]) with ordinality as s (serial, n) order by s.n",
                [store_id, stock["model_id"], stock["note"], serials],
            )
        )
        if failed is None:
            return web.redirect(
                f"/network/stores/{store_id}", page._("{n} devices received.", n=len(serials))
            )
        errors = forms.rename(failed, {"serial_no": "serials"})
    return await _card(page, store_id, stock=stock, stock_errors=errors)


async def move(page: Page) -> Response:
    """Move a device (by serial number, name or number) from this store to another."""
    store_id = int(page.request.path_params["id"])
    move: dict[str, Any] = {
        "device": page.field("device"),
        "store_id": page.field("store_id"),
        "note": page.field("note") or None,
    }
    errors = FormErrors()
    device_id = await _device_in_store(page, store_id, move["device"])
    if device_id is None:
        errors.fields["device"] = page._("There is no such device in this store.")
    to_store = int_or_none(move["store_id"])
    if to_store is None:
        errors.fields["store_id"] = page._("This field is required.")
    if not errors:
        _, failed = await page.attempt(
            lambda: page.conn.execute(
                "select net.move_device(%s, %s, %s)", [device_id, to_store, move["note"]]
            )
        )
        if failed is None:
            return web.redirect(f"/network/stores/{store_id}", page._("Device moved."))
        errors = failed
    return await _card(page, store_id, move=move, move_errors=errors)


async def give(page: Page) -> Response:
    """Give a device of this store to a customer's service (it moves to the customer store)."""
    store_id = int(page.request.path_params["id"])
    give = {"device": page.field("device"), "service_id": page.field("service_id")}
    errors = FormErrors()
    device_id = await _device_in_store(page, store_id, give["device"])
    if device_id is None:
        errors.fields["device"] = page._("There is no such device in this store.")
    service_id = int_or_none(give["service_id"])
    if service_id is None:
        errors.fields["service_id"] = page._("A service number is a whole number.")
    elif await web.fetch_value(page.conn, "select id from crm.services where id = %s", [service_id]) is None:
        errors.fields["service_id"] = page._("There is no such service.")
    if not errors:
        _, failed = await page.attempt(
            lambda: page.conn.execute("select net.assign_device(%s, %s)", [device_id, service_id])
        )
        if failed is None:
            return web.redirect(
                f"/network/devices/{device_id}#services", page._("Device given to the service.")
            )
        errors = failed
    return await _card(page, store_id, give=give, give_errors=errors)


async def _device_in_store(page: Page, store_id: int, text: str) -> int | None:
    if not text:
        return None
    found = await web.fetch_value(
        page.conn,
        "select id from net.devices where store_id = %(store)s"
        " and (serial_no = %(text)s or name = %(text)s or id::text = %(text)s) order by id limit 1",
        {"store": store_id, "text": text},
    )
    return int(found) if found is not None else None


async def device_move(page: Page) -> Response:
    """From a device card: move the device to another store."""
    device_id = int(page.request.path_params["id"])
    to_store = int_or_none(page.field("store_id"))
    _, failed = await page.attempt(
        lambda: page.conn.execute(
            "select net.move_device(%s, %s, %s)", [device_id, to_store, page.field("note") or None]
        )
    )
    if failed is not None:
        return web.redirect(
            f"/network/devices/{device_id}#movements",
            " ".join(failed.general or list(failed.fields.values())),
        )
    return web.redirect(f"/network/devices/{device_id}#movements", page._("Device moved."))

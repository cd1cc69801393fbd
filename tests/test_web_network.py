"""The network inventory pages of the staff web client against the real test database: device
list, search and card, topology edits by technicians (and refusals for everyone else), secrets
that never reach a page, who had an address when, stores, and the maps."""

from __future__ import annotations

import html as html_lib
import re
import secrets
from dataclasses import dataclass

import psycopg
import pytest
from starlette.testclient import TestClient

from db.settings import Settings
from tests.web_helpers import field_error, login_as
from webclient.staff.net_map import geo_view, layout

SECRET = "wn-Secret-" + secrets.token_hex(6)


@dataclass
class Net:
    sfx: str
    core: int
    agg: int
    ap: int
    cpe: int
    cpe_serial: str
    service: int
    customer: int
    customer_name: str
    other_service: int
    warehouse: int
    customer_store: int
    core_site: int
    pop_site: int


def _one(admin: psycopg.Connection, sql: str, params: list[object] | None = None) -> int:
    row = admin.execute(sql, params).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return int(row[0])


@pytest.fixture(scope="module")
def net(settings: Settings) -> Net:
    """A small network: core router (BRN) – fibre – aggregation switch (POP) – radio – access point,
    a CPE on the AP that carries a customer's service, an address history, a credential."""
    sfx = secrets.token_hex(3)
    with psycopg.connect(settings.admin_conninfo(), autocommit=True) as admin:
        core_site = _one(admin, "select tests.net_make_site(%s, 'core')", [f"WN-CORE-{sfx}"])
        pop_site = _one(admin, "select tests.net_make_site(%s, 'tower')", [f"WN-POP-{sfx}"])
        admin.execute(
            "update net.sites set latitude = 49.2, longitude = 16.6, name = 'Brno core' where id = %s",
            [core_site],
        )
        admin.execute(
            "update net.sites set latitude = 49.3, longitude = 16.8, name = 'Kuřim tower' where id = %s",
            [pop_site],
        )
        core = _one(
            admin,
            "select tests.net_make_device(%s, null, 'router', 'fibre', true, %s)",
            [f"wn-core-{sfx}", core_site],
        )
        agg = _one(
            admin,
            "select tests.net_make_device(%s, %s, 'switch', 'fibre', false, %s)",
            [f"wn-agg-{sfx}", core, pop_site],
        )
        ap = _one(
            admin,
            "select tests.net_make_device(%s, %s, 'ap', 'radio', false, %s)",
            [f"wn-ap-{sfx}", agg, pop_site],
        )
        warehouse = _one(admin, "select tests.net_store('warehouse', %s)", [f"WN warehouse {sfx}"])
        customer_store = _one(admin, "select tests.net_store('customer')")
        customer = _one(admin, "select tests.make_customer(null, %s, 'Věra')", [f"Síťová{sfx}"])
        service = _one(admin, "select tests.net_make_service(%s)", [customer])
        other_service = _one(admin, "select tests.net_make_service()")
        model = _one(
            admin,
            "insert into net.device_models (manufacturer, model, kind) values ('Ubiquiti', %s, 'cpe') returning id",
            [f"LiteBeam {sfx}"],
        )
        cpe_serial = f"WNCPE{sfx}".upper()
        cpe = _one(admin, "select net.stock_in(%s, %s, %s)", [warehouse, model, cpe_serial])
        admin.execute("select net.assign_device(%s, %s, %s)", [cpe, service, ap])
        # 10.231.77.7 belonged to the customer in spring 2024, then to another service.
        first = _one(admin, "select net.assign_ip('10.231.77.7', %s, null, '2024-03-01 00:00+01')", [service])
        admin.execute("select net.release_ip(%s, '2024-06-01 00:00+02')", [first])
        admin.execute("select net.assign_ip('10.231.77.7', %s, null, '2024-06-01 00:00+02')", [other_service])
        admin.execute("select net.assign_ip('10.231.77.9', %s)", [service])
        admin.execute(
            "insert into net.credentials (name, kind, username, secret) values (%s, 'ssh', 'admin', %s)",
            [f"wn-cred-{sfx}", SECRET],
        )
        admin.execute(
            "update net.devices set credential_id = (select id from net.credentials where name = %s),"
            " mgmt_address = '10.255.0.1', managed = true where id = %s",
            [f"wn-cred-{sfx}", core],
        )
        name = admin.execute(
            "select crm.customer_name(c) from crm.customers c where id = %s", [customer]
        ).fetchone()
        assert name is not None
    return Net(
        sfx,
        core,
        agg,
        ap,
        cpe,
        cpe_serial,
        service,
        customer,
        name[0],
        other_service,
        warehouse,
        customer_store,
        core_site,
        pop_site,
    )


def test_device_list_searches_by_name_serial_ip_and_mac(
    client: TestClient, admin: psycopg.Connection, net: Net
) -> None:
    login_as(client, admin, ["support"], prefix="wn")
    page = client.get("/network/devices", params={"q": f"wn-agg-{net.sfx}"})
    assert page.status_code == 200
    assert f"wn-agg-{net.sfx}" in page.text and f"wn-core-{net.sfx}" in page.text  # the parent column
    assert f"wn-ap-{net.sfx}</a>" not in page.text
    by_serial = client.get("/network/devices", params={"q": net.cpe_serial.lower()})
    assert f"/network/devices/{net.cpe}" in by_serial.text
    # The CPE carries the service that holds 10.231.77.9 now.
    by_ip = client.get("/network/devices", params={"q": "10.231.77.9"})
    assert f"/network/devices/{net.cpe}" in by_ip.text
    assert f'/network/devices/{net.core}"' not in by_ip.text
    admin.execute(
        "update net.interfaces set mac = '02:11:22:33:44:55' where device_id = %s and name = 'uplink'",
        [net.ap],
    )
    by_mac = client.get("/network/devices", params={"q": "02-11-22-33-44-55"})
    assert f"/network/devices/{net.ap}" in by_mac.text
    by_site = client.get("/network/devices", params={"site": net.pop_site})
    assert (
        f"wn-ap-{net.sfx}" in by_site.text
        and f"wn-core-{net.sfx}</a>" not in by_site.text.split("<tbody>")[1].split("<td><a")[0]
    )


def test_device_list_pages_by_keyset(client: TestClient, admin: psycopg.Connection, net: Net) -> None:
    for i in range(55):
        admin.execute("insert into net.devices (name) values (%s)", [f"wn-page-{net.sfx}-{i:02d}"])
    login_as(client, admin, ["support"], prefix="wn")
    first = client.get("/network/devices", params={"q": f"wn-page-{net.sfx}"})
    assert f"wn-page-{net.sfx}-49" in first.text and f"wn-page-{net.sfx}-50" not in first.text
    link = re.search(r'href="(/network/devices\?[^"]*after_id[^"]*)"', first.text)
    assert link
    second = client.get(link.group(1).replace("&amp;", "&"))
    assert f"wn-page-{net.sfx}-50" in second.text and f"wn-page-{net.sfx}-54" in second.text
    assert f"wn-page-{net.sfx}-49</a>" not in second.text


def test_device_card_shows_path_to_core_and_affected_customers(
    client: TestClient, admin: psycopg.Connection, net: Net
) -> None:
    login_as(client, admin, ["support"], prefix="wn")
    page = client.get(f"/network/devices/{net.ap}")
    assert page.status_code == 200
    chain = page.text.split('class="path-chain"')[1].split("</ol>")[0]
    # Core first, then the aggregation switch over fibre, then this device over radio.
    assert (
        chain.index(f"wn-core-{net.sfx}") < chain.index(f"wn-agg-{net.sfx}") < chain.index(f"wn-ap-{net.sfx}")
    )
    assert "medium-fibre" in chain and "medium-radio" in chain
    assert f'href="/network/devices/{net.core}"' in chain
    affected = page.text.split('id="affected"')[1].split("</section>")[0]
    assert "1 customers, 1 services" in affected
    assert f'href="/customers/{net.customer}"' in affected and net.customer_name in affected
    core = client.get(f"/network/devices/{net.core}")
    assert "10.255.0.1" in core.text and f"wn-cred-{net.sfx}" in core.text
    assert f'href="/audit?table=net.devices&amp;record={net.core}"' in core.text
    cpe = client.get(f"/network/devices/{net.cpe}")
    services = cpe.text.split('id="services"')[1].split("</section>")[0]
    assert f'href="/customers/{net.customer}"' in services


def test_technician_adds_an_interface_and_a_link(
    client: TestClient, admin: psycopg.Connection, net: Net
) -> None:
    csrf = login_as(client, admin, ["technician"], prefix="wn")
    r = client.post(
        f"/network/devices/{net.agg}/interfaces",
        data={
            "csrf": csrf,
            "name": "sfp-sfpplus1",
            "kind": "sfp",
            "speed_mbps": "10000",
            "mac": "02:aa:bb:cc:dd:01",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    iface = admin.execute(
        "select id from net.interfaces where device_id = %s and name = 'sfp-sfpplus1'", [net.agg]
    ).fetchone()
    assert iface is not None
    r = client.post(
        f"/network/devices/{net.agg}/links",
        data={
            "csrf": csrf,
            "a_interface_id": str(iface[0]),
            "b_device": f"wn-core-{net.sfx}",
            "b_interface": "sfp-backup",
            "medium": "fibre",
            "speed_mbps": "10000",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    card = client.get(f"/network/devices/{net.agg}")
    row = card.text.split("sfp-sfpplus1")[1].split("</tr>")[0]
    assert f"wn-core-{net.sfx}" in row and "sfp-backup" in row and "10 Gb/s" in row
    # A bad MAC is refused beside its field; the same link twice too.
    bad = client.post(
        f"/network/devices/{net.agg}/interfaces", data={"csrf": csrf, "name": "x1", "mac": "not-a-mac"}
    )
    assert bad.status_code == 422 and "is not a MAC address." in bad.text
    again = client.post(
        f"/network/devices/{net.agg}/links",
        data={
            "csrf": csrf,
            "a_interface_id": str(iface[0]),
            "b_device": f"wn-core-{net.sfx}",
            "b_interface": "sfp-backup",
            "medium": "fibre",
        },
    )
    assert again.status_code == 422
    assert field_error(again.text, "b_interface") == "These two interfaces are already linked."


def test_a_loop_in_the_topology_is_refused_beside_the_field(
    client: TestClient, admin: psycopg.Connection, net: Net
) -> None:
    csrf = login_as(client, admin, ["technician"], prefix="wn")
    r = client.post(
        f"/network/devices/{net.core}/parent",
        data={"csrf": csrf, "parent_device_id": f"wn-ap-{net.sfx}", "parent_interface_id": ""},
    )
    assert r.status_code == 422
    assert "cannot be its own ancestor" in field_error(r.text, "parent_device_id")
    parent = admin.execute("select parent_device_id from net.devices where id = %s", [net.core]).fetchone()
    assert parent == (None,)


def test_technician_changes_parent_and_sets_a_class_parameter(
    client: TestClient, admin: psycopg.Connection, net: Net
) -> None:
    klass = _one(
        admin,
        "insert into catalog.classes (code, name, kind) values (%s, 'Switch', 'device') returning id",
        [f"wnsw{net.sfx}"],
    )
    admin.execute("update net.devices set class_id = %s where id = %s", [klass, net.agg])
    admin.execute(
        "insert into crm.parameter_definitions (entity, class_id, code, name, type, min_value, max_value, unit)"
        " values ('device', %s, 'ports', 'Ports', 'number', 1, 96, 'ks')",
        [klass],
    )
    spare = _one(admin, "select tests.net_make_device(%s, null, 'switch')", [f"wn-spare-{net.sfx}"])
    csrf = login_as(client, admin, ["technician"], prefix="wn")
    r = client.post(
        f"/network/devices/{spare}/parent",
        data={"csrf": csrf, "parent_device_id": f"wn-agg-{net.sfx}", "parent_interface_id": "nonexistent"},
    )
    assert r.status_code == 422
    assert field_error(r.text, "parent_interface_id") == "The parent device has no interface of this name."
    r = client.post(
        f"/network/devices/{spare}/parent",
        data={"csrf": csrf, "parent_device_id": str(net.agg), "parent_interface_id": f"port-wn-ap-{net.sfx}"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    path = admin.execute("select count(*) from net.path_to_core(%s)", [spare]).fetchone()
    assert path == (3,)
    card = client.get(f"/network/devices/{net.agg}")
    assert 'name="p_ports"' in card.text
    bad = client.post(f"/network/devices/{net.agg}/parameters", data={"csrf": csrf, "p_ports": "500"})
    assert bad.status_code == 422 and "must be between 1 and 96" in bad.text
    ok = client.post(
        f"/network/devices/{net.agg}/parameters", data={"csrf": csrf, "p_ports": "24"}, follow_redirects=False
    )
    assert ok.status_code == 303
    value = admin.execute(
        "select value from crm.parameters where entity = 'device' and entity_id = %s and code = 'ports'",
        [net.agg],
    ).fetchone()
    assert value == ("24",)


def test_support_may_read_but_not_change_devices(
    client: TestClient, admin: psycopg.Connection, net: Net
) -> None:
    csrf = login_as(client, admin, ["support"], prefix="wn")
    card = client.get(f"/network/devices/{net.agg}")
    assert card.status_code == 200 and f'action="/network/devices/{net.agg}/interfaces"' not in card.text
    for url, data in (
        (f"/network/devices/{net.agg}", {"name": "renamed", "role": "operator", "state": "active"}),
        (f"/network/devices/{net.agg}/interfaces", {"name": "ether9"}),
        (f"/network/devices/{net.agg}/parent", {"parent_device_id": ""}),
        (f"/network/devices/{net.core}/credential", {"name": "x", "secret": "y"}),
    ):
        r = client.post(url, data={"csrf": csrf, **data})
        assert r.status_code == 403, url
        assert "You are not allowed to do this" in r.text
    name = admin.execute("select name from net.devices where id = %s", [net.agg]).fetchone()
    assert name == (f"wn-agg-{net.sfx}",)
    # Anyone on the staff may write in the event log.
    r = client.post(
        f"/network/devices/{net.agg}/events",
        data={"csrf": csrf, "message": "Fan noisy"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "Fan noisy" in client.get(f"/network/devices/{net.agg}").text


def test_a_credential_secret_never_appears_in_any_page(
    client: TestClient, admin: psycopg.Connection, net: Net
) -> None:
    csrf = login_as(client, admin, ["technician"], prefix="wn")
    card = client.get(f"/network/devices/{net.core}")
    assert card.status_code == 200
    assert f"wn-cred-{net.sfx}" in card.text and 'name="secret"' in card.text
    assert SECRET not in card.text
    replaced = "wn-New-" + secrets.token_hex(6)
    r = client.post(
        f"/network/devices/{net.core}/credential",
        data={
            "csrf": csrf,
            "name": f"wn-cred-{net.sfx}",
            "kind": "ssh",
            "username": "admin",
            "secret": replaced,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    stored = admin.execute(
        "select secret from net.credentials where name = %s", [f"wn-cred-{net.sfx}"]
    ).fetchone()
    assert stored == (replaced,)
    # A new credential without a secret is refused, and the typed secret is not echoed back.
    missing = client.post(
        f"/network/devices/{net.core}/credential",
        data={"csrf": csrf, "name": f"wn-new-{net.sfx}", "kind": "ssh"},
    )
    assert missing.status_code == 422 and field_error(missing.text, "secret")
    for url in (
        f"/network/devices/{net.core}",
        f"/network/devices/{net.core}",
        "/network/devices",
        "/network/map",
    ):
        text = client.get(url).text
        assert SECRET not in text and replaced not in text
    history = client.get("/audit?table=net.credentials")
    assert SECRET not in history.text and replaced not in history.text


def test_who_had_an_address_at_a_past_moment(client: TestClient, admin: psycopg.Connection, net: Net) -> None:
    login_as(client, admin, ["support"], prefix="wn")
    past = client.get("/network/who-had", params={"ip": "10.231.77.7", "at": "2024-04-01T12:00"})
    assert past.status_code == 200
    holder = past.text.split('id="holder"')[1].split("</section>")[0]
    assert net.customer_name in holder and f"#{net.service}" in holder
    now = client.get("/network/who-had", params={"ip": "10.231.77.7"})
    holder_now = now.text.split('id="holder"')[1].split("</section>")[0]
    assert f"#{net.other_service}" in holder_now and net.customer_name not in holder_now
    history = now.text.split('id="history"')[1].split("</section>")[0]
    assert f"#{net.service}" in history and f"#{net.other_service}" in history
    before = client.get("/network/who-had", params={"ip": "10.231.77.7", "at": "2023-01-01T00:00"})
    assert "Nobody had this address at that moment." in before.text


def test_assigning_an_address_that_is_taken_is_refused_beside_the_field(
    client: TestClient, admin: psycopg.Connection, net: Net
) -> None:
    csrf = login_as(client, admin, ["support"], prefix="wn")
    r = client.post(
        "/network/addresses",
        data={
            "csrf": csrf,
            "address": "10.231.77.9",
            "service_id": str(net.other_service),
            "valid_from": "",
        },
    )
    assert r.status_code == 422
    assert "already assigned" in field_error(r.text, "address")
    ok = client.post(
        "/network/addresses",
        data={"csrf": csrf, "address": "10.231.77.20", "service_id": str(net.other_service)},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    page = client.get("/network/who-had", params={"ip": "10.231.77.20"})
    release = re.search(r'action="(/network/addresses/\d+/release)"', page.text)
    assert release
    r = client.post(release.group(1), data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    still = admin.execute(
        "select count(*) from net.ip_assignments where address = '10.231.77.20' and upper_inf(valid)"
    ).fetchone()
    assert still == (0,)


def test_ipam_shows_the_prefix_tree_with_usage(
    client: TestClient, admin: psycopg.Connection, net: Net
) -> None:
    csrf = login_as(client, admin, ["technician"], prefix="wn")
    for prefix in ("10.231.77.0/24", "10.231.77.0/28"):
        r = client.post(
            "/network/ipam/prefixes",
            data={"csrf": csrf, "prefix": prefix, "kind": "public"},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
    dup = client.post(
        "/network/ipam/prefixes", data={"csrf": csrf, "prefix": "10.231.77.0/24", "kind": "public"}
    )
    assert dup.status_code == 422 and field_error(dup.text, "prefix") == "This value is already used."
    page = client.get("/network/ipam")
    rows = page.text.split('class="table compact prefix-tree"')[1].split("</table>")[0]
    outer = rows.index("10.231.77.0/24")
    inner = rows.index("10.231.77.0/28")
    assert outer < inner and 'class="depth-1"' in rows[outer:]
    assert 'class="usage"' in rows


def test_stock_in_of_several_serial_numbers(client: TestClient, admin: psycopg.Connection, net: Net) -> None:
    model = _one(
        admin,
        "insert into net.device_models (manufacturer, model, kind) values ('MikroTik', %s, 'cpe') returning id",
        [f"hAP {net.sfx}"],
    )
    csrf = login_as(client, admin, ["technician"], prefix="wn")
    serials = [f"WNS{net.sfx}{i}".upper() for i in range(3)]
    r = client.post(
        f"/network/stores/{net.warehouse}/stock-in",
        data={
            "csrf": csrf,
            "model_id": str(model),
            "serials": "\n".join(serials) + "\n\n",
            "note": "DL 2025/17",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    card = client.get(f"/network/stores/{net.warehouse}")
    for serial in serials:
        assert serial in card.text
    assert "DL 2025/17" in card.text
    again = client.post(
        f"/network/stores/{net.warehouse}/stock-in",
        data={"csrf": csrf, "model_id": str(model), "serials": f"NEW{net.sfx}\n{serials[1]}"},
    )
    assert again.status_code == 422
    assert serials[1] in field_error(again.text, "serials")
    assert admin.execute(
        "select count(*) from net.devices where serial_no = %s", [f"NEW{net.sfx}"]
    ).fetchone() == (0,)
    listing = client.get("/network/stores")
    assert f"WN warehouse {net.sfx}" in listing.text


def test_moving_a_cpe_out_of_the_customer_store_detaches_it(
    client: TestClient, admin: psycopg.Connection, net: Net
) -> None:
    model = _one(admin, "select model_id from net.devices where id = %s", [net.cpe])
    serial = f"WNMOVE{net.sfx}".upper()
    cpe = _one(admin, "select net.stock_in(%s, %s, %s)", [net.warehouse, model, serial])
    service = _one(admin, "select tests.net_make_service(%s)", [net.customer])
    csrf = login_as(client, admin, ["technician"], prefix="wn")
    r = client.post(
        f"/network/stores/{net.warehouse}/assign",
        data={"csrf": csrf, "device": serial, "service_id": str(service)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert (
        f"#{service}"
        in client.get(f"/network/devices/{cpe}").text.split('id="services"')[1].split("</section>")[0]
    )
    r = client.post(
        f"/network/stores/{net.customer_store}/move",
        data={"csrf": csrf, "device": serial, "store_id": str(net.warehouse), "note": "returned"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    services = client.get(f"/network/devices/{cpe}").text.split('id="services"')[1].split("</section>")[0]
    assert '<tr class="dim">' in services and "<tr><td>" not in services  # the service is only history now
    current = admin.execute(
        "select count(*) from net.service_devices where device_id = %s and upper_inf(valid)", [cpe]
    ).fetchone()
    assert current == (0,)
    moves = client.get(f"/network/stores/{net.warehouse}").text.split('id="movements"')[1]
    assert serial in moves and "returned" in moves


def test_map_and_geographic_view_draw_the_network(
    client: TestClient, admin: psycopg.Connection, net: Net
) -> None:
    login_as(client, admin, ["support"], prefix="wn")
    page = client.get("/network/map")
    assert page.status_code == 200
    svg = page.text.split('<svg class="topology"')[1].split("</svg>")[0]
    for name in (f"wn-core-{net.sfx}", f"wn-agg-{net.sfx}", f"wn-ap-{net.sfx}"):
        assert name in svg
    assert f'href="/network/devices/{net.core}"' in svg
    assert "edge medium-fibre" in svg and "edge medium-radio" in svg
    assert f'data-device="{net.cpe}"' not in svg  # customer devices are hidden by default
    with_cpe = client.get("/network/map", params={"cpe": "1"})
    assert f'data-device="{net.cpe}"' in with_cpe.text
    geo = client.get("/network/geo")
    assert geo.status_code == 200
    drawing = geo.text.split('<svg class="geo"')[1].split("</svg>")[0]
    assert f"WN-CORE-{net.sfx}" in drawing and f"WN-POP-{net.sfx}" in drawing
    assert " km</text>" in drawing and "edge medium-fibre" in drawing
    site = client.get(f"/network/sites/{net.pop_site}")
    assert f"wn-ap-{net.sfx}" in site.text and f"WN-CORE-{net.sfx}" in site.text  # fed from the core site


def test_technician_creates_and_edits_a_site(client: TestClient, admin: psycopg.Connection, net: Net) -> None:
    csrf = login_as(client, admin, ["technician"], prefix="wn")
    code = f"WN-NEW-{net.sfx}"
    bad = client.post(
        "/network/sites/new",
        data={"csrf": csrf, "code": code, "name": "Tišnov", "kind": "tower", "latitude": "95"},
    )
    assert bad.status_code == 422 and field_error(bad.text, "latitude") == "A value from -90 to 90."
    r = client.post(
        "/network/sites/new",
        data={
            "csrf": csrf,
            "code": code,
            "name": "Tišnov",
            "kind": "tower",
            "latitude": "49,35",
            "longitude": "16.42",
            "active": "on",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    site_id = int(r.headers["location"].rsplit("/", 1)[1])
    r = client.post(
        f"/network/sites/{site_id}",
        data={
            "csrf": csrf,
            "code": code,
            "name": "Tišnov – věž",
            "kind": "tower",
            "latitude": "49.35",
            "longitude": "16.42",
            "active": "on",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "Tišnov – věž" in client.get("/network/sites").text


def test_layout_centres_parents_over_children_and_grids_many_leaves() -> None:
    rows = [{"id": 1, "name": "core", "kind": "router", "is_core": True, "parent_id": None}]
    rows += [
        {"id": 10 + i, "name": f"sw{i}", "kind": "switch", "parent_id": 1, "medium": "fibre"}
        for i in range(2)
    ]
    rows += [
        {"id": 100 + i, "name": f"cpe{i}", "kind": "cpe", "role": "customer", "parent_id": 10}
        for i in range(20)
    ]
    drawing = layout(rows)
    nodes = {n.id: n for n in drawing.nodes}
    assert nodes[1].y < nodes[10].y < nodes[100].y
    assert nodes[1].x == (nodes[10].x + nodes[11].x) / 2
    # 20 leaves under sw0 are a grid of rows, not one 20-wide row.
    assert len({n.x for n in drawing.nodes if n.id >= 100}) == 5
    assert len({n.y for n in drawing.nodes if n.id >= 100}) == 4
    positions = {(round(n.x), round(n.y)) for n in drawing.nodes}
    assert len(positions) == len(drawing.nodes)  # no two nodes on one spot
    assert len(drawing.edges) == 22


def test_geographic_projection_keeps_north_up_and_east_right() -> None:
    sites = [
        {"id": 1, "code": "A", "name": "A", "kind": "core", "latitude": 49.2, "longitude": 16.6},
        {"id": 2, "code": "B", "name": "B", "kind": "tower", "latitude": 49.4, "longitude": 16.9},
    ]
    view = geo_view(sites, [{"a_site_id": 1, "b_site_id": 2, "medium": "radio"}])
    a, b = view.sites
    assert b["x"] > a["x"] and b["y"] < a["y"]
    assert view.lines[0]["medium"] == "radio"
    assert view.scale["px"] > 0 and view.grid


def flash(html: str) -> str:
    """The flash message a page shows after a redirect."""
    match = re.search(r'class="alert alert-info flash"[^>]*>([^<]*)<', html)
    assert match, "the page shows no flash message"
    return html_lib.unescape(match.group(1))


def test_releasing_an_address_on_a_device_page_releases_only_that_devices_addresses(
    client: TestClient, admin: psycopg.Connection, net: Net
) -> None:
    own = _one(admin, "select net.assign_ip('10.231.78.1', null, %s)", [net.agg])
    others = _one(
        admin, "select id from net.ip_assignments where address = '10.231.77.9' and upper_inf(valid)"
    )
    csrf = login_as(client, admin, ["technician"], prefix="wn")
    refused = client.post(f"/network/devices/{net.agg}/addresses/{others}/release", data={"csrf": csrf})
    assert refused.status_code == 200
    assert "does not belong to device" in flash(refused.text) and "nothing was released" in flash(
        refused.text
    )
    still = admin.execute(
        "select upper_inf(valid) from net.ip_assignments where id = %s", [others]
    ).fetchone()
    assert still == (True,)  # the customer's address stays theirs
    released = client.post(f"/network/devices/{net.agg}/addresses/{own}/release", data={"csrf": csrf})
    assert flash(released.text) == "Address released."
    ended = admin.execute("select upper_inf(valid) from net.ip_assignments where id = %s", [own]).fetchone()
    assert ended == (False,)


def test_forms_say_saved_only_when_something_changed(
    client: TestClient, admin: psycopg.Connection, net: Net
) -> None:
    device = _one(admin, "select tests.net_make_device(%s, null, 'switch')", [f"wn-same-{net.sfx}"])
    csrf = login_as(client, admin, ["technician"], prefix="wn")
    fields = {"csrf": csrf, "name": f"wn-same-{net.sfx}", "role": "operator", "state": "active"}
    before = admin.execute("select model_id, site_id from net.devices where id = %s", [device]).fetchone()
    assert before is not None
    fields.update(model_id=str(before[0] or ""), site_id=str(before[1] or ""))
    changed = client.post(f"/network/devices/{device}", data={**fields, "note": "in rack 3"})
    assert flash(changed.text) == "Changes saved."
    same = client.post(f"/network/devices/{device}", data={**fields, "note": "in rack 3"})
    assert flash(same.text) == "Nothing changed: the values are the ones already saved."
    audited = admin.execute(
        "select count(*) from audit.records where table_name = 'devices' and record_id = %s and operation = 'update'",
        [str(device)],
    ).fetchone()
    assert audited == (1,)  # the second post wrote nothing
    missing = client.post("/network/devices/999999999", data={**fields})
    assert missing.status_code == 404
    hang = {"csrf": csrf, "parent_device_id": str(net.agg), "parent_interface_id": ""}
    assert flash(client.post(f"/network/devices/{device}/parent", data=hang).text) == (
        "The device hangs on its new parent."
    )
    assert flash(client.post(f"/network/devices/{device}/parent", data=hang).text).startswith(
        "Nothing changed"
    )
    iface = _one(
        admin, "insert into net.interfaces (device_id, name) values (%s, 'ether1') returning id", [device]
    )
    edit = {"csrf": csrf, "name": "ether1", "kind": "ethernet"}
    assert flash(client.post(f"/network/devices/{device}/interfaces/{iface}", data=edit).text).startswith(
        "Nothing changed"
    )
    edit["note"] = "uplink"
    assert (
        flash(client.post(f"/network/devices/{device}/interfaces/{iface}", data=edit).text)
        == "Changes saved."
    )
    gone = client.post(f"/network/devices/{device}/links/999999999/delete", data={"csrf": csrf})
    assert flash(gone.text) == "This device has no such link: nothing was removed."


def test_stores_page_counts_what_each_store_holds_as_devices_move(
    client: TestClient, admin: psycopg.Connection, net: Net
) -> None:
    store = _one(admin, "select tests.net_store('warehouse', %s)", [f"WN counted {net.sfx}"])
    car = _one(admin, "select tests.net_store('technician', %s)", [f"WN car {net.sfx}"])
    model = _one(
        admin,
        "insert into net.device_models (manufacturer, model, kind) values ('Zyxel', %s, 'cpe') returning id",
        [f"counted {net.sfx}"],
    )
    csrf = login_as(client, admin, ["technician"], prefix="wn")
    serials = [f"WNC{net.sfx}{i}".upper() for i in range(4)]
    client.post(
        f"/network/stores/{store}/stock-in",
        data={"csrf": csrf, "model_id": str(model), "serials": "\n".join(serials)},
    )
    admin.execute("update net.devices set state = 'faulty' where serial_no = %s", [serials[0]])
    client.post(
        f"/network/stores/{store}/move", data={"csrf": csrf, "device": serials[1], "store_id": str(car)}
    )

    def row(name: str) -> tuple[str, str]:
        listing = client.get("/network/stores").text
        cells = re.findall(r'<td class="num">([^<]*)</td>', listing.split(name)[1].split("</tr>")[0])
        return cells[0], cells[1]

    assert row(f"WN counted {net.sfx}") == ("3", "1")  # devices, of them faulty
    assert row(f"WN car {net.sfx}") == ("1", "")
    summary = client.get(f"/network/stores/{store}").text
    assert f'counted {net.sfx}</span><span class="tile-value">3<' in summary
    # The counts agree with the devices everywhere in the database.
    wrong = admin.execute(
        "select count(*) from (select store_id, model_id, state, count(*) as n from net.devices"
        " where store_id is not null group by 1, 2, 3) d"
        " full join (select * from net.store_stock where devices <> 0) k"
        " on k.store_id = d.store_id and k.model_id is not distinct from d.model_id and k.state = d.state"
        " where d.n is distinct from k.devices"
    ).fetchone()
    assert wrong == (0,)


def test_map_draws_the_first_customer_devices_of_a_device_and_links_to_the_rest(
    client: TestClient, admin: psycopg.Connection, net: Net
) -> None:
    ap = _one(admin, "select tests.net_make_device(%s, %s, 'ap')", [f"wn-busy-ap-{net.sfx}", net.agg])
    admin.execute(
        "insert into net.devices (name, role, state, parent_device_id)"
        " select 'wn-many-' || lpad(g::text, 2, '0'), 'customer', 'active', %s from generate_series(1, 15) g",
        [ap],
    )
    login_as(client, admin, ["technician"], prefix="wn")
    svg = client.get("/network/map", params={"cpe": "1"}).text.split('<svg class="topology"')[1]
    drawn = re.findall(r"wn-many-(\d\d)", svg)
    assert sorted(set(drawn)) == [f"{g:02d}" for g in range(1, 13)]  # the first twelve by name
    assert f'href="/network/devices/{ap}#topology"' in svg  # the rest: on the device's card
    assert f'href="/network/devices/{net.cpe}"' in svg  # a device with one CPE draws it

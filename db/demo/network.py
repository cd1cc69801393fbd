"""The demo operator's network (NET-1…5): sites with GPS around Brno, a core router, aggregation
switches at POPs, MikroTik access points on towers and OLTs, links, an address plan, stores, and
for every running internet service a CPE, its access point or OLT, an IP address, an IPv6
delegation (optical services) and a MAC, with some history of reassigned addresses.

``load_network(conn, rng, operator_id)`` runs inside the caller's transaction as the superuser.
Infrastructure (a few dozen devices) goes in row by row; the per-service part is set-based: one
statement per batch of services calls the database's own functions (net.stock_in,
net.assign_device, net.allocate_ip, net.release_ip) over a JSON recordset, so every rule applies.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg.types.json import Jsonb

PRAGUE = ZoneInfo("Europe/Prague")
BATCH = 1000


@dataclass(frozen=True)
class SitePlan:
    code: str
    name: str
    kind: str
    city: str
    zip: str
    street: str
    lat: float
    lon: float
    parent: str | None  # the aggregation POP it hangs on (None: it is one)
    olt: bool = False
    aps: int = 0


# Aggregation POPs first (the first one is the core site), then towers and cabinets behind them.
SITES: tuple[SitePlan, ...] = (
    SitePlan(
        "BRN-CEJL",
        "Brno – datové centrum Cejl",
        "core",
        "Brno",
        "602 00",
        "Cejl 62",
        49.199310,
        16.621840,
        None,
        olt=True,
        aps=3,
    ),
    SitePlan(
        "BLK-POP",
        "Blansko – POP nádraží",
        "pop",
        "Blansko",
        "678 01",
        "Nádražní 9",
        49.363010,
        16.644520,
        None,
        olt=True,
        aps=2,
    ),
    SitePlan(
        "VYS-POP",
        "Vyškov – POP Dukelská",
        "pop",
        "Vyškov",
        "682 01",
        "Dukelská 20",
        49.277480,
        16.999010,
        None,
        olt=True,
        aps=2,
    ),
    SitePlan(
        "KUR-POP",
        "Kuřim – POP Tyršova",
        "pop",
        "Kuřim",
        "664 34",
        "Tyršova 51",
        49.298470,
        16.531420,
        None,
        olt=True,
        aps=2,
    ),
    SitePlan(
        "ROS-POP",
        "Rosice – POP zámek",
        "pop",
        "Rosice",
        "665 01",
        "Palackého nám. 1",
        49.182390,
        16.387870,
        None,
        olt=True,
        aps=2,
    ),
    SitePlan(
        "ZID-POP",
        "Židlochovice – POP",
        "pop",
        "Židlochovice",
        "667 01",
        "Nádražní 750",
        49.039580,
        16.618810,
        None,
        olt=True,
        aps=2,
    ),
    SitePlan(
        "BRN-LESNA",
        "Brno-Lesná – věž Haškova",
        "tower",
        "Brno",
        "638 00",
        "Haškova 5",
        49.224010,
        16.629030,
        "BRN-CEJL",
        aps=3,
    ),
    SitePlan(
        "BRN-BOHUNICE",
        "Brno-Bohunice – rozvaděč",
        "cabinet",
        "Brno",
        "625 00",
        "Běhounkova 2",
        49.172030,
        16.579110,
        "BRN-CEJL",
        olt=True,
    ),
    SitePlan(
        "BLK-HALASOVO",
        "Blansko – věž Písečná",
        "tower",
        "Blansko",
        "678 01",
        "Písečná 1",
        49.372110,
        16.665020,
        "BLK-POP",
        aps=3,
    ),
    SitePlan(
        "SLV-VODOJEM",
        "Slavkov u Brna – vodojem",
        "tower",
        "Slavkov u Brna",
        "684 01",
        "Zlatá Hora",
        49.158010,
        16.868940,
        "VYS-POP",
        aps=2,
    ),
    SitePlan(
        "TIS-KVETNICE",
        "Tišnov – věž Květnice",
        "tower",
        "Tišnov",
        "666 01",
        "Květnice",
        49.353210,
        16.415580,
        "KUR-POP",
        aps=3,
    ),
    SitePlan(
        "LEL-STRAZNA",
        "Lelekovice – Strážná",
        "tower",
        "Lelekovice",
        "664 31",
        "Strážná",
        49.296010,
        16.570330,
        "KUR-POP",
        aps=2,
    ),
    SitePlan(
        "IVA-VODOJEM",
        "Ivančice – vodojem",
        "tower",
        "Ivančice",
        "664 91",
        "Réna",
        49.103990,
        16.372110,
        "ROS-POP",
        aps=2,
    ),
    SitePlan(
        "MOD-ROZVADEC",
        "Modřice – rozvaděč",
        "cabinet",
        "Modřice",
        "664 42",
        "Husova 17",
        49.127720,
        16.614290,
        "ZID-POP",
        olt=True,
    ),
)

MODELS: tuple[tuple[str, str, str], ...] = (
    ("MikroTik", "CCR2216-1G-12XS-2XQ", "router"),
    ("MikroTik", "CRS326-24S+2Q+RM", "switch"),
    ("MikroTik", "CRS112-8P-4S-IN", "switch"),
    ("MikroTik", "Wireless Wire nRAY", "other"),
    ("MikroTik", "mANTBox 52 15s", "ap"),
    ("MikroTik", "LHG 5 ac", "cpe"),
    ("MikroTik", "SXTsq 5 ac", "cpe"),
    ("Huawei", "MA5800-X2", "olt"),
    ("Huawei", "EchoLife EG8145V5", "onu"),
)
CORE, AGG, TOWER_SWITCH, _BACKHAUL, AP, CPE_LHG, CPE_SXT, OLT, ONU = range(len(MODELS))
OUI = {"MikroTik": "dc:2c:6e", "Huawei": "e0:24:7f"}
PON_PORTS = 16


@dataclass
class Device:
    id: int
    name: str
    site: str
    kind: str
    ports: list[int] = field(default_factory=list)  # interfaces CPEs hang on (wlan1, PON ports)


def _chunks(rows: Sequence[Any], size: int = BATCH) -> Iterator[Sequence[Any]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dy = (lat2 - lat1) * 111.2
    dx = (lon2 - lon1) * 111.2 * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot(dx, dy)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), PRAGUE)


class _Builder:
    def __init__(self, conn: psycopg.Connection[Any], rng: random.Random, operator_id: int) -> None:
        self.cur = conn.cursor()
        self.rng = rng
        self.operator_id = operator_id
        self.models: list[int] = []
        self.sites: dict[str, int] = {}
        self.mgmt = 0
        self.mac_seq = rng.randrange(0x10000, 0x80000)
        self.credential = 0
        self.aps: dict[str, list[Device]] = {}
        self.olts: dict[str, list[Device]] = {}
        self.aggs: dict[str, Device] = {}
        self.stats: dict[str, int] = {}

    # -- small helpers
    def one(self, query: str, params: Sequence[Any] = ()) -> Any:
        self.cur.execute(query, params)  # type: ignore[arg-type]
        row = self.cur.fetchone()
        assert row is not None
        return row[0]

    def mac(self, manufacturer: str) -> str:
        self.mac_seq += 1
        n = self.mac_seq
        return f"{OUI[manufacturer]}:{(n >> 16) & 255:02x}:{(n >> 8) & 255:02x}:{n & 255:02x}"

    def interface(self, device_id: int, name: str, kind: str, speed: int, manufacturer: str) -> int:
        return int(
            self.one(
                "insert into net.interfaces (device_id, name, kind, mac, speed_mbps) values (%s, %s, %s, %s, %s) returning id",
                [device_id, name, kind, self.mac(manufacturer), speed],
            )
        )

    def device(
        self,
        name: str,
        model: int,
        site: str,
        *,
        parent: Device | None = None,
        parent_port: str = "",
        uplink: str = "",
        medium: str = "fibre",
        speed: int = 10000,
        is_core: bool = False,
    ) -> Device:
        manufacturer = MODELS[model][0]
        self.mgmt += 1
        device_id = int(
            self.one(
                """insert into net.devices (name, model_id, role, site_id, serial_no, mgmt_address, credential_id, managed,
                                        state, is_core)
               values (%s, %s, 'operator', %s, %s, %s, %s, true, 'active', %s) returning id""",
                [
                    name,
                    self.models[model],
                    self.sites[site],
                    f"{manufacturer[:2].upper()}{self.rng.randrange(10**9, 10**10)}",
                    f"10.10.{self.mgmt // 250}.{self.mgmt % 250 + 2}",
                    self.credential,
                    is_core,
                ],
            )
        )
        dev = Device(device_id, name, site, MODELS[model][2])
        if parent is not None:
            up_kind = "wireless" if medium == "radio" else ("ethernet" if medium == "copper" else "sfp")
            up = self.interface(device_id, uplink, up_kind, speed, manufacturer)
            port = self.interface(parent.id, parent_port, up_kind, speed, MODELS[self.model_of(parent)][0])
            self.cur.execute(
                "insert into net.links (a_interface_id, b_interface_id, medium, speed_mbps) values (%s, %s, %s, %s)",
                [port, up, medium, speed],
            )
            self.cur.execute(
                "update net.devices set parent_device_id = %s, parent_interface_id = %s where id = %s",
                [parent.id, port, device_id],
            )
        return dev

    def model_of(self, dev: Device) -> int:
        return {"router": CORE, "switch": AGG, "ap": AP, "olt": OLT}.get(dev.kind, AGG)

    # -- the operator's side
    def catalogue_of_devices(self) -> None:
        for manufacturer, model, kind in MODELS:
            self.cur.execute(
                """insert into net.device_models (manufacturer, model, kind) values (%s, %s, %s)
                   on conflict (manufacturer, model) do update set kind = excluded.kind returning id""",
                [manufacturer, model, kind],
            )
            row = self.cur.fetchone()
            assert row is not None
            self.models.append(int(row[0]))
        self.credential = int(
            self.one(
                """insert into net.credentials (name, kind, username, secret, note)
               values ('demo RouterOS API', 'routeros_api', 'mango', %s, 'Demo: the agents log in with it')
               on conflict (name) do update set note = excluded.note returning id""",
                [f"demo-{self.rng.getrandbits(64):016x}"],
            )
        )

    def sites_and_topology(self) -> None:
        for s in SITES:
            self.sites[s.code] = int(
                self.one(
                    """insert into net.sites (operator_id, code, name, kind, street, city, zip, latitude, longitude)
                   values (%s, %s, %s, %s, %s, %s, %s, %s, %s) returning id""",
                    [self.operator_id, s.code, s.name, s.kind, s.street, s.city, s.zip, s.lat, s.lon],
                )
            )
        core = self.device("brn-core-1", CORE, "BRN-CEJL", is_core=True)
        n_core_port = 0
        for s in SITES:
            if s.parent is not None:
                continue
            n_core_port += 1
            city = s.code.split("-")[0].lower()
            self.aggs[s.code] = self.device(
                f"{city}-agg-1",
                AGG,
                s.code,
                parent=core,
                parent_port=f"sfp28-{n_core_port}",
                uplink="sfp-sfpplus1",
                medium="fibre",
                speed=10000,
            )
        next_port: dict[str, int] = {code: 1 for code in self.aggs}
        for s in SITES:
            pop = s.parent or s.code
            agg = self.aggs[pop]
            lower = s.code.lower()
            hang_on = agg
            if s.kind == "tower":
                next_port[pop] += 1
                hang_on = self.device(
                    f"{lower}-sw",
                    TOWER_SWITCH,
                    s.code,
                    parent=agg,
                    parent_port=f"sfp-sfpplus{next_port[pop]}",
                    uplink="sfp1",
                    medium="radio",
                    speed=1000,
                )
            if s.olt:
                next_port[pop] += 1
                olt = self.device(
                    f"{lower}-olt",
                    OLT,
                    s.code,
                    parent=agg,
                    parent_port=f"sfp-sfpplus{next_port[pop]}",
                    uplink="xgs0/0/1",
                    medium="fibre",
                    speed=10000,
                )
                olt.ports = [
                    self.interface(olt.id, f"gpon0/1/{p}", "pon", 2500, "Huawei") for p in range(PON_PORTS)
                ]
                self.olts.setdefault(s.code, []).append(olt)
            for k in range(s.aps):
                port = f"ether{k + 2}"
                if hang_on is agg:
                    next_port[pop] += 1
                    port = f"sfp-sfpplus{next_port[pop]}"
                ap = self.device(
                    f"{lower}-ap{k + 1}",
                    AP,
                    s.code,
                    parent=hang_on,
                    parent_port=port,
                    uplink="ether1",
                    medium="copper",
                    speed=1000,
                )
                ap.ports = [self.interface(ap.id, "wlan1", "wireless", 867, "MikroTik")]
                self.aps.setdefault(s.code, []).append(ap)
        self.stats["devices"] = int(self.one("select count(*) from net.devices where role = 'operator'"))

    def address_plan(self) -> dict[str, int]:
        """Prefixes, VLANs and pools; returns the pools by name."""
        pools: dict[str, int] = {}

        def prefix(
            cidr: str, kind: str, description: str, site: str | None = None, vlan: int | None = None
        ) -> int:
            return int(
                self.one(
                    "insert into net.prefixes (prefix, kind, description, site_id, vlan_id) values (%s, %s, %s, %s, %s)"
                    " returning id",
                    [cidr, kind, description, self.sites.get(site or ""), vlan],
                )
            )

        def pool(
            prefix_id: int, name: str, first: str, last: str, purpose: str, length: int | None = None
        ) -> None:
            pools[name] = int(
                self.one(
                    """insert into net.pools (prefix_id, name, first_address, last_address, purpose, assign_prefix_length)
                   values (%s, %s, %s, %s, %s, %s) returning id""",
                    [prefix_id, name, first, last, purpose, length],
                )
            )

        prefix("192.0.2.0/24", "infrastructure", "Páteř: smyčky a propoje")
        mgmt = prefix("10.10.0.0/16", "management", "Správa zařízení")
        pool(mgmt, "management", "10.10.0.2", "10.10.255.254", "infrastructure")
        public = prefix("198.51.100.0/24", "public", "Veřejné adresy zákazníků")
        pool(public, "public-customers", "198.51.100.10", "198.51.100.254", "customer")
        nat = prefix("203.0.113.0/24", "public", "Veřejné adresy CGNAT")
        pool(nat, "cgnat-outside", "203.0.113.1", "203.0.113.254", "nat")
        prefix("100.64.0.0/10", "cgnat", "Sdílený adresní prostor (CGNAT)")
        for k, s in enumerate(x for x in SITES if x.parent is None):
            vlan = int(
                self.one(
                    "insert into net.vlans (vid, name, site_id) values (%s, %s, %s) returning id",
                    [100 + k, f"zakaznici-{s.code.lower()}", self.sites[s.code]],
                )
            )
            pfx = prefix(f"100.{64 + k}.0.0/18", "cgnat", f"Zákazníci {s.city}", s.code, vlan)
            pool(pfx, f"cgnat-{s.code.lower()}", f"100.{64 + k}.0.10", f"100.{64 + k}.63.254", "customer")
        prefix("2001:db8::/32", "public", "IPv6")
        pd = prefix("2001:db8:100::/40", "customer", "IPv6 delegace zákazníkům (/56)")
        pool(pd, "ipv6-pd-56", "2001:db8:100::", "2001:db8:1ff:ff00::", "delegation", 56)
        self.stats["pools"] = len(pools)
        return pools

    def stores(self) -> dict[str, int]:
        stores: dict[str, int] = {}
        customer = self.cur.execute("select id from net.stores where kind = 'customer'").fetchone()
        if customer is None:
            customer = self.cur.execute(
                "insert into net.stores (name, kind) values ('Zákazníci', 'customer') returning id"
            ).fetchone()
        assert customer is not None
        stores["customer"] = int(customer[0])
        stores["warehouse"] = int(
            self.one(
                "insert into net.stores (name, kind, site_id) values ('Sklad Brno Cejl', 'warehouse', %s) returning id",
                [self.sites["BRN-CEJL"]],
            )
        )
        stores["scrap"] = int(
            self.one("insert into net.stores (name, kind) values ('Vyřazeno', 'scrap') returning id")
        )
        stores["service"] = int(
            self.one(
                "insert into net.stores (name, kind) values ('Servis a reklamace', 'service') returning id"
            )
        )
        self.cur.execute(
            "select id, full_name from auth.users where 'technician' = any (roles) order by id limit 3"
        )
        technicians = self.cur.fetchall() or [(None, "Technik 1")]
        for k, (user_id, full_name) in enumerate(technicians):
            stores[f"car{k}"] = int(
                self.one(
                    "insert into net.stores (name, kind, technician_id) values (%s, 'technician', %s) returning id",
                    [f"Auto – {full_name}", user_id],
                )
            )
        return stores

    # -- the customers' side
    def services(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Running and ended internet services of the operator, with where they are delivered."""
        self.cur.execute(
            """
            select s.id, s.customer_id, s.state, lower(s.valid), upper(s.valid), p.code, dp.latitude, dp.longitude
              from crm.services s
              join catalog.products p on p.id = s.product_id
              join catalog.classes k on k.id = p.class_id and k.code = 'internet'
              left join crm.delivery_places dp on dp.id = s.delivery_place_id
             where s.operator_id = %s and (s.state in ('active', 'blocked', 'suspended') or
                                           (s.state = 'ended' and lower(s.valid) < upper(s.valid)))
             order by s.id
            """,
            [self.operator_id],
        )
        running: list[dict[str, Any]] = []
        ended: list[dict[str, Any]] = []
        for sid, customer_id, state, start, end, code, lat, lon in self.cur.fetchall():
            row = {
                "service_id": int(sid),
                "customer_id": int(customer_id),
                "start": start,
                "end": end,
                "wifi": "wifi" in code.lower(),
                "business": "biz" in code.lower(),
                "lat": float(lat) if lat is not None else None,
                "lon": float(lon) if lon is not None else None,
            }
            (ended if state == "ended" else running).append(row)
        return running, ended

    def nearest(self, lat: float | None, lon: float | None, wifi: bool) -> Device:
        """An access point (wireless) or an OLT (optical) at the site nearest the place."""
        table = self.aps if wifi else self.olts
        if lat is None or lon is None:
            site = self.rng.choice(sorted(table))
        else:
            by_code = {s.code: s for s in SITES}
            site = min(table, key=lambda c: _distance_km(lat, lon, by_code[c].lat, by_code[c].lon))
        return self.rng.choice(table[site])

    def cpes(self, running: list[dict[str, Any]], stores: dict[str, int]) -> None:
        """A CPE for each running service: stock in, interfaces, link, assign, access tie, MAC."""
        for chunk in _chunks(running):
            rows = []
            for r in chunk:
                access = self.nearest(r["lat"], r["lon"], r["wifi"])
                model = (self.rng.choice((CPE_LHG, CPE_SXT))) if r["wifi"] else ONU
                manufacturer = MODELS[model][0]
                port = self.rng.choice(access.ports)
                r["access"], r["port"] = access.id, port
                rows.append(
                    {
                        "service_id": r["service_id"],
                        "model_id": self.models[model],
                        "access_id": access.id,
                        "port_id": port,
                        "store_id": stores["warehouse"],
                        "serial": f"{manufacturer[:2].upper()}{self.rng.randrange(10**10, 10**11)}",
                        "name": f"cpe-{r['service_id']}",
                        "mac": self.mac(manufacturer),
                        "if_name": "wlan1" if r["wifi"] else "pon0",
                        "if_kind": "wireless" if r["wifi"] else "pon",
                        "medium": "radio" if r["wifi"] else "fibre",
                        "speed": self.rng.choice((300, 433, 650)) if r["wifi"] else 2500,
                        "start": _start_of(r["start"]).isoformat(),
                    }
                )
            self.cur.execute(
                """
                with r as (
                  select * from jsonb_to_recordset(%s::jsonb) as r(service_id bigint, model_id bigint, access_id bigint,
                         port_id bigint, store_id bigint, serial text, name text, mac macaddr, if_name text, if_kind text,
                         medium text, speed integer, start timestamptz)
                ), d as (
                  select r.*, net.stock_in(r.store_id, r.model_id, r.serial, r.name) as device_id from r
                ), i as (
                  insert into net.interfaces (device_id, name, kind, mac, speed_mbps)
                  select d.device_id, d.if_name, d.if_kind, d.mac, d.speed from d
                  returning id, device_id
                ), l as (
                  insert into net.links (a_interface_id, b_interface_id, medium, speed_mbps)
                  select d.port_id, i.id, d.medium, d.speed from d join i on i.device_id = d.device_id
                ), m as (
                  insert into net.mac_assignments (mac, service_id, device_id, valid)
                  select d.mac, d.service_id, d.device_id, tstzrange(d.start, null) from d
                )
                select jsonb_agg(jsonb_build_object('device_id', d.device_id, 'service_id', d.service_id,
                                                    'access_id', d.access_id, 'port_id', d.port_id, 'start', d.start))
                  from d
                """,
                [Jsonb(rows)],
            )
            placed = self.cur.fetchone()
            assert placed is not None
            # The devices exist now (the CTE above committed them to this transaction): give them out.
            self.cur.execute(
                """
                with r as (
                  select * from jsonb_to_recordset(%s::jsonb)
                    as r(device_id bigint, service_id bigint, access_id bigint, port_id bigint, start timestamptz)
                ), a as (
                  select r.*, net.assign_device(r.device_id, r.service_id, r.access_id, r.port_id) from r
                )
                select count(*) from a
                """,
                [Jsonb(placed[0])],
            )
            self.cur.execute(
                """
                with r as (
                  select * from jsonb_to_recordset(%s::jsonb)
                    as r(device_id bigint, service_id bigint, access_id bigint, port_id bigint, start timestamptz)
                ), cpe as (
                  update net.service_devices sd set valid = tstzrange(least(r.start, lower(sd.valid)), null)
                    from r where sd.device_id = r.device_id and sd.service_id = r.service_id and upper_inf(sd.valid)
                )
                insert into net.service_devices (service_id, device_id, interface_id, role, valid)
                select r.service_id, r.access_id, r.port_id, 'access', tstzrange(r.start, null) from r
                """,
                [Jsonb(placed[0])],
            )
        self.stats["cpes"] = len(running)

    def spares(self, stores: dict[str, int]) -> None:
        """Spare CPEs in the warehouse and the technicians' cars, a couple scrapped."""
        cars = [v for k, v in stores.items() if k.startswith("car")]
        for k in range(24):
            model = (CPE_LHG, CPE_SXT, ONU)[k % 3]
            serial = f"{MODELS[model][0][:2].upper()}{self.rng.randrange(10**10, 10**11)}"
            device_id = int(
                self.one("select net.stock_in(%s, %s, %s)", [stores["warehouse"], self.models[model], serial])
            )
            if k < 3 * len(cars):
                self.cur.execute(
                    "select net.move_device(%s, %s, 'do auta')", [device_id, cars[k % len(cars)]]
                )
            elif k >= 22:
                self.cur.execute(
                    "select net.move_device(%s, %s, 'vadný při převzetí')", [device_id, stores["scrap"]]
                )

    def addresses(
        self, running: list[dict[str, Any]], ended: list[dict[str, Any]], pools: dict[str, int], today: date
    ) -> None:
        """IP history: allocations in time order, each ended when its service ended or was renumbered.

        Allocating in order of start with the end already known gives the same history as
        replaying allocations and releases in time order: an allocation only looks at holdings
        that overlap its own open-ended period. Releases are applied after each batch, so an
        address freed inside a batch is reused from the next batch on.
        """
        agg_pool = {s.code: pools[f"cgnat-{s.code.lower()}"] for s in SITES if s.parent is None}
        site_pop = {s.code: s.parent or s.code for s in SITES}
        access_site = {d.id: d.site for devs in (*self.aps.values(), *self.olts.values()) for d in devs}
        allocations: list[dict[str, Any]] = []
        delegations: list[dict[str, Any]] = []

        def add(service_id: int, pool: int, at: datetime, until: datetime | None) -> None:
            allocations.append({"service_id": service_id, "pool_id": pool, "at": at, "until": until})

        renumbered = 0
        public_left = 200  # public addresses for business customers while they last, then CGNAT
        for is_running, r in [(True, r) for r in running] + [(False, r) for r in ended]:
            if r["business"] and public_left > 0:
                pool = pools["public-customers"]
                public_left -= 1
            elif "access" in r:
                pool = agg_pool[site_pop[access_site[r["access"]]]]
            else:
                pool = self.rng.choice(sorted(agg_pool.values()))
            start = _start_of(r["start"]) + timedelta(hours=self.rng.randrange(8, 18))
            # A running service keeps its address until it really ends (a scheduled end is not yet).
            end = _start_of(r["end"]) if r["end"] is not None and not is_running else None
            last = r["end"] if end is not None else today
            if is_running and not r["wifi"]:
                delegations.append({"service_id": r["service_id"], "at": start.isoformat()})
            if (last - r["start"]).days > 60 and self.rng.random() < 0.15:
                # Renumbered once: moved over from another POP's pool, or given a public address.
                when = _start_of(
                    r["start"] + timedelta(days=self.rng.randrange(30, (last - r["start"]).days - 15))
                )
                when += timedelta(hours=self.rng.randrange(7, 20))
                earlier = self.rng.choice([p for p in agg_pool.values() if p != pool])
                add(r["service_id"], earlier, start, when)
                add(r["service_id"], pool, when, end)
                renumbered += 1
            else:
                add(r["service_id"], pool, start, end)
        allocations.sort(key=lambda a: (a["at"], a["service_id"], a["pool_id"]))
        rows = [
            {**a, "seq": k, "at": a["at"].isoformat(), "until": a["until"] and a["until"].isoformat()}
            for k, a in enumerate(allocations)
        ]
        for chunk in _chunks(rows, 250):
            self.cur.execute(
                """
                select count(net.allocate_ip(e.pool_id, e.service_id, null, e.at))
                  from (select * from jsonb_to_recordset(%s::jsonb)
                          as r(seq integer, service_id bigint, pool_id bigint, at timestamptz) order by seq offset 0) e
                """,
                [Jsonb(list(chunk))],
            )
            self.cur.execute(
                """
                select count(net.release_ip(a.id, e.until))
                  from jsonb_to_recordset(%s::jsonb) as e(service_id bigint, pool_id bigint, at timestamptz,
                                                           until timestamptz)
                  join net.ip_assignments a on a.service_id = e.service_id and a.pool_id = e.pool_id
                                           and lower(a.valid) = e.at and upper_inf(a.valid)
                 where e.until is not null
                """,
                [Jsonb([c for c in chunk if c["until"] is not None])],
            )
        # IPv6: each optical service has its own /56 for good, numbered in the order of the services
        # (net.assign_ip files it under the delegation pool).
        self.cur.execute(
            """
            select count(net.assign_ip(
                     ('2001:db8:' || to_hex(256 + (d.k - 1) / 256) || ':' || to_hex((d.k - 1) %% 256) || '00::/56')::inet,
                     d.service_id, null, d.at))
              from (select r.*, row_number() over (order by r.service_id) as k
                      from jsonb_to_recordset(%s::jsonb) as r(service_id bigint, at timestamptz)) d
            """,
            [Jsonb(delegations)],
        )
        self.stats["ip_assignments"] = len(allocations) + len(delegations)
        self.stats["renumbered"] = renumbered


def load_network(conn: psycopg.Connection[Any], rng: random.Random, operator_id: int) -> dict[str, int]:
    """Build the operator's network and tie every running internet service to it; returns counts."""
    b = _Builder(conn, rng, operator_id)
    today = b.one("select current_date")
    b.catalogue_of_devices()
    b.sites_and_topology()
    pools = b.address_plan()
    stores = b.stores()
    running, ended = b.services()
    b.cpes(running, stores)
    b.spares(stores)
    b.addresses(running, ended, pools, today)
    b.stats["sites"] = len(SITES)
    b.stats["services"] = len(running)
    b.stats["aggregation_switches"] = len(b.aggs)
    return dict(b.stats)

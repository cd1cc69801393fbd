"""The plan of the demo: every customer, service, order and later event decided in Python first,
deterministically from the seed and the day it runs, before anything is loaded."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime

from faker import Faker

from db.demo.reference import (
    BUNDLE_ITEMS,
    COMPANY_TRADES,
    FREE_MAIL,
    INSTALL_NOTES,
    NOTES,
    ORDER_NOTES,
    PRICE_2024,
    PRODUCT_CLASS,
    PRODUCT_OPERATOR,
    REJECT_REASONS,
    TARIFF_PRODUCT,
    TOWNS,
    Town,
    ascii_fold,
    make_ico,
    slug,
)

# ---------------------------------------------------------------------------------------------
# The plan: everything decided in Python first (deterministic), then loaded.


@dataclass
class Place:
    id: int
    customer: int  # index into customers
    street: str
    house_no: str
    flat: str | None
    city: str
    zip: str
    lat: float | None
    lon: float | None
    note: str | None


@dataclass
class ServicePlan:
    seq: int
    customer: int
    operator: str
    tariff: str | None  # tariff code, or None for a bundle
    bundle: str | None
    start: date
    place: int
    contract: str  # operator code of the contract
    period: int
    billing_day: int
    params: dict[str, str] = field(default_factory=dict)
    item_params: dict[int, dict[str, str]] = field(default_factory=dict)  # bundle item index -> params
    change: tuple[date, str] | None = None  # tariff change by an order: (date, new tariff)
    end: tuple[date, str] | None = None
    block: tuple[str, str] | None = None
    suspend: tuple[date, date | None, str] | None = None
    ids: list[int] = field(default_factory=list)


@dataclass
class CustomerPlan:
    idx: int
    id: int
    operator: str
    kind: str
    first_name: str | None
    last_name: str | None
    company_name: str | None
    ico: str | None
    dic: str | None
    birth_date: date | None
    street: str
    house_no: str
    city: str
    zip: str
    language: str
    created_on: date
    parent: int | None = None
    village: bool = False
    contacts: list[tuple[str, str, str | None, bool]] = field(default_factory=list)
    places: list[Place] = field(default_factory=list)
    contracts: dict[str, tuple[int, date, date | None]] = field(default_factory=dict)
    services: list[ServicePlan] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    discount: tuple[float, date, str] | None = None
    params: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    ended: tuple[date, str] | None = None

    @property
    def service_count(self) -> int:
        """How many services the plans make (a bundle makes one per item)."""
        return sum(len(BUNDLE_ITEMS[s.bundle]) if s.bundle else 1 for s in self.services)

    @property
    def name(self) -> str:
        return self.company_name or f"{self.first_name} {self.last_name}"


@dataclass
class OrderPlan:
    seq: int
    customer: int
    actor: str  # username of the staff member who handles it
    kind: str
    stages: list[str]  # the stages it goes through, the first is where it starts
    effective_on: date
    placed: datetime
    tariff: str | None = None
    bundle: str | None = None
    service: ServicePlan | None = None
    note: str | None = None
    reject_reason: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    id: int = 0


# ---------------------------------------------------------------------------------------------
# Planning


class Planner:
    def __init__(self, seed: int, today: date, customers: int) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("cs_CZ")
        self.fake.seed_instance(seed)
        self.today = today
        self.n = customers
        self.icos: set[str] = set()
        self.phone_seq = 0
        self.service_seq = 0
        self.customers: list[CustomerPlan] = []
        self.services: list[ServicePlan] = []
        self.orders: list[OrderPlan] = []
        self._town_weights = [t.weight for t in TOWNS]

    # -- small helpers
    def day(self, lo: date, hi: date) -> date:
        """A random day in [lo, hi]."""
        if hi <= lo:
            return lo
        return lo + timedelta(days=self.rng.randint(0, (hi - lo).days))

    def town(self, village: bool | None = None) -> Town:
        while True:
            t = self.rng.choices(TOWNS, weights=self._town_weights)[0]
            if village is None or t.village == village:
                return t

    def house_no(self) -> str:
        r = self.rng.random()
        if r < 0.55:
            return f"{self.rng.randint(100, 3999)}/{self.rng.randint(1, 120)}"
        return str(self.rng.randint(1, 999))

    def new_ico(self) -> str:
        while True:
            ico = make_ico(self.rng.randint(1000000, 9999999))
            if ico not in self.icos:
                self.icos.add(ico)
                return ico

    def mobile(self) -> str:
        p = self.rng.choice(("60", "72", "73", "77", "79", "70", "60", "77"))
        digits = f"{p}{self.rng.randint(0, 9999999):07d}"
        return f"+420 {digits[:3]} {digits[3:6]} {digits[6:]}"

    def landline_number(self) -> str:
        self.phone_seq += 1
        return f"+42053{self.phone_seq + 1000000:07d}"

    def gps(self, town: Town) -> tuple[float, float]:
        return (
            round(town.lat + self.rng.uniform(-0.03, 0.03), 6),
            round(town.lon + self.rng.uniform(-0.045, 0.045), 6),
        )

    # -- customers
    def plan(self) -> None:
        first_day = self.today - timedelta(days=6 * 365)
        companies: list[CustomerPlan] = []
        for i in range(self.n):
            created = self.day(first_day, self.today - timedelta(days=1))
            is_company = self.rng.random() < 0.15
            operator = "demo-tv" if self.rng.random() < 0.07 else "demo"
            c = self.person(i, created, operator) if not is_company else self.company(i, created, operator)
            self.customers.append(c)
            if is_company:
                companies.append(c)
        # A few companies pay for their branches: some later customers become branches.
        branch_candidates = [c for c in self.customers if c.kind == "company" and c.operator == "demo"]
        for parent in branch_candidates[: max(1, len(branch_candidates) // 12)]:
            for _ in range(self.rng.randint(1, 3)):
                idx = len(self.customers)
                town = self.town(village=False)
                created = self.day(parent.created_on, self.today - timedelta(days=1))
                b = CustomerPlan(
                    idx=idx,
                    id=0,
                    operator="demo",
                    kind="company",
                    first_name=None,
                    last_name=None,
                    company_name=f"{parent.company_name} – pobočka {town.name}",
                    ico=parent.ico,
                    dic=parent.dic,
                    birth_date=None,
                    street=self.fake.street_name(),
                    house_no=self.house_no(),
                    city=town.name,
                    zip=self.rng.choice(town.zips),
                    language="cs",
                    created_on=created,
                    parent=parent.idx,
                )
                b.contacts.append(("phone", self.mobile(), "pobočka", True))
                b.contacts.append(("email", f"{slug(town.name)}@{self.domain_of(parent)}", None, True))
                self.home_place(b, town)
                self.customers.append(b)
        for c in self.customers:
            self.plan_services(c)
        self.plan_history()

    def domain_of(self, c: CustomerPlan) -> str:
        for kind, value, _, _ in c.contacts:
            if kind == "email":
                return value.split("@", 1)[1]
        return "example.cz"

    def home_place(self, c: CustomerPlan, town: Town) -> None:
        flat = None
        if "/" in c.house_no and self.rng.random() < 0.5:
            flat = str(self.rng.randint(1, 40))
        lat_lon: tuple[float | None, float | None] = (None, None)
        if self.rng.random() < 0.4:
            lat_lon = self.gps(town)
        c.places.append(
            Place(0, c.idx, c.street, c.house_no, flat, c.city, c.zip, lat_lon[0], lat_lon[1], None)
        )

    def extra_place(self, c: CustomerPlan, note: str) -> None:
        town = self.town()
        lat, lon = self.gps(town)
        flat = str(self.rng.randint(1, 60)) if self.rng.random() < 0.5 else None
        c.places.append(
            Place(
                0,
                c.idx,
                self.fake.street_name(),
                self.house_no(),
                flat,
                town.name,
                self.rng.choice(town.zips),
                lat,
                lon,
                note,
            )
        )

    def person(self, i: int, created: date, operator: str) -> CustomerPlan:
        female = self.rng.random() < 0.5
        first = self.fake.first_name_female() if female else self.fake.first_name_male()
        last = self.fake.last_name_female() if female else self.fake.last_name_male()
        town = self.town()
        birth = self.day(date(1940, 1, 1), date(2005, 12, 31)) if self.rng.random() < 0.65 else None
        c = CustomerPlan(
            idx=i,
            id=0,
            operator=operator,
            kind="person",
            first_name=first,
            last_name=last,
            company_name=None,
            ico=None,
            dic=None,
            birth_date=birth,
            street=self.fake.street_name(),
            house_no=self.house_no(),
            city=town.name,
            zip=self.rng.choice(town.zips),
            language="en" if self.rng.random() < 0.01 else "cs",
            created_on=created,
            village=town.village,
        )
        c.contacts.append(("phone", self.mobile(), None, True))
        if self.rng.random() < 0.2:
            c.contacts.append(
                ("phone", self.mobile(), self.rng.choice(("práce", "manžel", "manželka", "domů")), False)
            )
        local = f"{ascii_fold(first)}.{ascii_fold(last)}"
        if self.rng.random() < 0.3:
            local += str(self.rng.randint(1, 99))
        email = f"{local}@{self.rng.choice(FREE_MAIL)}"
        c.contacts.append(("email", email, None, True))
        if self.rng.random() < 0.08:
            c.contacts.append(
                ("billing_email", f"{ascii_fold(last)}.faktury@{self.rng.choice(FREE_MAIL)}", None, True)
            )
        self.home_place(c, town)
        if self.rng.random() < 0.08:
            self.extra_place(c, self.rng.choice(("Chata", "Byt pro rodiče", "Chalupa", "Garáž s kamerou")))
        self.customer_extras(c, birth)
        return c

    def company(self, i: int, created: date, operator: str) -> CustomerPlan:
        town = self.town()
        r = self.rng.random()
        groups: list[str] = []
        if r < 0.04:
            village = self.town(village=True)
            name = f"Obec {village.name}"
            town = village
            groups.append("Obce")
        else:
            surname = self.fake.last_name_male()
            suffix = self.rng.choices(("s.r.o.", "a.s.", "spol. s r.o.", "v.o.s."), weights=(70, 10, 12, 8))[
                0
            ]
            style = self.rng.random()
            if style < 0.5:
                name = f"{self.rng.choice(COMPANY_TRADES)} {surname} {suffix}"
            elif style < 0.75:
                name = f"{surname} a syn {suffix}"
            else:
                name = f"{self.rng.choice(COMPANY_TRADES)} {town.name} {suffix}"
        ico = self.new_ico()
        vat = self.rng.random() < 0.8
        c = CustomerPlan(
            idx=i,
            id=0,
            operator=operator,
            kind="company",
            first_name=None,
            last_name=None,
            company_name=name,
            ico=ico,
            dic=f"CZ{ico}" if vat else None,
            birth_date=None,
            street=self.fake.street_name(),
            house_no=self.house_no(),
            city=town.name,
            zip=self.rng.choice(town.zips),
            language="cs",
            created_on=created,
            village=town.village,
        )
        c.groups.extend(groups)
        domain = f"{slug(name.replace('s.r.o.', '').replace('a.s.', '').replace('spol. s r.o.', '').replace('v.o.s.', ''))}.cz"
        c.contacts.append(("phone", self.mobile(), "kancelář", True))
        c.contacts.append(("email", f"info@{domain}", None, True))
        if self.rng.random() < 0.6:
            c.contacts.append(("billing_email", f"fakturace@{domain}", "fakturace", True))
            if self.rng.random() < 0.4:
                c.contacts.append(("billing_email", f"ucetni@{domain}", "účetní", False))
        self.home_place(c, town)
        for _ in range(self.rng.choice((0, 0, 0, 1, 2))):
            self.extra_place(c, self.rng.choice(("Sklad", "Provozovna", "Kancelář 2. NP", "Dílna")))
        self.customer_extras(c, None)
        return c

    def customer_extras(self, c: CustomerPlan, birth: date | None) -> None:
        c.params["marketing_consent"] = "true" if self.rng.random() < 0.6 else "false"
        if self.rng.random() < 0.5:
            c.params["preferred_contact"] = self.rng.choice(("e-mail", "telefon", "SMS", "pošta"))
        if self.rng.random() < 0.1:
            c.params["installation_note"] = self.rng.choice(INSTALL_NOTES)
        r = self.rng.random()
        if r < 0.02:
            c.groups.append("VIP")
        elif r < 0.027:
            c.groups.append("Zaměstnanci")
            c.discount = (50.0, c.created_on, "Zaměstnanecká sleva")
        elif r < 0.035:
            c.groups.append("Partneři")
        if birth is not None and birth < date(1960, 1, 1) and self.rng.random() < 0.4 and c.discount is None:
            c.groups.append("Senioři")
            c.discount = (10.0, max(c.created_on, PRICE_2024), "Seniorská sleva")
        while self.rng.random() < 0.12 and len(c.notes) < 3:
            c.notes.append(self.rng.choice(NOTES))

    # -- services
    def service(
        self,
        c: CustomerPlan,
        start: date,
        *,
        tariff: str | None = None,
        bundle: str | None = None,
        place: int = 0,
    ) -> ServicePlan:
        operator = "demo" if bundle else PRODUCT_OPERATOR[TARIFF_PRODUCT[tariff or ""]]
        contract = operator  # one contract per operator the customer buys from
        c.contracts.setdefault(contract, (0, c.created_on, None))
        self.service_seq += 1
        s = ServicePlan(
            seq=self.service_seq,
            customer=c.idx,
            operator=operator,
            tariff=tariff,
            bundle=bundle,
            start=start,
            place=place,
            contract=contract,
            period=self.rng.choices((1, 3, 12), weights=(80, 12, 8))[0],
            billing_day=self.rng.choices((1, 10, 15), weights=(85, 5, 10))[0],
        )
        kinds = [
            PRODUCT_CLASS[TARIFF_PRODUCT[t]] for t in (BUNDLE_ITEMS[bundle] if bundle else [tariff or ""])
        ]
        for k, cls in enumerate(kinds):
            params: dict[str, str] = {}
            # An internet service's addresses and MAC come from the network inventory (IPAM and
            # the CPE), not from parameters: the demo's network step assigns them.
            if cls == "voice":
                params = {"phone_number": self.landline_number()}
            elif cls == "tv":
                params = {"stb_count": str(self.rng.choices((1, 2, 3), weights=(75, 20, 5))[0])}
            elif cls == "goods":
                params = {"serial_number": f"SN{self.rng.randint(10**9, 10**10 - 1)}"}
            if bundle:
                s.item_params[k] = params
            else:
                s.params = params
        c.services.append(s)
        return s

    def later(self, start: date, max_days: int) -> date:
        return self.day(start, min(self.today, start + timedelta(days=max_days)))

    def internet_tariff(self, c: CustomerPlan) -> str:
        if c.kind == "company" and self.rng.random() < 0.6:
            return self.rng.choice(("BIZ500", "BIZ1000"))
        if c.village or self.rng.random() < 0.2:
            return self.rng.choices(("WIFI30", "WIFI60", "WIFI100"), weights=(30, 45, 25))[0]
        return self.rng.choices(("OPT100", "OPT300", "OPT1000"), weights=(35, 45, 20))[0]

    def plan_services(self, c: CustomerPlan) -> None:
        start = self.later(c.created_on, 30)
        if c.operator == "demo-tv":
            r = self.rng.random()
            if r < 0.45:
                self.service(c, start, tariff=self.rng.choice(("TV-START", "TV-KOMPLET", "TV-SPORT")))
            elif r < 0.75:
                self.service(c, start, tariff=self.rng.choice(("V100", "V100", "VUNL")))
            else:
                self.service(c, start, tariff=self.rng.choice(("TV-START", "TV-KOMPLET")))
                self.service(c, self.later(start, 365), tariff="V100")
            return
        if c.kind == "company":
            self.service(c, start, tariff=self.internet_tariff(c))
            if c.parent is None:
                for _ in range(self.rng.choice((0, 1, 1, 2))):
                    self.service(c, self.later(start, 400), tariff=self.rng.choice(("V100", "VUNL")))
            return
        r = self.rng.random()
        if r < 0.42:
            s = self.service(c, start, tariff=self.internet_tariff(c))
            if self.rng.random() < 0.35 and s.tariff and s.tariff.startswith("WIFI"):
                self.service(c, start, tariff=self.rng.choice(("ROUTER-RENT", "ROUTER-RENT", "ROUTER-SALE")))
            elif s.tariff and s.tariff.startswith("OPT") and self.rng.random() < 0.3:
                self.service(c, start, tariff="ONT-RENT")
        elif r < 0.60:
            self.service(c, start, bundle="DUO-WIFI" if c.village else "DUO-OPT")
        elif r < 0.70:
            self.service(c, start, bundle="TRIO-OPT" if not c.village else "DUO-WIFI")
        elif r < 0.80:
            self.service(c, start, tariff=self.internet_tariff(c))
            self.service(c, self.later(start, 500), tariff=self.rng.choice(("V100", "VUNL")))
        elif r < 0.90:
            self.service(c, start, tariff=self.internet_tariff(c))
            tv = self.service(
                c, self.later(start, 500), tariff=self.rng.choice(("TV-START", "TV-KOMPLET", "TV-SPORT"))
            )
            if self.rng.random() < 0.4:
                self.service(c, tv.start, tariff="STB-RENT")
        else:
            # Moved from Wi-Fi to optics: the Wi-Fi service ended the day the optics started.
            wifi = self.service(c, start, tariff=self.rng.choice(("WIFI30", "WIFI60")))
            if start < self.today - timedelta(days=60):
                switch = self.day(start + timedelta(days=30), self.today - timedelta(days=1))
                wifi.end = (switch, "Přechod na optické připojení")
                self.service(c, switch, tariff=self.rng.choice(("OPT100", "OPT300")))
        if len(c.places) > 1 and self.rng.random() < 0.5 and c.service_count < 3:
            self.service(c, self.later(start, 700), tariff=self.rng.choice(("WIFI30", "WIFI60")), place=1)

    # -- history: tariff changes (by orders), ends, blocks, suspensions, ended customers, orders
    def plan_history(self) -> None:
        rng = self.rng
        sales = ["sales", "lenka.pokorna", "jiri.cerny"]
        upgrades = {
            "OPT100": "OPT300",
            "OPT300": "OPT1000",
            "WIFI30": "WIFI60",
            "WIFI60": "WIFI100",
            "V100": "VUNL",
            "TV-START": "TV-KOMPLET",
            "BIZ500": "BIZ1000",
        }
        for c in self.customers:
            for s in c.services:
                last = s.end[0] if s.end else self.today
                if (
                    s.tariff in upgrades
                    and s.bundle is None
                    and rng.random() < 0.14
                    and (last - s.start).days > 60
                ):
                    when = self.day(s.start + timedelta(days=30), last - timedelta(days=1))
                    s.change = (when, upgrades[s.tariff or ""])
                    stages = ["order", "accepted"] if rng.random() < 0.6 else ["offer", "order", "accepted"]
                    self.orders.append(
                        OrderPlan(
                            seq=0,
                            customer=c.idx,
                            actor=rng.choice(sales),
                            kind="change_tariff",
                            stages=stages,
                            effective_on=when,
                            placed=self.stamp(when - timedelta(days=rng.randint(8, 25))),
                            tariff=s.change[1],
                            service=s,
                            note=rng.choice(ORDER_NOTES),
                        )
                    )
            # A customer who left: everything ends on one day after the last thing that happened.
            last_event = max(
                [s.start for s in c.services]
                + [s.change[0] for s in c.services if s.change]
                + [s.end[0] for s in c.services if s.end]
            )
            if rng.random() < 0.05 and last_event < self.today - timedelta(days=2) and c.parent is None:
                ended = self.day(last_event + timedelta(days=1), self.today - timedelta(days=1))
                c.ended = (
                    ended,
                    rng.choice(
                        (
                            "Přestěhování mimo pokrytí",
                            "Přechod ke konkurenci",
                            "Úmrtí zákazníka",
                            "Nespokojenost s cenou",
                        )
                    ),
                )
                for s in c.services:
                    if s.end and s.end[0] > ended:
                        s.end = None
                continue
            for s in c.services:
                if s.end or s.change:
                    continue
                r = rng.random()
                if r < 0.04 and (self.today - s.start).days > 40:
                    s.end = (
                        self.day(s.start + timedelta(days=30), self.today - timedelta(days=1)),
                        rng.choice(("Zrušení na žádost zákazníka", "Služba nahrazena jinou")),
                    )
                elif r < 0.055:
                    s.end = (self.today + timedelta(days=rng.randint(5, 60)), "Výpověď zákazníka")
                elif r < 0.075:
                    s.block = rng.choice(
                        (
                            ("system", "Neuhrazené faktury po splatnosti"),
                            ("system", "Neuhrazené faktury po splatnosti"),
                            ("manual", "Na žádost zákazníka – ztráta zařízení"),
                        )
                    )
                elif r < 0.09 and (self.today - s.start).days > 10:
                    s.suspend = (
                        self.day(max(s.start, self.today - timedelta(days=60)), self.today),
                        rng.choice((self.today + timedelta(days=rng.randint(30, 180)), None)),
                        "Dlouhodobý pobyt v zahraničí",
                    )
            # A few services ordered to start soon (the scheduler starts them on the day).
            if c.service_count < 3 and c.operator == "demo" and rng.random() < 0.02:
                self.service(
                    c,
                    self.today + timedelta(days=rng.randint(3, 30)),
                    tariff=rng.choice(("ROUTER-RENT", "WIFI30", "OPT100")),
                )
            # Open and closed enquiries, offers and orders with the sales team.
            r = rng.random()
            actor = rng.choice(sales) if rng.random() < 0.8 else rng.choice(("support", "katerina.mala"))
            placed_recent = self.stamp(self.today - timedelta(days=rng.randint(0, 20)))
            if c.operator != "demo":
                continue
            if r < 0.04:
                self.orders.append(
                    OrderPlan(
                        seq=0,
                        customer=c.idx,
                        actor=actor,
                        kind="activate",
                        stages=["enquiry"],
                        effective_on=self.today + timedelta(days=rng.randint(14, 45)),
                        placed=placed_recent,
                        tariff=rng.choice(("TV-START", "TV-KOMPLET", "V100")),
                        note="Zájem o rozšíření služeb.",
                    )
                )
            elif r < 0.07:
                self.orders.append(
                    OrderPlan(
                        seq=0,
                        customer=c.idx,
                        actor=actor,
                        kind="activate",
                        stages=["enquiry", "offer"],
                        effective_on=self.today + timedelta(days=rng.randint(14, 45)),
                        placed=placed_recent,
                        bundle=rng.choice(("DUO-OPT", "TRIO-OPT")),
                        note="Nabídka balíčku zaslána e-mailem.",
                    )
                )
            elif r < 0.10:
                when = self.day(c.created_on + timedelta(days=10), (c.ended[0] if c.ended else self.today))
                self.orders.append(
                    OrderPlan(
                        seq=0,
                        customer=c.idx,
                        actor=actor,
                        kind="activate",
                        stages=["enquiry", "offer", "rejected"],
                        effective_on=when,
                        placed=self.stamp(when - timedelta(days=rng.randint(5, 25))),
                        tariff=rng.choice(("OPT1000", "TV-SPORT", "VUNL")),
                        note=rng.choice(ORDER_NOTES),
                        reject_reason=rng.choice(REJECT_REASONS),
                    )
                )
            elif r < 0.11:
                when = self.day(c.created_on + timedelta(days=10), (c.ended[0] if c.ended else self.today))
                self.orders.append(
                    OrderPlan(
                        seq=0,
                        customer=c.idx,
                        actor=actor,
                        kind="activate",
                        stages=["offer", "cancelled"],
                        effective_on=when,
                        placed=self.stamp(when - timedelta(days=rng.randint(5, 25))),
                        tariff="TV-KOMPLET",
                        note="Zákazník nabídku zrušil telefonicky.",
                    )
                )
            elif r < 0.13 and not c.ended:
                # Accepted, activated on a future day by the scheduler.
                when = self.today + timedelta(days=rng.randint(3, 30))
                self.orders.append(
                    OrderPlan(
                        seq=0,
                        customer=c.idx,
                        actor=actor,
                        kind="activate",
                        stages=["order", "accepted"],
                        effective_on=when,
                        placed=placed_recent,
                        tariff=rng.choice(("V100", "TV-START")),
                        note="Aktivace po instalaci technikem.",
                    )
                )
        for k, o in enumerate(sorted(self.orders, key=lambda o: (o.placed, o.customer))):
            o.seq = k

    def stamp(self, d: date) -> datetime:
        return datetime.combine(d, dtime(8, 0), tzinfo=UTC) + timedelta(minutes=self.rng.randint(0, 600))

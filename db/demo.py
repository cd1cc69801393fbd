"""`mango demo`: a deterministic demo of a Czech operator (customers, catalogue, services, orders).

The same seed gives the same data (Faker ``cs_CZ`` and ``random.Random`` seeded with it), on the
day it runs: dates are spread back from the database's ``current_date``.

What it builds:
- two operators (an ISP and a smaller TV and voice operator) with valid IČO/DIČ, bank accounts
  and number series; staff users, one per role (``DEMO_LOGINS``) and a few more;
- the catalogue: classes with typed parameters, products, tariffs, dated prices (with a zone
  price), bundles, customer groups and customer parameters;
- customers (persons and companies, branches paid by their parent), contacts, delivery places,
  contracts, notes, group discounts; their services, tariff changes, blocks, suspensions, ends,
  and orders placed by the salespeople (enquiries, offers, accepted, rejected).

Customer data goes in with COPY (the tables' triggers still check and number every row); the
service lifecycle and the orders go through the database's own functions (crm.activate_service,
catalog.place_order, crm.end_customer …) called set-based, one statement per batch of rows, so
every business rule applies. Orders are placed as the salesperson (a real session and role).
Everything is one transaction: a failed load leaves nothing behind.

Loading the demo twice into the same database is refused (the operator code ``demo`` marks it);
with ``--once`` a second run does nothing.
"""

from __future__ import annotations

import random
import secrets
import sys
import time
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

import psycopg
from faker import Faker
from psycopg import sql
from psycopg.types.json import Jsonb
from tqdm import tqdm

from db.settings import Settings

MARKER = "demo"  # the code of the main demo operator; its presence means the demo is loaded

# (username, password, what they may do): printed by `mango run`.
DEMO_LOGINS: list[tuple[str, str, str]] = [
    ("admin", "mango-admin", "admin: everything, users, catalogue"),
    ("billing", "mango-billing", "billing: invoices, payments"),
    ("support", "mango-support", "support: call centre, customers"),
    ("technician", "mango-technician", "technician: network, devices"),
    ("sales", "mango-sales", "sales: orders, offers"),
    ("report", "mango-report", "report: read-only reporting"),
    ("officer", "mango-officer", "flow: lawful requests for retained traffic data"),
]

_LOGIN_ROLES = {
    "admin": ["admin"],
    "billing": ["billing"],
    "support": ["support"],
    "technician": ["technician"],
    "sales": ["sales"],
    "report": ["report"],
    "officer": ["flow"],
}
_LOGIN_NAMES = {
    "admin": "Tomáš Marek",
    "billing": "Jana Horáková",
    "support": "Lucie Benešová",
    "technician": "Petr Kolář",
    "sales": "Martin Novotný",
    "report": "Hana Svobodová",
    "officer": "Olga Dvořáková",
}
# More staff, with passwords nobody is told (an admin sets one when needed).
_MORE_STAFF = [
    ("lenka.pokorna", "Lenka Pokorná", ["sales"]),
    ("jiri.cerny", "Jiří Černý", ["sales"]),
    ("katerina.mala", "Kateřina Malá", ["support"]),
    ("ondrej.zeman", "Ondřej Zeman", ["support", "technician"]),
    ("vera.kratochvilova", "Věra Kratochvílová", ["billing", "support"]),
]

BATCH = 2000  # rows per set-based statement (and progress step)
FAST_FROM = 5000  # from this many customers on, services are written with COPY (see load)


# ---------------------------------------------------------------------------------------------
# Czech identifiers


def ico_check_digit(first7: str) -> int:
    """The IČO check digit of its first seven digits (weights 8..2, mod 11)."""
    s = sum(int(d) * w for d, w in zip(first7, range(8, 1, -1), strict=True))
    r = s % 11
    return 1 if r == 0 else 0 if r == 1 else 11 - r


def make_ico(first7: int) -> str:
    p = f"{first7:07d}"
    return p + str(ico_check_digit(p))


def is_valid_ico(ico: str) -> bool:
    return len(ico) == 8 and ico.isdigit() and ico_check_digit(ico[:7]) == int(ico[7])


_ACCOUNT_WEIGHTS = (6, 3, 7, 9, 10, 5, 8, 4, 2, 1)


def is_valid_account(prefix: str | None, number: str) -> bool:
    """Czech bank account (předčíslí and číslo) mod 11 check."""
    num = number.zfill(10)
    pre = (prefix or "").zfill(6)
    if not (num.isdigit() and pre.isdigit() and len(num) == 10 and len(pre) == 6):
        return False
    return (
        sum(int(d) * w for d, w in zip(num, _ACCOUNT_WEIGHTS, strict=True)) % 11 == 0
        and sum(int(d) * w for d, w in zip(pre, _ACCOUNT_WEIGHTS[4:], strict=True)) % 11 == 0
    )


def make_account(start: int) -> str:
    """The first valid account number (10 digits) at or after ``start``."""
    n = start
    while not is_valid_account(None, str(n)):
        n += 1
    return str(n)


# ---------------------------------------------------------------------------------------------
# Places: towns the operator serves, with their PSČ and GPS. Villages are the 'Venkov' zone.


@dataclass(frozen=True)
class Town:
    name: str
    zips: tuple[str, ...]
    lat: float
    lon: float
    weight: int
    village: bool = False


TOWNS: tuple[Town, ...] = (
    Town(
        "Brno",
        ("602 00", "612 00", "615 00", "616 00", "621 00", "625 00", "628 00", "638 00"),
        49.1951,
        16.6068,
        40,
    ),
    Town(
        "Praha",
        ("110 00", "120 00", "130 00", "140 00", "150 00", "160 00", "170 00", "190 00"),
        50.0755,
        14.4378,
        14,
    ),
    Town("Ostrava", ("702 00", "703 00", "708 00"), 49.8209, 18.2625, 5),
    Town("Olomouc", ("779 00",), 49.5938, 17.2509, 5),
    Town("Zlín", ("760 01",), 49.2265, 17.6707, 4),
    Town("Jihlava", ("586 01",), 49.3961, 15.5912, 4),
    Town("Blansko", ("678 01",), 49.3630, 16.6445, 4),
    Town("Vyškov", ("682 01",), 49.2775, 16.9990, 4),
    Town("Znojmo", ("669 02",), 48.8555, 16.0488, 3),
    Town("Hodonín", ("695 01",), 48.8489, 17.1324, 3),
    Town("Břeclav", ("690 02",), 48.7590, 16.8820, 3),
    Town("Třebíč", ("674 01",), 49.2148, 15.8817, 3),
    Town("Prostějov", ("796 01",), 49.4719, 17.1118, 3),
    Town("Boskovice", ("680 01",), 49.4875, 16.6600, 3),
    Town("Kuřim", ("664 34",), 49.2985, 16.5314, 3),
    Town("Tišnov", ("666 01",), 49.3487, 16.4244, 3),
    Town("Plzeň", ("301 00", "312 00", "326 00"), 49.7384, 13.3736, 2),
    Town("Hradec Králové", ("500 02", "500 03"), 50.2092, 15.8328, 2),
    Town("Pardubice", ("530 02",), 50.0343, 15.7812, 2),
    Town("České Budějovice", ("370 01",), 48.9745, 14.4743, 2),
    Town("Lelekovice", ("664 31",), 49.2917, 16.5786, 2, True),
    Town("Rosice", ("665 01",), 49.1824, 16.3879, 2, True),
    Town("Ivančice", ("664 91",), 49.1014, 16.3775, 2, True),
    Town("Šlapanice", ("664 51",), 49.1687, 16.7273, 2, True),
    Town("Modřice", ("664 42",), 49.1277, 16.6143, 2, True),
    Town("Židlochovice", ("667 01",), 49.0396, 16.6188, 2, True),
    Town("Slavkov u Brna", ("684 01",), 49.1533, 16.8765, 2, True),
    Town("Adamov", ("679 04",), 49.2957, 16.6640, 1, True),
    Town("Bílovice nad Svitavou", ("664 01",), 49.2470, 16.6725, 1, True),
    Town("Ořechov", ("664 44",), 49.1109, 16.5232, 1, True),
    Town("Černá Hora", ("679 21",), 49.4137, 16.5810, 1, True),
    Town("Rájec-Jestřebí", ("679 02",), 49.4110, 16.6390, 1, True),
    Town("Velká Bíteš", ("595 01",), 49.2886, 16.2259, 1, True),
    Town("Pozořice", ("664 07",), 49.2095, 16.7910, 1, True),
)

FREE_MAIL = (
    "seznam.cz",
    "email.cz",
    "centrum.cz",
    "gmail.com",
    "volny.cz",
    "post.cz",
    "atlas.cz",
    "outlook.cz",
)
COMPANY_TRADES = (
    "Stavby",
    "Autoservis",
    "Elektro",
    "Truhlářství",
    "Pekařství",
    "Instalatérství",
    "Účetnictví",
    "Zahradnictví",
    "Pneuservis",
    "Reality",
    "Stomatologie",
    "Veterina",
    "Doprava",
    "Kovovýroba",
    "Vinařství",
    "Tiskárna",
    "Projekce",
    "Servis IT",
    "Kadeřnictví",
    "Lékárna",
)
NOTES = (
    "Volal kvůli výpadku připojení, vyřešeno restartem routeru.",
    "Preferuje kontakt e-mailem, telefonicky jen v pracovní dny.",
    "Zákazník žádá fakturu papírově.",
    "Reklamace rychlosti, technik naměřil v pořádku.",
    "Dohodnut splátkový kalendář na dvě faktury.",
    "Zájem o navýšení rychlosti, poslat nabídku.",
    "Přestěhování služby plánováno na jaro.",
    "Technik při instalaci vyměnil anténu.",
)
INSTALL_NOTES = (
    "Klíče u sousedky v přízemí.",
    "Přístup na půdu přes správce domu.",
    "Zvonit dvakrát, nefunguje zvonek.",
    "Pes na zahradě, volat předem.",
    "Anténa na komíně, potřeba žebřík.",
    "Rozvaděč ve sklepě, klíč má správce.",
)
ORDER_NOTES = (
    "Zákazník volal na linku podpory.",
    "Poptávka z webového formuláře.",
    "Osobní návštěva na pobočce.",
    "Nabídka po obchodní schůzce.",
    "Doporučení od souseda.",
)
REJECT_REASONS = (
    "Cena je pro zákazníka příliš vysoká.",
    "Zákazník zvolil konkurenci.",
    "Na adrese není technicky dostupné.",
    "Zákazník si to rozmyslel.",
)


def ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def slug(text: str) -> str:
    out = "".join(c if c.isalnum() else "-" for c in ascii_fold(text))
    return "-".join(p for p in out.split("-") if p)


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


@dataclass
class Summary:
    operators: int = 0
    users: int = 0
    customers: int = 0
    companies: int = 0
    ended: int = 0
    services: int = 0
    orders: int = 0
    seconds: float = 0.0


# ---------------------------------------------------------------------------------------------
# Catalogue definition (tariff code -> product, name, monthly fees by date, setup fee, parameters)

PRICE_START = date(2019, 1, 1)
PRICE_2024 = date(2024, 1, 1)
PRICE_2025 = date(2025, 7, 1)

# operator, code, class, name, price mode, invoice text
PRODUCTS: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("demo", "INT-OPT", "internet", "Internet Optika", "with_vat", "Připojení k internetu – optika"),
    ("demo", "INT-WIFI", "internet", "Internet Wi-Fi", "with_vat", "Připojení k internetu – bezdrátové"),
    (
        "demo",
        "INT-BIZ",
        "internet",
        "Internet Optika Business",
        "without_vat",
        "Připojení k internetu pro firmy",
    ),
    ("demo", "ROUTER", "goods", "Wi-Fi router TP-Link Archer AX23", "with_vat", "Wi-Fi router"),
    ("demo", "ONT", "goods", "Optický terminál Huawei HG8145", "with_vat", "Optický terminál (ONT)"),
    ("demo-tv", "VOIP", "voice", "VoIP Linka", "with_vat", "Telefonní linka VoIP"),
    ("demo-tv", "IPTV", "tv", "IPTV", "with_vat", "Televize přes internet"),
    ("demo-tv", "STB", "goods", "Set-top box Arris VIP4302", "with_vat", "Set-top box"),
)
# tariff code, product code, name, (fee from 2019, fee from 2024 or None, fee from 2025-07 or None), setup, params
TARIFFS: tuple[tuple[str, str, str, tuple[float, float | None, float | None], float, dict[str, str]], ...] = (
    (
        "OPT100",
        "INT-OPT",
        "Optika 100",
        (450, 490, None),
        1490,
        {"download": "100", "upload": "50", "aggregation": "1:10"},
    ),
    (
        "OPT300",
        "INT-OPT",
        "Optika 300",
        (550, 590, 599),
        1490,
        {"download": "300", "upload": "150", "aggregation": "1:10"},
    ),
    (
        "OPT1000",
        "INT-OPT",
        "Optika 1000",
        (790, None, 849),
        1490,
        {"download": "1000", "upload": "500", "aggregation": "1:1"},
    ),
    (
        "WIFI30",
        "INT-WIFI",
        "Wi-Fi 30",
        (350, 390, None),
        990,
        {"download": "30", "upload": "10", "aggregation": "1:20", "fup_gb": "300"},
    ),
    (
        "WIFI60",
        "INT-WIFI",
        "Wi-Fi 60",
        (420, 450, 470),
        990,
        {"download": "60", "upload": "20", "aggregation": "1:20", "fup_gb": "500"},
    ),
    (
        "WIFI100",
        "INT-WIFI",
        "Wi-Fi 100",
        (490, 520, None),
        990,
        {"download": "100", "upload": "30", "aggregation": "1:10", "fup_gb": "1000"},
    ),
    (
        "BIZ500",
        "INT-BIZ",
        "Business 500",
        (1490, None, 1390),
        2500,
        {"download": "500", "upload": "500", "aggregation": "1:1"},
    ),
    (
        "BIZ1000",
        "INT-BIZ",
        "Business 1000",
        (2490, None, 2290),
        2500,
        {"download": "1000", "upload": "1000", "aggregation": "1:1"},
    ),
    ("ROUTER-RENT", "ROUTER", "Pronájem routeru", (49, None, 59), 0, {}),
    ("ROUTER-SALE", "ROUTER", "Prodej routeru", (0, None, None), 1290, {}),
    ("ONT-RENT", "ONT", "Pronájem ONT", (0, None, None), 0, {}),
    ("V100", "VOIP", "Volání 100", (99, None, 119), 0, {"free_minutes": "100"}),
    ("VUNL", "VOIP", "Neomezeně", (399, 349, None), 0, {"free_minutes": "10000"}),
    ("TV-START", "IPTV", "TV Start", (199, 219, None), 0, {"package": "Start", "channels": "62"}),
    ("TV-KOMPLET", "IPTV", "TV Komplet", (399, 429, None), 0, {"package": "Komplet", "channels": "141"}),
    ("TV-SPORT", "IPTV", "TV Sport", (349, None, 379), 0, {"package": "Sport", "channels": "89"}),
    ("STB-RENT", "STB", "Pronájem set-top boxu", (59, None, None), 0, {}),
)
ZONE_PRICES = {"WIFI30": (320, 350), "WIFI60": (390, 420), "WIFI100": (450, 480)}  # 2019, 2025-07
BUNDLES: tuple[tuple[str, str, str, tuple[tuple[str, float], ...]], ...] = (
    (
        "DUO-OPT",
        "Duo Optika (internet + TV)",
        "Optika 300 a TV Start se slevou.",
        (("OPT300", 10), ("TV-START", 20)),
    ),
    (
        "TRIO-OPT",
        "Trio Optika (internet + TV + volání)",
        "Optika 300, TV Komplet a Volání 100 se slevou.",
        (("OPT300", 10), ("TV-KOMPLET", 20), ("V100", 50)),
    ),
    (
        "DUO-WIFI",
        "Duo Wi-Fi (internet + TV)",
        "Wi-Fi 60 a TV Start se slevou.",
        (("WIFI60", 10), ("TV-START", 20)),
    ),
)
BUNDLE_ITEMS = {b[0]: [t for t, _ in b[3]] for b in BUNDLES}
TARIFF_PRODUCT = {t[0]: t[1] for t in TARIFFS}
PRODUCT_OPERATOR = {p[1]: p[0] for p in PRODUCTS}
PRODUCT_CLASS = {p[1]: p[2] for p in PRODUCTS}

GROUPS = (
    ("VIP", "Významní zákazníci: přednostní servis."),
    ("Zaměstnanci", "Zaměstnanci operátora: zaměstnanecká sleva."),
    ("Obce", "Obce a města: smluvní podmínky pro veřejný sektor."),
    ("Senioři", "Zákazníci nad 65 let: seniorská sleva."),
    ("Partneři", "Obchodní partneři a subdodavatelé."),
)


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


# ---------------------------------------------------------------------------------------------
# Loading


def _progress(total: int, desc: str) -> tqdm:  # type: ignore[type-arg]
    return tqdm(total=total, desc=desc, unit="row", disable=not sys.stdout.isatty(), leave=False)


def _chunks(rows: Sequence[Any], size: int = BATCH) -> Iterator[Sequence[Any]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def _reserve_ids(cur: psycopg.Cursor[Any], table: str, count: int) -> list[int]:
    """Take ``count`` ids from a table's identity sequence (rows are then COPYed with them)."""
    if count == 0:
        return []
    cur.execute(
        "select nextval(pg_get_serial_sequence(%s, 'id')) from generate_series(1, %s) order by 1",
        [table, count],
    )
    return [int(r[0]) for r in cur.fetchall()]


def _copy(cur: psycopg.Cursor[Any], table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    schema, name = table.split(".")
    stmt = sql.SQL("copy {} ({}) from stdin").format(
        sql.Identifier(schema, name), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    n = 0
    with cur.copy(stmt) as cp:
        for row in rows:
            cp.write_row(row)
            n += 1
    return n


class Loader:
    def __init__(self, conn: psycopg.Connection[Any], plan: Planner, fast: bool = False) -> None:
        self.conn = conn
        self.fast = fast
        self.products: dict[str, int] = {}
        self.cur = conn.cursor()
        self.p = plan
        self.operators: dict[str, int] = {}
        self.users: dict[str, int] = {}
        self.passwords: dict[str, str] = {}
        self.classes: dict[str, int] = {}
        self.tariffs: dict[str, int] = {}
        self.bundles: dict[str, int] = {}
        self.groups: dict[str, int] = {}
        self.param_defs: dict[tuple[str, str], int] = {}

    # -- operators, users, catalogue
    def operators_and_series(self) -> None:
        cur = self.cur
        ops = (
            (
                "demo",
                "Mango Net s.r.o.",
                make_ico(2847561),
                "Cejl 488/62",
                "Brno",
                "602 00",
                "info@mango-net.cz",
                "+420 541 000 111",
                "https://www.mango-net.cz",
                "C 98765 vedená u Krajského soudu v Brně",
            ),
            (
                "demo-tv",
                "Mango TV a Hlas s.r.o.",
                make_ico(6194230),
                "Masarykova 407/31",
                "Brno",
                "602 00",
                "info@mangotv.cz",
                "+420 541 000 222",
                "https://www.mangotv.cz",
                "C 123456 vedená u Krajského soudu v Brně",
            ),
        )
        for code, name, ico, street, city, zip_, email, phone, web, reg in ops:
            cur.execute(
                "insert into crm.operators (code, name, ico, dic, vat_payer, street, city, zip, email, phone, web,"
                " registration) values (%s, %s, %s, %s, true, %s, %s, %s, %s, %s, %s, %s) returning id",
                [code, name, ico, f"CZ{ico}", street, city, zip_, email, phone, web, reg],
            )
            row = cur.fetchone()
            assert row is not None
            self.operators[code] = int(row[0])
        series = {
            "demo": (
                ("customer", "{N:6}", False, 100001),
                ("vs", "{N}", False, 20000001),
                ("contract", "SML{YYYY}{N:5}", True, 1),
                ("invoice", "FV{YYYY}{N:6}", True, 1),
                ("credit_note", "OD{YYYY}{N:5}", True, 1),
                ("payment_request", "VP{YYYY}{N:6}", True, 1),
                ("advance_invoice", "ZF{YYYY}{N:5}", True, 1),
            ),
            "demo-tv": (
                ("customer", "T{N:6}", False, 1),
                ("vs", "{N}", False, 80000001),
                ("contract", "STV{YYYY}{N:5}", True, 1),
                ("invoice", "TF{YYYY}{N:6}", True, 1),
                ("credit_note", "TD{YYYY}{N:5}", True, 1),
                ("payment_request", "TP{YYYY}{N:6}", True, 1),
                ("advance_invoice", "TZ{YYYY}{N:5}", True, 1),
            ),
        }
        descriptions = {
            "customer": "Zákaznická čísla",
            "vs": "Variabilní symboly",
            "contract": "Smlouvy",
            "invoice": "Faktury (daňové doklady)",
            "credit_note": "Opravné daňové doklady",
            "payment_request": "Výzvy k platbě",
            "advance_invoice": "Zálohové faktury",
        }
        for code, rows in series.items():
            for kind, fmt, yearly, start in rows:
                cur.execute(
                    "insert into crm.number_series (operator_id, kind, format, yearly, start_value, description)"
                    " values (%s, %s, %s, %s, %s, %s)",
                    [self.operators[code], kind, fmt, yearly, start, descriptions[kind]],
                )
        accounts = (
            ("demo", "Hlavní účet (Fio banka)", None, make_account(2801937460), "2010", "FIOBCZPP", True),
            ("demo", "Účet pro SIPO (ČSOB)", "35", make_account(2051783900), "0300", "CEKOCZPP", False),
            (
                "demo-tv",
                "Hlavní účet (Komerční banka)",
                "107",
                make_account(3329170100),
                "0100",
                "KOMBCZPP",
                True,
            ),
            ("demo-tv", "Raiffeisenbank", None, make_account(1186402750), "5500", "RZBCCZPP", False),
        )
        for code, name, prefix, number, bank, bic, default in accounts:
            assert is_valid_account(prefix, number)
            cur.execute(
                "insert into payment.bank_accounts (operator_id, name, account_prefix, account_number, bank_code,"
                " bic, is_default) values (%s, %s, %s, %s, %s, %s, %s)",
                [self.operators[code], name, prefix, number, bank, bic, default],
            )

    def staff(self) -> None:
        people = [(u, _LOGIN_NAMES[u], _LOGIN_ROLES[u], pw) for u, pw, _ in DEMO_LOGINS]
        people += [(u, n, r, secrets.token_urlsafe(18)) for u, n, r in _MORE_STAFF]
        for username, full_name, roles, password in people:
            self.cur.execute("select id from auth.users where username = %s", [username])
            row = self.cur.fetchone()
            if row is None:
                self.cur.execute(
                    "select auth.create_user(%s, %s, %s, 'cs', %s, %s)",
                    [username, full_name, f"{username}@mango-net.cz", roles, password],
                )
                row = self.cur.fetchone()
                assert row is not None
            else:  # a user of that name exists already: the demo makes it usable with the demo password
                self.cur.execute("select auth.set_password(%s, %s)", [row[0], password])
            self.users[username] = int(row[0])
            self.passwords[username] = password

    def catalogue(self) -> None:
        cur = self.cur
        op = self.operators
        for code, name, kind, desc in (
            ("internet", "Internet", "service", "Připojení k internetu: rychlost, agregace, FUP."),
            ("voice", "Hlasové služby", "service", "Telefonní linky VoIP: volné minuty, číslo."),
            ("tv", "Televize", "service", "IPTV: programové balíčky a set-top boxy."),
            ("goods", "Zboží a zařízení", "goods", "Routery, ONT, set-top boxy: prodej a pronájem."),
        ):
            cur.execute(
                "insert into catalog.classes (code, name, kind, description) values (%s, %s, %s, %s)"
                " on conflict (code) do nothing",
                [code, name, kind, desc],
            )
            cur.execute("select id from catalog.classes where code = %s", [code])
            row = cur.fetchone()
            assert row is not None
            self.classes[code] = int(row[0])
        # entity, class, code, name, type, choices, required, pattern, min, max, unit, show_in_lists, position
        defs: tuple[
            tuple[
                str,
                str | None,
                str,
                str,
                str,
                list[str] | None,
                bool,
                str | None,
                int | None,
                int | None,
                str | None,
                bool,
                int,
            ],
            ...,
        ] = (
            (
                "tariff",
                "internet",
                "download",
                "Rychlost stahování",
                "number",
                None,
                True,
                None,
                1,
                10000,
                "Mbit/s",
                True,
                10,
            ),
            (
                "tariff",
                "internet",
                "upload",
                "Rychlost odesílání",
                "number",
                None,
                True,
                None,
                1,
                10000,
                "Mbit/s",
                True,
                20,
            ),
            (
                "tariff",
                "internet",
                "aggregation",
                "Agregace",
                "choice",
                ["1:1", "1:10", "1:20"],
                True,
                None,
                None,
                None,
                None,
                True,
                30,
            ),
            ("tariff", "internet", "fup_gb", "FUP", "number", None, False, None, 0, 100000, "GB", False, 40),
            (
                "tariff",
                "voice",
                "free_minutes",
                "Volné minuty",
                "number",
                None,
                True,
                None,
                0,
                10000,
                "min",
                True,
                10,
            ),
            (
                "tariff",
                "tv",
                "package",
                "Programový balíček",
                "choice",
                ["Start", "Komplet", "Sport"],
                True,
                None,
                None,
                None,
                None,
                True,
                10,
            ),
            (
                "tariff",
                "tv",
                "channels",
                "Počet programů",
                "number",
                None,
                False,
                None,
                1,
                500,
                None,
                True,
                20,
            ),
            (
                "service",
                "voice",
                "phone_number",
                "Telefonní číslo",
                "text",
                None,
                False,
                r"^\+420\d{9}$",
                None,
                None,
                None,
                True,
                10,
            ),
            (
                "service",
                "tv",
                "stb_count",
                "Počet set-top boxů",
                "number",
                None,
                False,
                None,
                1,
                5,
                "ks",
                False,
                10,
            ),
            (
                "service",
                "goods",
                "serial_number",
                "Výrobní číslo",
                "text",
                None,
                False,
                None,
                None,
                None,
                None,
                True,
                10,
            ),
            (
                "customer",
                None,
                "marketing_consent",
                "Souhlas s marketingem",
                "boolean",
                None,
                False,
                None,
                None,
                None,
                None,
                False,
                10,
            ),
            (
                "customer",
                None,
                "preferred_contact",
                "Preferovaný kontakt",
                "choice",
                ["e-mail", "telefon", "SMS", "pošta"],
                False,
                None,
                None,
                None,
                None,
                False,
                20,
            ),
            (
                "customer",
                None,
                "installation_note",
                "Poznámka k instalaci",
                "text",
                None,
                False,
                None,
                None,
                None,
                None,
                False,
                30,
            ),
        )
        for entity, cls, code, name, typ, choices, req, pattern, lo, hi, unit, show, pos in defs:
            class_id = self.classes[cls] if cls else None
            cur.execute(
                "insert into crm.parameter_definitions (entity, class_id, code, name, type, choices, required, pattern,"
                " min_value, max_value, unit, show_in_lists, position) values (%s, %s, %s, %s, %s, %s, %s, %s, %s,"
                " %s, %s, %s, %s) on conflict do nothing",
                [entity, class_id, code, name, typ, choices, req, pattern, lo, hi, unit, show, pos],
            )
            cur.execute(
                "select id from crm.parameter_definitions where entity = %s and class_id is not distinct"
                " from %s and code = %s",
                [entity, class_id, code],
            )
            row = cur.fetchone()
            assert row is not None
            self.param_defs[(entity, code)] = int(row[0])
        cur.execute(
            "insert into catalog.zones (operator_id, name, description) values (%s, 'Venkov',"
            " 'Obce v okolí Brna připojené bezdrátově: levnější Wi-Fi.') returning id",
            [op["demo"]],
        )
        row = cur.fetchone()
        assert row is not None
        zone = int(row[0])
        products = self.products
        for operator, code, cls, name, mode, text in PRODUCTS:
            cur.execute(
                "insert into catalog.products (operator_id, class_id, code, name, price_mode, invoice_text)"
                " values (%s, %s, %s, %s, %s, %s) returning id",
                [op[operator], self.classes[cls], code, name, mode, text],
            )
            row = cur.fetchone()
            assert row is not None
            products[code] = int(row[0])
        for pos, (code, product, name, fees, setup, params) in enumerate(TARIFFS):
            cur.execute(
                "insert into catalog.tariffs (product_id, code, name, position) values (%s, %s, %s, %s) returning id",
                [products[product], code, name, (pos + 1) * 10],
            )
            row = cur.fetchone()
            assert row is not None
            tid = self.tariffs[code] = int(row[0])
            for day, fee in zip((PRICE_START, PRICE_2024, PRICE_2025), fees, strict=True):
                if fee is not None:
                    cur.execute("select catalog.set_price(%s, %s, %s, %s)", [tid, day, fee, setup])
            if code in ZONE_PRICES:
                for day, fee in zip((PRICE_START, PRICE_2025), ZONE_PRICES[code], strict=True):
                    cur.execute("select catalog.set_price(%s, %s, %s, %s, %s)", [tid, day, fee, setup, zone])
            for key, value in params.items():
                cur.execute("select crm.set_parameter('tariff', %s, %s, %s)", [tid, key, value])
        for code, name, desc, items in BUNDLES:
            cur.execute(
                "insert into catalog.bundles (operator_id, code, name, description) values (%s, %s, %s, %s)"
                " returning id",
                [op["demo"], code, name, desc],
            )
            row = cur.fetchone()
            assert row is not None
            bid = self.bundles[code] = int(row[0])
            for tariff, discount in items:
                cur.execute(
                    "insert into catalog.bundle_items (bundle_id, tariff_id, discount_percent)"
                    " values (%s, %s, %s)",
                    [bid, self.tariffs[tariff], discount],
                )
        for name, desc in GROUPS:
            cur.execute(
                "insert into crm.groups (name, description) values (%s, %s) on conflict (name) do nothing",
                [name, desc],
            )
            cur.execute("select id from crm.groups where name = %s", [name])
            row = cur.fetchone()
            assert row is not None
            self.groups[name] = int(row[0])

    def issue_numbers(self, operator: str, kind: str, dates: list[date]) -> list[str]:
        """Numbers of a series for rows dated ``dates`` (in that order), as crm.next_number issues them.

        Gap-free like the function, but one counter update per series and year instead of one per
        row: updating the same counter row thousands of times in one transaction gets slower with
        every update (each new row version lengthens the chain the next update walks).
        """
        cur = self.cur
        cur.execute(
            "select id, format, yearly, start_value from crm.number_series where operator_id = %s and kind = %s",
            [self.operators[operator], kind],
        )
        row = cur.fetchone()
        assert row is not None, f"operator {operator} has no {kind} series"
        series_id, fmt, yearly, start = row
        by_year: dict[int, list[int]] = {}
        for k, d in enumerate(dates):
            by_year.setdefault(d.year if yearly else 0, []).append(k)
        out = [""] * len(dates)
        for year, positions in sorted(by_year.items()):
            n = len(positions)
            cur.execute(
                "insert into crm.number_series_counters as c (series_id, year, last_value) values (%s, %s, %s)"
                " on conflict (series_id, year) do update set last_value = c.last_value + %s returning last_value",
                [series_id, year, start + n - 1, n],
            )
            last = cur.fetchone()
            assert last is not None
            cur.execute(
                "select crm.format_number(%s, %s + o - 1, d) from unnest(%s::date[]) with ordinality as u(d, o)"
                " order by o",
                [fmt, int(last[0]) - n + 1, [dates[k] for k in positions]],
            )
            for k, (number,) in zip(positions, cur.fetchall(), strict=True):
                out[k] = number
        return out

    # -- customers and what hangs on them (COPY; the triggers check and number every row)
    def customers(self) -> None:
        cur = self.cur
        plan = self.p
        # Customer numbers follow the order they became customers; a parent comes before its branches.
        ordered = sorted(plan.customers, key=lambda c: (c.created_on, c.parent is not None, c.idx))
        for c, cid in zip(ordered, _reserve_ids(cur, "crm.customers", len(ordered)), strict=True):
            c.id = cid
        by_idx = plan.customers
        bar = _progress(len(ordered), "customers")
        numbers: dict[int, tuple[str, str]] = {}
        for op in self.operators:
            mine = [c for c in ordered if c.operator == op]
            dates = [c.created_on for c in mine]
            pairs = zip(
                self.issue_numbers(op, "customer", dates), self.issue_numbers(op, "vs", dates), strict=True
            )
            numbers.update(zip((c.id for c in mine), pairs, strict=True))
        _copy(
            cur,
            "crm.customers",
            (
                "id",
                "customer_no",
                "vs",
                "operator_id",
                "kind",
                "first_name",
                "last_name",
                "company_name",
                "ico",
                "dic",
                "birth_date",
                "street",
                "house_no",
                "city",
                "zip",
                "parent_id",
                "language",
                "created_on",
            ),
            (
                (
                    c.id,
                    *numbers[c.id],
                    self.operators[c.operator],
                    c.kind,
                    c.first_name,
                    c.last_name,
                    c.company_name,
                    c.ico,
                    c.dic,
                    c.birth_date,
                    c.street,
                    c.house_no,
                    c.city,
                    c.zip,
                    by_idx[c.parent].id if c.parent is not None else None,
                    c.language,
                    c.created_on,
                )
                for c in ordered
            ),
        )
        bar.update(len(ordered) // 2)
        _copy(
            cur,
            "crm.contacts",
            ("customer_id", "kind", "value", "label", "is_primary"),
            (
                (c.id, kind, value, label, primary)
                for c in ordered
                for kind, value, label, primary in c.contacts
            ),
        )
        places = [pl for c in ordered for pl in c.places]
        for pl, pid in zip(places, _reserve_ids(cur, "crm.delivery_places", len(places)), strict=True):
            pl.id = pid
        _copy(
            cur,
            "crm.delivery_places",
            (
                "id",
                "customer_id",
                "street",
                "house_no",
                "flat",
                "city",
                "zip",
                "latitude",
                "longitude",
                "note",
            ),
            (
                (
                    pl.id,
                    by_idx[pl.customer].id,
                    pl.street,
                    pl.house_no,
                    pl.flat,
                    pl.city,
                    pl.zip,
                    pl.lat,
                    pl.lon,
                    pl.note,
                )
                for pl in places
            ),
        )
        # Contracts numbered in the order they were signed; a leaver's contract is terminated.
        contracts = sorted(
            ((c, op) for c in ordered for op in c.contracts), key=lambda x: (x[0].created_on, x[0].id, x[1])
        )
        for (c, op), kid in zip(contracts, _reserve_ids(cur, "crm.contracts", len(contracts)), strict=True):
            fixed = None
            if plan.rng.random() < 0.4:
                fixed = _add_months(c.created_on, 24) - timedelta(days=1)
            c.contracts[op] = (kid, c.created_on, fixed)
        contract_no: dict[int, str] = {}
        for op in self.operators:
            kids = [c.contracts[o][0] for c, o in contracts if o == op]
            dates = [c.created_on for c, o in contracts if o == op]
            contract_no.update(zip(kids, self.issue_numbers(op, "contract", dates), strict=True))
        _copy(
            cur,
            "crm.contracts",
            (
                "id",
                "number",
                "customer_id",
                "operator_id",
                "signed_on",
                "valid_from",
                "fixed_until",
                "notice_months",
                "state",
                "terminated_on",
            ),
            (
                (
                    c.contracts[op][0],
                    contract_no[c.contracts[op][0]],
                    c.id,
                    self.operators[op],
                    c.created_on,
                    c.created_on,
                    c.contracts[op][2],
                    1 if c.contracts[op][2] is None else 3,
                    "terminated" if c.ended else "signed",
                    c.ended[0] if c.ended else None,
                )
                for c, op in contracts
            ),
        )
        support = self.users["support"]
        _copy(
            cur,
            "crm.customer_notes",
            ("customer_id", "body", "created_by"),
            ((c.id, note, support) for c in ordered for note in c.notes),
        )
        _copy(
            cur,
            "crm.customer_groups",
            ("customer_id", "group_id"),
            ((c.id, self.groups[g]) for c in ordered for g in c.groups),
        )
        _copy(
            cur,
            "catalog.customer_discounts",
            ("customer_id", "percent", "valid", "reason"),
            (
                (
                    c.id,
                    c.discount[0],
                    _discount_valid(c.discount[1], c.ended[0] if c.ended else None),
                    c.discount[2],
                )
                for c in ordered
                if c.discount and (c.ended is None or c.ended[0] > c.discount[1])
            ),
        )
        _copy(
            cur,
            "crm.parameter_values",
            ("definition_id", "entity_id", "value"),
            ((self.param_defs[("customer", k)], c.id, v) for c in ordered for k, v in c.params.items()),
        )
        bar.update(len(ordered) - len(ordered) // 2)
        bar.close()

    # -- services through crm.activate_service / crm.activate_bundle, set-based
    def services(self) -> None:
        plan = self.p
        # Activated in the order they started, so service ids grow with time.
        services = sorted(
            (s for c in plan.customers for s in c.services),
            key=lambda s: (s.start, plan.customers[s.customer].id, s.seq),
        )
        for k, s in enumerate(services):
            s.seq = k
        plan.services = services
        if self.fast:
            self.services_copy(services)
            return
        bar = _progress(len(services), "services")
        for chunk in _chunks(services):
            rows = []
            for s in chunk:
                c = plan.customers[s.customer]
                options: dict[str, Any] = {
                    "contract_id": c.contracts[s.contract][0],
                    "period_months": s.period,
                    "billing_day": s.billing_day,
                }
                if s.start > plan.today:
                    options["state"] = "ordered"
                if s.params:
                    options["params"] = s.params
                rows.append(
                    {
                        "seq": s.seq,
                        "customer_id": c.id,
                        "tariff_id": self.tariffs[s.tariff] if s.tariff else None,
                        "bundle_id": self.bundles[s.bundle] if s.bundle else None,
                        "start_on": s.start.isoformat(),
                        "place_id": c.places[s.place].id,
                        "options": options,
                    }
                )
            self.cur.execute(
                """
                select p.seq,
                       case when p.bundle_id is null
                            then array[crm.activate_service(p.customer_id, p.tariff_id, p.start_on, p.place_id, p.options)]
                            else crm.activate_bundle(p.customer_id, p.bundle_id, p.start_on, p.place_id, p.options)
                       end
                  from jsonb_to_recordset(%s::jsonb) as p(seq integer, customer_id bigint, tariff_id bigint,
                                                          bundle_id bigint, start_on date, place_id bigint,
                                                          options jsonb)
                 order by p.seq
                """,
                [Jsonb(rows)],
            )
            for seq, ids in self.cur.fetchall():
                services[seq].ids = [int(i) for i in ids]
            bar.update(len(chunk))
        # Parameters of the services a bundle created (activate_bundle takes none).
        params = [
            (s.ids[k], key, value)
            for s in services
            if s.bundle
            for k, item in s.item_params.items()
            for key, value in item.items()
        ]
        for chunk in _chunks(params, BATCH * 2):
            self.cur.execute(
                "select crm.set_parameter('service', p.id, p.code, p.value) from jsonb_to_recordset(%s::jsonb)"
                " as p(id bigint, code text, value text)",
                [Jsonb([{"id": i, "code": k, "value": v} for i, k, v in chunk])],
            )
        bar.close()

    def services_copy(self, services: list[ServicePlan]) -> None:
        """The fast path for many customers: what crm.activate_service writes, with COPY.

        The rows are the ones the function would write (service, its tariff period, its parameters),
        in the same order and with the same ids; the tables' triggers check, audit and enqueue them.
        """
        plan = self.p
        bar = _progress(len(services), "services")
        items = {b: BUNDLE_ITEMS[b] for b in self.bundles}
        count = sum(len(items[s.bundle]) if s.bundle else 1 for s in services)
        ids = iter(_reserve_ids(self.cur, "crm.services", count))
        rows: list[tuple[Any, ...]] = []
        tariffs: list[tuple[Any, ...]] = []
        params: list[tuple[Any, ...]] = []
        for s in services:
            c = plan.customers[s.customer]
            state = "ordered" if s.start > plan.today else "active"
            valid = f"[{s.start.isoformat()},)"
            codes = items[s.bundle] if s.bundle else [s.tariff or ""]
            for k, code in enumerate(codes):
                sid = next(ids)
                s.ids.append(sid)
                product = self.products[TARIFF_PRODUCT[code]]
                rows.append(
                    (
                        sid,
                        c.id,
                        product,
                        self.operators[PRODUCT_OPERATOR[TARIFF_PRODUCT[code]]],
                        c.places[s.place].id,
                        c.contracts[s.contract][0],
                        self.bundles[s.bundle] if s.bundle else None,
                        state,
                        valid,
                        s.period,
                        s.billing_day,
                        s.start,
                    )
                )
                tariffs.append((sid, self.tariffs[code], valid))
                values = s.item_params.get(k, {}) if s.bundle else s.params
                params.extend(
                    (self.param_defs[("service", key)], sid, value) for key, value in values.items()
                )
        _copy(
            self.cur,
            "crm.services",
            (
                "id",
                "customer_id",
                "product_id",
                "operator_id",
                "delivery_place_id",
                "contract_id",
                "bundle_id",
                "state",
                "valid",
                "period_months",
                "billing_day",
                "bill_from",
            ),
            rows,
        )
        bar.update(len(services) // 2)
        _copy(self.cur, "crm.service_tariffs", ("service_id", "tariff_id", "valid"), tariffs)
        _copy(self.cur, "crm.parameter_values", ("definition_id", "entity_id", "value"), params)
        bar.update(len(services) - len(services) // 2)
        bar.close()

    # -- orders, as the member of staff who handles them (a real session, their database role)
    def orders(self) -> None:
        plan = self.p
        bar = _progress(len(plan.orders), "orders")
        by_actor: dict[str, list[OrderPlan]] = {}
        for o in plan.orders:
            by_actor.setdefault(o.actor, []).append(o)
        cur = self.cur
        for actor in sorted(by_actor):
            orders = by_actor[actor]
            cur.execute(
                "select status, token from auth.login(%s, %s, '127.0.0.1', 'mango demo')",
                [actor, self.passwords[actor]],
            )
            row = cur.fetchone()
            assert row is not None and row[0] == "ok", f"demo user {actor} cannot log in: {row}"
            token = str(row[1])
            cur.execute("select db_role from auth.users where username = %s", [actor])
            role = cur.fetchone()
            assert role is not None
            cur.execute("select set_config('mango.session', %s, true)", [token])
            cur.execute(sql.SQL("set local role {}").format(sql.Identifier(str(role[0]))))
            try:
                placing = [
                    {
                        "seq": o.seq,
                        "customer_id": plan.customers[o.customer].id,
                        "kind": o.kind,
                        "service_id": o.service.ids[0] if o.service else None,
                        "tariff_id": self.tariffs[o.tariff] if o.tariff else None,
                        "bundle_id": self.bundles[o.bundle] if o.bundle else None,
                        "place_id": plan.customers[o.customer].places[0].id,
                        "effective_on": o.effective_on.isoformat(),
                        "note": o.note,
                        "stage": o.stages[0],
                    }
                    for o in orders
                ]
                seq_to = {o.seq: o for o in orders}
                for chunk in _chunks(placing):
                    cur.execute(
                        """
                        select p.seq, catalog.place_order(p.customer_id, p.kind, p.service_id, p.tariff_id, p.bundle_id,
                                                          p.place_id, '{}', p.effective_on, p.note, p.stage)
                          from jsonb_to_recordset(%s::jsonb) as p(seq integer, customer_id bigint, kind text,
                               service_id bigint, tariff_id bigint, bundle_id bigint, place_id bigint,
                               effective_on date, note text, stage text)
                         order by p.seq
                        """,
                        [Jsonb(list(chunk))],
                    )
                    for seq, oid in cur.fetchall():
                        seq_to[seq].id = int(oid)
                    bar.update(len(chunk))
                # Then every later stage, step by step, in the order the orders were placed.
                for step in range(1, max(len(o.stages) for o in orders)):
                    moves = [
                        {
                            "id": o.id,
                            "stage": o.stages[step],
                            "note": o.reject_reason if o.stages[step] == "rejected" else None,
                        }
                        for o in orders
                        if len(o.stages) > step
                    ]
                    for chunk in _chunks(moves):
                        cur.execute(
                            "select catalog.advance_order(m.id, m.stage, m.note) from jsonb_to_recordset(%s::jsonb)"
                            " as m(id bigint, stage text, note text) order by m.id",
                            [Jsonb(list(chunk))],
                        )
            finally:
                cur.execute("reset role")
                cur.execute("select set_config('mango.session', '', true)")
                cur.execute("select auth.logout(%s)", [token])
        bar.close()
        # The orders were taken over the years, not all today: date them (no audit of this fix-up).
        stamps = []
        for o in plan.orders:
            steps = len(o.stages) + (1 if o.stages[-1] == "accepted" and o.effective_on <= plan.today else 0)
            spacing = 1 if o.placed.date() >= plan.today - timedelta(days=20) else 2
            stamps.append(
                {
                    "id": o.id,
                    "placed": o.placed.isoformat(),
                    "spacing": spacing,
                    "steps": steps,
                    "done": datetime.combine(o.effective_on, dtime(7, 30), tzinfo=UTC).isoformat(),
                }
            )
        cur.execute("set local session_replication_role = replica")
        for chunk in _chunks(stamps, BATCH * 5):
            cur.execute(
                """
                with s as (select * from jsonb_to_recordset(%s::jsonb)
                                       as x(id bigint, placed timestamptz, spacing integer, steps integer, done timestamptz)),
                     e as (select ev.id, s.placed, s.spacing, s.done, ev.stage,
                                  row_number() over (partition by ev.order_id order by ev.id) as n
                             from catalog.order_events ev join s on s.id = ev.order_id)
                update catalog.order_events ev
                   set created_at = least(case when e.stage = 'done' then greatest(e.done, e.placed)
                                               else e.placed + make_interval(days => ((e.n - 1) * e.spacing)::integer)
                                          end, now())
                  from e where e.id = ev.id
                """,
                [Jsonb(list(chunk))],
            )
            cur.execute(
                """
                update catalog.orders o
                   set created_at = least(s.placed, now()),
                       updated_at = (select max(ev.created_at) from catalog.order_events ev where ev.order_id = o.id)
                  from jsonb_to_recordset(%s::jsonb) as s(id bigint, placed timestamptz)
                 where s.id = o.id
                """,
                [Jsonb(list(chunk))],
            )
        cur.execute("set local session_replication_role = origin")

    # -- what happened later: ends, customers who left, blocks and suspensions
    def history(self) -> None:
        plan = self.p
        cur = self.cur
        services = plan.services
        ends = [
            {"id": i, "on": s.end[0].isoformat(), "reason": s.end[1]}
            for s in services
            if s.end
            for i in s.ids
        ]
        leavers = sorted((c for c in plan.customers if c.ended), key=lambda c: c.id)
        blocks = [
            {"id": i, "kind": s.block[0], "reason": s.block[1]}
            for s in services
            if s.block
            for i in s.ids[:1]
        ]
        suspends = [
            {
                "id": i,
                "from": s.suspend[0].isoformat(),
                "until": s.suspend[1].isoformat() if s.suspend[1] else None,
                "reason": s.suspend[2],
            }
            for s in services
            if s.suspend
            for i in s.ids[:1]
        ]
        bar = _progress(len(ends) + len(leavers) + len(blocks) + len(suspends), "history")
        for statement, calls in (
            (
                "select crm.end_service(e.id, e.on, e.reason) from jsonb_to_recordset(%s::jsonb)"
                ' as e(id bigint, "on" date, reason text) order by e.id',
                ends,
            ),
            (
                "select crm.end_customer(e.id, e.on, e.reason) from jsonb_to_recordset(%s::jsonb)"
                ' as e(id bigint, "on" date, reason text) order by e.id',
                [
                    {"id": c.id, "on": c.ended[0].isoformat(), "reason": c.ended[1]}
                    for c in leavers
                    if c.ended
                ],
            ),
            (
                "select crm.block_service(b.id, b.kind, b.reason) from jsonb_to_recordset(%s::jsonb)"
                " as b(id bigint, kind text, reason text) order by b.id",
                blocks,
            ),
            (
                "select crm.suspend_service(s.id, s.from, s.until, s.reason) from jsonb_to_recordset(%s::jsonb)"
                ' as s(id bigint, "from" date, until date, reason text) order by s.id',
                suspends,
            ),
        ):
            # Each function once per row, a chunk of rows per statement.
            for chunk in _chunks(calls):
                cur.execute(statement, [Jsonb(list(chunk))])
                bar.update(len(chunk))
        bar.close()


def _discount_valid(start: date, end: date | None) -> str:
    """A discount runs from its day until the customer left (open-ended while they stay)."""
    return f"[{start.isoformat()},{end.isoformat() if end else ''})"


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    return date(year, month, 28)


# ---------------------------------------------------------------------------------------------
# Entry points


def is_loaded(conn: psycopg.Connection[Any]) -> bool:
    return conn.execute("select exists (select from crm.operators where code = %s)", [MARKER]).fetchone() == (
        True,
    )


def load(conninfo: str, customers: int = 2000, seed: int = 20261125, fast: bool | None = None) -> Summary:
    """Load the demo (one transaction); raises RuntimeError if it is there already.

    ``fast`` writes the services with COPY instead of calling crm.activate_service per service
    (same rows, same rules checked by the triggers); by default from FAST_FROM customers on.
    """
    started = time.monotonic()
    with psycopg.connect(conninfo) as conn:
        with conn.transaction():
            conn.execute("select pg_advisory_xact_lock(hashtext('mango demo'))")
            if is_loaded(conn):
                raise RuntimeError("the demo data is loaded already")
            row = conn.execute("select current_date").fetchone()
            assert row is not None
            planner = Planner(seed, row[0], customers)
            planner.plan()
            loader = Loader(conn, planner, fast=customers >= FAST_FROM if fast is None else fast)
            loader.operators_and_series()
            loader.staff()
            loader.catalogue()
            loader.customers()
            loader.services()
            loader.orders()
            loader.history()
            from db.demo_network import load_network

            load_network(conn, random.Random(seed), loader.operators[MARKER])
            row = conn.execute(
                "select count(*) from crm.services where customer_id = any(%s)",
                [[c.id for c in planner.customers]],
            ).fetchone()
            assert row is not None
            services = int(row[0])
    return Summary(
        operators=len(loader.operators),
        users=len(loader.users),
        customers=len(planner.customers),
        companies=sum(1 for c in planner.customers if c.kind == "company"),
        ended=sum(1 for c in planner.customers if c.ended),
        services=services,
        orders=len(planner.orders),
        seconds=time.monotonic() - started,
    )


def main(settings: Settings, customers: int = 2000, seed: int = 20261125, once: bool = False) -> int:
    """`mango demo`: load the demo; with ``once``, do nothing quietly when it is there already."""
    if customers < 1:
        print("error: --customers must be at least 1", file=sys.stderr)
        return 2
    with psycopg.connect(settings.admin_conninfo(), autocommit=True) as conn:
        loaded = is_loaded(conn)
    if loaded:
        if once:
            print(f"{settings.dbname}: demo data already loaded, nothing to do")
            return 0
        print(
            f"error: {settings.dbname} already holds the demo data (operator '{MARKER}'); "
            "use --once to skip, or load it into a fresh database",
            file=sys.stderr,
        )
        return 1
    try:
        s = load(settings.admin_conninfo(), customers=customers, seed=seed)
    except RuntimeError as exc:  # loaded meanwhile by a concurrent run
        if once:
            print(f"{settings.dbname}: demo data already loaded, nothing to do")
            return 0
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"{settings.dbname}: demo loaded in {s.seconds:.1f} s: {s.operators} operators, {s.users} staff users, "
        f"{s.customers} customers ({s.companies} companies, {s.ended} ended), {s.services} services, "
        f"{s.orders} orders (seed {seed})"
    )
    return 0

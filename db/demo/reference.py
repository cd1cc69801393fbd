"""Reference data of the demo: its staff logins, Czech identifiers (IČO, bank accounts), the
towns the operator serves and the texts it writes, and the catalogue it sells."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date

MARKER = "demo"  # the code of the main demo operator; its presence means the demo is loaded

# (username, password, what they may do): printed by `mango run`.
DEMO_LOGINS: list[tuple[str, str, str]] = [
    ("admin", "mango-admin", "admin: everything, users, catalogue"),
    ("billing", "mango-billing", "billing: invoices, payments"),
    ("support", "mango-support", "support: call centre, customers"),
    ("technician", "mango-technician", "technician: network, devices"),
    ("sales", "mango-sales", "sales: orders, offers"),
    ("report", "mango-report", "report: the reporting views"),
    ("officer", "mango-officer", "flow: lawful requests for retained traffic data"),
    ("supervisor", "mango-supervisor", "supervisor: gives and takes the officer role"),
]

_LOGIN_ROLES = {
    "admin": ["admin"],
    "billing": ["billing"],
    "support": ["support"],
    "technician": ["technician"],
    "sales": ["sales"],
    "report": ["report"],
    "officer": ["flow"],
    "supervisor": ["supervisor"],
}
_LOGIN_NAMES = {
    "admin": "Tomáš Marek",
    "billing": "Jana Horáková",
    "support": "Lucie Benešová",
    "technician": "Petr Kolář",
    "sales": "Martin Novotný",
    "report": "Hana Svobodová",
    "officer": "Olga Dvořáková",
    "supervisor": "Radek Veselý",
}
# More staff, with passwords nobody is told (an admin sets one when needed).
_MORE_STAFF = [
    ("lenka.pokorna", "Lenka Pokorná", ["sales"]),
    ("jiri.cerny", "Jiří Černý", ["sales"]),
    ("katerina.mala", "Kateřina Malá", ["support"]),
    ("ondrej.zeman", "Ondřej Zeman", ["support", "technician"]),
    ("vera.kratochvilova", "Věra Kratochvílová", ["billing", "support"]),
]


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

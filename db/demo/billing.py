"""Twelve months of billing history for the demo operators, through the billing functions.

- Billing plans besides each operator's default (an invoice each month): invoices in advance for
  the services billed by quarters and years (``predem``), invoices in arrears for companies
  (``firmy``), payment requests (``vyzva``) and uniCredit prepaid credit (``kredit``). The
  services get them when they are activated (``crm.activate_service``'s ``billing_plan_id``).
- A rate table with time bands for the operators whose voice services hold phone numbers, and a
  month of Asterisk call records per operator and month: the last month's file imported by
  ``billing.import_cdrs`` (as a person imports it), the months before stored set-based with what
  the import derives from each line (the import parses about 1,300 lines a second); a few TV
  pay-per-view purchases (``billing.add_ppv_purchase``) and one-time charges staff added
  (``billing.add_charge``).
- The billing run of every month, the oldest first, per operator, then issued, as the demo's
  billing user would do it: ``billing.run`` (it rates the calls through
  ``billing.usage_charges``) and ``billing.issue_run``; a few credit notes
  (``billing.credit_note``) and paid payment requests (``billing.settle_request``).
- Prepaid customers of the TV and voice operator: cash top-ups at the desk into their credit
  accounts (``billing.top_up_cash``, before their services start), then the renewal job
  (``billing.renew_prepaid``) that pays the running period from credit and blocks the services of
  those short of it.

Everything is issued today (the functions take the operator's business date); a last fix-up,
under ``session_replication_role = replica`` as the loader dates the orders, dates each run,
document, credit movement and import on the day it would have happened and numbers the documents
in that order from the series of their year (gap-free, as issuing numbers them). Amounts are never
touched. ``MANGO_DEMO_TIMING=1`` prints how long each step took.
"""

from __future__ import annotations

import hashlib
import os
import random
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from psycopg import sql
from psycopg.types.json import Jsonb

if TYPE_CHECKING:
    from db.demo.loader import Loader
    from db.demo.planner import ServicePlan

# code, name, description, settings
PLANS: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    (
        "predem",
        "Faktura předem",
        "Čtvrtletní a roční služby fakturované na období, které začíná příští měsíc; DUZP den vystavení.",
        {"mode": "prepaid", "tax_point_rule": "issue_day", "due_days": 21},
    ),
    (
        "firmy",
        "Faktura pozadu (firmy)",
        "Firemní zákazníci: měsíční faktura za uplynulý měsíc, splatnost 30 dní.",
        {"mode": "postpaid", "due_days": 30, "tariff_change": "full_old_prorata_new"},
    ),
    (
        "vyzva",
        "Výzva k platbě",
        "Výzva k platbě (není daňový doklad); daňový doklad se vystaví ke dni přijetí platby.",
        {
            "fixed_document": "payment_request",
            "usage_document": "payment_request",
            "tax_point_rule": "payment_day",
            "due_days": 10,
        },
    ),
    (
        "kredit",
        "Předplacený kredit (uniCredit)",
        "Služba se obnovuje z kreditu zákazníka na začátku období; bez kreditu se blokuje.",
        {"prepaid_credit": True, "fixed_document": "none", "usage_document": "none", "mode": "prepaid"},
    ),
)

# Time bands of the call prices: code, name, (ISO weekday, from minute, to minute) …
BANDS: tuple[tuple[str, str, tuple[tuple[int, int, int], ...]], ...] = (
    ("spicka", "Špička", tuple((d, 7 * 60, 19 * 60) for d in range(1, 6))),
    (
        "mimo",
        "Mimo špičku",
        tuple((d, a, b) for d in range(1, 6) for a, b in ((0, 7 * 60), (19 * 60, 1440))),
    ),
    ("vikend", "Víkend", tuple((d, 0, 1440) for d in (6, 7))),
)
# prefix, name, kind, uses included minutes, price per minute in the peak band, off peak and at
# the weekend (None: one price in every band), first and next increment in seconds
DESTINATIONS: tuple[tuple[str, str, str, bool, float, float | None, int, int], ...] = (
    ("420", "Česká republika – pevné sítě", "fixed", True, 0.99, 0.49, 60, 60),
    ("4206", "Česká republika – mobilní sítě", "mobile", True, 1.99, 1.49, 60, 60),
    ("4207", "Česká republika – mobilní sítě", "mobile", True, 1.99, 1.49, 60, 60),
    ("420112", "Tísňové volání", "emergency", False, 0.0, None, 1, 1),
    ("420800", "Bezplatné linky", "special", False, 0.0, None, 1, 1),
    ("420900", "Audiotex", "premium", False, 29.0, None, 60, 60),
    ("421", "Slovensko", "international", False, 4.9, None, 60, 60),
    ("43", "Rakousko", "international", False, 5.9, None, 60, 1),
    ("49", "Německo", "international", False, 5.5, None, 30, 30),
    ("44", "Velká Británie", "international", False, 3.9, None, 1, 1),
)
# What customers dial (as they dial it) and how often.
DIALLED: tuple[tuple[str, int, int], ...] = (  # prefix, digits after it, weight
    ("60", 7, 20),
    ("73", 7, 15),
    ("77", 7, 10),
    ("5", 8, 25),
    ("2", 8, 15),
    ("00421", 9, 4),
    ("0049", 9, 3),
    ("0043", 9, 2),
    ("0044", 9, 2),
    ("800", 6, 2),
    ("900", 6, 1),
    ("112", 0, 1),
)
PPV_TITLES = (
    ("Film: Pelíšky", 59),
    ("Film: Vesničko má středisková", 59),
    ("Zápas: Sparta – Slavia", 99),
    ("Film: Tři oříšky pro Popelku", 49),
    ("Koncert: Lucie na Strahově", 129),
    ("Zápas: Kometa Brno – Třinec", 89),
)
ONE_TIME = (
    ("one_time", "Výjezd technika", 590.0),
    ("one_time", "Přeložení přípojky", 1200.0),
    ("reconnection", "Znovupřipojení po blokaci", 300.0),
    ("manual", "Náhrada poškozeného zařízení", 990.0),
    ("discount", "Sleva za výpadek služby", -150.0),
)
CREDIT_REASONS = (
    "Reklamace: služba nebyla dodána v plném rozsahu",
    "Chybně účtovaná služba",
    "Sleva za výpadek připojení",
)


CREDIT_CUSTOMERS = 12  # at most, on the prepaid-credit plan
IMPORTED = 500  # call records of the last month's file imported through billing.import_cdrs


def _csv(fields: list[str | int]) -> str:
    """A Master.csv line: texts quoted (quotes doubled), numbers bare."""
    return ",".join(str(v) if isinstance(v, int) else '"' + v.replace('"', '""') + '"' for v in fields)


@dataclass
class BillingSummary:
    runs: int = 0
    documents: int = 0
    credit_notes: int = 0
    calls: int = 0
    credit_accounts: int = 0
    seconds: float = 0.0


def _debug(step: str, since: float) -> None:
    if os.environ.get("MANGO_DEMO_TIMING"):
        print(f"demo billing: {step} {time.monotonic() - since:.2f} s", file=sys.stderr)


def _months_back(d: date, months: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 - months, 12)
    return date(y, m + 1, 1)


class DemoBilling:
    """The billing part of the demo: plans before the services, the history after them."""

    def __init__(self, loader: Loader, seed: int) -> None:
        self.loader = loader
        self.cur = loader.cur
        self.p = loader.p
        self.rng = random.Random(seed * 31 + 7)  # of its own: the rest of the demo stays as it was
        self.plans: dict[tuple[str, str], int] = {}
        self.credit: set[int] = set()
        self.request_customers: set[int] = set()
        today = self.p.today
        self.months = [_months_back(today.replace(day=1), k) for k in range(11, -1, -1)]
        self.summary = BillingSummary()
        self.top_up_days: list[dict[str, str]] = []
        self.run_ids: list[tuple[int, date]] = []
        self.voice_operators: list[int] = []

    # -- before the services: the plans, and who is on them
    def make_plans(self) -> None:
        cur = self.cur
        for op_code, op_id in self.loader.operators.items():
            for code, name, description, settings in PLANS:
                columns = ["operator_id", "code", "name", "description", *settings]
                cur.execute(
                    sql.SQL("insert into billing.plans ({}) values ({}) returning id").format(
                        sql.SQL(", ").join(sql.Identifier(c) for c in columns),
                        sql.SQL(", ").join(sql.Placeholder() * len(columns)),
                    ),
                    [op_id, code, name, description, *settings.values()],
                )
                row = cur.fetchone()
                assert row is not None
                self.plans[(op_code, code)] = int(row[0])
        persons = [c for c in self.p.customers if c.kind == "person" and not c.ended]

        # Customers of the TV and voice operator on prepaid credit: topped up at the desk before
        # their services are activated (each top-up renews what it can pay at once, which costs a
        # pricing of every running service of the operator; with none yet it costs nothing), then
        # the renewal job pays the running periods once for all of them.
        credit = [
            c
            for c in persons
            if c.operator == "demo-tv" and any(s.operator == "demo-tv" and self.steady(s) for s in c.services)
        ]
        self.credit = set(
            sorted(c.idx for k, c in enumerate(credit) if k % 3 == 0 or k < 2)[:CREDIT_CUSTOMERS]
        )
        requests = [c for c in persons if c.operator == "demo" and c.idx not in self.credit]
        self.request_customers = {c.idx for k, c in enumerate(requests) if k % 8 == 3 or k < 2}

    def steady(self, s: ServicePlan) -> bool:
        """A service that runs all along, month by month, as it is (a candidate for prepaid credit)."""
        return (
            s.bundle is None
            and s.period == 1
            and s.end is None
            and s.block is None
            and s.suspend is None
            and s.change is None
            and s.start <= self.p.today - timedelta(days=45)
        )

    def plan_for(self, s: ServicePlan) -> int | None:
        """The billing plan a service is activated with (None: the operator's default)."""
        c = self.p.customers[s.customer]
        if s.bundle is not None:
            return None
        code: str | None = None
        if c.idx in self.credit and s.operator == "demo-tv" and self.steady(s):
            code = "kredit"
        elif s.period in (3, 12):
            code = "predem"
        elif c.idx in self.request_customers:
            code = "vyzva"
        elif c.kind == "company":
            code = "firmy"
        return self.plans[(s.operator, code)] if code else None

    # -- after the services: the history
    def load(self) -> BillingSummary:
        started = time.monotonic()
        self.rate_tables()
        t = time.monotonic()
        self.calls()
        _debug("calls", t)
        session = self._sign_in("billing")
        try:
            for step in (self.usage_and_charges, self.runs, self.corrections, self.prepaid):
                t = time.monotonic()
                step()
                _debug(step.__name__, t)
        finally:
            self._sign_out(session)
        t = time.monotonic()
        self.date_history()
        _debug("date_history", t)
        self.summary.seconds = time.monotonic() - started
        return self.summary

    def _sign_in(self, username: str) -> str:
        cur = self.cur
        cur.execute(
            "select status, token from auth.login(%s, %s, '127.0.0.1', 'mango demo')",
            [username, self.loader.passwords[username]],
        )
        row = cur.fetchone()
        assert row is not None and row[0] == "ok", f"demo user {username} cannot log in: {row}"
        token = str(row[1])
        cur.execute("select db_role from auth.users where username = %s", [username])
        role = cur.fetchone()
        assert role is not None
        cur.execute("select set_config('mango.session', %s, true)", [token])
        cur.execute(sql.SQL("set local role {}").format(sql.Identifier(str(role[0]))))
        return token

    def _sign_out(self, token: str) -> None:
        cur = self.cur
        cur.execute("reset role")
        cur.execute("select set_config('mango.session', '', true)")
        cur.execute("select auth.logout(%s)", [token])

    def rate_tables(self) -> None:
        """Time bands and a default rate table for each operator whose services hold phone numbers."""
        cur = self.cur
        cur.execute(
            "select distinct s.operator_id from billing.phone_numbers n join crm.services s on s.id = n.service_id"
            " where s.operator_id = any(%s) order by 1",
            [list(self.loader.operators.values())],
        )
        self.voice_operators = [int(r[0]) for r in cur.fetchall()]
        for op in self.voice_operators:
            bands: dict[str, int] = {}
            for code, name, hours in BANDS:
                cur.execute(
                    "insert into billing.time_bands (operator_id, code, name) values (%s, %s, %s) returning id",
                    [op, code, name],
                )
                row = cur.fetchone()
                assert row is not None
                bands[code] = int(row[0])
                cur.execute(
                    "insert into billing.time_band_hours (operator_id, band_id, isodow, minutes)"
                    " select %s, %s, h.d, int4range(h.a, h.b) from unnest(%s::int[], %s::int[], %s::int[]) h (d, a, b)",
                    [op, bands[code], [h[0] for h in hours], [h[1] for h in hours], [h[2] for h in hours]],
                )
            cur.execute(
                "insert into billing.holidays (operator_id, day, band_id, name)"
                " select %s, d, %s, n from unnest(%s::date[], %s::text[]) h (d, n)",
                [
                    op,
                    bands["vikend"],
                    [
                        date(y, m, d)
                        for y in {x.year for x in self.months}
                        for m, d in ((1, 1), (5, 1), (12, 25))
                    ],
                    [
                        n
                        for _ in {x.year for x in self.months}
                        for n in ("Nový rok", "Svátek práce", "1. svátek vánoční")
                    ],
                ],
            )
            cur.execute(
                "insert into billing.rate_tables (operator_id, code, name, is_default)"
                " values (%s, 'zakladni', 'Základní ceník volání', true) returning id",
                [op],
            )
            row = cur.fetchone()
            assert row is not None
            table = int(row[0])
            for prefix, name, kind, included, peak, other, first, nxt in DESTINATIONS:
                cur.execute(
                    "insert into billing.destinations (operator_id, rate_table_id, prefix, name, kind,"
                    " uses_included_minutes) values (%s, %s, %s, %s, %s, %s) returning id",
                    [op, table, prefix, name, kind, included],
                )
                row = cur.fetchone()
                assert row is not None
                prices = [(None, peak)] if other is None else [(bands["spicka"], peak), (None, other)]
                for band, price in prices:
                    cur.execute(
                        "insert into billing.rates (operator_id, destination_id, band_id, valid, price_per_minute,"
                        " first_increment, next_increment) values (%s, %s, %s, daterange('2019-01-01', null), %s,"
                        " %s, %s)",
                        [op, row[0], band, price, first, nxt],
                    )

    def calls(self) -> None:
        """Call records per operator and month (one Master.csv each), before the runs that bill
        them; at the console (the months before the last are stored by the superuser)."""
        cur = self.cur
        rng = self.rng
        today = self.p.today
        first = _months_back(self.months[0], 1)  # the first run bills the month before's calls
        cur.execute(
            """
            select s.operator_id, n.number, lower(s.valid), coalesce(upper(s.valid), date '9999-12-31'),
                   crm.customer_name(c)
              from billing.phone_numbers n join crm.services s on s.id = n.service_id
              join crm.customers c on c.id = s.customer_id
             where s.operator_id = any(%s) and s.state <> 'ordered'
             order by s.operator_id, n.number
            """,
            [self.voice_operators],
        )
        numbers = cur.fetchall()
        weights = [w for _, _, w in DIALLED]
        started = time.monotonic()
        files: list[tuple[int, date, list[list[str | int]]]] = []  # operator, month, records
        month = first
        while month < self.months[-1]:
            nxt = _months_back(month, -1)
            for op in self.voice_operators:
                records: list[list[str | int]] = []
                for op_id, number, since, until, name in numbers:
                    lo, hi = max(month, since), min(nxt, until, today)
                    if op_id != op or lo >= hi:
                        continue
                    local = number.removeprefix("+420")
                    for _ in range(rng.randint(1, 8)):
                        records.append(self._cdr(rng, local, name, lo, hi, weights, len(records)))
                if records:
                    files.append((op, month, records))
            month = nxt
        # The last month's files come in through the import as a person brings them (at most
        # IMPORTED lines each: the import parses about 1,300 lines a second); the months before are
        # stored set-based with what the import derives from each line.
        _debug("calls: records made", started)
        started = time.monotonic()
        calls = 0
        last = max((m for _, m, _ in files), default=None)
        older = [(op, m, lines) for op, m, lines in files if m != last]
        for op, m, lines in files:
            if m == last:
                cur.execute(
                    "select calls from billing.import_cdrs(%s, %s, %s)",
                    [f"Master-{m:%Y-%m}.csv", "".join(_csv(r) + "\n" for r in lines[:IMPORTED]), op],
                )
                row = cur.fetchone()
                calls += int(row[0]) if row else 0
        _debug("calls: last month imported", started)
        started = time.monotonic()
        if older:
            cur.execute(
                "create temporary table demo_cdrs (file integer, line_no integer, line text, f text[]) on commit drop"
            )
            with cur.copy("copy demo_cdrs (file, line_no, line, f) from stdin") as cp:
                for k, (_op, _m, lines) in enumerate(older):
                    for n, record in enumerate(lines, 1):
                        cp.write_row((k, n, _csv(record), [str(v) for v in record]))
            cur.execute(
                """
                with files as materialized (
                  select f.*, crm.business_zone(f.op) as zone
                    from unnest(%s::integer[], %s::bigint[], %s::text[], %s::bytea[]) f (file, op, name, sha)
                ), imports as (
                  insert into billing.cdr_imports (operator_id, file_name, sha256, time_zone, lines, calls, db_role)
                  select f.op, f.name, f.sha, f.zone,
                         (select count(*) from demo_cdrs d where d.file = f.file),
                         (select count(*) from demo_cdrs d where d.file = f.file), 'mango_billing'
                    from files f
                  returning id, sha256
                ), stored as (
                  insert into billing.calls (operator_id, import_id, line_no, line_key, accountcode, src, dst, dcontext,
                                             clid, channel, dstchannel, lastapp, lastdata, start_at, answer_at, end_at,
                                             duration, billsec, disposition, amaflags, uniqueid, account_number,
                                             calling_number, called_number)
                  select f.op, i.id, d.line_no, md5(d.line)::uuid, d.f[1], d.f[2], d.f[3], d.f[4], d.f[5], d.f[6],
                         d.f[7], d.f[8], d.f[9], d.f[10]::timestamp at time zone f.zone,
                         nullif(d.f[11], '')::timestamp at time zone f.zone,
                         d.f[12]::timestamp at time zone f.zone, d.f[13]::integer, d.f[14]::integer,
                         d.f[15], d.f[16], d.f[17], billing.e164(d.f[1]), billing.e164(d.f[2]),
                         billing.called_digits(d.f[3])
                    from demo_cdrs d
                    join files f on f.file = d.file
                    join imports i on i.sha256 = f.sha
                  returning import_id, start_at
                )
                update billing.cdr_imports i set first_call = x.first_call, last_call = x.last_call
                  from (select s.import_id, min(s.start_at) as first_call, max(s.start_at) as last_call
                          from stored s group by s.import_id) x
                 where i.id = x.import_id
                """,
                [
                    list(range(len(older))),
                    [op for op, _, _ in older],
                    [f"Master-{m:%Y-%m}.csv" for _, m, _ in older],
                    [
                        hashlib.sha256("".join(_csv(r) + "\n" for r in lines).encode()).digest()
                        for _, _, lines in older
                    ],
                ],
            )
            calls += sum(len(lines) for _, _, lines in older)
            _debug("calls: months before stored", started)
        self.summary.calls = calls

    def usage_and_charges(self) -> None:
        """Pay-per-view purchases and one-time charges, before the runs that bill them."""
        cur = self.cur
        rng = self.rng
        today = self.p.today
        first = _months_back(self.months[0], 1)
        # Pay-per-view: now and then a film or a match on a TV service.
        cur.execute(
            "select s.id, lower(s.valid), coalesce(upper(s.valid), date '9999-12-31') from crm.services s"
            " join catalog.products p on p.id = s.product_id join catalog.classes k on k.id = p.class_id"
            " where s.operator_id = any(%s) and k.code = 'tv' and s.state <> 'ordered' order by s.id",
            [list(self.loader.operators.values())],
        )
        purchases = []
        for sid, since, until in cur.fetchall():
            for month in [first, *self.months[:-1]]:
                day = month + timedelta(days=rng.randint(0, 27))
                if rng.random() < 0.12 and since <= day < min(until, today):
                    title, price = rng.choice(PPV_TITLES)
                    at = datetime(day.year, day.month, day.day, rng.randint(17, 22), rng.randint(0, 59))
                    purchases.append({"id": sid, "title": title, "at": at.isoformat(), "price": price})
        cur.execute(
            "select billing.add_ppv_purchase(p.id, p.title, p.at::timestamp at time zone crm.business_zone(s.operator_id),"
            " p.price) from jsonb_to_recordset(%s::jsonb) p (id bigint, title text, at text, price numeric)"
            " join crm.services s on s.id = p.id order by p.at",
            [Jsonb(purchases)],
        )
        # One-time charges staff added: a technician's visit, a reconnection, a discount …
        kredit = {v for (_, code), v in self.plans.items() if code == "kredit"}
        charges = []
        for s in self.p.services:
            if s.bundle or not s.ids or rng.random() > 0.05 or self.plan_for(s) in kredit:
                continue
            month = rng.choice(self.months)
            day = month + timedelta(days=rng.randint(0, 27))
            if not (s.start <= day < today and (s.end is None or day < s.end[0])):
                continue
            kind, text, amount = rng.choice(ONE_TIME)
            charges.append(
                {"id": s.ids[0], "kind": kind, "text": text, "amount": amount, "on": day.isoformat()}
            )
        charges.sort(key=lambda c: (c["on"], c["id"]))
        cur.execute(
            "select billing.add_charge(c.id, c.kind, c.text, c.amount, c.on)"
            ' from jsonb_to_recordset(%s::jsonb) c (id bigint, kind text, text text, amount numeric, "on" date)',
            [Jsonb(charges)],
        )

    @staticmethod
    def _cdr(
        rng: random.Random, local: str, name: str, lo: date, hi: date, weights: list[int], n: int
    ) -> list[str | int]:
        day = lo + timedelta(days=rng.randrange((hi - lo).days))
        minute = rng.randint(7 * 60, 21 * 60) if rng.random() < 0.8 else rng.randint(0, 1439)
        start = datetime(day.year, day.month, day.day) + timedelta(minutes=minute, seconds=rng.randint(0, 59))
        prefix, digits, _ = rng.choices(DIALLED, weights=weights)[0]
        dialled = prefix + "".join(str(rng.randint(0, 9)) for _ in range(digits))
        r = rng.random()
        disposition = "ANSWERED" if r < 0.86 else "NO ANSWER" if r < 0.95 else "BUSY"
        ring = rng.randint(3, 18)
        talk = int(rng.expovariate(1 / 150)) + 1 if disposition == "ANSWERED" else 0
        answer = start + timedelta(seconds=ring) if talk else None
        end = start + timedelta(seconds=ring + talk)
        stamp = int(start.timestamp())

        return [
            local,
            local,
            dialled,
            "from-customers",
            f'"{name}" <{local}>',
            f"PJSIP/{local}-{n:08x}",
            f"PJSIP/trunk-{n:08x}",
            "Dial",
            f"PJSIP/{dialled}@trunk,60,Tt",
            f"{start:%Y-%m-%d %H:%M:%S}",
            f"{answer:%Y-%m-%d %H:%M:%S}" if answer else "",
            f"{end:%Y-%m-%d %H:%M:%S}",
            ring + talk,
            talk,
            disposition,
            "DOCUMENTATION",
            f"{stamp}.{local[-4:]}{n}",
        ]

    def runs(self) -> None:
        """The billing run of every month, the oldest first, for each operator; each issued."""
        cur = self.cur
        for month in self.months:
            for op in sorted(self.loader.operators.values()):
                cur.execute("select (billing.run(%s, %s) ->> 'run')::bigint", [op, f"{month:%Y-%m}"])
                row = cur.fetchone()
                assert row is not None
                run = int(row[0])
                cur.execute("select billing.issue_run(%s)", [run])
                self.run_ids.append((run, month))
        self.summary.runs = len(self.run_ids)

    def corrections(self) -> None:
        """A few credit notes (whole and of one line) and payment requests paid."""
        cur = self.cur
        runs = [r for r, _ in self.run_ids]
        # Eight invoices of each operator, spread over the year, in turn whole and of half their first line.
        cur.execute(
            """
            with picked as (
              select d.id, d.operator_id,
                     row_number() over (partition by d.operator_id order by d.id) as n,
                     count(*) over (partition by d.operator_id) as total
                from billing.documents d
               where d.run_id = any(%s) and d.kind = 'invoice' and d.amount_due > 0
            ), chosen as (
              select p.id, (p.n / greatest(1, p.total / 8)) %% 2 = 0 as whole,
                     row_number() over (order by p.id) as k
                from picked p
               where p.n %% greatest(1, p.total / 8) = 0
            )
            select billing.credit_note(
                     c.id, (%s::text[])[1 + c.k %% 3],
                     case when not c.whole then jsonb_build_array(jsonb_build_object(
                       'line', l.id,
                       'amount', round(case l.price_mode when 'with_vat' then l.amount_with_vat
                                                         else l.amount_without_vat end / 2, 2))) end)
              from chosen c
              join billing.document_lines l on l.document_id = c.id and l.position = 1
             where c.whole or l.amount_without_vat > 1
             order by c.id
            """,
            [runs, list(CREDIT_REASONS)],
        )
        self.summary.credit_notes = cur.rowcount
        # Payment requests of the months before the last paid, most of them some days after they
        # were issued (at most 30: each is its own tax document).
        paid: list[dict[str, Any]] = []
        today = self.p.today
        cur.execute(
            "select d.id, r.period from billing.documents d join billing.runs r on r.id = d.run_id"
            " where d.run_id = any(%s) and d.kind = 'payment_request' and d.amount_due > 0 and r.period < %s"
            " order by r.period desc, d.id",
            [runs, self.months[-1]],
        )
        for doc, period in cur.fetchall():
            if len(paid) < 30 and self.rng.random() < 0.7:
                on = min(period + timedelta(days=self.rng.randint(3, 16)), today)
                paid.append({"id": doc, "on": on.isoformat()})
        paid.sort(key=lambda p: (p["on"], p["id"]))
        cur.execute(
            'select billing.settle_request(p.id, p.on) from jsonb_to_recordset(%s::jsonb) p (id bigint, "on" date)',
            [Jsonb(paid)],
        )

    def top_ups(self) -> None:
        """Cash top-ups at the desk into the prepaid customers' credit, a quarter apart (one in four
        tops up too little); made before their services are activated, the renewal comes later."""
        kredit = sorted(self.credit)
        tv = self.loader.operators["demo-tv"]
        tops: list[dict[str, Any]] = []
        for k, idx in enumerate(kredit):
            c = self.p.customers[idx]
            short = k % 4 == 3
            for month in self.months[::3]:
                day = min(month + timedelta(days=self.rng.randint(0, 20)), self.p.today)
                if day < c.created_on:
                    continue
                amount = 50 if short else self.rng.choice((300, 500, 500, 1000))
                ref = f"Příjmový doklad P{day:%y%m%d}-{len(tops) + 1:04d}"
                tops.append({"customer": c.id, "amount": amount, "ref": ref, "op": tv})
                self.top_up_days.append({"ref": ref, "on": day.isoformat()})
        session = self._sign_in("support")
        try:
            self.cur.execute(
                "select billing.top_up_cash(t.customer, t.amount, t.ref, t.op) from jsonb_to_recordset(%s::jsonb)"
                " t (customer bigint, amount numeric, ref text, op bigint) order by t.customer, t.ref",
                [Jsonb(tops)],
            )
        finally:
            self._sign_out(session)

    def prepaid(self) -> None:
        """The renewal of prepaid services from credit (the daily job): the current periods paid,
        the services of those short of credit blocked."""
        cur = self.cur
        cur.execute("select billing.renew_prepaid(null, %s)", [self.loader.operators["demo-tv"]])
        cur.execute(
            "select count(*) from billing.credit_accounts a where a.operator_id = any(%s)",
            [list(self.loader.operators.values())],
        )
        row = cur.fetchone()
        self.summary.credit_accounts = int(row[0]) if row else 0

    def date_history(self) -> None:
        """Date what the functions made today on the days it would have happened, and number the
        documents in that order from the series of their year (no audit of this fix-up)."""
        cur = self.cur
        ops = list(self.loader.operators.values())
        runs = [r for r, _ in self.run_ids]
        months = [m for _, m in self.run_ids]
        cur.execute("set local session_replication_role = replica")
        # Runs on the first of their month, at six in the morning; issued at eight.
        cur.execute(
            """
            update billing.runs r
               set started_at = x.at, finished_at = x.at + interval '3 minutes', issued_at = x.at + interval '2 hours'
              from (select u.run, (u.month::timestamp + interval '6 hours') at time zone crm.business_zone(r2.operator_id) as at
                      from unnest(%s::bigint[], %s::date[]) u (run, month) join billing.runs r2 on r2.id = u.run) x
             where r.id = x.run
            """,
            [runs, months],
        )
        # The documents of a run issued on the run's day: a tax point on the issue day is that day.
        cur.execute(
            """
            update billing.document_lines l set tax_point = r.period
              from billing.documents d, billing.runs r, billing.charges c
             where d.id = l.document_id and r.id = d.run_id and r.id = any(%s) and c.id = l.charge_id
               and d.kind <> 'payment_request' and c.tax_point is null
            """,
            [runs],
        )
        cur.execute(
            """
            update billing.document_lines l
               set tax_point = (select max(k.tax_point) from billing.document_lines k
                                 where k.document_id = l.document_id and k.line_kind = 'charge')
              from billing.documents d
             where d.id = l.document_id and d.run_id = any(%s) and l.line_kind = 'rounding'
               and d.kind <> 'payment_request'
            """,
            [runs],
        )
        cur.execute(
            """
            update billing.documents d
               set issue_date = r.period, due_date = r.period + d.due_days,
                   tax_point = case when d.kind <> 'payment_request'
                                    then (select max(l.tax_point) from billing.document_lines l where l.document_id = d.id)
                               end,
                   created_at = r.started_at, issued_at = r.issued_at, number = '~' || d.id
              from billing.runs r
             where r.id = d.run_id and r.id = any(%s)
            """,
            [runs],
        )
        # A credit note some days after its invoice; the tax document of a paid request on the day paid.
        rng = self.rng
        cur.execute(
            "select d.id, o.issue_date from billing.documents d join billing.documents o on o.id = d.original_id"
            " where d.operator_id = any(%s) order by d.id",
            [ops],
        )
        notes = [
            {"id": i, "on": min(issued + timedelta(days=rng.randint(4, 25)), self.p.today).isoformat()}
            for i, issued in cur.fetchall()
        ]
        cur.execute(
            """
            with n as (select * from jsonb_to_recordset(%s::jsonb) n (id bigint, "on" date)),
            lines as (
              update billing.document_lines l set tax_point = n.on from n where l.document_id = n.id
              returning l.charge_id, n.on
            ),
            charges as (
              update billing.charges c set tax_point = l.on,
                     created_at = (l.on::timestamp + interval '10 hours') at time zone crm.business_zone(c.operator_id)
                from lines l where c.id = l.charge_id
            )
            update billing.documents d
               set issue_date = n.on, tax_point = n.on, due_date = n.on + d.due_days,
                   created_at = (n.on::timestamp + interval '10 hours') at time zone crm.business_zone(d.operator_id),
                   issued_at = (n.on::timestamp + interval '10 hours') at time zone crm.business_zone(d.operator_id),
                   number = '~' || d.id
              from n where d.id = n.id
            """,
            [Jsonb(notes)],
        )
        cur.execute(
            """
            update billing.documents d
               set issue_date = d.paid_on, due_date = d.paid_on + d.due_days,
                   created_at = (d.paid_on::timestamp + interval '9 hours') at time zone crm.business_zone(d.operator_id),
                   issued_at = (d.paid_on::timestamp + interval '9 hours') at time zone crm.business_zone(d.operator_id),
                   number = '~' || d.id
             where d.operator_id = any(%s) and d.request_id is not null
            """,
            [ops],
        )
        # Each month's call records came in on the first of the next month, and were rated by its run.
        cur.execute(
            """
            update billing.cdr_imports i
               set imported_at = ((date_trunc('month', i.first_call at time zone crm.business_zone(i.operator_id))
                                   + interval '1 month 2 hours') at time zone crm.business_zone(i.operator_id))
             where i.operator_id = any(%s) and i.first_call is not null
            """,
            [ops],
        )
        cur.execute(
            """
            update billing.rating_runs r
               set started_at = (upper(r.period)::timestamp + interval '6 hours') at time zone crm.business_zone(r.operator_id),
                   finished_at = (upper(r.period)::timestamp + interval '6 hours 1 minute')
                                 at time zone crm.business_zone(r.operator_id)
             where r.operator_id = any(%s)
            """,
            [ops],
        )
        # Numbers: per operator, kind and year of issue, in the order issued (gap-free), and the
        # series' counters to match. The unique index on the numbers is checked row by row, so
        # every number was set aside above (as '~' and the id).
        cur.execute(
            "update billing.documents set number = '~' || id"
            " where operator_id = any(%s) and state = 'issued' and number not like '~%%'",
            [ops],
        )
        cur.execute(
            """
            with numbered as (
              select d.id, s.id as series_id, s.format, s.start_value, d.issue_date,
                     crm.series_year(s.yearly, d.issue_date) as year,
                     row_number() over (partition by s.id, crm.series_year(s.yearly, d.issue_date)
                                        order by d.issue_date, d.issued_at, d.id) as n
                from billing.documents d
                join crm.number_series s on s.operator_id = d.operator_id and s.kind = d.kind
               where d.operator_id = any(%s) and d.state = 'issued'
            ), renumbered as (
              update billing.documents d
                 set number = crm.format_number(x.format, x.start_value + x.n - 1, x.issue_date)
                from numbered x where x.id = d.id
            )
            select x.series_id, x.year, max(x.start_value + x.n - 1) from numbered x group by x.series_id, x.year
            """,
            [ops],
        )
        counters = cur.fetchall()
        cur.execute(
            "delete from crm.number_series_counters c using crm.number_series s where s.id = c.series_id"
            " and s.operator_id = any(%s) and s.kind in ('invoice', 'credit_note', 'payment_request', 'advance_invoice')",
            [ops],
        )
        cur.execute(
            "insert into crm.number_series_counters (series_id, year, last_value)"
            " select * from unnest(%s::bigint[], %s::integer[], %s::bigint[])",
            [[c[0] for c in counters], [c[1] for c in counters], [c[2] for c in counters]],
        )
        # Credit: each top-up on its day, the renewals on the first day of the period they pay.
        cur.execute(
            """
            update billing.credit_movements m
               set created_at = least(now(), (t.on::timestamp + interval '9 hours 30 minutes')
                                             at time zone crm.business_zone(a.operator_id))
              from billing.credit_accounts a, jsonb_to_recordset(%s::jsonb) t (ref text, "on" date)
             where a.id = m.account_id and a.operator_id = any(%s) and m.kind = 'top_up' and m.reference = t.ref
            """,
            [Jsonb(self.top_up_days), ops],
        )
        cur.execute(
            """
            update billing.credit_movements m
               set created_at = least(now(), (lower(m.period)::timestamp + interval '4 hours')
                                             at time zone crm.business_zone(a.operator_id))
              from billing.credit_accounts a
             where a.id = m.account_id and a.operator_id = any(%s) and m.kind = 'spend' and m.period is not null
            """,
            [ops],
        )
        cur.execute(
            "update billing.credit_accounts a set last_top_up_at = (select max(m.created_at) from billing.credit_movements m"
            " where m.account_id = a.id and m.kind = 'top_up'), last_spent_at = (select max(m.created_at)"
            " from billing.credit_movements m where m.account_id = a.id and m.kind = 'spend')"
            " where a.operator_id = any(%s)",
            [ops],
        )
        cur.execute("set local session_replication_role = origin")
        cur.execute(
            "select count(*) from billing.documents where operator_id = any(%s) and state = 'issued'", [ops]
        )
        row = cur.fetchone()
        self.summary.documents = int(row[0]) if row else 0

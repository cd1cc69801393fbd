"""Loading the plan into the database, in the caller's transaction as the superuser: reference
data and customers with COPY (the tables' triggers still check and number every row), the service
lifecycle and the orders through the database's own functions, set-based."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from tqdm import tqdm

from db.demo.planner import OrderPlan, Planner, ServicePlan
from db.demo.reference import (
    _LOGIN_NAMES,
    _LOGIN_ROLES,
    _MORE_STAFF,
    BUNDLES,
    DEMO_LOGINS,
    GROUPS,
    PRICE_2024,
    PRICE_2025,
    PRICE_START,
    PRODUCTS,
    TARIFFS,
    ZONE_PRICES,
    is_valid_account,
    make_account,
    make_ico,
)

BATCH = 2000  # rows per set-based statement (and progress step)


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


class DemoRefused(RuntimeError):
    """The demo will not load here (it would touch data it did not create)."""


class Loader:
    def __init__(self, conn: psycopg.Connection[Any], plan: Planner) -> None:
        self.conn = conn
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
        # The billing plan a service is activated with (db.demo.billing; None: the default).
        self.plan_for: Callable[[ServicePlan], int | None] | None = None

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
        # The demo never touches a user it did not create: a name that exists stops the load.
        self.cur.execute(
            "select coalesce(string_agg(username::text, ', ' order by username), '') from auth.users"
            " where username = any(%s::citext[])",
            [[p[0] for p in people]],
        )
        taken = self.cur.fetchone()
        if taken and taken[0]:
            raise DemoRefused(
                f"the demo's user names exist here already ({taken[0]}); it changes no existing user"
            )
        for username, full_name, roles, password in people:
            self.cur.execute(
                "select auth.create_user(%s, %s, %s, 'cs', %s, %s)",
                [username, full_name, f"{username}@mango-net.cz", roles, password],
            )
            row = self.cur.fetchone()
            assert row is not None
            self.users[username] = int(row[0])
            self.passwords[username] = password
        # Which logins `mango run` may show: only those the demo made.
        self.cur.execute(
            "insert into auth.settings (key, value, description) values ('demo_logins', %s,"
            " 'Staff users the demo created (mango run shows their logins).')"
            " on conflict (key) do update set value = excluded.value",
            [Jsonb([u for u, _, _ in DEMO_LOGINS])],
        )

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
                billing_plan = self.plan_for(s) if self.plan_for else None
                if billing_plan is not None:
                    options["billing_plan_id"] = billing_plan
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

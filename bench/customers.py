"""Customer search at 1,000,000 customers (CRM-6): `python -m bench.customers`.

Builds its own database ``mango_bench_customers`` from the migrations (or reuses it when it is
complete), loads a million Czech-looking customers with their phones and e-mails by COPY, fills
the derived search table with the production function ``crm.refresh_customer_search`` in chunks,
then measures ``crm.search_customers`` the way the web client calls it: as ``mango_web``, one
transaction per request, the user's session resumed and ``set local role`` to the user's role.

Gives every 20th customer services (as ``bench.customers_web`` does) and each internet service an
IP address, a MAC address and a CPE with a serial number, so that the search by network identifier
is measured too. Prints p50/p95 per kind of query beside the goal "search p95 under 50 ms". Never
asserts.
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psycopg
from psycopg import sql

from bench._common import db_exists, log, percentile
from db import bootstrap, migrate
from db import settings as settings_mod
from db.settings import Settings
from webclient.web import STAFF_RESUME_SQL

DBNAME = "mango_bench_customers"
OPERATOR_CODE = "bench"
STAFF_USER = "bench_support"
GOAL_P95_MS = 50.0
VS_BASE = 20_000_000
# Derived search and trigram indexes: built after the load (faster than maintaining them row by row).
DEFERRED_INDEXES = ("crm.customer_search_trgm", "crm.contacts_value_trgm")
DEFERRED_TRIGGERS = ("_700_search_insert", "_800_audit")

MALE_FIRST = (
    "Jan Jiří Petr Josef Pavel Martin Tomáš Jaroslav Miroslav Zdeněk Václav Michal František Karel Milan "
    "Vladimír Lukáš David Jakub Ladislav Stanislav Roman Ondřej Radek Marek Daniel Vojtěch Filip Adam Matěj "
    "Antonín Aleš Libor Luboš Dušan Bohumil Oldřich Vlastimil Rostislav Kamil Štěpán Přemysl"
).split()
FEMALE_FIRST = (
    "Jana Marie Eva Hana Anna Lenka Kateřina Lucie Věra Alena Petra Veronika Jaroslava Tereza Martina Michaela "
    "Jitka Helena Ludmila Zdeňka Ivana Monika Eliška Zuzana Markéta Barbora Kristýna Klára Božena Dagmar "
    "Šárka Blanka Radka Renata Simona Vlasta Adéla Natálie Žaneta Libuše"
).split()
# Surnames in their male form and female form.
SURNAMES = [
    tuple(pair.split("/"))
    for pair in (
        "Novák/Nováková Svoboda/Svobodová Novotný/Novotná Dvořák/Dvořáková Černý/Černá Procházka/Procházková "
        "Kučera/Kučerová Veselý/Veselá Horák/Horáková Němec/Němcová Marek/Marková Pokorný/Pokorná "
        "Pospíšil/Pospíšilová Hájek/Hájková Jelínek/Jelínková Král/Králová Růžička/Růžičková Beneš/Benešová "
        "Fiala/Fialová Sedláček/Sedláčková Doležal/Doležalová Zeman/Zemanová Kolář/Kolářová Navrátil/Navrátilová "
        "Čermák/Čermáková Vaněk/Vaňková Urban/Urbanová Blažek/Blažková Kříž/Křížová Kovář/Kovářová "
        "Kratochvíl/Kratochvílová Bartoš/Bartošová Vlček/Vlčková Polák/Poláková Musil/Musilová Kopecký/Kopecká "
        "Šimek/Šimková Konečný/Konečná Malý/Malá Holub/Holubová Štěpánek/Štěpánková Čech/Čechová Staněk/Staňková "
        "Kadlec/Kadlecová Dostál/Dostálová Soukup/Soukupová Šťastný/Šťastná Mareš/Marešová Moravec/Moravcová "
        "Sýkora/Sýkorová Tichý/Tichá Valenta/Valentová Vávra/Vávrová Matoušek/Matoušková Bláha/Bláhová "
        "Říha/Říhová Ševčík/Ševčíková Bureš/Burešová Hruška/Hrušková Mašek/Mašková Pavlík/Pavlíková "
        "Dušek/Dušková Janda/Jandová Hrubý/Hrubá Mach/Machová Skála/Skálová Žák/Žáková Toman/Tomanová "
        "Kubíček/Kubíčková Zedník/Zedníková Šebesta/Šebestová Hronek/Hronková Vacek/Vacková Lukáš/Lukášová "
        "Brabec/Brabcová Kolařík/Kolaříková Štěpán/Štěpánová Zíka/Zíková Kalina/Kalinová Hořejší/Hořejší "
        "Žižka/Žižková Chalupa/Chalupová Vrba/Vrbová Bednář/Bednářová Richter/Richterová Ptáček/Ptáčková"
    ).split()
]
STREETS = (
    "Hlavní, Nádražní, Školní, Zahradní, Krátká, Polní, Lipová, Luční, Husova, Komenského, Palackého, "
    "Masarykova, Sokolovská, Jiráskova, Tyršova, Smetanova, Nerudova, Dvořákova, Havlíčkova, Žižkova, "
    "Vinohradská, Korunní, Národní, Mánesova, Sadová, Lesní, Družstevní, Okružní, Revoluční, Pražská, "
    "Brněnská, Olomoucká, Husitská, Svatoplukova, Čechova, Fügnerova, Kollárova, Jungmannova, Riegrova, "
    "Bezručova, Máchova, Erbenova, Wolkerova, Vančurova, Čapkova, Myslbekova, Purkyňova, Ječná, Vodičkova, "
    "Na Příkopě, Na Výsluní, U Školy, U Hřiště, U Rybníka, K Lesu, Pod Kaplí, Za Humny, Nová, Stará, "
    "Dlouhá, Úzká, Široká, Jabloňová, Třešňová, Višňová, Ořechová, Javorová, Březová, Dubová, Habrová"
).split(", ")
CITIES = (
    ("Praha", "110 00"),
    ("Brno", "602 00"),
    ("Ostrava", "702 00"),
    ("Plzeň", "301 00"),
    ("Liberec", "460 01"),
    ("Olomouc", "779 00"),
    ("České Budějovice", "370 01"),
    ("Hradec Králové", "500 02"),
    ("Ústí nad Labem", "400 01"),
    ("Pardubice", "530 02"),
    ("Zlín", "760 01"),
    ("Havířov", "736 01"),
    ("Kladno", "272 01"),
    ("Most", "434 01"),
    ("Opava", "746 01"),
    ("Frýdek-Místek", "738 01"),
    ("Karviná", "733 01"),
    ("Jihlava", "586 01"),
    ("Teplice", "415 01"),
    ("Děčín", "405 02"),
    ("Karlovy Vary", "360 01"),
    ("Chomutov", "430 01"),
    ("Jablonec nad Nisou", "466 01"),
    ("Mladá Boleslav", "293 01"),
    ("Prostějov", "796 01"),
    ("Přerov", "750 02"),
    ("Česká Lípa", "470 01"),
    ("Třebíč", "674 01"),
    ("Třinec", "739 61"),
    ("Tábor", "390 01"),
    ("Znojmo", "669 02"),
    ("Kolín", "280 02"),
    ("Příbram", "261 01"),
    ("Cheb", "350 02"),
    ("Písek", "397 01"),
    ("Trutnov", "541 01"),
    ("Kroměříž", "767 01"),
    ("Orlová", "735 14"),
    ("Vsetín", "755 01"),
    ("Šumperk", "787 01"),
    ("Uherské Hradiště", "686 01"),
    ("Břeclav", "690 02"),
    ("Hodonín", "695 01"),
    ("Český Těšín", "737 01"),
    ("Litoměřice", "412 01"),
    ("Havlíčkův Brod", "580 01"),
    ("Nový Jičín", "741 01"),
    ("Chrudim", "537 01"),
    ("Krnov", "794 01"),
    ("Litvínov", "436 01"),
    ("Strakonice", "386 01"),
    ("Valašské Meziříčí", "757 01"),
    ("Sokolov", "356 01"),
    ("Klatovy", "339 01"),
    ("Žďár nad Sázavou", "591 01"),
    ("Kopřivnice", "742 21"),
    ("Bohumín", "735 81"),
    ("Jindřichův Hradec", "377 01"),
    ("Vyškov", "682 01"),
    ("Blansko", "678 01"),
)
MAIL_DOMAINS = ("seznam.cz", "email.cz", "gmail.com", "centrum.cz", "post.cz", "volny.cz", "atlas.cz")
FOLD = str.maketrans("áäčďéěëíĺľňóôöŕřšťúůüýž", "aacdeeeillnooorrstuuuyz")

CUSTOMER_COLUMNS = (
    "operator_id", "customer_no", "vs", "kind", "first_name", "last_name", "company_name", "ico",
    "street", "house_no", "city", "zip", "created_on",
)  # fmt: skip


def fold(text: str) -> str:
    return text.lower().translate(FOLD)


@dataclass(frozen=True)
class Customer:
    number: int
    first_name: str | None
    last_name: str | None
    company_name: str | None
    street: str
    house_no: str
    city: str
    zip: str
    phone: str | None
    email: str | None

    @property
    def customer_no(self) -> str:
        return f"C{self.number:07d}"

    @property
    def vs(self) -> str:
        return str(VS_BASE + self.number)


def generate(count: int, seed: int = 20240101) -> Iterator[Customer]:
    """Customers 1…count, the same ones for the same seed: 95 % persons, 5 % companies."""
    rng = random.Random(seed)
    for n in range(1, count + 1):
        street = rng.choice(STREETS)
        city, zip_code = rng.choice(CITIES)
        house = (
            str(rng.randint(1, 2500))
            if rng.random() < 0.7
            else f"{rng.randint(1, 2500)}/{rng.randint(1, 60)}"
        )
        phone = f"+420{rng.choice('67')}{rng.randint(0, 99_999_999):08d}" if rng.random() < 0.9 else None
        if rng.random() < 0.95:
            male = rng.random() < 0.5
            first = rng.choice(MALE_FIRST if male else FEMALE_FIRST)
            last = rng.choice(SURNAMES)[0 if male else 1]
            email = (
                f"{fold(first)}.{fold(last)}{n}@{rng.choice(MAIL_DOMAINS)}" if rng.random() < 0.8 else None
            )
            yield Customer(n, first, last, None, street, house, city, zip_code, phone, email)
        else:
            name = f"{rng.choice(SURNAMES)[0]} {rng.choice(('s.r.o.', 'a.s.', 'spol. s r.o.', 'v.o.s.'))}"
            email = f"info{n}@{fold(name.split()[0])}.cz"
            yield Customer(n, None, None, name, street, house, city, zip_code, phone, email)


# ---------------------------------------------------------------------------------------------
# the database


def bench_operator(conn: psycopg.Connection) -> int | None:
    row = conn.execute("select id from crm.operators where code = %s", [OPERATOR_CODE]).fetchone()
    return int(row[0]) if row else None


def is_complete(settings: Settings, count: int) -> bool:
    """Whether the bench database exists with all customers, their search rows and indexes."""
    if not db_exists(settings, DBNAME):
        return False
    try:
        with psycopg.connect(settings.admin_conninfo(DBNAME), autocommit=True) as conn:
            op = bench_operator(conn)
            if op is None:
                return False
            customers = conn.execute(
                "select count(*) from crm.customers where operator_id = %s", [op]
            ).fetchone()
            search = conn.execute("select count(*) from crm.customer_search").fetchone()
            indexes = conn.execute(
                "select count(*) from unnest(%s::text[]) i where to_regclass(i) is not null",
                [list(DEFERRED_INDEXES)],
            ).fetchone()
    except psycopg.errors.UndefinedTable:
        return False
    return bool(
        customers and search and indexes and customers[0] == count and search[0] == count and indexes[0] == 2
    )


def create_operator(conn: psycopg.Connection, count: int) -> int:
    row = conn.execute(
        "insert into crm.operators (code, name, ico, dic, street, city, zip) "
        "values (%s, 'Bench Net s.r.o.', '27082440', 'CZ27082440', 'Hlavní 1', 'Brno', '602 00') returning id",
        [OPERATOR_CODE],
    ).fetchone()
    assert row is not None
    op = int(row[0])
    conn.execute(
        "insert into crm.number_series (operator_id, kind, format, yearly, start_value) values "
        "(%(op)s, 'customer', 'C{N:7}', false, 1), (%(op)s, 'vs', '{N}', false, %(vs)s)",
        {"op": op, "vs": VS_BASE + 1},
    )
    # The load sets numbers explicitly; the counters continue after them.
    conn.execute(
        "insert into crm.number_series_counters (series_id, year, last_value) "
        "select id, 0, case kind when 'customer' then %(n)s else %(vs)s end "
        "from crm.number_series where operator_id = %(op)s",
        {"op": op, "n": count, "vs": VS_BASE + count},
    )
    return op


def timed(label: str) -> Callable[[], None]:
    start = time.perf_counter()

    def done() -> None:
        log(f"{label}: {time.perf_counter() - start:.1f} s")

    return done


def load(settings: Settings, count: int, seed: int) -> None:
    """Rebuild the bench database from the migrations and load the customers."""
    log(f"building database {DBNAME} from the migrations")
    bootstrap.ensure_roles(settings)
    bootstrap.drop_database(settings, DBNAME)
    bootstrap.ensure_database(settings, DBNAME)
    migrate.migrate(settings, DBNAME)
    total = time.perf_counter()
    with psycopg.connect(settings.admin_conninfo(DBNAME)) as conn:
        conn.execute("set maintenance_work_mem = '1GB'")
        op = create_operator(conn, count)
        index_ddl = [
            str(r[0])
            for r in conn.execute(
                "select pg_get_indexdef(i::regclass) from unnest(%s::text[]) i", [list(DEFERRED_INDEXES)]
            ).fetchall()
        ]
        for name in DEFERRED_INDEXES:
            conn.execute(sql.SQL("drop index {}").format(sql.Identifier(*name.split("."))))
        # Deferred to set-based statements in the same transaction (ALTER TABLE … DISABLE TRIGGER is
        # transactional): the derived search rows, built after the load by the production function
        # instead of by the statement triggers; and the audit rows, written by one INSERT … SELECT
        # with what the row trigger would write (the trigger costs ~0.2 ms a row, see the report).
        for table in ("customers", "contacts"):
            for trigger in DEFERRED_TRIGGERS:
                conn.execute(
                    sql.SQL("alter table {} disable trigger {}").format(
                        sql.Identifier("crm", table), sql.Identifier(trigger)
                    )
                )
        conn.execute(
            "create temp table stage_contacts (customer_no text, kind text, value text) on commit drop"
        )
        done = timed(f"COPY {count:,} customers (validation triggers on)")
        with conn.cursor().copy(
            sql.SQL("copy crm.customers ({}) from stdin").format(
                sql.SQL(", ").join(map(sql.Identifier, CUSTOMER_COLUMNS))
            )
        ) as copy_customers:
            contacts: list[tuple[str, str, str]] = []
            for c in generate(count, seed):
                copy_customers.write_row(
                    (
                        op, c.customer_no, c.vs, "company" if c.company_name else "person", c.first_name,
                        c.last_name, c.company_name, None, c.street, c.house_no, c.city, c.zip, "2015-01-01",
                    )
                )  # fmt: skip
                if c.phone:
                    contacts.append((c.customer_no, "phone", c.phone))
                if c.email:
                    contacts.append((c.customer_no, "email", c.email))
                if c.number % 100_000 == 0:
                    log(f"  {c.number:,} customers sent")
        done()
        done = timed(f"COPY {len(contacts):,} contacts to staging")
        with conn.cursor().copy("copy stage_contacts (customer_no, kind, value) from stdin") as copy_contacts:
            for row in contacts:
                copy_contacts.write_row(row)
        done()
        done = timed("insert contacts (validation triggers on)")
        conn.execute(
            "insert into crm.contacts (customer_id, kind, value, is_primary) "
            "select c.id, s.kind, s.value, true from stage_contacts s join crm.customers c using (customer_no)"
        )
        done()
        done = timed("audit rows of the loaded customers and contacts, set-based")
        for table in ("customers", "contacts"):
            conn.execute(
                sql.SQL(
                    "insert into audit.records (table_schema, table_name, record_id, operation, new_values, db_role, "
                    "user_id) select 'crm', {name}, t.id::text, 'insert', to_jsonb(t), w.db_role, w.user_id "
                    "from {table} t, (select auth.caller_role() as db_role, auth.user_id() as user_id) w "
                    "order by t.id"
                ).format(name=sql.Literal(table), table=sql.Identifier("crm", table))
            )
            for trigger in DEFERRED_TRIGGERS:
                conn.execute(
                    sql.SQL("alter table {} enable trigger {}").format(
                        sql.Identifier("crm", table), sql.Identifier(trigger)
                    )
                )
        done()
        conn.commit()

        done = timed("crm.refresh_customer_search in chunks")
        bounds = conn.execute("select min(id), max(id) from crm.customers").fetchone()
        assert bounds is not None
        low, high = int(bounds[0]), int(bounds[1])
        chunk = 100_000
        for start in range(low, high + 1, chunk):
            conn.execute(
                "select crm.refresh_customer_search(array(select generate_series(%s::bigint, %s::bigint)))",
                [start, min(start + chunk - 1, high)],
            )
            conn.commit()
            log(f"  search rows up to id {min(start + chunk - 1, high):,}")
        done()
        done = timed("build the trigram indexes")
        for ddl in index_ddl:
            conn.execute(ddl)  # type: ignore[arg-type]  # the schema's own DDL, read back from the catalogue
        conn.commit()
        done()
    with psycopg.connect(settings.admin_conninfo(DBNAME), autocommit=True) as conn:
        done = timed("vacuum analyze")
        for table in ("crm.customers", "crm.contacts", "crm.customer_search"):
            conn.execute(sql.SQL("vacuum (analyze) {}").format(sql.Identifier(*table.split("."))))
        done()
    log(f"load finished in {time.perf_counter() - total:.0f} s")


# ---------------------------------------------------------------------------------------------
# the measurement


def staff_token(settings: Settings) -> str:
    """A support user and a live session for it, opened through auth.login like the web client."""
    password = secrets.token_urlsafe(18)
    with psycopg.connect(settings.admin_conninfo(DBNAME), autocommit=True) as conn:
        row = conn.execute("select id from auth.users where username = %s", [STAFF_USER]).fetchone()
        if row is None:
            conn.execute(
                "select auth.create_user(%s, 'Bench Support', null, 'en', '{support}', %s)",
                [STAFF_USER, password],
            )
        else:
            conn.execute("select auth.set_password(%s, %s)", [row[0], password])
    with psycopg.connect(settings.role_conninfo("mango_web", DBNAME), autocommit=True) as web:
        login = web.execute(
            "select status, token from auth.login(%s, %s, '127.0.0.1', 'bench')", [STAFF_USER, password]
        ).fetchone()
    if login is None or login[0] != "ok" or login[1] is None:
        raise SystemExit(f"bench login failed: {login}")
    return str(login[1])


# An IP address, a MAC address and a CPE with a serial number for every internet service of the
# bench operator that has none (services: bench.customers_web gives them to every 20th customer).
# Set-based, as the superuser, without audit and bus rows.
NETWORK_SQL = (
    """
insert into net.ip_assignments (address, service_id, valid)
select '10.0.0.0'::inet + s.id, s.id, tstzrange(lower(s.valid)::timestamptz, null)
  from crm.services s join catalog.products p on p.id = s.product_id
 where s.operator_id = %(op)s and p.code = 'inet'
   and not exists (select from net.ip_assignments a where a.service_id = s.id)
""",
    """
insert into net.mac_assignments (mac, service_id, valid)
select ('02' || lpad(to_hex(s.id), 10, '0'))::macaddr, s.id, tstzrange(lower(s.valid)::timestamptz, null)
  from crm.services s join catalog.products p on p.id = s.product_id
 where s.operator_id = %(op)s and p.code = 'inet'
   and not exists (select from net.mac_assignments m where m.service_id = s.id)
""",
    """
with cpe as (
  insert into net.devices (name, role, serial_no, state)
  select 'CPE ' || s.id, 'customer', 'HWTC' || upper(lpad(to_hex(s.id * 7919), 8, '0')), 'active'
    from crm.services s join catalog.products p on p.id = s.product_id
   where s.operator_id = %(op)s and p.code = 'inet'
     and not exists (select from net.service_devices d where d.service_id = s.id)
  returning id, substr(name, 5)::bigint as service_id
)
insert into net.service_devices (service_id, device_id, role, valid)
select service_id, id, 'cpe', tstzrange('2020-01-01', null) from cpe
""",
)


def network_identifiers(settings: Settings) -> None:
    """Services for every 20th customer (once) and their IP, MAC and CPE serial number (once)."""
    from bench import customers_web  # it imports this module

    operator, _, _ = customers_web.prepare(settings, 20)
    with psycopg.connect(settings.admin_conninfo(DBNAME), autocommit=True) as conn:
        started = time.monotonic()
        with conn.transaction():
            conn.execute("set local session_replication_role = replica")
            added = [conn.execute(statement, {"op": operator}).rowcount for statement in NETWORK_SQL]
        if any(added):
            for table in ("net.ip_assignments", "net.mac_assignments", "net.devices", "net.service_devices"):
                conn.execute(f"analyze {table}")
            log(
                f"gave internet services {added[0]:,} IP addresses, {added[1]:,} MAC addresses and "
                f"{added[2]:,} CPEs with serial numbers in {time.monotonic() - started:.1f} s"
            )


def sample_queries(settings: Settings, per_kind: int, seed: int) -> dict[str, list[str]]:
    """Typical queries, taken from the data: surname, part of a street, phone (both ways), VS, and
    the IP address, MAC address and CPE serial number of a service."""
    rng = random.Random(seed)
    with psycopg.connect(settings.admin_conninfo(DBNAME)) as conn:
        rows = conn.execute(
            "select c.last_name, c.street, c.vs, k.value from crm.customers c "
            "join crm.contacts k on k.customer_id = c.id and k.kind = 'phone' "
            "where c.last_name is not null order by random() limit %s",
            [per_kind],
        ).fetchall()
        network = conn.execute(
            "select host(a.address), m.mac::text, d.serial_no from net.ip_assignments a"
            " join net.mac_assignments m on m.service_id = a.service_id"
            " join net.service_devices sd on sd.service_id = a.service_id join net.devices d on d.id = sd.device_id"
            " order by random() limit %s",
            [per_kind],
        ).fetchall()
    queries: dict[str, list[str]] = {
        "surname (no diacritics)": [],
        "part of street": [],
        "phone without +420": [],
        "phone with +420": [],
        "VS": [],
        "surname + city": [],
    }
    for last_name, street, vs, phone in rows:
        queries["surname (no diacritics)"].append(fold(last_name))
        word = max(street.split(), key=len)
        cut = rng.randint(4, max(4, len(word) - 1))
        queries["part of street"].append(word[:cut])
        queries["phone without +420"].append(phone.removeprefix("+420"))
        queries["phone with +420"].append(phone)
        queries["VS"].append(vs)
        queries["surname + city"].append(f"{fold(last_name)} {fold(rng.choice(CITIES)[0].split()[0])}")
    for address, mac, serial in network:
        queries.setdefault("IP address", []).append(address)
        queries.setdefault("MAC address", []).append(mac.upper().replace(":", "-"))
        queries.setdefault("CPE serial number", []).append(serial.lower())
    return queries


@dataclass
class Timing:
    search_ms: list[float]
    request_ms: list[float]
    rows: list[int]


def measure(settings: Settings, token: str, queries: list[str]) -> Timing:
    """Run each query as one web request: resume the session and switch role in one statement (the
    web client's STAFF_RESUME_SQL), search."""
    timing = Timing([], [], [])
    with psycopg.connect(settings.role_conninfo("mango_web", DBNAME)) as web:
        for query in queries:
            t0 = time.perf_counter()
            with web.transaction():
                user = web.execute(STAFF_RESUME_SQL, {"token": token}).fetchone()
                if user is None:
                    raise SystemExit("the bench session is not valid")
                t1 = time.perf_counter()
                found = web.execute("select * from crm.search_customers(%s)", [query]).fetchall()
                t2 = time.perf_counter()
            timing.search_ms.append((t2 - t1) * 1000)
            timing.request_ms.append((time.perf_counter() - t0) * 1000)
            timing.rows.append(len(found))
    return timing


def report(results: dict[str, Timing], count: int) -> None:
    print()
    print(f"crm.search_customers at {count:,} customers, as a support user through mango_web (ms)")
    header = f"{'query kind':<26}{'n':>6}{'rows':>7}{'p50':>9}{'p95':>9}{'max':>9}{'request p95':>13}  goal p95 < 50 ms"
    print(header)
    print("-" * len(header))
    for kind, t in results.items():
        p95 = percentile(t.search_ms, 95)
        verdict = "met" if p95 < GOAL_P95_MS else "MISSED"
        print(
            f"{kind:<26}{len(t.search_ms):>6}{statistics.mean(t.rows):>7.0f}{percentile(t.search_ms, 50):>9.1f}"
            f"{p95:>9.1f}{max(t.search_ms):>9.1f}{percentile(t.request_ms, 95):>13.1f}  {verdict}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200, help="queries of each kind")
    parser.add_argument("--seed", type=int, default=20240101)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the database even if it is complete")
    args = parser.parse_args(argv)
    settings = settings_mod.load(DBNAME)
    if args.rebuild or not is_complete(settings, args.customers):
        load(settings, args.customers, args.seed)
    else:
        log(f"reusing {DBNAME} with {args.customers:,} customers")
        bootstrap.ensure_roles(settings)
        migrate.migrate(settings, DBNAME)  # the procedures as they are now
    network_identifiers(settings)
    token = staff_token(settings)
    queries = sample_queries(settings, args.queries, args.seed)
    results: dict[str, Timing] = {}
    for kind, qs in queries.items():
        measure(settings, token, qs[:10])  # warm the cache and the connection
        results[kind] = measure(settings, token, qs)
        log(f"measured {kind}")
    report(results, args.customers)


if __name__ == "__main__":
    main()

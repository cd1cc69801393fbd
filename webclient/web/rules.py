"""What the database allows in a column, read from its constraints, so the web client never writes
a rule twice: a text's maximum length (a form's ``maxlength``), a value list (a form's choices and
what the page accepts), a number's range and the column's constant default, and for each check
constraint the sentence that says what it allows (shown beside the field when it fails).

The source is the catalogue (``pg_constraint``, which every role reads): the single-column check
constraints of our schemas, in the shapes the migrations write them::

    check (length(note) <= 2000)                  -- max_length
    check (kind in ('email', 'phone'))            -- choices
    check (billing_day between 1 and 28)          -- minimum, maximum
    check (x > '-Infinity' and x < 'Infinity')    -- finite (refuses NaN and ±Infinity)

The app loads them once when it starts (``load_rules``); a new migration is picked up by a restart,
as the web client is restarted after ``mango migrate`` anyway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

# Single-column check constraints and constant column defaults of the schemas the owner owns.
RULES_SQL = """
select n.nspname as schema, c.relname as "table", a.attname as "column", k.conname as "constraint",
       pg_catalog.pg_get_constraintdef(k.oid) as definition, null as "default"
  from pg_catalog.pg_constraint k
  join pg_catalog.pg_class c on c.oid = k.conrelid
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  join pg_catalog.pg_roles r on r.oid = n.nspowner and r.rolname = 'mango_owner'
  join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum = k.conkey[1]
 where k.contype = 'c' and pg_catalog.cardinality(k.conkey) = 1 and c.relkind in ('r', 'p') and not c.relispartition
union all
select n.nspname, c.relname, a.attname, null, null, pg_catalog.pg_get_expr(d.adbin, d.adrelid)
  from pg_catalog.pg_attrdef d
  join pg_catalog.pg_class c on c.oid = d.adrelid
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  join pg_catalog.pg_roles r on r.oid = n.nspowner and r.rolname = 'mango_owner'
  join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum = d.adnum
 where c.relkind in ('r', 'p') and not c.relispartition
"""

_LENGTH = re.compile(r"^CHECK \(\(length\(\(?(\w+)\)?(?:::text)?\) <= (\d+)\)\)$")
_CHOICES = re.compile(r"^CHECK \(\((\w+) = ANY \(ARRAY\[(.*)\]\)\)\)$")
_ITEM = re.compile(r"'((?:[^']|'')*)'::\w+|(-?\d+(?:\.\d+)?)")
_FINITE = re.compile(
    r"^CHECK \(\(\((\w+) > '-Infinity'::\w+(?: \w+)?\) AND \(\1 < 'Infinity'::\w+(?: \w+)?\)\)\)$"
)
_BOUND = re.compile(r"\((\w+) (>=|>|<=|<) \(?'?(-?\d+(?:\.\d+)?)'?(?:::\w+)?\)?(?:::\w+(?: precision)?)?\)")
_DEFAULT = re.compile(r"^(?:'((?:[^']|'')*)'::\w+|(-?\d+(?:\.\d+)?))$")


@dataclass(frozen=True, slots=True)
class Check:
    """One single-column check constraint and what it allows."""

    column: str
    max_length: int | None = None
    choices: tuple[str, ...] | None = None
    minimum: Decimal | None = None
    minimum_inclusive: bool = True
    maximum: Decimal | None = None
    maximum_inclusive: bool = True
    finite: bool = False


@dataclass(slots=True)
class Column:
    """What a column allows: the union of its single-column checks, and its constant default."""

    max_length: int | None = None
    choices: tuple[str, ...] | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    default: str | None = None


@dataclass
class Rules:
    """The rules of every column, by ``schema.table.column``; each check by its constraint."""

    columns: dict[str, Column] = field(default_factory=dict)
    checks: dict[tuple[str, str, str], Check] = field(default_factory=dict)

    def column(self, name: str) -> Column:
        return self.columns.get(name) or Column()

    def max_length(self, name: str) -> int | None:
        """``maxlength`` of a form field for the column ``schema.table.column`` (None: no limit)."""
        return self.column(name).max_length

    def choices(self, name: str) -> tuple[str, ...]:
        """The values the column accepts, in the constraint's order (empty: not a value list)."""
        return self.column(name).choices or ()

    def default(self, name: str) -> str | None:
        """The column's constant default as text (None: none, or not a constant)."""
        return self.column(name).default

    def check(self, schema: str, table: str, constraint: str) -> Check | None:
        return self.checks.get((schema, table, constraint))

    def replace(self, rows: list[dict[str, Any]]) -> None:
        """Use these rows of ``RULES_SQL`` from now on."""
        columns: dict[str, Column] = {}
        checks: dict[tuple[str, str, str], Check] = {}
        for row in rows:
            name = f"{row['schema']}.{row['table']}.{row['column']}"
            col = columns.setdefault(name, Column())
            if row["constraint"] is None:
                col.default = _constant(row["default"] or "")
                continue
            check = parse_check(row["column"], row["definition"])
            checks[(row["schema"], row["table"], row["constraint"])] = check
            if check.max_length is not None:
                col.max_length = min(col.max_length or check.max_length, check.max_length)
            if check.choices is not None:
                col.choices = check.choices
            if check.minimum is not None:
                col.minimum = check.minimum
            if check.maximum is not None:
                col.maximum = check.maximum
        self.columns, self.checks = columns, checks


def parse_check(column: str, definition: str) -> Check:
    """What a check constraint on ``column`` allows, as far as its shape says (else nothing)."""
    if m := _LENGTH.match(definition):
        if m.group(1) == column:
            return Check(column, max_length=int(m.group(2)))
    if m := _CHOICES.match(definition):
        if m.group(1) == column:
            items = tuple(
                (quoted.replace("''", "'") if quoted or not number else number)
                for quoted, number in _ITEM.findall(m.group(2))
            )
            return Check(column, choices=items)
    if m := _FINITE.match(definition):
        if m.group(1) == column:
            return Check(column, finite=True)
    bounds = _BOUND.findall(definition)
    if (
        bounds
        and all(b[0] == column for b in bounds)
        and not re.sub(r"CHECK|AND|[()\s]", "", _BOUND.sub("", definition))
    ):
        values: dict[str, Any] = {}
        for _, op, number in bounds:
            if op.startswith(">"):
                values.update(minimum=Decimal(number), minimum_inclusive=op == ">=")
            else:
                values.update(maximum=Decimal(number), maximum_inclusive=op == "<=")
        return Check(column, **values)
    return Check(column)


def _constant(expression: str) -> str | None:
    m = _DEFAULT.match(expression)
    if not m:
        return None
    return m.group(1).replace("''", "'") if m.group(1) is not None else m.group(2)


RULES = Rules()


async def read_rules(conn: AsyncConnection[Any]) -> list[dict[str, Any]]:
    cur = await conn.execute(RULES_SQL)
    names = [d.name for d in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in await cur.fetchall()]


async def load_rules(pool: AsyncConnectionPool) -> Rules:
    """Read the rules from the database into ``RULES`` (when the app starts)."""
    async with pool.connection() as conn:
        RULES.replace(await read_rules(conn))
    return RULES

"""Small helpers the customer, catalogue and order pages share: typed form values with errors
beside their fields, the 404 page, and combining errors of several changes."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any, TypeVar

import psycopg
from starlette.responses import Response

from webclient import web
from webclient.web import FormErrors, Page, View, errors_from

T = TypeVar("T")


def not_found(page: View, message: str) -> Response:
    return page.render(
        "error.html", {"status": 404, "title": page._("Page not found"), "message": message}, 404
    )


# The flash of a form whose values are the ones already saved: a page says "saved" only when the
# database changed something (an UPDATE whose WHERE leaves out a row without differences, in a
# statement that also says whether the row exists: ``with u as (update … returning 1) select
# exists (select from u) as changed, exists (select from … where id = …) as found``).
NOTHING_CHANGED = "Nothing changed: the values are the ones already saved."


def text(page: Page, name: str) -> str | None:
    return page.field(name) or None


def parse_date(page: Page, name: str, errors: FormErrors, required: bool = False) -> date | None:
    """A date from an ``<input type=date>`` (or ``d. m. yyyy``), or an error beside the field."""
    value = page.field(name)
    if not value:
        if required:
            errors.fields[name] = page._("This field is required.")
        return None
    czech = re.fullmatch(r"(\d{1,2})\.\s*(\d{1,2})\.\s*(\d{4})", value)
    try:
        if czech:
            return date(int(czech.group(3)), int(czech.group(2)), int(czech.group(1)))
        return date.fromisoformat(value)
    except ValueError:
        errors.fields[name] = page._("This is not a date.")
        return None


def parse_int(page: Page, name: str, errors: FormErrors, required: bool = False) -> int | None:
    value = page.field(name)
    if not value:
        if required:
            errors.fields[name] = page._("This field is required.")
        return None
    if not re.fullmatch(r"-?\d{1,15}", value):
        errors.fields[name] = page._("This is not a whole number.")
        return None
    return int(value)


def int_or_default(page: Page, name: str, errors: FormErrors, column: str) -> int | None:
    """A whole number, or when the field is empty the default of the column ``schema.table.column``
    (from the database): an empty field is not 0, and 0 is a value like any other."""
    value = parse_int(page, name, errors)
    if value is None and not page.field(name):
        default = web.RULES.default(column)
        return int(default) if default is not None and re.fullmatch(r"-?\d+", default) else None
    return value


def parse_decimal(page: Page, name: str, errors: FormErrors, required: bool = False) -> Decimal | None:
    value = page.field(name).replace("\u00a0", "").replace(" ", "").replace(",", ".")
    if not value:
        if required:
            errors.fields[name] = page._("This field is required.")
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = None
    # Decimal reads "NaN", "sNaN" and "Infinity" too: none is a number a form asks for.
    if number is None or not number.is_finite():
        errors.fields[name] = page._("This is not a number.")
        return None
    return number


def rename(errors: FormErrors, mapping: dict[str, str]) -> FormErrors:
    """Errors with some field names changed (a column of the database → the form's field)."""
    errors.fields = {mapping.get(k, k): v for k, v in errors.fields.items()}
    return errors


def beside(errors: FormErrors, fields: Iterable[str]) -> FormErrors:
    """Errors of fields the form does not show moved above it, so that no message is lost (a
    column the database names that is not one of the form's fields)."""
    shown = set(fields)
    for name in [n for n in errors.fields if n not in shown]:
        errors.general.append(errors.fields.pop(name))
    return errors


def merge(into: FormErrors, other: FormErrors | None, prefix: str = "") -> None:
    if other:
        for k, v in other.fields.items():
            into.fields.setdefault(prefix + k, v)
        into.general.extend(other.general)


async def attempt(
    page: Page, action: Callable[[], Awaitable[T]], field: str | None = None
) -> tuple[T | None, FormErrors | None]:
    """``Page.attempt`` that also says which form field the statement's value came from, for errors
    the database does not place itself (a value that is not of its type: ``errors_from``)."""
    try:
        async with page.conn.transaction():
            return await action(), None
    except psycopg.Error as exc:
        failed = errors_from(exc, page.lang, field)
        if failed is None:
            raise
        return None, failed


async def collect(
    page: Page,
    errors: FormErrors,
    action: Callable[[], Awaitable[T]],
    prefix: str = "",
    field: str | None = None,
) -> T | None:
    """Run one change in a savepoint; a business error goes into ``errors`` (fields prefixed)."""
    result, failed = await attempt(page, action, field)
    merge(errors, failed, prefix)
    return result


def parameter_values(page: Page, defs: list[dict[str, Any]]) -> dict[str, str]:
    """The form's values of typed parameters (RPT-3), keyed ``p_<code>``; a checkbox is true/false."""
    values = {}
    for d in defs:
        key = f"p_{d['code']}"
        values[key] = (
            ("true" if page.checked(key) else "false") if d["type"] == "boolean" else page.field(key)
        )
    return values


async def save_parameters(
    page: Page,
    errors: FormErrors,
    entity: str,
    entity_id: int,
    defs: list[dict[str, Any]],
    values: dict[str, Any],
) -> None:
    """Each parameter through ``crm.set_parameter`` in its own savepoint, so that every wrong value
    shows beside its own field (``p_<code>``)."""
    for d in defs:
        await collect(
            page,
            errors,
            partial(
                page.conn.execute,
                "select crm.set_parameter(%s, %s, %s, %s)",
                [entity, entity_id, d["code"], values[f"p_{d['code']}"]],
            ),
            prefix="p_",
        )


def all_or_nothing(errors: FormErrors) -> None:
    """Inside a ``conn.transaction()`` block: undo everything when any part failed."""
    if errors:
        raise psycopg.Rollback()


async def find_customer(page: Page, number: str) -> int | None:
    """The customer a form names by customer number or variable symbol (a number before a VS)."""
    return await web.fetch_value(
        page.conn,
        "select id from crm.customers where customer_no = %(n)s or vs = %(n)s"
        " order by customer_no = %(n)s desc, id limit 1",
        {"n": number},
    )

"""Errors from the database turned into messages a person can act on, beside a form's fields, and
input no page can take (a NUL character) refused before it reaches one.

A message names the field: the database names it for our own errors (``MG…`` with ``column``), a
constraint names it by its name (``<table>_<column>[_<what>]_check``, ``…_fkey``, ``…_key``,
``…_excl``), and where the database cannot (a value of the wrong type in a parameter), the form
code says which field it passed (``field``). A failed check says what the constraint allows, read
from the database (``rules.RULES``). PostgreSQL's own texts are never shown: they say what failed
in the database's terms (``invalid input syntax for type inet``), not what to type instead.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import parse_qsl

import psycopg
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from webclient import i18n
from webclient.web.rules import RULES, Check
from webclient.web.tokens import LANG_COOKIE


@dataclass
class FormErrors:
    """Messages beside fields (by column name) and above the form."""

    fields: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    state: str = ""

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)


# Constraint names end in what they are; the part before, after the table's name, is the column.
# A check may say what it checks before `_check` (`_length`, `_finite`).
_SUFFIXES = {
    "23514": ("_length_check", "_finite_check", "_check"),
    "23505": ("_key",),
    "23503": ("_fkey",),
    "23P01": ("_excl",),
}


def _column_of_constraint(diag: psycopg.errors.Diagnostic, suffixes: Iterable[str]) -> str | None:
    name, table = diag.constraint_name or "", diag.table_name or ""
    for suffix in suffixes:
        if table and name.startswith(table + "_") and name.endswith(suffix):
            return name[len(table) + 1 : -len(suffix)] or None
    return None


# What a value of a type must look like, beside its field and (with the value) above the form.
_TYPES: dict[str, tuple[str, str]] = {
    "ip": ("This is not an IP address.", "“{value}” is not an IP address."),
    "mac": ("This is not a MAC address.", "“{value}” is not a MAC address."),
    "integer": ("This is not a whole number.", "“{value}” is not a whole number."),
    "number": ("This is not a number.", "“{value}” is not a number."),
    "date": ("This is not a date.", "“{value}” is not a date."),
    "timestamp": ("This is not a date and time.", "“{value}” is not a date and time."),
    "boolean": ("This is not yes or no.", "“{value}” is not yes or no."),
    "interval": ("This is not a length of time.", "“{value}” is not a length of time."),
    "json": ("This is not valid JSON.", "“{value}” is not valid JSON."),
    "range": ("This is not a valid period.", "“{value}” is not a valid period."),
}
_TYPE_OF = {
    "inet": "ip",
    "cidr": "ip",
    "macaddr": "mac",
    "macaddr8": "mac",
    "smallint": "integer",
    "integer": "integer",
    "bigint": "integer",
    "numeric": "number",
    "real": "number",
    "double precision": "number",
    "date": "date",
    "timestamp with time zone": "timestamp",
    "timestamp without time zone": "timestamp",
    "time without time zone": "timestamp",
    "boolean": "boolean",
    "interval": "interval",
    "json": "json",
    "jsonb": "json",
    "tstzrange": "range",
    "daterange": "range",
}
# PostgreSQL's English texts (the server's lc_messages; in another language the type is not
# recognised and the message stays general).
_INPUT_SYNTAX = re.compile(r'^invalid input syntax for type ([a-z0-9 ]+): "(.*)"$', re.S)
_OUT_OF_RANGE = re.compile(r'^(?:date/time field value out of range|value "[^"]*" is out of range)')
_RANGE_TYPE = re.compile(r'^malformed range literal: "(.*)"$', re.S)  # no type named: a period
_NUL = "NUL (0x00)"  # psycopg refuses a text with a NUL character before sending it


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else str(value)


def check_message(check: Check | None, lang: str) -> str:
    """What a check constraint allows, as a sentence (or that the value is not valid)."""
    _ = i18n.gettext
    if check is None:
        return _(lang, "This value is not valid.")
    if check.max_length is not None:
        return _(lang, "This text is too long: at most {n} characters.", n=check.max_length)
    if check.choices is not None:
        return _(lang, "Choose one of: {choices}.", choices=", ".join(check.choices))
    if check.finite:
        return _(lang, "Give a number (not NaN or infinity).")
    low, high = check.minimum, check.maximum
    if low is not None and high is not None and check.minimum_inclusive and check.maximum_inclusive:
        return _(lang, "A value from {min} to {max}.", min=_number(low), max=_number(high))
    parts = []
    if low is not None:
        text = "at least {n}" if check.minimum_inclusive else "more than {n}"
        parts.append(_(lang, text, n=_number(low)))
    if high is not None:
        text = "at most {n}" if check.maximum_inclusive else "less than {n}"
        parts.append(_(lang, text, n=_number(high)))
    if parts:
        sentence = _(lang, " and ").join(parts)
        return _(lang, "The value must be {rule}.", rule=sentence)
    return _(lang, "This value is not valid.")


def _type_message(type_name: str, value: str, field_known: bool, lang: str) -> str | None:
    kind = _TYPE_OF.get(type_name)
    if kind is None:
        return None
    beside, above = _TYPES[kind]
    return i18n.gettext(lang, beside) if field_known else i18n.gettext(lang, above, value=value[:100])


def errors_from(exc: psycopg.Error, lang: str, field: str | None = None) -> FormErrors | None:
    """A database error as messages for a form, or None if it is not the user's to fix.

    ``field``: the form field whose value the statement passed, for errors the database does not
    place (a value of the wrong type, a NUL character, a value out of range)."""
    state = exc.sqlstate or ""
    diag = exc.diag
    primary = diag.message_primary or ""
    column: str | None = None
    _ = i18n.gettext
    if not state:
        if isinstance(exc, psycopg.DataError) and _NUL in str(exc):
            state, message, column = "22021", _(lang, "A text may not contain a NUL character (0x00)."), field
        else:
            return None
    elif state.startswith("MG"):  # our own rules: the message says what to do (translated when fixed)
        column = diag.column_name
        message = _(lang, primary) if primary else str(exc)
    elif state == "42501" and diag.column_name:
        # A refusal our own functions raise about a field (auth.set_password, auth.checked_roles):
        # shown beside it. A bare permission error (no column) stays the "not allowed" page.
        column = diag.column_name
        message = _(lang, primary) if primary else str(exc)
    elif state == "23514":  # check_violation
        column = _column_of_constraint(diag, _SUFFIXES[state])
        check = RULES.check(diag.schema_name or "", diag.table_name or "", diag.constraint_name or "")
        message = check_message(check, lang)
    elif state == "23505":  # unique_violation
        column = _column_of_constraint(diag, _SUFFIXES[state])
        message = _(lang, "This value is already used.")
    elif state == "23502":  # not_null_violation
        column = diag.column_name
        message = _(lang, "This field is required.")
    elif state == "23503":  # foreign_key_violation
        detail = diag.message_detail or ""
        if primary.startswith("update or delete") or "still referenced" in detail:
            message = _(lang, "This is still in use elsewhere, so it cannot be removed or changed.")
        else:
            column = _column_of_constraint(diag, _SUFFIXES[state]) or field
            message = _(lang, "This refers to a record that does not exist (any more).")
    elif state == "23P01":  # exclusion_violation
        column = _column_of_constraint(diag, _SUFFIXES[state])
        message = _(lang, "This overlaps with another record for the same time.")
    elif state in ("22P02", "22007"):  # a value that is not of its type
        column = field
        match = _INPUT_SYNTAX.match(primary) or _RANGE_TYPE.match(primary)
        typed = None
        if match:
            type_name = match.group(1) if match.re is _INPUT_SYNTAX else "tstzrange"
            typed = _type_message(type_name, match.group(match.lastindex or 1), field is not None, lang)
        message = typed or _(lang, "This value has a wrong format.")
    elif state in ("22008", "22003", "22015"):  # a date or a number out of range
        column = field
        if _OUT_OF_RANGE.match(primary) and "date" in primary:
            message = _(lang, "This date is out of range.")
        else:
            message = _(lang, "This value is out of range.")
    elif state == "22001":  # string_data_right_truncation
        column = field
        message = _(lang, "This text is too long.")
    elif state == "22021" or (state == "54000" and "null character" in primary):
        column = field
        message = _(lang, "A text may not contain a NUL character (0x00).")
    elif state == "54000":  # program_limit_exceeded: a text too long for an index entry
        column = field
        message = _(lang, "This text is too long.")
    elif state.startswith("22"):  # any other data exception
        column = field
        message = _(lang, "This value is not valid.")
    else:
        return None
    if column:
        return FormErrors(fields={column: message}, state=state)
    return FormErrors(general=[message], state=state)


# ---------------------------------------------------------------------------------------------
# A NUL character in a query string or a form field: no text column may hold one, and psycopg
# refuses to send it. Refused for every page at once, with the field named, before any page runs.

_FORM = b"application/x-www-form-urlencoded"


def _nul_field(data: str) -> str | None:
    """The name of the first field of an URL-encoded query or form holding a NUL character."""
    if "\x00" not in data and "%00" not in data:
        return None
    for name, value in parse_qsl(data, keep_blank_values=True, errors="replace"):
        if "\x00" in name or "\x00" in value:
            return name.replace("\x00", "") or "?"
    return None


class RefuseNul:
    """Pure ASGI middleware: a request whose path, query string or URL-encoded form holds a NUL
    character gets a 400 page that names the field, and no page runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope.get("path", ""):
            await self._refuse(scope, send, "")
            return
        name = _nul_field(scope.get("query_string", b"").decode("latin-1"))
        if name is not None:
            await self._refuse(scope, send, name)
            return
        headers = dict(scope.get("headers") or [])
        if scope.get("method") == "POST" and headers.get(b"content-type", b"").startswith(_FORM):
            body, more = b"", True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    break
                body += message.get("body", b"")
                more = message.get("more_body", False)
            name = _nul_field(body.decode("latin-1"))
            if name is not None:
                await self._refuse(scope, send, name)
                return
            sent = False

            async def replay() -> Message:
                nonlocal sent
                if not sent:
                    sent = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            await self.app(scope, replay, send)
            return
        await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, send: Send, name: str) -> None:
        cookie = _cookie(scope, LANG_COOKIE)
        lang = (
            i18n.normalise(cookie)
            if cookie
            else i18n.from_accept_language(_header(scope, b"accept-language"))
        )
        title = i18n.gettext(lang, "The request cannot be read")
        if name:
            text = i18n.gettext(
                lang,
                "The field “{field}” contains a NUL character (0x00), which no text may contain.",
                field=name,
            )
        else:
            text = i18n.gettext(
                lang, "The address contains a NUL character (0x00), which no address may contain."
            )
        back = i18n.gettext(lang, "Go back, remove it and try again.")
        body = (
            f'<!doctype html><html lang="{lang}"><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p><p>{html.escape(back)}</p>"
            "<p><a href='/'>Mango ISP</a></p></html>"
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    for part in (_header(scope, b"cookie") or "").split(";"):
        k, _, v = part.strip().partition("=")
        if k == name:
            return v
    return None

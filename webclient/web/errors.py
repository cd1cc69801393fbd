"""Errors from the database turned into messages a person can act on, beside a form's fields."""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from webclient import i18n


@dataclass
class FormErrors:
    """Messages beside fields (by column name) and above the form."""

    fields: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    state: str = ""

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)


def _column_of_constraint(diag: psycopg.errors.Diagnostic, suffix: str) -> str | None:
    name, table = diag.constraint_name or "", diag.table_name or ""
    if table and name.startswith(table + "_") and name.endswith(suffix):
        return name[len(table) + 1 : -len(suffix)] or None
    return None


def errors_from(exc: psycopg.Error, lang: str) -> FormErrors | None:
    """A database error as messages for a form, or None if it is not the user's to fix."""
    state = exc.sqlstate or ""
    diag = exc.diag
    message = diag.message_primary or str(exc)
    column: str | None = None
    if state.startswith("MG"):
        column = diag.column_name
    elif state == "23514":  # check_violation
        column = _column_of_constraint(diag, "_check")
        message = i18n.gettext(lang, "This value is not valid.")
    elif state == "23505":  # unique_violation
        column = _column_of_constraint(diag, "_key")
        message = i18n.gettext(lang, "This value is already used.")
    elif state == "23502":  # not_null_violation
        column = diag.column_name
        message = i18n.gettext(lang, "This field is required.")
    elif state.startswith("22"):  # data exception: a number or a date that is not one
        message = i18n.gettext(lang, "A value has a wrong format: {detail}", detail=message)
    else:
        return None
    if column:
        return FormErrors(fields={column: message}, state=state)
    return FormErrors(general=[message], state=state)

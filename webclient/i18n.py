"""Translations and Czech formats (PLT-5).

The catalogue is one JSON file per language in ``webclient/i18n/``; keys are the English texts,
so a missing translation shows English. Templates call ``_(english_text, name=value)``; the filters
``date``, ``datetime``, ``time``, ``money`` and ``number`` format values the way the language does.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

LANGUAGES = ("cs", "en")
DEFAULT_LANGUAGE = "cs"
CATALOGUE_DIR = Path(__file__).resolve().parent / "i18n"
NBSP = "\u00a0"
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# The zone in which times are shown: the business day's (crm.business_zone), which the app reads
# from its database sessions when it starts (web.use_business_zone); the default zone until then.
_zone = ZoneInfo("Europe/Prague")


def timezone() -> ZoneInfo:
    """The zone in which times are shown and local times of forms are read."""
    return _zone


def use_timezone(name: str) -> None:
    """Show times in this zone from now on (the database sessions' zone)."""
    global _zone
    _zone = ZoneInfo(name)


@cache
def catalogue(lang: str) -> dict[str, str]:
    path = CATALOGUE_DIR / f"{lang}.json"
    if not path.exists():
        return {}
    return dict(json.loads(path.read_text(encoding="utf-8")))


def normalise(lang: str | None) -> str:
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def gettext(lang: str, text: str, **values: Any) -> str:
    """The translation of ``text`` into ``lang``, with ``{name}`` placeholders filled in."""
    out = catalogue(lang).get(text) or text
    return out.format(**values) if values else out


def from_accept_language(header: str | None) -> str:
    """The first of our languages that an Accept-Language header names, by its q weights."""
    best: tuple[float, str] | None = None
    for part in (header or "").split(","):
        bits = part.strip().split(";")
        code = bits[0].strip().lower().split("-")[0]
        q = 1.0
        for b in bits[1:]:
            if b.strip().startswith("q="):
                try:
                    q = float(b.strip()[2:])
                except ValueError:
                    q = 0.0
        if code in LANGUAGES and (best is None or q > best[0]):
            best = (q, code)
    return best[1] if best else DEFAULT_LANGUAGE


def _local(value: datetime) -> datetime:
    return value.astimezone(timezone()) if value.tzinfo else value


def format_date(value: date | datetime | None, lang: str) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _local(value)
    if lang == "cs":
        return f"{value.day}. {value.month}. {value.year}"
    return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"


def format_time(value: datetime | None, lang: str, seconds: bool = False) -> str:
    if value is None:
        return ""
    return _local(value).strftime("%H:%M:%S" if seconds else "%H:%M")


def format_datetime(value: datetime | None, lang: str, seconds: bool = False) -> str:
    if value is None:
        return ""
    return f"{format_date(value, lang)} {format_time(value, lang, seconds)}"


def format_number(value: int | float | Decimal | None, lang: str, places: int = 0) -> str:
    if value is None:
        return ""
    text = f"{value:,.{places}f}"
    if lang == "cs":
        return text.replace(",", NBSP).replace(".", ",")
    return text


def format_money(value: int | float | Decimal | None, lang: str, currency: str = "CZK") -> str:
    """``1 234,50 Kč`` in Czech, ``CZK 1,234.50`` in English."""
    if value is None:
        return ""
    amount = format_number(value, lang, 2)
    if lang == "cs":
        symbol = {"CZK": "Kč", "EUR": "€"}.get(currency, currency)
        return f"{amount}{NBSP}{symbol}"
    return f"{currency}{NBSP}{amount}"


_ISO_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}(:\d{2})?|Z)?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def format_json_value(value: Any, lang: str) -> str:
    """A value from a JSON row image (audit history) as a person reads it."""
    if value is None:
        return "∅"
    if isinstance(value, bool):
        return gettext(lang, "yes" if value else "no")
    if isinstance(value, list):
        return ", ".join(format_json_value(v, lang) for v in value) or "∅"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        try:
            if _ISO_TIMESTAMP.match(value):
                return format_datetime(datetime.fromisoformat(value), lang, seconds=True)
            if _ISO_DATE.match(value):
                return format_date(date.fromisoformat(value), lang)
        except ValueError:
            return value
        return value
    if isinstance(value, float):
        return format_number(value, lang, 2) if value != int(value) else format_number(value, lang)
    return str(value)

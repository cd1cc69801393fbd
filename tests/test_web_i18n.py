"""Czech and English formats and the catalogue (PLT-5)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from webclient import i18n

NBSP = "\u00a0"


def test_czech_money_and_dates() -> None:
    assert i18n.format_money(Decimal("1234.5"), "cs") == f"1{NBSP}234,50{NBSP}Kč"
    assert i18n.format_money(Decimal("-1234567.891"), "cs") == f"-1{NBSP}234{NBSP}567,89{NBSP}Kč"
    assert i18n.format_money(Decimal("1234.5"), "en") == f"CZK{NBSP}1,234.50"
    assert i18n.format_date(date(2025, 3, 5), "cs") == "5. 3. 2025"
    assert i18n.format_date(date(2025, 3, 5), "en") == "5 Mar 2025"
    # Times are shown in Prague: 23:30 UTC on 31 Dec is already the next day there.
    assert i18n.format_datetime(datetime(2024, 12, 31, 23, 30, tzinfo=UTC), "cs") == "1. 1. 2025 00:30"


def test_accept_language_picks_our_best_language() -> None:
    assert i18n.from_accept_language("en-US,en;q=0.9,cs;q=0.8") == "en"
    assert i18n.from_accept_language("de-DE,cs;q=0.5,en;q=0.4") == "cs"
    assert i18n.from_accept_language("fr") == "cs"
    assert i18n.from_accept_language(None) == "cs"


def test_every_text_in_the_templates_has_a_czech_translation() -> None:
    root = Path(i18n.__file__).parent
    czech = json.loads((root / "i18n" / "cs.json").read_text(encoding="utf-8"))
    texts: set[str] = set()
    for path in [*root.rglob("*.html"), *root.rglob("*.py")]:
        for m in re.finditer(r"""\b_\(\s*(["'])((?:(?!\1).)+)\1""", path.read_text(encoding="utf-8")):
            texts.add(m.group(2))
    texts.discard("role:")
    missing = sorted(t for t in texts if t not in czech)
    assert not missing, missing


def test_templates_translate_fixed_texts_when_they_compile_and_the_rest_when_they_render() -> None:
    from webclient.web import Templates

    templates = Templates()
    source = (
        '{{ _("Customers") }}|{{ _(word) }}|{{ _("every {n} mo.", n=3) }}|{{ row.name }}|{{ row.entries | length }}'
        "|{{ row.missing is undefined }}|{{ amount | money }}"
    )
    context = {"word": "Services", "row": {"name": "Řeřicha", "entries": [1, 2]}, "amount": Decimal("1234.5")}
    czech = templates.environments["cs"].from_string(source).render(context)
    english = templates.environments["en"].from_string(source).render(context)
    assert czech == f"Zákazníci|Služby|po 3 měs.|Řeřicha|2|True|1{NBSP}234,50{NBSP}Kč"
    assert english == f"Customers|Services|every 3 mo.|Řeřicha|2|True|CZK{NBSP}1,234.50"
    # A dict's own methods still win over its keys, as in Jinja's own lookup.
    assert (
        templates.environments["cs"].from_string("{{ d.keys() | list }}").render(d={"keys": 1})
        == "[&#39;keys&#39;]"
    )

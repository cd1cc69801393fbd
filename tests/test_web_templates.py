"""The templates' overrides of Jinja's own API behave as Jinja does.

``webclient.web.templates`` replaces three pieces of Jinja for speed: ``Environment.getattr`` (a
dict's field without a failed ``getattr`` first), ``Environment.make_globals`` (a plain dict instead
of a ChainMap) and a token-stream filter (``_("text")`` translated when the template compiles).
Each is private API, so ``jinja2`` is pinned to one minor series in pyproject.toml; these tests
render the same sources with our environment and with Jinja's own, and must agree, so that a
Jinja upgrade that changes the hooks fails here instead of on a page.
"""

from __future__ import annotations

import collections
from decimal import Decimal
from typing import Any

import jinja2
import pytest

from webclient import i18n
from webclient.web import Templates
from webclient.web.templates import _Environment


class Thing:
    name = "attribute"

    def __init__(self) -> None:
        self.label = "on the object"

    def _(self, text: str) -> str:
        return f"method {text}"

    def __getitem__(self, key: str) -> str:
        return f"item {key}"


def _reference(ours: jinja2.Environment) -> jinja2.Environment:
    """Jinja's own environment with the same options, globals and filters, without our overrides
    and without the extension (so ``_`` always translates at render time)."""
    ref = jinja2.Environment(
        autoescape=jinja2.select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True
    )
    ref.globals.update(ours.globals)
    ref.filters.update(ours.filters)
    return ref


@pytest.fixture(scope="module")
def templates() -> Templates:
    return Templates()


CONTEXT: dict[str, Any] = {
    "row": {"name": "Řeřicha", "entries": [1, 2], "keys": "a key", "items": "an item", "none": None},
    "ordered": collections.OrderedDict(name="ordered", keys="its key"),
    "default": collections.defaultdict(lambda: "made", name="default"),
    "thing": Thing(),
    "rows": [{"id": 1, "name": "a"}, {"id": 2}],
    "word": "Services",
    "amount": Decimal("1234.5"),
}

# Attribute lookups: dict fields, a dict's own methods (which win over keys, as in Jinja), missing
# fields (undefined, with defaults and tests), dict subclasses, objects, chained lookups.
GETATTR_SOURCES = [
    "{{ row.name }}",
    "{{ row.entries | length }}",
    "{{ row.keys() | list | sort }}",
    "{{ row.items is callable }}",
    "{{ row.get('name') }}",
    "{{ row.none }}|{{ row.none is none }}",
    "{{ row.missing }}|{{ row.missing is undefined }}|{{ row.missing | default('d') }}",
    "{{ row['keys'] }}|{{ row['missing'] is defined }}",
    "{{ ordered.name }}|{{ ordered.keys() | list }}",
    "{{ default.name }}|{{ default.other }}",
    "{{ thing.name }}|{{ thing.label }}|{{ thing.other }}",
    "{% for r in rows %}{{ r.id }}:{{ r.name | default('-') }};{% endfor %}",
    "{{ rows | map(attribute='id') | join(',') }}",
    "{{ rows | selectattr('name', 'defined') | map(attribute='id') | list }}",
    "{{ (rows | sort(attribute='id', reverse=true) | first).id }}",
    "{% if row.name and not row.missing %}yes{% endif %}",
    "{{ row.__class__.__name__ }}",
]


@pytest.mark.parametrize("source", GETATTR_SOURCES)
def test_attribute_lookup_gives_what_jinjas_own_lookup_gives(templates: Templates, source: str) -> None:
    for env in templates.environments.values():
        assert env.from_string(source).render(CONTEXT) == _reference(env).from_string(source).render(CONTEXT)


def test_attribute_of_a_missing_field_fails_as_in_jinja(templates: Templates) -> None:
    source = "{{ row.missing.deeper }}"
    env = templates.environments["en"]
    with pytest.raises(jinja2.UndefinedError) as ours:
        env.from_string(source).render(CONTEXT)
    with pytest.raises(jinja2.UndefinedError) as theirs:
        _reference(env).from_string(source).render(CONTEXT)
    assert str(ours.value) == str(theirs.value)


def test_templates_look_attributes_up_through_the_environment(templates: Templates) -> None:
    """The override only matters if compiled templates still call ``environment.getattr``."""
    code = templates.environments["en"].compile("{{ row.name }}", raw=True)
    assert "environment.getattr(" in code
    assert type(templates.environments["en"]).getattr is _Environment.getattr


LOADED = {
    "page.html": "{{ site }}|{{ local | default('none') }}|{% include 'part.html' %}|"
    "{% import 'macros.html' as m %}{{ m.show() }}|{% from 'macros.html' import show %}{{ show() }}",
    "part.html": "part {{ site }} {{ local | default('none') }}",
    "macros.html": "{% macro show() %}macro {{ site }}{% endmacro %}",
    "child.html": "{% extends 'base.html' %}{% block body %}child {{ site }} {{ super() }}{% endblock %}",
    "base.html": "{% block body %}base {{ site }} {{ local | default('none') }}{% endblock %}",
}


def _loaded_pair() -> tuple[jinja2.Environment, jinja2.Environment]:
    ours = _Environment(loader=jinja2.DictLoader(LOADED))
    theirs = jinja2.Environment(loader=jinja2.DictLoader(LOADED))
    for env in (ours, theirs):
        env.globals["site"] = "Mango"
    return ours, theirs


@pytest.mark.parametrize("name", ["page.html", "child.html"])
def test_template_globals_are_those_jinja_would_make(name: str) -> None:
    ours, theirs = _loaded_pair()
    # The environment's globals, then a template's own on top of them (first load and cached).
    for extra in (None, {"local": "first"}, {"local": "again", "site": "Other"}):
        mine, reference = ours.get_template(name, globals=extra), theirs.get_template(name, globals=extra)
        assert dict(mine.globals) == dict(reference.globals)
        assert mine.render() == reference.render()
        assert mine.render(site="Context") == reference.render(site="Context")
    source = "{{ site }} {{ local }}"
    assert (
        ours.from_string(source, globals={"local": "x"}).render()
        == theirs.from_string(source, globals={"local": "x"}).render()
    )


def test_a_templates_globals_do_not_leak_into_the_environment() -> None:
    ours, theirs = _loaded_pair()
    for env in (ours, theirs):
        env.get_template("page.html", globals={"local": "page only"})
        assert "local" not in env.globals
        assert env.get_template("part.html").render() == "part Mango none"


# ``_`` of a literal is translated at compile time; everything else at render time, as Jinja's own
# call of the global ``_`` would.
TRANSLATE_SOURCES = [
    '{{ _("Customers") }}',
    "{{ _('Customers') }}",
    '{{ _( "Customers" ) }}',
    '{{ _("Customers") | upper }}',
    '{{ _("Customers") ~ " / " ~ _("Services") }}',
    '{% set title = _("Customers") %}{{ title }}',
    '{{ _("every {n} mo.", n=3) }}',
    "{{ _(word) }}",
    '{{ _("Cust" ~ "omers") }}',
    '{{ _("No such text in the catalogue") }}',
    '{{ thing._("Customers") }}',
    '{{ "Customers" if _ else "" }}',
    '{% raw %}{{ _("Customers") }}{% endraw %}',
    '<a title="{{ _("Customers") }}">{{ _("Customers") }}</a>',
    '{% macro label(x=_("Customers")) %}{{ x }}{% endmacro %}{{ label() }}|{{ label(_("Services")) }}',
    '{% for x in [_("Customers"), _("Services")] %}{{ x }};{% endfor %}',
    '{{ _("Customers") }}{{ _("Services") }}{{ _("Customers") }}',
    "{{ amount | money }} {{ _('Customers') }}",
    '{% if true %}\n  {{ _("Customers") }}\n{% endif %}\n',
    '{{ _("A value has a wrong format: {detail}", detail="<b>") }}',
    '{{ _("<b>not markup</b>") }}',
]


@pytest.mark.parametrize("source", TRANSLATE_SOURCES)
def test_translating_literals_at_compile_time_renders_what_render_time_translation_renders(
    templates: Templates, source: str
) -> None:
    for env in templates.environments.values():
        assert env.from_string(source).render(CONTEXT) == _reference(env).from_string(source).render(CONTEXT)


def test_a_literal_is_translated_in_the_compiled_code_and_an_expression_is_not(templates: Templates) -> None:
    code = templates.environments["cs"].compile('{{ _("Customers") }}|{{ _(word) }}', raw=True)
    assert i18n.gettext("cs", "Customers") in code
    assert "Customers" not in code
    assert code.count("context.call(") == 1  # only _(word) calls the global at render time


def test_line_numbers_survive_the_translation(templates: Templates) -> None:
    source = '{{ _("Customers") }}\n{{ _("Services") }}\n{{ nothing.at.all }}'
    for env in (templates.environments["cs"], _reference(templates.environments["cs"])):
        with pytest.raises(jinja2.UndefinedError):
            env.from_string(source).render()
        with pytest.raises(jinja2.TemplateSyntaxError) as bad:
            env.from_string('{{ _("Customers") }}\n{{ _("Services") }}\n{% if %}')
        assert bad.value.lineno == 3

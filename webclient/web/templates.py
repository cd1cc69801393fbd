"""The templates, compiled once per language, and the globals and filters they use."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
import jinja2.ext
import jinja2.lexer
from markupsafe import Markup

from webclient import i18n

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = ROOT / "templates"
STATIC_DIR = ROOT / "static"


class Templates:
    """The templates, compiled once per language.

    Each language has its own Jinja environment, and ``_`` of a string literal without
    placeholders is translated when the template compiles, so a page does not look up its fixed
    texts on every render; ``_`` of an expression, or with placeholders, translates at render
    time. The filters ``date``, ``datetime``, ``time``, ``number``, ``money`` and ``value`` format in
    the environment's language. Compiled templates are cached, never re-read from disk.
    """

    def __init__(self) -> None:
        self.environments = {lang: _environment(lang) for lang in i18n.LANGUAGES}

    def set_global(self, name: str, value: Any) -> None:
        for env in self.environments.values():
            env.globals[name] = value

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        """``name`` rendered in the language ``context["lang"]``."""
        env = self.environments[i18n.normalise(context.get("lang"))]
        return env.get_template(name).render(context)


class _TranslateLiterals(jinja2.ext.Extension):
    """Compiles ``_`` of a string literal into its translation in the environment's language."""

    def filter_stream(self, stream: jinja2.lexer.TokenStream) -> Iterator[jinja2.lexer.Token]:
        lang: str = getattr(self.environment, "mango_lang", i18n.DEFAULT_LANGUAGE)
        pending: deque[jinja2.lexer.Token] = deque()
        previous = ""
        while True:
            if not pending:
                token = next(stream, None)
                if token is None:
                    return
                pending.append(token)
            token = pending.popleft()
            if token.type == "name" and token.value == "_" and previous != "dot":
                while len(pending) < 3:
                    following = next(stream, None)
                    if following is None:
                        break
                    pending.append(following)
                if [t.type for t in list(pending)[:3]] == ["lparen", "string", "rparen"]:
                    text = pending[1].value
                    for _ in range(3):
                        pending.popleft()
                    token = jinja2.lexer.Token(token.lineno, "string", i18n.gettext(lang, text))
            previous = token.type
            yield token


_DICT_ATTRIBUTES = frozenset(dir(dict))


class _Environment(jinja2.Environment):
    """``row.name`` on a dict without first failing ``getattr(row, "name")``: the pages' data are
    JSON objects, and raising AttributeError for every field shown costs more than the rest of a
    render. The same result as Jinja's lookup (a dict's own methods still win over its keys)."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        """A template's globals as a plain dict, not a ChainMap over the environment's: every
        render and import compares and copies them, and a ChainMap makes that slow. The
        environment's globals are all set before the first template loads (``set_global``)."""
        return {**self.globals, **(d or {})}


def _environment(lang: str) -> jinja2.Environment:
    env = _Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=jinja2.select_autoescape(default=True),
        auto_reload=False,
        cache_size=-1,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=[_TranslateLiterals],
    )
    env.extend(mango_lang=lang)

    def translate(text: str, **values: Any) -> str:
        return i18n.gettext(lang, text, **values)

    def in_language(fn: Callable[..., str]) -> Callable[..., str]:
        def flt(value: Any, *args: Any, **kwargs: Any) -> str:
            return fn(value, lang, *args, **kwargs)

        return flt

    env.globals["_"] = translate
    env.globals["static"] = _static_url()
    env.globals["history_url"] = history_url
    env.globals["sidebar"] = _sidebar(env)
    env.filters["date"] = in_language(i18n.format_date)
    env.filters["datetime"] = in_language(i18n.format_datetime)
    env.filters["time"] = in_language(i18n.format_time)
    env.filters["number"] = in_language(i18n.format_number)
    env.filters["money"] = in_language(i18n.format_money)
    env.filters["value"] = in_language(i18n.format_json_value)
    return env


def _sidebar(env: jinja2.Environment) -> Callable[[Iterable[str], str], Markup]:
    """The left navigation, rendered once per (the user's rights, active item) in the
    environment's language and kept."""
    rendered: dict[tuple[frozenset[str], str], Markup] = {}
    hrefs: list[str] = []

    def sidebar(rights: Iterable[str], path: str) -> Markup:
        nav: Any = env.globals.get("nav") or []  # a global set after the environment is made
        if not hrefs:
            hrefs.extend(i["href"] for _, items in nav for i in items if i.get("href"))
        matching = [h for h in hrefs if path == h or (h != "/" and path.startswith(h + "/"))]
        active = max(matching, key=len, default="")
        held = frozenset(rights)
        key = (held, active)
        if key not in rendered:
            # The items a user with these rights sees (an item without "rights" is for everyone),
            # and only the sections that keep one.
            sections = [
                (section, shown)
                for section, items in nav
                if (shown := [i for i in items if not i.get("rights") or held & set(i["rights"])])
            ]
            html = env.get_template("_sidebar.html").render(sections=sections, active=active)
            rendered[key] = Markup(html)
        return rendered[key]

    return sidebar


def _static_url() -> Callable[[str], str]:
    """``static('app.css')`` with a version from the file's time, so browsers may cache it."""
    versions: dict[str, str] = {}

    def static(name: str) -> str:
        if name not in versions:
            path = STATIC_DIR / name
            versions[name] = format(int(path.stat().st_mtime), "x") if path.exists() else "0"
        return f"/static/{name}?v={versions[name]}"

    return static


def history_url(table: str, record: Any) -> str:
    """The audit history of one record, e.g. ``history_url('crm.operators', 1)``."""
    return f"/audit?table={quote(table)}&record={quote(str(record))}"

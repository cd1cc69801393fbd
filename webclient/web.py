"""What the web apps share: the pool, one transaction per request as the user, CSRF, templates,
flash messages and database errors turned into messages a person can act on.

A request of a logged-in page runs in ONE transaction on a pooled ``mango_web`` connection:
``auth.resume_session`` (which also sets ``mango.session``), ``set local role`` to the user's
database role, then the page's SQL. The database decides what the user may see and do; a
permission error (42501) anywhere becomes the "not allowed" page.

Two shapes: ``staff_page`` opens the transaction and lets the handler run what it needs (forms,
pages of several queries); ``staff_view`` is for a page that is one function call (the customer
card): resuming the session, switching the role and calling the function go to the server as ONE
statement, which in autocommit is the transaction, so a page view costs one round trip.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote

import jinja2
import jinja2.ext
import jinja2.lexer
import psycopg
from markupsafe import Markup
from psycopg import AsyncConnection
from psycopg.abc import Params
from psycopg.abc import QueryNoTemplate as Query
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db.settings import Settings
from webclient import i18n

ROOT = Path(__file__).resolve().parent
TEMPLATE_DIR = ROOT / "templates"
STATIC_DIR = ROOT / "static"

SESSION_COOKIE = "mango_session"
LOGIN_CSRF_COOKIE = "mango_csrf"
LANG_COOKIE = "mango_lang"
FLASH_COOKIE = "mango_flash"

RESUME_SQL = (
    "select user_id, username, full_name, language, roles, db_role, csrf_token,"
    " set_config('mango.session', %(token)s, true)"
    " from auth.resume_session(%(token)s)"
)

# The same, and switch to the user's role in the same round trip: set_config('role', …, true) is
# SET LOCAL ROLE (the server checks that mango_web may take the role).
STAFF_RESUME_SQL = (
    "select user_id, username, full_name, language, roles, db_role, csrf_token,"
    " set_config('mango.session', %(token)s, true), set_config('role', db_role, true)"
    " from auth.resume_session(%(token)s)"
)

# A page that is one function call, in one statement: the subquery (STAFF_RESUME_SQL) resumes the
# session and switches the role (set_config(…, true) lasts until the statement's transaction
# ends); the outer select calls the page's function for that row only, so after the switch (OFFSET
# 0 keeps the subquery from being merged into the outer select). The function is security invoker:
# it reads as the user. Its value is the row's last column.
VIEW_SQL = "select u.*, {call} from (" + STAFF_RESUME_SQL + " offset 0) u"  # noqa: S608 (constants of the code)

T = TypeVar("T")
Conn = AsyncConnection[Any]


# ---------------------------------------------------------------------------------------------
# Pool and queries


def make_pool(settings: Settings) -> AsyncConnectionPool:
    """The web role's pool; opened and closed by the app's lifespan."""
    return AsyncConnectionPool(
        settings.role_conninfo("mango_web"),
        min_size=int(os.environ.get("MANGO_WEB_POOL_MIN", "2")),
        max_size=int(os.environ.get("MANGO_WEB_POOL_MAX", str(default_pool_max()))),
        kwargs={
            "autocommit": True,
            "application_name": "mango_web",
            "options": f"-c TimeZone={i18n.timezone().key}",
        },
        open=False,
        name="mango_web",
    )


def default_pool_max() -> int:
    """Connections per worker so that all the workers (``MANGO_WEB_WORKERS``) hold about twice the
    cores: more only queue inside PostgreSQL, where waiting costs context switches, while waiting
    in the pool costs nothing (card benchmark, 2 workers on 2 cores: 2 per worker gave 1,080-1,140
    pages/s at p99 45-52 ms; 3 gave 1,000 at p99 75-100 ms; 4 fewer still)."""
    workers = max(1, int(os.environ.get("MANGO_WEB_WORKERS", "1")))
    return max(2, -(-2 * (os.cpu_count() or 2) // workers))


async def fetch_all(conn: Conn, query: Query, params: Params | None = None) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(query, params)
    return await cur.fetchall()


async def fetch_one(conn: Conn, query: Query, params: Params | None = None) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(query, params)
    return await cur.fetchone()


async def fetch_value(conn: Conn, query: Query, params: Params | None = None) -> Any:
    cur = await conn.execute(query, params)
    row = await cur.fetchone()
    return row[0] if row else None


# ---------------------------------------------------------------------------------------------
# Templates


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


def _sidebar(env: jinja2.Environment) -> Callable[[bool, str, bool], Markup]:
    """The left navigation, rendered once per (admin, officer, active item) in the environment's
    language and kept."""
    rendered: dict[tuple[bool, bool, str], Markup] = {}
    hrefs: list[str] = []

    def sidebar(is_admin: bool, path: str, is_officer: bool = False) -> Markup:
        if not hrefs:  # the navigation is a global set after the environment is made
            nav: Any = env.globals.get("nav") or []
            hrefs.extend(i["href"] for _, items in nav for i in items if i.get("href"))
        matching = [h for h in hrefs if path == h or (h != "/" and path.startswith(h + "/"))]
        active = max(matching, key=len, default="")
        key = (is_admin, is_officer, active)
        if key not in rendered:
            html = env.get_template("_sidebar.html").render(
                is_admin=is_admin, is_officer=is_officer, active=active
            )
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


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any],
    status_code: int = 200,
) -> HTMLResponse:
    templates: Templates = request.app.state.templates
    html = templates.render(name, {"request": request, **context})
    response = HTMLResponse(html, status_code=status_code)
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def read_flash(request: Request) -> str | None:
    value = request.cookies.get(FLASH_COOKIE)
    return unquote(value) if value else None


def redirect(url: str, flash: str | None = None) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie(FLASH_COOKIE, quote(flash), max_age=60, path="/", httponly=True, samesite="lax")
    return response


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to go back to; anything else (another host) becomes the default."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def secure_cookies(request: Request) -> bool:
    return request.url.scheme == "https"


def tokens_equal(a: object, b: object) -> bool:
    if not isinstance(a, str) or not isinstance(b, str) or not a or not b:
        return False
    return hmac.compare_digest(a.encode(), b.encode())


def new_token() -> str:
    return secrets.token_hex(24)


# ---------------------------------------------------------------------------------------------
# Errors from the database


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


# ---------------------------------------------------------------------------------------------
# The logged-in request


@dataclass(slots=True)
class User:
    id: int
    username: str
    full_name: str
    language: str
    roles: list[str]
    db_role: str
    csrf_token: str

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def has(self, role: str) -> bool:
        return role in self.roles or self.is_admin


@dataclass(slots=True)
class View:
    """One request of a logged-in user: who they are, and the page rendered in their language."""

    request: Request
    user: User

    @property
    def lang(self) -> str:
        return i18n.normalise(self.user.language)

    def _(self, text: str, **values: Any) -> str:
        return i18n.gettext(self.lang, text, **values)

    def render(
        self, name: str, context: Mapping[str, Any] | None = None, status_code: int = 200
    ) -> HTMLResponse:
        base = {
            "user": self.user,
            "lang": self.lang,
            "csrf": self.user.csrf_token,
            "flash": read_flash(self.request),
            "path": self.request.scope["path"],
        }
        return render(self.request, name, {**base, **(context or {})}, status_code)


@dataclass(slots=True)
class Page(View):
    """One request of a logged-in user, inside its transaction as the user's role."""

    conn: Conn
    form: FormData | None

    def field(self, name: str) -> str:
        value = self.form.get(name) if self.form is not None else None
        return value.strip() if isinstance(value, str) else ""

    def checked(self, name: str) -> bool:
        return self.form is not None and self.form.get(name) in ("on", "1", "true")

    async def attempt(self, action: Callable[[], Awaitable[T]]) -> tuple[T | None, FormErrors | None]:
        """Run a change in a savepoint; a business error becomes form errors, others propagate."""
        try:
            async with self.conn.transaction():
                return await action(), None
        except psycopg.Error as exc:
            errors = errors_from(exc, self.lang)
            if errors is None:
                raise
            return None, errors


Handler = Callable[[Page], Awaitable[Response]]
ViewHandler = Callable[[View, Any], Awaitable[Response]]


def login_redirect(request: Request) -> Response:
    target = "/login"
    if request.method == "GET" and request.url.path != "/":
        target += "?next=" + quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    response = RedirectResponse(target, status_code=303)
    if SESSION_COOKIE in request.cookies:
        response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def forbidden(request: Request, user: User | None, message: str | None = None) -> HTMLResponse:
    lang = i18n.normalise(user.language if user else request.cookies.get(LANG_COOKIE))
    return render(
        request,
        "error.html",
        {
            "user": user,
            "lang": lang,
            "csrf": user.csrf_token if user else "",
            "flash": None,
            "path": request.url.path,
            "status": 403,
            "title": i18n.gettext(lang, "You are not allowed to do this"),
            "message": message
            or i18n.gettext(lang, "Your role does not permit this. Ask an administrator if you need it."),
        },
        status_code=403,
    )


def staff_page(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A page for logged-in staff: one transaction as the user, CSRF on POST, 403 on 42501."""

    async def endpoint(request: Request) -> Response:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return login_redirect(request)
        form = await request.form() if request.method == "POST" else None
        pool: AsyncConnectionPool = request.app.state.pool
        user: User | None = None
        try:
            # No pipeline mode: it saves a round trip for BEGIN but costs more CPU in psycopg than
            # it saves (measured on the card benchmark: 15 % fewer pages per second with it).
            async with pool.connection() as conn, conn.transaction():
                cur = await conn.execute(STAFF_RESUME_SQL, {"token": token})
                row = await cur.fetchone()
                if row is None:
                    return login_redirect(request)
                user = User(*row[:7])
                if form is not None and not tokens_equal(form.get("csrf"), user.csrf_token):
                    return forbidden(
                        request,
                        user,
                        i18n.gettext(
                            user.language, "The form has expired. Go back, reload the page and try again."
                        ),
                    )
                return await handler(Page(request, user, conn, form))
        except psycopg.errors.InsufficientPrivilege:
            return forbidden(request, user)

    return endpoint


def staff_view(
    handler: ViewHandler, call: str, params: Callable[[Request], Mapping[str, Any]]
) -> Callable[[Request], Awaitable[Response]]:
    """A GET page that is one function call: ``call`` (e.g. ``crm.customer_card(%(id)s, …)``) with
    ``params(request)`` runs in the statement that resumes the session and takes the user's role;
    the handler gets the user and the function's value and renders. The connection goes back to
    the pool before rendering."""
    query = VIEW_SQL.format(call=call)

    async def endpoint(request: Request) -> Response:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return login_redirect(request)
        pool: AsyncConnectionPool = request.app.state.pool
        async with pool.connection() as conn:
            try:
                cur = await conn.execute(query, {**params(request), "token": token})
                row = await cur.fetchone()
            except psycopg.errors.InsufficientPrivilege:
                # Who was refused, for the page's header (a second statement, on this rare path).
                cur = await conn.execute(RESUME_SQL, {"token": token})
                found = await cur.fetchone()
                return forbidden(request, User(*found[:7]) if found else None)
        if row is None:
            return login_redirect(request)
        return await handler(View(request, User(*row[:7])), row[-1])

    return endpoint


# ---------------------------------------------------------------------------------------------
# Headers


class SecurityHeaders:
    """Pure ASGI middleware: security headers on every response, no caching of pages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
            (
                b"content-security-policy",
                b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", [])) + self.headers
                if not is_static:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

"""The request of a logged-in user: who they are (``User``), the page rendered in their language
(``View``), the page inside its transaction as their role (``Page``), the two endpoint shapes
(``staff_page``, ``staff_view``), redirects and flash messages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, unquote

import psycopg
from psycopg_pool import AsyncConnectionPool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from webclient import i18n
from webclient.web.errors import FormErrors, errors_from
from webclient.web.pool import Conn
from webclient.web.templates import Templates
from webclient.web.tokens import FLASH_COOKIE, LANG_COOKIE, SESSION_COOKIE, tokens_equal

RESUME_SQL = (
    "select user_id, username, full_name, language, roles, db_role, csrf_token, rights,"
    " set_config('mango.session', %(token)s, true)"
    " from auth.resume_session(%(token)s)"
)

# The same, and switch to the user's role in the same round trip: set_config('role', …, true) is
# SET LOCAL ROLE (the server checks that mango_web may take the role).
STAFF_RESUME_SQL = (
    "select user_id, username, full_name, language, roles, db_role, csrf_token, rights,"
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


def before_id(request: Request) -> int:
    """The keyset cursor ``?before=ID`` of a list shown newest first; without one, past every id."""
    value = request.query_params.get("before", "")
    return int(value) if value.isdigit() else 2**62


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to go back to; anything else (another host) becomes the default."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


@dataclass(slots=True)
class User:
    id: int
    username: str
    full_name: str
    language: str
    roles: list[str]
    db_role: str
    csrf_token: str
    # The staff rights the database says the user holds (auth.resume_session): their roles, and
    # for an administrator the office and report roles, never the officer's (flow).
    rights: list[str]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.rights

    def has(self, role: str) -> bool:
        return role in self.rights


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
        """A form field without the spaces around it (what people type into a text box)."""
        value = self.form.get(name) if self.form is not None else None
        return value.strip() if isinstance(value, str) else ""

    def raw(self, name: str) -> str:
        """A form field exactly as sent: for passwords, whose spaces are part of them."""
        value = self.form.get(name) if self.form is not None else None
        return value if isinstance(value, str) else ""

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
                user = User(*row[:8])
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
                return forbidden(request, User(*found[:8]) if found else None)
        if row is None:
            return login_redirect(request)
        return await handler(View(request, User(*row[:8])), row[-1])

    return endpoint

"""Login, logout and the user's own settings (password, language)."""

from __future__ import annotations

import ipaddress

from psycopg_pool import AsyncConnectionPool
from starlette.requests import Request
from starlette.responses import Response

from webclient import i18n, web
from webclient.web import Page


def client_ip(request: Request) -> str | None:
    host = request.client.host if request.client else None
    try:
        return str(ipaddress.ip_address(host)) if host else None
    except ValueError:
        return None


def login_language(request: Request) -> str:
    chosen = request.query_params.get("lang") or request.cookies.get(web.LANG_COOKIE)
    if chosen in i18n.LANGUAGES:
        return str(chosen)
    return i18n.from_accept_language(request.headers.get("accept-language"))


async def login(request: Request) -> Response:
    """The login form; its CSRF token is a double-submit cookie (there is no session yet)."""
    lang = login_language(request)
    csrf = request.cookies.get(web.LOGIN_CSRF_COOKIE) or web.new_token()
    next_url = web.safe_next(request.query_params.get("next"))
    error: str | None = None
    username = ""
    status_code = 200
    if request.method == "POST":
        form = await request.form()
        next_url = web.safe_next(str(form.get("next") or ""))
        if not web.tokens_equal(form.get("csrf"), request.cookies.get(web.LOGIN_CSRF_COOKIE)):
            return web.forbidden(
                request,
                None,
                i18n.gettext(lang, "The form has expired. Go back, reload the page and try again."),
            )
        username = str(form.get("username") or "").strip()
        password = str(form.get("password") or "")
        pool: AsyncConnectionPool = request.app.state.pool
        async with pool.connection() as conn:  # autocommit: a failed attempt is recorded too
            row = await web.fetch_one(
                conn,
                "select status, token, retry_after from auth.login(%s, %s, %s, %s)",
                [username, password, client_ip(request), request.headers.get("user-agent", "")],
            )
        status = row["status"] if row else "invalid"
        if status == "ok" and row:
            response = web.redirect(next_url)
            response.set_cookie(
                web.SESSION_COOKIE,
                row["token"],
                path="/",
                httponly=True,
                samesite="lax",
                secure=web.secure_cookies(request),
            )
            response.delete_cookie(web.LOGIN_CSRF_COOKIE, path="/")
            return response
        status_code = 401
        if status == "throttled" and row:
            error = i18n.gettext(
                lang,
                "Too many failed attempts, try again after {time}.",
                time=i18n.format_time(row["retry_after"], lang, seconds=True),
            )
            status_code = 429
        else:  # a wrong password, an unknown user and an inactive account answer alike
            error = i18n.gettext(lang, "Wrong user name or password.")
    page = web.render(
        request,
        "login.html",
        {
            "lang": lang,
            "csrf": csrf,
            "error": error,
            "username": username,
            "next": next_url,
            "user": None,
            "flash": web.read_flash(request),
        },
        status_code=status_code,
    )
    page.set_cookie(
        web.LOGIN_CSRF_COOKIE,
        csrf,
        path="/",
        httponly=True,
        samesite="lax",
        secure=web.secure_cookies(request),
    )
    if request.query_params.get("lang") in i18n.LANGUAGES:
        page.set_cookie(web.LANG_COOKIE, lang, max_age=365 * 86400, path="/", samesite="lax")
    return page


async def logout(request: Request) -> Response:
    token = request.cookies.get(web.SESSION_COOKIE)
    form = await request.form()
    lang = i18n.normalise(request.cookies.get(web.LANG_COOKIE))
    if token:
        pool: AsyncConnectionPool = request.app.state.pool
        async with pool.connection() as conn, conn.transaction():
            row = await web.fetch_one(conn, web.RESUME_SQL, {"token": token})
            if row is not None:
                lang = i18n.normalise(row["language"])
                if not web.tokens_equal(form.get("csrf"), row["csrf_token"]):
                    return web.forbidden(request, None)
                await conn.execute("select auth.logout(%s)", [token])
    response = web.redirect("/login", i18n.gettext(lang, "You have logged out."))
    response.delete_cookie(web.SESSION_COOKIE, path="/")
    response.set_cookie(web.LANG_COOKIE, lang, max_age=365 * 86400, path="/", samesite="lax")
    return response


async def password(page: Page) -> Response:
    errors = None
    if page.form is not None:
        old, new, again = page.raw("old"), page.raw("new"), page.raw("again")
        if new != again:
            errors = web.FormErrors(fields={"again": page._("The two new passwords differ.")})
        else:
            _, errors = await page.attempt(
                lambda: page.conn.execute("select auth.change_my_password(%s, %s)", [old, new])
            )
            if errors and errors.general:
                errors = web.FormErrors(
                    fields={"old" if errors.state == "MG014" else "new": errors.general[0]}
                )
        if not errors:
            return web.redirect("/", page._("Your password has been changed."))
    return page.render(
        "account_password.html", {"errors": errors or web.FormErrors()}, status_code=422 if errors else 200
    )


async def language(page: Page) -> Response:
    lang = page.field("language")
    if lang not in i18n.LANGUAGES:
        lang = page.lang
    await page.conn.execute("select auth.set_my_language(%s)", [lang])
    response = web.redirect(web.safe_next(page.field("next")))
    response.set_cookie(web.LANG_COOKIE, lang, max_age=365 * 86400, path="/", samesite="lax")
    return response

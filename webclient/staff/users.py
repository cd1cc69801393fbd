"""User administration (admin only). The database enforces it: auth.require_role('admin') on
reading these pages, and the auth.* functions are executable by mango_admin only."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from webclient import i18n, web
from webclient.web import FormErrors, Page

ROLES = ("admin", "billing", "support", "technician", "sales", "report", "flow")

USER_SQL = """
select id, username, full_name, email, language, roles, active, last_login_at, created_at
  from auth.users where id = %s
"""


async def user_list(page: Page) -> Response:
    await page.conn.execute("select auth.require_role('admin')")
    rows = await web.fetch_all(
        page.conn,
        "select id, username, full_name, email, language, roles, active, last_login_at"
        "  from auth.users order by active desc, username",
    )
    return page.render("users_list.html", {"users": rows})


def _values(page: Page) -> dict[str, Any]:
    lang = page.field("language")
    return {
        "username": page.field("username"),
        "full_name": page.field("full_name"),
        "email": page.field("email"),
        "language": lang if lang in i18n.LANGUAGES else "cs",
        "roles": [r for r in ROLES if page.checked(f"role_{r}")],
        "active": page.checked("active"),
    }


async def user_new(page: Page) -> Response:
    await page.conn.execute("select auth.require_role('admin')")
    errors = FormErrors()
    values: dict[str, Any] = {"language": page.lang, "roles": [], "active": True}
    if page.form is not None:
        values = _values(page)
        password = page.field("password")
        new_id, failed = await page.attempt(
            lambda: web.fetch_value(
                page.conn,
                "select auth.create_user(%s, %s, %s, %s, %s, %s)",
                [
                    values["username"],
                    values["full_name"],
                    values["email"],
                    values["language"],
                    values["roles"],
                    password,
                ],
            )
        )
        if failed is None:
            return web.redirect(f"/users/{new_id}", page._("User {name} created.", name=values["username"]))
        errors = _place(failed, {"MG011": "username", "MG010": "password"})
    return page.render(
        "users_form.html",
        {"values": values, "errors": errors, "roles": ROLES, "new": True},
        status_code=422 if errors else 200,
    )


def _place(errors: FormErrors, by_state: dict[str, str]) -> FormErrors:
    """Put a general message beside the field its SQLSTATE is about."""
    if errors.general and errors.state in by_state:
        return FormErrors(
            fields={**errors.fields, by_state[errors.state]: errors.general[0]},
            general=errors.general[1:],
            state=errors.state,
        )
    return errors


async def user_edit(page: Page) -> Response:
    await page.conn.execute("select auth.require_role('admin')")
    user_id = int(page.request.path_params["id"])
    current = await web.fetch_one(page.conn, USER_SQL, [user_id])
    if current is None:
        return page.render(
            "error.html",
            {
                "status": 404,
                "title": page._("Page not found"),
                "message": page._("This user does not exist."),
            },
            404,
        )
    errors = FormErrors()
    values: dict[str, Any] = dict(current)
    if page.form is not None:
        values = {**_values(page), "username": current["username"], "id": user_id}
        _, failed = await page.attempt(
            lambda: page.conn.execute(
                "select auth.update_user(%s, %s, %s, %s, %s, %s)",
                [
                    user_id,
                    values["full_name"],
                    values["email"],
                    values["language"],
                    values["roles"],
                    values["active"],
                ],
            )
        )
        if failed is None:
            return web.redirect(f"/users/{user_id}", page._("Changes saved."))
        errors = _place(failed, {"MG012": "roles"})
    return page.render(
        "users_form.html",
        {
            "values": values,
            "errors": errors,
            "roles": ROLES,
            "new": False,
            "current": current,
            "password_errors": FormErrors(),
        },
        status_code=422 if errors else 200,
    )


async def user_password(page: Page) -> Response:
    user_id = int(page.request.path_params["id"])
    password = page.field("password")
    _, failed = await page.attempt(
        lambda: page.conn.execute("select auth.set_password(%s, %s)", [user_id, password])
    )
    if failed is None:
        return web.redirect(f"/users/{user_id}", page._("Password set; the user's sessions have ended."))
    current = await web.fetch_one(page.conn, USER_SQL, [user_id])
    return page.render(
        "users_form.html",
        {
            "values": current or {},
            "errors": FormErrors(),
            "roles": ROLES,
            "new": False,
            "current": current,
            "password_errors": _place(failed, {"MG010": "password"}),
        },
        status_code=422,
    )

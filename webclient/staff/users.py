"""User administration. The database decides: the user list reads columns granted to
administrators, officers and retention supervisors only; auth.create_user and auth.update_user need
a signed-in administrator; every role given or taken needs auth.may_give (an administrator never
gives the officer role, nor takes it: an officer or a supervisor does, for someone else). The roles
offered, and which of them this user may change, come from the database too (auth.staff_roles)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from webclient import i18n, web
from webclient.staff import forms
from webclient.web import FormErrors, Page

USER_SQL = """
select id, username, full_name, email, language, roles, active, last_login_at, created_at,
       auth.may_manage(id) as may_manage
  from auth.users where id = %s
"""

# Every staff role, in order, with whether the signed-in user may give or take it for this user
# (a new user: %s is null) and whether they may use the administrator's form at all.
ROLES_SQL = """
select r.name, auth.may_give(r.name, %(user_id)s) as may_give, r.granted_by
  from auth.staff_roles r
 order by r.position
"""

MAY_SQL = """
select has_function_privilege('auth.create_user(text, text, text, text, text[], text)', 'execute') as may_create,
       has_function_privilege('auth.update_user(bigint, text, text, text, text[], boolean)', 'execute') as may_edit
"""


async def _roles(page: Page, user_id: int | None) -> list[dict[str, Any]]:
    return await web.fetch_all(page.conn, ROLES_SQL, {"user_id": user_id})


async def user_list(page: Page) -> Response:
    rows = await web.fetch_all(
        page.conn,
        "select id, username, full_name, email, language, roles, active, last_login_at"
        "  from auth.users order by active desc, username",
    )
    may = await web.fetch_one(page.conn, MAY_SQL)
    return page.render("users_list.html", {"users": rows, "may": may})


def _values(page: Page, roles: list[dict[str, Any]]) -> dict[str, Any]:
    lang = page.field("language")
    return {
        "username": page.field("username"),
        "full_name": page.field("full_name"),
        "email": page.field("email"),
        "language": lang if lang in i18n.LANGUAGES else "cs",
        # Only the roles this user may give are read from the form; the database keeps the others.
        "roles": [r["name"] for r in roles if r["may_give"] and page.checked(f"role_{r['name']}")],
        "active": page.checked("active"),
    }


async def user_new(page: Page) -> Response:
    may = await web.fetch_one(page.conn, MAY_SQL)
    if not (may and may["may_create"]):
        return web.forbidden(page.request, page.user)
    roles = await _roles(page, None)
    errors = FormErrors()
    values: dict[str, Any] = {"language": page.lang, "roles": [], "active": True}
    if page.form is not None:
        values = _values(page, roles)
        password = page.raw("password")
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
        {"values": values, "errors": errors, "roles": roles, "new": True, "may": may},
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


async def _edit_page(
    page: Page,
    current: dict[str, Any],
    values: dict[str, Any],
    errors: FormErrors,
    password_errors: FormErrors,
    status_code: int = 200,
) -> Response:
    return page.render(
        "users_form.html",
        {
            "values": values,
            "errors": errors,
            "roles": await _roles(page, current["id"]),
            "new": False,
            "current": current,
            "password_errors": password_errors,
            "may": await web.fetch_one(page.conn, MAY_SQL),
        },
        status_code=status_code,
    )


async def user_edit(page: Page) -> Response:
    user_id = int(page.request.path_params["id"])
    current = await web.fetch_one(page.conn, USER_SQL, [user_id])
    if current is None:
        return forms.not_found(page, page._("This user does not exist."))
    errors = FormErrors()
    values: dict[str, Any] = dict(current)
    if page.form is not None:
        roles = await _roles(page, user_id)
        values = {**_values(page, roles), "username": current["username"], "id": user_id}
        if not current["may_manage"]:  # the box is disabled (an officer's account): it stays as it is
            values["active"] = current["active"]
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
    return await _edit_page(page, current, values, errors, FormErrors(), 422 if errors else 200)


async def user_role(page: Page) -> Response:
    """Give or take one role: how officers and retention supervisors manage the officer role."""
    user_id = int(page.request.path_params["id"])
    role = str(page.request.path_params["role"])
    holds = page.field("holds") == "1"
    current = await web.fetch_one(page.conn, USER_SQL, [user_id])
    if current is None:
        return forms.not_found(page, page._("This user does not exist."))
    _, failed = await page.attempt(
        lambda: page.conn.execute("select auth.set_user_role(%s, %s, %s)", [user_id, role, holds])
    )
    if failed is None:
        done = "The {role} role was given." if holds else "The {role} role was taken."
        return web.redirect(f"/users/{user_id}", page._(done, role=page._(role)))
    return await _edit_page(page, current, dict(current), failed, FormErrors(), 422)


async def user_password(page: Page) -> Response:
    user_id = int(page.request.path_params["id"])
    password = page.raw("password")
    _, failed = await page.attempt(
        lambda: page.conn.execute("select auth.set_password(%s, %s)", [user_id, password])
    )
    if failed is None:
        return web.redirect(f"/users/{user_id}", page._("Password set; the user's sessions have ended."))
    current = await web.fetch_one(page.conn, USER_SQL, [user_id])
    if current is None:
        return forms.not_found(page, page._("This user does not exist."))
    return await _edit_page(
        page,
        current,
        dict(current),
        FormErrors(),
        _place(failed, {"MG010": "password", "42501": "password"}),
        422,
    )

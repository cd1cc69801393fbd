"""User administration in the web client: an administrator's form does not offer the officer role
(and a forged `role_flow=on` makes no one an officer); a retention supervisor or an officer gives it
to someone else; an officer's password and active flag are not the administrator's to change."""

from __future__ import annotations

import html
import re

import psycopg
from starlette.testclient import TestClient

from tests.web_helpers import login, make_staff


def _roles(admin: psycopg.Connection, username: str) -> list[str]:
    row = admin.execute("select roles from auth.users where username = %s", [username]).fetchone()
    assert row is not None
    return list(row[0])


def _id(admin: psycopg.Connection, username: str) -> int:
    row = admin.execute("select id from auth.users where username = %s", [username]).fetchone()
    assert row is not None
    return int(row[0])


def test_an_administrator_cannot_make_anyone_an_officer(
    client: TestClient, admin: psycopg.Connection
) -> None:
    me = make_staff(admin, ["admin"], prefix="wu")
    clerk = make_staff(admin, ["support"], prefix="wu")
    csrf = login(client, me)
    page = client.get(f"/users/{_id(admin, clerk)}").text
    box = re.search(r'<input type="checkbox" name="role_flow"[^>]*>', page)
    assert box and "disabled" in box.group(0), "the officer role is shown but cannot be ticked"
    # A forged form post with the box ticked, for the clerk and for the administrator themselves.
    for target in (clerk, me):
        form = {"csrf": csrf, "full_name": "X", "language": "en", "role_support": "on", "role_admin": "on",
                "role_flow": "on", "active": "on"}  # fmt: skip
        client.post(f"/users/{_id(admin, target)}", data=form, follow_redirects=False)
        assert "flow" not in _roles(admin, target)
    # Nor through the per-role form officers use.
    r = client.post(f"/users/{_id(admin, clerk)}/role/flow", data={"csrf": csrf, "holds": "1"})
    assert r.status_code == 422 and "flow" not in _roles(admin, clerk)


def test_a_supervisor_gives_the_officer_role_and_the_administrator_cannot_take_over_the_officer(
    client: TestClient, admin: psycopg.Connection
) -> None:
    supervisor = make_staff(admin, ["supervisor"], prefix="wu")
    clerk = make_staff(admin, ["support"], prefix="wu")
    csrf = login(client, supervisor)
    page = client.get(f"/users/{_id(admin, clerk)}").text
    assert "Give the officer role" in page
    r = client.post(
        f"/users/{_id(admin, clerk)}/role/flow", data={"csrf": csrf, "holds": "1"}, follow_redirects=False
    )
    assert r.status_code == 303 and "flow" in _roles(admin, clerk)

    client.cookies.clear()
    csrf = login(client, make_staff(admin, ["admin"], prefix="wu"))
    page = client.get(f"/users/{_id(admin, clerk)}").text
    assert "Set password" not in page, "an officer's password is not the administrator's to set"
    assert re.search(r'<input type="checkbox" name="active"[^>]*disabled', page)
    r = client.post(
        f"/users/{_id(admin, clerk)}/password", data={"csrf": csrf, "password": "a-long-password-7"}
    )
    assert r.status_code == 422 and "you may not set this user's password" in html.unescape(r.text)

"""Helpers for the web client's tests: staff users and logging in through the real login form."""

from __future__ import annotations

import html as html_lib
import re
import secrets

import psycopg
from starlette.testclient import TestClient

PASSWORD = "test-password-1"  # what tests.make_user gives every user


def make_staff(admin: psycopg.Connection, roles: list[str], prefix: str = "web") -> str:
    """A new staff user with these roles; returns the user name."""
    name = f"{prefix}_{'_'.join(roles) or 'staff'}_{secrets.token_hex(3)}"
    admin.execute("select tests.make_user(%s, %s)", [roles, name])
    return name


def form_token(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token (from the page after login)."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf": form_token(page.text), "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    home = client.get("/")
    assert home.status_code == 200
    return form_token(home.text)


def login_as(client: TestClient, admin: psycopg.Connection, roles: list[str], prefix: str = "web") -> str:
    """Log in as a new staff user with these roles; returns the session's CSRF token."""
    return login(client, make_staff(admin, roles, prefix))


def field_error(html: str, field: str) -> str:
    """The error shown beside a form field (unescaped); fails the test if there is none."""
    match = re.search(rf'id="error-{re.escape(field)}"[^>]*>([^<]*)<', html)
    assert match, f"no error beside {field}"
    return html_lib.unescape(match.group(1))

"""The staff web client against the real test database: login, throttling, CSRF, roles enforced
by the database, logout, language, and the platform pages."""

from __future__ import annotations

import re

import psycopg
import pytest
from starlette.testclient import TestClient

from tests.web_helpers import PASSWORD, form_token, login, make_staff


def test_anonymous_visitor_is_sent_to_login(client: TestClient) -> None:
    response = client.get("/jobs", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/jobs"


def test_login_leads_to_the_dashboard(client: TestClient, admin: psycopg.Connection) -> None:
    user = make_staff(admin, ["support"])
    login(client, user)
    page = client.get("/")
    assert page.status_code == 200
    assert "Active users" in page.text and "Latest changes" in page.text
    cookie = client.cookies.get("mango_session")
    assert cookie and len(cookie) == 64


def test_wrong_passwords_make_the_next_try_wait(client: TestClient, admin: psycopg.Connection) -> None:
    user = make_staff(admin, ["sales"])
    csrf = form_token(client.get("/login").text)
    for _ in range(3):
        r = client.post("/login", data={"username": user, "password": "wrong-password", "csrf": csrf})
        assert r.status_code == 401
        assert "Wrong user name or password." in r.text
    # The next try waits (a growing delay), even with the right password, and says until when.
    r = client.post("/login", data={"username": user, "password": PASSWORD, "csrf": csrf})
    assert r.status_code == 429
    assert re.search(r"Too many failed attempts, try again after \d\d:\d\d:\d\d\.", r.text)
    assert "mango_session" not in client.cookies
    # The wait over (moved back in time), the right password logs in.
    admin.execute(
        "update auth.login_attempts set attempted_at = attempted_at - interval '1 minute' where username = %s",
        [user],
    )
    r = client.post(
        "/login", data={"username": user, "password": PASSWORD, "csrf": csrf}, follow_redirects=False
    )
    assert r.status_code == 303 and "mango_session" in client.cookies


def test_an_inactive_account_answers_like_a_wrong_password(
    client: TestClient, admin: psycopg.Connection
) -> None:
    user = make_staff(admin, ["sales"])
    admin.execute("update auth.users set active = false where username = %s", [user])
    csrf = form_token(client.get("/login").text)
    r = client.post("/login", data={"username": user, "password": PASSWORD, "csrf": csrf})
    assert r.status_code == 401 and "Wrong user name or password." in r.text


def test_a_password_with_spaces_around_it_is_kept_as_typed(
    client: TestClient, admin: psycopg.Connection
) -> None:
    user = make_staff(admin, ["sales"])
    csrf = login(client, user)
    spaced = "  a long passphrase with spaces  "
    r = client.post(
        "/account/password",
        data={"csrf": csrf, "old": PASSWORD, "new": spaced, "again": spaced},
        follow_redirects=False,
    )
    assert r.status_code == 303
    row = admin.execute(
        "select password_hash = crypt(%s, password_hash) from auth.users where username = %s", [spaced, user]
    ).fetchone()
    assert row == (True,), "the password is stored with its spaces, so it can be typed again"


def test_hsts_only_over_https(client: TestClient) -> None:
    assert "strict-transport-security" not in client.get("/login").headers
    r = client.get("https://testserver/login")
    assert r.headers["strict-transport-security"].startswith("max-age=")


def test_a_form_without_or_with_a_wrong_csrf_token_is_refused(
    client: TestClient, admin: psycopg.Connection
) -> None:
    user = make_staff(admin, ["admin"])
    csrf = login(client, user)
    assert client.post("/account/language", data={"language": "cs"}).status_code == 403
    assert client.post("/account/language", data={"language": "cs", "csrf": csrf[::-1]}).status_code == 403
    assert client.post("/jobs/1/cancel", data={}).status_code == 403
    lang = admin.execute("select language from auth.users where username = %s", [user]).fetchone()
    assert lang == ("en",)
    # The login form has its own double-submit token.
    client.cookies.clear()
    r = client.post("/login", data={"username": user, "password": PASSWORD, "csrf": "forged"})
    assert r.status_code == 403


def test_non_admin_is_refused_user_administration(client: TestClient, admin: psycopg.Connection) -> None:
    user = make_staff(admin, ["billing", "support"])
    csrf = login(client, user)
    home = client.get("/")
    assert 'href="/users"' not in home.text
    r = client.get("/users")
    assert r.status_code == 403
    assert "You are not allowed to do this" in r.text
    assert client.get("/users/new").status_code == 403
    r = client.post(
        "/users/new",
        data={
            "csrf": csrf,
            "username": "sneaky_user",
            "full_name": "Sneaky",
            "language": "en",
            "role_admin": "on",
            "password": "long-enough-password",
        },
    )
    assert r.status_code == 403
    assert admin.execute("select count(*) from auth.users where username = 'sneaky_user'").fetchone() == (0,)


def test_the_database_refuses_create_user_to_a_non_admin(
    admin: psycopg.Connection, web_conn: psycopg.Connection
) -> None:
    uid = admin.execute("select tests.make_user(%s)", [["support"]]).fetchone()
    assert uid
    token = admin.execute("select tests.session_for(%s)", [uid[0]]).fetchone()
    assert token
    row = web_conn.execute(
        "select db_role, set_config('mango.session', %(t)s, true) from auth.resume_session(%(t)s)",
        {"t": token[0]},
    ).fetchone()
    assert row and row[0] == "mango_as_support"
    web_conn.execute(psycopg.sql.SQL("set local role {}").format(psycopg.sql.Identifier(row[0])))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        web_conn.execute(
            "select auth.create_user('x_user', 'X', null, 'en', '{admin}', 'long-enough-password')"
        )


def test_admin_creates_a_user_who_can_then_log_in(client: TestClient, admin: psycopg.Connection) -> None:
    csrf = login(client, make_staff(admin, ["admin"]))
    assert "User name" in client.get("/users").text
    form = {
        "csrf": csrf,
        "username": "new_tech_1",
        "full_name": "Tomáš Technik",
        "email": "tomas@example.cz",
        "language": "cs",
        "role_technician": "on",
        "password": "short",
    }
    r = client.post("/users/new", data=form)
    assert r.status_code == 422
    assert re.search(
        r'class="field-error" id="error-password"[^>]*>the password must have at least 10', r.text
    )
    r = client.post("/users/new", data={**form, "password": "a-long-password-1"}, follow_redirects=False)
    assert r.status_code == 303 and re.fullmatch(r"/users/\d+", r.headers["location"])
    assert client.get(r.headers["location"]).text.count("new_tech_1") >= 1
    r = client.post("/users/new", data={**form, "password": "a-long-password-1"})
    assert r.status_code == 422 and 'id="error-username"' in r.text
    client.cookies.clear()
    login(client, "new_tech_1", "a-long-password-1")
    assert "Aktivní uživatelé" in client.get("/").text  # the new user chose Czech


def test_logout_ends_the_session(client: TestClient, admin: psycopg.Connection) -> None:
    csrf = login(client, make_staff(admin, ["report"]))
    token = client.cookies.get("mango_session")
    r = client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert client.get("/", follow_redirects=False).status_code == 303
    # The old token is dead in the database, not just forgotten by the browser.
    client.cookies.set("mango_session", token or "")
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login")
    ended = admin.execute(
        "select ended_at is not null from auth.sessions where token_hash = auth.token_hash(%s)", [token]
    ).fetchone()
    assert ended == (True,)


def test_language_follows_the_user_and_can_be_switched(client: TestClient, admin: psycopg.Connection) -> None:
    user = make_staff(admin, ["support"])
    csrf = login(client, user)
    assert "Active users" in client.get("/").text
    r = client.post(
        "/account/language", data={"csrf": csrf, "language": "cs", "next": "/jobs"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/jobs"
    page = client.get("/jobs")
    assert "Úlohy" in page.text and '<html lang="cs">' in page.text
    assert admin.execute("select language from auth.users where username = %s", [user]).fetchone() == ("cs",)


def test_login_page_language_comes_from_the_browser_with_a_switch(client: TestClient) -> None:
    assert "Přihlásit" in client.get("/login", headers={"accept-language": "cs-CZ,cs;q=0.9,en;q=0.8"}).text
    assert ">Log in<" in client.get("/login", headers={"accept-language": "en-GB,en;q=0.9"}).text
    assert ">Log in<" in client.get("/login?lang=en", headers={"accept-language": "cs"}).text
    assert (
        ">Log in<" in client.get("/login", headers={"accept-language": "cs"}).text
    )  # the switch is remembered


def test_change_own_password(client: TestClient, admin: psycopg.Connection) -> None:
    user = make_staff(admin, ["sales"])
    csrf = login(client, user)
    r = client.post(
        "/account/password", data={"csrf": csrf, "old": "not-it-at-all", "new": "x" * 12, "again": "x" * 12}
    )
    assert r.status_code == 422 and 'id="error-old"' in r.text and "the current password is wrong" in r.text
    r = client.post(
        "/account/password",
        data={"csrf": csrf, "old": PASSWORD, "new": "fresh-password-2", "again": "fresh-password-2"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    client.cookies.clear()
    login(client, user, "fresh-password-2")


def test_operator_errors_appear_beside_their_fields(client: TestClient, admin: psycopg.Connection) -> None:
    csrf = login(client, make_staff(admin, ["admin"]))
    form = {
        "csrf": csrf,
        "code": "webop",
        "name": "Síť Web s.r.o.",
        "ico": "12345678",
        "dic": "",
        "vat_payer": "on",
        "active": "on",
        "city": "Brno",
        "zip": "602 00",
    }
    r = client.post("/operators/new", data=form)
    assert r.status_code == 422
    assert re.search(r'id="error-ico"[^>]*>IČO 12345678 is not valid', r.text)
    r = client.post(
        "/operators/new", data={**form, "ico": "25596641", "dic": "CZ25596641"}, follow_redirects=False
    )
    assert r.status_code == 303
    detail = r.headers["location"]
    op_id = detail.rsplit("/", 1)[1]
    r = client.post(
        f"{detail}/accounts",
        data={"csrf": csrf, "name": "Main", "account_number": "1234567890", "bank_code": "0800"},
    )
    assert r.status_code == 422 and re.search(
        r'id="error-account_number"[^>]*>account number .* mod 11', r.text
    )
    r = client.post(
        f"{detail}/accounts",
        data={"csrf": csrf, "name": "Main", "account_number": "35-2000145399/0800", "is_default": "on"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = client.post(
        f"{detail}/series",
        data={"csrf": csrf, "kind": "invoice", "format": "FV{YYYY}{N:6}", "yearly": "on", "start_value": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(detail)
    assert "CZ4308000000352000145399" in page.text  # an account the pgTAP tests do not use
    assert re.search(r"FV\d{4}000001", page.text)
    history = client.get(f"/audit?table=crm.operators&record={op_id}")
    assert "Síť Web s.r.o." in history.text and "25596641" in history.text


def test_non_admin_reads_operators_but_cannot_change_them(
    client: TestClient, admin: psycopg.Connection
) -> None:
    op = admin.execute(
        "insert into crm.operators (code, name, ico, dic) values ('readonly_op', 'Read Only a.s.', '25596641', 'CZ25596641')"
        " on conflict (code) do update set name = excluded.name returning id"
    ).fetchone()
    assert op
    csrf = login(client, make_staff(admin, ["support"]))
    page = client.get(f"/operators/{op[0]}")
    assert page.status_code == 200 and "Read Only a.s." in page.text and "Save changes" not in page.text
    r = client.post(f"/operators/{op[0]}", data={"csrf": csrf, "code": "readonly_op", "name": "Hacked"})
    assert r.status_code == 403
    assert admin.execute("select name from crm.operators where id = %s", [op[0]]).fetchone() == (
        "Read Only a.s.",
    )


def test_jobs_page_shows_progress_refreshes_and_cancels(
    client: TestClient, admin: psycopg.Connection
) -> None:
    # Jobs of kinds no one submits (the rows of bus.job_kinds say who may): written as they would be.
    queued = admin.execute(
        "insert into bus.jobs (kind, title) values ('test_kind', 'Waiting job') returning id"
    ).fetchone()
    running = admin.execute(
        "insert into bus.jobs (kind, title) values ('test_run', 'Running job') returning id"
    ).fetchone()
    assert queued and running
    admin.execute(
        "update bus.jobs set state = 'running', progress = 0.4, message = 'half way' where id = %s",
        [running[0]],
    )
    csrf = login(client, make_staff(admin, ["admin"]))
    page = client.get("/jobs")
    assert "Waiting job" in page.text and 'data-live="1"' in page.text
    assert '<progress class="bar state-running" value="0.400"' in page.text
    rows = client.get("/jobs/rows")
    assert rows.headers["x-mango-live"] == "1" and "<html" not in rows.text
    r = client.post(f"/jobs/{queued[0]}/cancel", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert admin.execute("select state from bus.jobs where id = %s", [queued[0]]).fetchone() == ("cancelled",)
    r = client.post(f"/jobs/{queued[0]}/cancel", data={"csrf": csrf})
    assert "is not queued" in r.text  # the database's message, shown to the user
    admin.execute("update bus.jobs set state = 'done', progress = 1 where id = %s", [running[0]])


def test_bus_page_retries_a_dead_event(client: TestClient, admin: psycopg.Connection) -> None:
    dead = admin.execute(
        "insert into bus.dead_events (id, topic, entity, revision, payload, attempts, last_error, created_at)"
        " values ((select coalesce(max(id), 0) + 1000 from bus.dead_events), 'test.topic', 'e-1', 1, '{}', 10,"
        " 'boom', now()) returning id"
    ).fetchone()
    assert dead
    admin.execute("select bus.heartbeat('scheduler', 'i1', 'host', 42, '{jobs}', 5, 0)")
    csrf = login(client, make_staff(admin, ["admin"]))
    page = client.get("/bus")
    assert "boom" in page.text and "scheduler" in page.text
    r = client.post(f"/bus/dead/{dead[0]}/retry", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert admin.execute("select count(*) from bus.events where topic = 'test.topic'").fetchone() == (1,)
    assert "Agents alive" in client.get("/").text


def test_audit_history_filters_by_user_and_pages_by_id(client: TestClient, admin: psycopg.Connection) -> None:
    admin_user = make_staff(admin, ["admin"])
    csrf = login(client, admin_user)
    target = make_staff(admin, ["sales"])
    uid = admin.execute("select id from auth.users where username = %s", [target]).fetchone()
    assert uid
    for i in range(3):
        r = client.post(
            f"/users/{uid[0]}",
            data={
                "csrf": csrf,
                "full_name": f"Renamed {i}",
                "language": "en",
                "role_sales": "on",
                "active": "on",
            },
            follow_redirects=False,
        )
        assert r.status_code == 303
    page = client.get(f"/audit?user={admin_user}")
    assert page.text.count(f"auth.users #{uid[0]}") == 3
    assert "Renamed 1" in page.text and "→" in page.text
    page = client.get(f"/audit?table=auth.users&record={uid[0]}")
    ids = [int(x) for x in re.findall(r'<div class="muted small mono">#(\d+)</div>', page.text)]
    assert ids == sorted(ids, reverse=True) and len(ids) >= 4  # three updates and the insert
    older = client.get(f"/audit?table=auth.users&record={uid[0]}&before={ids[1]}")
    older_ids = [int(x) for x in re.findall(r'<div class="muted small mono">#(\d+)</div>', older.text)]
    assert older_ids == ids[2:]

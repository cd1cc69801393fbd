"""Customer search through the web client's path (CRM-6): mango_web resumes a staff session and
switches to the user's role in the request's transaction; without that switch it may not search.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest

from db.settings import Settings
from webclient.web import STAFF_RESUME_SQL


def staff_request(
    web: psycopg.Connection, token: str, query: str, *params: object
) -> list[tuple[object, ...]]:
    """One request: resume the session and switch to the user's role in one statement (as the web
    client does), run the page's SQL, commit."""
    with web.transaction():
        user = web.execute(STAFF_RESUME_SQL, {"token": token}).fetchone()
        assert user is not None, "the session is not valid"
        cur = web.execute(query, list(params))  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []


@pytest.fixture
def support_token(admin: psycopg.Connection) -> str:
    row = admin.execute(
        "select tests.session_for(tests.make_user('{support}', 'test_search_support'))"
    ).fetchone()
    assert row is not None
    return str(row[0])


def test_support_finds_a_customer_by_surname_without_diacritics_through_the_web_role(
    settings: Settings, admin: psycopg.Connection, support_token: str
) -> None:
    surname = f"Řeřichová{uuid.uuid4().hex[:6]}"
    row = admin.execute("select tests.make_customer(null, %s, 'Běla')", [surname]).fetchone()
    assert row is not None
    with psycopg.connect(settings.role_conninfo("mango_web")) as web:
        found = staff_request(
            web, support_token, "select id, name from crm.search_customers(%s)", "rerichova" + surname[9:]
        )
    assert found == [(row[0], f"Běla {surname}")]


def test_an_edit_made_through_the_web_role_is_found_by_the_next_search(
    settings: Settings, admin: psycopg.Connection, support_token: str
) -> None:
    row = admin.execute("select tests.make_customer(null, 'Hrubá', 'Ida')").fetchone()
    assert row is not None
    street = f"Ke Mlýnu {uuid.uuid4().hex[:6]}"
    with psycopg.connect(settings.role_conninfo("mango_web")) as web:
        staff_request(
            web, support_token, "update crm.customers set street = %s where id = %s", street, row[0]
        )
        staff_request(
            web,
            support_token,
            "insert into crm.contacts (customer_id, kind, value) values (%s, 'phone', '602 111 222')",
            row[0],
        )
        by_street = staff_request(
            web, support_token, "select id from crm.search_customers(%s)", "ke mlynu " + street[-6:]
        )
        by_phone = staff_request(
            web,
            support_token,
            "select id from crm.search_customers(%s) where id = %s",
            "+420602111222",
            row[0],
        )
    assert by_street == [(row[0],)]
    assert by_phone == [(row[0],)]


def test_the_web_role_itself_cannot_search_without_a_user(settings: Settings) -> None:
    with psycopg.connect(settings.role_conninfo("mango_web")) as web:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            web.execute("select * from crm.search_customers('novak')")

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

By concern: ``pool`` (the pool and query helpers), ``templates`` (Jinja, compiled per language),
``errors`` (database errors as form messages, and input with a NUL character refused),
``rules`` (what the database allows in each column, read from its constraints), ``tokens``
(cookies, CSRF and session tokens), ``request`` (the logged-in request: ``User``, ``View``,
``Page``, ``staff_page``, ``staff_view``, redirects, flash) and ``middleware`` (security
headers). Every name is also here, as ``web.<name>``.
"""

from webclient import i18n
from webclient.web.errors import FormErrors, RefuseNul, errors_from
from webclient.web.middleware import SecurityHeaders
from webclient.web.pool import (
    Conn,
    default_pool_max,
    fetch_all,
    fetch_one,
    fetch_value,
    make_pool,
    use_business_zone,
)
from webclient.web.request import (
    RESUME_SQL,
    STAFF_RESUME_SQL,
    VIEW_SQL,
    Handler,
    Page,
    User,
    View,
    ViewHandler,
    before_id,
    forbidden,
    login_redirect,
    read_flash,
    redirect,
    render,
    safe_next,
    staff_page,
    staff_view,
)
from webclient.web.rules import RULES, Rules, load_rules
from webclient.web.templates import ROOT, STATIC_DIR, TEMPLATE_DIR, Templates, history_url
from webclient.web.tokens import (
    FLASH_COOKIE,
    LANG_COOKIE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    new_token,
    secure_cookies,
    tokens_equal,
)

__all__ = [
    "FLASH_COOKIE",
    "LANG_COOKIE",
    "LOGIN_CSRF_COOKIE",
    "RESUME_SQL",
    "RULES",
    "ROOT",
    "SESSION_COOKIE",
    "STAFF_RESUME_SQL",
    "STATIC_DIR",
    "TEMPLATE_DIR",
    "VIEW_SQL",
    "Conn",
    "FormErrors",
    "Handler",
    "Page",
    "RefuseNul",
    "Rules",
    "SecurityHeaders",
    "Templates",
    "User",
    "View",
    "ViewHandler",
    "before_id",
    "default_pool_max",
    "errors_from",
    "fetch_all",
    "fetch_one",
    "fetch_value",
    "forbidden",
    "history_url",
    "i18n",
    "load_rules",
    "login_redirect",
    "make_pool",
    "new_token",
    "read_flash",
    "redirect",
    "render",
    "safe_next",
    "secure_cookies",
    "staff_page",
    "staff_view",
    "tokens_equal",
    "use_business_zone",
]

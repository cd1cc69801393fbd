"""The staff web client: login, layout and navigation, and the platform pages.

``mango web`` serves it with ``uvicorn webclient.staff.app:create_app --factory``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from db import settings as settings_mod
from db.settings import Settings
from webclient import i18n, web
from webclient.staff import account, audit, billing, bus, dashboard, jobs, lawful, operators, retention, users
from webclient.staff.catalogue_routes import routes as catalogue_routes
from webclient.staff.customer_routes import routes as customer_routes
from webclient.staff.net_routes import routes as network_routes

# The areas of the product. An area without a path is not built yet: shown greyed, "coming".
# "rights": shown to a user who holds one of these staff rights (User.rights, from the database);
# without it, to everyone. The database decides what each page may read or change.
OFFICE = ("admin", "billing", "support", "technician", "sales")
NAV: list[tuple[str, list[dict[str, Any]]]] = [
    ("", [{"label": "Dashboard", "href": "/", "icon": "home"}]),
    (
        "Operations",
        [
            {"label": "Customers", "href": "/customers", "icon": "people", "rights": OFFICE},
            {"label": "Catalogue", "href": "/catalogue", "icon": "box", "rights": OFFICE},
            {"label": "Network", "href": "/network", "icon": "net", "rights": OFFICE},
            {
                "label": "Billing",
                "href": "/billing",
                "icon": "invoice",
                "rights": ("admin", "billing", "support"),
            },
            {"label": "Payments", "href": None, "icon": "bank"},
            {"label": "Helpdesk", "href": None, "icon": "chat"},
            {"label": "Processes", "href": None, "icon": "flow"},
            {"label": "Reports", "href": None, "icon": "chart"},
            {"label": "Data retention", "href": "/retention", "icon": "archive", "rights": ("admin", "flow")},
            {"label": "Lawful requests", "href": "/lawful", "icon": "shield", "rights": ("flow",)},
        ],
    ),
    (
        "Administration",
        [
            {"label": "Users", "href": "/users", "icon": "key", "rights": ("admin", "flow", "supervisor")},
            {"label": "Operators", "href": "/operators", "icon": "building", "rights": OFFICE},
            {"label": "Jobs", "href": "/jobs", "icon": "gear", "rights": OFFICE},
            {"label": "Bus/queue", "href": "/bus", "icon": "queue", "rights": OFFICE},
            {"label": "Audit", "href": "/audit", "icon": "history", "rights": (*OFFICE, "flow")},
        ],
    ),
]


async def not_found(request: Request, exc: Exception) -> Response:
    lang = i18n.normalise(request.cookies.get(web.LANG_COOKIE))
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    title = i18n.gettext(lang, "Page not found") if status == 404 else str(status)
    return web.render(
        request,
        "error.html",
        {
            "user": None,
            "lang": lang,
            "csrf": "",
            "flash": None,
            "path": request.url.path,
            "status": status,
            "title": title,
            "message": i18n.gettext(lang, "There is nothing at this address."),
        },
        status_code=status,
    )


async def server_error(request: Request, exc: Exception) -> Response:
    lang = i18n.normalise(request.cookies.get(web.LANG_COOKIE))
    return HTMLResponse(
        "<!doctype html><title>Mango ISP</title><h1>"
        + i18n.gettext(lang, "Something went wrong")
        + "</h1><p><a href='/'>Mango ISP</a></p>",
        status_code=500,
    )


def create_app(settings: Settings | None = None) -> Starlette:
    """The staff app; its lifespan opens the ``mango_web`` pool and closes it on shutdown."""
    settings = settings or settings_mod.load()
    pool = web.make_pool(settings)
    templates = web.Templates()
    templates.set_global("nav", NAV)
    templates.set_global("rules", web.RULES)  # filled when the app starts (web.load_rules)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await pool.open(wait=True, timeout=30)
        await web.use_business_zone(pool)
        await web.load_rules(pool)
        try:
            yield
        finally:
            await pool.close()

    routes = [
        Route("/", web.staff_page(dashboard.dashboard)),
        Route("/login", account.login, methods=["GET", "POST"]),
        Route("/logout", account.logout, methods=["POST"]),
        Route("/account/password", web.staff_page(account.password), methods=["GET", "POST"]),
        Route("/account/language", web.staff_page(account.language), methods=["POST"]),
        Route("/users", web.staff_page(users.user_list)),
        Route("/users/new", web.staff_page(users.user_new), methods=["GET", "POST"]),
        Route("/users/{id:int}", web.staff_page(users.user_edit), methods=["GET", "POST"]),
        Route("/users/{id:int}/password", web.staff_page(users.user_password), methods=["POST"]),
        Route("/users/{id:int}/role/{role:str}", web.staff_page(users.user_role), methods=["POST"]),
        Route("/jobs", web.staff_page(jobs.jobs)),
        Route("/jobs/rows", web.staff_page(jobs.job_rows)),
        Route("/jobs/{id:int}/cancel", web.staff_page(jobs.job_cancel), methods=["POST"]),
        Route("/bus", web.staff_page(bus.bus)),
        Route("/bus/dead/{id:int}/retry", web.staff_page(bus.dead_retry), methods=["POST"]),
        Route("/audit", web.staff_page(audit.audit)),
        Route("/operators", web.staff_page(operators.operator_list)),
        Route("/operators/new", web.staff_page(operators.operator_new), methods=["GET", "POST"]),
        Route("/operators/{id:int}", web.staff_page(operators.operator_detail), methods=["GET", "POST"]),
        Route("/operators/{id:int}/accounts", web.staff_page(operators.account_add), methods=["POST"]),
        Route("/operators/{id:int}/series", web.staff_page(operators.series_add), methods=["POST"]),
        Route(
            "/operators/{id:int}/series/{sid:int}",
            web.staff_page(operators.series_edit),
            methods=["GET", "POST"],
        ),
        *customer_routes(),
        *catalogue_routes(),
        *network_routes(),
        *billing.routes(),
        *lawful.routes(),
        *retention.routes(),
        Mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(web.SecurityHeaders), Middleware(web.RefuseNul)],
        exception_handlers={404: not_found, 405: not_found, 500: server_error},
    )
    app.state.pool = pool
    app.state.templates = templates
    app.state.settings = settings
    return app

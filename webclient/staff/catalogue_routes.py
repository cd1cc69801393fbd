"""The routes of the catalogue pages (CAT): classes, products, tariffs and their prices, zones,
bundles, and the user-defined parameters (RPT-3) the catalogue links to, mounted by the staff app."""

from __future__ import annotations

from starlette.routing import Route

from webclient.staff import catalogue, parameters
from webclient.web import staff_page

GET_POST = ["GET", "POST"]
POST = ["POST"]


def routes() -> list[Route]:
    return [
        Route("/catalogue", staff_page(catalogue.catalogue)),
        Route("/catalogue/classes", staff_page(catalogue.class_add), methods=POST),
        Route("/catalogue/products", staff_page(catalogue.product_add), methods=POST),
        Route("/catalogue/zones", staff_page(catalogue.zone_add), methods=POST),
        Route("/catalogue/bundles", staff_page(catalogue.bundle_add), methods=POST),
        Route("/catalogue/products/{id:int}", staff_page(catalogue.product), methods=GET_POST),
        Route("/catalogue/products/{id:int}/tariffs", staff_page(catalogue.tariff_add), methods=POST),
        Route("/catalogue/tariffs/{id:int}", staff_page(catalogue.tariff), methods=GET_POST),
        Route("/catalogue/tariffs/{id:int}/prices", staff_page(catalogue.price_add), methods=POST),
        Route("/catalogue/bundles/{id:int}", staff_page(catalogue.bundle), methods=GET_POST),
        Route("/catalogue/bundles/{id:int}/items", staff_page(catalogue.bundle_item_add), methods=POST),
        Route(
            "/catalogue/bundles/{id:int}/items/{iid:int}/remove",
            staff_page(catalogue.bundle_item_remove),
            methods=POST,
        ),
        Route("/parameters", staff_page(parameters.parameter_list)),
        Route("/parameters", staff_page(parameters.parameter_add), methods=POST),
        Route("/parameters/{id:int}", staff_page(parameters.parameter_edit), methods=POST),
    ]

"""The routes of the customer, order, catalogue and parameter pages of the staff client."""

from __future__ import annotations

from starlette.routing import Route

from webclient.staff import catalogue, customers, orders, parameters
from webclient.web import staff_page, staff_view

GET_POST = ["GET", "POST"]
POST = ["POST"]


def routes() -> list[Route]:
    c = "/customers/{id:int}"
    return [
        Route("/customers", staff_page(customers.customer_list)),
        Route("/customers/rows", staff_page(customers.customer_rows)),
        Route("/customers/new", staff_page(customers.customer_new), methods=GET_POST),
        Route(c, staff_view(customers.customer_card, customers.CARD_CALL, customers.card_params)),
        Route(c, staff_page(customers.customer_save), methods=POST),
        Route(c + "/end", staff_page(customers.customer_end), methods=POST),
        Route(c + "/restore", staff_page(customers.customer_restore), methods=POST),
        Route(c + "/places", staff_page(customers.place_save), methods=POST),
        Route(c + "/places/{pid:int}", staff_page(customers.place_save), methods=POST),
        Route(c + "/places/{pid:int}/active", staff_page(customers.place_active), methods=POST),
        Route(c + "/contacts", staff_page(customers.contact_add), methods=POST),
        Route(c + "/contacts/{kid:int}/remove", staff_page(customers.contact_remove), methods=POST),
        Route(c + "/contracts", staff_page(customers.contract_add), methods=POST),
        Route(c + "/contracts/{kid:int}/terminate", staff_page(customers.contract_terminate), methods=POST),
        Route(c + "/notes", staff_page(customers.note_add), methods=POST),
        Route(c + "/activate", staff_page(orders.activate), methods=GET_POST),
        Route(
            c + "/services/{sid:int}/actions",
            staff_view(customers.service_actions, customers.ACTIONS_CALL, customers.actions_params),
        ),
        Route(c + "/services/{sid:int}/{action:str}", staff_page(orders.service_action), methods=POST),
        Route(c + "/orders", staff_page(orders.order_new), methods=POST),
        Route(c + "/orders/{oid:int}/advance", staff_page(orders.order_advance), methods=POST),
        Route("/orders", staff_page(orders.order_list)),
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

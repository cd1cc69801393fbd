"""The routes of the customer pages (CRM): the list, the card and its tabs, a customer's services
(activation and actions) and orders, mounted by the staff app."""

from __future__ import annotations

from starlette.routing import Route

from webclient.staff import billing, customers, orders
from webclient.web import staff_page, staff_view

GET_POST = ["GET", "POST"]
POST = ["POST"]


def routes() -> list[Route]:
    c = "/customers/{id:int}"
    return [
        Route("/customers", staff_page(customers.customer_list)),
        Route("/customers/rows", staff_page(customers.customer_rows)),
        Route("/customers/new", staff_page(customers.customer_new), methods=GET_POST),
        # The billing tabs (account, documents, uniCredit) are pages of their own (billing.card_tabs).
        Route(
            c,
            billing.card_tabs(
                staff_view(customers.customer_card, customers.CARD_CALL, customers.card_params)
            ),
        ),
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
    ]

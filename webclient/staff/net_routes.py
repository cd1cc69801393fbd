"""The routes of the network inventory pages (NET-1…5, MON-3), mounted by the staff app."""

from __future__ import annotations

from starlette.routing import Route

from webclient import web
from webclient.staff import net_ipam, net_map, net_sites, net_stores, network

GET_POST = ["GET", "POST"]
POST = ["POST"]


def routes() -> list[Route]:
    page = web.staff_page
    return [
        Route("/network", page(network.device_list)),
        Route("/network/devices", page(network.device_list)),
        Route("/network/devices/new", page(network.device_new), methods=GET_POST),
        Route("/network/devices/{id:int}", page(network.device_detail), methods=GET_POST),
        Route("/network/devices/{id:int}/parent", page(network.device_parent), methods=POST),
        Route("/network/devices/{id:int}/interfaces", page(network.interface_add), methods=POST),
        Route(
            "/network/devices/{id:int}/interfaces/{iid:int}", page(network.interface_edit), methods=GET_POST
        ),
        Route("/network/devices/{id:int}/links", page(network.link_add), methods=POST),
        Route("/network/devices/{id:int}/links/{lid:int}/delete", page(network.link_delete), methods=POST),
        Route("/network/devices/{id:int}/parameters", page(network.parameters_save), methods=POST),
        Route("/network/devices/{id:int}/credential", page(network.credential_save), methods=POST),
        Route("/network/devices/{id:int}/events", page(network.note_add), methods=POST),
        Route("/network/devices/{id:int}/addresses", page(network.address_add), methods=POST),
        Route(
            "/network/devices/{id:int}/addresses/{aid:int}/release",
            page(network.address_release),
            methods=POST,
        ),
        Route("/network/devices/{id:int}/move", page(net_stores.device_move), methods=POST),
        Route("/network/map", page(net_map.topology)),
        Route("/network/geo", page(net_map.geo)),
        Route("/network/sites", page(net_sites.site_list)),
        Route("/network/sites/new", page(net_sites.site_new), methods=GET_POST),
        Route("/network/sites/{id:int}", page(net_sites.site_detail), methods=GET_POST),
        Route("/network/ipam", page(net_ipam.ipam_page)),
        Route("/network/ipam/prefixes", page(net_ipam.prefix_add), methods=POST),
        Route("/network/ipam/pools", page(net_ipam.pool_add), methods=POST),
        Route("/network/ipam/vlans", page(net_ipam.vlan_add), methods=POST),
        Route("/network/who-had", page(net_ipam.who_had)),
        Route("/network/addresses", page(net_ipam.assign), methods=POST),
        Route("/network/addresses/{aid:int}/release", page(net_ipam.release), methods=POST),
        Route("/network/stores", page(net_stores.stores)),
        Route("/network/stores", page(net_stores.store_add), methods=POST),
        Route("/network/stores/{id:int}", page(net_stores.store_detail)),
        Route("/network/stores/{id:int}/stock-in", page(net_stores.stock_in), methods=POST),
        Route("/network/stores/{id:int}/move", page(net_stores.move), methods=POST),
        Route("/network/stores/{id:int}/assign", page(net_stores.give), methods=POST),
    ]

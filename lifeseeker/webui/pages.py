"""HTML pages (server-rendered with Jinja autoescaping: captions, OCR text, file names and the query echo are
always escaped) and the image/thumbnail routes.

The search page shows time events as rows (each with its best 3 distinct frames, near-duplicate runs collapsed
with a count, time span and place), "A then B" pairs for sequence queries, a map of result locations and a
timeline per day (both filter the rows on click, in the browser), relevance feedback marks, suggestions from the
marked images, query by image (``POST /``, multipart ``image``; decoded in memory, never kept) and, per image,
its temporal context (static/app.js over ``/api/context``).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, render_template, request, send_file, url_for

from ..engine.timeparts import PARTS_OF_DAY, WEEKDAYS
from ..errors import FilterError, NotFound
from ..images import resolve_file
from .api import mark_ids, read_upload, search_request, timeline
from .media import BROWSER_SUFFIXES, DISPLAY_SIDE, THUMB_SIDE, rendition
from .explain import event_terms, score_terms
from .notices import page_notices, seen_key
from .typos import did_you_mean, pairs_above_floor
from .state import services

bp = Blueprint("pages", __name__)

SEARCH_KEYS = ("q", "date_from", "date_to", "hour_from", "hour_to", "weekday", "part", "country", "city", "tag",
               "place", "near", "radius_km", "text", "ocr", "weights", "limit", "then", "within", "like",
               "relevant", "irrelevant", "gap", "dup", "rerank")
# Parameters that make the page run a search (the rest only tune one).
TRIGGER_KEYS = tuple(k for k in SEARCH_KEYS if k not in ("limit", "weights", "radius_km", "within", "gap", "dup",
                                                         "rerank", "irrelevant"))
ASK_KEYS = ("q", "date_from", "date_to", "country", "city", "place", "tag")
FILTER_KEYS = ("date_from", "date_to", "hour_from", "hour_to", "weekday", "part", "country", "city", "tag", "place",
               "near", "radius_km", "text", "ocr", "weights", "limit")


def _tiles_origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url.replace("{s}", "a"))
    if parts.scheme not in ("https", "http") or not parts.netloc:
        return None
    host = urlsplit(url).netloc.replace("{s}", "*")
    return f"{parts.scheme}://{host}"


@bp.after_request
def _csp_with_tiles(resp):
    """When map tiles are configured (``LIFESEEKER_TILES_URL``), allow images from their origin only."""
    from .security import CSP

    origin = _tiles_origin(getattr(services().settings, "tiles_url", None))
    if origin and resp.mimetype == "text/html":
        resp.headers["Content-Security-Policy"] = CSP.replace("img-src 'self' data:", f"img-src 'self' data: {origin}")
    return resp


def _marker_events(events) -> list[dict]:
    out = []
    for e in events:
        for h in e.hits:
            loc = h.doc.get("location")
            if loc and loc.get("lat") is not None:
                out.append({"event": e.event_id, "lat": loc["lat"], "lon": loc["lon"]})
                break
    return out


@bp.route("/", methods=["GET", "POST"])
def index():
    """The search page; runs a search when the query string has a query, a filter, marks or an uploaded image
    (``POST``, multipart ``image``)."""

    svc = services()
    form = {k: request.args.get(k, "") for k in SEARCH_KEYS}
    form["weekday_list"] = request.args.getlist("weekday")
    response, error, req, answer = None, None, None, None
    image_query = request.method == "POST"
    marks = {"relevant": (), "irrelevant": ()}
    try:
        marks = {k: mark_ids(request.args, k, svc.store) for k in marks}
        if image_query:
            req = search_request(request.args, svc.settings.weights, image=read_upload(request.files.get("image")),
                                 store=svc.store)
        elif any(request.args.get(k) for k in TRIGGER_KEYS):
            req = search_request(request.args, svc.settings.weights, store=svc.store)
        if req is not None:
            response = svc.search.search(req)
        answer = question_answer(req, response)
    except (FilterError, NotFound) as exc:
        error = str(exc)
    base = {k: request.args.get(k) for k in FILTER_KEYS if request.args.get(k)}
    ranks = {h.image_id: i for i, h in enumerate(response.hits, 1)} if response else {}
    then_ranks = {h.image_id: i for i, h in enumerate(response.then_hits, 1)} if response else {}
    floor = pairs_above_floor(response.pairs, req.weights, not response.text_only, True) \
        if response is not None and req is not None and req.then else []
    typos = did_you_mean(request.args, svc.store, _url_with) if (response is not None or error) else []
    shown = page_notices(response.notices if response else svc.search.notices, svc.search.notices, svc.settings)
    return render_template(
        "index.html", form=form, response=response, req=req, error=error, image_query=image_query,
        page_notices=shown, notices_seen_key=seen_key(shown), answer=answer,
        possible={im.image_id: im.answer for im in answer.images if im.answer} if answer else {},
        moment_image=moment_images(answer, response, svc.store) if answer else {},
        ask_url=url_for("qa.ask", **{k: v for k, v in request.args.items() if k in ASK_KEYS}),
        weekdays=WEEKDAYS, parts=list(PARTS_OF_DAY),
        doc_count=svc.store.count(),
        ranks=ranks, then_ranks=then_ranks, marks=marks, timeline=timeline(response.hits) if response else [],
        markers=_marker_events(response.events) if response else [],
        tiles_url=getattr(svc.settings, "tiles_url", None) or "",
        tiles_attribution=getattr(svc.settings, "tiles_attribution", "") or "",
        suggestion_url=lambda params: "?" + urlencode({k: v for k, v in params.items() if v}),
        like_url=lambda image_id: "?" + urlencode({**base, "like": image_id}),
        chip_urls=_chip_urls, event_terms=event_terms, did_you_mean=typos,
        pairs_ok=[p for p, ok in zip(response.pairs, floor) if ok] if floor else [],
        pairs_low=[p for p, ok in zip(response.pairs, floor) if not ok] if floor else [],
        score_terms=lambda h: score_terms(h, req.weights, _applied_soft(req, response)),
    ), (400 if error else 200)


def _url_with(key: str, value: str) -> str:
    """This page's search with parameter ``key`` set to ``value`` (the others kept, marks included)."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != key]
    return "?" + urlencode(args + [(key, value)])


def _applied_soft(req, response) -> tuple:
    """The soft constraints the search applied: the parsed ones (after ``ignore``), then the request's own."""
    parsed = getattr(response, "parsed", None)
    return tuple(parsed.soft if parsed is not None else ()) + tuple(getattr(req, "soft", ()) or ())


def question_answer(req, response):
    """The answer to the search box's text when it is a question (the parser says so), as ``/ask`` gives it (seed
    LifeSeeker 6.0 section 3.4: the possible answer is shown with the results); None otherwise (no search, a
    sequence, a query by image or example)."""
    if response is None or req is None or req.then or req.image is not None or req.like:
        return None
    parsed = response.parsed
    if parsed is None or not getattr(parsed, "is_question", False):
        return None
    from .qa import qa_service

    return qa_service().answer(req.text, list(req.filters), req.weights)


def moment_images(answer, response, store) -> dict[str, str]:
    """``event_id -> image_id`` of one thumbnail per evidence moment: its own first image; for a moment given
    only as a time span (a counted trip or day) the best-ranked result inside the span, else the span's first
    stored image (``store.neighbours``). Moments with no image inside their span are left out."""
    out: dict[str, str] = {}
    for ev in answer.events:
        if ev.image_ids:
            out[ev.event_id] = ev.image_ids[0]
            continue
        if ev.start is None:
            continue
        end = ev.end or ev.start
        inside = [h for h in (response.hits if response else [])
                  if h.doc.get("local_time") and ev.start <= h.doc["local_time"] <= end]
        if inside:
            out[ev.event_id] = inside[0].image_id
            continue
        docs = store.neighbours(ev.start, 0, int((end - ev.start).total_seconds()), limit=1)
        if docs:
            out[ev.event_id] = docs[0]["image_id"]
    return out


def _chip_urls(chip) -> dict[str, str | None]:
    """Links of one parsed-constraint chip: ``remove`` (re-run with ``ignore=<key>``: its soft boost goes) and
    ``hard`` (re-run with the chip's filter parameters, the boost replaced by the hard filter; None when no hard
    filter expresses it)."""
    args = [(k, v) for k, v in request.args.items(multi=True)]
    remove = "?" + urlencode(args + [("ignore", chip.key)])
    hard = None
    if chip.hard:
        kept = [(k, v) for k, v in args if k not in chip.hard]
        hard = "?" + urlencode(kept + list(chip.hard.items()) + [("ignore", chip.key)])
    return {"remove": remove, "hard": hard}


@bp.get("/favicon.ico")
def favicon():
    """The site icon (an SVG; browsers that ask for /favicon.ico get it too, instead of a 404)."""
    from flask import current_app

    return send_file(Path(current_app.static_folder) / "favicon.svg", mimetype="image/svg+xml", max_age=86400)


@bp.get("/image/<path:image_id>")
def image(image_id: str):
    """The image file, only through its id and only from inside its collection root (404 otherwise)."""

    svc = services()
    path = resolve_file(svc.store, image_id)
    if path.suffix.lower() in BROWSER_SUFFIXES:
        return send_file(path, max_age=3600)
    return send_file(rendition(svc.store, image_id, svc.thumbs_dir, DISPLAY_SIDE), mimetype="image/jpeg",
                     max_age=3600)


@bp.get("/thumb/<path:image_id>")
def thumb(image_id: str):
    """A cached JPEG thumbnail (made once)."""

    svc = services()
    return send_file(rendition(svc.store, image_id, svc.thumbs_dir, THUMB_SIDE), mimetype="image/jpeg",
                     max_age=86400)

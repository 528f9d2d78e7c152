"""HTML pages (server-rendered with Jinja autoescaping: captions, OCR text, file names and the query echo are
always escaped) and the image/thumbnail routes."""

from __future__ import annotations

from flask import Blueprint, render_template, request, send_file

from ..engine.timeparts import PARTS_OF_DAY, WEEKDAYS
from ..errors import FilterError
from .api import search_request
from .media import BROWSER_SUFFIXES, DISPLAY_SIDE, THUMB_SIDE, rendition, resolve_file

bp = Blueprint("pages", __name__)

SEARCH_KEYS = ("q", "date_from", "date_to", "hour_from", "hour_to", "weekday", "part", "country", "city", "tag",
               "place", "near", "radius_km", "text", "ocr", "weights", "limit")


@bp.get("/")
def index():
    """The search page; runs a search when the query string has a query or any filter."""
    from . import services

    svc = services()
    form = {k: request.args.get(k, "") for k in SEARCH_KEYS}
    form["weekday_list"] = request.args.getlist("weekday")
    response, error = None, None
    if any(request.args.get(k) for k in SEARCH_KEYS if k not in ("limit", "weights", "radius_km")):
        try:
            response = svc.search.search(search_request(request.args, svc.settings.weights))
        except FilterError as exc:
            error = str(exc)
    return render_template("index.html", form=form, response=response, error=error,
                           notices=svc.search.models.notices, weekdays=WEEKDAYS, parts=list(PARTS_OF_DAY),
                           doc_count=svc.store.count()), (400 if error else 200)


@bp.get("/image/<path:image_id>")
def image(image_id: str):
    """The image file, only through its id and only from inside its collection root (404 otherwise)."""
    from . import services

    svc = services()
    path = resolve_file(svc.store, image_id)
    if path.suffix.lower() in BROWSER_SUFFIXES:
        return send_file(path, max_age=3600)
    return send_file(rendition(svc.store, image_id, svc.thumbs_dir, DISPLAY_SIDE), mimetype="image/jpeg",
                     max_age=3600)


@bp.get("/thumb/<path:image_id>")
def thumb(image_id: str):
    """A cached JPEG thumbnail (made once)."""
    from . import services

    svc = services()
    return send_file(rendition(svc.store, image_id, svc.thumbs_dir, THUMB_SIDE), mimetype="image/jpeg",
                     max_age=86400)

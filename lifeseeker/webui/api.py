"""JSON API. ``GET /api/search`` takes the same parameters as the CLI's filter options (one vocabulary:
``engine.filters.filters_from_params``) plus ``q``, ``limit`` and ``weights``, and the search-experience
parameters of ``search_request`` (feedback, more like this, sequence, events, rerank).

Endpoints: ``GET /api/search``, ``POST /api/search/image`` (multipart ``image``: query by image), ``GET
/api/context/<id>`` (temporal context), ``GET /api/suggest`` (suggestions from marked images), ``GET
/api/image/<id>``, ``GET /api/info``.
"""

from __future__ import annotations

import io
import math
import re
from collections import Counter
from typing import Any, Mapping

from flask import Blueprint, current_app, jsonify, request

from ..engine.context import DEFAULT_CONTEXT_MINUTES, temporal_context
from ..engine.events import Event
from ..engine.feedback import Rocchio, parse_ids, unknown_ids_message
from ..engine.filters import Weights, filters_from_params
from ..engine.query.chips import CHIP_FIELDS
from ..engine.search import MAX_QUERY_PIXELS, SearchRequest, SearchResponse
from ..engine.sequence import EventPair, parse_sequence, parse_within
from ..engine.store.base import Hit
from ..engine.suggest import suggest
from ..errors import FilterError, NotFound
from .state import services
from .urls import image_urls

bp = Blueprint("api", __name__)

MAX_UPLOAD_BYTES = 8 * 1024 * 1024  # also the app's MAX_CONTENT_LENGTH (larger bodies get 413)
FLAGS_OFF = ("0", "false", "no", "off")
FLAGS_ON = ("1", "true", "yes", "on")


@bp.record_once
def _attach_reranker(state) -> None:
    """At app start: load the reranker the settings name (``LIFESEEKER_RERANK*``) into the search service; absent
    weights become a notice and reranking is skipped."""
    from ..models.clip import pick_device
    from ..models.rerank import load_reranker

    svc = state.app.extensions.get("lifeseeker")
    if svc is None or getattr(svc.search, "reranker", None) is not None:
        return
    from ..engine.rerank import RERANK_BLEND, RERANK_N, check_rerank_params

    n = getattr(svc.settings, "rerank_n", RERANK_N)
    blend = getattr(svc.settings, "rerank_blend", RERANK_BLEND)
    check_rerank_params(n, blend)
    reranker, notices = load_reranker(svc.settings, device=pick_device(svc.settings.device))
    svc.search.reranker = reranker
    svc.search.rerank_n, svc.search.rerank_blend = n, blend
    svc.search.service_notices.extend(notices)


def _num(args: Mapping[str, Any], name: str, conv=float, default=None):
    raw = args.get(name)
    if raw is None or str(raw).strip() == "":
        return default
    try:
        v = conv(str(raw).strip())
    except ValueError:
        raise FilterError(f"{name}: expected a number, got {raw!r}") from None
    if isinstance(v, float) and not math.isfinite(v):
        raise FilterError(f"{name}: expected a finite number, got {raw!r}")
    return v


def flag(args: Mapping[str, Any], name: str, default: bool | None) -> bool | None:
    """A 0/1 parameter (``seq``, ``events``, ``rerank``, ``parse``): ``0``/``1`` as documented, ``false``/``true``,
    ``no``/``yes``, ``off``/``on`` (any case) also accepted; absent or empty gives ``default``.

    Raises:
        FilterError: any other value; the message names the parameter, the allowed values and what was typed.
    """
    raw = args.get(name)
    if raw is None or str(raw).strip() == "":
        return default
    v = str(raw).strip().lower()
    if v in FLAGS_ON:
        return True
    if v in FLAGS_OFF:
        return False
    raise FilterError(f"{name}: expected 0 or 1 (or true/false, yes/no, on/off), got {raw!r}")


def mark_ids(args: Mapping[str, Any], name: str, store=None) -> tuple[str, ...]:
    """Image ids of ``relevant`` / ``irrelevant``: one id per repeated parameter (``relevant=a&relevant=b``; ids
    may contain commas); a value that is not itself an id in ``store`` is read as a comma list (``relevant=a,b``).
    Without ``store`` every value is split on commas. Raises FilterError: more than MAX_MARKS ids."""
    raw = args.getlist(name) if hasattr(args, "getlist") else args.get(name)
    known = (lambda ids: {d["image_id"] for d in store.get(ids)}) if store is not None else None
    return parse_ids(raw, name, known)


def search_request(args: Mapping[str, Any], default_weights: Weights, *, image=None, store=None) -> SearchRequest:
    """A SearchRequest from query-string parameters. Raises FilterError naming the bad parameter.

    ``store``: the open store, to tell an image id with commas from a comma list of ids (``mark_ids``).

    Beyond the filters: ``relevant`` / ``irrelevant`` (image ids: repeated parameters, one id each; a value that is
    not an id is read as a comma list), ``like`` (an image
    id), ``rocchio`` (``alpha,beta,gamma``), ``then`` (the B of "A then B") and ``within`` (``2h``, ``90``
    minutes, ``1d``); without ``then``, a ``q`` such as "A, then B within 2h" is split (``seq=0`` keeps it whole);
    ``events`` (0 = flat list), ``gap`` (event gap, minutes), ``dup`` (near-duplicate cosine), ``rerank`` (0/1),
    ``rerank_n``, ``rerank_blend``.
    """
    raw_limit = args.get("limit") or "50"
    try:
        limit = int(raw_limit)
    except ValueError:
        raise FilterError(f"limit: expected a whole number, got {raw_limit!r}") from None
    weights = Weights.parse(args["weights"]) if args.get("weights") else default_weights
    params = {k: args.getlist(k) if hasattr(args, "getlist") else args[k] for k in args}
    text, then = args.get("q", ""), (args.get("then") or "").strip()
    within = parse_within(args["within"]) if (args.get("within") or "").strip() else None
    if not then and flag(args, "seq", True):
        seq = parse_sequence(text)
        if seq is not None:
            text, then = seq.first, seq.second
            within = within or seq.within_minutes
    extra: dict[str, Any] = {}
    if args.get("rocchio"):
        parts = str(args["rocchio"]).split(",")
        if len(parts) != 3:
            raise FilterError(f"rocchio: expected alpha,beta,gamma, got {args['rocchio']!r}")
        try:
            extra["rocchio"] = Rocchio(*(float(p) for p in parts))
        except ValueError:
            raise FilterError(f"rocchio: expected three numbers, got {args['rocchio']!r}") from None
    rerank = flag(args, "rerank", None)
    if rerank is not None:
        extra["rerank"] = rerank
    for name, key, conv in (("gap", "gap_minutes", float), ("dup", "dup_threshold", float),
                            ("rerank_n", "rerank_n", int), ("rerank_blend", "rerank_blend", float)):
        v = _num(args, name, conv)
        if v is not None:
            extra[key] = v
    if within is not None:
        extra["within_minutes"] = within
    like = (args.get("like") or "").strip() or None
    ignore = tuple(k for v in (args.getlist("ignore") if hasattr(args, "getlist") else [args.get("ignore") or ""])
                   for k in str(v).split(",") if k.strip())
    bad = [k for k in ignore if k not in CHIP_FIELDS]
    if bad:
        raise FilterError(f"ignore: unknown constraint {bad[0]!r}; use one of {', '.join(CHIP_FIELDS)}")
    extra["ignore"] = ignore
    extra["understand"] = flag(args, "parse", True)
    events = flag(args, "events", True)
    return SearchRequest(text=text, filters=filters_from_params(params), weights=weights, limit=limit,
                         relevant=mark_ids(args, "relevant", store), irrelevant=mark_ids(args, "irrelevant", store),
                         like=like,
                         image=image, then=then, events=events,
                         **extra)


def read_upload(file) -> Any:
    """An uploaded query image (werkzeug FileStorage) decoded in memory to an RGB PIL image; nothing is written
    to disk. Raises FilterError naming ``image``: missing, over MAX_UPLOAD_BYTES, over MAX_QUERY_PIXELS, or not an
    image."""
    from PIL import Image, ImageOps

    from ..images import register_image_plugins

    if file is None or not file.filename:
        raise FilterError("image: choose an image file to search by")
    data = file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise FilterError(f"image: larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    if not data:
        raise FilterError("image: the file is empty")
    register_image_plugins()
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.size[0] * im.size[1] > MAX_QUERY_PIXELS:
                raise FilterError(f"image: {im.size[0]}x{im.size[1]} px is over the {MAX_QUERY_PIXELS:,} px limit")
            im.load()
            out = ImageOps.exif_transpose(im).convert("RGB")
    except FilterError:
        raise
    except Exception as exc:  # noqa: BLE001 - PIL raises many kinds for a bad file
        raise FilterError(f"image: not a readable image ({type(exc).__name__})") from None
    return out


def doc_json(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A stored document as JSON-safe values (times ISO 8601, no vectors)."""
    out = {}
    for k, v in doc.items():
        if k in ("clip_vec", "capmeta_vec"):
            continue
        out[k] = v.isoformat() if hasattr(v, "isoformat") else v
    return out


def hit_json(hit: Hit, rerank: Mapping[str, float] | None = None) -> dict[str, Any]:
    """One hit: id, fused score and both components, the document, and (in a request) its image URLs; with
    ``rerank`` (image_id -> probability) given, ``rerank`` is the matcher's probability for reranked hits."""
    out = {"image_id": hit.image_id, "score": round(hit.score, 6), "iat": round(hit.iat, 6),
           "tat": round(hit.tat, 6), **{k: v for k, v in doc_json(hit.doc).items() if k != "image_id"}}
    if rerank and hit.image_id in rerank:
        out["rerank"] = round(rerank[hit.image_id], 6)
    out.update(image_urls(hit.image_id))  # {} outside a request (CLI --json)
    return out


def _location(hits: list[Hit]) -> dict | None:
    for h in hits:
        loc = h.doc.get("location")
        if loc and loc.get("lat") is not None and loc.get("lon") is not None:
            return {"lat": loc["lat"], "lon": loc["lon"]}
    return None


def event_json(event: Event, rerank: Mapping[str, float] | None = None) -> dict[str, Any]:
    """One time event: id, score, span (ISO local times), place, location (its first geotagged frame), size,
    ``hit_ids`` (time order), ``top`` (its best 3 near-duplicate runs: the representative hit plus
    ``duplicates``, the run's size, and ``duplicate_ids``) and ``groups`` (every run in time order)."""
    groups = event.extra.get("groups") or []
    top = event.extra.get("top_distinct") or []

    def rep(g) -> dict[str, Any]:
        out = hit_json(g.best, rerank)
        out.update(duplicates=g.count, duplicate_ids=[h.image_id for h in g.others])
        return out

    return {"event_id": event.event_id, "score": round(event.score, 6),
            "start": event.start.isoformat() if event.start else None,
            "end": event.end.isoformat() if event.end else None, "duration_s": event.duration_s,
            "place": event.place, "location": _location(event.hits), "size": len(event.hits),
            "distinct": len(groups), "hit_ids": [h.image_id for h in event.hits],
            "top": [rep(g) for g in top] if top else [hit_json(h, rerank) for h in event.top],
            "groups": [{"image_id": g.best.image_id, "count": g.count, "members": [h.image_id for h in g.hits]}
                       for g in groups]}


def pair_json(pair: EventPair, rerank: Mapping[str, float] | None = None) -> dict[str, Any]:
    """A sequence match: both events, the gap in seconds and the pair score."""
    return {"score": round(pair.score, 6), "gap_s": pair.gap_s, "first": event_json(pair.first, rerank),
            "second": event_json(pair.second, rerank)}


def timeline(hits: list[Hit]) -> list[dict[str, Any]]:
    """Hits per local date, in date order: ``[{"date": "YYYY-MM-DD", "count": n}]`` (undated hits left out)."""
    counts = Counter(h.doc["local_time"].date().isoformat() for h in hits if h.doc.get("local_time"))
    return [{"date": d, "count": c} for d, c in sorted(counts.items())]


def response_json(req: SearchRequest, resp: SearchResponse) -> dict[str, Any]:
    """The whole search answer as JSON (used by ``/api/search`` and ``/api/search/image``)."""
    r = resp.rerank_scores
    return dict(query=req.text, then=req.then or None, total_filtered=resp.total_filtered,
                text_only=resp.text_only, notices=resp.notices, took_ms=round(resp.took_ms, 1),
                weights=[req.weights.iat, req.weights.tat], reranked_by=resp.reranked_by, feedback=resp.feedback,
                hits=[dict(rank=i, **hit_json(h, r)) for i, h in enumerate(resp.hits, 1)],
                events=[event_json(e, r) for e in resp.events],
                pairs=[pair_json(p, r) for p in resp.pairs],
                then_hits=[dict(rank=i, **hit_json(h, r)) for i, h in enumerate(resp.then_hits[:req.limit], 1)],
                timeline=timeline(resp.hits),
                suggestions=[{"label": s.label, "kind": s.kind, "params": dict(s.params)}
                             for s in resp.suggestions],
                parsed=resp.parsed.to_dict() if resp.parsed is not None else None,
                chips=[{"key": c.key, "label": c.label, "hard": c.hard} for c in resp.chips])


@bp.get("/search")
def search():
    """Ranked results: ``{"hits": [...], "events": [...], "pairs": [...], "then_hits": [...] (the B side of a
    sequence), "timeline": [...], "suggestions", "parsed" (query understanding: visual remainder, constraints,
    is_question, answer_type), "chips" (parsed constraints: ``ignore=<key>`` removes one, its ``hard`` params make it
    a filter), "total_filtered", "text_only", "notices", "took_ms", "reranked_by", "feedback"}``; 400 on bad input.
    ``parse=0`` sends the text to both encoders as typed."""

    svc = services()
    req = search_request(request.args, svc.settings.weights, store=svc.store)
    return jsonify(response_json(req, svc.search.search(req)))


@bp.post("/search/image")
def search_image():
    """Query by an uploaded image (multipart field ``image``, at most 8 MB and 40 MP; decoded in memory, never
    stored) with the filters of ``/api/search`` in the query string. 400 when CLIP is absent or the file is bad."""

    svc = services()
    image = read_upload(request.files.get("image"))
    req = search_request(request.args, svc.settings.weights, image=image, store=svc.store)
    return jsonify(response_json(req, svc.search.search(req)))


def context_json(image_id: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """Temporal context of ``image_id`` (``minutes`` before and after, default 30; ``limit`` images, default
    200) as JSON. Raises NotFound, FilterError."""

    minutes = _num(args, "minutes", float, DEFAULT_CONTEXT_MINUTES)
    limit = _num(args, "limit", int, 200)
    ctx = temporal_context(services().store, image_id, minutes, limit=limit)
    images = []
    for d in ctx.docs:
        out = doc_json(d)
        out.update(image_urls(d["image_id"]))
        images.append(out)
    return {"image_id": image_id, "minutes": minutes, "index": ctx.index, "truncated": ctx.truncated,
            "images": images}


@bp.get("/context/<path:image_id>")
def context(image_id: str):
    """``{"image_id", "minutes", "index", "truncated", "images": [...]}``: images within +-minutes, time order."""
    return jsonify(context_json(image_id, request.args))


@bp.get("/suggest")
def suggestions():
    """Suggestions from ``relevant`` image ids for query ``q``: ``{"suggestions": [{label, kind, params}]}``; 404
    naming (at most 5 of) the unknown ids."""

    store = services().store
    ids = mark_ids(request.args, "relevant", store)
    if not ids:
        raise FilterError("relevant: give at least one image id")
    docs = store.get(list(ids))
    missing = [i for i in ids if i not in {d["image_id"] for d in docs}]
    if missing:
        raise NotFound(unknown_ids_message("relevant", missing))
    out = suggest(docs, request.args.get("q", ""))
    return jsonify(suggestions=[{"label": s.label, "kind": s.kind, "params": dict(s.params)} for s in out])


@bp.get("/image/<path:image_id>")
def image_doc(image_id: str):
    """One document's fields (no vectors); 404 for unknown ids."""

    docs = services().store.get([image_id])
    if not docs:
        raise NotFound(f"no image {image_id!r}")
    return jsonify(doc_json(docs[0]))


_ABS_PATH = re.compile(r"/(?:[^\s/'\"(),;]+/)+([^\s/'\"(),;]*)")


def hide_paths(value: Any) -> Any:
    """``value`` (JSON-like: dicts, lists, strings) with every absolute POSIX path of two or more components
    (``/home/me/photos``, ``lance:///srv/store``, ``local-dir:/models/clip``) shortened to ``…/<last component>``;
    other values unchanged."""
    if isinstance(value, str):
        return _ABS_PATH.sub(lambda m: "…/" + m.group(1), value)
    if isinstance(value, Mapping):
        return {k: hide_paths(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [hide_paths(v) for v in value]
    return value


@bp.get("/info")
def info():
    """Store backend, document count, models in use and notices, and ``available``: every model lifeseeker can
    use with its state and how to provide it (models/catalog.py). The web app loads no OCR reader (OCR runs at
    ingest), so ``models.ocr`` is the reader an ingest with these settings uses, or None when OCR is off.
    Absolute paths (the store's location, every collection root, model directories) only to an authenticated user
    (basic auth on, ``security.py``); with auth off (the default) they are shortened by ``hide_paths``, and
    ``lifeseeker info`` shows them in full."""
    from ..models.catalog import model_states

    svc = services()
    states = model_states(svc.settings)
    models = dict(svc.search.models.names())
    if models.get("ocr") is None and states["ocr"]["state"] == "bundled":
        models["ocr"] = states["ocr"]["name"]
    out = {"store": svc.store.info(), "models": models, "notices": svc.search.models.notices, "available": states}
    if not current_app.config.get("LIFESEEKER_AUTH"):
        out = hide_paths(out)
    return jsonify(out)

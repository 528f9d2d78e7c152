"""JSON API. ``GET /api/search`` takes the same parameters as the CLI's filter options (one vocabulary:
``engine.filters.filters_from_params``) plus ``q``, ``limit`` and ``weights``."""

from __future__ import annotations

from typing import Any, Mapping

from flask import Blueprint, jsonify, request, url_for

from ..engine.filters import Weights, filters_from_params
from ..engine.search import SearchRequest
from ..engine.store.base import Hit
from ..errors import FilterError, NotFound

bp = Blueprint("api", __name__)


def search_request(args: Mapping[str, Any], default_weights: Weights) -> SearchRequest:
    """A SearchRequest from query-string parameters. Raises FilterError naming the bad parameter."""
    raw_limit = args.get("limit") or "50"
    try:
        limit = int(raw_limit)
    except ValueError:
        raise FilterError(f"limit: expected a whole number, got {raw_limit!r}") from None
    weights = Weights.parse(args["weights"]) if args.get("weights") else default_weights
    params = {k: args.getlist(k) if hasattr(args, "getlist") else args[k] for k in args}
    return SearchRequest(text=args.get("q", ""), filters=filters_from_params(params), weights=weights,
                         limit=limit)


def doc_json(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A stored document as JSON-safe values (times ISO 8601, no vectors)."""
    out = {}
    for k, v in doc.items():
        if k in ("clip_vec", "capmeta_vec"):
            continue
        out[k] = v.isoformat() if hasattr(v, "isoformat") else v
    return out


def hit_json(hit: Hit) -> dict[str, Any]:
    """One hit: id, fused score and both components, the document, and (in a request) its image URLs."""
    out = {"image_id": hit.image_id, "score": round(hit.score, 6), "iat": round(hit.iat, 6),
           "tat": round(hit.tat, 6), **{k: v for k, v in doc_json(hit.doc).items() if k != "image_id"}}
    try:
        out["thumb_url"] = url_for("pages.thumb", image_id=hit.image_id)
        out["image_url"] = url_for("pages.image", image_id=hit.image_id)
    except RuntimeError:  # outside a request (CLI --json)
        pass
    return out


@bp.get("/search")
def search():
    """Ranked results: ``{"hits": [...], "total_filtered", "text_only", "notices", "took_ms"}``; 400 on bad input."""
    from . import services

    svc = services()
    req = search_request(request.args, svc.settings.weights)
    resp = svc.search.search(req)
    return jsonify(query=req.text, total_filtered=resp.total_filtered, text_only=resp.text_only,
                   notices=resp.notices, took_ms=round(resp.took_ms, 1),
                   weights=[req.weights.iat, req.weights.tat],
                   hits=[dict(rank=i, **hit_json(h)) for i, h in enumerate(resp.hits, 1)])


@bp.get("/image/<path:image_id>")
def image_doc(image_id: str):
    """One document's fields (no vectors); 404 for unknown ids."""
    from . import services

    docs = services().store.get([image_id])
    if not docs:
        raise NotFound(f"no image {image_id!r}")
    return jsonify(doc_json(docs[0]))


@bp.get("/info")
def info():
    """Store backend, document count, models in use and notices."""
    from . import services

    svc = services()
    return jsonify(store=svc.store.info(), models=svc.search.models.names(), notices=svc.search.models.notices)

"""Question answering in the web app: ``GET /api/answer?q=...`` (JSON) and the ``/ask?q=...`` page.

Both take the filter parameters of ``/api/search`` (one vocabulary: ``engine.filters.filters_from_params``) and
``weights``; ``drop`` (repeatable) names counted items to leave out of a count. The QA service is built once when the blueprint is registered (so ``gunicorn --preload`` shares the
VQA model): the VQA model named by ``Settings.vqa_model`` is loaded from a local directory or the Hugging Face
cache, never downloaded; when it cannot load, metadata answers still work and visual ones say so.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping

from flask import Blueprint, current_app, jsonify, render_template, request

from ..engine.filters import Weights, filters_from_params
from ..engine.qa import QaService
from ..errors import FilterError, ModelUnavailable
from .state import services
from .urls import image_urls

log = logging.getLogger(__name__)

bp = Blueprint("qa", __name__)

EXTENSION = "lifeseeker_qa"
FORM_KEYS = ("q", "date_from", "date_to", "country", "city", "place", "tag")
MAX_QUESTION_CHARS = 2000


@bp.record_once
def _setup(state) -> None:
    """Build the QaService from the app's search service and settings (VQA loaded here, once per process)."""
    from ..models.vqa import load_vqa, vqa_disabled

    app = state.app
    svc = app.extensions["lifeseeker"]
    vqa, error = None, None
    name = getattr(svc.settings, "vqa_model", None)
    if vqa_disabled(name):
        error = "VQA is turned off (LIFESEEKER_VQA_MODEL is empty or 'none')"
    else:
        try:
            vqa = load_vqa(name, device=svc.settings.device)
        except ModelUnavailable as exc:
            error = str(exc)
            log.warning("QA: %s", exc)
    app.extensions[EXTENSION] = QaService(svc.search, vqa=vqa, vqa_error=error)


def qa_service() -> QaService:
    """The QaService of the current app."""
    return current_app.extensions[EXTENSION]


def answer_args(args: Mapping[str, Any], default_weights: Weights) -> tuple[str, list, Weights]:
    """``(question, filters, weights)`` from query-string parameters.

    Raises:
        FilterError: no question, a question over 2000 characters, or a bad filter/weights value (the message
            names the parameter).
    """
    q = (args.get("q") or "").strip()
    if not q:
        raise FilterError("q: give a question, e.g. q=What date did I visit the temple?")
    if len(q) > MAX_QUESTION_CHARS:
        raise FilterError(f"q: longer than {MAX_QUESTION_CHARS} characters")
    weights = Weights.parse(args["weights"]) if args.get("weights") else default_weights
    params = {k: args.getlist(k) if hasattr(args, "getlist") else args[k] for k in args
              if k not in ("q", "weights", "drop")}
    return q, filters_from_params(params), weights


def answer_json(answer) -> dict[str, Any]:
    """The answer as JSON with each evidence image's thumbnail and image URLs."""
    out = answer.to_dict()
    for im in out["images"]:
        im.update(image_urls(im["image_id"]))
    return out


@bp.get("/api/answer")
def api_answer():
    """``{"answer", "value", "confidence", "answer_type", "kind", "events", "images", "votes", "explanation",
    "notices", ...}`` (``Answer.to_dict``); 400 on a missing question or bad parameter."""

    q, filters, weights = answer_args(request.args, services().settings.weights)
    return jsonify(answer_json(qa_service().answer(q, filters, weights, drop=dropped(request.args))))


def dropped(args) -> list[str]:
    """The ``drop`` parameters: ids of counted items the user struck out (at most 500, each at most 300 chars)."""
    values = args.getlist("drop") if hasattr(args, "getlist") else list(args.get("drop") or [])
    return [v[:300] for v in values[:500]]


@bp.get("/ask")
def ask():
    """The question page: the answer, its confidence and type, the counted stays / nights / trips / flights as a
    list the user can check (ticking "drop" and Recount sends ``drop=<id>`` back and the count leaves them out;
    ``static/counted.js`` updates the number at once), and the evidence events and images, each image with its own
    possible answer."""

    form = {k: request.args.get(k, "") for k in FORM_KEYS}
    answer, error = None, None
    if form["q"].strip():
        try:
            q, filters, weights = answer_args(request.args, services().settings.weights)
            answer = qa_service().answer(q, filters, weights, drop=dropped(request.args))
        except FilterError as exc:
            error = str(exc)
    return render_template("ask.html", form=form, answer=answer, error=error), (400 if error else 200)

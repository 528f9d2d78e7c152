"""DRES from the web page: submit an image or a text answer and show the verdict; log result lists.

Routes (JSON; mounted at ``/api/dres``):

* ``GET  /api/dres/status`` -> ``{"configured": bool, "url", "user", "evaluation_id"}`` (no call to DRES; the
  page's dres.js adds its Submit buttons only when configured).
* ``GET  /api/dres/task`` -> the running task ``{"evaluation_id", "name", "task_group", "task_type", "duration_s"}``.
* ``POST /api/dres/submit`` ``{"image_id": ...}`` or ``{"text": ...}`` -> ``SubmissionResult.to_json()``:
  ``{"verdict": "CORRECT"|"WRONG"|"INDETERMINATE"|"UNDECIDABLE"|null, "description", "pending", ...}``.
* ``POST /api/dres/log`` ``{"query": text, "image_ids": [best first], "params": {filter: value}}`` -> DRES
  ``/log/result`` (the shown result list with the query that produced it) -> ``{"logged": n}``.

Configuration: app config keys ``LIFESEEKER_DRES_URL``, ``_USER``, ``_PASSWORD``, ``_EVALUATION``, ``_COLLECTION``
(tests set these) over the same environment variables (``competition.dres.DresConfig.from_env``). One client per
app, logged in on first use, logging in again on an expired session.

Statuses: 400 bad body, 415 body not JSON (a cross-site form cannot post JSON, so this is also the CSRF guard),
503 DRES not configured, 502 DRES refused or failed (``{"error", "dres_status"}``: 401 credentials, 404 no running
task or evaluation, 412 submission rejected), 504 DRES unreachable.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from ..competition.dres import (DresClient, DresConfig, DresError, DresNotConfigured, DresUnavailable,
                                query_events)

bp = Blueprint("dres", __name__, url_prefix="/api/dres")

EXTENSION = "lifeseeker_dres"
CONFIG_KEYS = ("URL", "USER", "PASSWORD", "EVALUATION", "COLLECTION", "TIMEOUT")
MAX_LOGGED = 1000
_lock = threading.Lock()


def dres_config() -> DresConfig:
    """The app's DRES configuration (app config over environment). Raises DresNotConfigured."""
    env = {f"LIFESEEKER_DRES_{k}": os.environ.get(f"LIFESEEKER_DRES_{k}", "") for k in CONFIG_KEYS}
    env.update({f"LIFESEEKER_DRES_{k}": str(current_app.config[f"LIFESEEKER_DRES_{k}"]) for k in CONFIG_KEYS
                if current_app.config.get(f"LIFESEEKER_DRES_{k}") is not None})
    return DresConfig.from_env(env)


def dres_client() -> DresClient:
    """The app's DRES client, made on first use (tests may put one in ``app.extensions["lifeseeker_dres"]``).
    Raises DresNotConfigured."""
    client = current_app.extensions.get(EXTENSION)
    if client is None:
        with _lock:
            client = current_app.extensions.get(EXTENSION)
            if client is None:
                client = DresClient(dres_config())
                current_app.extensions[EXTENSION] = client
    return client


def _fail(exc: Exception):
    if isinstance(exc, DresNotConfigured):
        return jsonify(error=str(exc)), 503
    if isinstance(exc, DresUnavailable) and exc.status is None:
        return jsonify(error=str(exc), dres_status=None), 504
    if isinstance(exc, DresError):
        return jsonify(error=str(exc), dres_status=exc.status), 502
    return jsonify(error=str(exc)), 400


def _json_body() -> dict[str, Any] | None:
    if not request.is_json:
        return None
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else None


@bp.get("/status")
def status():
    """Whether DRES is configured, for which server and user (never the password)."""
    try:
        cfg = dres_client().config
    except DresNotConfigured as exc:
        return jsonify(configured=False, reason=str(exc))
    return jsonify(configured=True, url=cfg.url, user=cfg.user, evaluation_id=cfg.evaluation_id)


@bp.get("/task")
def task():
    """The running task of the evaluation in use."""
    try:
        client = dres_client()
        eid = client.evaluation_id()
        info = client.current_task(eid)
    except (DresError, ValueError) as exc:
        return _fail(exc)
    return jsonify(evaluation_id=eid, name=info.name, task_group=info.task_group, task_type=info.task_type,
                   duration_s=info.duration_s)


@bp.post("/submit")
def submit():
    """Submit ``{"image_id"}`` (known-item / ad-hoc) or ``{"text"}`` (question) and answer with the verdict."""
    body = _json_body()
    if body is None:
        return jsonify(error="send a JSON object: {\"image_id\": ...} or {\"text\": ...}"), 415
    image_id, text = body.get("image_id"), body.get("text")
    if (image_id is None) == (text is None):
        return jsonify(error="give exactly one of image_id and text"), 400
    value = image_id if image_id is not None else text
    if not isinstance(value, str) or not value.strip():
        return jsonify(error=f"{'image_id' if image_id is not None else 'text'}: expected a non-empty string"), 400
    try:
        client = dres_client()
        result = client.submit_item(value) if image_id is not None else client.submit_text(value)
    except (DresError, ValueError) as exc:
        return _fail(exc)
    return jsonify(result.to_json())


@bp.post("/log")
def log_results():
    """Send the shown result list and its query to DRES's result log."""
    body = _json_body()
    if body is None:
        return jsonify(error="send a JSON object: {\"query\", \"image_ids\", \"params\"}"), 415
    ids, query, params = body.get("image_ids"), body.get("query", ""), body.get("params") or {}
    if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
        return jsonify(error="image_ids: expected a list of image ids"), 400
    if not isinstance(query, str) or not isinstance(params, dict):
        return jsonify(error="query: expected a string; params: expected an object"), 400
    if len(ids) > MAX_LOGGED or len(query) > 10_000 or len(params) > 50:
        return jsonify(error=f"too much to log (at most {MAX_LOGGED} ids, 50 params)"), 400
    try:
        client = dres_client()
        events = query_events(query, {str(k): str(v)[:1000] for k, v in params.items()})
        client.log_results(ids, events)
    except (DresError, ValueError) as exc:
        return _fail(exc)
    return jsonify(logged=len(ids))

"""Warm start: what the first query would otherwise pay (the store snapshot and its vector cache, the query
parser's gazetteer, the encoders' first forward pass) is done when the app starts, and two endpoints say where it
stands (the Kubernetes probe convention: liveness and readiness):

* ``GET /healthz`` -> 200 ``{"alive": true}`` as soon as the process answers;
* ``GET /readyz`` -> 200 ``{"ready": true, "warm_s": ...}`` once the warm-up is done, 503 ``{"ready": false}``
  before (``Retry-After: 1``).

``create_app(warm_up="now")`` warms up before it returns: ``lifeseeker serve`` listens only when warm, so the
first search it answers pays nothing extra. ``"background"`` answers ``/healthz`` at once and warms up on a thread;
a request arriving meanwhile waits for it (at most ``WAIT_S``) instead of racing it. ``"worker"``: registered but
not run; gunicorn (``gunicorn_conf.post_worker_init``) runs it in each worker after the fork and before the worker
accepts. The production config sets that mode (``LIFESEEKER_WARM_UP=worker``) because a ``--preload`` master must
not touch LanceDB: its handles are not fork-safe (store/lance/table.py ``_after_fork``), and a master that had
searched once left workers that crashed or hung in LanceDB's runtime (tests/test_gunicorn_serving.py).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Callable

from flask import Blueprint, Flask, current_app, jsonify, request

log = logging.getLogger(__name__)

WAIT_S = 300.0  # a request during the warm-up waits at most this long for it, then runs anyway
WARM_QUERY = "a person walking in a street in the morning in Dublin"  # exercises parser, CLIP and TaT encoders
EXEMPT = ("/healthz", "/readyz", "/static/")

bp = Blueprint("health", __name__)


class Warmup:
    """The warm-up state of one app: ``ready`` (a threading.Event), ``warm_s`` (seconds it took), ``error``."""

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.started = time.monotonic()
        self.warm_s: float | None = None
        self.error: str | None = None
        self.steps: Callable[[], None] | None = None  # mode "worker": run later by gunicorn_conf.post_worker_init
        self.pid: int | None = None  # the process that ran the warm-up

    def run(self, steps: Callable[[], None]) -> None:
        """Run ``steps``, then mark the app ready (also when a step failed: the app can still serve; the failure is
        logged and reported by ``/readyz``)."""
        t0 = time.monotonic()
        self.pid = os.getpid()
        try:
            steps()
        except Exception as exc:  # noqa: BLE001 - a warm-up failure must not keep the app from serving
            self.error = f"{type(exc).__name__}: {exc}"
            log.warning("warm-up failed (%s); serving anyway", self.error)
        self.warm_s = time.monotonic() - t0
        self.ready.set()
        log.info("warm: ready in %.1f s", self.warm_s)


def warm_steps(services) -> Callable[[], None]:
    """The warm-up of ``services`` (webui/state.py Services): load the store snapshot (``prepare``: also the ANN
    index of a large store) and run one search, which builds the parser's gazetteer and runs each encoder once."""

    def steps() -> None:
        from ..engine.search import SearchRequest

        store = services.store
        if hasattr(store, "prepare"):
            store.prepare()
        else:
            store.count()
        try:
            import torch

            threads = torch.get_num_threads()
            torch.set_num_threads(1)  # no OpenMP thread team before a gunicorn --preload fork
        except ImportError:  # pragma: no cover - torch is a dependency
            torch = None
        try:
            services.search.search(SearchRequest(text=WARM_QUERY, limit=1))
        finally:
            if torch is not None:
                torch.set_num_threads(threads)

    return steps


def install_warmup(app: Flask, steps: Callable[[], None] | None, mode: str | bool) -> Warmup:
    """Register ``/healthz`` and ``/readyz`` and run ``steps`` as ``mode`` says: ``"now"`` (before returning),
    ``"background"`` (on a daemon thread; requests wait for it), ``"worker"`` (kept in ``steps`` for gunicorn's
    ``post_worker_init``: see the module docstring), or False / None steps (nothing to warm: ready)."""
    state = Warmup()
    app.extensions["lifeseeker_warmup"] = state
    app.register_blueprint(bp)

    @app.before_request
    def _wait_for_warmup():
        if not state.ready.is_set() and not request.path.startswith(EXEMPT):
            state.ready.wait(WAIT_S)

    if not mode or steps is None:
        state.warm_s = 0.0
        state.ready.set()
    elif mode == "background":
        threading.Thread(target=state.run, args=(steps,), name="warm-up", daemon=True).start()
    elif mode == "now":
        state.run(steps)
    elif mode == "worker":
        state.steps = steps
    else:
        raise ValueError(f"warm_up: expected 'now', 'background', 'worker' or False, got {mode!r}")
    return state


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers."""
    return jsonify(alive=True)


@bp.get("/readyz")
def readyz():
    """Readiness: 200 once the warm-up is done, 503 (Retry-After: 1) before. ``warmed_here``: whether this
    process ran it (False in a forked worker whose master warmed up)."""
    state: Warmup = current_app.extensions["lifeseeker_warmup"]
    if not state.ready.is_set():
        resp = jsonify(ready=False, waiting_s=round(time.monotonic() - state.started, 1))
        resp.status_code = 503
        resp.headers["Retry-After"] = "1"
        return resp
    return jsonify(ready=True, warm_s=round(state.warm_s or 0.0, 2), error=state.error,
                   warmed_here=state.pid == os.getpid())

"""Flask app factory (after Flask's tutorial): services attached at start-up, blueprints for pages and the API.

Production: ``gunicorn -c python:lifeseeker.webui.gunicorn_conf 'lifeseeker.webui:create_app()'`` (``gunicorn_conf.py``:
threaded workers with a per-request read deadline, so slow clients cannot take the site down; ``--preload`` loads
the models once in the master and workers share them copy-on-write). ``create_app()`` also warms up (store
snapshot, gazetteer, one search) before it returns, and ``/healthz`` / ``/readyz`` say where it stands (warmup.py).
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, jsonify, request

from ..config import Settings
from ..engine.search import SearchService
from ..errors import FilterError, LifeseekerError, NotFound, StoreError
from .openapi import register_openapi
from .security import install_security
from .state import Services, services  # noqa: F401 - services() is the views' accessor

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, store=None, models=None,
               warm_up: str | bool | None = None) -> Flask:
    """Build the web app.

    Args:
        settings: defaults to ``Settings.from_env()``.
        store: an open Store (tests inject one); default: ``open_store(settings.store)``.
        models: loaded ``Models`` (tests inject tiny ones); default: loaded from the settings (CLIP optional).
        warm_up: ``"now"`` (warm up before returning), ``"background"`` (on a thread; requests wait for it) or
            False (warmup.py); None -> ``"now"`` when the app loads its own models (production), else False.
    Raises:
        StoreError, ModelUnavailable: the store cannot open or the text model cannot load.
    """
    from ..engine.store import open_store
    from ..models import load_models

    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config.update(LIFESEEKER_STORE_URL=settings.store, MAX_CONTENT_LENGTH=8 * 1024 * 1024,
                      JSON_SORT_KEYS=False)
    install_security(app, settings)  # basic auth, headers, no debug outside development (security.py)
    store = store if store is not None else open_store(settings.store, **settings.es_options())
    own_models = models is None
    if models is None:
        models = load_models(settings, for_ingest=False)
        for notice in models.notices:
            log.warning(notice)
    thumbs = Path(settings.cache_dir) / "thumbs"
    app.extensions["lifeseeker"] = Services(settings, store, SearchService(store, models), thumbs)

    from .api import bp as api_bp
    from .pages import bp as pages_bp

    app.register_blueprint(pages_bp)
    app.register_blueprint(api_bp, url_prefix="/api")
    app.register_blueprint(__import__(f"{__name__}.dres", fromlist=["bp"]).bp)  # /api/dres: DRES (webui/dres.py)
    from .qa import bp as qa_bp; app.register_blueprint(qa_bp)  # noqa: E702 - /api/answer, /ask (question answering)
    from .browse import bp as browse_bp; app.register_blueprint(browse_bp)  # noqa: E702 - /day, /api/overview, /api/cities

    register_openapi(app)  # GET /openapi.json

    def _error(status: int, exc: Exception):
        if request.path.startswith("/api/"):
            return jsonify(error=str(exc)), status
        from flask import render_template

        return render_template("error.html", status=status, message=str(exc)), status

    app.register_error_handler(FilterError, lambda e: _error(400, e))
    app.register_error_handler(NotFound, lambda e: _error(404, e))
    app.register_error_handler(StoreError, lambda e: _error(503, e))
    app.register_error_handler(LifeseekerError, lambda e: _error(500, e))
    from .warmup import install_warmup, warm_steps

    import os

    # under the production gunicorn config the warm-up runs in each worker after the fork (warmup.py, "worker")
    default = os.environ.get("LIFESEEKER_WARM_UP") or "now"
    mode = (default if own_models else False) if warm_up is None else warm_up
    install_warmup(app, warm_steps(app.extensions["lifeseeker"]), mode)  # /healthz, /readyz
    return app


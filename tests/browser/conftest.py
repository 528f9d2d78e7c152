"""Browser tests: the app served on 127.0.0.1 (random free port, werkzeug in a thread) over the sample photos
with tiny models, driven by Playwright in the system's headless Chromium (``apt-get install chromium``; never
``playwright install``)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives the web page in headless Chromium (tests/browser)")


@pytest.fixture(scope="session")
def live_server(sample_store, tiny_models, tmp_path_factory):
    """``http://127.0.0.1:<port>`` serving the app over the sample store (rerank off: no ITM weights here)."""
    from werkzeug.serving import make_server

    from lifeseeker.config import Settings
    from lifeseeker.webui import create_app

    store, _ = sample_store
    cache = tmp_path_factory.mktemp("browser-cache")
    app = create_app(Settings(store=store.url, cache_dir=str(cache), rerank="off"), store=store, models=tiny_models)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="lifeseeker-test-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def base_url(live_server):
    """pytest-playwright resolves relative ``page.goto`` URLs against this."""
    return live_server


@pytest.fixture(scope="session")
def artifacts():
    from ..conftest import REPO

    out = REPO / "test-artifacts"
    out.mkdir(exist_ok=True)
    return out




@pytest.fixture(autouse=True)
def _patient_page(request):
    """Generous waits: the shared 2-core machine makes thumbnails (HEIC/TIFF decodes) slowly on first use, and a
    cold search can take seconds; the checks themselves stay exact."""
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
    if "page" in request.fixturenames:
        page = request.getfixturevalue("page")
        page.set_default_navigation_timeout(120_000)
        page.set_default_timeout(60_000)
    yield

"""The /ask page's counted stays in headless Chromium (issue 19, item 6): ticking "drop" on a counted visit updates
the number at once (static/counted.js), and Recount asks the server again without it."""

from __future__ import annotations

import threading

import pytest
from playwright.sync_api import Page, expect

from .. import lifelog_synth as L
from ..test_qa_synth import text_only_models

pytestmark = pytest.mark.browser
Q = "How many times did I go to Bean There Café in April 2019?"


@pytest.fixture(scope="module")
def lifelog_server(tmp_path_factory, minilm):
    from werkzeug.serving import make_server

    from lifeseeker.config import Settings
    from lifeseeker.engine.store import open_store
    from lifeseeker.webui import create_app

    root = tmp_path_factory.mktemp("browser-lifelog")
    store = open_store(f"lance://{root / 'store'}")
    L.build(store, minilm, root / "images", only_images=lambda d: d["semantic_name"] == "Bean There Café")
    app = create_app(Settings(store=store.url, cache_dir=str(root / "cache"), rerank="off", vqa_model="none"),
                     store=store, models=text_only_models(minilm))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def test_dropping_a_counted_visit_updates_the_count_then_recount_keeps_it(page: Page, lifelog_server):
    page.goto(f"{lifelog_server}/ask?q={Q}")
    answer = page.locator(".answer-text[data-counted]")
    expect(answer).to_have_text("3")
    boxes = page.locator('.counted-form input[name="drop"]')
    expect(boxes).to_have_count(3)
    page.wait_for_load_state("load")  # counted.js (deferred) has attached its handlers
    boxes.nth(1).check()
    expect(answer).to_have_text("2")
    expect(page.locator(".counted-item.dropped")).to_have_count(1)
    boxes.nth(1).uncheck()
    expect(answer).to_have_text("3")
    boxes.nth(0).check()
    page.click(".counted-form button[type=submit]")
    page.wait_for_url("**drop=**")
    expect(page.locator(".answer-text[data-counted]")).to_have_text("2")
    expect(page.locator('.counted-form input[name="drop"]').nth(0)).to_be_checked()

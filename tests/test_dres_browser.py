"""dres.js in headless Chromium (system ``/usr/bin/chromium``, driven by Playwright): the search page over the
synthetic lifelog of test_eval_harness, DRES on the test server of test_dres. Every result card gets a Submit
button whose verdict or error appears as plain text; the shown list goes to DRES's result log."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from lifeseeker.config import Settings
from lifeseeker.models import Models

from . import test_eval_harness as synth
from .test_dres import PASSWORD, dres  # noqa: F401 - the ``dres`` fixture

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def site(dres, tmp_path):  # noqa: F811 - the imported fixture
    """(FakeDres, base URL of the lifeseeker app configured for it)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"needs {CHROMIUM} (apt-get install -y chromium)")
    from werkzeug.serving import make_server

    from lifeseeker.engine.store import open_store
    from lifeseeker.webui import create_app

    fake, dres_url = dres
    store = open_store(f"lance://{tmp_path / 'store'}")
    store.ensure_schema({"clip_vec": synth.D_CLIP, "capmeta_vec": synth.D_TEXT})
    store.upsert(synth.documents())
    models = Models(text=synth._Encoder(synth.D_TEXT, fixed=0), clip=synth._Encoder(synth.D_CLIP),
                    clip_dims=synth.D_CLIP)
    app = create_app(Settings(store=store.url, cache_dir=str(tmp_path / "cache")), store=store, models=models)
    app.config.update(LIFESEEKER_DRES_URL=dres_url, LIFESEEKER_DRES_USER="alice", LIFESEEKER_DRES_PASSWORD=PASSWORD)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
    store.close()


@pytest.fixture
def page(site, browser):
    """A page of pytest-playwright's session browser (the system Chromium: tests/conftest.py)."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "dres" in m.text else None)
    yield page
    page.close()
    assert not errors, errors


def test_submit_buttons_verdicts_and_result_log(site, page):
    from playwright.sync_api import expect

    fake, base = site
    page.goto(f"{base}/?q=hint+one")
    cards = page.locator("[data-id]")
    first_id = cards.first.get_attribute("data-id")
    assert first_id == synth.image_id(0)  # the "hint one" ranking starts with d0
    expect(cards.first.locator("button.dres-submit")).to_have_text("Submit")
    n_cards = cards.count()
    assert page.locator("button.dres-submit").count() >= n_cards > 0

    cards.first.locator("button.dres-submit").click()
    verdict = cards.first.locator(".dres-verdict")
    expect(verdict).to_have_text("CORRECT \u2014 Submission correct!")
    assert fake.bodies("/api/v2/submit")[-1] == {"answerSets": [{"answers": [{"mediaItemName": first_id}]}]}

    # a description carrying markup is shown as text, never parsed
    fake.replies.append((200, {"status": True, "submission": "WRONG", "description": "<b id=x>bold</b>"}))
    cards.nth(1).locator("button.dres-submit").click()
    expect(cards.nth(1).locator(".dres-verdict")).to_have_text("WRONG \u2014 <b id=x>bold</b>")
    assert page.locator("#x").count() == 0

    fake.replies.append((412, {"status": False, "description": "Duplicate submission received."}))
    cards.first.locator("button.dres-submit").click()
    expect(verdict).to_contain_text("Error: DRES submission: rejected (412): Duplicate submission received.")

    # the free-text bar submits a QA answer
    page.fill("input[name=dres_text]", "Umong Temple")
    page.click("form.dres-bar button[type=submit]")
    expect(page.locator("form.dres-bar [role=status]").first).to_have_text("CORRECT \u2014 Submission correct!")
    assert fake.bodies("/api/v2/submit")[-1] == {"answerSets": [{"answers": [{"text": "Umong Temple"}]}]}
    expect(page.locator("form.dres-bar")).to_contain_text("task: KIS-01 (LSC-KIS)")

    logs = fake.bodies("/api/v2/log/result")
    assert len(logs) == 1 and logs[0]["results"][0] == {"answer": {"mediaItemName": first_id}, "rank": 1}
    assert logs[0]["events"][0]["value"] == "hint one"

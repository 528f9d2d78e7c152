"""A question typed in the search box (issue 21, item 1; seed LifeSeeker 6.0 section 3.4, Figure 4: the interface
shows the possible answer of a question): the answer panel (answer, confidence, type, evidence) above the results,
each evidence card with its own possible answer, a count answer with the counted moments as thumbnails, and /ask
still a direct link. The panel must say what ``/api/answer`` says. Screenshot: test-artifacts/question.png."""

from __future__ import annotations

from urllib.parse import parse_qs, quote_plus, urlsplit

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser
COUNT_Q = "How many times did I go to Arezzo?"
WHEN_Q = "When did I walk in Arezzo?"


def test_count_question_shows_the_answer_and_the_counted_moments(page: Page, artifacts):
    page.set_viewport_size({"width": 1400, "height": 900})
    api = page.request.get(f"/api/answer?q={quote_plus(COUNT_Q)}").json()
    assert api["answer_type"] == "counting" and api["events"]
    page.goto(f"/?q={quote_plus(COUNT_Q)}")
    panel = page.locator("#answer-panel")
    expect(panel).to_be_visible()
    expect(panel.locator(".answer-text")).to_contain_text(api["answer"])
    expect(panel.locator(".type")).to_contain_text("counting")
    expect(panel.locator(".confidence")).to_have_text(f"{api['confidence'] * 100:.0f}%")
    # the counted occasions, each a thumbnail of its first image, in the answer's order
    moments = panel.locator("li.moment")
    expect(moments).to_have_count(len(api["events"]))
    expect(panel.locator(".moments-label")).to_contain_text(f"Counted {api['value']}")
    assert moments.evaluate_all("ms => ms.map(m => m.dataset.event)") == [e["event_id"] for e in api["events"]]
    # each thumbnail is a photo taken inside its moment's time span
    for i, ev in enumerate(api["events"]):
        src = moments.nth(i).locator("img").get_attribute("src")
        doc = page.request.get("/api" + src.replace("/thumb/", "/image/", 1)).json()
        assert ev["start"][:10] <= doc["local_time"][:10] <= ev["end"][:10], (ev, doc["local_time"])
        if ev["image_ids"]:
            assert src == f"/thumb/{ev['image_ids'][0]}"
    page.wait_for_function("() => Array.from(document.querySelectorAll('li.moment img')).every(i => i.complete && i.naturalWidth > 0)")
    # above the results, and the results are still there
    assert panel.bounding_box()["y"] < page.locator("ol.events").bounding_box()["y"]
    expect(page.locator("ol.events > li.event").first).to_be_visible()
    href = urlsplit(panel.locator("a.ask-link").get_attribute("href"))
    assert href.path == "/ask" and parse_qs(href.query) == {"q": [COUNT_Q]}
    page.wait_for_function("() => document.getElementById('map').dataset.basemap === 'world-atlas'")
    page.wait_for_function("""() => Array.from(document.querySelectorAll('main img')).filter(im => {
        const r = im.getBoundingClientRect(); return im.checkVisibility() && r.top >= 0 && r.bottom <= innerHeight; })
        .every(im => im.complete)""", timeout=90_000)  # the picture shows decoded thumbnails
    page.screenshot(path=str(artifacts / "question.png"))


def test_each_evidence_card_shows_its_possible_answer(page: Page):
    api = page.request.get(f"/api/answer?q={quote_plus(WHEN_Q)}").json()
    answered = {im["image_id"]: im["answer"] for im in api["images"] if im["answer"]}
    assert answered
    page.goto(f"/?q={quote_plus(WHEN_Q)}")
    expect(page.locator("#answer-panel .answer-text")).to_contain_text(api["answer"])
    shown = page.locator(".card .possible")
    assert shown.count() >= 1
    for i in range(shown.count()):
        card_id = shown.nth(i).evaluate("s => s.closest('.card').dataset.id")
        expect(shown.nth(i)).to_have_text(answered[card_id])
    on_page = set(page.locator("ol.events .card").evaluate_all("cs => cs.map(c => c.dataset.id)"))
    assert {i for i in answered if i in on_page} == set(shown.evaluate_all(
        "ss => ss.map(s => s.closest('.card').dataset.id)"))
    page.click("#answer-panel a.ask-link")  # /ask stays a direct link
    expect(page.locator("#answer .answer-text")).to_have_text(api["answer"])


def test_a_plain_search_has_no_answer_panel(page: Page):
    page.goto("/?q=walk+in+Arezzo")
    expect(page.locator("ol.events > li.event").first).to_be_visible()
    expect(page.locator("#answer-panel")).to_have_count(0)
    expect(page.locator(".card .possible")).to_have_count(0)

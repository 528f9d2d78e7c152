"""Sequences, typos and small defects (issue 21, items 7 and 8): "A, then B" says plainly when no pair passes the
relevance floor (engine/qa/evidence.py:above_floor, the floor question answering uses) instead of pairing
unrelated photos; a place typed with a typo gets "did you mean" from the collection's own place names; the
favicon; an out-of-range hour names its parameter and never shows Python's ``None``."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from lifeseeker.engine.qa.evidence import IAT_FLOOR, TAT_FLOOR

pytestmark = pytest.mark.browser


def _passes(event: dict, hits: dict, weights) -> bool:
    need = weights[0] * IAT_FLOOR + weights[1] * TAT_FLOOR  # both query vectors present (tiny CLIP + MiniLM)
    return any(weights[0] * hits[i]["iat"] + weights[1] * hits[i]["tat"] >= need for i in event["hit_ids"] if i in hits)


@pytest.mark.parametrize("query", ["q=a+walk%2C+then+a+street+within+20+min&city=Arezzo&gap=1",
                                   "q=a+red+car%2C+then+a+waterfall+within+2h",
                                   "q=Arezzo%2C+then+Arezzo+within+2h&weights=0,1&gap=1"])
def test_sequence_pairs_split_at_the_relevance_floor(page: Page, query):
    api = page.request.get(f"/api/search?{query}&limit=200").json()
    page.goto(f"/?{query}&limit=200")
    hits = {h["image_id"]: h for h in api["hits"] + api["then_hits"]}
    w = api["weights"]
    ok = [p for p in api["pairs"] if _passes(p["first"], hits, w) and _passes(p["second"], hits, w)]
    low = [p for p in api["pairs"] if p not in ok]
    main = page.locator("main ol.pairs:not(details ol) > li.pair")
    expect(main).to_have_count(len(ok))
    expect(page.locator("details.below-floor ol.pairs > li.pair")).to_have_count(len(low))
    expect(page.locator("h2.seq")).to_contain_text(f"{len(ok)} pair{'s' if len(ok) != 1 else ''} above the relevance floor")
    if api["pairs"] and not ok:
        expect(page.locator(".seq-floor")).to_be_visible()
        expect(page.locator(".seq-floor")).to_contain_text("No pair passes the relevance floor")
        expect(page.locator("details.below-floor")).not_to_have_attribute("open", "")
        assert not page.locator("details.below-floor li.pair").first.is_visible()  # weak pairs only on request
    else:
        expect(page.locator(".seq-floor")).to_have_count(0)


def test_unrelated_sides_get_the_plain_message(page: Page):
    """Random-weight CLIP cosines stay far below the 0.2 floor: whatever the store pairs, nothing passes."""
    page.goto("/?q=a+red+car%2C+then+a+waterfall+within+2h")
    expect(page.locator(".seq-floor")).to_contain_text("No pair passes the relevance floor")
    expect(page.locator("main ol.pairs:not(details ol) > li.pair")).to_have_count(0)


@pytest.mark.parametrize("typed,meant", [("Arrezo", "Arezzo"), ("Tuscanny", "Tuscany"), ("Itally", "Italy")])
def test_place_typo_gets_did_you_mean_from_the_collection(page: Page, typed, meant):
    names = page.request.get("/api/overview").json()["place_names"]
    assert meant in names and typed not in names  # the collection's own names decide
    page.goto(f"/?q=walk+in+{typed}")
    box = page.locator(".didyoumean")
    expect(box).to_contain_text(f"Did you mean {meant} (for “{typed}”)?")
    href = box.locator("a").first.get_attribute("href")
    assert parse_qs(urlsplit(href).query)["q"] == [f"walk in {meant}"]
    # a filter value too
    page.goto(f"/?q=walk&city={typed}")
    link = page.locator(".didyoumean a").first
    expect(link).to_have_text(meant)
    assert parse_qs(urlsplit(link.get_attribute("href")).query)["city"] == [meant]


def test_correct_places_and_ordinary_words_get_no_suggestion(page: Page):
    for q in ("walk+in+Arezzo", "walking+in+the+morning", "a+street+in+Tuscany"):
        page.goto(f"/?q={q}")
        expect(page.locator("ol.events, ol.pairs").first).to_be_attached()
        expect(page.locator(".didyoumean")).to_have_count(0)


def test_favicon(page: Page):
    errors: list[str] = []
    page.on("response", lambda r: errors.append(r.url) if r.status >= 400 else None)
    page.goto("/")
    href = page.locator("link[rel=icon]").get_attribute("href")
    icon = page.request.get(href)
    assert icon.status == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text().lstrip().startswith("<svg")
    legacy = page.request.get("/favicon.ico")
    assert legacy.status == 200 and legacy.body() == icon.body()
    assert errors == []


@pytest.mark.parametrize("params,message", [
    ("hour_from=25", "hour_from: expected a whole hour 0-23, got 25"),
    ("hour_to=abc", "hour_to: expected a whole hour 0-24, got 'abc'"),
    ("hour_from=7&hour_to=31", "hour_to: expected a whole hour 0-24, got 31"),
])
def test_bad_hour_names_the_parameter_without_none(page: Page, params, message):
    page.goto(f"/?q=walk&{params}")
    err = page.locator("p.error")
    expect(err).to_have_text(message)
    assert "None" not in page.locator("body").inner_text()
    api = page.request.get(f"/api/search?q=walk&{params}")
    assert api.status == 400 and api.json()["error"] == message


@pytest.mark.parametrize("path", ["/", "/day/2008-10-22", "/?q=walk+in+Arezzo", "/?q=How+many+times+did+I+go+to+Arezzo%3F"])
def test_pages_run_without_script_errors(page: Page, path):
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(path)
    page.wait_for_load_state("networkidle")
    assert errors == []

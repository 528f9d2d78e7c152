"""The search page in headless Chromium: search, progress indicator, open detail, temporal context strip with the
keyboard, mark relevant and re-search, map markers and timeline filtering, query by image. Saves a screenshot of
the results page to test-artifacts/results.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from ..conftest import SAMPLES

pytestmark = pytest.mark.browser
AREZZO_FIRST = "photos/jpg/gps/DSCN0010.jpg"


def search(page: Page, q: str) -> None:
    page.goto("/")
    page.fill("input[name=q]", q)
    page.click("#search button[type=submit]")
    page.wait_for_selector("ol.events > li.event")
    page.wait_for_load_state("domcontentloaded")  # app.js (end of body) has attached its handlers


def visible_rank(page: Page, image_id: str) -> int:
    text = page.locator(f'.card[data-id="{image_id}"] .rank').first.text_content()
    return int(text.strip().lstrip("#"))


def test_search_shows_event_rows_map_timeline_and_screenshot(page: Page, artifacts):
    page.set_viewport_size({"width": 1280, "height": 1000})
    search(page, "walk in Arezzo")
    rows = page.locator("ol.events > li.event")
    api = page.request.get("/api/search?q=walk+in+Arezzo").json()
    expect(rows).to_have_count(len(api["events"]))
    for i in range(3):  # each row: at most 3 frames up front, a time span and its score
        expect(rows.nth(i).locator("ol.frames.top > li.card")).to_have_count(len(api["events"][i]["top"]))
    arezzo = page.locator(f'li.event[data-event="{AREZZO_FIRST}"]')
    expect(arezzo.locator(".event-head")).to_contain_text("Wed 2008-10-22 16:28–17:00 (31 min)")
    expect(arezzo.locator(".event-head .place")).to_have_text("Arezzo")
    located = [e for e in api["events"] if e["location"]]
    expect(page.locator("#map path.result-marker")).to_have_count(len(located))
    expect(page.locator("#timeline .day")).to_have_count(len(api["timeline"]))
    heights = page.eval_on_selector_all("#timeline .day .bar", "bs => bs.map(b => b.getBoundingClientRect().height)")
    assert all(h > 0 for h in heights) and max(heights) > min(heights)
    busiest = page.locator('#timeline .day[data-date="2008-10-22"]')  # 9 hits: the tallest bar, scrolled to
    assert busiest.locator(".bar").bounding_box()["height"] == max(heights)
    expect(busiest).to_be_in_viewport()
    thumbs = page.locator("ol.frames.top img")
    for i in range(min(6, thumbs.count())):  # thumbnails decoded before the picture is taken
        expect(thumbs.nth(i)).to_have_js_property("complete", True)
        expect(thumbs.nth(i)).not_to_have_js_property("naturalWidth", 0)
    page.screenshot(path=str(artifacts / "results.png"), full_page=False)
    assert (artifacts / "results.png").stat().st_size > 10_000


def test_progress_indicator_is_visible_while_a_search_runs(page: Page):
    page.goto("/")
    expect(page.locator("#busy")).to_be_hidden()
    held = []
    page.route(re.compile(r".*/\?q=.*"), lambda route: held.append(route))  # the server never answers
    page.fill("input[name=q]", "walk")
    # submit as the Search button does and read the indicator's state while the request is pending
    state = page.locator("#search").evaluate("""f => {
        f.requestSubmit();
        const busy = document.getElementById('busy');
        const bar = busy.querySelector('.bar');
        return {hidden: busy.hidden, display: getComputedStyle(busy).display,
                width: busy.getBoundingClientRect().width, text: busy.textContent,
                animation: getComputedStyle(bar).animationName};
    }""")
    assert state["hidden"] is False and state["display"] != "none" and state["width"] > 50
    assert state["text"] == "Searching…" and state["animation"] == "lsbusy"
    page.wait_for_timeout(200)  # the navigation stays pending: no answer has come
    assert len(held) == 1 and "q=walk" in held[0].request.url
    page.unroute(re.compile(r".*/\?q=.*"))


def test_open_detail_and_walk_the_context_strip_with_the_keyboard(page: Page, artifacts):
    page.set_viewport_size({"width": 1400, "height": 1000})
    search(page, "walk in Arezzo")
    card = page.locator(f'li.event[data-event="{AREZZO_FIRST}"] ol.frames.top > li.card').first
    card_id = card.get_attribute("data-id")
    card.click()
    detail = page.locator("#detail")
    expect(detail).to_be_visible()
    expect(detail.locator("img.full")).to_have_attribute("src", f"/image/{card_id}")
    expect(detail.locator("dl")).to_contain_text("IaT")
    ctx = page.request.get(f"/api/context/{card_id}?minutes=30").json()
    ids = [d["image_id"] for d in ctx["images"]]
    items = detail.locator(".context .ctx-item")
    expect(items).to_have_count(len(ids))
    current = detail.locator(".ctx-item[aria-current=true]")
    expect(current).to_have_attribute("data-id", card_id)
    expect(card).to_be_focused()  # opened by click: focus stays on the card, arrows walk the results
    current.focus()
    step = 1 if ctx["index"] + 1 < len(ids) else -1
    page.keyboard.press("ArrowRight" if step == 1 else "ArrowLeft")
    target = ids[ctx["index"] + step]
    expect(detail.locator(f'.ctx-item[data-id="{target}"]')).to_be_focused()
    page.keyboard.press("Enter")  # open the neighbour: detail and strip re-centre on it
    expect(detail.locator("img.full")).to_have_attribute("src", f"/image/{target}")
    expect(detail.locator(".ctx-item[aria-current=true]")).to_have_attribute("data-id", target)
    expect(detail.locator(".ctx-item[aria-current=true]")).to_be_focused()
    page.screenshot(path=str(artifacts / "detail.png"))
    # a wider window from the slider (index 6 = 240 min) shows what the API gives for it
    detail.locator(".context input[type=range]").evaluate(
        "r => { r.value = '6'; r.dispatchEvent(new Event('input')); r.dispatchEvent(new Event('change')); }")
    wide = page.request.get(f"/api/context/{target}?minutes=240").json()
    expect(detail.locator(".context output")).to_have_text("± 240 min")
    expect(detail.locator(".context .ctx-item")).to_have_count(len(wide["images"]))
    expect(detail.locator(".context input[type=range]")).to_be_focused()  # the slider keeps the focus
    detail.locator(".ctx-item[aria-current=true]").focus()
    page.keyboard.press("Escape")
    expect(detail).to_be_hidden()


def test_mark_relevant_and_re_search(page: Page):
    search(page, "a sign in a city")
    tops = page.locator("ol.events > li.event ol.frames.top > li.card")
    ids = [tops.nth(i).get_attribute("data-id") for i in (8, 10)]
    before = {i: visible_rank(page, i) for i in ids}
    for i in ids:
        page.locator(f'.card[data-id="{i}"] .mark.rel').first.click()
    expect(page.locator("#markcount")).to_have_text("2 marked relevant, 0 not relevant")
    expect(page.locator(f'.card[data-id="{ids[0]}"] .mark.rel').first).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#detail")).to_be_hidden()  # marking does not open the detail
    page.click("#research")
    page.wait_for_url(re.compile(r".*relevant=.*relevant=.*"))
    expect(page.locator(".summary")).to_contain_text("with relevance feedback")
    after = {i: visible_rank(page, i) for i in ids}
    assert all(after[i] < before[i] for i in ids), (before, after)
    expect(page.locator(f'.card[data-id="{ids[0]}"]').first).to_have_attribute("data-mark", "relevant")
    expect(page.locator("#markcount")).to_have_text("2 marked relevant, 0 not relevant")
    expect(page.locator("nav.suggestions li").first).to_be_visible()  # questions from the marked images


def test_map_and_timeline_filter_the_rows_on_click(page: Page):
    search(page, "walk in Arezzo")
    rows = page.locator("ol.events > li.event")
    total = rows.count()
    markers = page.locator("#map path.result-marker")
    assert markers.count() > 1
    page.locator(f'li.event[data-event="{AREZZO_FIRST}"]').scroll_into_view_if_needed()
    lat = float(page.locator(f'li.event[data-event="{AREZZO_FIRST}"]').get_attribute("data-lat"))
    # click the marker of the Arezzo event through Leaflet's own layer lookup (markers may overlap on screen)
    page.evaluate("""([lat]) => {
        const paths = Array.from(document.querySelectorAll('#map path.result-marker'));
        paths[0].dispatchEvent(new MouseEvent('click', {bubbles: true}));
    }""", [lat])
    expect(page.locator("#filterchip")).to_be_visible()
    expect(page.locator("#filterchip .text")).to_contain_text("Near")
    shown = page.locator("ol.events > li.event:not([hidden])")
    assert 0 < shown.count() < total
    page.click("#clearfilter")
    expect(page.locator("ol.events > li.event:not([hidden])")).to_have_count(total)
    page.click('#timeline .day[data-date="2008-10-22"]')
    expect(page.locator("ol.events > li.event:not([hidden])")).to_have_count(
        page.locator('ol.events > li.event[data-date="2008-10-22"]').count())
    expect(page.locator(f'li.event[data-event="{AREZZO_FIRST}"]')).to_be_visible()
    expect(page.locator("#filterchip .text")).to_have_text("Day 2008-10-22")


def test_query_by_image_from_the_page(page: Page):
    page.goto("/")
    page.set_input_files("#imgsearch input[type=file]", str(SAMPLES / "jpg/gps/DSCN0040.jpg"))
    page.click("#imgsearch button[type=submit]")
    expect(page.locator(".summary")).to_contain_text("query by image")
    expect(page.locator("ol.events > li.event").first).to_be_visible()


def test_sequence_pairs_are_shown_side_by_side(page: Page, artifacts):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/?q=a+walk%2C+then+a+street+within+20+min&city=Arezzo&gap=1")
    api = page.request.get("/api/search?q=a+walk%2C+then+a+street+within+20+min&city=Arezzo&gap=1").json()
    pairs = page.locator("ol.pairs > li.pair")
    expect(pairs).to_have_count(len(api["pairs"]))
    expect(page.locator("h2.seq")).to_contain_text("“a walk”, then “a street” within 20 min")
    first = api["pairs"][0]
    expect(pairs.first.locator(".event").first).to_have_attribute("data-event", first["first"]["event_id"])
    expect(pairs.first.locator(".event").nth(1)).to_have_attribute("data-event", first["second"]["event_id"])
    expect(pairs.first.locator(".gap")).to_contain_text(f"+{round(first['gap_s'] / 60)} min")
    b_rank = {h["image_id"]: h["rank"] for h in api["then_hits"]}  # B frames show their rank in the B list
    b_card = pairs.first.locator(".event").nth(1).locator(".card").first
    expect(b_card.locator(".rank")).to_have_text(f"#{b_rank[b_card.get_attribute('data-id')]}")
    page.screenshot(path=str(artifacts / "sequence.png"))

"""Browsing the whole lifelog (issue 21, item 3): the home page's calendar on a true time axis (every year, month,
day or hour of the range has its slot, empty ones too), zooming years -> months -> days -> hours, a map of every
place, and the day view; a day, an hour or a place narrows the search. Counts are checked against /api/overview
and the store's own documents. Screenshots: test-artifacts/home.png, test-artifacts/day.png."""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser
FOLD = {"width": 1400, "height": 900}


@pytest.fixture(scope="module")
def truth(sample_store):
    """Photos per local hour (``YYYY-MM-DDTHH``) and geotagged count, read straight from the store."""
    from lifeseeker.engine.filters import Weights
    from lifeseeker.engine.store.base import VectorQuery

    store, _ = sample_store
    docs = [h.doc for h in store.search(VectorQuery(None, None, Weights()), (), limit=store.count())]
    hours = Counter(d["local_time"].strftime("%Y-%m-%dT%H") for d in docs if d.get("local_time"))
    geo = sum(1 for d in docs if (d.get("location") or {}).get("lat") is not None)
    return hours, geo, len(docs)


def slot_counts(page: Page) -> dict[str, int]:
    return dict(page.locator("#calendar .slot").evaluate_all("ss => ss.map(s => [s.dataset.key, Number(s.dataset.count)])"))


def test_calendar_zooms_on_a_true_time_axis(page: Page, truth, artifacts):
    hours, _, total = truth
    page.set_viewport_size(FOLD)
    page.goto("/")
    expect(page.locator("#calendar .slot").first).to_be_visible()
    years = sorted({k[:4] for k in hours})
    counts = slot_counts(page)
    assert list(counts) == [str(y) for y in range(int(years[0]), int(years[-1]) + 1)]  # every year, in order
    assert any(v == 0 for v in counts.values())  # empty years keep their place on the axis
    assert counts == {y: sum(v for k, v in hours.items() if k[:4] == y) for y in counts}
    boxes = page.locator("#calendar .slot").evaluate_all("ss => ss.map(s => s.getBoundingClientRect())")
    widths = {round(b["width"]) for b in boxes}
    assert max(widths) - min(widths) <= 1  # equal time, equal width
    assert all(b2["x"] > b1["x"] for b1, b2 in zip(boxes, boxes[1:]))
    expect(page.locator("#placemap path.place-marker").first).to_be_visible()
    page.wait_for_function("() => document.getElementById('placemap').dataset.basemap === 'world-atlas'")
    page.screenshot(path=str(artifacts / "home.png"))

    busiest_day = max({k[:10] for k in hours}, key=lambda d: (sum(v for k, v in hours.items() if k[:10] == d), d))
    y, m, d = busiest_day.split("-")
    page.click(f'#calendar .slot[data-key="{y}"]')
    counts = slot_counts(page)
    assert list(counts) == [f"{y}-{i:02d}" for i in range(1, 13)]
    assert counts == {k: sum(v for h, v in hours.items() if h.startswith(k)) for k in counts}
    page.click(f'#calendar .slot[data-key="{y}-{m}"]')
    counts = slot_counts(page)
    assert len(counts) in (28, 29, 30, 31) and list(counts)[0] == f"{y}-{m}-01"
    page.click(f'#calendar .slot[data-key="{busiest_day}"]')
    counts = slot_counts(page)
    assert list(counts) == [f"{busiest_day}T{h:02d}" for h in range(24)]
    assert counts == {k: hours.get(k, 0) for k in counts}
    expect(page.locator("#crumbs a.day-link")).to_have_attribute("href", f"/day/{busiest_day}")
    # an hour narrows the search to that hour
    hour = next(k for k, v in counts.items() if v)
    page.click(f'#calendar .slot[data-key="{hour}"]')
    page.wait_for_url(re.compile(r".*hour_from=.*"))
    q = parse_qs(urlsplit(page.url).query)
    assert q["date_from"] == [busiest_day] and q["hour_from"] == [str(int(hour[11:]))]
    api = page.request.get("/api/search?" + urlsplit(page.url).query).json()
    assert api["total_filtered"] == hours[hour]
    expect(page.locator("ol.events .card")).to_have_count(hours[hour])
    # zoom back out through the crumbs
    page.go_back()
    expect(page.locator("#calendar .slot").first).to_be_visible()


def test_map_of_every_place_narrows_the_search(page: Page, truth):
    _, geo, _ = truth
    page.goto("/")
    api = page.request.get("/api/overview").json()
    assert sum(p["count"] for p in api["places"]) == geo
    markers = page.locator("#placemap path.place-marker")
    expect(markers).to_have_count(len(api["places"]))
    markers.first.dispatch_event("click")
    page.wait_for_url(re.compile(r".*near=.*"))
    assert parse_qs(urlsplit(page.url).query)["radius_km"] == ["2"]
    expect(page.locator("ol.events .card").first).to_be_visible()


def test_day_view_lists_the_days_events_in_order(page: Page, truth, artifacts):
    hours, _, _ = truth
    page.set_viewport_size(FOLD)
    day = "2008-10-22"
    page.goto(f"/day/{day}")
    n = sum(v for k, v in hours.items() if k.startswith(day))
    expect(page.locator(".day-title")).to_contain_text(f"{n} photos")
    expect(page.locator("ol.day-frames img")).to_have_count(n)
    starts = page.locator("li.day-event").evaluate_all("es => es.map(e => e.dataset.start)")
    assert starts == sorted(starts) and len(starts) >= 1
    first = page.locator("li.day-event").first
    expect(first.locator(".when")).to_have_text(re.compile(r"^\d\d:\d\d(–\d\d:\d\d)?$"))
    expect(first.locator(".place")).to_have_text("Arezzo")
    page.wait_for_function("() => Array.from(document.querySelectorAll('ol.day-frames img')).slice(0, 6).every(i => i.complete && i.naturalWidth > 0)")
    page.screenshot(path=str(artifacts / "day.png"))
    first.locator(".when").click()  # the event's hours, searched
    page.wait_for_url(re.compile(r".*hour_from=.*"))
    expect(page.locator("ol.events .card").first).to_be_visible()


def test_bad_day_is_a_clear_message(page: Page):
    r = page.request.get("/day/2008-13-40")
    assert r.status == 400 and "day: expected YYYY-MM-DD" in r.text()

"""Scores explained (issue 21, item 6): the detail shows ``0.7·IaT + 0.3·TaT + boosts = score`` with each chip's
boost, and the shown terms add up to the shown score (docs/ARCHITECTURE.md, "The score"); an event tile's score
is its best frame's plus EVENT_SUPPORT x the mean of the next two (engine/events.py), with the frames' scores that
the API gives."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from lifeseeker.engine.events import EVENT_SUPPORT

pytestmark = pytest.mark.browser
Q = "walk in Arezzo in October 2008"


def test_detail_terms_add_up_to_the_score_with_each_chip(page: Page):
    page.set_viewport_size({"width": 1400, "height": 900})
    api = page.request.get(f"/api/search?q={Q}").json()
    chips = {c["key"] for c in api["chips"]}
    assert {"city", "date"} <= chips
    hits = {h["image_id"]: h for h in api["hits"]}
    page.goto(f"/?q={Q}")
    arezzo = next(h for h in api["hits"] if h.get("city") == "Arezzo")
    page.locator(f'ol.events .card[data-id="{arezzo["image_id"]}"]').first.click()
    dd = page.locator("#detail dd.score-terms")
    expect(dd).to_be_visible()
    terms = dd.locator(".term").evaluate_all("ts => ts.map(t => [t.dataset.label, Number(t.dataset.value)])")
    labels = [t[0] for t in terms]
    assert labels[:2] == [f"{w:g}·IaT" for w in api["weights"][:1]] + [f"{api['weights'][1]:g}·TaT"]
    assert "other" not in labels  # nothing left unexplained
    assert {"city", "date"} <= set(labels)  # the chips' boosts, each named
    total = float(dd.locator(".total").text_content())
    h = hits[arezzo["image_id"]]
    assert total == pytest.approx(h["score"], abs=1e-4)
    assert sum(v for _, v in terms) == pytest.approx(total, abs=3e-4)
    assert dict(terms)[labels[0]] == pytest.approx(api["weights"][0] * h["iat"], abs=1e-4)
    assert dict(terms)[labels[1]] == pytest.approx(api["weights"][1] * h["tat"], abs=1e-4)
    # removing the city chip removes its term, and the rest still adds up
    page.goto(f"/?q={Q}&ignore=city")
    page.locator(f'ol.events .card[data-id="{arezzo["image_id"]}"]').first.click()
    terms2 = page.locator("#detail dd.score-terms .term").evaluate_all(
        "ts => ts.map(t => [t.dataset.label, Number(t.dataset.value)])")
    assert "city" not in dict(terms2) and "other" not in dict(terms2)
    total2 = float(page.locator("#detail dd.score-terms .total").text_content())
    assert sum(v for _, v in terms2) == pytest.approx(total2, abs=3e-4)


def test_event_score_is_explained_from_its_frames(page: Page):
    api = page.request.get(f"/api/search?q={Q}").json()
    page.goto(f"/?q={Q}")
    for ev in api["events"][:8]:
        frames = sorted((hit["score"] for hit in api["hits"] if hit["image_id"] in ev["hit_ids"]), reverse=True)
        expected = frames[0] + (EVENT_SUPPORT * sum(frames[1:3]) / len(frames[1:3]) if frames[1:3] else 0.0)
        assert ev["score"] == pytest.approx(expected, abs=1e-5)
        score = page.locator(f'li.event[data-event="{ev["event_id"]}"] .event-head .score')
        expect(score).to_have_text(f"{ev['score']:.3f}")
        assert float(score.get_attribute("data-best")) == pytest.approx(frames[0], abs=1e-4)
        expect(score).to_have_attribute("title", f"event score = best frame {frames[0]:.3f}" + (
            f" + {EVENT_SUPPORT} × mean of the next {len(frames[1:3])} ({', '.join(str(round(f, 3)) for f in frames[1:3])})"
            if frames[1:3] else "") + f" = {ev['score']:.3f}")

"""The keyboard-first flow (issue 21, item 5) end to end in headless Chromium, against the fake DRES server of
tests/test_dres.py (which follows DRES v2's client OpenAPI, dres-backend ``doc/oas-client.json``): ``/`` focuses
the search, arrows move across the tiles, ``+``/``-`` mark, ``h`` appends the KIS task's next hint to the query
with the marks kept, Enter opens the detail, Esc closes it, ``s`` submits the selected image and shows the
verdict, ``?`` shows the keys. The synthetic lifelog is test_eval_harness's (its fake encoder ranks each hint
text in a known order)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .. import test_eval_harness as synth
from ..test_dres import dres  # noqa: F401 - the ``dres`` fixture ``site`` uses
from ..test_dres_browser import site  # noqa: F401 - the app over the synthetic lifelog, configured for the fake DRES

pytestmark = pytest.mark.browser


def selected(page: Page) -> str:
    return page.evaluate("() => document.activeElement.classList.contains('card') ? document.activeElement.dataset.id : null")


def test_search_move_mark_hint_open_submit_with_the_keyboard(site, page: Page, artifacts):
    fake, base = site
    page.set_viewport_size({"width": 700, "height": 900})  # several rows of tiles
    page.goto(base + "/")
    page.locator("body").click(position={"x": 5, "y": 300})  # focus away from the search box
    page.keyboard.press("/")
    expect(page.locator("input[name=q]")).to_be_focused()
    page.keyboard.type("hint one")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*q=hint\+one.*"))
    expect(page.locator("ol.events .card").first).to_be_visible()
    expect(page.locator("form.dres-bar")).to_contain_text("task: KIS-01")  # dres.js found the server

    order = page.locator("ol.events .card").evaluate_all("cs => cs.map(c => c.dataset.id)")
    assert order[:2] == [synth.image_id(0), synth.image_id(1)]  # the "hint one" ranking
    page.keyboard.press("ArrowDown")  # from the search box into the grid
    assert selected(page) == order[0]
    page.keyboard.press("ArrowRight")
    assert selected(page) == order[1]
    page.keyboard.press("ArrowLeft")
    assert selected(page) == order[0]
    # down: the tile below, nearest in x
    first_box = page.locator(f'.card[data-id="{order[0]}"]').bounding_box()
    page.keyboard.press("ArrowDown")
    below = page.locator(f'.card[data-id="{selected(page)}"]').bounding_box()
    assert below["y"] >= first_box["y"] + first_box["height"] - 2 and abs(below["x"] - first_box["x"]) < 5
    page.keyboard.press("ArrowUp")
    assert selected(page) == order[0]

    page.keyboard.press("+")
    card0 = page.locator(f'.card[data-id="{order[0]}"]')
    expect(card0).to_have_attribute("data-mark", "relevant")
    expect(page.locator("#markcount")).to_have_text("1 marked relevant, 0 not relevant")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("-")
    expect(page.locator(f'.card[data-id="{order[1]}"]')).to_have_attribute("data-mark", "irrelevant")

    # the next hint, appended to the query; both marks travel with the re-search
    page.keyboard.press("h")
    expect(page.locator("#hintbox input")).to_be_focused()
    page.keyboard.type("two")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*q=hint\+one\+two.*"))
    assert f"relevant={order[0]}" in page.url and f"irrelevant={order[1]}" in page.url
    expect(page.locator("input[name=q]")).to_have_value("hint one two")
    expect(page.locator(".summary")).to_contain_text("with relevance feedback")
    expect(page.locator(f'.card[data-id="{order[0]}"]').first).to_have_attribute("data-mark", "relevant")

    # into the grid, open the detail, close it, submit the selected image
    page.keyboard.press("Escape")
    target = selected(page)
    assert target is not None
    page.keyboard.press("Enter")
    expect(page.locator("#detail")).to_be_visible()
    expect(page.locator("#detail img.full")).to_have_attribute("src", f"/image/{target}")
    page.keyboard.press("Escape")
    expect(page.locator("#detail")).to_be_hidden()
    page.keyboard.press("s")
    verdict = page.locator(f'.card[data-id="{target}"] .dres-verdict').first
    expect(verdict).to_have_text("CORRECT \u2014 Submission correct!")
    expect(verdict).to_be_visible()
    assert fake.bodies("/api/v2/submit")[-1] == {"answerSets": [{"answers": [{"mediaItemName": target}]}]}

    page.keyboard.press("?")
    help_box = page.locator("#help")
    expect(help_box).to_be_visible()
    for key in ("/", "Enter", "+", "-", "s", "h", "Esc", "?"):
        expect(help_box.locator("dt", has_text=key).first).to_be_visible()
    page.set_viewport_size({"width": 1400, "height": 900})
    page.screenshot(path=str(artifacts / "keys-help.png"))
    page.keyboard.press("Escape")
    expect(help_box).to_be_hidden()


def test_s_without_dres_says_so(page: Page):
    """On the sample app (no DRES configured) ``s`` submits nothing and says why."""
    page.goto("/?q=walk+in+Arezzo")
    expect(page.locator("ol.events .card").first).to_be_visible()
    page.locator("input[name=q]").press("ArrowDown")
    page.keyboard.press("s")
    expect(page.locator("#toast")).to_have_text("DRES is not configured: nothing submitted")

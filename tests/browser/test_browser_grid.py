"""The dense results grid (issue 21, item 2) in headless Chromium at 1400x900: event tiles several to a row (one
column per frame shown), at least 24 thumbnails above the fold for a 50-hit search, the column count following the
width, "All N frames" showing all N, and every notice folded into one line (the model-missing notice: one short
line, the download command behind it, no exception text, shown once). Screenshot: test-artifacts/search.png."""

from __future__ import annotations

import threading

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser
FOLD = {"width": 1400, "height": 900}
QUERY = "people in a street"

# Thumbnails whose whole box is inside the viewport (the fold) and that have decoded.
ABOVE_FOLD = """() => Array.from(document.querySelectorAll('ol.events img')).filter(im => {
    const r = im.getBoundingClientRect();
    if (!im.checkVisibility()) return false;  // inside a closed "All N frames"
    return r.width > 40 && r.height > 30 && r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight
        && r.right <= innerWidth && im.complete && im.naturalWidth > 0;
}).length"""


def _wait_for_thumbs(page: Page, at_least: int) -> None:
    """Until ``at_least`` thumbnails above the fold have decoded (HEIC/TIFF thumbnails are made on first use)."""
    page.wait_for_function(f"() => ({ABOVE_FOLD})() >= {at_least}", timeout=90_000)


def test_fifty_hits_put_at_least_24_thumbnails_above_the_fold(page: Page, artifacts):
    page.set_viewport_size(FOLD)
    api = page.request.get(f"/api/search?q={QUERY}&limit=50").json()
    assert len(api["hits"]) == 50
    page.goto(f"/?q={QUERY}")
    expect(page.locator("ol.events > li.event")).to_have_count(len(api["events"]))
    _wait_for_thumbs(page, 24)
    shown = page.evaluate(ABOVE_FOLD)
    assert shown >= 24, shown
    (artifacts / "above-fold.txt").write_text(f"{shown} thumbnails fully above the fold at 1400x900, q={QUERY!r}\n")
    # several tiles per row: the first row holds more than one event
    tops = page.eval_on_selector_all("ol.events > li.event", "ts => ts.map(t => Math.round(t.getBoundingClientRect().top))")
    assert tops.count(tops[0]) >= 4
    # each tile: its top frames (one grid column each), time, place when known, score
    first = api["events"][0]
    tile = page.locator("ol.events > li.event").first
    expect(tile.locator("ol.frames.top > li.card")).to_have_count(len(first["top"]))
    expect(tile.locator(".event-head .score")).to_have_text(f"{first['score']:.3f}")
    expect(tile.locator(".event-head .span")).to_contain_text(first["start"][:10])
    placed = next(i for i, e in enumerate(api["events"]) if e["place"])
    expect(page.locator("ol.events > li.event").nth(placed).locator(".place")).to_have_text(api["events"][placed]["place"])
    page.wait_for_function("() => document.getElementById('map').dataset.basemap === 'world-atlas'")
    page.wait_for_function("""() => Array.from(document.querySelectorAll('main img')).filter(im => {
        const r = im.getBoundingClientRect(); return im.checkVisibility() && r.top >= 0 && r.bottom <= innerHeight; })
        .every(im => im.complete)""", timeout=90_000)  # the picture shows decoded thumbnails
    page.screenshot(path=str(artifacts / "search.png"))
    assert (artifacts / "search.png").stat().st_size > 20_000


def test_column_count_follows_the_width(page: Page):
    cols = {}
    for width in (1400, 900, 480):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"/?q={QUERY}")
        cols[width] = page.eval_on_selector(
            "ol.events", "ol => getComputedStyle(ol).gridTemplateColumns.split(' ').length")
        # no tile sticks out of the page sideways
        overflow = page.evaluate("() => document.documentElement.scrollWidth - innerWidth")
        assert overflow <= 0, (width, overflow)
    assert cols[1400] > cols[900] > cols[480] >= 1, cols
    assert cols[1400] >= 7


def test_all_n_frames_shows_all_n(page: Page):
    page.set_viewport_size(FOLD)
    api = page.request.get("/api/search?q=walk+in+Arezzo").json()
    big = next(e for e in api["events"] if e["size"] > len(e["top"]))
    page.goto("/?q=walk+in+Arezzo")
    tile = page.locator(f'li.event[data-event="{big["event_id"]}"]')
    summary = tile.locator("details.more > summary")
    expect(summary).to_have_text(f"All {big['size']} frames")
    summary.click()
    cards = tile.locator(".card")
    expect(cards).to_have_count(big["size"])
    ids = sorted(cards.evaluate_all("cs => cs.map(c => c.dataset.id)"))
    assert ids == sorted(big["hit_ids"])  # every frame once, none hidden behind a second click
    assert all(cards.nth(i).is_visible() for i in range(big["size"]))
    # the opened tile takes the whole row
    width = tile.evaluate("t => t.getBoundingClientRect().width / t.parentElement.getBoundingClientRect().width")
    assert width > 0.95


@pytest.fixture(scope="module")
def textonly_server(sample_store, minilm, tmp_path_factory):
    """The app over the sample store with no CLIP model, as ``load_models`` reports it (the loader's message keeps
    the exception text, which the page must not show)."""
    from werkzeug.serving import make_server

    from lifeseeker.config import Settings
    from lifeseeker.models import Models
    from lifeseeker.webui import create_app

    store, _ = sample_store
    notice = ("No CLIP model: running text-only (TaT over CapMeta). CLIP model ViT-B-16/datacomp_xl_s13b_b90k could "
              "not be loaded (OSError: [Errno 101] Network is unreachable: '/root/.cache/xyz'). Provide it by ...")
    models = Models(text=minilm, clip=None, clip_dims=32, notices=[notice])
    app = create_app(Settings(store=store.url, cache_dir=str(tmp_path_factory.mktemp("textonly")), rerank="off"),
                     store=store, models=models)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def test_notices_are_one_line_and_the_model_notice_is_shown_once(page: Page, textonly_server):
    import open_clip

    page.set_viewport_size(FOLD)
    # a query notice (the parser's) and the service's model notice together
    page.goto(f"{textonly_server}/?q=foo:bar+a+street")
    box = page.locator("#notices")
    expect(box).to_be_visible()
    assert box.bounding_box()["height"] < 30  # one line
    expect(box.locator("summary")).to_contain_text("2 notices")
    expect(box.locator("summary")).to_contain_text("No CLIP model: running text-only")
    box.locator("summary").click()
    # the command fetches what open_clip's pretrained table names (open_clip src/open_clip/pretrained.py) into the
    # Hugging Face cache, where models/clip.py:weights_cached looks
    repo = open_clip.get_pretrained_cfg("ViT-B-16", "datacomp_xl_s13b_b90k")["hf_hub"].strip("/")
    expect(box.locator(".notice-commands")).to_contain_text(f"hf download {repo} open_clip_model.safetensors")
    text = page.locator("body").inner_text()
    assert "OSError" not in text and "Errno" not in text and "/root/.cache" not in text
    assert text.count("No CLIP model") == 1
    # the next page load: the model notice is not shown again, the query's own notice still is
    page.goto(f"{textonly_server}/?q=foo:bar+a+street")
    expect(page.locator("#notices summary")).to_contain_text("1 notice")
    expect(page.locator("#notices summary")).not_to_contain_text("CLIP")
    page.goto(f"{textonly_server}/?q=a+street")
    expect(page.locator("#notices")).to_be_hidden()
    btn = page.locator("#notices-btn")
    expect(btn).to_be_visible()
    btn.click()
    expect(page.locator("#notices .notice-item[data-kind=service]")).to_be_visible()

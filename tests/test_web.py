"""The Flask app: search page, JSON API, image serving confined to the ingested roots, escaping, headers."""

from __future__ import annotations


import numpy as np
import pytest

from lifeseeker.config import Settings
from lifeseeker.engine.store import open_store
from lifeseeker.webui import create_app

from .conftest import SAMPLES
from .webapp import one_photo_app


@pytest.fixture(scope="module")
def client(sample_store, tiny_models, tmp_path_factory):
    store, _ = sample_store
    cache = tmp_path_factory.mktemp("cache")
    app = create_app(Settings(store=store.url, cache_dir=str(cache)), store=store, models=tiny_models)
    app.testing = True
    return app.test_client()


def test_api_search_returns_ranked_hits_with_both_components(client):
    r = client.get("/api/search", query_string={"q": "old town street", "country": "Italy", "limit": 5})
    assert r.status_code == 200
    body = r.get_json()
    assert body["total_filtered"] == 10 and len(body["hits"]) == 5
    assert [h["rank"] for h in body["hits"]] == [1, 2, 3, 4, 5]
    scores = [h["score"] for h in body["hits"]]
    assert scores == sorted(scores, reverse=True)
    for h in body["hits"]:
        assert h["country"] == "Italy"
        assert h["score"] == pytest.approx(0.7 * h["iat"] + 0.3 * h["tat"], abs=2e-6)
        assert h["iat"] != 0 and h["tat"] != 0
        assert h["thumb_url"].startswith("/thumb/") and "clip_vec" not in h


def test_api_search_weights_and_arezzo_filters(client):
    r = client.get("/api/search", query_string={"q": "walk", "near": "43.467,11.88", "radius_km": "2",
                                                "date_from": "2008-10-22", "date_to": "2008-10-22",
                                                "weights": "1,0"})
    body = r.get_json()
    assert body["weights"] == [1.0, 0.0]
    assert sorted(h["image_id"] for h in body["hits"]) == [
        f"photos/jpg/gps/DSCN00{n}.jpg" for n in (10, 12, 21, 25, 27, 29, 38, 40, 42)]
    assert all(h["score"] == pytest.approx(h["iat"], abs=2e-6) for h in body["hits"])


@pytest.mark.parametrize("params,needle", [
    ({"near": "95,10"}, "latitude"), ({"date_from": "2019-02-30"}, "date_from"), ({"limit": "0"}, "limit"),
    ({"limit": "abc"}, "limit"), ({"weekday": "Funday"}, "weekday"), ({"weights": "1"}, "weights"),
    ({"hour_from": "25"}, "hour"), ({"radius_km": "3"}, "near"), ({"box": "1,2,3"}, "box"),
])
def test_api_bad_input_is_a_400_naming_the_parameter(client, params, needle):
    r = client.get("/api/search", query_string={"q": "x", **params})
    assert r.status_code == 400
    assert needle in r.get_json()["error"]


def test_injection_value_matches_nothing_and_breaks_nothing(client):
    for value in ["x' OR 1=1 --", "'; DROP TABLE lifelog; --", "\" OR \"\"=\""]:
        r = client.get("/api/search", query_string={"q": "street", "country": value})
        assert r.status_code == 200 and r.get_json()["hits"] == []
    assert client.get("/api/search", query_string={"q": "street"}).get_json()["total_filtered"] == 93


def test_images_are_served_only_by_id_from_inside_the_root(client):
    ok = client.get("/image/photos/jpg/gps/DSCN0010.jpg")
    assert ok.status_code == 200 and ok.data == (SAMPLES / "jpg/gps/DSCN0010.jpg").read_bytes()
    for bad in ["/image/../../etc/passwd", "/image/..%2F..%2Fetc%2Fpasswd", "/image/%2Fetc%2Fpasswd",
                "/image/jpg/../../../../etc/passwd", "/image/no-such-id.jpg", "/thumb/../../etc/passwd",
                "/api/image/..%2F..%2Fetc%2Fpasswd"]:
        r = client.get(bad, follow_redirects=True)  # werkzeug may first merge "//" with a redirect
        assert r.status_code == 404, bad
        assert b"root:" not in r.data


def test_a_stored_path_escaping_its_root_is_refused(tmp_path, tiny_models):
    store = open_store(f"lance://{tmp_path / 'store'}")
    store.ensure_schema(tiny_models.dims())
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret.jpg").write_bytes(b"secret")
    store.set_collection("c", str(root))
    store.upsert([{"image_id": "evil", "collection": "c", "path": "../secret.jpg",
                   "capmeta_vec": np.ones(384, np.float32)}])
    app = create_app(Settings(store=store.url, cache_dir=str(tmp_path / "cache")), store=store, models=tiny_models)
    r = app.test_client().get("/image/evil")
    assert r.status_code == 404 and b"secret" not in r.data


def test_thumbnails_are_made_once_and_cached(client, sample_store):
    r1 = client.get("/thumb/photos/heic/IMG_5195.HEIC")
    assert r1.status_code == 200 and r1.mimetype == "image/jpeg" and r1.data[:2] == b"\xff\xd8"
    app = client.application
    thumbs = list(app.extensions["lifeseeker"].thumbs_dir.rglob("*.jpg"))
    r2 = client.get("/thumb/photos/heic/IMG_5195.HEIC")
    assert r2.data == r1.data
    assert list(app.extensions["lifeseeker"].thumbs_dir.rglob("*.jpg")) == thumbs
    heic_full = client.get("/image/photos/heic/IMG_5195.HEIC")  # browsers cannot show HEIC: a JPEG rendition
    assert heic_full.status_code == 200 and heic_full.mimetype == "image/jpeg"


def test_page_escapes_ocr_caption_path_and_query(tmp_path, tiny_models):
    evil = "<script>alert(1)</script>"
    app, _ = one_photo_app(tmp_path, tiny_models, {"ocr_text": evil, "caption": "<img src=x onerror=alert(2)>",
                                                   "capmeta": evil, "tags": [evil]})
    r = app.test_client().get("/", query_string={"q": "<script>alert(3)</script>"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in html
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_search_page_renders_results_and_detail(client):
    r = client.get("/", query_string={"q": "walk in Arezzo", "city": "Arezzo"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert html.count('class="card"') == 9
    assert "IaT" in html and "TaT" in html and "Arezzo, Tuscany, Italy" in html
    assert 'src="/thumb/photos/jpg/gps/DSCN00' in html


def test_page_shows_bad_filter_as_message(client):
    r = client.get("/", query_string={"q": "x", "near": "1000,1"})
    assert r.status_code == 400 and "latitude" in r.get_data(as_text=True)


def test_text_only_notice_is_visible_on_the_page(tmp_path, minilm, sample_store):
    from lifeseeker.models import Models

    store, _ = sample_store
    models = Models(text=minilm, clip=None, clip_dims=32, notices=["No CLIP model: running text-only"])
    app = create_app(Settings(store=store.url, cache_dir=str(tmp_path)), store=store, models=models)
    html = app.test_client().get("/", query_string={"q": "Helsinki"}).get_data(as_text=True)
    assert "No CLIP model: running text-only" in html and "text-only (TaT)" in html


def test_near_takes_the_key_value_form_and_weekday_errors_echo_the_input(client):
    a = client.get("/api/search", query_string={"q": "x", "near": "43.467,11.88,2km"}).get_json()
    b = client.get("/api/search", query_string={"q": "x", "near": "43.467,11.88", "radius_km": "2"}).get_json()
    assert a["total_filtered"] == b["total_filtered"] == 9
    r = client.get("/api/search", query_string={"q": "x", "weekday": "funday"})
    assert r.status_code == 400 and "'funday'" in r.get_json()["error"]
    ok = client.get("/api/search", query_string={"q": "x", "weekday": "Wednesday,sat"})
    assert ok.status_code == 200
    missing = client.get("/api/image/nope")
    assert missing.status_code == 404 and missing.get_json()["error"] == "no image 'nope'"

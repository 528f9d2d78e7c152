"""The search experience through the SearchService, the JSON API and the page, over the bundled sample photos
(tiny random CLIP, real MiniLM): events with their top 3, temporal context, sequences, relevance feedback, more
like this, query by image, suggestions, map/timeline data, tiles CSP and escaping."""

from __future__ import annotations

import io
import re
from datetime import datetime

import numpy as np
import pytest

from lifeseeker.config import Settings
from lifeseeker.engine.search import SearchRequest, SearchService, UnsupportedQuery
from lifeseeker.engine.sequence import GAP_PENALTY
from lifeseeker.engine.store import open_store
from lifeseeker.webui import create_app

from .conftest import SAMPLES
from .webapp import one_photo_app

AREZZO = [f"photos/jpg/gps/DSCN00{n}.jpg" for n in (10, 12, 21, 25, 27, 29, 38, 40, 42)]


@pytest.fixture(scope="module")
def app(sample_store, tiny_models, tmp_path_factory):
    store, _ = sample_store
    cache = tmp_path_factory.mktemp("cache")
    app = create_app(Settings(store=store.url, cache_dir=str(cache), rerank="off"), store=store, models=tiny_models)
    app.testing = True
    return app


@pytest.fixture(scope="module")
def client(app):
    return app.test_client()


def test_api_events_partition_the_hits_with_span_place_and_top3(client):
    body = client.get("/api/search", query_string={"q": "walk in Arezzo", "limit": 93}).get_json()
    hit_ids = [h["image_id"] for h in body["hits"]]
    in_events = [i for e in body["events"] for i in e["hit_ids"]]
    assert sorted(in_events) == sorted(hit_ids) and len(in_events) == 93
    scores = [e["score"] for e in body["events"]]
    assert scores == sorted(scores, reverse=True)
    arezzo = next(e for e in body["events"] if e["event_id"] == "photos/jpg/gps/DSCN0010.jpg")
    assert arezzo["hit_ids"] == AREZZO  # the walk, in time order: one event (gaps under 15 min, one place)
    assert (arezzo["start"], arezzo["end"], arezzo["place"]) == ("2008-10-22T16:28:39", "2008-10-22T17:00:07",
                                                                 "Arezzo")
    assert sum(g["count"] for g in arezzo["groups"]) == 9 and arezzo["distinct"] == len(arezzo["groups"])
    assert 1 <= len(arezzo["top"]) <= 3
    best = max((h for h in body["hits"] if h["image_id"] in AREZZO), key=lambda h: h["score"])
    assert arezzo["top"][0]["image_id"] == best["image_id"]
    counts = {g["image_id"]: g["count"] for g in arezzo["groups"]}
    assert [t["duplicates"] for t in arezzo["top"]] == [counts[t["image_id"]] for t in arezzo["top"]]
    assert all(len(t["duplicate_ids"]) == t["duplicates"] - 1 for t in arezzo["top"])
    assert abs(arezzo["location"]["lat"] - 43.46) < 0.05
    # the timeline counts hits per local day
    days = {t["date"]: t["count"] for t in body["timeline"]}
    assert days["2008-10-22"] == 9 and sum(days.values()) == sum(1 for h in body["hits"] if h.get("local_time"))
    flat = client.get("/api/search", query_string={"q": "walk", "events": "0"}).get_json()
    assert flat["events"] == [] and len(flat["hits"]) == 50


def test_gap_and_duplicate_threshold_are_request_parameters(client):
    split = client.get("/api/search", query_string={"q": "walk", "city": "Arezzo", "gap": "1", "dup": "1.01"})
    events = split.get_json()["events"]
    assert len(events) > 1 and all(len(e["groups"]) == e["size"] for e in events)
    assert sorted(i for e in events for i in e["hit_ids"]) == sorted(AREZZO)
    for bad, needle in (({"gap": "-1"}, "gap"), ({"dup": "2"}, "dup"), ({"gap": "x"}, "gap"),
                        ({"within": "soon", "then": "b"}, "within"), ({"rerank_blend": "3"}, "rerank_blend"),
                        ({"rocchio": "1,2"}, "rocchio")):
        r = client.get("/api/search", query_string={"q": "walk", **bad})
        assert r.status_code == 400 and needle in r.get_json()["error"], bad


def test_temporal_context_api(client):
    r = client.get("/api/context/photos/jpg/gps/DSCN0021.jpg", query_string={"minutes": 60})
    body = r.get_json()
    assert r.status_code == 200
    assert [d["image_id"] for d in body["images"]] == AREZZO  # nothing else in the collection within the hour
    assert body["index"] == 2 and body["images"][2]["thumb_url"] == "/thumb/photos/jpg/gps/DSCN0021.jpg"
    times = [d["local_time"] for d in body["images"]]
    assert times == sorted(times)
    narrow = client.get("/api/context/photos/jpg/gps/DSCN0021.jpg", query_string={"minutes": 5}).get_json()
    t = datetime.fromisoformat(narrow["images"][narrow["index"]]["local_time"])
    assert all(abs((datetime.fromisoformat(d["local_time"]) - t).total_seconds()) <= 300 for d in narrow["images"])
    assert len(narrow["images"]) < 9
    assert client.get("/api/context/no/such.jpg").status_code == 404
    bad = client.get("/api/context/photos/jpg/gps/DSCN0021.jpg", query_string={"minutes": "0"})
    assert bad.status_code == 400 and "minutes" in bad.get_json()["error"]
    undated = client.get("/api/context/photos/tiff/Arbitro.tiff")
    assert undated.status_code == 400 and "no time" in undated.get_json()["error"]


def test_sequence_query_pairs_a_then_b_within_the_window(client):
    r = client.get("/api/search", query_string={"q": "a walk, then a street within 20 min", "city": "Arezzo",
                                                "gap": "1"})
    body = r.get_json()
    assert body["query"] == "a walk" and body["then"] == "a street" and body["pairs"]
    for p in body["pairs"]:
        a, b = p["first"], p["second"]
        assert b["start"] > a["start"]
        assert 0 <= p["gap_s"] <= 20 * 60
        assert p["score"] == pytest.approx((a["score"] + b["score"]) / 2 - GAP_PENALTY * p["gap_s"] / 1200, abs=2e-6)
    assert [p["score"] for p in body["pairs"]] == sorted((p["score"] for p in body["pairs"]), reverse=True)
    b_ids = {h["image_id"] for h in body["then_hits"]}
    assert all(i in b_ids for p in body["pairs"] for i in p["second"]["hit_ids"])  # B events come from B's hits
    assert body["then_hits"][0]["rank"] == 1 and len(body["then_hits"]) == 9
    whole = client.get("/api/search", query_string={"q": "a walk, then a street", "seq": "0"}).get_json()
    assert whole["then"] is None and whole["pairs"] == []


def _rank(body, image_id):
    return [h["image_id"] for h in body["hits"]].index(image_id) + 1


def test_relevance_feedback_moves_marked_images_up_and_suggests(client):
    q = {"q": "a sign in a city", "limit": 93}
    before = client.get("/api/search", query_string=q).get_json()
    low = [h["image_id"] for h in before["hits"] if h["image_id"] in AREZZO][-2:]
    top_other = next(h["image_id"] for h in before["hits"] if h["image_id"] not in AREZZO)
    after = client.get("/api/search", query_string={**q, "relevant": ",".join(low),
                                                    "irrelevant": top_other}).get_json()
    assert after["feedback"] is True
    for i in low:
        assert _rank(after, i) < _rank(before, i)
    assert _rank(after, top_other) > _rank(before, top_other)
    labels = [s["label"] for s in after["suggestions"]]
    assert "Was it in Arezzo?" in labels and "Was it on 2008-10-22?" in labels
    city = next(s for s in after["suggestions"] if s["label"] == "Was it in Arezzo?")
    assert city["params"]["city"] == "Arezzo" and city["params"]["q"] == "a sign in a city"
    run = client.get("/api/search", query_string=city["params"]).get_json()
    assert sorted(h["image_id"] for h in run["hits"]) == sorted(AREZZO)
    sugg = client.get("/api/suggest", query_string={"relevant": low, "q": "x"}).get_json()["suggestions"]
    assert [s["label"] for s in sugg] == [s["label"] for s in
                                          client.get("/api/search", query_string={**q, "q": "x",
                                                                                  "relevant": low}).get_json()
                                          ["suggestions"]]
    assert client.get("/api/suggest").status_code == 400


def test_more_like_this_ranks_the_image_itself_first(client):
    body = client.get("/api/search", query_string={"like": "photos/jpg/gps/DSCN0027.jpg", "q": "ignored"}).get_json()
    top = body["hits"][0]
    assert top["image_id"] == "photos/jpg/gps/DSCN0027.jpg"
    assert top["iat"] == pytest.approx(1.0, abs=1e-5) and top["tat"] == pytest.approx(1.0, abs=1e-5)
    assert client.get("/api/search", query_string={"like": "nope.jpg"}).status_code == 404


def test_query_by_uploaded_image(client, app):
    data = (SAMPLES / "jpg/gps/DSCN0040.jpg").read_bytes()
    r = client.post("/api/search/image", query_string={"limit": 10},
                    data={"image": (io.BytesIO(data), "query.jpg")}, content_type="multipart/form-data")
    body = r.get_json()
    assert r.status_code == 200, body
    hits = body["hits"]
    assert all(h["tat"] == 0 and h["score"] == pytest.approx(0.7 * h["iat"], abs=2e-6) for h in hits)
    same = next(h for h in hits if h["image_id"] == "photos/jpg/gps/DSCN0040.jpg")
    assert same["iat"] > 0.99 and same["iat"] == max(h["iat"] for h in hits)
    filtered = client.post("/api/search/image", query_string={"country": "Finland"},
                           data={"image": (io.BytesIO(data), "q.jpg")}, content_type="multipart/form-data")
    assert {h["country"] for h in filtered.get_json()["hits"]} == {"Finland"}
    for payload, needle in (({"image": (io.BytesIO(b"not an image"), "x.jpg")}, "not a readable image"),
                            ({}, "choose an image"), ({"image": (io.BytesIO(b""), "e.jpg")}, "empty")):
        bad = client.post("/api/search/image", data=payload, content_type="multipart/form-data")
        assert bad.status_code == 400 and needle in bad.get_json()["error"] and "image" in bad.get_json()["error"]
    huge = client.post("/api/search/image", data={"image": (io.BytesIO(b"\0" * (9 * 1024 * 1024)), "big.jpg")},
                       content_type="multipart/form-data")
    assert huge.status_code == 413


def test_query_by_image_without_clip_says_so(sample_store, minilm, tmp_path):
    from lifeseeker.models import Models

    store, _ = sample_store
    models = Models(text=minilm, clip=None, clip_dims=32, notices=["No CLIP model: running text-only"])
    app = create_app(Settings(store=store.url, cache_dir=str(tmp_path), rerank="off"), store=store, models=models)
    data = (SAMPLES / "jpg/gps/DSCN0040.jpg").read_bytes()
    r = app.test_client().post("/api/search/image", data={"image": (io.BytesIO(data), "q.jpg")},
                               content_type="multipart/form-data")
    assert r.status_code == 400 and "needs a CLIP model" in r.get_json()["error"]
    page = app.test_client().post("/", data={"image": (io.BytesIO(data), "q.jpg")},
                                  content_type="multipart/form-data")
    assert page.status_code == 400 and "needs a CLIP model" in page.get_data(as_text=True)
    from PIL import Image

    with pytest.raises(UnsupportedQuery):
        SearchService(store, models).search(SearchRequest(image=Image.new("RGB", (8, 8))))


def test_page_shows_events_as_rows_with_map_timeline_feedback_and_progress(client):
    r = client.get("/", query_string={"q": "walk in Arezzo", "relevant": "photos/jpg/gps/DSCN0010.jpg"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    body = client.get("/api/search", query_string={"q": "walk in Arezzo",
                                                   "relevant": "photos/jpg/gps/DSCN0010.jpg"}).get_json()
    assert html.count('<li class="event"') == len(body["events"])
    assert html.count('class="card"') == len(body["hits"])  # every hit once: top frames, others behind "more"
    assert "Wed 2008-10-22 16:28–17:00 (31 min)" in html and '<span class="place">Arezzo</span>' in html
    assert 'id="busy" class="progress" role="status"' in html and 'id="map"' in html
    assert html.count('class="day"') == len(body["timeline"])
    assert '<input type="hidden" name="relevant" value="photos/jpg/gps/DSCN0010.jpg">' in html
    assert 'data-mark="relevant"' in html and "with relevance feedback" in html
    assert "Was it in Arezzo?" in html  # suggestions, one click each
    assert re.search(r'href="\?[^"]*city=Arezzo', html)
    assert 'href="?like=photos%2Fjpg%2Fgps%2FDSCN0010.jpg"' in html
    assert "/static/vendor/leaflet/leaflet.js" in html and "/static/vendor/leaflet/leaflet.css" in html
    assert client.get("/static/vendor/leaflet/leaflet.js").status_code == 200
    seq = client.get("/", query_string={"q": "a walk then a street within 20 min", "city": "Arezzo", "gap": "1"})
    assert seq.status_code == 200 and 'class="pair"' in seq.get_data(as_text=True)


def test_tiles_origin_is_allowed_only_when_configured(sample_store, tiny_models, tmp_path):
    store, _ = sample_store
    settings = Settings(store=store.url, cache_dir=str(tmp_path), rerank="off",
                        tiles_url="https://tiles.example.org/{z}/{x}/{y}.png", tiles_attribution="© Example")
    client = create_app(settings, store=store, models=tiny_models).test_client()
    r = client.get("/", query_string={"q": "walk"})
    assert "img-src 'self' data: https://tiles.example.org;" in r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert 'data-tiles="https://tiles.example.org/{z}/{x}/{y}.png"' in r.get_data(as_text=True)
    api = client.get("/api/search", query_string={"q": "walk"})
    assert "tiles.example.org" not in api.headers["Content-Security-Policy"]


def test_page_escapes_suggestions_places_and_context_data(tmp_path, tiny_models):
    evil = "<script>alert(1)</script>"
    app, _ = one_photo_app(tmp_path, tiny_models, {"tags": [evil], "locality": evil, "city": evil,
                                                   "ocr_text": "<b>bold</b>", "location": {"lat": 1.0, "lon": 2.0}},
                           rerank="off")
    html = app.test_client().get("/", query_string={"q": "x", "relevant": "a.jpg"}).get_data(as_text=True)
    assert "<script>alert" not in html and "<b>bold" not in html
    assert "Was there a &lt;script&gt;alert(1)&lt;/script&gt;?" in html
    assert '<span class="place">&lt;script&gt;' in html


@pytest.fixture(scope="module")
def comma_app(tmp_path_factory, tiny_models):
    """A store whose image ids contain commas (file paths may), next to plain ids."""
    tmp = tmp_path_factory.mktemp("comma")
    store = open_store(f"lance://{tmp / 'store'}")
    store.ensure_schema(tiny_models.dims())
    rng = np.random.default_rng(0)
    store.upsert([{"image_id": i, "collection": "c", "path": i, "local_time": datetime(2020, 1, 1, 8, k),
                   "capmeta_vec": rng.standard_normal(384).astype(np.float32)}
                  for k, i in enumerate(["x,1.jpg", "x", "1.jpg", "y.jpg", "z.jpg"])])
    return create_app(Settings(store=store.url, cache_dir=str(tmp / "cache"), rerank="off"), store=store,
                      models=tiny_models)


def test_mark_ids_keep_an_id_with_a_comma_whole_and_split_other_comma_lists(comma_app):
    from lifeseeker.engine.feedback import parse_ids
    from lifeseeker.webui.api import mark_ids
    from werkzeug.datastructures import MultiDict

    store = comma_app.extensions["lifeseeker"].store
    args = MultiDict([("relevant", "x,1.jpg"), ("relevant", "y.jpg,z.jpg"), ("relevant", "y.jpg")])
    assert mark_ids(args, "relevant", store) == ("x,1.jpg", "y.jpg", "z.jpg")
    assert mark_ids(args, "relevant") == ("x", "1.jpg", "y.jpg", "z.jpg")  # no store: every value is a comma list
    assert parse_ids(["a,b", "c"], "relevant", known=lambda ids: {"a,b"}) == ("a,b", "c")
    assert parse_ids("a,b", "relevant", known=lambda ids: set()) == ("a", "b")


def test_relevant_ids_with_commas_work_and_unknown_marks_are_404_like_like(comma_app):
    client = comma_app.test_client()
    one = client.get("/api/search", query_string=[("q", "x"), ("relevant", "x,1.jpg")])
    assert one.status_code == 200 and one.get_json()["feedback"] is True
    both = client.get("/api/search", query_string=[("q", "x"), ("relevant", "x,1.jpg"), ("relevant", "y.jpg")])
    assert both.status_code == 200
    listed = client.get("/api/search", query_string={"q": "x", "relevant": "y.jpg,z.jpg", "irrelevant": "x"})
    assert listed.status_code == 200 and listed.get_json()["feedback"] is True

    ghosts = [f"ghost{n}.jpg" for n in range(7)]
    r = client.get("/api/search", query_string=[("q", "x"), ("relevant", "y.jpg")] + [("relevant", g) for g in ghosts])
    assert r.status_code == 404
    assert r.get_json() == {"error": "relevant: no image 'ghost0.jpg', 'ghost1.jpg', 'ghost2.jpg', 'ghost3.jpg', "
                                     "'ghost4.jpg' (and 2 more)"}
    r = client.get("/api/search", query_string={"q": "x", "irrelevant": "nope.jpg,y.jpg"})
    assert r.status_code == 404 and r.get_json() == {"error": "irrelevant: no image 'nope.jpg'"}
    r = client.get("/api/suggest", query_string={"relevant": "nope.jpg"})
    assert r.status_code == 404 and r.get_json() == {"error": "relevant: no image 'nope.jpg'"}
    assert client.get("/api/search", query_string={"like": "nope.jpg"}).get_json() == {
        "error": "like: no image 'nope.jpg'"}
    page = client.get("/", query_string={"q": "x", "relevant": "nope.jpg"})
    assert page.status_code == 400 and "relevant: no image &#39;nope.jpg&#39;" in page.get_data(as_text=True)

"""Query understanding on the page and API: parsed constraints become soft boosts shown as chips; a chip can be
removed (ignore=) or made hard (its filter parameters)."""

from __future__ import annotations

from datetime import date

import pytest

from lifeseeker.config import Settings
from lifeseeker.engine.query.chips import chips, drop
from lifeseeker.engine.query.parse import parse_query
from lifeseeker.engine.search import SearchRequest, SearchService
from lifeseeker.webui import create_app


def test_chips_of_a_parsed_query_and_drop():
    p = parse_query("eating avocado for breakfast on a Sunday in Dublin in May 2019")
    by_key = {c.key: c for c in chips(p)}
    assert by_key["date"].hard == {"date_from": "2019-05-01", "date_to": "2019-05-31"}
    assert by_key["weekdays"].hard == {"weekday": "Sun"}
    assert by_key["hours"].hard == {"hour_from": "6", "hour_to": "10"} and by_key["hours"].label == "06:00–10:00"
    assert by_key["city"].label == "Dublin" and by_key["country"].hard == {"country": "Ireland"}
    q = drop(p, ["date", "city"])
    assert q.date_from is None and q.cities == () and q.weekdays == ("Sun",)
    assert {type(c).__name__ for c in q.soft} == {"SoftWeekdays", "SoftHours", "SoftPlace"}
    assert chips(parse_query("march of the penguins poster")) == []


@pytest.fixture(scope="module")
def client(sample_store, tiny_models, tmp_path_factory):
    store, _ = sample_store
    app = create_app(Settings(store=store.url, cache_dir=str(tmp_path_factory.mktemp("c")), rerank="off"),
                     store=store, models=tiny_models)
    return app.test_client()


def test_service_boosts_the_stated_place_and_time_softly(sample_store, tiny_models):
    store, _ = sample_store
    svc = SearchService(store, tiny_models)
    resp = svc.search(SearchRequest("old town street in Arezzo on a Wednesday afternoon in October 2008", limit=93))
    assert resp.parsed.cities == ("Arezzo",) and resp.parsed.visual == "old town street"
    assert resp.total_filtered == 93  # soft: nothing filtered out
    top9 = {h.image_id for h in resp.hits[:9]}
    assert top9 == {f"photos/jpg/gps/DSCN00{n}.jpg" for n in (10, 12, 21, 25, 27, 29, 38, 40, 42)}
    plain = svc.search(SearchRequest("old town street in Arezzo on a Wednesday afternoon in October 2008",
                                     limit=93, understand=False))
    assert plain.parsed is None and plain.chips == []
    boosted = {h.image_id: h.score - (0.7 * h.iat + 0.3 * h.tat) for h in resp.hits}
    assert all(boosted[i] > 0.1 for i in top9)  # date, weekday, hours, city, country boosts
    ignored = svc.search(SearchRequest("old town street in Arezzo on a Wednesday afternoon in October 2008",
                                       limit=93, ignore=("city", "country", "date", "weekdays", "hours")))
    assert all(abs(h.score - (0.7 * h.iat + 0.3 * h.tat)) < 1e-6 for h in ignored.hits)


def test_key_value_terms_in_the_box_are_hard_filters(sample_store, tiny_models):
    store, _ = sample_store
    resp = SearchService(store, tiny_models).search(SearchRequest('street country:"Italy" hour:16-18'))
    assert resp.hits and all(h.doc["country"] == "Italy" and 16 <= h.doc["hour"] < 18 for h in resp.hits)
    assert resp.total_filtered == 9


def test_api_returns_parsed_and_chips_and_honours_ignore(client):
    body = client.get("/api/search", query_string={"q": "a walk in Arezzo in October 2008"}).get_json()
    assert body["parsed"]["visual"] == "a walk" and body["parsed"]["city"] == ["Arezzo"]
    assert [c["key"] for c in body["chips"]] == ["date", "city", "country"]
    body2 = client.get("/api/search", query_string=[("q", "a walk in Arezzo in October 2008"),
                                                    ("ignore", "date"), ("ignore", "city")]).get_json()
    assert [c["key"] for c in body2["chips"]] == ["country"]
    bad = client.get("/api/search", query_string={"q": "x", "ignore": "colour"})
    assert bad.status_code == 400 and "ignore" in bad.get_json()["error"]
    raw = client.get("/api/search", query_string={"q": "a walk in Arezzo", "parse": "0"}).get_json()
    assert raw["parsed"] is None and raw["chips"] == []


def test_page_shows_chips_with_remove_and_make_hard_links(client):
    html = client.get("/", query_string={"q": "a walk in Arezzo on a Wednesday"}).get_data(as_text=True)
    assert 'data-chip="city"' in html and 'data-chip="weekdays"' in html
    assert "ignore=city" in html and "weekday=Wed" in html and "city=Arezzo" in html
    hard = client.get("/", query_string={"q": "a walk in Arezzo on a Wednesday", "weekday": "Wed",
                                         "ignore": "weekdays"}).get_data(as_text=True)
    assert 'data-chip="weekdays"' not in hard and 'data-chip="city"' in hard


def test_api_and_page_reject_unfinished_terms_and_notice_unknown_keys(client):
    bad = client.get("/api/search", query_string={"q": 'street country:"Italy'})
    assert bad.status_code == 400
    assert bad.get_json()["error"].startswith("country: the closing quote \" is missing in 'country:\"Italy'")
    empty = client.get("/api/search", query_string={"q": "street city:"})
    assert empty.status_code == 400 and empty.get_json()["error"].startswith("city: empty value in 'city:'")
    page = client.get("/", query_string={"q": 'street country:"Italy'})
    assert page.status_code == 400 and "country: the closing quote" in page.get_data(as_text=True)

    body = client.get("/api/search", query_string={"q": "street foo:bar"}).get_json()
    notice = "foo:bar is not a filter; searched as text. Known keys: after, before, box, city"
    assert [n for n in body["notices"] if n.startswith(notice)] == body["parsed"]["warnings"]
    assert len(body["parsed"]["warnings"]) == 1
    html = client.get("/", query_string={"q": "street foo:bar"}).get_data(as_text=True)
    assert '<p class="notice" role="status">foo:bar is not a filter; searched as text.' in html
    clock = client.get("/api/search", query_string={"q": "street at 10:30 http://x.org/a:b"}).get_json()
    assert clock["parsed"]["warnings"] == [] and not any("not a filter" in n for n in clock["notices"])


def test_a_blank_visual_remainder_gives_no_clip_vector_in_search_and_qa(sample_store, tiny_models):
    store, _ = sample_store
    svc = SearchService(store, tiny_models)
    assert tiny_models.clip is not None
    vq = svc.encode("in Arezzo on a Wednesday", "")  # the parser left nothing visual: a metadata query
    assert vq.clip is None and vq.tat is not None and vq.tat.shape == (384,)
    whole = svc.encode("in Arezzo on a Wednesday")  # no query understanding: CLIP gets the whole text
    assert whole.clip is not None and abs(float((whole.clip ** 2).sum()) - 1) < 1e-5
    resp = svc.search(SearchRequest("in Arezzo on a Wednesday", limit=5))
    assert resp.parsed.visual.strip() == "" and all(h.iat == 0 for h in resp.hits)
    assert resp.hits[0].tat != 0

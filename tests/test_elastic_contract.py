"""Contract tests of the Elasticsearch store, with no server: a fake transport node records the exact requests the
store sends and answers with recorded responses (``tests/fixtures/es/*.json``, hand-written after the documented
response shapes). Each test cites the Elasticsearch 9 reference page the request or response shape follows.
The live behaviour is tested by ``test_store_contract.py`` when ``LIFESEEKER_ES_URL`` is set."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from elastic_transport import ConnectionError as TransportConnectionError

from lifeseeker.engine import filters as F
from lifeseeker.engine.schema import load_schema
from lifeseeker.engine.store.base import VECTOR_FIELDS, VectorQuery
from lifeseeker.engine.store.elastic import compile_clause, doc_to_source, filter_query, parse_facets, parse_hits
from lifeseeker.errors import StoreError

from .es_fake import FakeCluster, cluster, existing_index, fixture, make  # noqa: F401 (cluster: a fixture)

SCHEMA = load_schema()
Q512 = np.linspace(-1, 1, 512).astype(np.float32)
Q384 = np.cos(np.arange(384)).astype(np.float32)


# --- filter clauses ------------------------------------------------------------------------------------------------------


def test_each_filter_clause_compiles_to_the_documented_query():
    # range:  https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-range-query
    assert compile_clause(F.DateRange(date(2019, 3, 10), date(2019, 4, 2))).to_dict() == {
        "range": {"date": {"gte": "2019-03-10", "lte": "2019-04-02"}}}
    assert compile_clause(F.DateRange(None, date(2019, 3, 20))).to_dict() == {"range": {"date": {"lte": "2019-03-20"}}}
    # terms:  https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-terms-query
    assert compile_clause(F.HourRange(21, 5)).to_dict() == {"terms": {"hour": [21, 22, 23, 0, 1, 2, 3, 4]}}
    assert compile_clause(F.Weekdays(frozenset({"Sun", "Sat"}))).to_dict() == {"terms": {"weekday": ["Sat", "Sun"]}}
    assert compile_clause(F.PartOfDay(frozenset({"morning", "evening"}))).to_dict() == {
        "terms": {"part_of_day": ["evening", "morning"]}}
    assert compile_clause(F.Terms("city", ("MALAGA", "Dublin"))).to_dict() == {"terms": {"city": ["MALAGA", "Dublin"]}}
    # geo_distance: https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-geo-distance-query
    assert compile_clause(F.GeoDistance(53.3861, -6.2566, 1.5)).to_dict() == {
        "geo_distance": {"distance": "1.5km", "location": {"lat": 53.3861, "lon": -6.2566}}}
    # geo_bounding_box: https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-geo-bounding-box-query
    assert compile_clause(F.GeoBox(44.0, 11.0, 43.0, 12.5)).to_dict() == {"geo_bounding_box": {"location": {
        "top_left": {"lat": 44.0, "lon": 11.0}, "bottom_right": {"lat": 43.0, "lon": 12.5}}}}
    # multi_match cross_fields, operator and: the whole text, analysed by Elasticsearch; every term in some field
    # https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-multi-match-query
    assert compile_clause(F.TextMatch("Coffee 3.5 don't foo_bar", ("ocr_text", "caption"))).to_dict() == {
        "multi_match": {"query": "Coffee 3.5 don't foo_bar", "fields": ["ocr_text", "caption"],
                        "type": "cross_fields", "operator": "and"}}
    assert filter_query([]) == {"match_all": {}}
    both = filter_query([F.HourRange(8, 10), F.Terms("tags", ("dog",))])
    assert both == {"bool": {"filter": [{"terms": {"hour": [8, 9]}}, {"terms": {"tags": ["dog"]}}]}}


def test_injection_values_stay_literal_values():
    # Values are JSON values inside the DSL, never query_string syntax.
    value = "x' OR 1=1 --"
    assert compile_clause(F.Terms("country", (value, "*"))).to_dict() == {"terms": {"country": [value, "*"]}}
    q = compile_clause(F.TextMatch(value)).to_dict()
    assert "query_string" not in json.dumps(q) and q["multi_match"]["query"] == value  # a value, not syntax


# --- search ----------------------------------------------------------------------------------------------------------------


def _search_routes(cluster: FakeCluster, count: str, response: str) -> FakeCluster:
    existing_index(cluster)
    cluster.on("POST", "/lifeseeker/_count", (200, fixture(count)))
    cluster.on("POST", "/lifeseeker/_search", (200, fixture(response)))
    return cluster


def _fused_script_checks(script: dict, fields: tuple[str, ...], weights: dict[str, float]) -> None:
    # https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-script-score-query
    #   (cosineSimilarity(params.query_vector, 'field'); doc['field'].size() == 0 for a missing vector;
    #    scores must not be negative)
    src, params = script["source"], script["params"]
    assert script["lang"] == "painless"
    for f, (qp, wp) in {"clip_vec": ("q_clip", "w_iat"), "capmeta_vec": ("q_tat", "w_tat")}.items():
        if f in fields:
            assert f"if (doc['{f}'].size() != 0) {{ s += params.{wp} * cosineSimilarity(params.{qp}, '{f}'); }}" in src
            assert params[wp] == pytest.approx(weights[f])
        else:
            assert f not in src and qp not in params
    assert params["offset"] == pytest.approx(sum(weights[f] for f in fields))
    assert src.startswith("double s = params.offset;") and src.endswith("return Math.max(0.0, s);")


def test_exact_search_body_scores_every_filtered_document(cluster):
    _search_routes(cluster, "count_2000.json", "search_exact.json")
    store = make(cluster)
    flt = [F.Terms("country", ("spain",)), F.HourRange(8, 12)]
    hits = store.search(VectorQuery(Q512, Q384, F.Weights(0.7, 0.3)), flt, limit=5)
    (count,) = cluster.sent("POST", "/lifeseeker/_count")
    # https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-count (request body "query")
    assert count.body == {"query": {"bool": {"filter": [{"terms": {"country": ["spain"]}},
                                                        {"terms": {"hour": [8, 9, 10, 11]}}]}}}
    (search,) = cluster.sent("POST", "/lifeseeker/_search")
    body = search.body
    assert "knn" not in body and "rescore" not in body
    assert body["size"] == 5 + 10
    assert body["query"]["script_score"]["query"] == count.body["query"]
    script = body["query"]["script_score"]["script"]
    _fused_script_checks(script, VECTOR_FIELDS, {"clip_vec": 0.7, "capmeta_vec": 0.3})
    assert script["params"]["q_clip"] == pytest.approx(Q512.tolist(), abs=1e-7)
    assert script["params"]["q_tat"] == pytest.approx(Q384.tolist(), abs=1e-7)
    # https://www.elastic.co/docs/reference/elasticsearch/rest-apis/sort-search-results (_score then a field)
    assert body["sort"] == [{"_score": "desc"}, {"image_id": "asc"}]
    # https://www.elastic.co/docs/reference/elasticsearch/rest-apis/retrieve-selected-fields (script_fields, _source)
    assert set(body["script_fields"]) == {"iat", "tat"}
    # field context: no cosineSimilarity (tests/test_elastic_painless.py checks the whitelist); a unit query vector
    iat = body["script_fields"]["iat"]["script"]
    assert "doc['clip_vec'].vectorValue" in iat["source"] and "cosineSimilarity" not in iat["source"]
    assert iat["params"]["u_iat"] == pytest.approx((Q512 / np.linalg.norm(Q512)).tolist(), abs=1e-7)
    assert body["_source"] == {"excludes": ["clip_vec", "capmeta_vec"]}
    # parsed from the recorded response: raw-cosine fused score, ties by image_id, at most limit
    assert [h.image_id for h in hits] == ["img00010", "img00003", "img00002", "img00007", "img00042"]
    assert [h.score for h in hits] == pytest.approx([0.757, 0.73601, 0.5, 0.5, 0.27], abs=1e-12)
    assert (hits[0].iat, hits[0].tat) == (0.91, 0.40) and (hits[4].iat, hits[4].tat) == (0.0, 0.9)
    assert hits[0].doc["local_time"] == datetime(2019, 3, 10, 9, 0) and hits[0].doc["city"] == "Barcelona"
    assert not set(VECTOR_FIELDS) & set(hits[0].doc)


def test_knn_search_body_two_clauses_same_filter_then_exact_rescore(cluster):
    _search_routes(cluster, "count_50000.json", "search_knn.json")
    store = make(cluster, exact_threshold=10_000, knn_k=100, num_candidates=400)
    flt = [F.GeoDistance(36.72, -4.42, 5.0), F.Weekdays(frozenset({"Sun"}))]
    hits = store.search(VectorQuery(Q512, Q384, F.Weights(0.6, 0.4)), flt, limit=3)
    body = cluster.sent("POST", "/lifeseeker/_search")[0].body
    # https://www.elastic.co/docs/solutions/search/vector/knn (top-level "knn" array; field, query_vector, k,
    #   num_candidates, filter applied during the approximate search)
    want_filter = {"bool": {"filter": [
        {"geo_distance": {"distance": "5.0km", "location": {"lat": 36.72, "lon": -4.42}}},
        {"terms": {"weekday": ["Sun"]}}]}}
    assert [c["field"] for c in body["knn"]] == ["clip_vec", "capmeta_vec"]
    for clause, q in zip(body["knn"], (Q512, Q384)):
        assert set(clause) == {"field", "query_vector", "k", "num_candidates", "filter"}
        assert clause["k"] == 100 and clause["num_candidates"] == 400
        assert clause["filter"] == want_filter
        assert clause["query_vector"] == pytest.approx(q.tolist(), abs=1e-7)
    assert "query" not in body and "sort" not in body  # rescore is not run when sorting
    # https://www.elastic.co/docs/reference/elasticsearch/rest-apis/rescore-search-results (window_size,
    #   query.rescore_query, query_weight, rescore_query_weight; score = qw*original + rqw*rescore)
    rescore = body["rescore"]
    assert rescore["window_size"] == 200
    assert rescore["query"]["query_weight"] == 0.0 and rescore["query"]["rescore_query_weight"] == 1.0
    ss = rescore["query"]["rescore_query"]["script_score"]
    assert ss["query"] == {"match_all": {}}
    _fused_script_checks(ss["script"], VECTOR_FIELDS, {"clip_vec": 0.6, "capmeta_vec": 0.4})
    # ties (img00900, img00120 have equal fused scores) come back in image_id order
    assert [h.image_id for h in hits] == ["img01500", "img00120", "img00900"]
    assert hits[0].score == pytest.approx(0.6 * 0.62 + 0.4 * 0.71, abs=1e-12)
    assert hits[0].doc["city"] == "Málaga"


def test_text_only_search_sends_only_the_tat_clause(cluster):
    _search_routes(cluster, "count_50000.json", "search_text_only.json")
    hits = make(cluster).search(VectorQuery(None, Q384, F.Weights(0.7, 0.3)), limit=2)
    body = cluster.sent("POST", "/lifeseeker/_search")[0].body
    assert [c["field"] for c in body["knn"]] == ["capmeta_vec"]
    assert "filter" not in body["knn"][0]
    assert body["rescore"]["window_size"] == 100
    _fused_script_checks(body["rescore"]["query"]["rescore_query"]["script_score"]["script"], ("capmeta_vec",),
                         {"clip_vec": 0.7, "capmeta_vec": 0.3})
    assert set(body["script_fields"]) == {"tat"}
    assert [(h.image_id, h.iat, h.tat) for h in hits] == [("img00011", 0.0, 0.8), ("img00004", 0.0, -0.25)]
    assert [h.score for h in hits] == pytest.approx([0.24, -0.075], abs=1e-12)  # negative scores survive


def test_recorded_scores_minus_offset_equal_the_parsed_fused_scores():
    # The script's _score is offset + fused (float32); the parser's float64 fused score must agree with it.
    for name, w, offset in (("search_exact.json", (0.7, 0.3), 1.0), ("search_knn.json", (0.7, 0.3), 1.0),
                            ("search_text_only.json", (0.7, 0.3), 0.3)):
        resp = fixture(name)
        hits = parse_hits(resp, {"clip_vec": w[0], "capmeta_vec": w[1]}, 100)
        by_id = {h["_id"]: h["_score"] for h in resp["hits"]["hits"]}
        for h in hits:
            assert by_id[h.image_id] - offset == pytest.approx(h.score, abs=1e-6)


def test_search_on_an_empty_filter_result_sends_no_search(cluster):
    _search_routes(cluster, "count_0.json", "search_exact.json")
    assert make(cluster).search(VectorQuery(Q512, Q384), [F.Terms("tags", ("x' OR 1=1 --",))]) == []
    assert cluster.sent("POST", "/lifeseeker/_search") == []


def test_query_vector_of_the_wrong_width_is_refused(cluster):
    _search_routes(cluster, "count_2000.json", "search_exact.json")
    with pytest.raises(StoreError, match="clip_vec has 16 dims, the index holds 512"):
        make(cluster).search(VectorQuery(np.ones(16), Q384))


# --- neighbours, get, existing, facets ---------------------------------------------------------------------------------


def test_neighbours_range_on_local_time_sorted_by_time_then_id(cluster):
    # https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-range-query (dates, format)
    # https://www.elastic.co/docs/reference/elasticsearch/rest-apis/sort-search-results
    cluster.on("POST", "/lifeseeker/_search", (200, fixture("neighbours.json")))
    got = make(cluster).neighbours(datetime(2019, 3, 5, 8, 30, 0, 999), 3600, 1800, collection="synth", limit=50)
    body = cluster.sent("POST", "/lifeseeker/_search")[0].body
    assert body == {"query": {"bool": {"filter": [
        {"range": {"local_time": {"gte": "2019-03-05T07:30:00", "lte": "2019-03-05T09:00:00",
                                  "format": "strict_date_optional_time"}}},
        {"term": {"collection": "synth"}}]}},
        "sort": [{"local_time": "asc"}, {"image_id": "asc"}], "size": 50,
        "_source": {"excludes": ["clip_vec", "capmeta_vec"]}}
    assert [d["image_id"] for d in got] == ["img00100", "img00007", "img00101"]
    assert got[2]["local_time"] == datetime(2019, 3, 5, 9, 15, 30)
    assert set(got[0]) == set(SCHEMA.properties) - set(VECTOR_FIELDS)


def test_existing_asks_only_for_models(cluster):
    cluster.on("POST", "/lifeseeker/_mget", (200, fixture("mget_models.json")))
    got = make(cluster).existing(["img00000", "missing"])
    req = cluster.sent("POST", "/lifeseeker/_mget")[0]
    assert req.params["_source"] == ["models"] and req.body == {"ids": ["img00000", "missing"]}
    assert got == {"img00000": {"clip": "ViT-B-16", "text": "all-MiniLM-L6-v2", "ocr": "rapidocr", "caption": None}}


def test_facets_terms_aggregations_with_original_spelling(cluster):
    # https://www.elastic.co/docs/reference/aggregations/search-aggregations-bucket-terms-aggregation (size, order)
    # https://www.elastic.co/docs/reference/aggregations/search-aggregations-metrics-top-hits-aggregation
    cluster.on("POST", "/lifeseeker/_search", (200, fixture("facets.json")))
    got = make(cluster).facets(["country", "tags", "year"], [F.Terms("city", ("Barcelona",))], size=2)
    body = cluster.sent("POST", "/lifeseeker/_search")[0].body
    assert body["size"] == 0 and body["query"] == {"bool": {"filter": [{"terms": {"city": ["Barcelona"]}}]}}
    assert body["aggs"]["country"] == {"terms": {"field": "country", "size": 12,
                                                 "order": [{"_count": "desc"}, {"_key": "asc"}]},
                                       "aggs": {"shown": {"top_hits": {"size": 1,
                                                                       "_source": {"includes": ["country"]}}}}}
    assert "aggs" not in body["aggs"]["year"]  # no normalizer: the key is the stored value
    assert got == {"country": [("Spain", 512), ("Ireland", 40)], "tags": [("Cup", 130), ("laptop", 130)],
                   "year": [(2019, 592)]}
    with pytest.raises(StoreError, match="facet 'ocr_text' is not offered"):
        make(cluster).facets(["ocr_text"])


def test_parse_facets_falls_back_to_the_key_without_a_matching_spelling():
    resp = {"aggregations": {"tags": {"buckets": [{"key": "dog", "doc_count": 3,
                                                   "shown": {"hits": {"hits": [{"_source": {"tags": ["cat"]}}]}}}]}}}
    assert parse_facets(resp, ["tags"], 5) == {"tags": [("dog", 3)]}


# --- failures and retries ----------------------------------------------------------------------------------------------


def test_429_then_200_is_retried_by_the_transport(cluster):
    # https://www.elastic.co/docs/reference/elasticsearch/clients/python/configuration (retry_on_status, max_retries)
    cluster.on("POST", "/lifeseeker/_count", (429, fixture("too_many_requests.json")), (200, fixture("count_2000.json")))
    assert make(cluster).count() == 2000
    assert len(cluster.sent("POST", "/lifeseeker/_count")) == 2


def test_connection_errors_end_in_store_error_after_bounded_retries(cluster):
    cluster.on("POST", "/lifeseeker/_count", TransportConnectionError("Connection refused"))
    with pytest.raises(StoreError, match="unreachable during count after 2 retries"):
        make(cluster, retries=2).count()
    assert len(cluster.sent("POST", "/lifeseeker/_count")) == 3  # 1 try + 2 retries, then give up


def test_persistent_503_ends_in_store_error_naming_the_cause(cluster):
    cluster.on("POST", "/lifeseeker/_search", (503, fixture("unavailable.json")))
    with pytest.raises(StoreError, match="HTTP 503 .*cluster_block_exception"):
        make(cluster, retries=1).neighbours(datetime(2019, 3, 5), 60, 60)
    assert len(cluster.sent("POST", "/lifeseeker/_search")) == 2


def test_missing_index_reads_as_empty(cluster):
    cluster.on("POST", "/lifeseeker/_count", (404, fixture("index_not_found.json")))
    cluster.on("POST", "/lifeseeker-collections/_search", (404, fixture("index_not_found.json")))
    store = make(cluster)
    assert store.count() == 0 and store.collections() == {}


def test_auth_and_timeout_reach_the_transport(cluster):
    cluster.on("POST", "/lifeseeker/_count", (200, fixture("count_0.json")))
    store = make(cluster, basic_auth=("elastic", "s3cret"), timeout_s=4.5)
    store.count()
    assert cluster.requests[0].headers["authorization"] == "Basic ZWxhc3RpYzpzM2NyZXQ="
    assert store.client.transport.retry_on_status == (429, 502, 503, 504)
    store2 = make(FakeCluster(), api_key="a2V5OnNlY3JldA==")
    assert store2.client._headers["authorization"] == "ApiKey a2V5OnNlY3JldA=="


# --- one schema: mapping, filter classes and embedded store agree -------------------------------------------------------


def _fields_in(query: Any) -> set[str]:
    """Field names a compiled DSL query touches."""
    out: set[str] = set()
    if isinstance(query, dict):
        for k, v in query.items():
            if k in ("terms", "term", "range", "match") and isinstance(v, dict):
                out |= set(v)
            elif k == "multi_match":
                out |= set(v["fields"])
            elif k in ("geo_distance", "geo_bounding_box"):
                out |= {f for f in v if f != "distance"}
            else:
                out |= _fields_in(v)
    elif isinstance(query, list):
        for v in query:
            out |= _fields_in(v)
    return out


def test_mapping_filters_and_embedded_store_agree_on_every_field():
    props = SCHEMA.properties
    arrow = SCHEMA.arrow_schema({"clip_vec": 16, "capmeta_vec": 8})
    assert set(arrow.names) == set(props)
    for name in SCHEMA.term_fields:  # every Terms-able field: keyword in ES, string or list<string> in Arrow
        assert props[name]["type"] == "keyword", name
        want = pa.list_(pa.string()) if name in SCHEMA.array_fields else pa.string()
        assert arrow.field(name).type == want, name
    for name in SCHEMA.text_fields:
        assert props[name]["type"] == "text" and arrow.field(name).type == pa.string()
    # every field each filter class touches (as compiled for ES) exists with a type that query supports
    samples = [F.DateRange(date(2019, 1, 1), None), F.HourRange(8, 9), F.Weekdays(frozenset({"Mon"})),
               F.PartOfDay(frozenset({"night"})), F.GeoDistance(0, 0, 1), F.GeoBox(1, 0, 0, 1), F.TextMatch("a b")]
    samples += [F.Terms(f, ("x",)) for f in sorted(SCHEMA.term_fields)]
    expect_type = {"range": {"keyword", "date"}, "terms": {"keyword", "byte", "short"},
                   "geo_distance": {"geo_point"}, "geo_bounding_box": {"geo_point"}, "multi_match": {"text"}}
    for clause in samples:
        q = compile_clause(clause).to_dict()
        touched = _fields_in(q)
        assert touched, clause
        kind = next(iter(q))
        for f in touched:
            assert f in props, (clause, f)
            assert props[f]["type"] in expect_type[kind], (clause, f, props[f]["type"])
            assert f in arrow.names
    assert arrow.field("date").type == pa.string() and arrow.field("hour").type == pa.int8()
    assert arrow.field("location").type == pa.struct([("lat", pa.float64()), ("lon", pa.float64())])
    for f in SCHEMA.facets:  # terms aggregations need doc values: no text fields
        assert props[f]["type"] in {"keyword", "short", "byte"}
    for f in VECTOR_FIELDS:
        assert props[f]["type"] == "dense_vector" and props[f]["similarity"] == "cosine"
        assert arrow.field(f).type == pa.list_(pa.float32(), 16 if f == "clip_vec" else 8)
    # the keyword fields the ES store folds are exactly the folded array/place fields the lance store folds too
    folded = {f for f, spec in props.items() if spec.get("normalizer") == "folding"}
    assert {"country", "city", "region", "locality", "places", "tags", "semantic_name"} == folded


def test_doc_to_source_round_trips_the_mapped_fields():
    from .test_elastic_writes import _doc

    src = doc_to_source(_doc("a"))
    assert set(src) <= set(SCHEMA.properties)
    json.dumps(src)  # plain JSON: no numpy or datetime objects left


def test_delete_sends_bulk_delete_actions_and_counts_the_deleted(cluster):
    # https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk (delete action, per-item result)
    existing_index(cluster)
    cluster.on("PUT", "/_bulk", (200, {"took": 1, "errors": True, "items": [
        {"delete": {"_index": "lifeseeker-v1", "_id": "c/a.jpg", "result": "deleted", "status": 200}},
        {"delete": {"_index": "lifeseeker-v1", "_id": "c/o'b.jpg", "result": "deleted", "status": 200}},
        {"delete": {"_index": "lifeseeker-v1", "_id": "gone", "result": "not_found", "status": 404}}]}))
    cluster.on("POST", "/lifeseeker/_refresh", (200, {"_shards": {"total": 1, "successful": 1, "failed": 0}}))
    store = make(cluster)
    assert store.delete(["c/a.jpg", "c/o'b.jpg", "gone", "c/a.jpg"]) == 2
    (bulk,) = cluster.sent("PUT", "/_bulk")
    assert bulk.body == [{"delete": {"_index": "lifeseeker", "_id": i}} for i in ("c/a.jpg", "c/o'b.jpg", "gone")]


def test_inventory_scrolls_the_collection_with_its_fields_only(cluster):
    # https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-search (scroll), helpers.scan
    existing_index(cluster)
    hit = {"_index": "lifeseeker-v1", "_id": "c/x.jpg", "_source": {"collection": "c", "path": "x.jpg",
                                                                    "content_hash": "ab" * 32, "copies": ["y.jpg"]}}
    cluster.on("POST", "/lifeseeker/_search", (200, {"_scroll_id": "s1", "hits": {"total": {"value": 1}, "hits": [hit]},
                                                     "_shards": {"total": 1, "successful": 1, "skipped": 0,
                                                                 "failed": 0}}))
    cluster.on("POST", "/_search/scroll", (200, {"_scroll_id": "s1", "hits": {"hits": []},
                                                 "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}}))
    cluster.on("DELETE", "/_search/scroll", (200, {"succeeded": True, "num_freed": 1}))
    inv = make(cluster).inventory("c")
    assert inv == {"c/x.jpg": {"image_id": "c/x.jpg", "collection": "c", "path": "x.jpg", "copies": ["y.jpg"],
                               "content_hash": "ab" * 32, "input_digest": None, "models": None}}
    (search,) = cluster.sent("POST", "/lifeseeker/_search")
    assert search.body["query"] == {"term": {"collection": "c"}}
    assert set(search.body["_source"]) == {"image_id", "collection", "path", "copies", "content_hash",
                                           "input_digest", "models"}


def test_get_finds_an_nfd_id_in_its_nfc_form(cluster):
    import unicodedata

    existing_index(cluster)
    nfc, nfd = (unicodedata.normalize(f, "c/Café.jpg") for f in ("NFC", "NFD"))
    cluster.on("POST", "/lifeseeker/_mget", (200, {"docs": [{"_id": nfd, "found": False}]}),
               (200, {"docs": [{"_id": nfc, "found": True, "_source": {"collection": "c", "path": "Café.jpg"}}]}))
    docs = make(cluster).get([nfd])
    assert [d["image_id"] for d in docs] == [nfc]
    first, second = cluster.sent("POST", "/lifeseeker/_mget")
    assert (first.body["ids"], second.body["ids"]) == ([nfd], [nfc])

"""Contract tests of the Elasticsearch store, with no server: a fake transport node records the exact requests the
store sends and answers with recorded responses (``tests/fixtures/es/*.json``, hand-written after the documented
response shapes). Each test cites the Elasticsearch 9 reference page the request or response shape follows.
The live behaviour is tested by ``test_store_contract.py`` when ``LIFESEEKER_ES_URL`` is set."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pyarrow as pa
import pytest
from elastic_transport import ApiResponseMeta, BaseNode, ConnectionError as TransportConnectionError, HttpHeaders

from lifeseeker.engine import filters as F
from lifeseeker.engine.schema import load_schema
from lifeseeker.engine.store.base import VECTOR_FIELDS, VectorQuery
from lifeseeker.engine.store.elastic import (BulkError, ElasticStore, compile_clause, doc_to_source, filter_query,
                                             parse_facets, parse_hits)
from lifeseeker.errors import StoreError

FIXTURES = Path(__file__).parent / "fixtures" / "es"
REPO = Path(__file__).resolve().parents[1]


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


# --- fake transport ----------------------------------------------------------------------------------------------------


class NodeApiResponse(NamedTuple):
    """What a transport node returns (``elastic_transport``'s ``BaseNode.perform_request``: meta + raw body)."""

    meta: ApiResponseMeta
    body: bytes


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, list[str]]
    body: Any
    headers: dict[str, str]


@dataclass
class FakeCluster:
    """Routes ``(method, path regex)`` to queued responses: ``(status, body dict)`` or an exception to raise. The
    last queued response of a route repeats. Unrouted requests fail the test."""

    routes: list[tuple[str, re.Pattern, list]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)

    def on(self, method: str, path: str, *responses) -> "FakeCluster":
        self.routes.insert(0, (method, re.compile(path + "$"), list(responses)))
        return self

    def sent(self, method: str, path: str) -> list[Request]:
        pat = re.compile(path + "$")
        return [r for r in self.requests if r.method == method and pat.match(r.path)]

    def node_class(self):
        cluster = self

        class Node(BaseNode):
            def perform_request(self, method, target, body=None, headers=None, request_timeout=None):
                return cluster.handle(self, method, target, body, headers)

        return Node

    def handle(self, node, method, target, body, headers):
        url = urlsplit(target)
        raw = body.decode("utf-8") if body else None
        parsed: Any = None
        if raw:
            lines = [ln for ln in raw.split("\n") if ln]
            parsed = json.loads(raw) if len(lines) == 1 else [json.loads(ln) for ln in lines]
        self.requests.append(Request(method, url.path, parse_qs(url.query), parsed, dict(headers or {})))
        for m, pat, queue in self.routes:
            if m == method and pat.match(url.path):
                resp = queue.pop(0) if len(queue) > 1 else queue[0]
                if isinstance(resp, Exception):
                    raise resp
                status, payload = resp
                data = b"" if payload is None else json.dumps(payload).encode()
                meta = ApiResponseMeta(status=status, http_version="1.1", duration=0.0, node=node.config,
                                       headers=HttpHeaders({"content-type": "application/json",
                                                            "x-elastic-product": "Elasticsearch"}))
                return NodeApiResponse(meta, data)
        raise AssertionError(f"unexpected request {method} {target}")


@pytest.fixture
def cluster() -> FakeCluster:
    return FakeCluster()


def make(cluster: FakeCluster, **kw) -> ElasticStore:
    kw.setdefault("backoff_s", 0)
    return ElasticStore("http://es.test:9200", node_class=cluster.node_class(), **kw)


def existing_index(cluster: FakeCluster) -> FakeCluster:
    """Routes of a cluster that already holds ``lifeseeker-v1`` (512/384 dims) behind the alias."""
    return (cluster.on("GET", "/_alias/lifeseeker", (200, fixture("get_alias.json")))
            .on("GET", "/lifeseeker/_mapping", (200, fixture("get_mapping.json"))))


SCHEMA = load_schema()
Q512 = np.linspace(-1, 1, 512).astype(np.float32)
Q384 = np.cos(np.arange(384)).astype(np.float32)


# --- index creation, versions, aliases ---------------------------------------------------------------------------------


def test_create_index_body_follows_the_mapping_with_dims_alias_and_source_vectors(cluster):
    # https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-create (settings/mappings/aliases)
    # https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/dense-vector (dims, similarity,
    #   index_options int8_hnsw m/ef_construction; index.mapping.exclude_source_vectors from 9.2)
    cluster.on("GET", "/_alias/lifeseeker", (404, fixture("alias_missing.json")))
    cluster.on("HEAD", "/lifeseeker", (404, None))
    cluster.on("GET", "/", (200, fixture("root_9.2.json")))
    cluster.on("PUT", "/lifeseeker-v1", (200, fixture("create_index.json")))
    make(cluster).ensure_schema({"clip_vec": 512, "capmeta_vec": 384})
    (put,) = cluster.sent("PUT", "/lifeseeker-v1")
    body = put.body
    assert body["aliases"] == {"lifeseeker": {}}
    props = body["mappings"]["properties"]
    for name, dims in (("clip_vec", 512), ("capmeta_vec", 384)):
        assert props[name] == {"type": "dense_vector", "dims": dims, "similarity": "cosine", "index": True,
                               "index_options": {"type": "int8_hnsw", "m": 16, "ef_construction": 100}}
    assert body["mappings"]["dynamic"] == "strict"
    assert body["mappings"]["_meta"]["lifeseeker"]["schema_version"] == 1
    assert props == {**SCHEMA.properties, "clip_vec": props["clip_vec"], "capmeta_vec": props["capmeta_vec"]}
    assert body["settings"]["analysis"]["normalizer"]["folding"] == {"type": "custom",
                                                                     "filter": ["lowercase", "asciifolding"]}
    assert body["settings"]["index"] == {"number_of_shards": 1, "number_of_replicas": 0,
                                         "mapping": {"exclude_source_vectors": False}}


def test_create_index_on_9_1_omits_the_9_2_setting_and_zero_dims(cluster):
    # https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/dense-vector ("dims" optional: set
    #   from the first indexed vector); 9.1 rejects unknown index settings.
    cluster.on("GET", "/_alias/lifeseeker", (404, fixture("alias_missing.json")))
    cluster.on("HEAD", "/lifeseeker", (404, None))
    cluster.on("GET", "/", (200, fixture("root_9.1.json")))
    cluster.on("PUT", "/lifeseeker-v1", (200, fixture("create_index.json")))
    make(cluster).ensure_schema({"clip_vec": 0, "capmeta_vec": 384})
    body = cluster.sent("PUT", "/lifeseeker-v1")[0].body
    assert "dims" not in body["mappings"]["properties"]["clip_vec"]
    assert body["mappings"]["properties"]["capmeta_vec"]["dims"] == 384
    assert body["settings"]["index"] == {"number_of_shards": 1, "number_of_replicas": 0}


def test_existing_index_with_other_widths_is_refused(cluster):
    # https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-get-mapping (response shape)
    # https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-put-mapping (adding fields)
    existing_index(cluster).on("PUT", "/lifeseeker/_mapping", (200, {"acknowledged": True}))
    store = make(cluster)
    store.ensure_schema({"clip_vec": 512, "capmeta_vec": 384})  # same widths: accepted, no index created
    assert not cluster.sent("PUT", "/lifeseeker-v.*")
    # the fields the mapping gained since the recorded index (issue 16: content_hash, copies, ...) are added
    (put,) = cluster.sent("PUT", "/lifeseeker/_mapping")
    recorded = fixture("get_mapping.json")["lifeseeker-v1"]["mappings"]["properties"]
    assert put.body["properties"] == {k: v for k, v in SCHEMA.properties.items() if k not in recorded}
    assert {"content_hash", "copies", "time_source", "locality_km", "file_name"} <= set(put.body["properties"])
    with pytest.raises(StoreError, match="clip_vec of width 512.*give 768"):
        store.ensure_schema({"clip_vec": 768, "capmeta_vec": 384})


def test_new_version_reindexes_and_swaps_the_alias_atomically(cluster):
    # https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-update-aliases
    # https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-reindex
    existing_index(cluster)
    cluster.on("GET", "/lifeseeker-v\\*", (200, fixture("get_versions.json")))
    cluster.on("GET", "/", (200, fixture("root_9.2.json")))
    cluster.on("PUT", "/lifeseeker-v3", (200, {**fixture("create_index.json"), "index": "lifeseeker-v3"}))
    cluster.on("POST", "/_reindex", (200, fixture("reindex.json")))
    cluster.on("POST", "/_aliases", (200, fixture("aliases_ack.json")))
    store = make(cluster)
    new = store.new_version()
    assert new == "lifeseeker-v3"  # v2 exists (not aliased): the next free number
    put = cluster.sent("PUT", "/lifeseeker-v3")[0].body
    assert put["mappings"]["properties"]["clip_vec"]["dims"] == 512 and "aliases" not in put
    (reindex,) = cluster.sent("POST", "/_reindex")
    assert reindex.body == {"source": {"index": "lifeseeker"}, "dest": {"index": "lifeseeker-v3"}}
    assert reindex.params["wait_for_completion"] == ["true"] and reindex.params["refresh"] == ["true"]
    assert store.swap_alias(new) == ["lifeseeker-v1"]
    (aliases,) = cluster.sent("POST", "/_aliases")
    assert aliases.body == {"actions": [{"remove": {"index": "lifeseeker-v1", "alias": "lifeseeker"}},
                                        {"add": {"index": "lifeseeker-v3", "alias": "lifeseeker"}}]}


# --- bulk ---------------------------------------------------------------------------------------------------------------


def _doc(i: str, **kw) -> dict:
    t = datetime(2019, 3, 10, 9, 5, 7)
    d = {"image_id": i, "collection": "synth", "path": f"{i}.jpg", "local_time": t,
         "utc_time": datetime(2019, 3, 10, 9, 5, 7, tzinfo=timezone.utc), "date": "2019-03-10", "year": np.int16(2019),
         "hour": 9, "location": {"lat": 53.3861, "lon": -6.2566}, "tags": ["cup"],
         "clip_vec": np.array([0.6, 0.8, 0.0], dtype=np.float32), "capmeta_vec": None,
         "models": {"clip": "ViT-B-16", "text": None, "ocr": None, "caption": None}}
    d.update(kw)
    return d


def test_bulk_body_ids_iso_times_lists_and_omitted_vectors(cluster):
    # https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk (NDJSON action + source lines,
    #   "_id"; ?refresh) and https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-refresh
    cluster.on("PUT", "/_bulk", (200, fixture("bulk_ok.json")))
    cluster.on("POST", "/lifeseeker/_refresh", (200, fixture("refresh.json")))
    store = make(cluster)
    assert store.upsert([_doc("a"), _doc("b", clip_vec=None), _doc("c")]) == 3
    (bulk,) = cluster.sent("PUT", "/_bulk")
    assert bulk.headers["content-type"].startswith("application/vnd.elasticsearch+x-ndjson")
    actions, sources = bulk.body[0::2], bulk.body[1::2]
    assert actions == [{"index": {"_index": "lifeseeker", "_id": i}} for i in "abc"]
    a = sources[0]
    assert a["local_time"] == "2019-03-10T09:05:07" and a["utc_time"] == "2019-03-10T09:05:07+00:00"
    assert a["year"] == 2019 and a["clip_vec"] == pytest.approx([0.6, 0.8, 0.0], abs=1e-7)
    assert "capmeta_vec" not in a  # None vectors are omitted, never zero-filled
    assert "clip_vec" not in sources[1]
    assert a["models"] == {"clip": "ViT-B-16", "text": None, "ocr": None, "caption": None}
    assert len(cluster.sent("POST", "/lifeseeker/_refresh")) == 1  # read-after-write


def test_bulk_reports_each_failed_document_by_image_id(cluster):
    # https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk (per-item "status"/"error")
    cluster.on("PUT", "/_bulk", (200, fixture("bulk_partial.json")))
    cluster.on("POST", "/lifeseeker/_refresh", (200, fixture("refresh.json")))
    with pytest.raises(BulkError) as err:
        make(cluster).upsert([_doc("a"), _doc("b", hour=300), _doc("c")])
    assert err.value.errors == [("b", 400, "[1:84] failed to parse field [hour] of type [byte] in document with id "
                                           "'b'. Preview of field's value: '300'")]
    assert "1 of 3 documents" in str(err.value) and "b: HTTP 400" in str(err.value)
    assert len(cluster.sent("POST", "/lifeseeker/_refresh")) == 1  # the written ones are still made visible


def test_bulk_retries_only_the_rejected_document_on_429(cluster):
    # https://www.elastic.co/docs/reference/elasticsearch/clients/python/client-helpers (streaming_bulk max_retries)
    cluster.on("PUT", "/_bulk", (200, fixture("bulk_rejected_b.json")), (200, fixture("bulk_b_ok.json")))
    cluster.on("POST", "/lifeseeker/_refresh", (200, fixture("refresh.json")))
    assert make(cluster).upsert([_doc("a"), _doc("b")]) == 2
    first, second = cluster.sent("PUT", "/_bulk")
    assert [a["index"]["_id"] for a in first.body[0::2]] == ["a", "b"]
    assert [a["index"]["_id"] for a in second.body[0::2]] == ["b"]


def test_unmapped_fields_are_refused_before_sending(cluster):
    with pytest.raises(StoreError, match="not in the mapping: \\['colour'\\]"):
        make(cluster).upsert([_doc("a", colour="red")])
    assert cluster.requests == []


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
    # match + bool: https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-match-query
    #               https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-bool-query
    assert compile_clause(F.TextMatch("Coffee exit", ("ocr_text", "caption"))).to_dict() == {"bool": {"filter": [
        {"bool": {"should": [{"match": {"ocr_text": {"query": tok, "operator": "and"}}},
                             {"match": {"caption": {"query": tok, "operator": "and"}}}],
                  "minimum_should_match": 1}} for tok in ("coffee", "exit")]}}
    assert filter_query([]) == {"match_all": {}}
    both = filter_query([F.HourRange(8, 10), F.Terms("tags", ("dog",))])
    assert both == {"bool": {"filter": [{"terms": {"hour": [8, 9]}}, {"terms": {"tags": ["dog"]}}]}}


def test_injection_values_stay_literal_values():
    # Values are JSON values inside the DSL, never query_string syntax.
    value = "x' OR 1=1 --"
    assert compile_clause(F.Terms("country", (value, "*"))).to_dict() == {"terms": {"country": [value, "*"]}}
    text = json.dumps(compile_clause(F.TextMatch(value)).to_dict())
    assert "query_string" not in text and "1=1" not in text
    assert [c["bool"]["should"][0]["match"]["ocr_text"]["query"]
            for c in compile_clause(F.TextMatch(value)).to_dict()["bool"]["filter"]] == ["x", "or", "1", "1"]


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
    assert body["script_fields"]["iat"]["script"]["source"] == (
        "doc['clip_vec'].size() == 0 ? 0.0 : cosineSimilarity(params.q_clip, 'clip_vec')")
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


def test_get_uses_mget_keeps_order_skips_unknown_and_returns_vectors(cluster):
    # https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-mget ("ids", "docs"[].found)
    cluster.on("POST", "/lifeseeker/_mget", (200, fixture("mget.json")))
    store = make(cluster)
    got = store.get(["img00005", "no-such-id", "img00002"])
    req = cluster.sent("POST", "/lifeseeker/_mget")[0]
    assert req.body == {"ids": ["img00005", "no-such-id", "img00002"]}
    assert req.params["_source_excludes"] == ["clip_vec,capmeta_vec"]
    assert [d["image_id"] for d in got] == ["img00005", "img00002"]
    with_vec = store.get(["img00005", "no-such-id", "img00002"], with_vectors=True)
    assert "_source_excludes" not in cluster.sent("POST", "/lifeseeker/_mget")[1].params
    assert with_vec[1]["clip_vec"].dtype == np.float32
    np.testing.assert_allclose(with_vec[1]["clip_vec"], [0.6, 0.8, 0.0, 0.0])
    assert with_vec[1]["capmeta_vec"] is None and with_vec[0]["clip_vec"] is None


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
                   "geo_distance": {"geo_point"}, "geo_bounding_box": {"geo_point"}, "match": {"text"}}
    for clause in samples:
        q = compile_clause(clause).to_dict()
        touched = _fields_in(q)
        assert touched, clause
        kind = next(iter(q)) if next(iter(q)) != "bool" else "match"
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
    src = doc_to_source(_doc("a"))
    assert set(src) <= set(SCHEMA.properties)
    json.dumps(src)  # plain JSON: no numpy or datetime objects left


# --- Kibana and compose --------------------------------------------------------------------------------------------------


def test_saved_objects_define_the_data_view_dashboard_and_map():
    # https://www.elastic.co/docs/api/doc/kibana/operation/operation-importsavedobjectsdefault (NDJSON export format)
    lines = (REPO / "kibana" / "saved_objects.ndjson").read_text(encoding="utf-8").splitlines()
    objs = {(o["type"], o["id"]): o for o in map(json.loads, lines)}
    dv = objs[("index-pattern", "lifeseeker-data-view")]["attributes"]
    assert dv["title"] == "lifeseeker" and dv["timeFieldName"] == "local_time"
    assert SCHEMA.properties[dv["timeFieldName"]]["type"] == "date"
    for o in objs.values():  # every reference resolves to a shipped object
        for ref in o["references"]:
            assert (ref["type"], ref["id"]) in objs, ref
    vis = json.loads(objs[("visualization", "lifeseeker-images-per-day")]["attributes"]["visState"])
    hist = [a for a in vis["aggs"] if a["type"] == "date_histogram"][0]["params"]
    assert hist["field"] == "local_time" and hist["calendar_interval"] == "1d"
    layers = json.loads(objs[("map", "lifeseeker-locations-map")]["attributes"]["layerListJSON"])
    geo = layers[0]["sourceDescriptor"]["geoField"]
    assert geo == "location" and SCHEMA.properties[geo]["type"] == "geo_point"
    panels = json.loads(objs[("dashboard", "lifeseeker-overview")]["attributes"]["panelsJSON"])
    assert {p["panelRefName"] for p in panels} == {r["name"] for r in objs[("dashboard", "lifeseeker-overview")]["references"]}


class _StubResponse:
    def __init__(self, status: int, payload: dict):
        self.status = status
        self.data = json.dumps(payload).encode()


class _StubPool:
    def __init__(self, status: int, payload: dict):
        self.calls: list[tuple] = []
        self.response = _StubResponse(status, payload)

    def request(self, method, url, fields=None, headers=None, **kw):
        self.calls.append((method, url, fields, headers))
        return self.response


def test_import_saved_objects_posts_multipart_with_xsrf(monkeypatch, tmp_path):
    import urllib3

    from lifeseeker.engine.store import kibana

    stub = _StubPool(200, fixture("kibana_import_ok.json"))
    monkeypatch.setattr(urllib3, "PoolManager", lambda *a, **k: stub)
    path = REPO / "kibana" / "saved_objects.ndjson"
    answer = kibana.import_saved_objects("http://kibana:5601/", path, ("elastic", "changeme"))
    assert answer["successCount"] == 4
    ((method, url, fields, headers),) = stub.calls
    assert method == "POST" and url == "http://kibana:5601/api/saved_objects/_import?overwrite=true"
    assert headers["kbn-xsrf"] == "true" and headers["authorization"] == "Basic ZWxhc3RpYzpjaGFuZ2VtZQ=="
    assert fields == {"file": ("saved_objects.ndjson", path.read_bytes(), "application/ndjson")}
    # the multipart body urllib3 builds from these fields carries the file under the form field "file"
    body, ctype = urllib3.encode_multipart_formdata(fields, boundary="b0undary")
    assert ctype == "multipart/form-data; boundary=b0undary"
    assert b'Content-Disposition: form-data; name="file"; filename="saved_objects.ndjson"' in body
    assert kibana.auth_headers("a2V5") == {"authorization": "ApiKey a2V5"}


def test_import_saved_objects_reports_kibana_errors(monkeypatch, tmp_path):
    import urllib3

    from lifeseeker.engine.store import kibana

    monkeypatch.setattr(urllib3, "PoolManager", lambda *a, **k: _StubPool(200, fixture("kibana_import_conflict.json")))
    with pytest.raises(StoreError, match="dashboard/lifeseeker-overview: missing_references"):
        kibana.import_saved_objects("http://kibana:5601", REPO / "kibana" / "saved_objects.ndjson")
    monkeypatch.setattr(urllib3, "PoolManager", lambda *a, **k: _StubPool(401, {"statusCode": 401,
                                                                               "error": "Unauthorized",
                                                                               "message": "missing credentials"}))
    with pytest.raises(StoreError, match="HTTP 401: missing credentials"):
        kibana.import_saved_objects("http://kibana:5601", REPO / "kibana" / "saved_objects.ndjson")
    with pytest.raises(StoreError, match="unreadable"):
        kibana.import_saved_objects("http://kibana:5601", tmp_path / "nope.ndjson")


def test_cli_import_kibana_and_reindex_swap(monkeypatch, cluster):
    from click.testing import CliRunner

    from lifeseeker.cli import elastic as cli_elastic
    from lifeseeker.engine.store import elastic, kibana

    seen = {}
    monkeypatch.setattr(kibana, "import_saved_objects",
                        lambda url, path, auth: seen.update(url=url, path=path, auth=auth) or {"successCount": 4})
    env = {"LIFESEEKER_ES_URL": "http://es.test:9200", "LIFESEEKER_ES_USER": "elastic",
           "LIFESEEKER_ES_PASSWORD": "pw"}
    res = CliRunner().invoke(cli_elastic.es, ["import-kibana", "--kibana", "http://kibana:5601"], env=env)
    assert res.exit_code == 0, res.output
    assert "imported 4 saved objects" in res.output
    assert seen == {"url": "http://kibana:5601", "path": REPO / "kibana" / "saved_objects.ndjson",
                    "auth": ("elastic", "pw")}

    existing_index(cluster)
    cluster.on("GET", "/lifeseeker-v\\*", (200, {"lifeseeker-v1": {}}))
    cluster.on("GET", "/", (200, fixture("root_9.2.json")))
    cluster.on("PUT", "/lifeseeker-v2", (200, {**fixture("create_index.json"), "index": "lifeseeker-v2"}))
    cluster.on("POST", "/_aliases", (200, fixture("aliases_ack.json")))
    real = elastic.ElasticStore
    monkeypatch.setattr(elastic, "ElasticStore",
                        lambda url, **kw: real(url, **{**kw, "node_class": cluster.node_class(), "backoff_s": 0}))
    res = CliRunner().invoke(cli_elastic.es, ["reindex-swap", "--no-copy"], env=env)
    assert res.exit_code == 0, res.output
    assert "alias lifeseeker -> lifeseeker-v2 (was lifeseeker-v1" in res.output
    assert cluster.sent("POST", "/_reindex") == []
    assert cluster.sent("POST", "/_aliases")[0].body["actions"][-1] == {"add": {"index": "lifeseeker-v2",
                                                                                "alias": "lifeseeker"}}


def test_compose_pins_elasticsearch_9_matching_the_client():
    import elasticsearch

    text = (REPO / "compose.yaml").read_text(encoding="utf-8")
    versions = set(re.findall(r"docker\.elastic\.co/(?:elasticsearch/elasticsearch|kibana/kibana):\$\{ES_VERSION:-([\d.]+)\}",
                              text))
    assert len(versions) == 1
    (v,) = versions
    assert int(v.split(".")[0]) == int(elasticsearch.__versionstr__.split(".")[0]) == 9
    assert "gunicorn -w 2 --preload --timeout 60 -b 0.0.0.0:5000" in text and "LIFESEEKER_STORE: http://elasticsearch:9200" in text
    assert "profiles: [ingest]" in text and "lifeseeker ingest folder /data/photos" in text


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

"""Every request body and query parameter the Elasticsearch store sends is validated against the official API
specification (elastic/elasticsearch-specification, TypeScript sources vendored in ``tests/fixtures/es-spec/``;
commit, licence and file list in its README; reader and validator in ``tests/es_spec.py``). The bodies are the
ones the store really sends, captured by the fake transport (``tests/es_fake.py``). An unknown key anywhere, at
any depth the specification types, fails the test with its JSON path.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pytest

from lifeseeker.engine import filters as F
from lifeseeker.engine.query.soft import SoftDateRange, SoftNear, SoftPlace
from lifeseeker.engine.store.base import VectorQuery
from lifeseeker.engine.store.elastic import index as es_index

from .es_fake import FakeCluster, cluster, existing_index, fixture, make  # noqa: F401 (cluster: a fixture)
from .es_spec import Spec, check_body, check_params, validate
from .test_elastic_writes import _doc

SEARCH = "_global/search/SearchRequest.ts"
SPEC = Spec()
Q512 = np.linspace(-1, 1, 512).astype(np.float32)
Q384 = np.cos(np.arange(384)).astype(np.float32)
FILTERS = [F.DateRange(date(2019, 3, 1), date(2019, 3, 31)), F.HourRange(21, 5), F.Weekdays(frozenset({"Sun"})),
           F.PartOfDay(frozenset({"morning"})), F.Terms("city", ("Málaga",)), F.GeoDistance(36.7, -4.4, 5.0),
           F.GeoBox(44.0, 11.0, 43.0, 12.5), F.TextMatch("3.5 don't foo_bar")]
SOFT = [SoftDateRange(date(2019, 4, 1), date(2019, 4, 30)), SoftPlace("places", ("Dublin",)),
        SoftNear(53.35, -6.26, 2.0)]


def _ok(report, must_check: set[str]) -> None:
    assert report.errors == []
    assert must_check <= report.checked, must_check - report.checked
    assert not must_check & report.unresolved


@pytest.mark.parametrize("clip,tat,soft,exact", [
    (Q512, Q384, (), True), (Q512, Q384, (), False), (None, Q384, (), False), (Q512, Q384, SOFT, False),
    (None, None, SOFT, True), (None, None, SOFT, False), (None, None, (), True)])
def test_search_bodies_follow_the_search_request_spec(cluster, clip, tat, soft, exact):
    existing_index(cluster)
    body = make(cluster).search_body(VectorQuery(clip, tat, F.Weights(0.7, 0.3)), FILTERS, 20, exact=exact,
                                     soft=soft)
    report = check_body(SPEC, SEARCH, body)
    want = {"Request.body", "QueryContainer", "BoolQuery", "SourceFilter", "MultiMatchQuery", "GeoDistanceQuery"}
    if soft and clip is None and not exact:
        want |= {"ConstantScoreQuery", "Rescore", "TermsQuery"}
    if clip is not None or tat is not None:
        want |= {"ScriptField", "Script"} | ({"ScriptScoreQuery"} if exact else {"KnnSearch", "Rescore", "RescoreQuery"})
    _ok(report, want)


def test_count_facets_neighbours_and_get_bodies_follow_the_spec(cluster):
    existing_index(cluster)
    cluster.on("POST", "/lifeseeker/_count", (200, fixture("count_2000.json")))
    cluster.on("POST", "/lifeseeker/_search", (200, fixture("facets.json")))
    cluster.on("POST", "/lifeseeker/_mget", (200, fixture("mget.json")))
    cluster.on("GET", "/", (200, fixture("root_9.2.json")))
    store = make(cluster)
    store.count(FILTERS)
    store.facets(["country", "tags", "year"], FILTERS)
    store.neighbours(datetime(2019, 3, 5, 8, 30), 3600, 1800, collection="synth")
    store.get(["a", "b"])
    store.get(["a", "b"], with_vectors=True)
    (count,) = cluster.sent("POST", "/lifeseeker/_count")
    _ok(check_body(SPEC, "_global/count/CountRequest.ts", count.body), {"QueryContainer"})
    facets, neighbours, get_vec = [r.body for r in cluster.sent("POST", "/lifeseeker/_search")]
    _ok(check_body(SPEC, SEARCH, facets), {"AggregationContainer", "TermsAggregation", "TopHitsAggregation"})
    report = check_body(SPEC, SEARCH, neighbours)
    _ok(report, {"BoolQuery", "QueryContainer"})
    assert report.checked & {"UntypedRangeQuery", "DateRangeQuery"}  # the range on local_time was checked
    _ok(check_body(SPEC, SEARCH, get_vec), {"IdsQuery", "SourceFilter"})
    mget = cluster.sent("POST", "/lifeseeker/_mget")[0]
    _ok(check_body(SPEC, "_global/mget/MultiGetRequest.ts", mget.body), set())
    assert check_params(SPEC, "_global/mget/MultiGetRequest.ts", mget.params) == []


def test_index_creation_body_follows_the_create_index_spec(cluster):
    cluster.on("GET", "/_alias/lifeseeker", (404, fixture("alias_missing.json")))
    cluster.on("HEAD", "/lifeseeker", (404, None))
    cluster.on("PUT", "/lifeseeker-v1", (200, fixture("create_index.json")))
    make(cluster).ensure_schema({"clip_vec": 512, "capmeta_vec": 384})
    body = cluster.sent("PUT", "/lifeseeker-v1")[0].body
    _ok(check_body(SPEC, "indices/create/IndicesCreateRequest.ts", body),
        {"TypeMapping", "IndexSettings", "DenseVectorProperty", "DenseVectorIndexOptions", "KeywordProperty",
         "DateProperty", "GeoPointProperty", "ObjectProperty", "TextProperty"})


def test_reindex_tasks_aliases_and_bulk_follow_their_specs(cluster, monkeypatch):
    monkeypatch.setattr(es_index.time, "sleep", lambda s: None)
    existing_index(cluster)
    cluster.on("GET", "/lifeseeker-v\\*", (200, fixture("get_versions.json")))
    cluster.on("PUT", "/lifeseeker-v3", (200, {**fixture("create_index.json"), "index": "lifeseeker-v3"}))
    cluster.on("POST", "/_reindex", (200, fixture("reindex_started.json")))
    cluster.on("GET", "/_tasks/es01-id(:|%3A)4321", (200, fixture("task_done.json")))
    cluster.on("POST", "/_aliases", (200, fixture("aliases_ack.json")))
    cluster.on("PUT", "/_bulk", (200, fixture("bulk_ok.json")))
    store = make(cluster)
    store.swap_alias(store.new_version())
    store.upsert([_doc("a"), _doc("b"), _doc("c")])
    (reindex,) = cluster.sent("POST", "/_reindex")
    _ok(check_body(SPEC, "_global/reindex/ReindexRequest.ts", reindex.body), {"Source", "Destination"})
    assert check_params(SPEC, "_global/reindex/ReindexRequest.ts", reindex.params) == []
    task = cluster.sent("GET", "/_tasks/es01-id(:|%3A)4321")[0]
    assert check_params(SPEC, "tasks/get/GetTaskRequest.ts", task.params) == []
    (aliases,) = cluster.sent("POST", "/_aliases")
    _ok(check_body(SPEC, "indices/update_aliases/IndicesUpdateAliasesRequest.ts", aliases.body),
        {"Action", "AddAction", "RemoveAction"} & SPEC.classes.keys() | {"AddAction", "RemoveAction"})
    (bulk,) = cluster.sent("PUT", "/_bulk")
    for line in bulk.body[0::2]:  # the action lines (sources are the mapping's documents)
        _ok(validate(SPEC, line, "OperationContainer"), {"OperationContainer", "IndexOperation"})


def test_the_validator_catches_what_a_cluster_would_refuse():
    # The checks can fail: a misspelt key at each depth is reported with its path.
    bad_knn = {"knn": [{"field": "clip_vec", "query_vector": [1.0], "k": 10, "num_candidate": 50}]}
    assert "$.knn[0]: 'num_candidate' is not a property of KnnSearch" in " ".join(check_body(SPEC, SEARCH,
                                                                                              bad_knn).errors)
    bad_rescore = {"rescore": {"window_size": 10, "query": {"rescore_query": {"match_all": {}}, "query_weigth": 0}}}
    assert "query_weigth" in " ".join(check_body(SPEC, SEARCH, bad_rescore).errors)
    bad_query = {"query": {"bool": {"filter": [{"multi_match": {"query": "x", "fields": ["a"], "kind": "and"}}]}}}
    assert "'kind' is not a property of MultiMatchQuery" in " ".join(check_body(SPEC, SEARCH, bad_query).errors)
    bad_mapping = {"mappings": {"properties": {"v": {"type": "dense_vector", "dims": 3, "similarty": "cosine"}}}}
    assert check_body(SPEC, "indices/create/IndicesCreateRequest.ts", bad_mapping).errors
    assert check_params(SPEC, "_global/reindex/ReindexRequest.ts", {"wait_for_completion": ["false"],
                                                                    "wait": ["1"]}) == ["wait"]
    bad_source = {"_source": {"exclude_vector": False}}  # the 9.2 option is exclude_vectors
    assert check_body(SPEC, SEARCH, bad_source).errors

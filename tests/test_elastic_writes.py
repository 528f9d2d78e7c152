"""Elasticsearch writes and index administration by contract (fake transport, ``tests/es_fake.py``): index creation,
the asynchronous reindex with its checks before the alias swap, the create race, an alias name taken by an index,
bulk bodies, one retry layer, refresh once, dropped vectors, reading vectors back. Request shapes are also
validated against the API specification in ``tests/test_elastic_spec.py``."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import numpy as np
import pytest

from lifeseeker.engine.schema import load_schema
from lifeseeker.engine.store.base import DroppedVector
from lifeseeker.engine.store.elastic import BulkError
from lifeseeker.engine.store.elastic import index as es_index
from lifeseeker.errors import StoreError

from .es_fake import FakeCluster, cluster, existing_index, fixture, make  # noqa: F401 (cluster: a fixture)

SCHEMA = load_schema()


def _doc(i: str, **kw) -> dict:
    t = datetime(2019, 3, 10, 9, 5, 7)
    d = {"image_id": i, "collection": "synth", "path": f"{i}.jpg", "local_time": t,
         "utc_time": datetime(2019, 3, 10, 9, 5, 7, tzinfo=timezone.utc), "date": "2019-03-10", "year": np.int16(2019),
         "hour": 9, "location": {"lat": 53.3861, "lon": -6.2566}, "tags": ["cup"],
         "clip_vec": np.array([0.6, 0.8, 0.0], dtype=np.float32), "capmeta_vec": None,
         "models": {"clip": "ViT-B-16", "text": None, "ocr": None, "caption": None}}
    d.update(kw)
    return d


# --- index creation ----------------------------------------------------------------------------------------------------


def _fresh(cluster: FakeCluster) -> FakeCluster:
    return (cluster.on("GET", "/_alias/lifeseeker", (404, fixture("alias_missing.json")))
            .on("HEAD", "/lifeseeker", (404, None)).on("GET", "/", (200, fixture("root_9.2.json"))))


def test_create_index_body_follows_the_mapping_and_keeps_vectors_out_of_source(cluster):
    # https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/dense-vector (dims, similarity,
    #   int8_hnsw m/ef_construction); from 9.2 index.mapping.exclude_source_vectors defaults to true: the default is
    #   kept (no second copy of every vector as JSON in _source).
    _fresh(cluster).on("PUT", "/lifeseeker-v1", (200, fixture("create_index.json")))
    make(cluster).ensure_schema({"clip_vec": 512, "capmeta_vec": 384})
    (put,) = cluster.sent("PUT", "/lifeseeker-v1")
    body = put.body
    assert body["aliases"] == {"lifeseeker": {}}
    props = body["mappings"]["properties"]
    for name, dims in (("clip_vec", 512), ("capmeta_vec", 384)):
        assert props[name] == {"type": "dense_vector", "dims": dims, "similarity": "cosine", "index": True,
                               "index_options": {"type": "int8_hnsw", "m": 16, "ef_construction": 100}}
    assert body["mappings"]["dynamic"] == "strict"
    assert body["mappings"]["_meta"]["lifeseeker"]["schema_version"] == 2
    assert props == {**SCHEMA.properties, "clip_vec": props["clip_vec"], "capmeta_vec": props["capmeta_vec"]}
    # a calendar day as a date (range on a keyword is an "expensive query", refused with
    # search.allow_expensive_queries=false)
    assert props["date"] == {"type": "date", "format": "strict_date"}
    assert body["settings"]["analysis"]["normalizer"]["folding"] == {"type": "custom",
                                                                     "filter": ["lowercase", "asciifolding"]}
    assert body["settings"]["index"] == {"number_of_shards": 1, "number_of_replicas": 0}


def test_zero_dims_are_left_for_elasticsearch_to_set(cluster):
    # dense-vector reference: "dims" optional, set from the first indexed vector.
    _fresh(cluster).on("PUT", "/lifeseeker-v1", (200, fixture("create_index.json")))
    make(cluster).ensure_schema({"clip_vec": 0, "capmeta_vec": 384})
    body = cluster.sent("PUT", "/lifeseeker-v1")[0].body
    assert "dims" not in body["mappings"]["properties"]["clip_vec"]
    assert body["mappings"]["properties"]["capmeta_vec"]["dims"] == 384


def test_create_race_loser_checks_the_index_the_winner_made(cluster):
    # Two sharded ingests: both see no index, both PUT; the second gets 400 resource_already_exists_exception
    # (https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-create) and must go on.
    cluster.on("GET", "/_alias/lifeseeker", (404, fixture("alias_missing.json")), (200, fixture("get_alias.json")))
    cluster.on("HEAD", "/lifeseeker", (404, None))
    cluster.on("PUT", "/lifeseeker-v1", (400, fixture("index_exists.json")))
    cluster.on("GET", "/lifeseeker/_mapping", (200, fixture("get_mapping.json")))
    cluster.on("PUT", "/lifeseeker/_mapping", (200, {"acknowledged": True}))  # fields the mapping gained since
    store = make(cluster)
    store.ensure_schema({"clip_vec": 512, "capmeta_vec": 384})  # same widths as the winner's: fine
    assert len(cluster.sent("PUT", "/lifeseeker-v1")) == 1
    with pytest.raises(StoreError, match="clip_vec of width 512.*give 768"):
        make(cluster).ensure_schema({"clip_vec": 768, "capmeta_vec": 384})


def test_other_create_errors_still_raise(cluster):
    _fresh(cluster).on("PUT", "/lifeseeker-v1", (400, {"error": {"type": "illegal_argument_exception",
                                                                 "reason": "unknown setting"}, "status": 400}))
    with pytest.raises(StoreError, match="illegal_argument_exception"):
        make(cluster).ensure_schema({"clip_vec": 512, "capmeta_vec": 384})


def test_existing_index_with_other_widths_is_refused(cluster):
    # https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-put-mapping (adding fields)
    existing_index(cluster)
    store = make(cluster)
    store.ensure_schema({"clip_vec": 512, "capmeta_vec": 384})  # same widths: accepted, no index created
    assert not cluster.sent("PUT", "/lifeseeker-v.*")
    # the fields the mapping gained since the recorded index (issue 16: content_hash, copies, ...) are added
    (put,) = cluster.sent("PUT", "/lifeseeker/_mapping")
    assert {"content_hash", "copies", "time_source", "locality_km", "file_name"} <= set(put.body["properties"])
    with pytest.raises(StoreError, match="clip_vec of width 512.*give 768"):
        store.ensure_schema({"clip_vec": 768, "capmeta_vec": 384})


def test_dims_cache_expires_so_another_process_swap_is_seen(cluster, monkeypatch):
    existing_index(cluster)
    store = make(cluster)
    assert store.dims() == {"clip_vec": 512, "capmeta_vec": 384}
    store.dims()
    assert len(cluster.sent("GET", "/lifeseeker/_mapping")) == 1  # cached
    monkeypatch.setattr(es_index, "DIMS_TTL_S", 0.0)
    store.dims()
    assert len(cluster.sent("GET", "/lifeseeker/_mapping")) == 2  # expired: read again


# --- versions: async reindex, checks, swap -------------------------------------------------------------------------------


def _version_routes(cluster: FakeCluster, *task_answers: str) -> FakeCluster:
    existing_index(cluster)
    cluster.on("GET", "/lifeseeker-v\\*", (200, fixture("get_versions.json")))
    cluster.on("PUT", "/lifeseeker-v3", (200, {**fixture("create_index.json"), "index": "lifeseeker-v3"}))
    cluster.on("POST", "/_reindex", (200, fixture("reindex_started.json")))
    cluster.on("GET", "/_tasks/es01-id(:|%3A)4321", *[(200, fixture(a)) for a in task_answers])
    cluster.on("POST", "/_aliases", (200, fixture("aliases_ack.json")))
    return cluster


def test_new_version_reindexes_asynchronously_then_swaps_the_alias(cluster, monkeypatch):
    # https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-reindex (wait_for_completion=false
    #   answers {"task": "<node>:<id>"}); https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-tasks
    #   (GET _tasks/<id>: completed, response)
    sleeps = []
    monkeypatch.setattr(es_index.time, "sleep", sleeps.append)
    _version_routes(cluster, "task_running.json", "task_running.json", "task_done.json")
    store = make(cluster)
    new = store.new_version()
    assert new == "lifeseeker-v3"  # v2 exists (not aliased): the next free number
    put = cluster.sent("PUT", "/lifeseeker-v3")[0].body
    assert put["mappings"]["properties"]["clip_vec"]["dims"] == 512 and "aliases" not in put
    (reindex,) = cluster.sent("POST", "/_reindex")  # one task, however long it runs: never re-POSTed
    assert reindex.body == {"source": {"index": "lifeseeker"}, "dest": {"index": "lifeseeker-v3"}}
    assert reindex.params["wait_for_completion"] == ["false"] and reindex.params["refresh"] == ["true"]
    assert len(cluster.sent("GET", "/_tasks/es01-id(:|%3A)4321")) == 3 and sleeps == [es_index.REINDEX_POLL_S] * 2
    assert store.swap_alias(new) == ["lifeseeker-v1"]
    (aliases,) = cluster.sent("POST", "/_aliases")
    assert aliases.body == {"actions": [{"remove": {"index": "lifeseeker-v1", "alias": "lifeseeker"}},
                                        {"add": {"index": "lifeseeker-v3", "alias": "lifeseeker"}}]}


@pytest.mark.parametrize("answer,message", [
    ("task_failures.json", "1 failures: img00042: \\[1:84\\] failed to parse field \\[hour\\]"),
    ("task_canceled.json", "was canceled: by user request"),
    ("task_short.json", "copied 1990 of 2000 documents \\(version conflicts 10"),
])
def test_a_failed_reindex_is_reported_and_the_alias_is_not_swapped(cluster, monkeypatch, answer, message):
    from click.testing import CliRunner

    from lifeseeker.cli import elastic as cli_elastic
    from lifeseeker.engine.store import elastic

    monkeypatch.setattr(es_index.time, "sleep", lambda s: None)
    _version_routes(cluster, answer)
    with pytest.raises(StoreError, match=message):
        make(cluster).new_version()
    real = elastic.ElasticStore
    monkeypatch.setattr(elastic, "ElasticStore",
                        lambda url, **kw: real(url, **{**kw, "node_class": cluster.node_class(), "backoff_s": 0}))
    res = CliRunner().invoke(cli_elastic.es, ["reindex-swap"], env={"LIFESEEKER_ES_URL": "http://es.test:9200"})
    assert res.exit_code != 0 and "reindex into lifeseeker-v3" in res.output
    assert cluster.sent("POST", "/_aliases") == []


def test_reindex_task_error_and_timeout_are_reported(cluster, monkeypatch):
    monkeypatch.setattr(es_index.time, "sleep", lambda s: None)
    _version_routes(cluster, "task_running.json")
    store = make(cluster)
    store.reindex_timeout_s = 0.0
    with pytest.raises(StoreError, match="still running after 0 s; not swapping"):
        store.new_version()
    cluster.on("GET", "/_tasks/es01-id(:|%3A)4321", (200, {"completed": True, "task": fixture("task_running.json")["task"],
                                                     "error": {"type": "search_phase_execution_exception",
                                                               "reason": "all shards failed"}}))
    with pytest.raises(StoreError, match="failed: search_phase_execution_exception: all shards failed"):
        make(cluster).new_version()


def test_alias_name_taken_by_a_concrete_index_is_refused_clearly(cluster):
    # An index named like the alias: an alias may not take that name (invalid_alias_name_exception on a real
    # cluster); say so before creating anything.
    cluster.on("GET", "/_alias/lifeseeker", (404, fixture("alias_missing.json")))
    cluster.on("HEAD", "/lifeseeker", (200, None))
    store = make(cluster)
    with pytest.raises(StoreError, match="lifeseeker is a concrete index, not an alias"):
        store.new_version()
    with pytest.raises(StoreError, match="concrete index, not an alias"):
        store.swap_alias("lifeseeker-v2")
    assert cluster.sent("PUT", "/.*") == [] and cluster.sent("POST", "/_aliases") == []


# --- bulk ---------------------------------------------------------------------------------------------------------------


def _bulk_routes(cluster: FakeCluster, *answers: str) -> FakeCluster:
    cluster.on("PUT", "/_bulk", *[(200, fixture(a)) for a in answers])
    cluster.on("POST", "/lifeseeker/_refresh", (200, fixture("refresh.json")))
    cluster.on("POST", "/lifeseeker/_count", (200, fixture("count_2000.json")))
    return cluster


def test_bulk_body_ids_iso_times_shortest_float32_and_omitted_vectors(cluster):
    # https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk (NDJSON action + source lines)
    _bulk_routes(cluster, "bulk_ok.json")
    store = make(cluster)
    assert store.upsert([_doc("a"), _doc("b", clip_vec=None), _doc("c")]) == 3
    (bulk,) = cluster.sent("PUT", "/_bulk")
    assert bulk.headers["content-type"].startswith("application/vnd.elasticsearch+x-ndjson")
    actions, sources = bulk.body[0::2], bulk.body[1::2]
    assert actions == [{"index": {"_index": "lifeseeker", "_id": i}} for i in "abc"]
    a = sources[0]
    assert a["local_time"] == "2019-03-10T09:05:07" and a["utc_time"] == "2019-03-10T09:05:07+00:00"
    # shortest decimal of the float32 (0.6, not 0.6000000238418579): what ES stores, half the bytes
    assert a["year"] == 2019 and a["clip_vec"] == [0.6, 0.8, 0.0]
    assert '"clip_vec": [0.6, 0.8, 0.0]' in json.dumps(a)
    assert "capmeta_vec" not in a and "clip_vec" not in sources[1]  # None vectors are omitted, never zero-filled
    assert a["models"] == {"clip": "ViT-B-16", "text": None, "ocr": None, "caption": None}


def test_no_refresh_per_batch_one_before_the_next_read_and_one_at_the_end(cluster):
    _bulk_routes(cluster, "bulk_ok.json")
    store = make(cluster)
    for _ in range(4):  # four ingest batches
        store.upsert([_doc("a"), _doc("b"), _doc("c")])
    assert cluster.sent("POST", "/lifeseeker/_refresh") == []
    store.count()
    store.count()
    assert len(cluster.sent("POST", "/lifeseeker/_refresh")) == 1  # read-after-write, once
    store.upsert([_doc("a")])
    store.optimize()  # what the ingest pipeline calls at the end
    store.optimize()
    assert len(cluster.sent("POST", "/lifeseeker/_refresh")) == 2


def test_bulk_uses_gzip_and_a_longer_timeout(cluster):
    # https://www.elastic.co/docs/reference/elasticsearch/clients/python/configuration (http_compress)
    _bulk_routes(cluster, "bulk_ok.json")
    store = make(cluster, timeout_s=10.0)
    assert store.client.transport.node_pool.get().config.http_compress is True
    store.upsert([_doc("a"), _doc("b"), _doc("c")])
    store.count()
    assert cluster.sent("PUT", "/_bulk")[0].timeout == 120.0
    assert cluster.sent("POST", "/lifeseeker/_count")[0].timeout in (None, 10.0)  # the client's default


def test_bulk_reports_each_failed_document_by_image_id(cluster):
    # https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk (per-item "status"/"error")
    _bulk_routes(cluster, "bulk_partial.json")
    with pytest.raises(BulkError) as err:
        make(cluster).upsert([_doc("a"), _doc("b", hour=300), _doc("c")])
    assert err.value.errors == [("b", 400, "[1:84] failed to parse field [hour] of type [byte] in document with id "
                                           "'b'. Preview of field's value: '300'")]
    assert "1 of 3 documents" in str(err.value) and "b: HTTP 400" in str(err.value)


def test_bulk_retries_only_the_rejected_document_on_429(cluster):
    # https://www.elastic.co/docs/reference/elasticsearch/clients/python/client-helpers (streaming_bulk max_retries)
    _bulk_routes(cluster, "bulk_rejected_b.json", "bulk_b_ok.json")
    assert make(cluster).upsert([_doc("a"), _doc("b")]) == 2
    first, second = cluster.sent("PUT", "/_bulk")
    assert [a["index"]["_id"] for a in first.body[0::2]] == ["a", "b"]
    assert [a["index"]["_id"] for a in second.body[0::2]] == ["b"]


def test_persistent_429_is_retried_by_one_layer_only(cluster):
    # Before: streaming_bulk's retries inside the store's own 429 loop: (3+1) * (3+1) = 16 bulk requests that
    # re-sent the finished document "a" and reported "b" up to 4 times.
    _bulk_routes(cluster, "bulk_rejected_b.json", "bulk_b_rejected.json")
    with pytest.raises(BulkError) as err:
        make(cluster, retries=3).upsert([_doc("a"), _doc("b")])
    sent = cluster.sent("PUT", "/_bulk")
    assert len(sent) == 4  # 1 try + 3 retries of the rejected document only
    assert [[a["index"]["_id"] for a in r.body[0::2]] for r in sent] == [["a", "b"], ["b"], ["b"], ["b"]]
    assert [e[0] for e in err.value.errors] == ["b"]


def test_unmapped_fields_are_refused_before_sending(cluster):
    with pytest.raises(StoreError, match="not in the mapping: \\['colour'\\]"):
        make(cluster).upsert([_doc("a", colour="red")])
    assert cluster.requests == []


def test_zero_norm_and_non_finite_vectors_are_dropped_the_document_kept_and_reported(cluster, caplog):
    # dense-vector reference (similarity cosine): a zero-magnitude vector is refused, and with it the document.
    _bulk_routes(cluster, "bulk_ok.json")
    store = make(cluster)
    docs = [_doc("a", clip_vec=np.zeros(3, np.float32)), _doc("b", capmeta_vec=np.array([np.nan, 1, 0])),
            _doc("c")]
    assert store.upsert(docs) == 3
    sources = cluster.sent("PUT", "/_bulk")[0].body[1::2]
    assert [s["image_id"] for s in sources] == ["a", "b", "c"]  # every document written
    assert "clip_vec" not in sources[0] and "capmeta_vec" not in sources[1] and sources[1]["clip_vec"]
    assert store.dropped_vectors == [DroppedVector("a", "clip_vec", "zero norm"),
                                     DroppedVector("b", "capmeta_vec", "non-finite values")]
    assert "document a written without clip_vec (zero norm)" in caplog.text
    assert docs[0]["clip_vec"] is not None  # the caller's documents are not modified


# --- reading vectors back ----------------------------------------------------------------------------------------------


def test_get_uses_mget_keeps_order_skips_unknown(cluster):
    # https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-mget ("ids", "docs"[].found)
    cluster.on("POST", "/lifeseeker/_mget", (200, fixture("mget.json")))
    got = make(cluster).get(["img00005", "no-such-id", "img00002"])
    req = cluster.sent("POST", "/lifeseeker/_mget")[0]
    assert req.body == {"ids": ["img00005", "no-such-id", "img00002"]}
    assert req.params["_source_excludes"] == ["clip_vec,capmeta_vec"]
    assert [d["image_id"] for d in got] == ["img00005", "img00002"]


def test_get_with_vectors_asks_for_them_explicitly_on_9_2(cluster):
    # 9.2+: vectors are not in _source unless asked: _source.exclude_vectors=false in a search
    # (elastic/elasticsearch-specification, specification/_global/search/_types/SourceFilter.ts).
    hits = [{"_index": "lifeseeker-v1", "_id": d["_id"], "_score": 1.0, "_source": d["_source"]}
            for d in fixture("mget.json")["docs"] if d.get("found")]
    cluster.on("GET", "/", (200, fixture("root_9.2.json")))
    cluster.on("POST", "/lifeseeker/_search", (200, {"hits": {"hits": hits[::-1]}}))
    got = make(cluster).get(["img00005", "no-such-id", "img00002"], with_vectors=True)
    body = cluster.sent("POST", "/lifeseeker/_search")[0].body
    assert body == {"query": {"ids": {"values": ["img00005", "no-such-id", "img00002"]}}, "size": 3,
                    "_source": {"exclude_vectors": False}, "track_total_hits": False}
    assert [d["image_id"] for d in got] == ["img00005", "img00002"]  # the order asked, not the hits' order
    assert got[1]["clip_vec"].dtype == np.float32
    np.testing.assert_allclose(got[1]["clip_vec"], [0.6, 0.8, 0.0, 0.0])
    assert got[1]["capmeta_vec"] is None and got[0]["clip_vec"] is None
    cluster2 = FakeCluster().on("GET", "/", (200, fixture("root_9.1.json")))
    cluster2.on("POST", "/lifeseeker/_search", (200, {"hits": {"hits": hits}}))
    make(cluster2).get(["img00005"], with_vectors=True)
    assert cluster2.sent("POST", "/lifeseeker/_search")[0].body["_source"] is True  # 9.1: vectors are in _source


# --- client floor --------------------------------------------------------------------------------------------------------


def test_client_floor_matches_the_options_used():
    # retry_backoff_base / retry_backoff_cap are Elasticsearch(...) options only from elasticsearch-py 9.4.1
    # (elastic/elasticsearch-py, elasticsearch/_sync/client/__init__.py); pyproject must not allow an older client.
    import inspect
    import re
    import tomllib
    from pathlib import Path

    from elasticsearch import Elasticsearch

    from lifeseeker.engine.store.elastic import client as es_client

    deps = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    (spec,) = [d for d in deps["dependencies"] if re.match(r"elasticsearch\b", d)]
    floor = tuple(int(x) for x in re.search(r">=\s*([\d.]+)", spec).group(1).split("."))
    assert floor >= (9, 4, 1) and "<10" in spec
    assert es_client.BACKOFF_OPTIONS == ("retry_backoff_base" in inspect.signature(Elasticsearch.__init__).parameters)
    store = make(FakeCluster(), backoff_s=0.5)
    opts = vars(store.client)  # the per-request options the client sends with every call
    assert (opts["_retry_backoff_base"], opts["_retry_backoff_cap"]) == (0.5, 30.0)
    assert opts["_retry_on_timeout"] is True  # a timed-out search is retried


def test_an_overloaded_bulk_request_is_retried_once_by_the_helper(cluster):
    # A whole-request 503 (e.g. no master for a moment): streaming_bulk's one layer re-sends the chunk.
    cluster.on("PUT", "/_bulk", (503, fixture("unavailable.json")), (200, fixture("bulk_ok.json")))
    assert make(cluster, retries=2).upsert([_doc("a"), _doc("b"), _doc("c")]) == 3
    assert len(cluster.sent("PUT", "/_bulk")) == 2
    cluster2 = FakeCluster().on("PUT", "/_bulk", (503, fixture("unavailable.json")))
    with pytest.raises(StoreError, match="HTTP 503"):
        make(cluster2, retries=2).upsert([_doc("a")])
    assert len(cluster2.sent("PUT", "/_bulk")) == 3  # 1 + 2 retries, not (1 + 2) * (1 + 2)

"""The whole-lifelog read of question answering on Elasticsearch (``QaConfig.trip_limit`` = 20,000 documents) pages
through the index instead of asking for more hits than one request may return.

The fake cluster below answers ``_search`` from an in-memory index the way Elasticsearch does for a sorted query:
it refuses ``from + size`` above ``index.max_result_window`` (default 10,000: ``MAX_RESULT_WINDOW_SETTING`` in
elastic/elasticsearch, server/src/main/java/org/elasticsearch/index/IndexSettings.java) with HTTP 400
``illegal_argument_exception`` ("Result window is too large ..."), returns each hit's ``sort`` values, and starts
after ``search_after`` when given (https://www.elastic.co/docs/reference/elasticsearch/rest-apis/paginate-search-results;
the vendored specification's ``size`` of tests/fixtures/es-spec/specification/_global/search/SearchRequest.ts: "By
default, you cannot page through more than 10,000 hits using the `from` and `size` parameters. To page through more
hits, use the `search_after` parameter.").
"""

from __future__ import annotations

from datetime import datetime, timedelta

from lifeseeker.engine.filters import Terms
from lifeseeker.engine.qa import QaConfig
from lifeseeker.engine.store.base import VectorQuery

from .es_fake import FakeCluster, existing_index, make

WINDOW = 10_000  # index.max_result_window default (IndexSettings.java)


class PagingCluster(FakeCluster):
    """A fake cluster holding ``docs`` (sorted by image_id) that answers ``_count`` and sorted ``_search`` requests
    like Elasticsearch, enforcing the result window."""

    def __init__(self, docs):
        super().__init__()
        self.docs = sorted(docs, key=lambda d: d["image_id"])

    def _matching(self, body):
        flt = body.get("query", {}).get("bool", {}).get("filter", [])
        terms = [c["terms"] for c in flt if "terms" in c]
        return [d for d in self.docs if all(d.get(f) in vals for t in terms for f, vals in t.items())]

    def handle(self, node, method, target, body, headers, request_timeout=None):
        import json

        path = target.split("?")[0]
        if method == "POST" and path in ("/lifeseeker/_count", "/lifeseeker/_search"):
            req = json.loads(body.decode("utf-8")) if body else {}
            docs = self._matching(req)
            if path.endswith("_count"):
                return self._answer(node, target, body, headers, {"count": len(docs)})
            size, start = int(req.get("size", 10)), int(req.get("from", 0))
            if start + size > WINDOW:
                return self._answer(node, target, body, headers, {"error": {
                    "type": "illegal_argument_exception",
                    "reason": f"Result window is too large, from + size must be less than or equal to: [{WINDOW}] "
                              f"but was [{start + size}]."}, "status": 400}, status=400)
            assert req.get("sort") == [{"image_id": "asc"}]
            if "search_after" in req:
                docs = [d for d in docs if d["image_id"] > req["search_after"][0]]
            page = docs[start:start + size]
            hits = [{"_index": "lifeseeker-v1", "_id": d["image_id"], "_score": None, "_source": d,
                     "sort": [d["image_id"]]} for d in page]
            return self._answer(node, target, body, headers, {"hits": {"hits": hits}})
        return super().handle(node, method, target, body, headers, request_timeout)

    def _answer(self, node, target, body, headers, payload, status=200):
        self.on("POST", target.split("?")[0], (status, payload))
        try:
            return super().handle(node, "POST", target, body, headers)
        finally:
            self.routes.pop(0)


def _docs(n):
    t0 = datetime(2019, 1, 1, 8, 0)
    return [{"image_id": f"2019_{i:06d}", "local_time": (t0 + timedelta(minutes=i)).isoformat(),
             "country": "Ireland" if i % 3 else "Italy", "semantic_name": None} for i in range(n)]


def test_a_read_of_more_documents_than_the_result_window_pages_through_all_of_them():
    cluster = PagingCluster(_docs(23_456))
    store = make(existing_index(cluster))
    limit = QaConfig().trip_limit  # 20,000: the QA lifelog read (qa/visits.read_lifelog, qa/counting.py)
    hits = store.search(VectorQuery(None, None), [], limit=limit)
    searches = cluster.sent("POST", "/lifeseeker/_search")
    assert all(r.body["size"] + r.body.get("from", 0) <= WINDOW for r in searches)
    assert len(searches) == 2 and searches[1].body["search_after"] == [hits[WINDOW - 1].image_id]
    assert [h.image_id for h in hits] == [d["image_id"] for d in cluster.docs[:limit]]  # in order, no duplicate
    everything = store.search(VectorQuery(None, None), [], limit=10 ** 6)
    assert [h.image_id for h in everything] == [d["image_id"] for d in cluster.docs]
    assert everything[-1].doc["local_time"] == datetime(2019, 1, 1, 8, 0) + timedelta(minutes=23_455)


def test_a_filtered_read_pages_over_the_filtered_documents_only():
    cluster = PagingCluster(_docs(33_000))
    store = make(existing_index(cluster))
    hits = store.search(VectorQuery(None, None), [Terms("country", ("Ireland",))], limit=10 ** 6)
    assert len(hits) == 22_000 and {h.doc["country"] for h in hits} == {"Ireland"}
    searches = cluster.sent("POST", "/lifeseeker/_search")
    assert len(searches) == 3 and all(r.body["size"] <= WINDOW for r in searches)


def test_a_small_read_is_still_one_request_of_the_old_size():
    cluster = PagingCluster(_docs(120))
    store = make(existing_index(cluster))
    assert len(store.search(VectorQuery(None, None), [], limit=50)) == 50
    (search,) = cluster.sent("POST", "/lifeseeker/_search")
    assert search.body["size"] == 60 and "search_after" not in search.body


def test_the_fake_refuses_a_window_that_is_too_large_as_elasticsearch_does():
    """The fake's rule is what the paging avoids: one request of 20,000 would be refused."""
    import pytest

    from lifeseeker.errors import StoreError

    cluster = PagingCluster(_docs(10))
    store = make(existing_index(cluster))
    with pytest.raises(StoreError, match="Result window is too large"):
        store._call("search", store.client.search, index="lifeseeker", body={"size": 20_000, "sort": [
            {"image_id": "asc"}], "query": {"match_all": {}}})


def test_every_page_request_follows_the_search_request_spec():
    """``search_after`` and ``sort`` are properties of the search request body in the vendored specification
    (tests/fixtures/es-spec/specification/_global/search/SearchRequest.ts, from elastic/elasticsearch-specification)."""
    from .es_spec import Spec, check_body

    cluster = PagingCluster(_docs(12_000))
    store = make(existing_index(cluster))
    store.search(VectorQuery(None, None), [Terms("country", ("Ireland", "Italy"))], limit=QaConfig().trip_limit)
    pages = [r.body for r in cluster.sent("POST", "/lifeseeker/_search")]
    assert len(pages) == 2 and "search_after" in pages[1]
    spec = Spec()
    for body in pages:
        report = check_body(spec, "_global/search/SearchRequest.ts", body)
        assert report.errors == [] and {"Request.body", "QueryContainer"} <= report.checked

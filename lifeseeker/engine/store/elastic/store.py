"""``ElasticStore``: the store protocol on an Elasticsearch cluster (reading, searching, facets, collections).

Search (one ``_search`` per query, plus a ``_count`` to choose the path)
    * The filter clauses compile to one ``bool.filter`` (:func:`~.query.filter_query`).
    * If ``count(filter) <= exact_threshold`` the query is an exact ``script_score`` over every filtered document.
      Otherwise it is approximate candidate generation: two ``knn`` clauses (``clip_vec``, ``capmeta_vec``), each
      carrying the same filter (applied during the HNSW search), then a ``rescore`` whose ``script_score`` computes
      the fused score over the whole candidate window, with ``query_weight: 0`` and ``rescore_query_weight: 1``,
      so a document found by only one clause still gets both terms. Text-only mode sends only the TaT clause.
      The scripts and the per-hit components: :mod:`.script`.
    * Ties are broken by ``image_id`` ascending client-side (the exact path also sorts ``_score`` desc,
      ``image_id`` asc in Elasticsearch so the fetched window is deterministic). A few more hits than ``limit``
      are fetched so float32 ``_score`` rounding cannot push the true ``limit``-th hit out of the window.
    * Without any query vector or soft constraint (the QA reads of the whole lifelog) the filtered documents come
      sorted by ``image_id`` in pages of at most ``index.max_result_window`` (10,000) hits, each page after the
      last one's sort value (``search_after``), so ``limit`` may exceed 10,000 (:meth:`ElasticStore._sorted_pages`).
    * Collections (name -> root folder) are documents of a small separate index ``<index>-collections``
      (``_id`` = name), independent of the versioned document index so an alias swap keeps them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterable, Sequence

import logging

import numpy as np
from elasticsearch.dsl import Q

from ....errors import StoreError
from ...filters import Filter, TextMatch
from ...query.soft import SoftConstraint, SoftText, boost_scale, scale_soft
from ..base import (INVENTORY_FIELDS, VECTOR_FIELDS, Doc, DroppedVector, Hit, VectorQuery, drop_unusable_vectors,
                    normal_id, report_dropped)
from .bulk import bulk_upsert
from .docs import doc_from_source, docs_of, parse_facets, parse_hits
from .index import IndexVersions
from .query import filter_query, soft_candidates
from .script import component_fields, fused_script

log = logging.getLogger(__name__)

MAX_WINDOW = 10_000  # index.max_result_window default: the most hits one request may page through
FETCH_MARGIN = 10  # extra hits fetched beyond ``limit`` (see module docstring)


class ElasticStore(IndexVersions):
    """Store at ``http(s)://host:9200`` (see the package docstring for layout and search).

    Args:
        url: cluster URL.
        index: alias name; documents live in ``<index>-v<N>``, collections in ``<index>-collections``.
        api_key, basic_auth, ca_certs: credentials and CA bundle, from configuration (``Settings.es_options()``).
        timeout_s: per-request timeout in seconds.
        retries: transport retries on connection errors, timeouts, 429 and 502/503/504 (also the per-document
            429 retries of bulk ingest).
        backoff_s: base of the exponential backoff between retries, seconds (cap 30 s).
        exact_threshold: when at most this many documents pass the filters, search scores all of them exactly.
        knn_k, num_candidates: kNN ``k`` (raised to the fetch size when smaller) and ``num_candidates`` per clause.
        chunk_size: documents per bulk request.
        **client_options: passed to :class:`elasticsearch.Elasticsearch` (e.g. ``node_class`` in tests).
    """

    def __init__(self, url: str, index: str = "lifeseeker", api_key: str | None = None,
                 basic_auth: tuple[str, str] | None = None, ca_certs: str | None = None, timeout_s: float = 10.0,
                 retries: int = 3, backoff_s: float = 0.5, exact_threshold: int = 10_000, knn_k: int = 100,
                 num_candidates: int = 500, chunk_size: int = 500, **client_options: Any):
        super().__init__(url, index, api_key=api_key, basic_auth=basic_auth, ca_certs=ca_certs, timeout_s=timeout_s,
                         retries=retries, backoff_s=backoff_s, **client_options)
        self.exact_threshold = int(exact_threshold)
        self.knn_k = int(knn_k)
        self.num_candidates = int(num_candidates)
        self.chunk_size = int(chunk_size)
        self.dropped_vectors: list[DroppedVector] = []  # zero-norm / non-finite vectors left out by upsert
        self._dirty = False  # written since the last refresh

    # -- writing --------------------------------------------------------------------------------------------------

    def upsert(self, docs: Sequence[Doc]) -> int:
        """Index ``docs`` with ``_id = image_id`` (replace: idempotent): :func:`~.bulk.bulk_upsert`. A zero-norm or
        non-finite vector (which Elasticsearch would reject with the whole document) is dropped, the document
        kept, and the drop logged and appended to ``dropped_vectors``. Not refreshed per call: the next
        search-type read of this store refreshes once (read-after-write), :meth:`optimize` at the end of an ingest.

        Returns:
            the number of documents written.
        Raises:
            BulkError (a StoreError): some documents failed (the others are written).
            StoreError: a document has unmapped fields; the cluster is unreachable.
        """
        docs, dropped = drop_unusable_vectors(docs)
        if dropped:
            report_dropped(log, "elasticsearch", dropped)
            self.dropped_vectors.extend(dropped)
        if docs:
            self._dirty = True
        return bulk_upsert(self, self.index, docs, self.chunk_size)

    def _visible(self) -> None:
        """Refresh the index once if this store wrote since the last refresh (``POST <index>/_refresh``)."""
        if self._dirty:
            self._call("refresh", self.client.indices.refresh, index=self.index, missing=None)
            self._dirty = False

    def optimize(self) -> None:
        """End of an ingest: make the writes visible (one refresh for the whole load)."""
        self._visible()

    # -- reading --------------------------------------------------------------------------------------------------

    def existing(self, ids: Iterable[str]) -> dict[str, dict[str, str | None]]:
        """``image_id -> models`` for stored ids, in the order given (``mget`` with ``_source: models``)."""
        ids = list(dict.fromkeys(ids))
        if not ids:
            return {}
        got = self._call("mget", self.client.mget, index=self.index, ids=ids, source=["models"], missing=None)
        out = {}
        for d in (got or {}).get("docs", []):
            if d.get("found"):
                out[d["_id"]] = (d.get("_source") or {}).get("models") or {}
        return out

    def delete(self, ids: Sequence[str]) -> int:
        """Delete documents by ``_id`` (``helpers.bulk`` with ``delete`` actions; a 404 is an id not stored), then
        refresh. Returns the number deleted."""
        from elasticsearch import helpers

        ids = list(dict.fromkeys(ids))
        if not ids:
            return 0
        actions = ({"_op_type": "delete", "_index": self.index, "_id": i} for i in ids)
        ok, errors = self._call("bulk delete", helpers.bulk, self.client, actions, raise_on_error=False,
                                stats_only=False)
        self._call("refresh", self.client.indices.refresh, index=self.index)
        return int(ok)

    def inventory(self, collection: str) -> dict[str, Doc]:
        """``image_id -> INVENTORY_FIELDS`` of the documents of ``collection``: ``helpers.scan`` (scroll) over a
        ``term`` query, ``_source`` limited to those fields."""
        from elasticsearch import helpers

        query = {"query": {"term": {"collection": collection}}, "_source": list(INVENTORY_FIELDS)}
        out: dict[str, Doc] = {}
        for hit in self._call("inventory", lambda: list(helpers.scan(self.client, query=query, index=self.index))):
            src = hit.get("_source") or {}
            out[hit["_id"]] = {f: src.get(f) for f in INVENTORY_FIELDS} | {"image_id": hit["_id"]}
        return out

    def get(self, ids: Sequence[str], with_vectors: bool = False) -> list[Doc]:
        """Documents for ``ids`` in the order given, unknown ids left out (``mget``); an id not found as given is
        asked again in its NFC form (``normal_id``). With vectors: an ``ids`` ``_search`` with
        ``_source.exclude_vectors: false`` on 9.2+ servers, where vectors are kept out of ``_source``
        (elastic/elasticsearch-specification, specification/_global/search/_types/SourceFilter.ts)."""
        docs = self._get(ids, with_vectors)
        found = {d["image_id"] for d in docs}
        if all(i in found or normal_id(i) == i for i in ids):
            return docs
        return self._get([i if i in found else normal_id(i) for i in ids], with_vectors)

    def _get(self, ids: Sequence[str], with_vectors: bool = False) -> list[Doc]:
        ids = list(dict.fromkeys(ids)) if with_vectors else list(ids)
        if not ids:
            return []
        if with_vectors:
            return self._get_with_vectors(ids)
        got = self._call("mget", self.client.mget, index=self.index, ids=ids, missing=None,
                         source_excludes=list(VECTOR_FIELDS))
        out = []
        for d in (got or {}).get("docs", []):
            if d.get("found"):
                doc = doc_from_source(d.get("_source") or {}, False)
                doc["image_id"] = d["_id"]
                out.append(doc)
        return out

    def _get_with_vectors(self, ids: list[str]) -> list[Doc]:
        self._visible()
        source: Any = {"exclude_vectors": False} if self._server_version() >= (9, 2) else True
        found: dict[str, Doc] = {}
        for i in range(0, len(ids), MAX_WINDOW):
            part = ids[i:i + MAX_WINDOW]
            body = {"query": {"ids": {"values": part}}, "size": len(part), "_source": source,
                    "track_total_hits": False}
            got = self._call("get", self.client.search, index=self.index, body=body, missing=None)
            for h in (got or {}).get("hits", {}).get("hits", []):
                doc = doc_from_source(h.get("_source") or {}, True)
                doc["image_id"] = h["_id"]
                found[h["_id"]] = doc
        return [found[i] for i in ids if i in found]

    def count(self, filters: Sequence[Filter] = ()) -> int:
        """Number of documents passing ``filters`` (``_count``)."""
        self._visible()
        got = self._call("count", self.client.count, index=self.index, body={"query": filter_query(filters)},
                         missing=None)
        return int(got["count"]) if got else 0

    def _query_vectors(self, query: VectorQuery) -> tuple[dict[str, list[float]], dict[str, float]]:
        """Present, non-zero query vectors as lists (field -> vector) and the weights per field."""
        weights = {"clip_vec": float(query.weights.iat), "capmeta_vec": float(query.weights.tat)}
        have = self.dims()
        vectors = {}
        for field, q in (("clip_vec", query.clip), ("capmeta_vec", query.tat)):
            if q is None:
                continue
            q = np.asarray(q, dtype=np.float32).reshape(-1)
            if have.get(field) and q.shape[0] != have[field]:
                self._dims = None  # another process may have swapped the alias to other widths: read again
                have = self.dims()
            if have.get(field) and q.shape[0] != have[field]:
                raise StoreError(f"query vector for {field} has {q.shape[0]} dims, the index holds {have[field]}")
            if not np.isfinite(q).all() or float(np.linalg.norm(q)) == 0:
                continue  # a zero query vector has no direction: its term contributes 0 (as in the embedded store)
            vectors[field] = q.astype(float).tolist()
        return vectors, weights

    def search_body(self, query: VectorQuery, filters: Sequence[Filter], limit: int, exact: bool,
                    soft: Sequence[SoftConstraint] = ()) -> dict[str, Any]:
        """The ``_search`` body for ``query`` (see the module docstring): exact ``script_score`` when ``exact``, else
        ``knn`` clauses + ``rescore``. Without any usable query vector: filtered docs by ``image_id``, score 0; with
        soft constraints only and not ``exact``: indexed candidates (:func:`~.query.soft_candidates`) and the exact
        boost script over a window of ``max(num_candidates, size)`` (never a script over every document)."""
        vectors, weights = self._query_vectors(query)
        soft = scale_soft(soft, boost_scale(query.weights, vectors))  # the same share as in the embedded store
        size = min(MAX_WINDOW, limit + FETCH_MARGIN)
        flt = filter_query(filters)
        body: dict[str, Any] = {"size": size, "_source": {"excludes": list(VECTOR_FIELDS)}, "track_total_hits": False}
        if not vectors and not soft:
            body.update(query=flt, sort=[{"image_id": "asc"}])
            return body
        script = fused_script(vectors, weights, soft)
        body["script_fields"] = component_fields(vectors, soft)
        rescore = {"rescore_query": {"script_score": {"query": {"match_all": {}}, "script": script}},
                   "query_weight": 0.0, "rescore_query_weight": 1.0}
        if not vectors and not exact:
            # soft constraints only, over many documents: indexed candidates, the exact script on a bounded window
            body["query"] = soft_candidates(filters, soft)
            body["rescore"] = {"window_size": min(MAX_WINDOW, max(self.num_candidates, size)), "query": rescore}
            return body
        if exact:
            body["query"] = {"script_score": {"query": flt, "script": script}}
            body["sort"] = [{"_score": "desc"}, {"image_id": "asc"}]
            return body
        k = min(MAX_WINDOW, max(self.knn_k, size))
        candidates = min(MAX_WINDOW, max(self.num_candidates, k))
        knn = []
        for field, vec in vectors.items():
            clause: dict[str, Any] = {"field": field, "query_vector": vec, "k": k, "num_candidates": candidates}
            if filters:
                clause["filter"] = flt
            knn.append(clause)
        body["knn"] = knn
        body["rescore"] = {"window_size": min(MAX_WINDOW, k * len(knn)), "query": rescore}
        return body

    def _resolve_text(self, soft: Sequence[SoftConstraint]) -> tuple[SoftConstraint, ...]:
        """``SoftText`` with its per-document fractions: one ``_search`` per term for the ids whose text fields hold
        every word of it (the ``TextMatch`` clause; at most ``MAX_WINDOW`` ids per term), the same rule as the
        embedded store's word index (soft.text_fraction)."""
        out = []
        for c in soft:
            if isinstance(c, SoftText) and c.resolved is None:
                counts: dict[str, int] = {}
                for term in c.terms:
                    body = {"size": MAX_WINDOW, "_source": False, "track_total_hits": False,
                            "query": filter_query([TextMatch(term, c.fields)]), "sort": [{"image_id": "asc"}]}
                    got = self._call("search", self.client.search, index=self.index, body=body, missing=None)
                    for h in (got or {}).get("hits", {}).get("hits", []):
                        counts[h["_id"]] = counts.get(h["_id"], 0) + 1
                c = replace(c, resolved=tuple(sorted((i, k / len(c.terms)) for i, k in counts.items())))
            out.append(c)
        return tuple(out)

    def search(self, query: VectorQuery, filters: Sequence[Filter] = (), limit: int = 50, *,
               soft: Sequence[SoftConstraint] = ()) -> list[Hit]:
        """Fused top-``limit`` (plus soft boosts) among documents passing every filter, best first (ties: image_id
        asc); exact when the filtered count is at most ``exact_threshold`` (or there is no query vector), else kNN
        candidates re-scored exactly.

        Raises:
            StoreError: a query vector has the wrong width; the cluster is unreachable.
        """
        if limit <= 0:
            return []
        n = self.count(filters)
        if n == 0:
            return []
        soft = self._resolve_text(soft)
        body = self.search_body(query, filters, limit, exact=n <= self.exact_threshold, soft=soft)
        _, weights = self._query_vectors(query)
        if body.get("sort") == [{"image_id": "asc"}] and "script_fields" not in body:
            # no query vector, no soft constraint: the filtered documents in image_id order, every page of them
            return parse_hits(self._sorted_pages(body, min(n, limit)), weights, limit)
        got = self._call("search", self.client.search, index=self.index, body=body, missing=None)
        if not got:
            return []
        return parse_hits(got, weights, limit)

    def _sorted_pages(self, body: dict[str, Any], want: int) -> dict[str, Any]:
        """Up to ``want`` hits of ``body`` (sorted by the unique ``image_id``), read in pages of at most
        ``MAX_WINDOW`` with ``search_after`` = the last hit's sort values, as one response dict.

        One request asks for at most ``index.max_result_window`` hits (default 10,000: ``MAX_RESULT_WINDOW_SETTING``
        in elastic/elasticsearch, server/src/main/java/org/elasticsearch/index/IndexSettings.java; larger
        ``from + size`` is refused), and "if you need to page through more than 10,000 hits, use the search_after
        parameter" with a sort whose last field is unique per document
        (https://www.elastic.co/docs/reference/elasticsearch/rest-apis/paginate-search-results). A lifelog of
        ``want`` <= 10,000 documents is one request, as before."""
        hits: list[dict[str, Any]] = []
        page = dict(body)
        while True:
            got = self._call("search", self.client.search, index=self.index, body=page, missing=None)
            batch = (got or {}).get("hits", {}).get("hits", [])
            hits.extend(batch)
            if len(batch) < page["size"] or len(hits) >= want or not batch[-1].get("sort"):
                return {"hits": {"hits": hits}}
            page = dict(body, size=min(MAX_WINDOW, want - len(hits) + FETCH_MARGIN),
                        search_after=batch[-1]["sort"])

    def neighbours(self, around: datetime, before_s: int, after_s: int, collection: str | None = None,
                   limit: int = 500) -> list[Doc]:
        """Documents with ``local_time`` in ``[around - before_s, around + after_s]`` (seconds, inclusive), in time
        order, ties by image_id: a ``range`` on local_time sorted by ``local_time``, ``image_id``."""
        self._visible()
        center = around.replace(tzinfo=None, microsecond=0)
        rng = {"gte": (center - timedelta(seconds=before_s)).isoformat(),
               "lte": (center + timedelta(seconds=after_s)).isoformat(), "format": "strict_date_optional_time"}
        clauses = [Q("range", local_time=rng)]
        if collection is not None:
            clauses.append(Q("term", collection=collection))
        body = {"query": Q("bool", filter=clauses).to_dict(), "sort": [{"local_time": "asc"}, {"image_id": "asc"}],
                "size": max(0, min(limit, MAX_WINDOW)), "_source": {"excludes": list(VECTOR_FIELDS)}}
        got = self._call("neighbours", self.client.search, index=self.index, body=body, missing=None)
        return docs_of(got)

    def facets(self, fields: Sequence[str], filters: Sequence[Filter] = (), size: int = 20
               ) -> dict[str, list[tuple[str, int]]]:
        """Top values with counts per field among the filtered documents (count desc, value asc): one ``terms``
        aggregation per field. On fields with the ``folding`` normalizer the bucket key is the folded form, so a
        ``top_hits`` sub-aggregation fetches one original spelling to show (``Spain``, not ``spain``).

        Raises:
            StoreError: a field is not offered as a facet.
        """
        aggs = {}
        for name in fields:
            if name not in self.schema.facets:
                raise StoreError(f"facet {name!r} is not offered; use one of {list(self.schema.facets)}")
            agg: dict[str, Any] = {"terms": {"field": name, "size": size + FETCH_MARGIN,
                                             "order": [{"_count": "desc"}, {"_key": "asc"}]}}
            if "normalizer" in self.schema.properties[name]:
                agg["aggs"] = {"shown": {"top_hits": {"size": 1, "_source": {"includes": [name]}}}}
            aggs[name] = agg
        self._visible()
        body = {"size": 0, "query": filter_query(filters), "aggs": aggs, "track_total_hits": False}
        got = self._call("facets", self.client.search, index=self.index, body=body, missing=None) if aggs else None
        return parse_facets(got or {}, fields, size)

    # -- collections and info -------------------------------------------------------------------------------------

    def collections(self) -> dict[str, str]:
        """``collection name -> absolute root`` from ``<index>-collections``."""
        got = self._call("collections", self.client.search, index=self.collections_index, size=1000,
                         query={"match_all": {}}, missing=None)
        if not got:
            return {}
        return {h["_id"]: h["_source"]["root"] for h in got["hits"]["hits"]}

    def set_collection(self, name: str, root: str) -> None:
        """Record ``name -> resolved root`` (created the collections index on first use), visible at once."""
        if not self._call("index exists", self.client.indices.exists, index=self.collections_index):
            self._call("create collections index", self.client.indices.create, index=self.collections_index,
                       settings={"index": {"number_of_shards": 1, "number_of_replicas": 0}},
                       mappings={"dynamic": "strict", "properties": {"name": {"type": "keyword"},
                                                                     "root": {"type": "keyword"}}})
        self._call("set collection", self.client.index, index=self.collections_index, id=name,
                   document={"name": name, "root": str(Path(root).resolve())}, refresh=True)

    def info(self) -> dict[str, Any]:
        """Backend, location (URL and alias -> indices), document count, vector widths, models used, collections."""
        models = {}
        self._visible()
        body = {"size": 0, "track_total_hits": True,
                "aggs": {role: {"terms": {"field": f"models.{role}", "size": 50}}
                         for role in self.schema.properties["models"]["properties"]}}
        got = self._call("info", self.client.search, index=self.index, body=body, missing=None)
        if got:
            for role, agg in got["aggregations"].items():
                names = [b["key"] for b in agg["buckets"]]
                if names:
                    models[role] = names
        return {"backend": "elasticsearch", "location": f"{self.url} {self.index} -> {', '.join(self._concrete())}",
                "documents": self.count(), "dims": self.dims(), "models": models, "collections": self.collections()}

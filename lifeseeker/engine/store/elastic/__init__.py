"""The Elasticsearch store: the same protocol as the embedded store, for a cluster (shards, replicas, Kibana).

Modules (one responsibility each):
    * :mod:`.client` — the connection: client options, bounded retries with backoff, errors as StoreError.
    * :mod:`.index` — index creation from the one mapping, alias-versioned indices ``<index>-v<N>``, alias swap.
    * :mod:`.docs` — documents to ``_source`` and back, hits and facets read from responses.
    * :mod:`.bulk` — bulk writes, failures reported per document (:class:`BulkError`).
    * :mod:`.query` — filter clauses to query DSL (the twin of the embedded store's masks).
    * :mod:`.script` — the Painless fused-score, soft-boost and component scripts.
    * :mod:`.store` — :class:`ElasticStore`: reading, exact / kNN search, neighbours, facets, collections.
"""

from __future__ import annotations

from .bulk import BulkError
from .docs import doc_from_source, doc_to_source, parse_facets, parse_hits
from .query import compile_clause, filter_query
from .script import component_fields, fused_script, soft_script
from .store import ElasticStore

__all__ = ["ElasticStore", "BulkError", "compile_clause", "filter_query", "fused_script", "component_fields",
           "soft_script", "parse_hits", "parse_facets", "doc_to_source", "doc_from_source"]

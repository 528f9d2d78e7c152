"""Bulk writes: documents indexed with ``_id = image_id`` through ``helpers.streaming_bulk``, failures reported per
document.

One retry layer: ``streaming_bulk`` retries the documents (or the whole chunk) answered 429/502/503/504 with
exponential backoff (``max_retries`` = the store's ``retries``); the call is *not* wrapped in the store's own 429/5xx retry
(``ElasticClient._call(..., retry=False)``), which would re-send chunks already written and count their failures
twice. No refresh per call: the store refreshes once before its next search-type read, and at the end of an
ingest (``ElasticStore.optimize``). Requests are gzip-compressed (``http_compress``) and get ``bulk_timeout_s``.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

from elasticsearch import helpers

from ....errors import StoreError
from ..base import Doc
from .client import RETRY_STATUS, ElasticClient
from .docs import doc_to_source

BULK_TIMEOUT_S = 120.0  # seconds per bulk request (500 documents of ~4.4 kB gzip each)


class BulkError(StoreError):
    """Some documents of an upsert were rejected. ``errors``: ``[(image_id, http_status, reason)]``."""

    def __init__(self, message: str, errors: list[tuple[str, int, str]]):
        super().__init__(message)
        self.errors = errors


def _actions(index: str, docs: Sequence[Doc]) -> Iterator[dict[str, Any]]:
    for d in docs:
        src = doc_to_source(d)
        yield {"_op_type": "index", "_index": index, "_id": src["image_id"], "_source": src}


def bulk_upsert(conn: ElasticClient, index: str, docs: Sequence[Doc], chunk_size: int,
                timeout_s: float = BULK_TIMEOUT_S) -> int:
    """Index ``docs`` into ``index`` with ``_id = image_id`` (replace: idempotent) through
    ``helpers.streaming_bulk`` (``chunk_size`` documents per request, ``timeout_s`` seconds each), retrying rejected
    documents (429) with exponential backoff. Nothing is refreshed here (see the module docstring).

    Returns:
        the number of documents written.
    Raises:
        BulkError (a StoreError): some documents failed; ``.errors`` lists ``(image_id, status, reason)`` (the
            others are written).
        StoreError: a document has unmapped fields; the cluster is unreachable.
    Reference: https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk;
    https://www.elastic.co/docs/reference/elasticsearch/clients/python/client-helpers (streaming_bulk)
    """
    if not docs:
        return 0
    failed: list[tuple[str, int, str]] = []
    client = conn.client.options(request_timeout=timeout_s)

    def run() -> None:
        for ok, item in helpers.streaming_bulk(
                client, _actions(index, docs), chunk_size=chunk_size, raise_on_error=False,
                raise_on_exception=True, max_retries=conn.retries, initial_backoff=conn.backoff_s,
                max_backoff=30.0, retry_on_status=RETRY_STATUS, yield_ok=False):
            if not ok:
                result = next(iter(item.values()))
                err = result.get("error")
                reason = err.get("reason", str(err)) if isinstance(err, dict) else str(err)
                failed.append((str(result.get("_id")), int(result.get("status", 0)), reason))

    conn._call("bulk", run, retry=False)
    if failed:
        shown = "; ".join(f"{i}: HTTP {s} {r}" for i, s, r in failed[:10])
        more = f" (and {len(failed) - 10} more)" if len(failed) > 10 else ""
        raise BulkError(f"{len(failed)} of {len(docs)} documents were not written: {shown}{more}", failed)
    return len(docs)

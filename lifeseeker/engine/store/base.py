"""The store protocol: the only interface the engine, ingest and web app use to reach a database.

Documents are plain dicts whose keys are the mapping's fields (``mappings/lifelog.json``); vectors are lists or
1-d float32 arrays. Every backend returns the same exact fused score for the same document (ARCHITECTURE.md,
"The score"):

    score = W_IaT * cos(q_clip, clip_vec) + W_TaT * cos(q_tat, capmeta_vec)

with raw cosine in [-1, 1]. A term whose query vector or document vector is missing contributes 0 (text-only
mode: no CLIP weights, so no ``clip_vec`` and no ``q_clip``). Soft constraints parsed from the query add
``sum_c w_c * exp(-d_c / s_c)`` (graded decay; formula, weights and scales in ``engine/query/soft.py``).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Protocol, Sequence, runtime_checkable

import numpy as np

from ..filters import Filter, Weights

Doc = dict[str, Any]

# Fields never returned with hits (large); ``get`` returns them only when asked.
VECTOR_FIELDS = ("clip_vec", "capmeta_vec")
# What ``Store.inventory`` returns per document: enough for ingest to plan a re-scan (resume, renames, copies).
INVENTORY_FIELDS = ("image_id", "collection", "path", "copies", "content_hash", "input_digest", "models")


def normal_id(image_id: str) -> str:
    """The stored form of an image id: Unicode NFC (a file name written NFD by macOS and its NFC form are one
    document). Every lookup normalises the same way."""
    return unicodedata.normalize("NFC", image_id)


@dataclass(frozen=True)
class Hit:
    """One ranked document.

    Attributes:
        image_id: the document id.
        score: fused score ``W_IaT*iat + W_TaT*tat`` (plus any documented boosts).
        iat: raw cosine of the CLIP query vector and ``clip_vec`` (0 when either is missing).
        tat: raw cosine of the TaT query vector and ``capmeta_vec`` (0 when either is missing).
        doc: the stored fields without vectors.
    """

    image_id: str
    score: float
    iat: float
    tat: float
    doc: Doc = field(default_factory=dict)


@dataclass(frozen=True)
class VectorQuery:
    """The vector part of a search.

    Attributes:
        clip: (d_clip,) float32 query vector for IaT, or None (text-only).
        tat: (d_text,) float32 query vector for TaT, or None.
        weights: fusion weights.
    """

    clip: np.ndarray | None
    tat: np.ndarray | None
    weights: Weights = field(default_factory=Weights)


@runtime_checkable
class Store(Protocol):
    """What every backend implements. Both backends pass ``tests/test_store_contract.py``."""

    url: str

    def ensure_schema(self, dims: dict[str, int]) -> None:
        """Create the table/index if absent, with vector widths ``dims`` (e.g. ``{"clip_vec": 512,
        "capmeta_vec": 384}``; 0 = no model). Raises StoreError if it exists with other widths or schema."""

    def upsert(self, docs: Sequence[Doc]) -> int:
        """Insert or replace documents by ``image_id``; returns the number written. Idempotent."""

    def existing(self, ids: Iterable[str]) -> dict[str, dict[str, str | None]]:
        """``image_id -> models`` for the ids already stored (resume: skip what is done with the same models)."""

    def inventory(self, collection: str) -> dict[str, Doc]:
        """``image_id -> {field: value}`` (``INVENTORY_FIELDS``, no vectors) of every document whose
        ``collection`` is ``collection``: what a re-scan reconciles against (``ingest/plan.py``)."""

    def delete(self, ids: Sequence[str]) -> int:
        """Delete the documents ``ids`` (unknown ids ignored); returns the number deleted."""

    def get(self, ids: Sequence[str], with_vectors: bool = False) -> list[Doc]:
        """Documents for ``ids`` in the order given, unknown ids left out; an id is found as given or in its NFC
        form (``normal_id``)."""

    def count(self, filters: Sequence[Filter] = ()) -> int:
        """Number of documents passing ``filters``."""

    def search(self, query: VectorQuery, filters: Sequence[Filter] = (), limit: int = 50, *,
               soft: Sequence[Any] = ()) -> list[Hit]:
        """Exact fused top-``limit`` among documents passing every filter, best first (ties: image_id asc).

        ``soft``: optional soft constraints (``engine/query/soft.py``: SoftDateRange, SoftMonths, SoftWeekdays,
        SoftHours, SoftPlace, SoftNear). Their boost ``soft_boost(...)`` is added to ``score`` before the top-k
        (the filters stay hard); ``Hit.iat``/``Hit.tat`` remain the raw cosines. Every backend computes the same
        number (Elasticsearch: in the rescore script)."""

    def neighbours(self, around: datetime, before_s: int, after_s: int, collection: str | None = None,
                   limit: int = 500) -> list[Doc]:
        """Documents with ``local_time`` in ``[around - before_s, around + after_s]``, in time order."""

    def facets(self, fields: Sequence[str], filters: Sequence[Filter] = (), size: int = 20
               ) -> dict[str, list[tuple[str, int]]]:
        """Top values with counts per field among documents passing ``filters`` (count desc, value asc)."""

    def set_collection(self, name: str, root: str) -> None:
        """Record an ingested root folder; the web app serves files only from recorded roots."""

    def collections(self) -> dict[str, str]:
        """``collection name -> absolute root path``."""

    def info(self) -> dict[str, Any]:
        """Backend name, location, document count, vector widths, models recorded."""

    def close(self) -> None:
        """Release resources."""


@dataclass(frozen=True)
class DroppedVector:
    """A document vector a store refused to keep (the document itself is written without it).

    ``reason``: ``"zero norm"`` or ``"non-finite values"`` (NaN/inf); ``field``: ``clip_vec`` or ``capmeta_vec``.
    """

    image_id: str
    field: str
    reason: str


def drop_unusable_vectors(docs: Sequence[Doc]) -> tuple[list[Doc], list[DroppedVector]]:
    """``docs`` with every zero-norm or non-finite vector set to None (the document is kept), and what was dropped.

    Cosine similarity is undefined for a zero vector: Elasticsearch rejects the whole document for a ``cosine``
    ``dense_vector`` of magnitude 0 (https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/dense-vector,
    ``similarity: cosine``: "vectors with zero magnitude are not allowed") and NaN/inf are not valid JSON numbers;
    the embedded store would score such a row NaN. Both stores call this before writing, so both keep the same
    documents with the same missing vectors. Inputs are not modified (changed documents are shallow copies).

    Returns:
        (documents to write, dropped vectors in document order).
    """
    out, dropped = [], []
    for d in docs:
        changed = None
        for f in VECTOR_FIELDS:
            v = d.get(f)
            if v is None:
                continue
            arr = np.asarray(v, dtype=np.float64).reshape(-1)
            reason = ("non-finite values" if not np.isfinite(arr).all()
                      else "zero norm" if not np.any(arr) else None)
            if reason:
                changed = dict(d) if changed is None else changed
                changed[f] = None
                dropped.append(DroppedVector(str(d.get("image_id")), f, reason))
        out.append(d if changed is None else changed)
    return out, dropped


def report_dropped(log: Any, store: str, dropped: Sequence[DroppedVector]) -> None:
    """Log one warning per dropped vector (``store``: backend name, for the message)."""
    for x in dropped:
        log.warning("%s: document %s written without %s (%s)", store, x.image_id, x.field, x.reason)

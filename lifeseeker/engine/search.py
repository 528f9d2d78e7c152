"""The search service: what the user typed -> ranked hits.

Score (seed §3.2; ARCHITECTURE.md "The score"):

    score = W_IaT * cos(q_clip, clip_vec) + W_TaT * cos(q_tat, capmeta_vec)        default W = (0.7, 0.3)

* ``q_clip`` = CLIP text embedding of the query (IaT: text against the image embedding);
* ``q_tat``  = sentence embedding of the query (TaT: text against the CapMeta embedding, which carries caption,
  time and place words, so time and place words in the query count here);
* raw cosines in [-1, 1]; a missing query or document vector contributes 0 (text-only mode when CLIP weights
  are absent: only the TaT term ranks);
* filter clauses are hard: only documents passing all of them are scored, exactly (no ANN at this size).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

from .filters import Filter, Weights
from .store.base import Hit, Store, VectorQuery

MAX_LIMIT = 1000


@dataclass(frozen=True)
class SearchRequest:
    """A search: free ``text`` (may be empty: filters only), hard ``filters``, fusion ``weights``, ``limit``."""

    text: str = ""
    filters: Sequence[Filter] = ()
    weights: Weights = field(default_factory=Weights)
    limit: int = 50

    def __post_init__(self) -> None:
        from ..errors import FilterError

        if not 1 <= self.limit <= MAX_LIMIT:
            raise FilterError(f"limit: must be 1-{MAX_LIMIT}, got {self.limit}")
        if len(self.text) > 10_000:
            raise FilterError("text: longer than 10,000 characters")


@dataclass
class SearchResponse:
    """Ranked ``hits`` with the ``notices`` the user should see (e.g. text-only mode) and timing in ms."""

    hits: list[Hit]
    total_filtered: int
    notices: list[str]
    text_only: bool
    took_ms: float


class SearchService:
    """Encodes queries with the loaded models and asks the store for exact fused top-k."""

    def __init__(self, store: Store, models) -> None:
        self.store = store
        self.models = models

    def encode(self, text: str) -> VectorQuery:
        """Query vectors for ``text``: (d_clip,) and (d_text,) float32, L2-normalised; None where unavailable or
        the text is blank."""
        if not text.strip():
            return VectorQuery(None, None)
        q_clip = self.models.clip.encode_texts([text])[0] if self.models.clip is not None else None
        q_tat = self.models.text.encode_texts([text])[0]
        return VectorQuery(q_clip, q_tat)

    def search(self, request: SearchRequest) -> SearchResponse:
        """Run ``request``. Raises StoreError when the store is unavailable."""
        t0 = time.perf_counter()
        vq = self.encode(request.text)
        vq = VectorQuery(vq.clip, vq.tat, request.weights)
        hits = self.store.search(vq, request.filters, limit=request.limit)
        total = self.store.count(request.filters)
        return SearchResponse(hits, total, list(self.models.notices), self.models.text_only,
                              (time.perf_counter() - t0) * 1000)

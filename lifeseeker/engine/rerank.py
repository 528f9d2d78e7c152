"""Rerank (the design card's "then reranks"): the top-N fused candidates are re-scored by a stronger matcher
(``models/rerank.py``: BLIP image-text matching over the image, and/or a text cross-encoder over CapMeta), and the
two scores are blended:

    s_hat = (s - s_min) / (s_max - s_min)          the fused score min-max normalised over the N candidates
                                                   (1 for all when s_max = s_min)
    final = (1 - lam) * s_hat + lam * p            p in [0, 1]: the matcher's match probability (mean of the
                                                   matchers in use; a candidate it cannot score keeps p = s_hat)
    score' = s_min + max(s_max - s_min, MIN_SPAN) * final

The N candidates are re-ordered by ``final`` (ties: image_id) and their shown score is mapped back onto the fused
range, so candidates beyond N (score <= s_min) stay below them and the whole list stays sorted by ``score``.
``lam`` = ``LIFESEEKER_RERANK_BLEND`` (default 0.5), N = ``LIFESEEKER_RERANK_N`` (default 30).
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace
from typing import Callable, Protocol, Sequence

import numpy as np

from ..errors import FilterError
from ..images import decode_file, file_in_root
from .store.base import Doc, Hit, Store

log = logging.getLogger(__name__)

RERANK_N = 30
RERANK_BLEND = 0.5
MAX_RERANK_N = 200
MIN_SPAN = 1e-3


class Reranker(Protocol):
    """A stronger matcher: ``name`` and ``score(query, docs, load_image) -> (n,) float array of match
    probabilities in [0, 1], NaN where it cannot score a document``."""

    name: str

    def score(self, query: str, docs: Sequence[Doc], load_image: Callable[[Doc], object]) -> np.ndarray: ...


def check_rerank_params(n: int, blend: float) -> None:
    """Raises FilterError naming ``rerank_n`` / ``rerank_blend`` when out of range (1-200, [0, 1])."""
    if not (isinstance(n, int) and 1 <= n <= MAX_RERANK_N):
        raise FilterError(f"rerank_n: must be 1-{MAX_RERANK_N}, got {n}")
    if not (isinstance(blend, (int, float)) and math.isfinite(blend) and 0 <= blend <= 1):
        raise FilterError(f"rerank_blend: must be in [0, 1], got {blend}")


def blend_scores(fused: np.ndarray, prob: np.ndarray, blend: float) -> tuple[np.ndarray, np.ndarray]:
    """(final, score') per the module docstring for (n,) fused scores and (n,) probabilities (NaN = unknown)."""
    fused = np.asarray(fused, dtype=np.float64)
    prob = np.asarray(prob, dtype=np.float64)
    lo, hi = float(fused.min()), float(fused.max())
    s_hat = (fused - lo) / (hi - lo) if hi > lo else np.ones_like(fused)
    p = np.where(np.isnan(prob), s_hat, np.clip(prob, 0.0, 1.0))
    final = (1 - blend) * s_hat + blend * p
    return final, lo + max(hi - lo, MIN_SPAN) * final


def rerank_hits(hits: Sequence[Hit], query: str, reranker: Reranker, n: int, blend: float,
                load_image: Callable[[Doc], object]) -> tuple[list[Hit], dict[str, float]]:
    """Re-score the first ``n`` hits. Returns (hits re-ordered with blended scores, image_id -> p).

    Hits past ``n`` keep their order and score. Raises FilterError for bad ``n``/``blend``.
    """
    check_rerank_params(n, blend)
    head, tail = list(hits[:n]), list(hits[n:])
    if not head or not query.strip():
        return list(hits), {}
    prob = np.asarray(reranker.score(query, [h.doc for h in head], load_image), dtype=np.float64)
    if prob.shape != (len(head),):
        raise ValueError(f"reranker {reranker.name} returned shape {prob.shape}, expected ({len(head)},)")
    final, shown = blend_scores(np.array([h.score for h in head]), prob, blend)
    order = sorted(range(len(head)), key=lambda i: (-final[i], head[i].image_id))
    out = [replace(head[i], score=float(shown[i])) for i in order]
    probs = {head[i].image_id: float(prob[i]) for i in range(len(head)) if not np.isnan(prob[i])}
    return out + tail, probs


def image_loader(store: Store, side: int = 512) -> Callable[[Doc], object]:
    """A function doc -> RGB PIL image (longer edge <= ``side`` px) or None when the file is not available.

    The file is read only from inside its collection's recorded root (``images.file_in_root``, the same rule
    as the web app's files)."""
    roots = {}

    def load(doc: Doc):
        coll = doc.get("collection") or ""
        if coll not in roots:
            roots[coll] = store.collections().get(coll)
        target = file_in_root(roots[coll], doc.get("path"))
        if target is None:
            return None
        try:
            im = decode_file(target)
        except Exception as exc:  # noqa: BLE001 - an unreadable file is skipped, not fatal
            log.warning("rerank: cannot decode %s: %s", doc.get("image_id"), exc)
            return None
        im.thumbnail((side, side))
        return im

    return load


__all__ = ["Reranker", "RERANK_N", "RERANK_BLEND", "blend_scores", "rerank_hits", "image_loader",
           "check_rerank_params"]

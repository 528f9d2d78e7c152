"""Relevance feedback: Rocchio's query modification (J. J. Rocchio, "Relevance feedback in information retrieval",
in The SMART Retrieval System, 1971; the seed's ref [25], E-LifeSeeker's relevance feedback), applied to *both*
query vectors of the fused score (IaT: CLIP space with the marked images' ``clip_vec``; TaT: sentence space with
their ``capmeta_vec``):

    q' = alpha * q + beta * mean(unit(d) for d in R) - gamma * mean(unit(d) for d in N),   then q' / |q'|

* R = images marked relevant, N = images marked not relevant, each vector L2-normalised first;
* defaults alpha = 1.0, beta = 0.75, gamma = 0.15 (the SMART values, Manning et al., Introduction to Information
  Retrieval §9.1.1): the marks pull, the negatives push gently;
* a missing q (blank text, or a space with no query vector) counts as 0, so feedback alone still gives a query
  ("more like this" = no text, R = {the image});
* a document without that vector is left out of that space's mean; a space ending with q' = 0 has no query (None).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..errors import FilterError

MAX_MARKS = 200


@dataclass(frozen=True)
class Rocchio:
    """Rocchio weights (see the module docstring); each must be finite and in [0, 10]."""

    alpha: float = 1.0
    beta: float = 0.75
    gamma: float = 0.15

    def __post_init__(self) -> None:
        for name in ("alpha", "beta", "gamma"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and 0 <= v <= 10):
                raise FilterError(f"rocchio: {name} must be in [0, 10], got {v}")


def _mean_unit(vecs: Sequence[object]) -> np.ndarray | None:
    rows = []
    for v in vecs:
        if v is None:
            continue
        a = np.asarray(v, dtype=np.float32).reshape(-1)
        n = float(np.linalg.norm(a))
        if n > 0:
            rows.append(a / n)
    return np.mean(rows, axis=0) if rows else None


def rocchio(q: np.ndarray | None, relevant: Sequence[object], irrelevant: Sequence[object],
            params: Rocchio = Rocchio()) -> np.ndarray | None:
    """The modified query vector.

    Args:
        q: (d,) query vector or None.
        relevant, irrelevant: (d,) document vectors (None entries are skipped).
        params: alpha, beta, gamma.
    Returns:
        (d,) float32, L2-normalised; None when every term is absent or they cancel out.
    Raises:
        FilterError: vectors of different widths.
    """
    terms = []
    if q is not None:
        qq = np.asarray(q, dtype=np.float32).reshape(-1)
        n = float(np.linalg.norm(qq))
        if n > 0:
            terms.append(params.alpha * qq / n)
    r, nr = _mean_unit(relevant), _mean_unit(irrelevant)
    if r is not None:
        terms.append(params.beta * r)
    if nr is not None:
        terms.append(-params.gamma * nr)
    if not terms:
        return None
    widths = {t.shape[0] for t in terms}
    if len(widths) > 1:
        raise FilterError(f"feedback: query and marked image vectors differ in width {sorted(widths)}")
    out = np.sum(terms, axis=0).astype(np.float32)
    norm = float(np.linalg.norm(out))
    return out / norm if norm > 1e-8 else None


def parse_ids(raw: str | Sequence[str] | None, name: str) -> tuple[str, ...]:
    """Image ids from a comma list or repeated parameter, order kept, duplicates dropped.

    Raises:
        FilterError: more than ``MAX_MARKS`` ids (names ``name``)."""
    if not raw:
        return ()
    items = [raw] if isinstance(raw, str) else list(raw)
    ids = tuple(dict.fromkeys(p.strip() for item in items for p in item.split(",") if p.strip()))
    if len(ids) > MAX_MARKS:
        raise FilterError(f"{name}: at most {MAX_MARKS} images, got {len(ids)}")
    return ids


__all__ = ["Rocchio", "rocchio", "parse_ids", "MAX_MARKS"]

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
from typing import Callable, Sequence

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


def parse_ids(raw: str | Sequence[str] | None, name: str,
              known: Callable[[list[str]], set[str]] | None = None) -> tuple[str, ...]:
    """Image ids of a repeated parameter (``relevant=a&relevant=b``, the primary form, one id per value: ids may
    contain commas, being file paths) or of comma lists (``relevant=a,b``, a fallback), order kept, duplicates
    dropped.

    Args:
        raw: one string or the repeated values.
        name: the parameter's name, for messages.
        known: ``ids -> the subset that exists in the store``; when given, a value that is itself a known id is
            kept whole even when it contains commas, and only the other values are split on commas. Without it,
            every value is split on commas.

    Raises:
        FilterError: more than ``MAX_MARKS`` ids (names ``name``)."""
    if not raw:
        return ()
    items = [raw] if isinstance(raw, str) else list(raw)
    items = [str(i).strip() for i in items if str(i).strip()]
    whole: set[str] = set()
    if known is not None:
        with_comma = [i for i in items if "," in i]
        whole = set(known(with_comma)) if with_comma else set()
    ids = tuple(dict.fromkeys(p for item in items
                              for p in ([item] if item in whole else (x.strip() for x in item.split(",")))
                              if p))
    if len(ids) > MAX_MARKS:
        raise FilterError(f"{name}: at most {MAX_MARKS} images, got {len(ids)}")
    return ids


def unknown_ids_message(name: str, missing: Sequence[str], limit: int = 5) -> str:
    """``"relevant: no image 'a', 'b' (and 3 more)"``: the message of a 404 for ids not in the store, naming the
    parameter and at most ``limit`` of the ids."""
    shown = ", ".join(repr(i) for i in missing[:limit])
    more = f" (and {len(missing) - limit} more)" if len(missing) > limit else ""
    return f"{name}: no image {shown}{more}"


__all__ = ["Rocchio", "rocchio", "parse_ids", "unknown_ids_message", "MAX_MARKS"]

"""Scores explained on the page: a hit's ``W_IaT·IaT + W_TaT·TaT + boosts = score`` with each parsed constraint's
(chip's) boost, and an event's score from its frames.

The boosts are recomputed per hit with the very function the stores use (``engine/query/soft.py:soft_boost``, one
constraint at a time, on the document's own fields as ``engine/store/lance/snapshot.py`` builds them), so the
shown terms add up to the shown score. Whatever is left (a reranker's blend, a store that rounds differently) is
shown as its own term, never hidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..engine.events import EVENT_SUPPORT, TOP_PER_EVENT
from ..engine.query.soft import (EPOCH, SoftDateRange, SoftHours, SoftMonths, SoftNear, SoftPlace, SoftWeekdays,
                                 soft_boost)

RESIDUAL_EPS = 5e-4
PLACE_KEYS = {"places": "city", "city": "city", "country": "country", "semantic_name": "semantic"}


@dataclass(frozen=True)
class Term:
    """One addend of a score: ``label`` (``0.7·IaT``, ``city``), ``value`` (its contribution), ``raw`` (the
    cosine before weighting, for IaT/TaT; else None)."""

    label: str
    value: float
    raw: float | None = None


def _key(c) -> str:
    if isinstance(c, SoftDateRange):
        return "date"
    if isinstance(c, SoftMonths):
        return "months"
    if isinstance(c, SoftWeekdays):
        return "weekdays"
    if isinstance(c, SoftHours):
        return "hours"
    if isinstance(c, SoftPlace):
        return PLACE_KEYS.get(c.field, c.field)
    if isinstance(c, SoftNear):
        return "near"
    return type(c).__name__


def _fields(doc: dict[str, Any]) -> dict[str, np.ndarray]:
    """One document's fields in ``soft_boost``'s shape (NaN / None where missing)."""
    t = doc.get("local_time")
    loc = doc.get("location") or {}
    nan = float("nan")

    def num(v):
        return np.array([nan if v is None else float(v)])

    out = {"day": num((t.date() - EPOCH).days if t else None), "month": num(t.month if t else None),
           "weekday": num(t.weekday() if t else None),
           "minute_of_day": num(doc.get("minute_of_day") if doc.get("minute_of_day") is not None
                                else (t.hour * 60 + t.minute if t else None)),
           "lat": num(loc.get("lat")), "lon": num(loc.get("lon"))}
    for f in ("places", "city", "country", "semantic_name"):
        v = np.empty(1, dtype=object)
        v[0] = doc.get(f)
        out[f] = v
    return out


def score_terms(hit, weights, soft: Sequence[Any]) -> list[Term]:
    """The addends of ``hit.score``: weighted IaT and TaT, one term per soft constraint with a non-zero boost,
    and ``other`` when the rest does not add up (e.g. a reranker's blend).

    Args:
        hit: a ``Hit`` (``score``, raw cosines ``iat``/``tat``, ``doc``).
        weights: the request's ``Weights`` (``iat``, ``tat``).
        soft: the soft constraints the search applied (parsed ones after ``ignore``, then the request's own).
    """
    terms = [Term(f"{weights.iat:g}·IaT", weights.iat * hit.iat, hit.iat),
             Term(f"{weights.tat:g}·TaT", weights.tat * hit.tat, hit.tat)]
    if soft:
        fields = _fields(hit.doc)
        for c in soft:
            try:
                b = float(soft_boost([c], fields, 1)[0])
            except (KeyError, TypeError, ValueError):
                continue
            if b > 0:
                terms.append(Term(_key(c), b))
    rest = hit.score - sum(t.value for t in terms)
    if abs(rest) > RESIDUAL_EPS:
        terms.append(Term("other", rest))
    return terms


def event_terms(event) -> dict[str, Any]:
    """How an event's score comes from its frames (``engine/events.py``): ``best`` (its best frame's score),
    ``support`` (the next ``TOP_PER_EVENT - 1`` best scores), ``weight`` (EVENT_SUPPORT) and ``score``."""
    ranked = sorted((h.score for h in event.hits), reverse=True)
    return {"best": ranked[0] if ranked else 0.0, "support": ranked[1:TOP_PER_EVENT], "weight": EVENT_SUPPORT,
            "score": event.score}

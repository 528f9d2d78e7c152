"""Retrieval metrics of one ranked list against known targets (pure functions).

For a ranked list whose position ``r`` (1-based) shows the set of targets ``M_r`` (usually empty) and ``n``
distinct targets:

* rank of the first target ``r* = min{r : M_r != {}}`` (None when no target is retrieved);
* ``hit@k = 1 if r* <= k else 0``; reciprocal rank ``RR = 1/r*`` (0 when none); MRR is its mean over topics;
* ``recall@k = |M_1 u ... u M_k| / n`` (a target counts once, however many of its copies are shown).

Event level: the ranked list is grouped into time events (``engine.events.group_events``); an event *contains* a
target when one of its hits shows it or the target's time lies within the event's [start, end] (the user browsing
the event's moment finds it). ``event rank`` = 1-based rank of the first event containing a target;
``event hit@k = 1 if event rank <= k else 0`` (k counts events).
"""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from ..engine.events import Event
from ..engine.store.base import Hit
from .topics import Target


def matched_targets(hits: Sequence[Hit], targets: Sequence[Target]) -> list[set[int]]:
    """Per hit, the indices of the targets it shows (by id or by local time)."""
    return [{i for i, t in enumerate(targets) if t.matches(h.image_id, h.doc.get("local_time"))} for h in hits]


def first_rank(matches: Sequence[set[int]]) -> int | None:
    """1-based rank of the first position showing a target, None when there is none."""
    return next((r for r, m in enumerate(matches, 1) if m), None)


def hit_at(rank: int | None, k: int) -> float:
    """1.0 when ``rank`` is within the top ``k``, else 0.0."""
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(rank: int | None) -> float:
    """``1 / rank``, 0.0 when no target was retrieved."""
    return 1.0 / rank if rank else 0.0


def recall_at(matches: Sequence[set[int]], n_targets: int, k: int) -> float:
    """Share of the ``n_targets`` distinct targets shown in the top ``k``.

    Raises:
        ValueError: ``n_targets`` < 1 or ``k`` < 1.
    """
    if n_targets < 1 or k < 1:
        raise ValueError(f"recall needs n_targets >= 1 and k >= 1, got {n_targets}, {k}")
    seen: set[int] = set()
    for m in matches[:k]:
        seen |= m
    return len(seen) / n_targets


def event_contains(event: Event, targets: Sequence[Target]) -> bool:
    """Does ``event`` show a target, or span a target's time (inclusive)?"""
    for h in event.hits:
        if any(t.matches(h.image_id, h.doc.get("local_time")) for t in targets):
            return True
    if event.start is None or event.end is None:
        return False
    start, end = _naive(event.start), _naive(event.end)
    return any(t.time is not None and start <= t.time <= end for t in targets)


def event_rank(events: Sequence[Event], targets: Sequence[Target]) -> int | None:
    """1-based rank of the first event containing a target, None when none does."""
    return next((r for r, e in enumerate(events, 1) if event_contains(e, targets)), None)


def _naive(t: datetime) -> datetime:
    return t.replace(tzinfo=None, microsecond=0)

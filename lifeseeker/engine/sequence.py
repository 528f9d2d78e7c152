"""Sequence queries: "A, then B" / "A ; B within 2h" -> events matching A followed by events matching B.

Pairing (pure): for each event a of A's events and b of B's events in the same collection, b qualifies when it
starts after a starts, and the gap ``g = max(0, b.start - a.end)`` is at most the window W. Each A event keeps its
best B partner; pairs are ranked by

    pair_score = (score_A + score_B) / 2 - GAP_PENALTY * g / W                  (GAP_PENALTY = 0.05)

i.e. the mean of both event scores (engine/events.py), with a small preference for the closer B among equally good
ones (at most 0.05, a fraction of one cosine step, so content decides first). Ties: earlier A start, then ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from ..errors import FilterError
from .events import Event

GAP_PENALTY = 0.05
DEFAULT_WITHIN_MINUTES = 120.0
MAX_WITHIN_MINUTES = 7 * 24 * 60

_WITHIN = re.compile(r"\s*\bwithin\s+(\d+(?:\.\d+)?)\s*(m|min|mins|minutes?|h|hr|hrs|hours?|d|days?)\s*\.?\s*$",
                     re.IGNORECASE)
_SPLIT = re.compile(r"\s*(?:;|,?\s*\b(?:and\s+)?then\b|,?\s*\bafterwards?\b|,?\s*\bafter\s+that\b|->|→)\s*",
                    re.IGNORECASE)


@dataclass(frozen=True)
class SequenceQuery:
    """``first`` then ``second`` within ``within_minutes``."""

    first: str
    second: str
    within_minutes: float = DEFAULT_WITHIN_MINUTES


def parse_within(raw: str, name: str = "within") -> float:
    """``"90"`` (minutes), ``"2h"``, ``"45 min"``, ``"1 day"`` -> minutes. Raises FilterError naming ``name``."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(m|min|mins|minutes?|h|hr|hrs|hours?|d|days?)?\s*", raw or "",
                     re.IGNORECASE)
    if not m:
        raise FilterError(f"{name}: expected minutes or a duration like 2h, 45min, 1d; got {raw!r}")
    value = float(m.group(1))
    unit = (m.group(2) or "m").lower()
    minutes = value * (60 if unit.startswith("h") else 1440 if unit.startswith("d") else 1)
    if not 0 < minutes <= MAX_WITHIN_MINUTES:
        raise FilterError(f"{name}: window must be in (0, {MAX_WITHIN_MINUTES}] minutes, got {minutes:g}")
    return minutes


def parse_sequence(text: str) -> SequenceQuery | None:
    """Split ``"A, then B"``, ``"A then B"``, ``"A; B"``, ``"A -> B"``, ``"A, after that B"`` with an optional
    trailing ``"within 2h"`` (m/min, h/hours, d/days). None when the text has no such separator or a side is
    empty. Only the first separator splits (``"A then B then C"`` -> ``A`` / ``B then C``)."""
    window = DEFAULT_WITHIN_MINUTES
    body = text
    m = _WITHIN.search(text)
    if m:
        window = parse_within(m.group(1) + m.group(2))
        body = text[:m.start()]
    parts = _SPLIT.split(body, maxsplit=1)
    if len(parts) != 2:
        return None
    first, second = (p.strip(" ,.;") for p in parts)
    if not first or not second:
        return None
    return SequenceQuery(first, second, window)


@dataclass
class EventPair:
    """A matched sequence: ``first`` (an A event), ``second`` (its B partner), ``gap_s`` (seconds from the end of
    A to the start of B, 0 when they overlap) and ``score`` (module docstring)."""

    first: Event
    second: Event
    gap_s: float
    score: float


def pair_events(first: Sequence[Event], second: Sequence[Event], within_minutes: float,
                limit: int = 20) -> list[EventPair]:
    """Best B partner of each A event (module docstring), best pairs first, at most ``limit``.

    Raises:
        FilterError: ``within_minutes`` outside (0, 7 days].
    """
    if not 0 < within_minutes <= MAX_WITHIN_MINUTES:
        raise FilterError(f"within: window must be in (0, {MAX_WITHIN_MINUTES}] minutes, got {within_minutes}")
    window_s = within_minutes * 60
    pairs: list[EventPair] = []
    for a in first:
        if a.start is None:
            continue
        coll = a.hits[0].doc.get("collection")
        best: EventPair | None = None
        for b in second:
            if b.start is None or b.start <= a.start or b.event_id == a.event_id:
                continue
            if b.hits[0].doc.get("collection") != coll:
                continue
            gap = max(0.0, (b.start - a.end).total_seconds())
            if gap > window_s:
                continue
            score = (a.score + b.score) / 2 - GAP_PENALTY * gap / window_s
            if best is None or (score, -gap) > (best.score, -best.gap_s):
                best = EventPair(a, b, gap, score)
        if best is not None:
            pairs.append(best)
    pairs.sort(key=lambda p: (-p.score, p.first.start, p.first.event_id, p.second.event_id))
    return pairs[:limit]


__all__ = ["SequenceQuery", "EventPair", "parse_sequence", "parse_within", "pair_events", "GAP_PENALTY",
           "DEFAULT_WITHIN_MINUTES"]

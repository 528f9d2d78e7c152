"""Time events: ranked hits grouped into temporally contiguous moments (seed §3.4, E-LifeSeeker's ranked-list
clustering). A wearable camera shoots every ~30 s, so one moment yields many near-identical hits; the page shows
one row per event with its top 3 images.

Grouping (pure, deterministic): hits are ordered by local time; two consecutive hits belong to the same event when
they share the collection and the local date, are at most ``gap_minutes`` apart, and their place does not change
(place = semantic_name, else locality, else city; a hit with no place never splits an event). Hits without a time
are events of their own.

Event score = the best hit's score + ``EVENT_SUPPORT`` x the mean of the next two best scores (0 when alone), so
among equally good events one with more supporting frames ranks first while a single excellent frame still wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Sequence

from .store.base import Hit

DEFAULT_GAP_MINUTES = 15
EVENT_SUPPORT = 0.1
TOP_PER_EVENT = 3


@dataclass
class Event:
    """One time event.

    Attributes:
        event_id: ``"<first image_id>"`` (stable for the same hits).
        hits: every hit of the event in time order.
        top: the best ``TOP_PER_EVENT`` hits, best first (ties by image_id).
        score: see the module docstring.
        start, end: local time span (None for an undated hit).
        place: the event's place name, when known.
    """

    event_id: str
    hits: list[Hit]
    top: list[Hit]
    score: float
    start: datetime | None
    end: datetime | None
    place: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        """Span in seconds (0 for one frame or no time)."""
        return (self.end - self.start).total_seconds() if self.start and self.end else 0.0


def place_of(doc: dict) -> str | None:
    """The place that splits events: semantic_name, else locality, else city."""
    return doc.get("semantic_name") or doc.get("locality") or doc.get("city")


def _same_event(a: Hit, b: Hit, gap_s: float) -> bool:
    ta, tb = a.doc.get("local_time"), b.doc.get("local_time")
    if ta is None or tb is None or ta.date() != tb.date():
        return False
    if a.doc.get("collection") != b.doc.get("collection") or (tb - ta).total_seconds() > gap_s:
        return False
    pa, pb = place_of(a.doc), place_of(b.doc)
    return pa is None or pb is None or pa == pb


def _event(hits: list[Hit]) -> Event:
    ranked = sorted(hits, key=lambda h: (-h.score, h.image_id))
    support = [h.score for h in ranked[1:TOP_PER_EVENT]]
    score = ranked[0].score + (EVENT_SUPPORT * sum(support) / len(support) if support else 0.0)
    times = [h.doc["local_time"] for h in hits if h.doc.get("local_time") is not None]
    place = next((place_of(h.doc) for h in hits if place_of(h.doc)), None)
    return Event(hits[0].image_id, hits, ranked[:TOP_PER_EVENT], score, min(times, default=None),
                 max(times, default=None), place)


def group_events(hits: Sequence[Hit], gap_minutes: float = DEFAULT_GAP_MINUTES) -> list[Event]:
    """Group ranked ``hits`` into events, best event first (ties: earlier start, then event_id).

    Raises:
        ValueError: ``gap_minutes`` is negative.
    """
    if gap_minutes < 0:
        raise ValueError(f"gap_minutes must be >= 0, got {gap_minutes}")
    dated = sorted((h for h in hits if h.doc.get("local_time") is not None),
                   key=lambda h: (h.doc.get("collection") or "", h.doc["local_time"], h.image_id))
    groups: list[list[Hit]] = []
    for h in dated:
        if groups and _same_event(groups[-1][-1], h, gap_minutes * 60):
            groups[-1].append(h)
        else:
            groups.append([h])
    groups += [[h] for h in hits if h.doc.get("local_time") is None]
    events = [_event(g) for g in groups]
    events.sort(key=lambda e: (-e.score, e.start or datetime.max, e.event_id))
    return events

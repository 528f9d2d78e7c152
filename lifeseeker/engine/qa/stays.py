"""Stays: the lifelog cut into time-ordered runs of frames at one place (issue 19, item 1).

**The rule.** Frames are ordered by local time. The *place key* of a frame is its ``semantic_name`` (a known
venue), else its ``locality``; a frame without either (no GPS fix: in the air, camera with no signal) has key
None. Two consecutive frames belong to the same stay when

* their place keys are equal (folded: case and accents ignored), and
* they are at most ``gap_minutes`` apart (default ``STAY_GAP_MINUTES`` = 90: the camera can be off for a meal or a
  meeting, but a night or a half day without frames ends the stay).

Anything else is a *transition* and starts a new stay: a frame at another place (another shop, the street outside)
separates two visits to the same shop on one day, as the LSC questions mean it ("visits on one day are separated
by being outside or in another shop"). Frames with key None form stays of their own (in transit); they never
join a stay at a place.

**Nights** (:func:`nights_at`): the night after day *d* is spent at a place when the last located frame of *d* and
the first located frame of *d + 1* are both there (both frames within ``NIGHT_WINDOW_H`` hours of midnight, so a
day trip ending at 15:00 is no night). A night in the air (last fix before midnight at an airport, first after it
at another) is nowhere.

Pure functions over documents (``engine/schema.py`` fields); no store access here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Callable, Iterable, Sequence

from ..text import fold

STAY_GAP_MINUTES = 90.0
NIGHT_WINDOW_H = 10.0


def place_key(doc: dict) -> str | None:
    """The place of a frame for stays: semantic_name, else locality, as written (None without either)."""
    return doc.get("semantic_name") or doc.get("locality") or None


@dataclass
class Stay:
    """One stay: consecutive frames at one place.

    Attributes:
        stay_id: ``"<place key>@<first image_id>"``, stable for the same lifelog.
        place: the place key (None: in transit, no fix).
        start, end: local times of the first and last frame.
        docs: the frames, in time order.
        match: the frames that matched the question's concept (empty when no concept was asked).
        score: the best match score (0.0 without a concept).
    """

    stay_id: str
    place: str | None
    start: datetime
    end: datetime
    docs: list[dict]
    match: list[dict] = field(default_factory=list)
    score: float = 0.0

    @property
    def day(self) -> date:
        """The local date the stay starts on."""
        return self.start.date()

    @property
    def country(self) -> str | None:
        """Country of the stay's first located frame."""
        return next((d.get("country") for d in self.docs if d.get("country")), None)

    @property
    def image_ids(self) -> list[str]:
        """Frame ids, the matched frames first (at most 3 of each)."""
        seen = [d["image_id"] for d in self.match[:3]]
        return seen + [d["image_id"] for d in self.docs if d["image_id"] not in seen][:3 - min(len(seen), 3)]


def timeline(docs: Iterable[dict]) -> list[dict]:
    """The documents with a local time, in time order (ties by image_id)."""
    return sorted((d for d in docs if d.get("local_time") is not None),
                  key=lambda d: (d["local_time"], d.get("image_id", "")))


def segment_stays(docs: Sequence[dict], gap_minutes: float = STAY_GAP_MINUTES,
                  key: Callable[[dict], str | None] = place_key) -> list[Stay]:
    """Cut time-ordered ``docs`` (:func:`timeline`) into stays by the module's rule.

    Args:
        docs: documents with ``local_time`` in time order.
        gap_minutes: the longest time without frames inside one stay.
        key: the place key of a frame.
    Returns:
        The stays in time order; every document is in exactly one.
    """
    stays: list[Stay] = []
    gap = timedelta(minutes=gap_minutes)
    prev_key = object()
    for d in docs:
        k = key(d)
        fk = fold(k) if k else None
        cur = stays[-1] if stays else None
        if cur is not None and fk == prev_key and d["local_time"] - cur.end <= gap:
            cur.docs.append(d)
            cur.end = d["local_time"]
        else:
            stays.append(Stay(f"{k or 'transit'}@{d['image_id']}", k, d["local_time"], d["local_time"], [d]))
        prev_key = fk
    return stays


def nights_at(docs: Sequence[dict], at: Callable[[dict], bool]) -> list[date]:
    """The nights spent where ``at`` holds (module docstring): the dates *d* whose last located frame and the next
    day's first located frame both satisfy ``at`` and lie within ``NIGHT_WINDOW_H`` of midnight.

    Args:
        docs: documents in time order (:func:`timeline`).
        at: the place test of a frame (a venue, a country, "not the home country").
    Returns:
        The dates *d* (the night from *d* to *d + 1*), ascending.
    """
    first: dict[date, dict] = {}
    last: dict[date, dict] = {}
    for d in docs:
        if not d.get("location") and not place_key(d):
            continue
        day = d["local_time"].date()
        first.setdefault(day, d)
        last[day] = d
    window = timedelta(hours=NIGHT_WINDOW_H)
    out = []
    for day, ev in sorted(last.items()):
        nxt = first.get(day + timedelta(days=1))
        if nxt is None:
            continue
        midnight = datetime.combine(day + timedelta(days=1), datetime.min.time())
        if midnight - ev["local_time"] <= window and nxt["local_time"] - midnight <= window and at(ev) and at(nxt):
            out.append(day)
    return out


__all__ = ["STAY_GAP_MINUTES", "NIGHT_WINDOW_H", "Stay", "place_key", "timeline", "segment_stays", "nights_at"]

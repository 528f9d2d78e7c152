"""Near-duplicate collapsing inside a time event: a wearable camera shoots every ~30 s, so a moment of sitting still
yields runs of almost identical frames; the page shows each run once, with a count.

Rule (pure, deterministic): walk an event's hits in time order; a hit joins the current run when the cosine of its
``clip_vec`` with the run's *first* frame (the anchor, so a slow pan cannot drift a run forever) is at least
``threshold`` (default ``DUP_COSINE`` = 0.92, a level consecutive same-scene frames of CLIP ViT-B reach while a
turn of the head or a new object drops below it); otherwise it starts a new run. When the hit or the anchor has no
``clip_vec`` (text-only store), their perceptual hashes decide (``doc["phash"]``, 64-bit DCT hash written at ingest
by ``imagehash.phash``): at most ``DUP_PHASH_BITS`` differing bits is a duplicate (re-encodes and resizes of one
picture differ in a few bits; unrelated pictures in about 32). A hit with neither is never a duplicate. Each run
is represented by its best-scoring hit (ties: image_id).

An event's *distinct top* is then the best ``TOP_PER_EVENT`` representatives (seed §3.4's top 3, without showing
the same view three times).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from .events import TOP_PER_EVENT, Event
from .store.base import Hit

DUP_COSINE = 0.92
DUP_PHASH_BITS = 6


@dataclass
class DupGroup:
    """A run of near-duplicate frames.

    Attributes:
        hits: the frames in time order (the first is the anchor).
        best: the representative: the highest score (ties: image_id asc).
    """

    hits: list[Hit]
    best: Hit

    @property
    def count(self) -> int:
        """Number of frames in the run (1 = no duplicate)."""
        return len(self.hits)

    @property
    def others(self) -> list[Hit]:
        """The frames hidden behind the representative, in time order."""
        return [h for h in self.hits if h.image_id != self.best.image_id]


def _unit(v) -> np.ndarray | None:
    if v is None:
        return None
    a = np.asarray(v, dtype=np.float32).reshape(-1)
    n = float(np.linalg.norm(a))
    return a / n if n > 0 else None


def _phash(hit: Hit) -> int | None:
    raw = (hit.doc or {}).get("phash")
    try:
        return int(raw, 16) if raw else None
    except (TypeError, ValueError):
        return None


def collapse_duplicates(hits: Sequence[Hit], vectors: Mapping[str, object],
                        threshold: float = DUP_COSINE) -> list[DupGroup]:
    """Runs of near-duplicates among ``hits`` (taken in the order given: pass them in time order).

    Args:
        hits: one event's hits in time order.
        vectors: image_id -> (d,) clip_vec (any float dtype; normalised here), or None / absent.
        threshold: cosine in [-1, 1] at or above which a frame joins the run of its anchor; above 1 turns
            collapsing off.
    Raises:
        ValueError: ``threshold`` is not a finite number.
    """
    if not np.isfinite(threshold):
        raise ValueError(f"dup threshold must be a finite cosine, got {threshold}")
    groups: list[list[Hit]] = []
    anchor: np.ndarray | None = None
    anchor_hash: int | None = None
    for h in hits:
        v = _unit(vectors.get(h.image_id))
        ph = _phash(h)
        if groups and anchor is not None and v is not None:
            same = float(anchor @ v) >= threshold
        else:
            same = bool(groups) and anchor_hash is not None and ph is not None and \
                bin(anchor_hash ^ ph).count("1") <= DUP_PHASH_BITS and threshold <= 1
        if same:
            groups[-1].append(h)
            continue
        groups.append([h])
        anchor, anchor_hash = v, ph
    return [DupGroup(g, min(g, key=lambda h: (-h.score, h.image_id))) for g in groups]


def annotate_event(event: Event, vectors: Mapping[str, object], threshold: float = DUP_COSINE) -> Event:
    """Set ``event.extra["groups"]`` (list[DupGroup], time order) and ``event.extra["top_distinct"]`` (the best
    ``TOP_PER_EVENT`` DupGroups, best first). Returns the same event."""
    groups = collapse_duplicates(event.hits, vectors, threshold)
    event.extra["groups"] = groups
    event.extra["top_distinct"] = sorted(groups, key=lambda g: (-g.best.score, g.best.image_id))[:TOP_PER_EVENT]
    return event


__all__ = ["DUP_COSINE", "DUP_PHASH_BITS", "DupGroup", "collapse_duplicates", "annotate_event"]

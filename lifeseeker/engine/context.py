"""Temporal context: the images taken around one image (``Store.neighbours``), so a user who found a moment can
look just before and after it."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import FilterError, NotFound
from .store.base import Doc, Store

MAX_CONTEXT_MINUTES = 24 * 60
DEFAULT_CONTEXT_MINUTES = 30
MAX_CONTEXT_IMAGES = 500


@dataclass
class Context:
    """Attributes: ``center`` (the image's document), ``docs`` (documents with local_time in
    [t - before, t + after], time order, the center included), ``index`` (the center's position in ``docs``),
    ``before_s``/``after_s`` (seconds), ``truncated`` (more than ``limit`` images fell in the window)."""

    center: Doc
    docs: list[Doc]
    index: int
    before_s: int
    after_s: int
    truncated: bool


def temporal_context(store: Store, image_id: str, before_min: float = DEFAULT_CONTEXT_MINUTES,
                     after_min: float | None = None, limit: int = 200) -> Context:
    """The images within ``before_min`` minutes before and ``after_min`` (default: same) after ``image_id``, in
    time order, from the same collection.

    Raises:
        NotFound: unknown image id.
        FilterError: a window outside (0, 1440] minutes, a limit outside 1-500, or an image without a time.
    """
    after_min = before_min if after_min is None else after_min
    for name, v in (("minutes", before_min), ("minutes_after", after_min)):
        if not (isinstance(v, (int, float)) and 0 < v <= MAX_CONTEXT_MINUTES):
            raise FilterError(f"{name}: the context window must be in (0, {MAX_CONTEXT_MINUTES}] minutes, got {v}")
    if not 1 <= limit <= MAX_CONTEXT_IMAGES:
        raise FilterError(f"limit: must be 1-{MAX_CONTEXT_IMAGES}, got {limit}")
    docs = store.get([image_id])
    if not docs:
        raise NotFound(f"no image {image_id!r}")
    center = docs[0]
    t = center.get("local_time")
    if t is None:
        raise FilterError(f"image {image_id!r} has no time, so it has no temporal context")
    before_s, after_s = int(before_min * 60), int(after_min * 60)
    around = store.neighbours(t, before_s, after_s, collection=center.get("collection"), limit=MAX_CONTEXT_IMAGES)
    ids = [d["image_id"] for d in around]
    index = ids.index(image_id) if image_id in ids else 0
    truncated = len(around) > limit
    if truncated:  # keep a window of ``limit`` images centred on the image
        lo = max(0, min(index - limit // 2, len(around) - limit))
        around, index = around[lo:lo + limit], index - lo
    return Context(center, around, index, before_s, after_s, truncated)


__all__ = ["Context", "temporal_context", "DEFAULT_CONTEXT_MINUTES", "MAX_CONTEXT_MINUTES"]

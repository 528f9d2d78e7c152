"""CapMeta: the text that carries a photo's content, time and place to the TaT encoder (seed §3.3, Figure 4).

    "a teddy bear on a bed next to a guitar # Time: 2020-01-01 04:50:10 (Wednesday, night) # Location: Dublin,
     Ireland"

The content part is the caption; until a captioner runs it is built from the tags and the OCR text. The time part
adds the weekday and part of day in words after the timestamp, so that "on a Wednesday night" in a query finds it
through the sentence embedding. Absent parts are left out, never invented.
"""

from __future__ import annotations

from datetime import datetime

from ...engine.timeparts import WEEKDAY_NAMES, part_of_day

MAX_OCR_CHARS = 300


def content_text(caption: str | None, tags: list[str] | None, ocr_text: str | None) -> str:
    """The caption, or (no captioner yet) ``"tag, tag, tag. Text: OCR words"``; ``""`` when nothing is known."""
    if caption and caption.strip():
        return caption.strip()
    parts = []
    if tags:
        parts.append(", ".join(tags))
    if ocr_text and ocr_text.strip():
        parts.append("Text: " + " ".join(ocr_text.split())[:MAX_OCR_CHARS])
    return ". ".join(parts)


def capmeta(content: str, local_time: datetime | None, place_names: list[str | None]) -> str:
    """``content # Time: YYYY-MM-DD HH:MM:SS (Weekday, part of day) # Location: a, b, c`` with absent parts left out.

    Args:
        content: caption-like text (may be empty).
        local_time: local wall-clock capture time, or None.
        place_names: most specific first (semantic name, locality, city, country); blanks and repeats dropped.
    """
    parts = [content.strip()] if content and content.strip() else []
    if local_time is not None:
        words = f"{WEEKDAY_NAMES[local_time.weekday()]}, {part_of_day(local_time.hour)}"
        parts.append(f"Time: {local_time:%Y-%m-%d %H:%M:%S} ({words})")
    names = list(dict.fromkeys(n for n in place_names if n))
    if names:
        parts.append("Location: " + ", ".join(names))
    return " # ".join(parts)

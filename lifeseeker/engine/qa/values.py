"""Values of documents at the granularity a question asks: a local time as a date, month, year, weekday, season or
clock time; a place as a semantic name, city, region or country; a duration in words; days counted as trips or
nights. Pure functions over document fields (``engine/schema.py``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Sequence

from ..events import place_of
from ..timeparts import MONTH_NAMES, WEEKDAY_NAMES

SEASONS = {12: "Winter", 1: "Winter", 2: "Winter", 3: "Spring", 4: "Spring", 5: "Spring", 6: "Summer",
           7: "Summer", 8: "Summer", 9: "Autumn", 10: "Autumn", 11: "Autumn"}  # meteorological, northern hemisphere


def season_of(month: int) -> str:
    """Meteorological season (northern hemisphere) of a month 1-12."""
    return SEASONS[month]


def time_value(t: datetime, kind: str) -> tuple[str, Any]:
    """``(answer text, value)`` of a local time at the asked granularity ``kind`` (date, month, month_year, year,
    weekday, season, clock). Raises KeyError for an unknown kind."""
    return {
        "date": lambda: (f"{t.day} {MONTH_NAMES[t.month - 1]} {t.year}", t.date()),
        "month": lambda: (MONTH_NAMES[t.month - 1], t.month),
        "month_year": lambda: (f"{MONTH_NAMES[t.month - 1]} {t.year}", f"{t.year}-{t.month:02d}"),
        "year": lambda: (str(t.year), t.year),
        "weekday": lambda: (WEEKDAY_NAMES[t.weekday()], WEEKDAY_NAMES[t.weekday()]),
        "season": lambda: (season_of(t.month), season_of(t.month)),
        "clock": lambda: (f"{t:%H:%M}", f"{t:%H:%M}"),
    }[kind]()


def place_value(doc: dict, kind: str) -> str | None:
    """The document's place at granularity ``kind``: ``place`` = semantic_name, else locality, else city."""
    if kind == "place":
        return place_of(doc)
    return doc.get(kind)


def format_duration(seconds: float) -> str:
    """Human duration: ``"less than a minute"``, ``"11 minutes"`` (under 90 min), ``"1.5 hours"``."""
    if seconds < 60:
        return "less than a minute"
    minutes = seconds / 60
    if minutes < 90:
        n = round(minutes)
        return f"{n} minute{'s' if n != 1 else ''}"
    hours = round(minutes / 60, 1)
    return f"{hours:g} hour{'s' if hours != 1 else ''}"


def count_trips(dates: Sequence[date]) -> int:
    """Runs of consecutive dates (a gap of one day or more without evidence starts a new trip)."""
    days = sorted(set(dates))
    return sum(1 for i, d in enumerate(days) if i == 0 or (d - days[i - 1]).days > 1)


def count_nights(dates: Sequence[date]) -> int:
    """Nights of a stay: consecutive date pairs with evidence on both days; 1 when evidence exists on single
    days only (being there is taken to mean one night), 0 without evidence."""
    days = sorted(set(dates))
    pairs = sum(1 for a, b in zip(days, days[1:]) if (b - a).days == 1)
    return pairs or (1 if days else 0)


__all__ = ["SEASONS", "season_of", "time_value", "place_value", "format_duration", "count_trips", "count_nights"]

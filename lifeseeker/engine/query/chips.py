"""Parsed constraints as chips the user can act on: remove one (its soft boost goes), or make it hard (it becomes
an explicit filter parameter, the same vocabulary as the CLI options and the JSON API).

A chip's ``key`` names a group of ``ParsedQuery`` fields; ``drop(parsed, keys)`` clears them, so the service
never boosts what the user removed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable

from ..timeparts import MONTH_NAMES
from .parse import ParsedQuery

CHIP_FIELDS: dict[str, tuple[str, ...]] = {
    "date": ("date_from", "date_to"),
    "months": ("months",),
    "weekdays": ("weekdays",),
    "hours": ("hour_ranges",),
    "city": ("cities", "city_aliases"),
    "country": ("countries",),
    "semantic": ("semantic",),
    "venue": ("venues",),
    "exclude": ("excluded",),
    "text": ("read_terms",),
}


@dataclass(frozen=True)
class Chip:
    """One parsed constraint.

    Attributes:
        key: which constraint (a key of CHIP_FIELDS); ``ignore=<key>`` in a request removes its boost.
        label: what the page shows, e.g. ``"May 2019"``, ``"Sat, Sun"``, ``"06:00-10:00"``.
        hard: filter parameters that make it hard (``{"date_from": "2019-05-01", ...}``), or None when no hard
            filter expresses it (months without a year).
    """

    key: str
    label: str
    hard: dict[str, str] | None


def _hhmm(minutes: int) -> str:
    return f"{(minutes // 60) % 24:02d}:{minutes % 60:02d}"


def chips(parsed: ParsedQuery) -> list[Chip]:
    """The chips of a parsed query, in a fixed order (date, months, weekdays, hours, city, country, semantic,
    venue, exclude, text)."""
    out: list[Chip] = []
    if parsed.date_from and parsed.date_to:
        a, b = parsed.date_from.isoformat(), parsed.date_to.isoformat()
        out.append(Chip("date", a if a == b else f"{a} – {b}", {"date_from": a, "date_to": b}))
    elif parsed.date_from:  # one-sided: "since May 2019"
        a = parsed.date_from.isoformat()
        out.append(Chip("date", f"from {a}", {"date_from": a}))
    elif parsed.date_to:  # "before St. Patrick's Day 2019"
        b = parsed.date_to.isoformat()
        out.append(Chip("date", f"up to {b}", {"date_to": b}))
    if parsed.months:
        out.append(Chip("months", ", ".join(MONTH_NAMES[m - 1] for m in parsed.months), None))
    if parsed.weekdays:
        out.append(Chip("weekdays", ", ".join(parsed.weekdays), {"weekday": ",".join(parsed.weekdays)}))
    if parsed.hour_ranges:
        label = ", ".join(f"{_hhmm(a)}–{_hhmm(b)}" for a, b in parsed.hour_ranges)
        hard = None
        if len(parsed.hour_ranges) == 1:
            a, b = parsed.hour_ranges[0]
            start, end = a // 60, -(-b // 60)
            hard = {"hour_from": str(start % 24), "hour_to": str(end if end <= 24 else end - 24)}
        out.append(Chip("hours", label, hard))
    if parsed.cities:
        out.append(Chip("city", ", ".join(parsed.cities), {"city": ",".join(parsed.cities + parsed.city_aliases)}))
    if parsed.countries:
        out.append(Chip("country", ", ".join(parsed.countries), {"country": ",".join(parsed.countries)}))
    if parsed.semantic:
        out.append(Chip("semantic", ", ".join(parsed.semantic), {"semantic": ",".join(parsed.semantic)}))
    if parsed.venues:
        out.append(Chip("venue", ", ".join(parsed.venues), {"place": ",".join(parsed.venues)}))
    if parsed.excluded:  # a soft penalty; no hard filter excludes a value
        out.append(Chip("exclude", "not " + ", ".join(parsed.excluded), None))
    if parsed.read_terms:  # graded OCR boost; hard: every word in the OCR text
        out.append(Chip("text", "reads " + ", ".join(f"\u201c{t}\u201d" for t in parsed.read_terms),
                        {"ocr": " ".join(parsed.read_terms)}))
    return out


def drop(parsed: ParsedQuery, keys: Iterable[str]) -> ParsedQuery:
    """``parsed`` without the constraints named by chip ``keys`` (unknown keys are ignored)."""
    cleared: dict[str, object] = {}
    for key in keys:
        for name in CHIP_FIELDS.get(key, ()):
            cleared[name] = None if name in ("date_from", "date_to") else ()
    return replace(parsed, **cleared) if cleared else parsed

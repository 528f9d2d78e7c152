"""Time conventions shared by ingest, filters and (later) query parsing.

Source: docs/lsc-format.md, "Part of day": stored ``part_of_day`` buckets are disjoint, in local time:
morning 05-12, afternoon 12-17, evening 17-21, night 21-05.
"""

from __future__ import annotations

from datetime import datetime

WEEKDAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WEEKDAY_NAMES: tuple[str, ...] = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_NAMES: tuple[str, ...] = ("January", "February", "March", "April", "May", "June", "July", "August",
                                "September", "October", "November", "December")

# Disjoint stored buckets: name -> [start hour, end hour) in local time; night wraps midnight.
PARTS_OF_DAY: dict[str, tuple[int, int]] = {
    "morning": (5, 12),
    "afternoon": (12, 17),
    "evening": (17, 21),
    "night": (21, 5),
}


def part_of_day(hour: int) -> str:
    """Stored part-of-day bucket of a local ``hour`` (0-23). Raises ValueError outside 0-23."""
    if not 0 <= hour <= 23:
        raise ValueError(f"hour must be 0-23, got {hour}")
    for name, (start, end) in PARTS_OF_DAY.items():
        if (start <= hour < end) if start < end else (hour >= start or hour < end):
            return name
    raise AssertionError("buckets cover 0-23")  # pragma: no cover


def time_fields(local: datetime) -> dict[str, object]:
    """The derived time fields of one document, from its local wall-clock time.

    Returns ``date`` (ISO ``YYYY-MM-DD``), ``year``, ``month`` (1-12), ``weekday`` (``Mon``..``Sun``), ``hour``
    (0-23), ``minute_of_day`` (0-1439) and ``part_of_day``: stored once at ingest so filters need no scripts.
    """
    return {
        "date": local.date().isoformat(),
        "year": local.year,
        "month": local.month,
        "weekday": WEEKDAYS[local.weekday()],
        "hour": local.hour,
        "minute_of_day": local.hour * 60 + local.minute,
        "part_of_day": part_of_day(local.hour),
    }

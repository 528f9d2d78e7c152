"""Which clock an LSC collection's image names use, decided from its own metadata, and the times that follow.

docs/lsc-format.md ("Images"): the time in an LSC'22+ name is best read as UTC (published LSC'26 targets only make
sense that way), while older collections (LSC2020) named images by local time. The data says which: every metadata
minute lists its images (``ImageID``) and carries both ``utc_time`` and ``local_time``; a name whose minute equals the
row's ``utc_time`` minute votes UTC, one equal to ``local_time`` votes local (an image in no list votes with the
minute_id of its name's minute, as it is joined). Only rows where the two differ (a
non-zero offset) can vote. ``decide_clock`` counts the votes; the majority wins, no votes -> UTC (the format note's
reading).

Then, per image (``LscSource.record``):

* names are **UTC**: ``utc_time`` = the name's time; local time = that instant in the minute's zone (``time_zone``,
  else the row's ``local_time - utc_time`` offset), or the row's ``local_time`` when no offset is known;
  ``time_source = "lsc-metadata"``. An image with no metadata row keeps only its UTC time (no local time, weekday,
  hour or part of day it cannot know), ``time_source = "lsc-name"``.
* names are **local**: the name's time is local, the offset from the zone (as before this module existed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC, LOCAL = "utc", "local"


@dataclass(frozen=True)
class ClockVerdict:
    """What the names of a collection are: ``kind`` (``"utc"`` or ``"local"``) and the votes behind it."""

    kind: str
    utc_votes: int
    local_votes: int

    def line(self) -> str:
        """One line for the ingest's report."""
        total = self.utc_votes + self.local_votes
        if not total:
            return ("image names read as UTC (docs/lsc-format.md): no metadata minute with utc_time != local_time "
                    "lists an image, so the data cannot tell")
        return (f"image names read as {self.kind.upper()}: of {total} listed images in minutes whose utc_time and "
                f"local_time differ, {self.utc_votes} name the utc_time minute and {self.local_votes} the "
                f"local_time minute")


def format_offset(delta: timedelta) -> str:
    """timedelta -> ``+HH:MM`` / ``-HH:MM``."""
    minutes = int(round(delta.total_seconds() / 60))
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def utc_offset_at(local: datetime, zone: str) -> str:
    """UTC offset (``+01:00``) of the IANA ``zone`` (``Europe/Dublin``) or fixed ``+01:00`` / ``UTC+1`` at the
    local wall-clock time ``local``. Raises ValueError for an unknown zone."""
    m = _OFFSET.match(zone.strip())
    if m:
        sign, hh, mm = m.groups()
        delta = timedelta(hours=int(hh), minutes=int(mm or 0))
        return format_offset(delta if sign == "+" else -delta)
    try:
        tz = ZoneInfo(zone.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {zone!r}") from exc
    return format_offset(local.replace(tzinfo=tz).utcoffset())


def _minute(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)


def decide_clock(pairs: Iterable[tuple[datetime | None, object]]) -> ClockVerdict:
    """Vote (module docstring) over ``(name time, its metadata minute)`` of every image on disk: the minute whose
    ImageID list names it, else the minute_id of its name's minute (LSC2020 metadata has no ImageID column).

    Args:
        pairs: ``(lsc.time_from_name(image_id) or None, MinuteMeta or None)``; MinuteMeta's ``utc_time`` and
            ``local_time`` are naive datetimes or None.
    """
    utc_votes = local_votes = 0
    for t, meta in pairs:
        if meta is None or t is None or meta.utc_time is None or meta.local_time is None:
            continue
        u, loc = _minute(meta.utc_time), _minute(meta.local_time)
        if u == loc:
            continue
        if _minute(t) == u:
            utc_votes += 1
        elif _minute(t) == loc:
            local_votes += 1
    return ClockVerdict(LOCAL if local_votes > utc_votes else UTC, utc_votes, local_votes)


_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2}):?(\d{2})?$", re.I)  # as lsc.utc_offset_at reads them


def _fixed_offset(zone: str) -> timedelta | None:
    m = _OFFSET.match(zone.strip())
    if not m:
        return None
    sign, hh, mm = m.groups()
    delta = timedelta(hours=int(hh), minutes=int(mm or 0))
    return delta if sign == "+" else -delta


def local_from_utc(utc: datetime, meta) -> tuple[datetime, timedelta] | None:
    """``(local wall-clock time, offset)`` of the naive UTC instant ``utc`` in the minute ``meta``'s zone: its
    ``time_zone`` (IANA name or fixed ``+01:00``/``UTC+1``), else its ``local_time - utc_time`` rounded to 15 minutes
    (within +-14 h); None when neither is known or the zone is unknown."""
    if meta.time_zone:
        fixed = _fixed_offset(meta.time_zone)
        if fixed is not None:
            return utc + fixed, fixed
        try:
            tz = ZoneInfo(meta.time_zone.strip())
        except (ZoneInfoNotFoundError, ValueError):
            tz = None
        if tz is not None:
            local = utc.replace(tzinfo=timezone.utc).astimezone(tz)
            return local.replace(tzinfo=None), local.utcoffset()
    if meta.local_time is not None and meta.utc_time is not None:
        delta = meta.local_time - meta.utc_time
        if abs(delta) <= timedelta(hours=14):
            delta = timedelta(minutes=15 * round(delta.total_seconds() / 900))
            return utc + delta, delta
    return None


__all__ = ["ClockVerdict", "decide_clock", "local_from_utc", "format_offset", "utc_offset_at", "UTC", "LOCAL"]

"""Capture time and GPS from EXIF, read with Pillow (``Image.getexif`` and its Exif / GPS IFDs).

Time: DateTimeOriginal, else DateTimeDigitized, else IFD0 DateTime (EXIF 2.32 §4.6.5), local wall-clock time;
the matching OffsetTime* tag, when present, gives the UTC offset. No EXIF time -> no time (never the file mtime).
GPS: degrees/minutes/seconds rationals with N/S/E/W refs; (0, 0), out-of-range values and zero denominators
are treated as absent and reported. Broken IFDs never raise: whatever can be read is returned with a note.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from PIL import ExifTags, Image

_TAGS = ExifTags.Base
_GPS = ExifTags.GPS
# (time tag, offset tag) in order of preference.
_TIME_TAGS = ((_TAGS.DateTimeOriginal, _TAGS.OffsetTimeOriginal),
              (_TAGS.DateTimeDigitized, _TAGS.OffsetTimeDigitized),
              (_TAGS.DateTime, _TAGS.OffsetTime))
_EXIF_TIME = re.compile(r"^\s*(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"^\s*([+-])(\d{2}):(\d{2})\s*$")


@dataclass
class ExifInfo:
    """What EXIF told us about one photo.

    Attributes:
        local_time: capture time, local wall clock (naive), or None.
        utc_offset: ``"+02:00"`` when an OffsetTime* tag gives it, else None.
        lat, lon: decimal degrees (WGS84), or None.
        notes: what was present but unusable (e.g. ``"GPS latitude out of range: 95.0"``).
    """

    local_time: datetime | None = None
    utc_offset: str | None = None
    lat: float | None = None
    lon: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def utc_time(self) -> datetime | None:
        """The capture instant in UTC when both time and offset are known."""
        if self.local_time is None or self.utc_offset is None:
            return None
        sign, hh, mm = _OFFSET.match(self.utc_offset).groups()
        delta = timedelta(hours=int(hh), minutes=int(mm)) * (1 if sign == "+" else -1)
        return (self.local_time - delta).replace(tzinfo=timezone.utc)


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return value.strip("\x00 ") if isinstance(value, str) else None


def parse_exif_time(value: object) -> datetime | None:
    """``"2008:10:22 16:28:39"`` -> datetime; None for blank, zeroed (``0000:00:00``) or impossible values."""
    m = _EXIF_TIME.match(_text(value) or "")
    if not m:
        return None
    try:
        return datetime(*(int(g) for g in m.groups()))
    except ValueError:
        return None


def _rational(x: object) -> float:
    try:
        if isinstance(x, tuple) and len(x) == 2:
            return x[0] / x[1]
        return float(x)
    except (ZeroDivisionError, TypeError, ValueError):
        return math.nan


def _dms(value: object) -> float:
    if not isinstance(value, (tuple, list)) or not value:
        return _rational(value)
    parts = [_rational(v) for v in value] + [0.0, 0.0]
    return parts[0] + parts[1] / 60 + parts[2] / 3600


def read_exif(image: Image.Image) -> ExifInfo:
    """Capture time, UTC offset and GPS of an opened image (JPEG, TIFF, PNG eXIf, HEIC via pillow-heif)."""
    info = ExifInfo()
    try:
        exif = image.getexif()
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types on corrupt EXIF
        info.notes.append(f"EXIF unreadable: {exc}")
        return info
    try:
        sub = exif.get_ifd(ExifTags.IFD.Exif)
    except Exception as exc:  # noqa: BLE001
        sub = {}
        info.notes.append(f"Exif IFD unreadable: {exc}")
    for time_tag, offset_tag in _TIME_TAGS:
        raw = sub.get(time_tag, exif.get(time_tag))
        when = parse_exif_time(raw)
        if when is not None:
            info.local_time = when
            offset = _text(sub.get(offset_tag, exif.get(offset_tag)))
            if offset and _OFFSET.match(offset):
                info.utc_offset = offset.strip()
            break
        if raw not in (None, b"", ""):
            info.notes.append(f"unusable {_TAGS(time_tag).name}: {_text(raw)!r}")
    try:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    except Exception as exc:  # noqa: BLE001
        gps = {}
        info.notes.append(f"GPS IFD unreadable: {exc}")
    if gps and _GPS.GPSLatitude in gps and _GPS.GPSLongitude in gps:
        lat, lon = _dms(gps[_GPS.GPSLatitude]), _dms(gps[_GPS.GPSLongitude])
        if (_text(gps.get(_GPS.GPSLatitudeRef)) or "N").upper().startswith("S"):
            lat = -lat
        if (_text(gps.get(_GPS.GPSLongitudeRef)) or "E").upper().startswith("W"):
            lon = -lon
        if not (math.isfinite(lat) and math.isfinite(lon)):
            info.notes.append("GPS with zero denominators or no values")
        elif not (-90 <= lat <= 90 and -180 <= lon <= 180):
            info.notes.append(f"GPS out of range: {lat:.4f}, {lon:.4f}")
        elif lat == 0 and lon == 0:
            info.notes.append("GPS is (0, 0): treated as absent")
        else:
            info.lat, info.lon = round(lat, 7), round(lon, 7)
    return info

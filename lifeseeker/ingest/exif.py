"""Capture time and GPS from EXIF, read with Pillow (``Image.getexif`` and its Exif / GPS IFDs).

Time: DateTimeOriginal, else GPSDateStamp + GPSTimeStamp (UTC; local only when an OffsetTime* tag gives the zone),
else DateTimeDigitized, else IFD0 DateTime (EXIF 2.32 §4.6.5, §4.6.6 GPS tags), local wall-clock time; the matching
OffsetTime* tag gives the UTC offset (``parse_offset``: ``+05:45``, ``-5:00``, ``+0545``, ``Z``; outside
-12:00..+14:00 or minutes >= 60 is invalid: the time stays local, with a note). ``time_source`` says which.
No EXIF time -> no time (never the file mtime).
GPS: degrees/minutes/seconds rationals with N/S/E/W refs; (0, 0), out-of-range values, zero denominators and a
missing LatitudeRef/LongitudeRef (the hemisphere is unknown) are treated as absent and reported. Broken IFDs never
raise: whatever can be read is returned with a note.
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
_OFFSET = re.compile(r"^\s*([+-])(\d{2}):(\d{2})\s*$")  # the stored form
_OFFSET_IN = re.compile(r"^\s*(?:([+-])(\d{1,2}):?(\d{2})|(Z))\s*$", re.I)


def parse_offset(text: str | None) -> tuple[str | None, str | None]:
    """An EXIF OffsetTime* value -> ``("+HH:MM", None)``, or ``(None, note)`` when it is present but invalid, or
    ``(None, None)`` when blank. Accepts ``+05:45``, ``-5:00``, ``+0545``, ``Z`` (UTC); valid offsets are
    -12:00..+14:00 with minutes < 60 (the range of the world's zones, ISO 8601 form)."""
    if not text or not text.strip(" \x00:"):
        return None, None
    m = _OFFSET_IN.match(text)
    if not m:
        return None, f"unusable UTC offset {text!r}: time kept as local"
    if m.group(4):
        return "+00:00", None
    sign, hh, mm = m.group(1), int(m.group(2)), int(m.group(3))
    minutes = (hh * 60 + mm) * (1 if sign == "+" else -1)
    if mm >= 60 or not -12 * 60 <= minutes <= 14 * 60:
        return None, f"UTC offset {text!r} out of range (-12:00..+14:00): time kept as local"
    return f"{sign}{hh:02d}:{mm:02d}", None


@dataclass
class ExifInfo:
    """What EXIF told us about one photo.

    Attributes:
        local_time: capture time, local wall clock (naive), or None.
        utc_offset: ``"+02:00"`` when an OffsetTime* tag gives it, else None.
        lat, lon: decimal degrees (WGS84), or None.
        notes: what was present but unusable (e.g. ``"GPS latitude out of range: 95.0"``).
        time_source: which tag gave ``local_time``: ``exif`` (DateTimeOriginal or IFD0 DateTime),
            ``exif-digitized`` (DateTimeDigitized), ``gps`` (GPSDateStamp + GPSTimeStamp), or None.
        gps_utc: the GPS capture instant (tz-aware UTC) when the time came from the GPS tags; ``local_time`` is then
            set only when an offset tag gives the zone.
    """

    local_time: datetime | None = None
    utc_offset: str | None = None
    lat: float | None = None
    lon: float | None = None
    notes: list[str] = field(default_factory=list)
    time_source: str | None = None
    gps_utc: datetime | None = None

    @property
    def utc_time(self) -> datetime | None:
        """The capture instant in UTC when both time and offset are known (or the GPS time was used)."""
        if self.local_time is None or self.utc_offset is None:
            return self.gps_utc
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


def _gps_time(gps: dict, sub, exif, info: ExifInfo) -> bool:
    """Set the capture time from GPSDateStamp (``YYYY:MM:DD``) + GPSTimeStamp (three rationals, UTC) when both
    are usable: ``gps_utc`` always; ``local_time``/``utc_offset`` when an OffsetTimeOriginal / OffsetTime gives the
    zone. Returns whether a time was set."""
    stamp, hms = _text(gps.get(_GPS.GPSDateStamp)), gps.get(_GPS.GPSTimeStamp)
    if not stamp or not isinstance(hms, (tuple, list)) or len(hms) != 3:
        return False
    parts = [_rational(v) for v in hms]
    day = parse_exif_time(f"{stamp.strip()} 00:00:00")
    if day is None or not all(math.isfinite(p) for p in parts) or not (0 <= parts[0] < 24 and 0 <= parts[1] < 60
                                                                        and 0 <= parts[2] < 61):
        info.notes.append(f"unusable GPS time: {stamp!r} {hms!r}")
        return False
    utc = day + timedelta(hours=parts[0], minutes=parts[1], seconds=int(parts[2]))
    info.gps_utc, info.time_source = utc.replace(tzinfo=timezone.utc), "gps"
    for tag in (_TAGS.OffsetTimeOriginal, _TAGS.OffsetTime):
        offset, _ = parse_offset(_text(sub.get(tag, exif.get(tag))))
        if offset:
            sign, hh, mm = _OFFSET.match(offset).groups()
            delta = timedelta(hours=int(hh), minutes=int(mm)) * (1 if sign == "+" else -1)
            info.local_time, info.utc_offset = utc + delta, offset
            break
    return True


def read_exif(image: Image.Image) -> ExifInfo:
    """Capture time, UTC offset and GPS of an opened image (JPEG, TIFF, PNG eXIf, HEIC via pillow-heif)."""
    info = ExifInfo()
    try:
        exif = image.getexif()
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types on corrupt EXIF
        info.notes.append(f"EXIF unreadable: {exc}")
        return info
    orientation = exif.get(_TAGS.Orientation)
    if orientation is not None and orientation not in range(1, 9):
        info.notes.append(f"orientation {orientation!r} outside 1-8: not rotated")
    try:
        sub = exif.get_ifd(ExifTags.IFD.Exif)
    except Exception as exc:  # noqa: BLE001
        sub = {}
        info.notes.append(f"Exif IFD unreadable: {exc}")
    try:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    except Exception as exc:  # noqa: BLE001
        gps = {}
        info.notes.append(f"GPS IFD unreadable: {exc}")
    for time_tag, offset_tag in _TIME_TAGS:
        raw = sub.get(time_tag, exif.get(time_tag))
        when = parse_exif_time(raw)
        if when is not None:
            offset, note = parse_offset(_text(sub.get(offset_tag, exif.get(offset_tag))))
            info.utc_offset = offset
            info.notes += [note] if note else []
            info.local_time = when
            info.time_source = "exif-digitized" if time_tag == _TAGS.DateTimeDigitized else "exif"
            break
        if raw not in (None, b"", ""):
            info.notes.append(f"unusable {_TAGS(time_tag).name}: {_text(raw)!r}")
        if time_tag == _TAGS.DateTimeOriginal and _gps_time(gps, sub, exif, info):
            break
    if gps and _GPS.GPSLatitude in gps and _GPS.GPSLongitude in gps:
        lat, lon = _dms(gps[_GPS.GPSLatitude]), _dms(gps[_GPS.GPSLongitude])
        lat_ref, lon_ref = (_text(gps.get(t)) or "" for t in (_GPS.GPSLatitudeRef, _GPS.GPSLongitudeRef))
        lat, lon = (-lat if lat_ref.upper().startswith("S") else lat), (-lon if lon_ref.upper().startswith("W") else lon)
        if lat_ref.upper()[:1] not in ("N", "S") or lon_ref.upper()[:1] not in ("E", "W"):
            info.notes.append(f"GPS without LatitudeRef/LongitudeRef ({lat_ref!r}, {lon_ref!r}): hemisphere unknown, "
                              "no place claimed")
        elif not (math.isfinite(lat) and math.isfinite(lon)):
            info.notes.append("GPS with zero denominators or no values")
        elif not (-90 <= lat <= 90 and -180 <= lon <= 180):
            info.notes.append(f"GPS out of range: {lat:.4f}, {lon:.4f}")
        elif lat == 0 and lon == 0:
            info.notes.append("GPS is (0, 0): treated as absent")
        else:
            info.lat, info.lon = round(lat, 7), round(lon, 7)
    return info

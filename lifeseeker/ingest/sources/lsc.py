"""The Lifelog Search Challenge collection: images on disk, per-minute metadata, per-image visual concepts.

Formats (docs/lsc-format.md):

* images: ``YYYYMM/DD/YYYYMMDD_HHMMSS_000.jpg``; image_id = file name without extension; whether the time in the
  name is UTC or local wall-clock time is decided from the metadata (``lsc_clock.py``; ``LscSource.clock``).
* metadata CSV (LSC'22 ``lsc22_metadata.csv``, one row per minute): ``minute_id, utc_time, local_time, latitude,
  longitude, altitude, semantic_name, time_zone, ..., ImageID`` where ``ImageID`` is a list-valued string
  (``['20200301_101500_000.jpg', ...]``). LSC2020 names are accepted too (``timezone, lat, lon, elevation``, times
  like ``UTC_2016-09-21_06:42`` / ``2016-09-21_07:42``).
* visual concepts CSV (one row per image): ``ImageID, Tags`` (comma-separated), ``Caption``, ``OCR`` (also spelt
  ``ORC``).
* ``vaisl_gps.csv`` (joined on ``minute_id``): cleaned ``new_lat, new_lng, semantic_name, new_timezone``, which
  override the metadata's values when present.

Join: an image belongs to the minute whose ``ImageID`` list names it, else to the minute of its file name
(``YYYYMMDD_HHMM``). The reader never stops for one bad row: unknown columns, malformed rows and values (file and
line), images with no metadata and images listed but missing on disk are collected in ``LscSource.problems``.
"""

from __future__ import annotations

import ast
import csv
import logging
import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo

from ...terminal import printable
from .base import ImageRecord
from .lsc_clock import UTC, decide_clock, format_offset, local_from_utc, utc_offset_at

log = logging.getLogger(__name__)

# 20191226_123224_000 (LSC'22) or B00003681_21I6X0_20180510_072838E (LSC'18-'21)
LSC_NAME = re.compile(r"(?<!\d)(\d{8})_(\d{6})(?!\d)")
MINUTE_ID = re.compile(r"^\d{8}_\d{4}$")
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})
BLANK = frozenset({"", "nan", "none", "null", "na", "n/a", "[]"})

# canonical field -> accepted column names (lower-cased) in metadata / vaisl / concepts files
META_ALIASES = {
    "minute_id": ("minute_id",),
    "utc_time": ("utc_time",),
    "local_time": ("local_time",),
    "lat": ("latitude", "lat"),
    "lon": ("longitude", "lon", "lng"),
    "semantic_name": ("semantic_name",),
    "time_zone": ("time_zone", "timezone"),
    "image_ids": ("imageid", "image_id", "images"),
}
# columns known to exist and deliberately not used (not reported as unknown)
META_IGNORED = frozenset(c.lower() for c in (
    "altitude", "elevation", "heart_rate(bpm)", "heart_rate", "heart", "calories", "steps", "distance", "speed",
    "activity_type", "album name", "sleep_level", "awake", "minutesToFallAsleep", "minutesAsleep", "minutesAwake",
    "minutesAfterWakeup", "timeInBed", "sleep_efficiency", "activity", "movement", "categories", "city",
    "location", "semantic_type"))
VAISL_ALIASES = {
    "minute_id": ("minute_id",),
    "lat": ("new_lat",),
    "lon": ("new_lng", "new_lon"),
    "semantic_name": ("semantic_name",),
    "time_zone": ("new_timezone",),
}
VAISL_IGNORED = frozenset({"categories", "movement", "city", "latitude", "longitude", "lat", "lon", "lng",
                           "local_time", "utc_time", "imageid", "time_zone", "timezone"})
CONCEPT_ALIASES = {
    "image_id": ("imageid", "image_id", "image"),
    "tags": ("tags",),
    "caption": ("caption", "captions"),
    "ocr": ("ocr", "orc"),
}


@dataclass(slots=True)
class MinuteMeta:
    """One metadata minute after the optional vaisl_gps join. Times are naive; ``utc_offset`` like ``+01:00``."""

    minute_id: str
    where: str  # "file:line" for messages
    local_time: datetime | None = None
    utc_time: datetime | None = None
    lat: float | None = None
    lon: float | None = None
    semantic_name: str | None = None
    time_zone: str | None = None


@dataclass(slots=True)
class Concepts:
    """Provided visual concepts of one image."""

    tags: list[str] | None = None
    caption: str | None = None
    ocr_text: str | None = None


@dataclass
class LscProblems:
    """What the reader could not use. Each entry is ``(where, reason)``; ``where`` is ``file:line``, a file, or an
    image id."""

    unknown_columns: list[tuple[str, str]] = field(default_factory=list)
    malformed: list[tuple[str, str]] = field(default_factory=list)
    no_metadata: list[str] = field(default_factory=list)
    missing_on_disk: list[str] = field(default_factory=list)

    def lines(self, limit: int = 20) -> list[str]:
        """Human-readable report, at most ``limit`` lines per kind (then a count of the rest)."""
        out: list[str] = []

        def block(title: str, items: list[str]) -> None:
            if items:
                out.append(f"{title}: {len(items)}")
                out.extend(f"  {printable(x)}" for x in items[:limit])
                if len(items) > limit:
                    out.append(f"  ... and {len(items) - limit} more")

        block("unknown columns (ignored)", [f"{w}: {c}" for w, c in self.unknown_columns])
        block("malformed rows or values (skipped)", [f"{w}: {r}" for w, r in self.malformed])
        block("images with no metadata row (time from the file name)", self.no_metadata)
        block("images listed in the CSVs but missing on disk", self.missing_on_disk)
        return out


def image_id_of(name: str) -> str:
    """``'201901/01/20190101_103717_000.jpg'`` or ``'20190101_103717_000.jpg'`` -> ``'20190101_103717_000'``."""
    base = name.strip().strip("'\"").replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    return stem if dot and ext.lower() in ("jpg", "jpeg", "png") else base


def parse_image_list(value: str) -> list[str]:
    """``"['a.jpg', 'b.jpg']"`` (or ``a.jpg, b.jpg`` or ``a.jpg``) -> image ids ``['a', 'b']``; blank -> ``[]``.

    Raises:
        ValueError: a bracketed value that is not a list of strings.
    """
    text = value.strip()
    if text.lower() in BLANK:
        return []
    if text.startswith("["):
        try:
            items = ast.literal_eval(text)
        except (ValueError, SyntaxError) as exc:
            raise ValueError(f"ImageID is not a list: {text[:60]!r}") from exc
        if not isinstance(items, (list, tuple)) or not all(isinstance(x, str) for x in items):
            raise ValueError(f"ImageID is not a list of names: {text[:60]!r}")
    else:
        items = text.split(",")
    return [image_id_of(x) for x in items if x.strip()]


def parse_lsc_time(value: str) -> datetime | None:
    """``2019-01-01 00:00``, ``2019-01-01 00:00:00``, ``2019-01-01T00:00:00Z``, ``UTC_2016-09-21_06:42``,
    ``2016-09-21_07:42`` -> naive datetime; blank -> None. Raises ValueError for anything else."""
    text = value.strip()
    if text.lower() in BLANK:
        return None
    if text[:4].upper() == "UTC_":
        text = text[4:]
    text = text.replace("_", " ")
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is not None:
        when = when.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    return when


def _float(value: str, lo: float, hi: float) -> float | None:
    text = value.strip()
    if text.lower() in BLANK:
        return None
    x = float(text)
    if not math.isfinite(x) or not lo <= x <= hi:
        raise ValueError(f"{text!r} out of range [{lo}, {hi}]")
    return x


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip()
    return None if text.lower() in BLANK else text


class _Columns:
    """Maps a CSV header onto canonical fields; unknown names are reported once per file."""

    def __init__(self, path: Path, header: list[str], aliases: dict[str, tuple[str, ...]], ignored: frozenset[str],
                 problems: LscProblems):
        low = [h.strip().lstrip("\ufeff").lower() for h in header]
        self.index: dict[str, int] = {}
        for canon, names in aliases.items():
            for name in names:
                if name in low:
                    self.index[canon] = low.index(name)
                    break
        known = {n for names in aliases.values() for n in names} | ignored
        for h, lh in zip(header, low):
            if lh and lh not in known and not lh.startswith("unnamed"):
                problems.unknown_columns.append((path.name, h.strip()))
        self.width = len(header)

    def get(self, row: list[str], canon: str) -> str | None:
        i = self.index.get(canon)
        return row[i] if i is not None and i < len(row) else None


def _rows(path: Path, aliases: dict[str, tuple[str, ...]], ignored: frozenset[str], problems: LscProblems,
          required: str) -> Iterator[tuple[str, _Columns, list[str]]]:
    """``(where, columns, row)`` for each well-formed row; rows with the wrong field count are reported.

    Raises:
        ValueError: the file has no header or lacks the ``required`` column (the message names file and column).
    """
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if not header:
            raise ValueError(f"{path}: empty file, expected a CSV header")
        cols = _Columns(path, header, aliases, ignored, problems)
        if required not in cols.index:
            raise ValueError(f"{path}: no {' / '.join(aliases[required])} column in the header {header}")
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                problems.malformed.append((f"{path.name}:{reader.line_num}", f"unreadable CSV: {exc}"))
                continue
            where = f"{path.name}:{reader.line_num}"
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != cols.width:
                problems.malformed.append((where, f"{len(row)} fields, the header has {cols.width}"))
                continue
            yield where, cols, row


def read_metadata(path: str | Path, problems: LscProblems) -> tuple[dict[str, MinuteMeta], dict[str, str]]:
    """Read the per-minute metadata CSV.

    Returns:
        ``(minutes, image_minute)``: minute_id -> MinuteMeta, and image_id -> minute_id from the ImageID lists.
    Raises:
        ValueError: no header or no ``minute_id`` column. Bad rows and values are reported in ``problems``.
    """
    path = Path(path)
    minutes: dict[str, MinuteMeta] = {}
    image_minute: dict[str, str] = {}
    for where, cols, row in _rows(path, META_ALIASES, META_IGNORED, problems, "minute_id"):
        minute_id = (cols.get(row, "minute_id") or "").strip()
        if not MINUTE_ID.match(minute_id):
            problems.malformed.append((where, f"minute_id {minute_id!r} is not YYYYMMDD_HHMM"))
            continue
        meta = MinuteMeta(minute_id, where)
        _fill(meta, cols, row, where, problems)
        raw_ids = cols.get(row, "image_ids")
        if raw_ids is not None:
            try:
                for image_id in parse_image_list(raw_ids):
                    image_minute[image_id] = minute_id
            except ValueError as exc:
                problems.malformed.append((where, str(exc)))
        minutes[minute_id] = meta
    return minutes, image_minute


def _fill(meta: MinuteMeta, cols: _Columns, row: list[str], where: str, problems: LscProblems) -> None:
    """Set the values a row carries (blank values keep what ``meta`` has); bad values are reported and skipped."""
    for canon, parse in (("local_time", parse_lsc_time), ("utc_time", parse_lsc_time)):
        raw = cols.get(row, canon)
        if raw is not None:
            try:
                value = parse(raw)
                if value is not None:
                    setattr(meta, canon, value)
            except ValueError:
                problems.malformed.append((where, f"{canon} {raw.strip()!r} is not a time"))
    lat_raw, lon_raw = cols.get(row, "lat"), cols.get(row, "lon")
    if lat_raw is not None and lon_raw is not None:
        try:
            lat, lon = _float(lat_raw, -90, 90), _float(lon_raw, -180, 180)
            if lat is not None and lon is not None and not (lat == 0 and lon == 0):
                meta.lat, meta.lon = lat, lon
        except ValueError as exc:
            problems.malformed.append((where, f"GPS {lat_raw.strip()!r}, {lon_raw.strip()!r}: {exc}"))
    name = _text(cols.get(row, "semantic_name"))
    if name:
        meta.semantic_name = name
    zone = _text(cols.get(row, "time_zone"))
    if zone:
        meta.time_zone = zone


def join_vaisl(path: str | Path, minutes: dict[str, MinuteMeta], problems: LscProblems) -> int:
    """Overlay ``vaisl_gps.csv`` (new_lat, new_lng, semantic_name, new_timezone) onto ``minutes`` by minute_id;
    minutes absent from the metadata are added. Returns the number of rows joined. Raises ValueError as
    ``read_metadata``."""
    path = Path(path)
    joined = 0
    for where, cols, row in _rows(path, VAISL_ALIASES, VAISL_IGNORED, problems, "minute_id"):
        minute_id = (cols.get(row, "minute_id") or "").strip()
        if not MINUTE_ID.match(minute_id):
            problems.malformed.append((where, f"minute_id {minute_id!r} is not YYYYMMDD_HHMM"))
            continue
        meta = minutes.get(minute_id)
        if meta is None:
            meta = minutes[minute_id] = MinuteMeta(minute_id, where)
        _fill(meta, cols, row, where, problems)
        joined += 1
    return joined


def read_concepts(path: str | Path, problems: LscProblems) -> dict[str, Concepts]:
    """Read the visual concepts CSV: image_id -> Concepts (Tags split on commas, Caption, OCR/ORC).
    Raises ValueError as ``read_metadata`` (required column: ImageID)."""
    path = Path(path)
    out: dict[str, Concepts] = {}
    for where, cols, row in _rows(path, CONCEPT_ALIASES, frozenset(), problems, "image_id"):
        raw_id = (cols.get(row, "image_id") or "").strip()
        if not raw_id:
            problems.malformed.append((where, "empty ImageID"))
            continue
        tags_raw = _text(cols.get(row, "tags"))
        tags = None
        if tags_raw is not None:
            if tags_raw.startswith("["):
                try:
                    tags = [str(t).strip() for t in ast.literal_eval(tags_raw)]
                except (ValueError, SyntaxError):
                    problems.malformed.append((where, f"Tags {tags_raw[:60]!r} is not a list"))
            else:
                tags = [t.strip() for t in tags_raw.split(",")]
            tags = [t for t in dict.fromkeys(tags or []) if t] or None
        out[image_id_of(raw_id)] = Concepts(tags=tags, caption=_text(cols.get(row, "caption")),
                                            ocr_text=_text(cols.get(row, "ocr")))
    return out


def time_from_name(image_id: str) -> datetime | None:
    """Local time in an LSC file name (``20191226_123224_000`` or ``B00003681_21I6X0_20180510_072838E``), None if
    the name holds no ``YYYYMMDD_HHMMSS``."""
    m = LSC_NAME.search(image_id)
    if not m:
        return None
    try:
        return datetime.strptime(m.group(1) + m.group(2), "%Y%m%d%H%M%S")
    except ValueError:
        return None


def scan_images(root: Path) -> Iterator[Path]:
    """Image files below ``root`` in sorted path order; hidden entries skipped, symlinked dirs not followed, a
    symlinked file whose target is outside ``root`` skipped (logged)."""
    base = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fn in sorted(filenames):
            if not fn.startswith(".") and Path(fn).suffix.lower() in IMAGE_SUFFIXES:
                path = Path(dirpath) / fn
                if path.is_symlink() and not path.resolve().is_relative_to(base):
                    log.warning("%s: symbolic link to a file outside %s, not followed", printable(path), base)
                    continue
                yield path


class LscSource:
    """An LSC collection on disk with its CSVs. Reading happens in the constructor; ``records()`` yields one
    ImageRecord per image file, in path order.

    Args:
        images: the image root (``YYYYMM/DD/*.jpg`` below it).
        metadata: per-minute metadata CSV, or None.
        concepts: visual concepts CSV, or None.
        gps: vaisl_gps.csv, or None.
        collection: collection name (default ``lsc``).
    Raises:
        NotADirectoryError: ``images`` is not a directory.
        ValueError: a CSV has no header or lacks its key column (minute_id / ImageID); message names the file.
        OSError: a CSV cannot be opened.
    """

    def __init__(self, images: str | Path, metadata: str | Path | None = None, concepts: str | Path | None = None,
                 gps: str | Path | None = None, collection: str = "lsc"):
        self.root = Path(images).expanduser().resolve()
        if not self.root.is_dir():
            raise NotADirectoryError(f"{images}: not a directory")
        self.collection = collection
        self.problems = LscProblems()
        self.minutes: dict[str, MinuteMeta] = {}
        self.image_minute: dict[str, str] = {}
        if metadata is not None:
            self.minutes, self.image_minute = read_metadata(metadata, self.problems)
        if gps is not None:
            join_vaisl(gps, self.minutes, self.problems)
        self.concepts = read_concepts(concepts, self.problems) if concepts is not None else {}
        self.files = list(scan_images(self.root))
        on_disk = {p.stem for p in self.files}
        listed = list(dict.fromkeys([*self.image_minute, *self.concepts]))
        self.problems.missing_on_disk = [i for i in listed if i not in on_disk]
        self.clock = decide_clock((time_from_name(p.stem), self.minute_of(p.stem)) for p in self.files)

    def __len__(self) -> int:
        return len(self.files)

    def minute_of(self, image_id: str) -> MinuteMeta | None:
        """The metadata minute of an image: by the ImageID lists, else by the minute in its file name."""
        minute_id = self.image_minute.get(image_id)
        if minute_id is None:
            t = time_from_name(image_id)
            minute_id = f"{t:%Y%m%d_%H%M}" if t else None
        return self.minutes.get(minute_id) if minute_id else None

    def record(self, path: Path) -> ImageRecord:
        """The ImageRecord of one image file (metadata joined; problems noted on the record)."""
        image_id = path.stem
        rel = path.relative_to(self.root).as_posix()
        rec = ImageRecord(image_id=image_id, collection=self.collection, path=rel, abs_path=path, read_exif=False)
        meta = self.minute_of(image_id)
        if meta is None and (self.minutes or self.image_minute):
            self.problems.no_metadata.append(image_id)
        named = time_from_name(image_id)
        if self.clock.kind == UTC:
            self._times_from_utc_name(rec, named, meta)
        else:
            rec.local_time = named or (meta.local_time if meta else None)
            rec.time_source = "lsc-name" if named else "lsc-metadata" if rec.local_time else None
            if meta is not None:
                rec.utc_offset = self._offset(rec.local_time, meta, rec)
        if meta is not None:
            rec.lat, rec.lon, rec.semantic_name = meta.lat, meta.lon, meta.semantic_name
        c = self.concepts.get(image_id)
        if c is not None:
            rec.tags, rec.caption, rec.ocr_text = c.tags, c.caption, c.ocr_text
        if rec.local_time is None and rec.utc_time is None:
            rec.notes.append("no capture time: file name is not YYYYMMDD_HHMMSS and no metadata time")
        return rec

    @staticmethod
    def _times_from_utc_name(rec: ImageRecord, named: datetime | None, meta: MinuteMeta | None) -> None:
        """Names are UTC (``lsc_clock``): local time from the minute's zone, else its ``local_time``; without a
        metadata row only the UTC time is known."""
        utc = named or (meta.utc_time if meta else None)
        rec.utc_time = utc.replace(tzinfo=timezone.utc) if utc else None
        if meta is None:
            rec.time_source = "lsc-name" if utc else None
            if utc:
                rec.notes.append("no metadata row: UTC time from the file name, no local time")
            return
        local = local_from_utc(utc, meta) if utc else None
        if local is not None:
            rec.local_time, offset = local
            rec.utc_offset = format_offset(offset)
        else:
            rec.local_time = meta.local_time
        rec.time_source = "lsc-metadata" if rec.local_time or rec.utc_time else None

    def _offset(self, local: datetime | None, meta: MinuteMeta, rec: ImageRecord) -> str | None:
        if local is None:
            return None
        if meta.time_zone:
            try:
                return utc_offset_at(local, meta.time_zone)
            except ValueError as exc:
                rec.notes.append(f"{meta.where}: {exc}")
        if meta.local_time is not None and meta.utc_time is not None:
            delta = meta.local_time - meta.utc_time
            if abs(delta) <= timedelta(hours=14):
                return format_offset(timedelta(minutes=15 * round(delta.total_seconds() / 900)))
        return None

    def records(self) -> Iterator[ImageRecord]:
        """One ImageRecord per image file under the root, in sorted path order (deterministic resume/sharding)."""
        for path in self.files:
            yield self.record(path)


__all__ = ["LscSource", "LscProblems", "MinuteMeta", "Concepts", "read_metadata", "read_concepts", "join_vaisl",
           "parse_image_list", "parse_lsc_time", "utc_offset_at", "image_id_of", "time_from_name"]

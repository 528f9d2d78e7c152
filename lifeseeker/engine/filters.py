"""Filter clauses: one small frozen dataclass per clause, validated on construction against the schema.

Each backend compiles each clause (``engine/store/lance.py``: a boolean mask over its columns; Elasticsearch:
Query DSL). A clause holds values only; no backend ever splices a value into query text, so a value such as
``x' OR 1=1 --`` is just a string that matches nothing.

All clauses are hard (a document either passes or not). Soft, decaying boosts are a separate concept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Mapping, Union

from ..errors import FilterError
from .schema import load_schema
from .text import tokens
from .timeparts import PARTS_OF_DAY, WEEKDAY_NAMES, WEEKDAYS


def _hour(raw: str | None, name: str, default: int, top: int) -> int:
    """A whole local hour from parameter ``name`` (``default`` when absent). Raises FilterError naming the parameter,
    its range and what was typed (never the other parameter's absent value)."""
    if raw is None:
        return default
    try:
        v = int(raw)
    except ValueError:
        raise FilterError(f"{name}: expected a whole hour 0-{top}, got {raw!r}") from None
    if not 0 <= v <= top:
        raise FilterError(f"{name}: expected a whole hour 0-{top}, got {v}")
    return v


def _require(cond: bool, msg: str) -> None:
    if not cond:
        raise FilterError(msg)


@dataclass(frozen=True)
class DateRange:
    """Local calendar dates, both ends inclusive; either end may be open (None). Matches the ``date`` field."""

    start: date | None = None
    end: date | None = None

    def __post_init__(self) -> None:
        _require(self.start is not None or self.end is not None, "date range: give a start, an end, or both")
        if self.start and self.end:
            _require(self.start <= self.end, f"date range: start {self.start} is after end {self.end}")


@dataclass(frozen=True)
class HourRange:
    """Local hours ``[start, end)`` on the ``hour`` field, 0-24; ``start > end`` wraps midnight (21-5 = night)."""

    start: int
    end: int

    def __post_init__(self) -> None:
        _require(0 <= self.start <= 23, f"hour range: start must be 0-23, got {self.start}")
        _require(0 <= self.end <= 24, f"hour range: end must be 0-24, got {self.end}")
        _require(self.start != self.end, "hour range: start and end are equal (empty range)")

    def hours(self) -> list[int]:
        """The whole hours (0-23) inside the range, in order."""
        if self.start < self.end:
            return list(range(self.start, self.end))
        return list(range(self.start, 24)) + list(range(0, self.end))


@dataclass(frozen=True)
class Weekdays:
    """Weekday set on the ``weekday`` field (``Mon``..``Sun``)."""

    days: frozenset[str]

    def __post_init__(self) -> None:
        _require(bool(self.days), "weekday: empty set")
        bad = sorted(d for d in self.days if d not in WEEKDAYS)
        _require(not bad, f"weekday: unknown {bad}; use {', '.join(WEEKDAYS)}")


@dataclass(frozen=True)
class PartOfDay:
    """Stored part-of-day buckets (``morning``, ``afternoon``, ``evening``, ``night``; lsc-format.md)."""

    parts: frozenset[str]

    def __post_init__(self) -> None:
        _require(bool(self.parts), "part of day: empty set")
        bad = sorted(p for p in self.parts if p not in PARTS_OF_DAY)
        _require(not bad, f"part of day: unknown {bad}; use {', '.join(PARTS_OF_DAY)}")


@dataclass(frozen=True)
class Terms:
    """Any of ``values`` on a keyword field (``schema.term_fields``); matching folds case and accents
    (the mapping's ``folding`` normalizer). On an array field (tags, places) any element may match."""

    field: str
    values: tuple[str, ...]

    def __post_init__(self) -> None:
        schema = load_schema()
        _require(self.field in schema.term_fields,
                 f"terms: field {self.field!r} is not filterable; use one of {sorted(schema.term_fields)}")
        _require(bool(self.values) and all(isinstance(v, str) and v.strip() for v in self.values),
                 f"terms: {self.field}: give at least one non-empty value")


@dataclass(frozen=True)
class GeoDistance:
    """Documents whose ``location`` lies within ``radius_km`` (great-circle, km) of (lat, lon) in degrees."""

    lat: float
    lon: float
    radius_km: float

    def __post_init__(self) -> None:
        _require(math.isfinite(self.lat) and -90 <= self.lat <= 90, f"near: latitude {self.lat} not in [-90, 90]")
        _require(math.isfinite(self.lon) and -180 <= self.lon <= 180,
                 f"near: longitude {self.lon} not in [-180, 180]")
        _require(math.isfinite(self.radius_km) and 0 < self.radius_km <= 20038,
                 f"near: radius {self.radius_km} km not in (0, 20038]")


@dataclass(frozen=True)
class GeoBox:
    """Documents whose ``location`` lies in the box (degrees); ``left > right`` crosses the antimeridian."""

    top: float
    left: float
    bottom: float
    right: float

    def __post_init__(self) -> None:
        for name, v, lim in (("top", self.top, 90), ("bottom", self.bottom, 90),
                             ("left", self.left, 180), ("right", self.right, 180)):
            _require(math.isfinite(v) and -lim <= v <= lim, f"box: {name} {v} out of range")
        _require(self.bottom <= self.top, f"box: bottom {self.bottom} is above top {self.top}")


@dataclass(frozen=True)
class TextMatch:
    """Full-text match: every word of ``text`` occurs (as a whole word, case-insensitive) in one of ``fields``."""

    text: str
    fields: tuple[str, ...] = ("ocr_text", "caption", "capmeta", "file_name")

    def __post_init__(self) -> None:
        schema = load_schema()
        _require(bool(tokens(self.text)), "text: give at least one word")
        bad = [f for f in self.fields if f not in schema.text_fields]
        _require(not bad and bool(self.fields), f"text: fields {bad} are not full-text fields")


Filter = Union[DateRange, HourRange, Weekdays, PartOfDay, Terms, GeoDistance, GeoBox, TextMatch]

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG), the one Elasticsearch uses for arc distance


def _floats(raw: str, n: int, name: str) -> list[float]:
    parts = [p.strip() for p in raw.split(",")]
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        raise FilterError(f"{name}: expected {n} comma-separated numbers, got {raw!r}") from None
    _require(len(vals) == n, f"{name}: expected {n} comma-separated numbers, got {raw!r}")
    return vals


def _date(raw: str, name: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise FilterError(f"{name}: expected a date YYYY-MM-DD, got {raw!r}") from None


def _weekday(raw: str) -> str:
    """``"sat"``, ``"Saturday"``, ``"SAT"`` -> ``"Sat"``. Raises FilterError naming what was typed."""
    word = raw.strip().lower()
    for short, full in zip(WEEKDAYS, WEEKDAY_NAMES):
        if word in (short.lower(), full.lower()):
            return short
    raise FilterError(f"weekday: unknown {raw.strip()!r}; use {', '.join(WEEKDAYS)} or full day names")


def _list(raw: str | list[str] | tuple[str, ...]) -> list[str]:
    items = list(raw) if isinstance(raw, (list, tuple)) else [raw]
    return [v.strip() for item in items for v in item.split(",") if v.strip()]


# Parameter names shared by the CLI options and the JSON API (one vocabulary, one parser).
TERM_PARAMS = {"country": "country", "city": "city", "region": "region", "place": "places",
               "semantic": "semantic_name", "tag": "tags", "collection": "collection"}


def filters_from_params(params: Mapping[str, str | list[str]]) -> list[Filter]:
    """Build filter clauses from flat parameters (the JSON API's query string, the CLI's options).

    Keys: ``date_from``/``date_to`` (YYYY-MM-DD), ``hour_from``/``hour_to`` (0-24), ``weekday`` (Mon,..),
    ``part`` (morning,..), ``country``/``city``/``region``/``place``/``semantic``/``tag``/``collection`` (comma
    lists), ``near`` (``lat,lon``) with ``radius_km`` (default 1 km), ``box`` (``top,left,bottom,right``),
    ``text`` (full-text on OCR/caption/CapMeta), ``ocr`` (full-text on OCR only). Empty values are ignored.

    Raises:
        FilterError: a value is malformed or out of range; the message names the parameter.
    """
    def get(key: str) -> str | None:
        v = params.get(key)
        if isinstance(v, (list, tuple)):
            v = v[-1] if v else None
        return v.strip() if isinstance(v, str) and v.strip() else None

    out: list[Filter] = []
    d0, d1 = get("date_from"), get("date_to")
    if d0 or d1:
        out.append(DateRange(_date(d0, "date_from") if d0 else None, _date(d1, "date_to") if d1 else None))
    h0, h1 = get("hour_from"), get("hour_to")
    if h0 or h1:
        out.append(HourRange(_hour(h0, "hour_from", 0, 23), _hour(h1, "hour_to", 24, 24)))
    if get("weekday"):
        out.append(Weekdays(frozenset(_weekday(d) for d in _list(params["weekday"]))))
    if get("part"):
        out.append(PartOfDay(frozenset(p.lower() for p in _list(params["part"]))))
    for key, fld in TERM_PARAMS.items():
        if get(key):
            out.append(Terms(fld, tuple(_list(params[key]))))
    if get("near"):
        parts = get("near").split(",")
        radius = get("radius_km")
        if len(parts) == 3:  # "lat,lon,2km", the key:value form
            radius = radius or parts[2].strip().lower().removesuffix("km").strip()
            parts = parts[:2]
        lat, lon = _floats(",".join(parts), 2, "near")
        try:
            km = float(radius) if radius else 1.0
        except ValueError:
            raise FilterError(f"radius_km: expected a number of km, got {radius!r}") from None
        out.append(GeoDistance(lat, lon, km))
    elif get("radius_km"):
        raise FilterError("radius_km: give near=lat,lon too")
    if get("box"):
        out.append(GeoBox(*_floats(get("box"), 4, "box")))
    if get("text"):
        out.append(TextMatch(get("text")))
    if get("ocr"):
        out.append(TextMatch(get("ocr"), ("ocr_text",)))
    return out


@dataclass(frozen=True)
class Weights:
    """Fusion weights: ``score = iat * cos(IaT) + tat * cos(TaT)`` (seed §3.2; default 0.7 / 0.3)."""

    iat: float = 0.7
    tat: float = 0.3

    def __post_init__(self) -> None:
        for name, w in (("IaT", self.iat), ("TaT", self.tat)):
            _require(math.isfinite(w) and 0 <= w <= 10, f"weights: {name} weight {w} not in [0, 10]")
        _require(self.iat + self.tat > 0, "weights: at least one weight must be positive")

    @classmethod
    def parse(cls, raw: str) -> "Weights":
        """``"0.7,0.3"`` -> Weights(0.7, 0.3). Raises FilterError on anything else."""
        a, b = _floats(raw, 2, "weights")
        return cls(a, b)


__all__ = ["DateRange", "HourRange", "Weekdays", "PartOfDay", "Terms", "GeoDistance", "GeoBox", "TextMatch",
           "Filter", "Weights", "filters_from_params", "tokens", "EARTH_RADIUS_KM", "TERM_PARAMS"]

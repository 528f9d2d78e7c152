"""key:value terms in the search box -> HARD filter clauses (engine/filters.py).

Syntax (keys case-insensitive, values may be quoted with "..." or '...'; an unquoted value keeps the apostrophes
inside it, ``city:L'Aquila``; lists are comma-separated)::

    city:Dublin  country:"Ireland"  region:Leinster  place:Glasnevin  semantic:home  tag:laptop  collection:lsc
    date:2019  date:2019-05  date:2019-05-01  date:2019-05..2019-06  date:2019-05..  year:2019
    after:2019-05-01   (on or after the first day of the period)
    before:2020-01     (strictly before the first day of the period: up to 2019-12-31)
    weekday:sat,sun  weekday:weekend  hour:8-10  hour:22-2  hour:8  part:morning,evening
    ocr:"heinz"  text:"exit"  near:53.35,-6.26,5km  near:53.35,-6.26 (1 km)
    box:top,left,bottom,right

A term with a known key and a bad value raises ``FilterError`` naming the key; so does a known key with an empty
value (``city:`` at the end of the text or before a space) and a value whose opening quote is never closed
(``country:"Italy``). A term whose key is unknown raises ``FilterError`` too when it is clearly meant as a filter
(quoted value, or a key one typo away from a known key: ``citty:Dublin``); otherwise it stays ordinary text, with a
notice saying so (``foo:bar is not a filter; searched as text``). Never terms, and never noticed: clock times
("10:30"), ratios ("3:2"), URLs ("http://x", "mailto:a@b"), and a colon followed by a space ("note: buy milk").
"""

from __future__ import annotations

import difflib
import re
from dataclasses import fields as dc_fields
from datetime import date, timedelta
from typing import Any

from ...errors import FilterError
from ..filters import (TERM_PARAMS, DateRange, Filter, GeoBox, GeoDistance, HourRange, PartOfDay, Terms, TextMatch,
                       Weekdays)
from ..timeparts import PARTS_OF_DAY, WEEKDAYS

# an unquoted value may hold apostrophes after its first character (city:L'Aquila, place:Val-d'Isère)
TERM_RE = re.compile(r"(?<![\w:/.@-])([A-Za-z_]+):"
                     r"(?:\"([^\"]*)\"|\u201c([^\u201d]*)\u201d|'([^']*)'|([^\s\"'\u201c][^\s\"\u201c]*))")
DEFAULT_RADIUS_KM = 1.0  # near:lat,lon without a radius (filters_from_params' near= also defaults to 1 km)
_CLOSE = 0.75  # difflib ratio above which an unknown key is taken for a typo of a known one
# ``key:`` then an opening quote, or nothing (end of text / a space): checked where TERM_RE found no term.
OPEN_QUOTE_RE = re.compile(r"(?<![\w:/.@-])([A-Za-z_]+):([\"'\u201c])")
EMPTY_RE = re.compile(r"(?<![\w:/.@-])([A-Za-z_]+):(?=\s|$)(\s*)(\S*)")
URI_SCHEMES = frozenset({"mailto", "tel", "urn", "data", "file", "ftp", "http", "https", "news", "magnet", "sms",
                         "geo", "about", "javascript", "doi", "isbn"})


def _period(raw: str, key: str) -> tuple[date, date]:
    """``YYYY`` / ``YYYY-MM`` / ``YYYY-MM-DD`` -> (first day, last day)."""
    m = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", raw.strip())
    if not m:
        raise FilterError(f"{key}: expected YYYY, YYYY-MM or YYYY-MM-DD, got {raw!r}")
    y, mo, d = int(m.group(1)), m.group(2), m.group(3)
    try:
        if mo is None:
            return date(y, 1, 1), date(y, 12, 31)
        if d is None:
            first = date(y, int(mo), 1)
            nxt = date(y + (first.month == 12), first.month % 12 + 1, 1)
            return first, nxt - timedelta(days=1)
        day = date(y, int(mo), int(d))
        return day, day
    except ValueError:
        raise FilterError(f"{key}: {raw!r} is not a real date") from None


def _date_range(raw: str, key: str) -> DateRange:
    if ".." in raw:
        a, _, b = raw.partition("..")
        start = _period(a, key)[0] if a.strip() else None
        end = _period(b, key)[1] if b.strip() else None
        if start is None and end is None:
            raise FilterError(f"{key}: give at least one end of the range, got {raw!r}")
        return DateRange(start, end)
    start, end = _period(raw, key)
    return DateRange(start, end)


def _hour(raw: str, key: str) -> int:
    m = re.fullmatch(r"(\d{1,2})(?::00)?\s*(am|pm)?", raw.strip().lower())
    if not m:
        raise FilterError(f"{key}: expected whole hours 0-24 like 8-10 or 8am-10am, got {raw!r}")
    h = int(m.group(1))
    if m.group(2):
        if not 1 <= h <= 12:
            raise FilterError(f"{key}: {raw!r} is not a clock hour")
        h = h % 12 + (12 if m.group(2) == "pm" else 0)
    if not 0 <= h <= 24:
        raise FilterError(f"{key}: hour {h} not in 0-24")
    return h


def _values(raw: str) -> list[str]:
    return [v.strip() for v in raw.split(",") if v.strip()]


def build_filter(key: str, value: str, lang=None) -> Filter:
    """One hard filter clause from a key and its (unquoted) value.

    Raises:
        FilterError: unknown key or bad value; the message starts with the key.
    """
    if lang is None:
        from . import lang_en as lang
    canon = lang.KEY_ALIASES.get(key.lower())
    if canon is None:
        raise FilterError(f"{key}: unknown filter key; use one of {', '.join(sorted(set(lang.KEY_ALIASES)))}")
    value = value.strip()
    if not value:
        raise FilterError(f"{key}: empty value")
    try:
        if canon in TERM_PARAMS:
            return Terms(TERM_PARAMS[canon], tuple(_values(value)))
        if canon in ("date", "year"):
            return _date_range(value, key)
        if canon == "after":
            return DateRange(_period(value, key)[0], None)
        if canon == "before":
            return DateRange(None, _period(value, key)[0] - timedelta(days=1))
        if canon == "weekday":
            days: set[str] = set()
            for v in _values(value):
                w = v.lower()
                if w in ("weekend", "weekends"):
                    days |= {"Sat", "Sun"}
                elif w in ("weekday", "weekdays", "workday", "workdays"):
                    days |= set(WEEKDAYS[:5])
                elif w in lang.WEEKDAYS:
                    days.add(lang.WEEKDAYS[w])
                elif w in lang.WEEKDAY_ABBREVIATIONS:
                    days.add(lang.WEEKDAY_ABBREVIATIONS[w])
                else:
                    raise FilterError(f"{key}: unknown weekday {v!r}; use mon,tue,wed,thu,fri,sat,sun or weekend")
            return Weekdays(frozenset(days))
        if canon == "hour":
            a, sep, b = value.partition("-")
            start = _hour(a, key)
            end = _hour(b, key) if sep else start + 1
            if start == 24:
                raise FilterError(f"{key}: a range cannot start at 24")
            return HourRange(start, end)
        if canon == "part":
            parts = [v.lower() for v in _values(value)]
            bad = [v for v in parts if v not in PARTS_OF_DAY]
            if bad:
                raise FilterError(f"{key}: unknown part of day {bad}; use {', '.join(PARTS_OF_DAY)}")
            return PartOfDay(frozenset(parts))
        if canon == "ocr":
            return TextMatch(value, ("ocr_text",))
        if canon == "text":
            return TextMatch(value)
        if canon == "near":
            parts = _values(value)
            if len(parts) not in (2, 3):
                raise FilterError(f"{key}: expected lat,lon or lat,lon,radius (5km, 300m), got {value!r}")
            try:
                lat, lon = float(parts[0]), float(parts[1])
            except ValueError:
                raise FilterError(f"{key}: latitude and longitude must be numbers, got {value!r}") from None
            km = DEFAULT_RADIUS_KM
            if len(parts) == 3:
                m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(km|m)?", parts[2].lower())
                if not m:
                    raise FilterError(f"{key}: radius must look like 5km or 300m, got {parts[2]!r}")
                km = float(m.group(1)) / (1000.0 if m.group(2) == "m" else 1.0)
            return GeoDistance(lat, lon, km)
        if canon == "box":
            parts = _values(value)
            try:
                nums = [float(v) for v in parts]
            except ValueError:
                nums = []
            if len(nums) != 4:
                raise FilterError(f"{key}: expected top,left,bottom,right in degrees, got {value!r}")
            return GeoBox(*nums)
    except FilterError as exc:
        msg = str(exc)
        raise FilterError(msg if msg.startswith(f"{key}:") else f"{key}: {msg}") from None
    raise FilterError(f"{key}: unknown filter key")  # pragma: no cover - every alias is handled above


def _known_keys(lang) -> str:
    return ", ".join(sorted(set(lang.KEY_ALIASES.values())))


def _unknown_key_error(key: str, lang) -> FilterError:
    close = difflib.get_close_matches(key.lower(), list(lang.KEY_ALIASES), n=1, cutoff=_CLOSE)
    hint = f" (did you mean {close[0]}:?)" if close else ""
    return FilterError(f"{key}: unknown filter key{hint}; use one of {_known_keys(lang)}")


def _check_unfinished(text: str, taken: list[tuple[int, int]], lang, notices: list[str] | None = None) -> None:
    """Raise for ``key:"...`` without its closing quote and for a known ``key:`` with nothing after it; a known
    ``key:`` followed by a space and more words is read as prose ("a sunny day: walking") and only noticed."""
    def inside(pos: int) -> bool:
        return any(a <= pos < b for a, b in taken)

    for m in OPEN_QUOTE_RE.finditer(text):
        if inside(m.start()):
            continue
        key = m.group(1)
        closing = "\u201d" if m.group(2) == "\u201c" else m.group(2)
        typed = text[m.start():].split("\n", 1)[0]
        typed = typed if len(typed) <= 40 else typed[:37] + "..."
        if key.lower() not in lang.KEY_ALIASES:
            raise _unknown_key_error(key, lang)  # a quoted value: clearly meant as a filter
        raise FilterError(f"{key}: the closing quote {closing} is missing in {typed!r}; "
                          f"write {key}:{m.group(2)}...{closing}")
    for m in EMPTY_RE.finditer(text):
        key = m.group(1)
        if inside(m.start()) or key.lower() not in lang.KEY_ALIASES:
            continue
        nxt = m.group(3)
        if nxt:  # words follow: prose, or a filter typed with a space; searched as text, with a notice
            if notices is not None:
                hint = f"write {key}:{nxt} to filter" if ":" not in nxt else f"write {key}:VALUE to filter"
                notices.append(f"{key}: is followed by a space, so it is not a filter; searched as text ({hint})")
            continue
        raise FilterError(f"{key}: empty value in {m.group(0).strip()!r}; give a value right after the colon, "
                          f"e.g. {key}:VALUE")


def extract_filters(text: str, lang=None, notices: list[str] | None = None
                    ) -> tuple[list[Filter], list[tuple[int, int]]]:
    """Find key:value terms in ``text``.

    Args:
        text: the query as typed.
        lang: language table module (default English).
        notices: when given, receives one line per ``word:value`` that looks like a term but whose key is not a
            filter key (it stays text): ``"foo:bar is not a filter; searched as text. Known keys: ..."``.

    Returns:
        (hard filter clauses, the (start, end) character spans of the terms, to cut from the text).

    Raises:
        FilterError: a known key with a bad value or nothing after it, a quoted value without its closing quote, or
            an unknown key clearly meant as a filter; the message starts with the key as typed.
    """
    if lang is None:
        from . import lang_en as lang
    clauses: list[Filter] = []
    spans: list[tuple[int, int]] = []
    found = list(TERM_RE.finditer(text))
    _check_unfinished(text, [m.span() for m in found], lang, notices)
    for m in found:
        key = m.group(1)
        value = next((g for g in m.groups()[1:] if g is not None), "")
        quoted = m.group(5) is None
        if not quoted:  # "When was I in city:Arezzo?": sentence punctuation ends the value (quote to keep it)
            value = value.rstrip("?!.;")
        if key.lower() not in lang.KEY_ALIASES:
            if value.startswith("//") or key.lower() in URI_SCHEMES:
                continue  # a URL
            close = difflib.get_close_matches(key.lower(), list(lang.KEY_ALIASES), n=1, cutoff=_CLOSE)
            if quoted or close:
                raise _unknown_key_error(key, lang)
            if notices is not None:
                notices.append(f"{m.group(0)} is not a filter; searched as text. Known keys: {_known_keys(lang)}")
            continue
        clauses.append(build_filter(key, value, lang))
        spans.append(m.span())
    return merge_terms(clauses), spans


def merge_terms(clauses: list[Filter]) -> list[Filter]:
    """Repeated terms on one keyword field mean any of them (``city:Arezzo city:Florence`` = ``city:Arezzo,Florence``),
    as repeated parameters do in the API and the CLI; other clauses are kept as they are (each must hold)."""
    from ..filters import Terms

    out: list[Filter] = []
    by_field: dict[str, int] = {}
    for c in clauses:
        if isinstance(c, Terms) and c.field in by_field:
            i = by_field[c.field]
            out[i] = Terms(c.field, tuple(dict.fromkeys(out[i].values + c.values)))
            continue
        if isinstance(c, Terms):
            by_field[c.field] = len(out)
        out.append(c)
    return out


def describe_filter(f: Filter) -> dict[str, Any]:
    """JSON-able description of a hard clause: ``{"type": "DateRange", "start": "2019-05-01", ...}``."""
    out: dict[str, Any] = {"type": type(f).__name__}
    for fld in dc_fields(f):
        v = getattr(f, fld.name)
        if isinstance(v, date):
            v = v.isoformat()
        elif isinstance(v, (frozenset, set)):
            v = sorted(v)
        elif isinstance(v, tuple):
            v = list(v)
        out[fld.name] = v
    return out


__all__ = ["extract_filters", "build_filter", "describe_filter", "DEFAULT_RADIUS_KM"]

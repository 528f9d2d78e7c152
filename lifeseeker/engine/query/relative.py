"""Dates relative to a reference day and one-sided ranges (issue 18), used by dates.py:

* the reference date a text states ("Assuming that today is 1 July 2020") replaces ``Scan.today``;
* "last October" (the latest October before the reference month), "last summer" (the latest summer that ended
  before the reference date), "two weeks ago" (Monday..Sunday of that week), "three days ago", "a month ago",
  "a year ago" (that day, week, month or year);
* a named season around a feast ("the Christmas season": 1 December .. 6 January, ``lang.FEAST_SEASONS``);
* one-sided ranges: a date after "before"/"prior to"/"until" or "after"/"since" bounds the moment on that side
  (:func:`bound_side`; "before St. Patrick's Day 2019" -> up to 16 March 2019);
* a day number with an ordinal suffix in another sentence narrows the one month stated ("September 2016. On the
  27th I think" -> 27 September 2016, :func:`narrow_day`).

Word tables come from the language module (lang_en.py).
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from .scan import Scan

__all__ = ["reference_date", "parse_relative", "bound_side", "narrow_day"]


def _month_range(y: int, m: int) -> tuple[date, date]:
    return date(y, m, 1), date(y, m, calendar.monthrange(y, m)[1])


def reference_date(ctx: Scan, day_patterns) -> None:
    """Set ``ctx.today`` from "Assuming (that) today is <date>" and take the phrase.

    Args:
        day_patterns: compiled (name, pattern) pairs of full dates; each match gives (year, month, day) through
            ``to_date(match)``.
    """
    for m in re.finditer(ctx.lang.REFERENCE_DATE, ctx.t, re.I):
        rest = ctx.t[m.end():m.end() + 40]
        for rx, to_date in day_patterns:
            d = rx.match(rest)
            if not d:
                continue
            try:
                got = to_date(d)
            except ValueError:
                continue
            ctx.today = got
            end = m.end() + d.end()
            ctx.decide(m.start(), end, f"reference date {got.isoformat()}", "stated as today")
            ctx.take(m.start(), end)
            return


def _ago(unit: str, n: int, today: date) -> tuple[date, date]:
    if unit == "day":
        d = today - timedelta(days=n)
        return d, d
    if unit == "week":
        d = today - timedelta(days=7 * n)
        monday = d - timedelta(days=d.weekday())
        return monday, monday + timedelta(days=6)
    if unit == "month":
        y, mo = divmod(today.year * 12 + today.month - 1 - n, 12)
        return _month_range(y, mo + 1)
    y = today.year - n
    return date(y, 1, 1), date(y, 12, 31)


def parse_relative(ctx: Scan, spans: list, yearless_months: list) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Relative expressions and feast seasons in ``ctx.t``; dated spans go to ``spans``, yearless months to
    ``yearless_months``; returns the feast-season ranges ``((m1, d1), (m2, d2))`` to complete with a stated year."""
    lang, t, today = ctx.lang, ctx.t, ctx.today
    months = "|".join(sorted(lang.MONTHS, key=len, reverse=True))
    seasons = "|".join(sorted(lang.SEASONS, key=len, reverse=True))
    nums = "|".join(list(lang.NUMBER_WORDS) + ["a", "an", "one"])
    units = "|".join(lang.RELATIVE_UNITS)
    f = re.I
    for m in re.finditer(rf"\blast\s+({months})\b", t, f):
        if ctx.free(*m.span()):
            mo = lang.MONTHS[m.group(1).lower()]
            y = today.year if mo < today.month else today.year - 1
            spans.append(_month_range(y, mo))
            ctx.decide(*m.span(), f"month {y}-{mo:02d}", f"the latest before the reference date {today}")
            ctx.take(*m.span())
    for m in re.finditer(rf"\blast\s+({seasons})\b", t, f):
        if ctx.free(*m.span()):
            ms = lang.SEASONS[m.group(1).lower()]
            y = today.year
            while True:
                start = date(y, ms[0], 1)
                end = _month_range(y + (ms[-1] < ms[0]), ms[-1])[1]
                if end < today:
                    break
                y -= 1
            spans.append((start, end))
            ctx.decide(*m.span(), f"{start}..{end}", f"the latest that ended before the reference date {today}")
            ctx.take(*m.span())
    for m in re.finditer(rf"\b(\d{{1,2}}|{nums})\s+({units})\s+ago\b", t, f):
        if ctx.free(*m.span()):
            w = m.group(1).lower()
            n = int(w) if w.isdigit() else lang.NUMBER_WORDS.get(w, 1)
            s, e = _ago(lang.RELATIVE_UNITS[m.group(2).lower()], n, today)
            spans.append((s, e))
            ctx.decide(*m.span(), f"{s}..{e}", f"counted back from the reference date {today}")
            ctx.take(*m.span())
    ranges = []
    for pat, (a, b, without_year) in lang.FEAST_SEASONS.items():
        for m in re.finditer(rf"\b(?:the\s+)?(?:{pat})\b", t, f):
            if ctx.free(*m.span()):
                ranges.append((a, b))
                yearless_months.append(without_year)
                ctx.decide(*m.span(), f"season {a[1]}/{a[0]}..{b[1]}/{b[0]}", "a named feast season")
                ctx.take(*m.span())
    return ranges


def bound_side(ctx: Scan, start: int) -> str | None:
    """``"upper"``/``"upper_incl"`` (before / until the date at ``start``), ``"lower"``/``"lower_incl"`` (after /
    since), or None."""
    left = ctx.t[max(0, start - 25):start]
    lang = ctx.lang
    if re.search(lang.DATE_UPPER_INCLUSIVE, left, re.I):
        return "upper_incl"
    if re.search(lang.DATE_UPPER_BEFORE, left, re.I):
        return "upper"
    if re.search(lang.DATE_LOWER_INCLUSIVE, left, re.I):
        return "lower_incl"
    if re.search(lang.DATE_LOWER_BEFORE, left, re.I):
        return "lower"
    return None


def apply_bounds(lo: date | None, hi: date | None, bounds: list) -> tuple[date | None, date | None]:
    """Intersect ``[lo, hi]`` (None: open) with the one-sided bounds ``(side, (start, end))``."""
    for side, (s, e) in bounds:
        if side.startswith("upper"):
            b = e if side == "upper_incl" else s - timedelta(days=1)
            hi = b if hi is None else min(hi, b)
        else:
            b = s if side == "lower_incl" else e + timedelta(days=1)
            lo = b if lo is None else max(lo, b)
    if lo and hi and lo > hi:
        return None, None
    return lo, hi


def narrow_day(ctx: Scan, spans: list) -> None:
    """One month-long span plus "the 27th" in the text -> that day (in place)."""
    months = [i for i, (s, e) in enumerate(spans)
              if s.day == 1 and s.year == e.year and s.month == e.month and e.day == calendar.monthrange(
                  s.year, s.month)[1]]
    if len(months) != 1 or len(spans) != 1:
        return
    rx = rf"\b(?:on\s+)?the\s+([12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)\b(?!\s+{ctx.lang.ORDINAL_DAY_NOUNS})"
    found = [m for m in re.finditer(rx, ctx.t, re.I) if ctx.free(*m.span())]
    if len(found) != 1:
        return
    m = found[0]
    s, _ = spans[0]
    d = int(m.group(1))
    if d > calendar.monthrange(s.year, s.month)[1]:
        return
    day = date(s.year, s.month, d)
    spans[0] = (day, day)
    ctx.decide(*m.span(), f"day {day}", "a day number narrowing the one month stated")
    ctx.take(*m.span())

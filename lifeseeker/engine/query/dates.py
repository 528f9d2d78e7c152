"""Dates and days of the week in a query (local time; conventions of docs/lsc-format.md and
tests/fixtures/lsc-topics/README.md):

* years ("in 2016"), spans ("2015 or 2016"), months with a year ("May 2018", "the first month of 2020", "late May
  2018", "the first week of March 2018", "the summer of 2018"), days ("Sunday 18th Sept", "April 29, 2020",
  "15/03/2015", "2019-05-01");
* named days ("Christmas Day 2019", "New Year's Eve", "the day before St Patrick's Day"; movable ones via the
  ``holidays`` package) and relative expressions ("yesterday", "last month", "this week");
* a year stated elsewhere in the text completes a month or day stated without one ("It was in 2015 in March");
  without any year they become ``months`` (:func:`resolve_dates`);
* weekdays ("a Monday or a Thursday"), weekend (Sat, Sun), weekday (Mon-Fri) (:func:`parse_weekdays`).

Word tables come from the language module (lang_en.py).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

from ..timeparts import WEEKDAYS
from .relative import apply_bounds, bound_side, narrow_day, parse_relative, reference_date
from .scan import Scan

__all__ = ["Dates", "parse_dates", "resolve_dates", "parse_weekdays", "YEAR", "DAY"]

YEAR = r"(?:19[5-9]\d|20[0-4]\d)"
DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"


@lru_cache(maxsize=8)
def _patterns(lang) -> dict[str, re.Pattern]:
    """The date and weekday expressions of language ``lang``, compiled once per language."""
    months = "|".join(sorted(lang.MONTHS, key=len, reverse=True))
    abbr = "|".join(sorted(lang.MONTH_ABBREVIATIONS, key=len, reverse=True))
    month_any = rf"(?:{months}|(?:{abbr})\.?)"
    ords = "|".join(sorted(lang.ORDINALS, key=len, reverse=True))
    seasons = "|".join(sorted(lang.SEASONS, key=len, reverse=True))
    wdays = "|".join(lang.WEEKDAYS)
    named = "|".join(f"(?:{p})" for p in lang.NAMED_DAYS)
    parts = "|".join(f"(?:{p})" for p, _ in lang.MONTH_PARTS)
    mer = lang.CLOCK_MERIDIEM  # "May 5 pm" is a time, not the fifth of May
    f = re.IGNORECASE
    return {
        "iso": re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b"),
        "dmy": re.compile(r"\b(\d{1,2})[/.](\d{1,2})[/.](\d{4})\b"),
        "named": re.compile(rf"\b(?:{lang.DAY_BEFORE_AFTER})?(?P<phrase>{named})(?![\w'])"
                           rf"(?:,?\s+(?:of\s+|in\s+)?(?P<year>{YEAR})\b)?", f),
        "week_of": re.compile(rf"\bthe\s+({ords})\s+(week|weekend|day)\s+of\s+({month_any})(?![\w])"
                              rf"(?:,?\s+(?:of\s+|in\s+)?({YEAR})\b)?", f),
        "month_of_year": re.compile(rf"\bthe\s+({ords})\s+month\s+of\s+(?:the\s+year\s+)?({YEAR})\b", f),
        "month_part": re.compile(rf"\b({parts})\s*-?\s*({month_any})(?![\w])(?:,?\s+(?:of\s+|in\s+)?({YEAR})\b)?", f),
        "day_month": re.compile(rf"\b(?:the\s+)?({DAY})(?:\s+of)?\s+({month_any})(?![\w])"
                                rf"(?:,?\s+(?:of\s+|in\s+)?({YEAR})\b)?", f),
        "month_day": re.compile(rf"\b({month_any})\s+(?:the\s+)?({DAY})\b(?!\s*(?:{mer}|:|\d))(?:,?\s+({YEAR})\b)?", f),
        "month_year": re.compile(rf"\b({month_any})(?:\s+of)?,?\s+({YEAR})\b", f),
        "season_year": re.compile(rf"\b(?:the\s+)?({seasons})(?:\s+of)?,?\s+({YEAR})\b", f),
        "year": re.compile(rf"(?<![-/.:#\w])({YEAR})(?![-/:]\d)(?!\w)", f),
        "month": re.compile(rf"\b({months})\b", f),
        "season": re.compile(rf"\b({seasons})\b", f),
        "weekday": re.compile(rf"\b({wdays})s?\b", f),
        "weekend": re.compile(rf"\b(?:{lang.WEEKEND_WORDS})\b", f),
        "workweek": re.compile(rf"\b(?:{lang.WEEKDAY_WORDS})\b", f),
        "relative": re.compile(r"\b(today|yesterday|(?:last|this)\s+(?:year|month|week))\b", f),
    }


def _month_no(lang, word: str) -> int:
    w = word.lower().rstrip(".")
    return lang.MONTHS.get(w) or lang.MONTH_ABBREVIATIONS[w]


def _day_no(raw: str) -> int:
    return int(re.match(r"\d+", raw).group())


def _last_day(y: int, m: int) -> int:
    return calendar.monthrange(y, m)[1]


def _month_range(y: int, m: int) -> tuple[date, date]:
    return date(y, m, 1), date(y, m, _last_day(y, m))


@dataclass
class Dates:
    """The dates found in one text, before :func:`resolve_dates` combines them."""

    spans: list[tuple[date, date]] = field(default_factory=list)  # with a year
    yearless: list[tuple[int, int, int]] = field(default_factory=list)  # (month, first day, last day; -1 = end)
    yearless_months: list[tuple[int, ...]] = field(default_factory=list)  # seasons / movable days without a year
    yearless_ranges: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)  # feast seasons
    bounds: list[tuple[str, tuple[date, date]]] = field(default_factory=list)  # one-sided: relative.bound_side
    years: list[int] = field(default_factory=list)  # standalone years
    weekdays: set[str] = field(default_factory=set)  # from "the last weekend of May 2018"


def _safe_date(ctx: Scan, y: int, m: int, d: int, what: str) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        ctx.warnings.append(f"ignored an impossible date: {what}")
        return None


def _holiday(lang, spec: tuple, year: int | None) -> tuple[date | None, tuple[int, ...]]:
    """Date of a named day in ``year`` (or None without a year) and its usual months."""
    if spec[0] == "fixed":
        _, m, d = spec
        return (date(year, m, d) if year else None), (m,)
    _, country, name, offset = spec
    months = lang.NAMED_DAY_MONTHS_WITHOUT_YEAR.get(name, ())
    if year is None:
        return None, months
    try:
        import holidays

        table = holidays.country_holidays(country, years=year)
        for day, label in sorted(table.items()):
            if name.lower() in label.lower():
                return day + timedelta(days=offset), months
    except Exception:  # noqa: BLE001 - an unknown country/name must not break parsing
        pass
    return None, months


def parse_dates(ctx: Scan) -> Dates:
    """Find the dates in ``ctx.t`` (most specific pattern first) and take their spans.

    Args:
        ctx: the parse state; found phrases are taken (and leave the visual text), impossible dates ("31 June
            2019") and named days without a date in the stated year add a warning.
    Returns:
        Dates: dated spans, yearless days / months, standalone years and weekdays implied by "weekend of".
    """
    lang, t, p = ctx.lang, ctx.t, _patterns(ctx.lang)
    out = Dates()

    def span(m: re.Match, s: tuple[date, date]) -> None:
        side = bound_side(ctx, m.start())
        if side:
            out.bounds.append((side, s))
            ctx.decide(*m.span(), f"{side.split('_')[0]} bound {s[0]}..{s[1]}", "a date after a range word")
        else:
            out.spans.append(s)
            ctx.decide(*m.span(), f"date {s[0]}..{s[1]}", "a date expression")

    reference_date(ctx, [(re.compile(rf"({DAY})(?:\s+of)?\s+({'|'.join(lang.MONTHS)})(?:,)?\s+({YEAR})\b", re.I),
                          lambda d: date(int(d.group(3)), _month_no(lang, d.group(2)), _day_no(d.group(1)))),
                         (re.compile(rf"({'|'.join(lang.MONTHS)})\s+({DAY}),?\s+({YEAR})\b", re.I),
                          lambda d: date(int(d.group(3)), _month_no(lang, d.group(1)), _day_no(d.group(2)))),
                         (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})\b"),
                          lambda d: date(int(d.group(1)), int(d.group(2)), int(d.group(3))))])
    out.yearless_ranges.extend(parse_relative(ctx, out.spans, out.yearless_months))

    def add_day(m: re.Match, y: int, mo: int, d: int) -> None:
        if not 1 <= mo <= 12:
            return
        got = _safe_date(ctx, y, mo, d, m.group(0))
        if got:
            span(m, (got, got))
        ctx.take(*m.span())

    for m in p["iso"].finditer(t):
        if ctx.free(*m.span()):
            add_day(m, int(m.group(1)), int(m.group(2)), int(m.group(3)))
    for m in p["dmy"].finditer(t):
        if ctx.free(*m.span()):
            a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
            d, mo = (b, a) if b > 12 >= a else (a, b)  # day first (Irish/European) unless that cannot be
            add_day(m, y, mo, d)

    for m in p["named"].finditer(t):
        if not ctx.free(*m.span()):
            continue
        phrase, year = m.group("phrase"), m.group("year")
        after = t[m.end():m.end() + 30]
        if re.match(rf"\s+{lang.NAMED_DAY_OBJECT_NOUNS}\b", after, re.I):
            continue  # "Christmas tree": an object
        spec = next(s for pat, s in lang.NAMED_DAYS.items() if re.fullmatch(pat, phrase, re.I))
        single = len(phrase.split()) == 1 and not re.search(r"\bday\b|\beve\b", phrase, re.I)
        if single and not year and not m.group(0).lower().startswith("the day") and not re.search(
                rf"\b{lang.NAMED_DAY_CONTEXT_BEFORE}\s+$", t[max(0, m.start() - 12):m.start()], re.I):
            continue  # a bare "Easter" without a date context
        offset = 0
        rel = re.match(rf"{lang.DAY_BEFORE_AFTER}", m.group(0), re.I)
        if rel:
            offset = -1 if rel.group(1).lower() == "before" else 1
        day, months = _holiday(lang, spec, int(year) if year else None)
        if day:
            day += timedelta(days=offset)
            span(m, (day, day))
        elif year:
            ctx.warnings.append(f"no date found for {phrase!r} in {year}")
        elif spec[0] == "fixed":
            mo, dd = spec[1], spec[2]
            shifted = date(2001, mo, dd) + timedelta(days=offset)  # a non-leap year, for the month only
            out.yearless.append((shifted.month, shifted.day, shifted.day))
        elif months:
            out.yearless_months.append(months)
        ctx.take(*m.span())

    for m in p["week_of"].finditer(t):
        if not ctx.free(*m.span()):
            continue
        n = lang.ORDINALS[m.group(1).lower()]
        unit, mo = m.group(2).lower(), _month_no(lang, m.group(3))
        y = int(m.group(4)) if m.group(4) else None
        if unit == "day":
            sel = -1 if n == -1 else n
            if y:
                last = _last_day(y, mo)
                d0 = last if sel == -1 else min(sel, last)
                span(m, (date(y, mo, d0), date(y, mo, d0)))
            else:
                out.yearless.append((mo, sel, sel))
        elif unit == "week":
            rng = (-7, -1) if n == -1 else (7 * (n - 1) + 1, min(7 * n, 31))
            if y:
                last = _last_day(y, mo)
                a, b = (last - 6, last) if n == -1 else (rng[0], min(rng[1], last))
                if a <= last:
                    span(m, (date(y, mo, a), date(y, mo, b)))
            else:
                out.yearless.append((mo, max(rng[0], 1) if n != -1 else 22, rng[1] if n != -1 else -1))
        else:  # weekend
            out.weekdays |= {"Sat", "Sun"}
            if y:
                sats = [d for d in range(1, _last_day(y, mo) + 1) if date(y, mo, d).weekday() == 5]
                sat = sats[-1] if n == -1 else sats[min(n, len(sats)) - 1]
                end = min(sat + 1, _last_day(y, mo))
                span(m, (date(y, mo, sat), date(y, mo, end)))
            else:
                out.yearless.append((mo, 1, -1))
        ctx.take(*m.span())

    for m in p["month_of_year"].finditer(t):
        if ctx.free(*m.span()):
            n, y = lang.ORDINALS[m.group(1).lower()], int(m.group(2))
            mo = 12 if n == -1 else n
            if 1 <= mo <= 12:
                span(m, _month_range(y, mo))
            ctx.take(*m.span())

    for m in p["month_part"].finditer(t):
        if not ctx.free(*m.span()):
            continue
        mo = _month_no(lang, m.group(2))
        a, b = next(rng for pat, rng in lang.MONTH_PARTS if re.fullmatch(pat, m.group(1).strip(), re.I))
        if m.group(3):
            y = int(m.group(3))
            last = _last_day(y, mo)
            span(m, (date(y, mo, a), date(y, mo, last if b == -1 else b)))
        else:
            out.yearless.append((mo, a, b))
        ctx.take(*m.span())

    for name in ("day_month", "month_day"):
        for m in p[name].finditer(t):
            if not ctx.free(*m.span()):
                continue
            dm = (m.group(1), m.group(2)) if name == "day_month" else (m.group(2), m.group(1))
            d, mo = _day_no(dm[0]), _month_no(lang, dm[1])
            y = m.group(3)
            if y:
                got = _safe_date(ctx, int(y), mo, d, m.group(0))
                span(m, (got, got) if got else _month_range(int(y), mo))
            else:
                if d > calendar.monthrange(2000, mo)[1]:
                    ctx.warnings.append(f"ignored an impossible date: {m.group(0).strip()}")
                    out.yearless.append((mo, 1, -1))
                else:
                    out.yearless.append((mo, d, d))
            ctx.take(*m.span())

    for m in p["month_year"].finditer(t):
        if ctx.free(*m.span()):
            span(m, _month_range(int(m.group(2)), _month_no(lang, m.group(1))))
            ctx.take(*m.span())

    for m in p["season_year"].finditer(t):
        if ctx.free(*m.span()) and not re.search(lang.SEASON_SKIP_BEFORE, t[:m.start()], re.I):
            months, y = lang.SEASONS[m.group(1).lower()], int(m.group(2))
            if months[0] > months[-1]:  # winter of Y: December Y .. February Y+1
                span(m, (date(y, months[0], 1), _month_range(y + 1, months[-1])[1]))
            else:
                span(m, (date(y, months[0], 1), _month_range(y, months[-1])[1]))
            ctx.take(*m.span())

    for m in p["year"].finditer(t):
        if ctx.free(*m.span()):
            after = t[m.end():m.end() + 12].lower()
            if re.search(lang.YEAR_SKIP_BEFORE, t[max(0, m.start() - 12):m.start()], re.I):
                ctx.decide(*m.span(), None, "a number after a label word (room, platform ...), not a year")
                continue
            side = bound_side(ctx, m.start())
            if side:
                y = int(m.group(1))
                out.bounds.append((side, (date(y, 1, 1), date(y, 12, 31))))
                ctx.decide(*m.span(), f"{side.split('_')[0]} bound year {y}", "a year after a range word")
                ctx.take(*m.span())
                continue
            if re.match(r"\s*(?:people|persons|km|kms|m\b|metres|meters|euro|eur|dollars|\$|kg|steps|calories|"
                        r"minutes|hours|seconds|images|photos|pictures)", after):
                continue
            out.years.append(int(m.group(1)))
            ctx.take(*m.span())

    for m in p["month"].finditer(t):
        if not ctx.free(*m.span()):
            continue
        word = m.group(1).lower()
        if word in lang.AMBIGUOUS_MONTHS:
            left = t[max(0, m.start() - 20):m.start()]
            if not re.search(rf"\b{lang.MONTH_CONTEXT_BEFORE}\s+(?:the\s+)?(?:month\s+of\s+)?$", left, re.I):
                continue  # "May I see", "March of the penguins"
        out.yearless.append((lang.MONTHS[word], 1, -1))
        ctx.take(*m.span())

    for m in p["season"].finditer(t):
        if not ctx.free(*m.span()):
            continue
        left = t[max(0, m.start() - 20):m.start()]
        if re.search(lang.SEASON_SKIP_BEFORE, left, re.I):
            continue
        if not re.search(r"\b(?:in|during|over|throughout|this|last|next|of|all)\s+(?:the\s+)?$", left, re.I):
            continue  # "summer dress", "spring water"
        out.yearless_months.append(lang.SEASONS[m.group(1).lower()])
        ctx.take(*m.span())

    for m in p["relative"].finditer(t):
        if not ctx.free(*m.span()):
            continue
        w, today = " ".join(m.group(1).lower().split()), ctx.today
        if w == "today":
            out.spans.append((today, today))
        elif w == "yesterday":
            out.spans.append((today - timedelta(days=1),) * 2)
        elif w.endswith("year"):
            y = today.year - (1 if w.startswith("last") else 0)
            out.spans.append((date(y, 1, 1), date(y, 12, 31)))
        elif w.endswith("month"):
            first = today.replace(day=1)
            if w.startswith("last"):
                first = (first - timedelta(days=1)).replace(day=1)
            out.spans.append(_month_range(first.year, first.month))
        else:  # week: Monday..Sunday
            monday = today - timedelta(days=today.weekday()) - (timedelta(days=7) if w.startswith("last") else
                                                                 timedelta(0))
            out.spans.append((monday, monday + timedelta(days=6)))
        ctx.take(*m.span())
    narrow_day(ctx, out.spans)
    return out


def resolve_dates(d: Dates) -> tuple[date | None, date | None, tuple[int, ...]]:
    """Combine what :func:`parse_dates` found: standalone years complete the yearless days and months.

    Returns:
        ``(date_from, date_to, months)``: inclusive local dates spanning every dated span (None, None without
        one), and the months 1-12 named without any year (only when there is no dated span).
    """
    spans = list(d.spans)
    years = sorted(set(d.years))
    if years and d.yearless_ranges:
        for y in years:
            for (m1, d1), (m2, d2) in d.yearless_ranges:
                spans.append((date(y, m1, d1), date(y + (m2 < m1), m2, d2)))
        return min(s for s, _ in spans), max(e for _, e in spans), ()
    if years and (d.yearless or d.yearless_months):
        for y in years:
            for mo, a, b in d.yearless:
                last = _last_day(y, mo)
                a2, b2 = (last if a == -1 else min(a, last)), (last if b == -1 else min(b, last))
                spans.append((date(y, mo, a2), date(y, mo, b2)))
            for months in d.yearless_months:
                if months[0] > months[-1]:
                    spans.append((date(y, months[0], 1), _month_range(y + 1, months[-1])[1]))
                else:
                    spans.append((date(y, months[0], 1), _month_range(y, months[-1])[1]))
        years = []
    covered = {s.year for s, _ in spans} | {e.year for _, e in spans}
    for y in years:
        if y not in covered:
            spans.append((date(y, 1, 1), date(y, 12, 31)))
    months: tuple[int, ...] = ()
    if not spans:
        ms = {mo for mo, _, _ in d.yearless} | {m for ms_ in d.yearless_months for m in ms_}
        months = tuple(sorted(ms))
    if d.bounds:
        lo, hi = (min(s for s, _ in spans), max(e for _, e in spans)) if spans else (None, None)
        lo, hi = apply_bounds(lo, hi, d.bounds)
        return lo, hi, months if lo is None and hi is None else ()
    if not spans:
        return None, None, months
    return min(s for s, _ in spans), max(e for _, e in spans), months


def parse_weekdays(ctx: Scan, extra: set[str]) -> tuple[str, ...]:
    """Weekdays named in ``ctx.t`` ("a Monday or a Thursday"), else the days of "weekend" / "weekday" and ``extra``.

    Args:
        ctx: the parse state; a negated day ("not on a Sunday") and event names ("Black Friday") are skipped.
        extra: weekdays implied by the dates (``Dates.weekdays``).
    Returns:
        ``Mon``..``Sun`` in week order (empty: no weekday constraint).
    """
    lang, t, p = ctx.lang, ctx.t, _patterns(ctx.lang)
    named: set[str] = set()
    groups: set[str] = set(extra)
    for m in p["weekday"].finditer(t):
        if not ctx.free(*m.span()):
            continue
        prev = re.search(r"(\w+)\s+$", t[max(0, m.start() - 15):m.start()])
        if prev and prev.group(1).lower() in lang.WEEKDAY_NAME_PREFIXES:
            continue  # "Black Friday"
        if re.search(lang.NEGATION_BEFORE, ctx.before(m.start()), re.I):
            continue
        named.add(lang.WEEKDAYS[m.group(1).lower()])
        ctx.remove.append(m.span())  # not blocked: "early on a Saturday morning" is still read as a part of day
    for key, days in (("weekend", {"Sat", "Sun"}), ("workweek", set(WEEKDAYS[:5]))):
        for m in p[key].finditer(t):
            if ctx.free(*m.span()) and not re.search(lang.NEGATION_BEFORE, ctx.before(m.start()), re.I):
                groups |= days
                ctx.take(*m.span())
    chosen = named or groups
    return tuple(d for d in WEEKDAYS if d in chosen)

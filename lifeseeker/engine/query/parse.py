"""Query understanding: free text -> a structured request (``ParsedQuery``).

What the parser finds (all in the user's local time; conventions of ../shared/docs/lsc-format.md and
../shared/data/lsc-topics/README.md):

* dates: years ("in 2016"), spans ("2015 or 2016"), months with a year ("May 2018", "the first month of 2020",
  "late May 2018", "the first week of March 2018", "the summer of 2018"), days ("Sunday 18th Sept", "April 29,
  2020", "15/03/2015", "2019-05-01"), named days ("Christmas Day 2019", "New Year's Eve", "the day before St
  Patrick's Day"; movable ones via the ``holidays`` package). A year stated elsewhere in the text completes a
  month or day stated without one ("It was in 2015 in March"); without any year they become ``months``;
* weekdays ("a Monday or a Thursday"), weekend (Sat, Sun), weekday (Mon-Fri);
* parts of day and clock times -> hour ranges [from, to) with values past 24 meaning the next morning ("night" =
  [21, 29]); a clock time means +-1 hour ("around 7am" = [6, 8)), "before six am" = [0, 6), "after 5pm" = [17,
  24); explicit clock times win over part-of-day words; a part of day inside another keeps the narrower ("early
  on a Saturday morning" = [5, 8)), overlapping ones merge ("evening ... Saturday night" = [17, 29));
* places: countries and cities (gazetteer.py), semantic places (home, work) only where the moment happens;
* key:value hard filters (keyvalue.py) and question detection / answer type (questions.py).

The CLIP text encoder gets ``visual`` (the text with constraint phrases removed), the TaT encoder gets ``text``
(the full text without key:value terms, since CapMeta carries time and place as words). Parsed constraints are
*soft* (``soft``: graded score boosts, soft.py); only key:value terms are hard ``filters``.

All word lists come from a language module (``LANGUAGES``); English is the only one so far.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from ..filters import Filter
from ..timeparts import WEEKDAYS
from . import lang_en
from ..text import fold
from .gazetteer import WORD_RE, gazetteer, key_of
from .keyvalue import extract_filters
from .questions import analyse_question
from .soft import (SoftConstraint, SoftDateRange, SoftHours, SoftMonths, SoftPlace, SoftWeekdays, describe)

LANGUAGES = {"en": lang_en}
MAX_CHARS = 20_000  # longer input is cut (a search box never holds more; keeps parsing bounded)

YEAR = r"(?:19[5-9]\d|20[0-4]\d)"
DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"


@dataclass
class ParsedQuery:
    """The structured request parsed from what a user typed.

    Attributes:
        text: full text without key:value terms (for the TaT encoder).
        visual: text with time/place constraint phrases removed (for the CLIP text encoder); landmarks stay.
        date_from, date_to: inclusive local dates (None = no date constraint).
        months: months 1-12 named without a year.
        weekdays: ``Mon``..``Sun`` in week order.
        hour_ranges: local time ranges in minutes after midnight ``[from, to)``; ``to`` may pass 1440.
        countries, cities: normalised GeoNames names (cities imply their country in ``countries``).
        city_aliases: other stored forms of the cities (``Frankfurt am Main``), for matching documents.
        semantic: semantic places (``home``, ``work``).
        places: every place name found, as written (not all of them constrain the moment).
        filters: hard filter clauses from key:value terms.
        is_question, answer_type, answer_kind: see questions.py.
        warnings: things the parser noticed and ignored (an impossible date, a ``foo:bar`` that is not a filter
            and was searched as text ...); SearchService shows them with the response's notices.
    """

    text: str
    visual: str
    date_from: date | None = None
    date_to: date | None = None
    months: tuple[int, ...] = ()
    weekdays: tuple[str, ...] = ()
    hour_ranges: tuple[tuple[int, int], ...] = ()
    countries: tuple[str, ...] = ()
    cities: tuple[str, ...] = ()
    city_aliases: tuple[str, ...] = ()
    semantic: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    is_question: bool = False
    answer_type: str | None = None
    answer_kind: str | None = None
    warnings: tuple[str, ...] = field(default=())

    @property
    def hours(self) -> list[int] | list[list[int]] | None:
        """Whole-hour range ``[from, to)`` (``to`` may pass 24), a list of such ranges, or None."""
        if not self.hour_ranges:
            return None
        pairs = [[a // 60, -(-b // 60)] for a, b in self.hour_ranges]
        return pairs[0] if len(pairs) == 1 else pairs

    @property
    def soft(self) -> tuple[SoftConstraint, ...]:
        """The parsed constraints as soft score boosts (soft.py), default weights."""
        out: list[SoftConstraint] = []
        if self.date_from and self.date_to:
            out.append(SoftDateRange(self.date_from, self.date_to))
        if self.months:
            out.append(SoftMonths(self.months))
        if self.weekdays:
            out.append(SoftWeekdays(self.weekdays))
        for a, b in self.hour_ranges:
            out.append(SoftHours(a, b))
        if self.cities:
            out.append(SoftPlace("places", tuple(dict.fromkeys(self.cities + self.city_aliases))))
        if self.countries:
            out.append(SoftPlace("country", self.countries))
        if self.semantic:
            out.append(SoftPlace("semantic_name", self.semantic, weight=0.03))
        return tuple(out)

    def constraints(self) -> dict[str, Any]:
        """The scored constraint fields, in the shape of the ``expect`` labels of ../shared/data/lsc-topics."""
        out: dict[str, Any] = {}
        if self.date_from:
            out["date_from"] = self.date_from.isoformat()
        if self.date_to:
            out["date_to"] = self.date_to.isoformat()
        if self.months:
            out["months"] = list(self.months)
        if self.weekdays:
            out["weekdays"] = list(self.weekdays)
        if self.hours is not None:
            out["hours"] = self.hours
        if self.countries:
            out["country"] = list(self.countries)
        if self.cities:
            out["city"] = list(self.cities)
        if self.semantic:
            out["semantic"] = list(self.semantic)
        out["is_question"] = self.is_question
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: ``lifeseeker parse`` output (keys include ``is_question`` and ``answer_type``)."""
        from .keyvalue import describe_filter

        return {
            "text": self.text, "visual": self.visual, **{k: v for k, v in self.constraints().items()},
            "answer_type": self.answer_type, "answer_kind": self.answer_kind, "places": list(self.places),
            "soft": [describe(c) for c in self.soft], "filters": [describe_filter(f) for f in self.filters],
            "warnings": list(self.warnings),
        }


# --- helpers ---------------------------------------------------------------------------------------------------------


@dataclass
class _Ctx:
    """Working state of one parse."""

    raw: str
    t: str  # quotes folded to ASCII, same length as raw
    blocked: list[bool]  # quoted text and key:value terms: never a constraint
    today: date
    lang: Any
    remove: list[tuple[int, int]] = field(default_factory=list)  # spans to drop from the visual text
    key_values: list[tuple[int, int]] = field(default_factory=list)  # key:value spans (dropped without glue words)
    warnings: list[str] = field(default_factory=list)

    def free(self, a: int, b: int) -> bool:
        return not any(self.blocked[a:b])

    def take(self, a: int, b: int, remove: bool = True) -> None:
        for i in range(a, b):
            self.blocked[i] = True
        if remove:
            self.remove.append((a, b))

    def sentence(self, pos: int) -> tuple[int, int]:
        """Start and end offsets of the sentence around ``pos``."""
        a = max(self.t.rfind(ch, 0, pos) for ch in ".!?;\n")
        ends = [i for i in (self.t.find(ch, pos) for ch in ".!?;\n") if i >= 0]
        return a + 1, (min(ends) if ends else len(self.t))

    def before(self, pos: int) -> str:
        """Text of the sentence before ``pos`` (the left context of a match)."""
        return self.t[self.sentence(pos)[0]:pos]


_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
                         "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"', "\u00b4": "'", "`": "'"})


def _quoted_spans(raw: str) -> list[tuple[int, int]]:
    spans = []
    for m in re.finditer(r"\u2018([^\u2018\u2019\n]{1,80})[\u2019\u2018]", raw):  # ‘text’ (also ‘text‘)
        spans.append(m.span())
    for m in re.finditer(r'["\u201c]([^"\u201c\u201d\n]{1,200})["\u201d]', raw):
        spans.append(m.span())
    for m in re.finditer(r"(?<![\w'])'([^'\n]{1,80})'(?![\w])", raw):
        spans.append(m.span())
    return spans


@lru_cache(maxsize=8)
def _patterns(lang) -> dict[str, re.Pattern]:
    months = "|".join(sorted(lang.MONTHS, key=len, reverse=True))
    abbr = "|".join(sorted(lang.MONTH_ABBREVIATIONS, key=len, reverse=True))
    month_any = rf"(?:{months}|(?:{abbr})\.?)"
    ords = "|".join(sorted(lang.ORDINALS, key=len, reverse=True))
    seasons = "|".join(sorted(lang.SEASONS, key=len, reverse=True))
    wdays = "|".join(lang.WEEKDAYS)
    named = "|".join(f"(?:{p})" for p in lang.NAMED_DAYS)
    parts = "|".join(f"(?:{p})" for p, _ in lang.MONTH_PARTS)
    num = "|".join(lang.NUMBER_WORDS)
    clock = rf"(?:(?:[01]?\d|2[0-3])(?::[0-5]\d)?|{num})"
    mer = lang.CLOCK_MERIDIEM
    f = re.IGNORECASE
    p = {
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
        "between": re.compile(rf"\b(?:{lang.CLOCK_BETWEEN[0]})\s+({clock})\s*({mer})?\s+(?:{lang.CLOCK_BETWEEN[1]})"
                              rf"\s+({clock})\s*({mer})?", f),
        "from_to": re.compile(rf"\b(?:{lang.CLOCK_FROM_TO[0]})?\s*({clock})\s*({mer})?\s*(?:{lang.CLOCK_FROM_TO[1]})"
                              rf"\s*({clock})\s*({mer})", f),
        "before": re.compile(rf"\b(?:{lang.CLOCK_BEFORE})\s+({clock}|{lang.MIDNIGHT}|{lang.NOON})\s*({mer})?", f),
        "after": re.compile(rf"\b(?:{lang.CLOCK_AFTER})\s+({clock}|{lang.MIDNIGHT}|{lang.NOON})\s*({mer})?", f),
        "at": re.compile(rf"(?:\b(?:{lang.CLOCK_AROUND})\s+)?\b({clock}|{lang.MIDNIGHT})\s*({mer})?"
                         rf"(?:\s+in\s+the\s+(morning|afternoon|evening|night))?", f),
    }
    p["parts"] = [(re.compile(rf"\b(?:{pat})\b", f), rng, kind) for pat, rng, kind in lang.PARTS_OF_DAY]
    p["semantic"] = [(label, re.compile(rf"\b(?:{pat})\b", f)) for label, pat in lang.SEMANTIC_PLACES.items()]
    return p


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
class _Dates:
    spans: list[tuple[date, date]] = field(default_factory=list)  # with a year
    yearless: list[tuple[int, int, int]] = field(default_factory=list)  # (month, first day, last day; -1 = end)
    yearless_months: list[tuple[int, ...]] = field(default_factory=list)  # seasons / movable days without a year
    years: list[int] = field(default_factory=list)  # standalone years
    weekdays: set[str] = field(default_factory=set)  # from "the last weekend of May 2018"


def _safe_date(ctx: _Ctx, y: int, m: int, d: int, what: str) -> date | None:
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


def _parse_dates(ctx: _Ctx) -> _Dates:
    lang, t, p = ctx.lang, ctx.t, _patterns(ctx.lang)
    out = _Dates()

    def add_day(m: re.Match, y: int, mo: int, d: int) -> None:
        if not 1 <= mo <= 12:
            return
        got = _safe_date(ctx, y, mo, d, m.group(0))
        if got:
            out.spans.append((got, got))
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
            out.spans.append((day, day))
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
                out.spans.append((date(y, mo, d0), date(y, mo, d0)))
            else:
                out.yearless.append((mo, sel, sel))
        elif unit == "week":
            rng = (-7, -1) if n == -1 else (7 * (n - 1) + 1, min(7 * n, 31))
            if y:
                last = _last_day(y, mo)
                a, b = (last - 6, last) if n == -1 else (rng[0], min(rng[1], last))
                if a <= last:
                    out.spans.append((date(y, mo, a), date(y, mo, b)))
            else:
                out.yearless.append((mo, max(rng[0], 1) if n != -1 else 22, rng[1] if n != -1 else -1))
        else:  # weekend
            out.weekdays |= {"Sat", "Sun"}
            if y:
                sats = [d for d in range(1, _last_day(y, mo) + 1) if date(y, mo, d).weekday() == 5]
                sat = sats[-1] if n == -1 else sats[min(n, len(sats)) - 1]
                end = min(sat + 1, _last_day(y, mo))
                out.spans.append((date(y, mo, sat), date(y, mo, end)))
            else:
                out.yearless.append((mo, 1, -1))
        ctx.take(*m.span())

    for m in p["month_of_year"].finditer(t):
        if ctx.free(*m.span()):
            n, y = lang.ORDINALS[m.group(1).lower()], int(m.group(2))
            mo = 12 if n == -1 else n
            if 1 <= mo <= 12:
                out.spans.append(_month_range(y, mo))
            ctx.take(*m.span())

    for m in p["month_part"].finditer(t):
        if not ctx.free(*m.span()):
            continue
        mo = _month_no(lang, m.group(2))
        a, b = next(rng for pat, rng in lang.MONTH_PARTS if re.fullmatch(pat, m.group(1).strip(), re.I))
        if m.group(3):
            y = int(m.group(3))
            last = _last_day(y, mo)
            out.spans.append((date(y, mo, a), date(y, mo, last if b == -1 else b)))
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
                out.spans.append((got, got) if got else _month_range(int(y), mo))
            else:
                if d > calendar.monthrange(2000, mo)[1]:
                    ctx.warnings.append(f"ignored an impossible date: {m.group(0).strip()}")
                    out.yearless.append((mo, 1, -1))
                else:
                    out.yearless.append((mo, d, d))
            ctx.take(*m.span())

    for m in p["month_year"].finditer(t):
        if ctx.free(*m.span()):
            out.spans.append(_month_range(int(m.group(2)), _month_no(lang, m.group(1))))
            ctx.take(*m.span())

    for m in p["season_year"].finditer(t):
        if ctx.free(*m.span()) and not re.search(lang.SEASON_SKIP_BEFORE, t[:m.start()], re.I):
            months, y = lang.SEASONS[m.group(1).lower()], int(m.group(2))
            if months[0] > months[-1]:  # winter of Y: December Y .. February Y+1
                out.spans.append((date(y, months[0], 1), _month_range(y + 1, months[-1])[1]))
            else:
                out.spans.append((date(y, months[0], 1), _month_range(y, months[-1])[1]))
            ctx.take(*m.span())

    for m in p["year"].finditer(t):
        if ctx.free(*m.span()):
            after = t[m.end():m.end() + 12].lower()
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
    return out


def _resolve_dates(d: _Dates) -> tuple[date | None, date | None, tuple[int, ...]]:
    spans = list(d.spans)
    years = sorted(set(d.years))
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
    if not spans:
        return None, None, months
    return min(s for s, _ in spans), max(e for _, e in spans), months


def _parse_weekdays(ctx: _Ctx, extra: set[str]) -> tuple[str, ...]:
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


def _clock_minutes(lang, raw: str, mer: str | None, daypart: str | None = None) -> int | None:
    raw = raw.lower().strip()
    if re.fullmatch(lang.MIDNIGHT, raw):
        return 24 * 60
    if re.fullmatch(lang.NOON, raw):
        return 12 * 60
    if raw in lang.NUMBER_WORDS:
        h, mi = lang.NUMBER_WORDS[raw], 0
    else:
        h, _, mm = raw.partition(":")
        h, mi = int(h), int(mm or 0)
    merid = (mer or "").lower().replace(".", "")
    if not merid and daypart:
        merid = lang.CLOCK_DAYPART_AFTER.get(daypart, "")
    if merid.startswith("p"):
        if not 1 <= h <= 12:
            return None
        h = h % 12 + 12
    elif merid.startswith("a"):
        if not 1 <= h <= 12:
            return None
        h = h % 12
    if not 0 <= h <= 23 or not 0 <= mi <= 59:
        return None
    return h * 60 + mi


def _parse_clock(ctx: _Ctx) -> list[tuple[int, int]]:
    lang, t, p = ctx.lang, ctx.t, _patterns(ctx.lang)
    out: list[tuple[int, int]] = []

    def explicit(raw: str, mer: str | None) -> bool:
        return bool(mer) or ":" in raw or bool(re.fullmatch(lang.MIDNIGHT, raw.strip(), re.I))

    for name in ("between", "from_to"):
        for m in p[name].finditer(t):
            if not ctx.free(*m.span()):
                continue
            a_raw, a_mer, b_raw, b_mer = m.group(1), m.group(2), m.group(3), m.group(4)
            if not (explicit(a_raw, a_mer) or explicit(b_raw, b_mer)):
                continue
            a = _clock_minutes(lang, a_raw, a_mer or b_mer)
            b = _clock_minutes(lang, b_raw, b_mer or a_mer)
            if a is None or b is None or a == b:
                continue
            if b < a:
                b += 1440
            out.append((a % 1440, a % 1440 + (b - a)))
            ctx.take(*m.span())
    for name in ("before", "after"):
        for m in p[name].finditer(t):
            if not ctx.free(*m.span()) or not explicit(m.group(1), m.group(2)) and not re.fullmatch(
                    lang.NOON, m.group(1), re.I):
                continue
            v = _clock_minutes(lang, m.group(1), m.group(2))
            if v is None:
                continue
            v = min(v, 1440)
            if name == "before" and v > 0:
                out.append((0, v))
            elif name == "after" and v < 1440:
                out.append((v, 1440))
            else:
                continue
            ctx.take(*m.span())
    for m in p["at"].finditer(t):
        if not ctx.free(*m.span()):
            continue
        raw, mer, daypart = m.group(1), m.group(2), m.group(3)
        if not (explicit(raw, mer) or daypart):
            continue
        if raw.isdigit() and not mer and not daypart:
            continue
        v = _clock_minutes(lang, raw, mer, daypart.lower() if daypart else None)
        if v is None:
            continue
        a = (v - 60) % 1440
        out.append((a, a + 120))
        ctx.take(*m.span())
    return out


def _parse_parts(ctx: _Ctx) -> list[tuple[int, int]]:
    lang, t, p = ctx.lang, ctx.t, _patterns(ctx.lang)
    found: list[tuple[int, int]] = []
    for rx, (a, b), kind in p["parts"]:
        for m in rx.finditer(t):
            if not ctx.free(*m.span()):
                continue
            left = ctx.before(m.start())
            s0, _ = ctx.sentence(m.start())
            if re.search(lang.NEGATION_BEFORE, left, re.I):
                ctx.take(*m.span(), remove=False)
                continue
            if kind == "meal" and re.search(lang.MEAL_SKIP_BEFORE, left, re.I):
                ctx.take(*m.span(), remove=False)
                continue
            if re.search(lang.LATER_SENTENCE_OPENERS, t[s0:m.start()], re.I):
                ctx.take(*m.span(), remove=False)
                continue
            found.append((a, b))
            ctx.take(*m.span(), remove=(kind == "part"))
    # A range containing another is the vaguer statement of the same moment: keep the narrower.
    uniq = sorted(set(found))
    keep = [r for r in uniq if not any(o != r and r[0] <= o[0] and o[1] <= r[1] for o in uniq)]
    return [(a * 60, b * 60) for a, b in keep]


def _merge(ranges: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    out: list[list[int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return tuple((a, b) for a, b in out)


def _parse_semantic(ctx: _Ctx) -> tuple[str, ...]:
    lang, t = ctx.lang, ctx.t
    labels: list[str] = []
    for label, rx in _patterns(lang)["semantic"]:
        for m in rx.finditer(t):
            if not ctx.free(*m.span()):
                continue
            ctx.take(*m.span(), remove=False)
            if re.search(lang.SEMANTIC_SKIP_BEFORE, ctx.before(m.start()), re.I):
                continue
            if label not in labels:
                labels.append(label)
    return tuple(labels)


@dataclass
class _Places:
    countries: list[str] = field(default_factory=list)
    cities: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)


def _parse_places(ctx: _Ctx) -> _Places:
    lang, t, raw = ctx.lang, ctx.t, ctx.raw
    gaz = gazetteer(lang)
    toks = [(m.start(), m.end(), m.group(0)) for m in WORD_RE.finditer(t)]
    all_lower = not any(c.isupper() for c in t)
    out = _Places()
    # countries named anywhere disambiguate same-named cities ("Sligo, Ireland")
    named_countries = frozenset(
        g.country for k in {key_of(w) for _, _, w in toks}
        for g in gaz.big.get(k, ()) if g.kind == "country")

    def sentence_initial(i: int) -> bool:
        if i == 0:
            return True
        gap = t[toks[i - 1][1]:toks[i][0]]
        return bool(re.search(r"[.!?;:\n(\"]", gap))

    def adjacent(i: int, j: int) -> bool:
        return 0 <= i < len(toks) and 0 <= j < len(toks) and t[toks[i][1]:toks[j][0]] in (" ", "-")

    def capitalised(i: int) -> bool:
        return toks[i][2][:1].isupper()

    i = 0
    while i < len(toks):
        hit = None
        for n in range(min(gaz.max_words, len(toks) - i), 0, -1):
            j = i + n
            a, b = toks[i][0], toks[j - 1][1]
            if not ctx.free(a, b) or any(not adjacent(k, k + 1) for k in range(i, j - 1)):
                continue
            key = " ".join(fold(w).rstrip(".") for _, _, w in toks[i:j])
            if key in lang.GEO_TYPE_WORDS or key in lang.VENUE_NOUNS:
                continue  # "Airport" alone is no place
            prev = toks[i - 1][2].lower() if i > 0 and adjacent(i - 1, i) else ""
            prev_prep = prev in lang.PLACE_PREPOSITIONS
            small = prev in lang.SMALL_PLACE_PREPOSITIONS and capitalised(i) and not all_lower
            geo = gaz.lookup(key, small=small, countries=named_countries)
            if geo is None:
                continue
            hit = (j, geo, key, prev_prep)
            break
        if hit is None:
            i += 1
            continue
        j, geo, key, prev_prep = hit
        a, b = toks[i][0], toks[j - 1][1]
        surface = raw[a:b]
        ok = True
        if key in gaz.case_sensitive and surface != surface.upper():
            ok = False
        if key not in gaz.case_sensitive and geo.kind != "country" and (
                len(key.replace(" ", "")) <= 2 or (len(surface) > 1 and surface.isupper())):
            ok = False  # "TO" in "[1 TO 2]", "OR": shouting or syntax, not the town Tô
        common = key in lang.COMMON_WORD_PLACES
        if not all_lower and not capitalised(i):
            ok = False
        if common and (all_lower or sentence_initial(i)) and not prev_prep:
            ok = False
        if all_lower and not prev_prep and geo.kind == "city" and geo.population < lang.LOWERCASE_CITY_MIN_POPULATION:
            ok = False  # "what a beautiful sunset": a word, not Sunset (Canada)
        # Part of a longer capitalised name: "Paris Hilton", "Clayton Hotel" (but "Dublin Airport" is a place).
        if ok and not all_lower and j < len(toks) and adjacent(j - 1, j) and capitalised(j):
            run, k = [], j
            while k < len(toks) and adjacent(k - 1, k) and capitalised(k) and len(run) < 4:
                run.append(fold(toks[k][2]))
                k += 1
            nxt = gaz.lookup(key_of(toks[j][2]))
            if nxt is None and not any(w in lang.GEO_TYPE_WORDS for w in run):
                ok = False
        if ok and not all_lower and i > 0 and adjacent(i - 1, i) and capitalised(i - 1) \
                and not sentence_initial(i - 1) and gaz.lookup(key_of(toks[i - 1][2])) is None \
                and fold(toks[i - 1][2]) not in lang.PLACE_PREPOSITIONS:
            ok = False  # "Steve Sheffield": a person
        if ok and geo.small and j < len(toks) and adjacent(j - 1, j) and fold(toks[j][2]) in lang.VENUE_NOUNS:
            ok = False  # "Sole restaurant"
        if not ok:
            i += 1
            continue
        while j < len(toks) and adjacent(j - 1, j) and capitalised(j) and fold(toks[j][2]) in lang.GEO_TYPE_WORDS:
            j += 1  # "Frankfurt Airport" is one place name
        b = toks[j - 1][1]
        surface = raw[a:b]
        out.places.append(surface)
        constrains = True
        if i > 0 and adjacent(i - 1, i) and toks[i - 1][2].lower() == lang.ORIGIN_WORD:
            s0, s1 = ctx.sentence(a)
            constrains = bool(re.search(lang.ROUTE_CUES, t[s0:s1], re.I))  # "flew home from China": origin only
        if constrains:
            if geo.kind in ("city", "landmark") and geo.name not in out.cities:
                out.cities.append(geo.name)
                out.aliases.extend(x for x in geo.aliases if x not in out.aliases)
            if geo.country and geo.country not in out.countries:
                out.countries.append(geo.country)
        ctx.take(a, b, remove=(geo.kind != "landmark"))
        i = j
    return out


_GLUE = {"in", "on", "at", "during", "around", "the", "a", "an", "of", "this", "one", "every", "from", "to",
         "back", "between", "and", "or", "on a", "last", "early", "late", "mid", "sometime", "some", "time"}


def _visual_text(ctx: _Ctx) -> str:
    t = ctx.raw
    keep = [True] * len(t)
    for a, b in ctx.remove:
        for k in range(a, b):
            keep[k] = False
        if (a, b) in ctx.key_values:
            continue  # a key:value term was not introduced by "in", "on a"...: the words before it stay
        # drop the little words that introduced the removed phrase ("in", "on a", "at the")
        s = a
        for _ in range(3):
            m = re.search(r"(\w+)\s+$", t[:s])
            if not m or m.group(1).lower() not in _GLUE:
                break
            s = m.start()
        for k in range(s, a):
            keep[k] = False
    text = "".join(c for c, k in zip(t, keep) if k)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    text = re.sub(r"(^|[.!?]\s*)[,;:]\s*", r"\1", text)
    text = re.sub(r"\b(?:it was|it's|it is)\s*(?:(?:or|and)\s*)?([.!?]|$)", r"\1", text, flags=re.I)
    text = re.sub(r"(?:^|\s)[.,;:]+(?=\s|$)", " ", text)
    text = re.sub(r"\s+", " ", text).strip(" ,;:")
    return text


def parse_query(text: str, today: date | None = None, lang: str = "en") -> ParsedQuery:
    """Parse what a user typed into a structured request.

    Args:
        text: the query as typed (any length; more than 20 000 characters are cut).
        today: the local date that relative phrases ("yesterday", "last year") count from; default today.
        lang: language of the word tables (``LANGUAGES``); only ``"en"`` so far.

    Returns:
        ParsedQuery: constraints are soft (``.soft``), key:value terms are hard (``.filters``).

    Raises:
        FilterError: a key:value term has an unknown key, a bad or empty value, or a quote that is never closed
            (the message names the key).
        KeyError: an unknown ``lang``.
    """
    words = LANGUAGES[lang]
    raw = (text if isinstance(text, str) else str(text))[:MAX_CHARS]
    kv_notices: list[str] = []
    filters, kv_spans = extract_filters(raw, words, kv_notices)
    t = raw.translate(_QUOTES)
    blocked = [False] * len(raw)
    for a, b in _quoted_spans(raw) + kv_spans:
        for k in range(a, b):
            blocked[k] = True
    ctx = _Ctx(raw=raw, t=t, blocked=blocked, today=today or date.today(), lang=words)
    ctx.warnings.extend(kv_notices)
    ctx.remove.extend(kv_spans)
    ctx.key_values.extend(kv_spans)

    dates = _parse_dates(ctx)
    date_from, date_to, months = _resolve_dates(dates)
    weekdays = _parse_weekdays(ctx, dates.weekdays)
    clock = _parse_clock(ctx)
    parts = _parse_parts(ctx)
    hour_ranges = _merge(clock) if clock else _merge(parts)
    semantic = _parse_semantic(ctx)
    places = _parse_places(ctx)
    q = analyse_question(t, words)

    full = raw
    for a, b in sorted(kv_spans, reverse=True):
        full = full[:a] + full[b:]
    full = re.sub(r"\s+", " ", full).strip()
    return ParsedQuery(
        text=full, visual=_visual_text(ctx), date_from=date_from, date_to=date_to, months=months,
        weekdays=weekdays, hour_ranges=hour_ranges, countries=tuple(places.countries), cities=tuple(places.cities),
        city_aliases=tuple(places.aliases), semantic=semantic, places=tuple(dict.fromkeys(places.places)),
        filters=tuple(filters), is_question=q.is_question, answer_type=q.answer_type, answer_kind=q.answer_kind,
        warnings=tuple(ctx.warnings))


__all__ = ["ParsedQuery", "parse_query", "LANGUAGES"]

"""Query understanding: free text -> a structured request (``ParsedQuery``).

:func:`parse_query` runs the recognisers over one shared parse state (scan.py), each taking what it understood so
that a later one never reads the same words, in this order (all in the user's local time):

* the lifelog's own venues when a vocabulary is given (vocab.py): names from the store, matched first;
* dates and weekdays (dates.py): years, months, days, seasons, named days and relative expressions;
* clock times, else parts of day (clock.py) -> hour ranges;
* semantic places, home and work (semantic.py), only where the moment happens;
* countries, cities and landmarks (places.py, with the gazetteer of gazetteer.py);
* text to read off a sign or a document (readable.py: "10/2019", "pump #8", quoted phrases) -> a graded OCR boost;
* key:value hard filters first of all (keyvalue.py) and question detection / answer type last (questions.py).

The CLIP text encoder gets ``visual`` (the text with constraint phrases removed), the TaT encoder gets ``text``
(the full text without key:value terms, since CapMeta carries time and place as words). Parsed constraints are
*soft* (``soft``: graded score boosts, soft.py); only key:value terms are hard ``filters``.

All word lists come from a language module (``LANGUAGES``); English is the only one so far.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..filters import Filter
from . import lang_en
from .clock import merge_ranges, parse_clock, parse_parts
from .dates import parse_dates, parse_weekdays, resolve_dates
from .keyvalue import extract_filters
from .places import parse_places
from .questions import analyse_question
from .scan import QUOTES, Scan, quoted_spans
from .readable import parse_readable
from .semantic import parse_semantic
from .vocab import parse_venues
from .soft import (SoftConstraint, SoftDateRange, SoftHours, SoftMonths, SoftPlace, SoftText, SoftWeekdays,
                   describe)

LANGUAGES = {"en": lang_en}
OPEN_START, OPEN_END = date(1900, 1, 1), date(2100, 12, 31)  # the open side of a one-sided date range
MAX_CHARS = 20_000  # longer input is cut (a search box never holds more; keeps parsing bounded)


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
        excluded: normalised names of negated places ("not in Dublin"): a soft penalty (``SoftPlace`` with a
            negative weight), never a positive constraint.
        venues: the lifelog's own place names (``semantic_name`` values of the store's vocabulary, vocab.py)
            the text names.
        read_terms: text to read ("10/2019", "pump 8", a quoted phrase; readable.py): a graded boost on the OCR
            text (``SoftText``).
        decisions: what each phrase became and the evidence (``lifeseeker parse`` shows them).
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
    excluded: tuple[str, ...] = ()
    venues: tuple[str, ...] = ()
    read_terms: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    is_question: bool = False
    answer_type: str | None = None
    answer_kind: str | None = None
    warnings: tuple[str, ...] = field(default=())
    decisions: tuple[dict[str, Any], ...] = field(default=())

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
        if self.date_from or self.date_to:  # one side open: "before 2016", "since May 2019"
            out.append(SoftDateRange(self.date_from or OPEN_START, self.date_to or OPEN_END))
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
        if self.venues:
            out.append(SoftPlace("places", self.venues))  # places holds semantic_name, locality, city, country
        if self.excluded:
            out.append(SoftPlace("places", self.excluded, weight=-0.05))
        if self.read_terms:
            out.append(SoftText(self.read_terms))
        return tuple(out)

    def constraints(self) -> dict[str, Any]:
        """The scored constraint fields, in the shape of the ``expect`` labels of tests/fixtures/lsc-topics."""
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
        if self.venues:
            out["venue"] = list(self.venues)
        if self.excluded:
            out["exclude"] = list(self.excluded)
        out["is_question"] = self.is_question
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: ``lifeseeker parse`` output (keys include ``is_question`` and ``answer_type``)."""
        from .keyvalue import describe_filter

        return {
            "text": self.text, "visual": self.visual, **{k: v for k, v in self.constraints().items()},
            "answer_type": self.answer_type, "answer_kind": self.answer_kind, "places": list(self.places),
            "read_terms": list(self.read_terms), "soft": [describe(c) for c in self.soft],
            "filters": [describe_filter(f) for f in self.filters],
            "warnings": list(self.warnings), "decisions": list(self.decisions),
        }


_GLUE = {"in", "on", "at", "during", "around", "the", "a", "an", "of", "this", "one", "every", "from", "to",
         "back", "between", "and", "or", "on a", "last", "early", "late", "mid", "sometime", "some", "time"}


def _visual_text(ctx: Scan) -> str:
    """The typed text without the removed constraint phrases and the little words that introduced them."""
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
    text = re.sub(r"\(\s*\)|\[\s*\]", "", text)  # brackets left empty by a removed phrase
    text = re.sub(r"\s+", " ", text).strip(" ,;:")
    return text


def parse_query(text: str, today: date | None = None, lang: str = "en", vocabulary=None) -> ParsedQuery:
    """Parse what a user typed into a structured request.

    Args:
        text: the query as typed (any length; more than 20 000 characters are cut).
        today: the local date that relative phrases ("yesterday", "last year") count from; default today.
        lang: language of the word tables (``LANGUAGES``); only ``"en"`` so far.
        vocabulary: the lifelog's own place names (vocab.py ``Vocabulary``, from the store), or None.

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
    t = raw.translate(QUOTES)
    blocked = [False] * len(raw)
    for a, b in quoted_spans(raw) + kv_spans:
        for k in range(a, b):
            blocked[k] = True
    ctx = Scan(raw=raw, t=t, blocked=blocked, today=today or date.today(), lang=words, vocabulary=vocabulary)
    ctx.warnings.extend(kv_notices)
    ctx.remove.extend(kv_spans)
    ctx.key_values.extend(kv_spans)

    venues = parse_venues(ctx, vocabulary) if vocabulary is not None else ()  # first: "Night Market", "May St"
    dates = parse_dates(ctx)
    date_from, date_to, months = resolve_dates(dates)
    weekdays = parse_weekdays(ctx, dates.weekdays)
    clock = parse_clock(ctx)
    parts = parse_parts(ctx)
    hour_ranges = merge_ranges(clock) if clock else merge_ranges(parts)
    semantic = parse_semantic(ctx)
    places = parse_places(ctx)
    read_terms = parse_readable(ctx)
    q = analyse_question(t, words)

    full = raw
    for a, b in sorted(kv_spans, reverse=True):
        full = full[:a] + full[b:]
    full = re.sub(r"\s+", " ", full).strip()
    return ParsedQuery(
        text=full, visual=_visual_text(ctx), date_from=date_from, date_to=date_to, months=months,
        weekdays=weekdays, hour_ranges=hour_ranges, countries=tuple(places.countries), cities=tuple(places.cities),
        city_aliases=tuple(places.aliases), semantic=semantic, places=tuple(dict.fromkeys(places.places)),
        excluded=tuple(places.excluded), venues=tuple(venues), read_terms=tuple(read_terms),
        decisions=tuple(ctx.decisions),
        filters=tuple(filters), is_question=q.is_question, answer_type=q.answer_type, answer_kind=q.answer_kind,
        warnings=tuple(ctx.warnings))


__all__ = ["ParsedQuery", "parse_query", "LANGUAGES"]

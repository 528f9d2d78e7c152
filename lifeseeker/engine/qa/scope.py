"""The time and place scope of a question (issue 19): which frames of the lifelog a count, a date or a name is
taken from.

A :class:`Scope` is built from the parsed query (``query/parse.py``: dates, months, weekdays, hours, countries,
cities, semantic places) and the lifelog itself:

* **venue**: the longest known place name (a ``semantic_name`` of the lifelog, e.g. "Bean There Café", "Hudson
  Hotel") written in the question, compared folded (case, accents) word by word; else a venue the parser found
  with the store's vocabulary (``ParsedQuery.venues``: "Brazen Haed" is the Brazen Head);
* **continents**: "Asia", "Europe", "North America"... (GeoNames continent codes, ``travel.continent_of``); the
  parser may read such a word as a town (there is an "Asia" in the Philippines), so a continent named replaces the
  parser's places;
* **outside**: "outside Ireland", "away from Ireland" (the countries named after them), "abroad" / "overseas" (the home country:
  the most frequent country of the lifelog's located frames, :func:`home_country`);
* **concept**: what the question looks for ("a shop with clothes on display", "a BBQ in the garden"): the parser's
  visual remainder without the question's scaffolding, the venue's name and the semantic place; '' when only
  words of counting and dating are left ("my last day at work").

A frame is *in scope* when its local time passes every time constraint and its place every place constraint;
an empty scope makes the answer "no photo matches", never another place's answer.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Iterable, Sequence

from ..text import fold
from .routing import content_words
from .travel import CONTINENT_WORDS, continent_of

_SEMANTIC_WORDS = re.compile(r"\b(?:at\s+home|at\s+work|in\s+the\s+office|my\s+(?:home|house|office))\b", re.I)
_OUTSIDE = re.compile(r"\b(?:outside|away\s+from)\s+(?:of\s+)?(?:the\s+)?([A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*)")
_ABROAD = re.compile(r"\b(?:abroad|overseas|out\s+of\s+the\s+country)\b", re.I)
# question scaffolding stripped from the front of the concept ("how many times did I visit" a shop ...)
_LEAD = re.compile(
    r"^\s*(?:(?:how\s+many\s+(?:times|visits|trips|occasions)|how\s+often|on\s+what\s+date|on\s+which\s+(?:date|"
    r"day)|what\s+(?:date|day)|when)\s+)?(?:did|do|have|had|was|were)?\s*(?:i|we)?\s*(?:ever\s+|last\s+|first\s+|"
    r"go\s+|went\s+)?(?:visit(?:ed)?|go(?:ne)?\s+(?:to|into)|went\s+(?:to|into)|enter(?:ed)?|stop(?:ped)?\s+at|"
    r"shop(?:ped)?\s+at|be(?:en)?\s+(?:at|in)|at|to|in)?\s*", re.I)
_TAIL = re.compile(r"[?.!\s]+$")
# words of counting and dating questions that name no thing to look for ("my last day at work", "stay", "trip")
_NOT_A_THING = frozenset("day days date night nights stay stayed spend spent sleep slept trip trips times "
                         "time visit visits visited ever been be gone go went first last latest final take took taken there make made pay paid come came of for with and or on at in to from by it that this me my".split())
_ORDINAL = re.compile(r"\b(?:the\s+)?(?:first|last|latest|final|most\s+recent)\s+(?:time\s+)?", re.I)


@dataclass(frozen=True)
class Scope:
    """Where and when a question looks.

    Attributes:
        date_from, date_to: inclusive local dates (None: open).
        months, weekdays, hour_ranges: as in ``ParsedQuery``.
        countries, cities: any of these (folded comparison; cities against locality/city/region/places).
        continents: GeoNames continent codes (``EU``, ``AS``...), any of these.
        outside: countries excluded (``abroad`` = the home country).
        semantic: semantic place labels (``home``, ``work``) compared with ``semantic_name``.
        venue: the named venue (a ``semantic_name``), or None.
        concept: what to look for when no venue is named ('' = nothing visual).
    """

    date_from: date | None = None
    date_to: date | None = None
    months: tuple[int, ...] = ()
    weekdays: tuple[str, ...] = ()
    hour_ranges: tuple[tuple[int, int], ...] = ()
    countries: tuple[str, ...] = ()
    cities: tuple[str, ...] = ()
    continents: tuple[str, ...] = ()
    outside: tuple[str, ...] = ()
    semantic: tuple[str, ...] = ()
    venue: str | None = None
    concept: str = ""
    notes: tuple[str, ...] = field(default=())

    def in_time(self, doc: dict) -> bool:
        """Whether the frame's local time passes the date, month, weekday and hour constraints."""
        t = doc.get("local_time")
        if t is None:
            return False
        if self.date_from and t.date() < self.date_from or self.date_to and t.date() > self.date_to:
            return False
        if self.months and t.month not in self.months:
            return False
        if self.weekdays and doc.get("weekday") not in self.weekdays:
            return False
        if self.hour_ranges:
            m = t.hour * 60 + t.minute
            if not any(a <= m < b or a <= m + 1440 < b for a, b in self.hour_ranges):
                return False
        return True

    def in_region(self, doc: dict) -> bool:
        """Whether the frame's place passes the country, city, continent and outside constraints (not the venue:
        see :meth:`at_venue`). A frame without a country fails any country-like constraint."""
        country = doc.get("country")
        if self.countries and fold(country or "") not in {fold(c) for c in self.countries}:
            return False
        if self.cities:
            names = {fold(x) for x in [doc.get("locality"), doc.get("city"), doc.get("region"),
                                       *(doc.get("places") or [])] if x}
            if not names & {fold(c) for c in self.cities}:
                return False
        if self.continents and continent_of(country) not in self.continents:
            return False
        if self.outside and (not country or fold(country) in {fold(c) for c in self.outside}):
            return False
        return True

    def at_venue(self, doc: dict) -> bool:
        """Whether the frame is at the named venue / semantic place (True when neither is asked)."""
        sem = fold(doc.get("semantic_name") or "")
        if self.venue and sem != fold(self.venue):
            return False
        if self.semantic and sem not in {fold(s) for s in self.semantic}:
            return False
        return True

    @property
    def has_place(self) -> bool:
        """Whether any place constraint is set."""
        return bool(self.countries or self.cities or self.continents or self.outside)

    def describe(self, venue: bool = True) -> str:
        """The scope in words (for explanations and "no photo matches"); ``venue``: say the venue too."""
        parts = []
        if self.venue and venue:
            parts.append(f"at {self.venue}")
        if self.semantic and venue:
            parts.append("at " + "/".join(self.semantic))
        if self.countries or self.cities:
            parts.append("in " + "/".join(self.cities or self.countries))
        if self.continents:
            parts.append("in " + "/".join(self.continents))
        if self.outside:
            parts.append("outside " + "/".join(self.outside))
        if self.date_from or self.date_to:
            parts.append(f"from {self.date_from or '…'} to {self.date_to or '…'}")
        if self.months:
            parts.append("in months " + ",".join(map(str, self.months)))
        return " ".join(parts) or "the whole lifelog"


def home_country(docs: Iterable[dict]) -> str | None:
    """The most frequent country among located frames (ties: alphabetical), None without any."""
    c = Counter(d.get("country") for d in docs if d.get("country"))
    return min(c, key=lambda k: (-c[k], k)) if c else None


def find_venue(question: str, names: Iterable[str]) -> str | None:
    """The longest of ``names`` whose folded words occur consecutively in the folded question (None if none);
    a leading "the" of a name is optional."""
    q = " " + " ".join(re.findall(r"\w+", fold(question))) + " "
    best = None
    for n in set(names):
        words = [w for w in re.findall(r"\w+", fold(n))]
        if words and words[0] == "the":
            words = words[1:]
        if words and f" {' '.join(words)} " in q and (best is None or len(n) > len(best)):
            best = n
    return best


def concept_text(visual: str, venue: str | None = None) -> str:
    """What the question looks for: ``visual`` without the question scaffolding, ordinals and the venue name."""
    s = _ORDINAL.sub(" ", visual)
    s = _LEAD.sub("", s, count=1)
    if venue:
        s = re.sub(re.escape(venue), " ", s, flags=re.I)
    s = _ABROAD.sub(" ", s)
    s = re.sub(r"\s+", " ", _TAIL.sub("", s)).strip()
    return s if [w for w in content_words(s) if w not in _NOT_A_THING] else ""


def build_scope(question: str, parsed, docs: Sequence[dict]) -> Scope:
    """The scope of ``question`` (module docstring) over the lifelog ``docs``.

    Args:
        question: the text asked.
        parsed: its ``ParsedQuery``.
        docs: the lifelog's frames (venue names and the home country are read from them).
    """
    low = question.lower()
    continents = tuple(code for word, code in CONTINENT_WORDS if re.search(rf"\b{word}\b", low))
    countries, cities = tuple(parsed.countries), tuple(dict.fromkeys(parsed.cities + parsed.city_aliases))
    notes = []
    if continents:  # "Asia" is a continent here, not the town the gazetteer knows
        countries, cities = (), ()
    outside = tuple(m.group(1) for m in _OUTSIDE.finditer(question))
    if outside:
        countries = tuple(c for c in countries if fold(c) not in {fold(o) for o in outside})
    if _ABROAD.search(question):
        home = home_country(docs)
        if home:
            outside += (home,)
            notes.append(f"abroad = outside {home} (the country with the most frames)")
    from ..query.lang_en import SEMANTIC_PLACES

    labels = {fold(k) for k in SEMANTIC_PLACES}  # "Home", "Work": semantic places, whose words the parser judges
    names = {d["semantic_name"] for d in docs if d.get("semantic_name") and fold(d["semantic_name"]) not in labels}
    # written as stored, else the venue the parser recognised with the store's vocabulary (a small typo forgiven)
    venue = find_venue(question, names) or next(
        (n for v in getattr(parsed, "venues", ()) for n in sorted(names) if fold(n) == fold(v)), None)
    typed = next((d["text"] for d in getattr(parsed, "decisions", ()) if venue and isinstance(d, dict)
                  and fold(str(d.get("as", ""))) == fold(f"venue {venue}") and d.get("text")), venue)
    semantic = tuple(s for s in parsed.semantic if not venue or fold(s) not in fold(venue))
    if venue:  # a venue named like a town the gazetteer also knows ("Zara"): the venue decides, and the countries
        # kept are those written in the question (not those the town implied)
        cities = tuple(c for c in cities if fold(c) not in fold(venue))
        countries = tuple(c for c in countries if fold(c) in fold(question) and fold(c) not in fold(venue))
    return Scope(parsed.date_from, parsed.date_to, tuple(parsed.months), tuple(parsed.weekdays),
                 tuple(parsed.hour_ranges), countries, cities, continents, outside, semantic, venue,
                 concept_text(_SEMANTIC_WORDS.sub(" ", parsed.visual) if semantic else parsed.visual, typed),
                 tuple(notes))


__all__ = ["Scope", "build_scope", "find_venue", "concept_text", "home_country"]

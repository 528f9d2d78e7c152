"""Question shapes answered over stays and the travel timeline (issue 19), recognised before the general routes
of ``routing.py`` (which still answer every other question).

=========  ==========================================================  =============================================
shape      wording (English patterns below)                            answered by
=========  ==========================================================  =============================================
flights    "how many (intercontinental / international / domestic)     ``trips.answer_flights``
           flights", "flights between continents"
nights     "how many nights"                                           ``visits.answer_nights``
trips      "how many times / trips" + abroad, outside X, a continent   ``trips.answer_trips``
           or a country, with nothing else to look for
visits     "how many times / visits / how often" + a venue or a thing  ``visits.answer_visits``
dates      "what date / which day / when" + first / last / a venue or  ``visits.answer_date``
           "what was my last/first day at work"
names      "what was the name of", "which / what brand", "what         ``names.answer_name``
           number", "which shop"
colours    "what colours were the X and the Y" (two objects)           ``names.answer_colours``
ever       "did I ever go to / have I been to / was I ever in" + a      ``ever.answer_ever`` (yes / no)
           place, a venue or a semantic place
=========  ==========================================================  =============================================

``order`` of dates: ``first`` / ``last`` (superlatives and ordinals over stays), else ``best`` (the best matching
stay). ``modifier`` of flights: ``intercontinental``, ``international``, ``domestic`` or None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FLIGHTS = re.compile(r"\bhow\s+many\s+(?:(intercontinental|international|domestic|long[- ]haul)\s+)?"
                      r"(?:flights|planes?|plane\s+journeys|times\s+did\s+i\s+fly)\b|\bhow\s+(?:many\s+times|"
                      r"often)\s+did\s+i\s+(?:fly|take\s+a\s+(?:plane|flight))\b", re.I)
_FLIGHT_MOD = re.compile(r"\b(intercontinental|international|domestic|long[- ]haul)\b", re.I)
_BETWEEN_CONTINENTS = re.compile(r"\b(?:between|across)\s+continents\b|\bto\s+another\s+continent\b", re.I)
_NIGHTS = re.compile(r"\bhow\s+many\s+nights\b", re.I)
_COUNT = re.compile(r"\bhow\s+(?:many\s+(?:times|visits|trips|occasions)|often|frequently)\b|"
                    r"\bnumber\s+of\s+(?:times|visits|trips)\b", re.I)
_TRAVEL = re.compile(r"\b(?:abroad|overseas|outside|travel(?:l?ed)?|trips?)\b", re.I)
_DATE = re.compile(r"\b(?:on\s+)?(?:what|which)\s+(?:date|day)\b|\bwhen\b|\bwhat\s+was\s+(?:my|the)\s+(?:first|"
                   r"last|final)\s+day\b|\bwhat\s+was\s+the\s+date\b", re.I)
_FIRST = re.compile(r"\b(?:first|earliest)\b", re.I)
_LAST = re.compile(r"\b(?:last|latest|final|most\s+recent(?:ly)?)\b", re.I)
_NAME = re.compile(r"\bwhat\s+(?:was|is)\s+the\s+name\s+of\b|\b(?:which|what)\s+(?:\w+\s+)?(?:brand|shop|store|"
                   r"company|make)\b|\bwhat\s+(?:was\s+the\s+)?number\b|\bwhich\s+number\b", re.I)
# a yes/no question of presence: an auxiliary opening the sentence, I/we, then going / being somewhere
_EVER = re.compile(r"(?:^|[.!?]\s+)(?:did|have|had|was|were)\s+(?:i|we)\s+(?:ever\s+)?(?:(?:been|gone|go|went|"
                   r"travel(?:l?ed)?|stay(?:ed)?)\b|visit(?:ed)?\b|(?:in|at|to)\s)", re.I)
_COLOURS = re.compile(r"\bwhat\s+colou?rs?\s+(?:were|was|are|is)\s+(?:the\s+|my\s+)?(.+?)\s+and\s+(?:the\s+|my\s+)?"
                      r"(.+?)\s*\??$", re.I)


@dataclass(frozen=True)
class Shape:
    """A recognised question shape.

    Attributes:
        name: flights, nights, trips, visits, dates, names, colours or ever.
        order: dates: ``first`` / ``last`` / ``best``.
        modifier: flights: intercontinental / international / domestic / long-haul, or None.
        objects: colours: the objects asked about, in the order asked.
    """

    name: str
    order: str = "best"
    modifier: str | None = None
    objects: tuple[str, ...] = ()


def detect(question: str, scope_hint: bool) -> Shape | None:
    """The shape of ``question`` (module table), or None for the general routes.

    Args:
        question: the text asked.
        scope_hint: whether the question names a venue, a semantic place, a country, a continent, "abroad" or
            "outside" (a count over the travel timeline or over stays needs one of them, or a thing to look for).
    """
    q = question.strip()
    m = _COLOURS.search(q)
    if m:
        return Shape("colours", objects=(m.group(1).strip(), m.group(2).strip()))
    if _FLIGHTS.search(q):
        mod = _FLIGHT_MOD.search(q)
        if mod is None and _BETWEEN_CONTINENTS.search(q):
            return Shape("flights", modifier="intercontinental")
        return Shape("flights", modifier=mod.group(1).lower().replace(" ", "-") if mod else None)
    if _NIGHTS.search(q):
        return Shape("nights")
    if _COUNT.search(q):
        return Shape("trips" if _TRAVEL.search(q) else "visits")
    if _NAME.search(q):
        return Shape("names")
    if _EVER.search(q):
        return Shape("ever")
    if _DATE.search(q):
        order = "first" if _FIRST.search(q) else "last" if _LAST.search(q) else "best"
        if order != "best" or scope_hint:
            return Shape("dates", order=order)
    return None


__all__ = ["Shape", "detect"]

"""Routing (step 1 of question answering, package docstring): a question -> its answer type and kind.

The query parser (``query/parse.py``, ``query/questions.py``) says whether the text is a question and its coarse
answer type; the English word patterns here refine it into one of ``ANSWER_TYPES`` and a *kind* (the table in the
package docstring), and note "the most" and after/before relations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

ANSWER_TYPES = ("time", "location", "counting", "duration", "visual")

# English word patterns; the parser's language table holds the coarse rules.
_TIME_KINDS = [
    ("month_year", r"\bmonth\s+and\s+year\b|\byear\s+and\s+month\b"),
    ("weekday", r"\bday\s+of\s+the\s+week\b|\b(?:what|which)\s+weekday\b"),
    ("clock", r"\b(?:what|which)\s+(?:time|hour)\b(?!\s+of\s+(?:the\s+)?(?:year|day|week))"),
    ("season", r"\b(?:what|which)\s+season\b"),
    ("month", r"\b(?:what|which)\s+month\b|\bmonth\s+of\s+the\s+year\b"),
    ("year", r"\b(?:what|which)\s+year'?s?\b"),
]
_LOCATION_KINDS = [
    ("country", r"\b(?:what|which)\s+country\b|\bcountry\s+(?:was|is)\s+it\b|\bheading\s+to\b"),
    ("region", r"\b(?:county|region|province|state)\b"),
    ("city", r"\b(?:what|which)\s+(?:city|town|village)\b"),
]
_MOVE = r"(?:go|goes|went|going|visit|visited|visiting|drive|drove|walk|walked|head|headed|heading|travel(?:l?ed)?)"
_RELATIONS = [
    ("after", rf"\b{_MOVE}\s+(?:to\s+)?(?:right\s+|straight\s+|just\s+)?after\b|\bafter\s+that\b|\bheading\s+to\b|"
              r"\bon\s+(?:my|our)\s+way\s+to\b|\bnext\b"),
    ("before", rf"\b{_MOVE}\s+(?:to\s+)?(?:right\s+|just\s+)?before\b|\bbefore\s+that\b"),
]
_MOST = r"\bthe\s+most\b|\bmost\s+(?:often|frequently)\b"
_COUNT_EVENTS = r"\bhow\s+(?:often|frequently)\b|\bhow\s+many\s+(?:times|visits|trips|occasions)\b|" \
                r"\bnumber\s+of\s+times\b"
_COUNT_DAYS = r"\bhow\s+many\s+(?:different\s+)?(days|nights)\b"
_COUNT_PLACES = r"\bhow\s+many\s+(?:different|distinct|separate)\b|\bhow\s+many\s+(?:\w+\s+)?(?:airports|shops|" \
                r"stores|restaurants|places|cities|countries|towns|hotels|pubs|bars|cafes|museums|venues|" \
                r"supermarkets|churches|stations)\b\s+(?:did|have|had|do)\b"
# "how many photos did I take in Italy?": a count of documents inside the constraints (no content, no VQA); "how
# many photos of dogs did I take" has content between and stays a count of things in view.
_PHOTO = r"(?:photos?|photographs?|pictures?|pics|images?|shots|snaps|snapshots)"
_COUNT_PHOTOS = rf"\bhow\s+many\s+{_PHOTO}\s+(?:(?:did|do|have|had)\s+(?:i|we)\s+(?:ever\s+)?" \
                r"(?:take|taken|took|shoot|shot|snap|snapped|capture|captured|make|made)|" \
                r"(?:were|was|are|is|have\s+been|had\s+been)\s+(?:there|taken|captured|shot|made))\b"
_DURATION_DAYS = r"\bhow\s+many\s+(?:days|weeks|months)\b"
_QUESTION_WORDS = frozenset(
    "how many much often frequently times time did do does i we me my was were is are have has had go went going "
    "to visit visited travel the a an in on at what which when where who long".split())


@dataclass(frozen=True)
class Route:
    """Where a question goes.

    Attributes:
        answer_type: one of ``ANSWER_TYPES``, or None when the text is not a question.
        kind: refinement of the type (module docstring table).
        most: "the most"/"most often": count matching events per value, answer the most frequent.
        relation: ``after``/``before``: the place visited after/before the evidence moment (location only).
        question: the sentence that asks (what VQA is asked).
        parser_type: the parser's coarse answer type, for reference.
    """

    answer_type: str | None
    kind: str | None = None
    most: bool = False
    relation: str | None = None
    question: str = ""
    parser_type: str | None = None


def _first(rules: Sequence[tuple[str, str]], text: str, default: str | None) -> str | None:
    return next((name for name, rx in rules if re.search(rx, text)), default)


def content_words(visual: str) -> list[str]:
    """Words of the parser's visual remainder that are not question scaffolding ("how many times did I go")."""
    return [w for w in re.findall(r"[a-z0-9']+", visual.lower()) if w not in _QUESTION_WORDS]


def route(text: str, parsed=None) -> Route:
    """Route a question to an answer type and kind.

    Args:
        text: the question as typed.
        parsed: its ``ParsedQuery`` (parsed here when None).
    Returns:
        Route; ``answer_type`` is None when the parser says the text is not a question.
    Raises:
        FilterError: a key:value term in ``text`` is malformed (from the parser).
    """
    from ..query.parse import parse_query
    from ..query.questions import analyse_question

    parsed = parsed if parsed is not None else parse_query(text)
    if not parsed.is_question:
        return Route(None, parser_type=None)
    info = analyse_question(text.translate(str.maketrans("\u2018\u2019\u201c\u201d", "''\"\"")))
    sentence = (info.sentence or text).strip()
    low = sentence.lower()
    ptype, pkind = parsed.answer_type, parsed.answer_kind
    most = bool(re.search(_MOST, low))
    if ptype == "time":
        return Route("time", _first(_TIME_KINDS, low, "date"), most, None, sentence, ptype)
    if ptype == "location":
        return Route("location", _first(_LOCATION_KINDS, low, "place"), most, _first(_RELATIONS, low, None),
                     sentence, ptype)
    if ptype == "duration":
        return Route("duration", "days" if re.search(_DURATION_DAYS, low) else "span", False, None, sentence, ptype)
    if ptype == "counting":
        if re.search(_COUNT_PHOTOS, low):
            return Route("counting", "photos", False, None, sentence, ptype)
        m = re.search(_COUNT_DAYS, low)
        if m:
            return Route("counting", m.group(1), False, None, sentence, ptype)
        if re.search(_COUNT_PLACES, low):
            return Route("counting", "places", False, None, sentence, ptype)
        if re.search(_COUNT_EVENTS, low):
            trips = not content_words(parsed.visual) and bool(parsed.countries or parsed.cities)
            return Route("counting", "trips" if trips else "events", False, None, sentence, ptype)
        return Route("visual", "count", False, None, sentence, ptype)
    if ptype == "visual":
        return Route("visual", pkind or "object", most, None, sentence, ptype)
    return Route("visual", "object", most, None, sentence, ptype)  # who / why / yes-no: ask the images


__all__ = ["ANSWER_TYPES", "Route", "route", "content_words"]

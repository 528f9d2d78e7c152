"""Question answering over the lifelog: route by answer type, answer from metadata or by VQA, with the evidence.

Flow (ARCHITECTURE.md: ``search.py`` hands questions to ``qa.py``):

1. **Route** (:func:`route`): the query parser (``query/parse.py``, ``query/questions.py``) says whether the text is
   a question and its coarse answer type; this module refines it into an answer type and a *kind*:

   =========  ==============================================================  ====================================
   type       kind                                                            answered from
   =========  ==============================================================  ====================================
   time       date, month, month_year, year, weekday, season, clock           ``local_time`` of the best events
   location   place (semantic_name, else locality, else city), city, region,  the place fields of the best events
              country; ``relation`` after/before = the next/previous place    (``Store.neighbours`` for relations)
   counting   events ("how many times", "how often"), days, nights, places    distinct matching events, days or
              ("how many different airports"), trips (going to a place),      places inside the constraints;
              photos ("how many photos did I take in Italy")                  photos: the document count (no VQA)
   duration   span, days                                                      span of the best matching event;
                                                                              distinct matching days
   visual     object, colour, ocr, count (things in view)                     BLIP VQA over the top images of the
                                                                              top events (OCR text as evidence)
   =========  ==============================================================  ====================================

   ``other`` questions of the parser (who, why, yes/no) go to VQA as ``visual/object``. A "the most"/"most often"
   in a time or location question counts matching events per value and answers the most frequent value.

2. **Evidence**: the question is searched as usual (fused score of ``search.py``: the CLIP text encoder gets the
   parser's visual remainder, the TaT encoder the full text; parsed time/place constraints are soft boosts,
   ``query/soft.py``) and the hits are grouped into time events (``events.group_events``). For counting, duration
   and "the most" questions the parsed constraints are *hard* (a count is "inside the constraints": dates,
   weekdays, countries, cities, semantic places go to the store as filter clauses; months without a year and hour
   ranges are checked on the hits).

3. **Relevance cut-off** (which evidence counts). A hit is *relevant* when

       W_IaT * iat + W_TaT * tat >= W_IaT * IAT_FLOOR + W_TaT * TAT_FLOOR      (over the query vectors present)
       and  score >= RELATIVE_CUT (0.8) x the best score among the hits passing the floor.

   The absolute floor (IAT_FLOOR 0.2 for CLIP text-image cosines; TAT_FLOOR 0.35 for MiniLM question-CapMeta
   cosines, where in the tests the asked moment scores 0.4-0.7 and unrelated ones 0.15-0.3)
   lets a count be 0 ("never") when nothing resembles the question; the relative cut keeps the moments nearly as
   good as the best one. Untuned defaults (``QaConfig``); the cut does not depend on the fusion weights' scale.

4. **Answer** by type; answers of several evidence items are aggregated by a **score-weighted vote**: each event
   (time, location) or image (visual) votes its own value with weight = its score (clamped to at least 1e-6);
   equal values (after normalising case, articles, spaces and number words) add up. Ties are broken by the larger
   number of votes, then the larger single best score, then the value's text in ascending order, so the outcome is
   deterministic. ``confidence`` = the winner's share of the total weight. For counting and duration,
   ``confidence`` = stability of the result under the cut-off: the result computed with both thresholds 0.05 looser
   and 0.05 stricter, smaller / larger (1.0 when both agree, also when both are 0).

   For OCR questions an image whose stored OCR text contains its VQA answer votes with double weight
   (``OCR_BONUS``), and every evidence image carries its OCR text.

Without a VQA model, metadata answers (time, location, counting, duration) still work; visual ones answer nothing
and say plainly that no VQA model is loaded, still listing the evidence images.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..events import Event, group_events, place_of
from ..filters import DateRange, Filter, Terms, Weekdays, Weights
from ..store.base import Hit, VectorQuery
from ..timeparts import MONTH_NAMES, WEEKDAY_NAMES

if TYPE_CHECKING:  # search.py may hand questions here; no import cycle at run time
    from ..search import SearchService

log = logging.getLogger(__name__)

ANSWER_TYPES = ("time", "location", "counting", "duration", "visual")
IAT_FLOOR = 0.2
TAT_FLOOR = 0.35
RELATIVE_CUT = 0.8
CUT_STEP = 0.05  # threshold perturbation for the stability confidence of counts and durations
OCR_BONUS = 1.0  # extra vote weight (x score) for a VQA answer found in the image's own OCR text
MIN_VOTE_WEIGHT = 1e-6
SEASONS = {12: "Winter", 1: "Winter", 2: "Winter", 3: "Spring", 4: "Spring", 5: "Spring", 6: "Summer",
           7: "Summer", 8: "Summer", 9: "Autumn", 10: "Autumn", 11: "Autumn"}  # meteorological, northern hemisphere
NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}

# --- routing (English word patterns; the parser's language table holds the coarse rules) ----------------------------

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


# --- results ---------------------------------------------------------------------------------------------------------


@dataclass
class EvidenceImage:
    """One evidence image and its own possible answer (seed §3.4: shown under each image)."""

    image_id: str
    score: float
    event_id: str
    local_time: datetime | None
    place: str | None
    answer: str | None
    ocr_text: str | None = None


@dataclass
class EvidenceEvent:
    """One evidence event: its span, place, score, top images and its own value for the question."""

    event_id: str
    score: float
    start: datetime | None
    end: datetime | None
    place: str | None
    image_ids: list[str]
    answer: str | None = None


@dataclass
class Answer:
    """The answer to a question, with its evidence.

    Attributes:
        question: the text asked.
        answer: answer text, or None (no VQA model for a visual question, not a question, no evidence).
        value: machine-readable value: ISO date / ``YYYY-MM`` / year int / weekday / place / count int /
            duration seconds float / the winning normalised VQA answer.
        confidence: 0-1 (module docstring, step 4).
        answer_type, kind, most, relation: the route.
        events, images: the evidence, best first; each image has its own possible answer.
        votes: ``[(value, weight, n)]`` of the vote, best first (empty when no vote was taken).
        explanation: how the answer was derived, in words.
        notices: what the user should know (no VQA model, not a question, text-only search ...).
        took_ms: wall time.
    """

    question: str
    answer: str | None
    value: Any
    confidence: float
    answer_type: str | None
    kind: str | None
    most: bool = False
    relation: str | None = None
    events: list[EvidenceEvent] = field(default_factory=list)
    images: list[EvidenceImage] = field(default_factory=list)
    votes: list[tuple[str, float, int]] = field(default_factory=list)
    explanation: str = ""
    notices: list[str] = field(default_factory=list)
    took_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (times ISO 8601, scores rounded to 6 decimals)."""
        def iso(t):
            return t.isoformat() if t is not None else None

        value = self.value.isoformat() if isinstance(self.value, (date, datetime)) else self.value
        return {
            "question": self.question, "answer": self.answer, "value": value,
            "confidence": round(self.confidence, 4), "answer_type": self.answer_type, "kind": self.kind,
            "most": self.most, "relation": self.relation, "explanation": self.explanation,
            "notices": list(self.notices), "took_ms": round(self.took_ms, 1),
            "votes": [{"value": v, "weight": round(w, 6), "n": n} for v, w, n in self.votes],
            "events": [{"event_id": e.event_id, "score": round(e.score, 6), "start": iso(e.start),
                        "end": iso(e.end), "place": e.place, "image_ids": e.image_ids, "answer": e.answer}
                       for e in self.events],
            "images": [{"image_id": i.image_id, "score": round(i.score, 6), "event_id": i.event_id,
                        "local_time": iso(i.local_time), "place": i.place, "answer": i.answer,
                        "ocr_text": i.ocr_text} for i in self.images],
        }


# --- pure helpers ----------------------------------------------------------------------------------------------------


def normalise_answer(text: str) -> str:
    """Vote key of an answer: case-folded, punctuation trimmed, leading article dropped, number words as digits
    (``"Two "`` -> ``"2"``, ``"the Lufthansa"`` -> ``"lufthansa"``)."""
    words = re.findall(r"[\w'.-]+", (text or "").casefold())
    words = [w.strip(".'-") for w in words]
    words = [w for w in words if w]
    if len(words) > 1 and words[0] in ("a", "an", "the"):
        words = words[1:]
    return " ".join(NUMBER_WORDS.get(w, w) for w in words)


def weighted_vote(items: Sequence[tuple[str | None, float]]) -> list[tuple[str, float, int, float]]:
    """Score-weighted vote.

    Args:
        items: ``(value, weight)`` per voter; None/blank values abstain; weights below ``MIN_VOTE_WEIGHT``
            count as ``MIN_VOTE_WEIGHT`` (a weak voter still counts, a negative score never subtracts).
    Returns:
        ``[(value, total weight, votes, best single weight)]`` best first. Ties on total weight are broken by more
        votes, then the larger best single weight, then ``value`` ascending (deterministic).
    """
    table: dict[str, list[float]] = {}
    for value, w in items:
        if value is None or not str(value).strip():
            continue
        w = max(float(w), MIN_VOTE_WEIGHT)
        row = table.setdefault(value, [0.0, 0, 0.0])
        row[0] += w
        row[1] += 1
        row[2] = max(row[2], w)
    rows = [(v, t, int(n), b) for v, (t, n, b) in table.items()]
    rows.sort(key=lambda r: (-round(r[1], 12), -r[2], -r[3], r[0]))
    return rows


def vote_answer(items: Sequence[tuple[str | None, float]]) -> tuple[str | None, float, list[tuple[str, float, int]]]:
    """The winner of :func:`weighted_vote`, its share of the total weight (the confidence), and the vote table."""
    rows = weighted_vote(items)
    if not rows:
        return None, 0.0, []
    total = sum(r[1] for r in rows)
    return rows[0][0], rows[0][1] / total, [(v, t, n) for v, t, n, _ in rows]


def above_floor(hit: Hit, weights: Weights, has_clip: bool, has_tat: bool, iat_floor: float = IAT_FLOOR,
                tat_floor: float = TAT_FLOOR) -> bool:
    """Whether the hit's cosine part ``W_IaT*iat + W_TaT*tat`` reaches the weighted floors of the query vectors
    present (module docstring, step 3). Soft-constraint boosts do not count here."""
    got = weights.iat * hit.iat * has_clip + weights.tat * hit.tat * has_tat
    need = weights.iat * iat_floor * has_clip + weights.tat * tat_floor * has_tat
    return got >= need


def relevant_hits(hits: Sequence[Hit], weights: Weights, has_clip: bool, has_tat: bool,
                  relative_cut: float = RELATIVE_CUT, iat_floor: float = IAT_FLOOR,
                  tat_floor: float = TAT_FLOOR) -> list[Hit]:
    """The hits that count as evidence (module docstring, step 3), in the given order.

    Args:
        hits: ranked hits (``score`` may include soft boosts; ``iat``/``tat`` are raw cosines).
        weights: the fusion weights of the search.
        has_clip, has_tat: which query vectors the search had.
        relative_cut: keep hits with ``score >= relative_cut * best`` (when the best score is positive).
        iat_floor, tat_floor: absolute cosine floors.
    Returns:
        The relevant hits; all of them when the search had no query vector (filters only).
    """
    if not (has_clip or has_tat):
        return list(hits)
    keep = [h for h in hits if above_floor(h, weights, has_clip, has_tat, iat_floor, tat_floor)]
    if not keep:
        return []
    best = max(h.score for h in keep)
    if best <= 0:
        return keep
    return [h for h in keep if h.score >= relative_cut * best]


def season_of(month: int) -> str:
    """Meteorological season (northern hemisphere) of a month 1-12."""
    return SEASONS[month]


def time_value(t: datetime, kind: str) -> tuple[str, Any]:
    """``(answer text, value)`` of a local time at the asked granularity ``kind`` (date, month, month_year, year,
    weekday, season, clock). Raises KeyError for an unknown kind."""
    return {
        "date": lambda: (f"{t.day} {MONTH_NAMES[t.month - 1]} {t.year}", t.date()),
        "month": lambda: (MONTH_NAMES[t.month - 1], t.month),
        "month_year": lambda: (f"{MONTH_NAMES[t.month - 1]} {t.year}", f"{t.year}-{t.month:02d}"),
        "year": lambda: (str(t.year), t.year),
        "weekday": lambda: (WEEKDAY_NAMES[t.weekday()], WEEKDAY_NAMES[t.weekday()]),
        "season": lambda: (season_of(t.month), season_of(t.month)),
        "clock": lambda: (f"{t:%H:%M}", f"{t:%H:%M}"),
    }[kind]()


def place_value(doc: dict, kind: str) -> str | None:
    """The document's place at granularity ``kind``: ``place`` = semantic_name, else locality, else city."""
    if kind == "place":
        return place_of(doc)
    return doc.get(kind)


def format_duration(seconds: float) -> str:
    """Human duration: ``"less than a minute"``, ``"11 minutes"`` (under 90 min), ``"1.5 hours"``."""
    if seconds < 60:
        return "less than a minute"
    minutes = seconds / 60
    if minutes < 90:
        n = round(minutes)
        return f"{n} minute{'s' if n != 1 else ''}"
    hours = round(minutes / 60, 1)
    return f"{hours:g} hour{'s' if hours != 1 else ''}"


def count_trips(dates: Sequence[date]) -> int:
    """Runs of consecutive dates (a gap of one day or more without evidence starts a new trip)."""
    days = sorted(set(dates))
    return sum(1 for i, d in enumerate(days) if i == 0 or (d - days[i - 1]).days > 1)


def count_nights(dates: Sequence[date]) -> int:
    """Nights of a stay: consecutive date pairs with evidence on both days; 1 when evidence exists on single
    days only (being there is taken to mean one night), 0 without evidence."""
    days = sorted(set(dates))
    pairs = sum(1 for a, b in zip(days, days[1:]) if (b - a).days == 1)
    return pairs or (1 if days else 0)


def inside_constraints(doc: dict, parsed) -> bool:
    """Whether a document satisfies the parsed constraints that cannot go to the store as one filter clause:
    months named without a year, and hour ranges (minutes after midnight, ``to`` may pass 1440)."""
    if parsed.months and doc.get("month") not in parsed.months:
        return False
    if parsed.hour_ranges:
        m = doc.get("minute_of_day")
        if m is None:
            return False
        if not any(a <= m < b or a <= m + 1440 < b for a, b in parsed.hour_ranges):
            return False
    return True


def constraint_filters(parsed) -> list[Filter]:
    """The parsed constraints as hard filter clauses (counting, duration and "the most" questions): date range,
    weekdays, countries, cities (any place level, with their aliases), semantic places."""
    out: list[Filter] = []
    if parsed.date_from or parsed.date_to:
        out.append(DateRange(parsed.date_from, parsed.date_to))
    if parsed.weekdays:
        out.append(Weekdays(frozenset(parsed.weekdays)))
    if parsed.countries:
        out.append(Terms("country", tuple(parsed.countries)))
    if parsed.cities:
        out.append(Terms("places", tuple(dict.fromkeys(parsed.cities + parsed.city_aliases))))
    if parsed.semantic:
        out.append(Terms("semantic_name", tuple(parsed.semantic)))
    return out


# --- the service -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QaConfig:
    """Tunable numbers of question answering (defaults documented in the module docstring).

    Attributes:
        limit: hits fetched as evidence for time, location and visual questions.
        count_limit: hits fetched for counting, duration and "the most" questions.
        trip_limit: documents read for trip counts (every document inside the place and date constraints).
        relative_cut, iat_floor, tat_floor: the relevance cut-off.
        top_events: evidence events that vote (time, location) or whose images go to VQA (visual).
        images_per_event: top images of each evidence event (VQA inputs, shown on the page).
        visit_gap_minutes: two matching moments further apart than this are two occasions when counting.
        most_events: occasions whose images go to VQA for a visual "most often" question.
        relation_window_h: how far after/before the evidence moment the next/previous place is looked for.
    """

    limit: int = 300
    count_limit: int = 3000
    trip_limit: int = 20000
    relative_cut: float = RELATIVE_CUT
    iat_floor: float = IAT_FLOOR
    tat_floor: float = TAT_FLOOR
    top_events: int = 5
    images_per_event: int = 3
    visit_gap_minutes: float = 60.0
    most_events: int = 20
    relation_window_h: float = 12.0


def load_evidence_image(store, image_id: str):
    """RGB PIL image of ``image_id`` read from inside its collection root (``webui.media.resolve_file``: the same
    confinement as the image routes). Raises NotFound, OSError, ValueError."""
    from ...ingest.pipeline import decode, register_image_plugins
    from ...ingest.sources.base import ImageRecord
    from ...webui.media import resolve_file

    path = resolve_file(store, image_id)
    register_image_plugins()
    return decode(ImageRecord(image_id, "", "", path, read_exif=False)).image


class QaService:
    """Answers questions with the search service's store and models, and an optional VQA model.

    Args:
        search: the SearchService (store + encoders).
        vqa: a loaded ``models.vqa.VqaModel`` or None.
        vqa_error: why no VQA model is loaded (shown to the user on visual questions).
        config: QaConfig.
        image_loader: ``(store, image_id) -> PIL.Image`` (default :func:`load_evidence_image`).
    """

    def __init__(self, search: SearchService, vqa=None, vqa_error: str | None = None,
                 config: QaConfig | None = None,
                 image_loader: Callable[[Any, str], Any] | None = None) -> None:
        self.search = search
        self.vqa = vqa
        self.vqa_error = vqa_error
        self.config = config or QaConfig()
        self.image_loader = image_loader or load_evidence_image

    # -- evidence ------------------------------------------------------------------------------------------------

    def answer(self, question: str, filters: Sequence[Filter] = (), weights: Weights | None = None,
               today: date | None = None) -> Answer:
        """Answer ``question`` inside the hard ``filters`` (the /api/search vocabulary).

        Args:
            question: the question as typed (key:value terms allowed, as in search).
            filters: extra hard filter clauses.
            weights: fusion weights (default: the store's default 0.7 / 0.3).
            today: the date relative phrases count from (parser).
        Returns:
            Answer (``answer`` None with a notice when the text is not a question, nothing matched, or a visual
            question has no VQA model).
        Raises:
            FilterError: a bad key:value term; StoreError: the store is unavailable.
        """
        from ..query.parse import parse_query

        t0 = time.perf_counter()
        parsed = parse_query(question, today=today)
        r = route(question, parsed)
        notices = list(self.search.models.notices)
        if r.answer_type is None:
            ans = Answer(question, None, None, 0.0, None, None,
                         explanation="not a question", notices=notices + [
                             "This does not read as a question; use search to find moments."])
            ans.took_ms = (time.perf_counter() - t0) * 1000
            return ans
        vq = self.search.encode(parsed.text, parsed.visual)
        vq = VectorQuery(vq.clip, vq.tat, weights or Weights())
        all_filters = list(filters) + list(parsed.filters)
        hard = r.answer_type in ("counting", "duration") or r.most
        if hard:
            all_filters += constraint_filters(parsed)
        ctx = _Ctx(self, question, parsed, r, vq, all_filters, notices)
        named = list(dict.fromkeys(list(parsed.countries) + list(parsed.cities)))
        places = [f for f in constraint_filters(parsed) if isinstance(f, Terms) and f.field in ("country", "places")]
        if named and places and not hard:  # soft places; but when no photo is in any named place, none grounds it
            if all(self.search.store.count(list(filters) + [f]) == 0 for f in places):
                ans = ctx.none(f"no photo in the lifelog is in {' / '.join(named)}")
                ans.took_ms = (time.perf_counter() - t0) * 1000
                return ans
        if r.answer_type == "counting" and r.kind == "trips":
            ans = ctx.trips()
        elif r.answer_type == "counting" and r.kind == "photos":
            ans = ctx.photos()
        else:
            ctx.fetch(self.config.count_limit if hard else self.config.limit, hard)
            ans = getattr(ctx, r.answer_type)()
        ans.took_ms = (time.perf_counter() - t0) * 1000
        return ans


@dataclass
class _Ctx:
    """Working state of one answer."""

    svc: QaService
    question: str
    parsed: Any
    route: Route
    vq: VectorQuery
    filters: list
    notices: list
    hits: list = field(default_factory=list)

    @property
    def cfg(self) -> QaConfig:
        return self.svc.config

    def fetch(self, limit: int, hard: bool) -> None:
        hits = self.svc.search.store.search(self.vq, self.filters, limit=limit, soft=self.parsed.soft)
        if hard:
            hits = [h for h in hits if inside_constraints(h.doc, self.parsed)]
        self.hits = hits

    def relevant(self, loosen: float = 0.0) -> list[Hit]:
        """The hits close enough to the question (``relevant_hits``); all of them when the question's content is
        entirely its typed key:value filters ("When was I in city:Arezzo?": nothing is left to resemble)."""
        if self.parsed.filters and not content_words(self.parsed.visual):
            return list(self.hits)
        return relevant_hits(self.hits, self.vq.weights, self.vq.clip is not None, self.vq.tat is not None,
                             self.cfg.relative_cut - loosen, self.cfg.iat_floor - loosen, self.cfg.tat_floor - loosen)

    def result(self, text, value, confidence, **kw) -> Answer:
        kw.setdefault("notices", list(self.notices))
        return Answer(self.question, text, value, confidence, self.route.answer_type, self.route.kind,
                      self.route.most, self.route.relation, **kw)

    def none(self, why: str) -> Answer:
        return self.result(None, None, 0.0, explanation=why,
                           notices=self.notices + [f"No answer: {why}."])

    def events(self, hits: Sequence[Hit], gap: float | None = None) -> list[Event]:
        return group_events(hits, gap) if gap is not None else group_events(hits)

    def evidence(self, events: Sequence[Event], value_of: Callable[[dict], str | None]) -> tuple[
            list[EvidenceEvent], list[EvidenceImage]]:
        evs, ims = [], []
        for e in events:
            top = e.top[:self.cfg.images_per_event]
            ev_value = _mode([value_of(h.doc) for h in e.hits])
            evs.append(EvidenceEvent(e.event_id, e.score, e.start, e.end, e.place, [h.image_id for h in top],
                                     ev_value))
            for h in top:
                ims.append(EvidenceImage(h.image_id, h.score, e.event_id, h.doc.get("local_time"),
                                         place_of(h.doc), value_of(h.doc), h.doc.get("ocr_text")))
        return evs, ims

    # -- metadata answers ------------------------------------------------------------------------------------------

    def _value_fn(self) -> Callable[[dict], str | None]:
        r = self.route
        if r.answer_type == "time":
            return lambda d: time_value(d["local_time"], r.kind)[0] if d.get("local_time") else None
        return lambda d: place_value(d, r.kind)

    def _vote_metadata(self) -> Answer:
        r = self.route
        rel = self.relevant()
        if not rel:
            return self.none("nothing in the lifelog resembles the question closely enough")
        value_of = self._value_fn()
        if r.most:
            events = self.events(rel, self.cfg.visit_gap_minutes)
            items = [(_mode([value_of(h.doc) for h in e.hits]), 1.0) for e in events]
            # ties on counts: the larger summed event score wins
            counts = weighted_vote(items)
            scores = Counter()
            for e, (v, _) in zip(events, items):
                if v is not None:
                    scores[v] += e.score
            counts.sort(key=lambda row: (-row[2], -scores[row[0]], row[0]))
            total = sum(row[2] for row in counts) or 1
            evs, ims = self.evidence(events[:self.cfg.top_events], value_of)
            if not counts:
                return self.none("the matching moments have no value recorded for this question")
            win = counts[0]
            how = (f"value with the most matching events: {win[2]} of {total} events "
                   f"(relevance cut {self.cfg.relative_cut:g} x best, hard constraints)")
            return self.result(win[0], self._raw_value(events, value_of, win[0]), win[2] / total,
                               events=evs, images=ims, votes=[(v, float(n), n) for v, _, n, _ in counts],
                               explanation=how)
        events = self.events(rel)[:self.cfg.top_events]
        evs, ims = self.evidence(events, value_of)
        if r.relation:
            return self._relation(events, value_of, evs, ims)
        winner, conf, votes = vote_answer([(ev.answer, ev.score) for ev in evs])
        if winner is None:
            return self.none("the evidence has no value recorded for this question")
        how = f"score-weighted vote of the top {len(evs)} matching event{'s' if len(evs) != 1 else ''}"
        return self.result(winner, self._raw_value(events, value_of, winner), conf, events=evs, images=ims,
                           votes=votes, explanation=how)

    def _raw_value(self, events: Sequence[Event], value_of, text: str) -> Any:
        if self.route.answer_type != "time":
            return text
        for e in events:
            for h in e.hits:
                if value_of(h.doc) == text:
                    return time_value(h.doc["local_time"], self.route.kind)[1]
        return text

    def _relation(self, events: Sequence[Event], value_of, evs, ims) -> Answer:
        anchor = events[0]
        here = _mode([value_of(h.doc) for h in anchor.hits])
        window = int(self.cfg.relation_window_h * 3600)
        collection = anchor.hits[0].doc.get("collection")
        store = self.svc.search.store
        if self.route.relation == "after" and anchor.end is not None:
            docs = store.neighbours(anchor.end, 0, window, collection=collection, limit=5000)
        elif anchor.start is not None:
            docs = list(reversed(store.neighbours(anchor.start, window, 0, collection=collection, limit=5000)))
        else:
            return self.none("the evidence moment has no time")
        anchor_ids = {h.image_id for h in anchor.hits}
        for d in docs:
            v = value_of(d)
            if d["image_id"] in anchor_ids or v is None or v == here:
                continue
            total = sum(e.score for e in events) or 1.0
            how = (f"the first place {self.route.relation} the best matching moment ({here or 'unknown place'}, "
                   f"{anchor.start:%Y-%m-%d %H:%M}) within {self.cfg.relation_window_h:g} h: "
                   f"{d['local_time']:%Y-%m-%d %H:%M}")
            return self.result(v, v, max(anchor.score, 0) / total if total > 0 else 0.0, events=evs,
                               images=ims, explanation=how)
        return self.none(f"no other place recorded within {self.cfg.relation_window_h:g} h "
                         f"{self.route.relation} the best matching moment")

    def time(self) -> Answer:
        return self._vote_metadata()

    def location(self) -> Answer:
        return self._vote_metadata()

    def _count(self, loosen: float) -> tuple[int, list[Event], list[Hit]]:
        rel = self.relevant(loosen)
        kind = self.route.kind
        events = self.events(rel, self.cfg.visit_gap_minutes)
        if kind == "days":
            n = len({h.doc["local_time"].date() for h in rel if h.doc.get("local_time")})
        elif kind == "nights":
            n = count_nights([h.doc["local_time"].date() for h in rel if h.doc.get("local_time")])
        elif kind == "places":
            n = len({p for e in events if (p := _mode([place_of(h.doc) for h in e.hits]))})
        else:
            n = len(events)
        return n, events, rel

    def counting(self) -> Answer:
        n, events, rel = self._count(0.0)
        strict, loose = self._count(-CUT_STEP)[0], self._count(CUT_STEP)[0]
        conf = 1.0 if max(strict, loose) == 0 else min(strict, loose) / max(strict, loose)
        kind = self.route.kind
        value_of = (lambda d: place_of(d)) if kind == "places" else (
            lambda d: d["local_time"].date().isoformat() if d.get("local_time") else None)
        ordered = sorted(events, key=lambda e: (-e.score, e.start or datetime.max))
        evs, ims = self.evidence(ordered[:max(self.cfg.top_events, 10)], value_of)
        unit = {"events": "time", "days": "day", "nights": "night", "places": "place"}[kind]
        text = "never (0 times)" if n == 0 and kind == "events" else f"{n} {unit}{'s' if n != 1 else ''}"
        if kind == "places" and n:
            names = sorted({p for e in events if (p := _mode([place_of(h.doc) for h in e.hits]))})
            text += ": " + ", ".join(names)
        how = (f"distinct matching {kind} among {len(rel)} relevant images (cut: cosine floors and score >= "
               f"{self.cfg.relative_cut:g} x best; occasions split by more than {self.cfg.visit_gap_minutes:g} "
               f"min) inside the constraints; {loose} with a looser cut, {strict} with a stricter one")
        return self.result(text, n, conf, events=evs, images=ims, explanation=how)

    def trips(self) -> Answer:
        store = self.svc.search.store
        docs = [h.doc for h in store.search(VectorQuery(None, None, self.vq.weights), self.filters,
                                            limit=self.cfg.trip_limit)]
        docs = [d for d in docs if d.get("local_time") and inside_constraints(d, self.parsed)]
        days = sorted({d["local_time"].date() for d in docs})
        n = count_trips(days)
        runs: list[list[date]] = []
        for d in days:
            if runs and (d - runs[-1][-1]).days <= 1:
                runs[-1].append(d)
            else:
                runs.append([d])
        evs = [EvidenceEvent(run[0].isoformat(), 1.0, datetime.combine(run[0], datetime.min.time()),
                             datetime.combine(run[-1], datetime.max.time()), None, [],
                             f"{run[0].isoformat()} to {run[-1].isoformat()}") for run in runs]
        text = "never (0 times)" if n == 0 else f"{n} trip{'s' if n != 1 else ''}"
        how = (f"runs of consecutive days with photos inside the place and date constraints "
               f"({len(days)} days, {len(docs)} images)")
        notes = []
        if len(docs) >= self.cfg.trip_limit:
            notes.append(f"Only the first {self.cfg.trip_limit} images were read; the count may be low.")
        ans = self.result(text, n, 1.0, events=evs, explanation=how)
        ans.notices = ans.notices + notes
        return ans

    def photos(self) -> Answer:
        """"How many photos did I take in Italy?": the number of documents inside the hard filters and the parsed
        place/time constraints (metadata only: no relevance cut, no VQA). Months without a year and hour ranges
        are checked on the documents, read up to ``trip_limit``; otherwise the store counts."""
        store = self.svc.search.store
        needs_docs = bool(self.parsed.months or self.parsed.hour_ranges)
        read = self.cfg.trip_limit if needs_docs else self.cfg.limit
        docs = [h.doc for h in store.search(VectorQuery(None, None, self.vq.weights), self.filters, limit=read)]
        truncated = len(docs) >= read
        if needs_docs:
            docs = [d for d in docs if inside_constraints(d, self.parsed)]
            n = len(docs)
        else:
            n = store.count(self.filters)
        per_day = Counter(d["local_time"].date() for d in docs if d.get("local_time"))
        complete = needs_docs or not truncated
        evs = [EvidenceEvent(day.isoformat(), 1.0, datetime.combine(day, datetime.min.time()),
                             datetime.combine(day, datetime.max.time()), None, [],
                             f"{c} photo{'s' if c != 1 else ''}" if complete else None)
               for day, c in sorted(per_day.items())[:10]]
        text = f"{n} photo{'s' if n != 1 else ''}"
        how = ("documents inside the constraints (hard filters, parsed places and dates"
               + (", months and hours checked per photo" if needs_docs else "") + "), counted from the metadata")
        ans = self.result(text, n, 1.0, events=evs, explanation=how)
        if needs_docs and truncated:
            ans.notices = ans.notices + [f"Only the first {read} images were read; the count may be low."]
        return ans

    def _duration(self, loosen: float) -> tuple[float, Event | None, list[Hit]]:
        rel = self.relevant(loosen)
        if self.route.kind == "days":
            return float(len({h.doc["local_time"].date() for h in rel if h.doc.get("local_time")})), None, rel
        events = self.events(rel)
        if not events:
            return 0.0, None, rel
        return events[0].duration_s, events[0], rel

    def duration(self) -> Answer:
        value, best, rel = self._duration(0.0)
        strict, loose = self._duration(-CUT_STEP)[0], self._duration(CUT_STEP)[0]
        conf = 1.0 if max(strict, loose) == 0 else min(strict, loose) / max(strict, loose)
        if not rel:
            return self.none("nothing in the lifelog resembles the question closely enough")
        value_of = lambda d: d["local_time"].strftime("%Y-%m-%d %H:%M") if d.get("local_time") else None  # noqa
        if self.route.kind == "days":
            n = int(value)
            events = self.events(rel, self.cfg.visit_gap_minutes)
            evs, ims = self.evidence(sorted(events, key=lambda e: e.start or datetime.max)[:10], value_of)
            how = f"distinct days with matching moments ({len(rel)} relevant images)"
            return self.result(f"{n} day{'s' if n != 1 else ''}", n, conf, events=evs, images=ims,
                               explanation=how)
        evs, ims = self.evidence([best], value_of)
        evs[0].answer = format_duration(best.duration_s)
        how = (f"span of the best matching event, {best.start:%Y-%m-%d %H:%M:%S} to {best.end:%H:%M:%S} "
               f"({len(best.hits)} relevant images; {format_duration(loose)} with a looser cut, "
               f"{format_duration(strict)} with a stricter one)")
        return self.result(format_duration(value), value, conf, events=evs, images=ims, explanation=how)

    # -- visual answers ------------------------------------------------------------------------------------------

    def visual(self) -> Answer:
        rel = self.relevant()
        if not rel:
            return self.none("nothing in the lifelog resembles the question closely enough")
        if self.route.most:  # "most often": occasions, each answering once
            events = self.events(rel, self.cfg.visit_gap_minutes)[:self.cfg.most_events]
        else:
            events = self.events(rel)[:self.cfg.top_events]
        evs, ims = self.evidence(events, lambda d: None)
        if self.svc.vqa is None:
            why = self.svc.vqa_error or "none configured"
            return self.result(None, None, 0.0, events=evs, images=ims,
                               explanation="visual question: needs a VQA model",
                               notices=self.notices + [f"No VQA model is loaded, so visual questions (objects, "
                                                       f"colours, text, counting things in view) cannot be "
                                                       f"answered; the evidence images are shown. ({why})"])
        store = self.svc.search.store
        images, keep = [], []
        for i, im in enumerate(ims):
            try:
                images.append(self.svc.image_loader(store, im.image_id))
                keep.append(i)
            except Exception as exc:  # noqa: BLE001 - a missing or broken file skips that image only
                log.warning("QA: image %s not readable: %s", im.image_id, exc)
        notes = []
        if len(keep) < len(ims):
            notes.append(f"{len(ims) - len(keep)} evidence image(s) could not be read and were skipped.")
        answers = self.svc.vqa.answer(images, self.route.question) if images else []
        items = []
        for i, a in zip(keep, answers):
            ims[i].answer = a
            w = max(ims[i].score, MIN_VOTE_WEIGHT)
            key = normalise_answer(a)
            if self.route.kind == "ocr" and key and key in normalise_answer(ims[i].ocr_text or ""):
                w *= 1 + OCR_BONUS
            items.append((key, w))
        per_event: dict[str, list[tuple[str, float]]] = {}
        for i, item in zip(keep, items):
            per_event.setdefault(ims[i].event_id, []).append(item)
        for ev in evs:  # each event's own answer: the vote of its images
            ev.answer = vote_answer(per_event.get(ev.event_id, []))[0]
        if self.route.most:
            winner, conf, votes = _count_events(evs)
        else:
            winner, conf, votes = vote_answer(items)
        if winner is None:
            return self.result(None, None, 0.0, events=evs, images=ims, explanation="VQA gave no answer",
                               notices=self.notices + notes)
        shown = Counter(a for i, a in zip(keep, answers) if normalise_answer(a) == winner).most_common(1)[0][0]
        how = (f"BLIP VQA ({self.svc.vqa.name}) on {len(answers)} images of the top {len(evs)} events, "
               + ("the answer of the most events (each event: score-weighted vote of its images)"
                  if self.route.most else "score-weighted vote")
               + (", OCR-confirmed answers count double" if self.route.kind == "ocr" else ""))
        ans = self.result(shown, winner, conf, events=evs, images=ims, votes=votes, explanation=how)
        ans.notices = ans.notices + notes
        return ans


def _count_events(evs: Sequence[EvidenceEvent]) -> tuple[str | None, float, list[tuple[str, float, int]]]:
    """"The most often" over events: the answer given by the most events (ties: larger summed event score, then
    text ascending); confidence = its share of the events that answered."""
    counts: Counter = Counter()
    scores: Counter = Counter()
    for ev in evs:
        if ev.answer:
            counts[ev.answer] += 1
            scores[ev.answer] += ev.score
    if not counts:
        return None, 0.0, []
    order = sorted(counts, key=lambda v: (-counts[v], -scores[v], v))
    return order[0], counts[order[0]] / sum(counts.values()), [(v, float(counts[v]), counts[v]) for v in order]


def _mode(values: Sequence[str | None]) -> str | None:
    """Most common non-empty value (ties: first seen)."""
    vals = [v for v in values if v]
    if not vals:
        return None
    counts = Counter(vals)
    best = max(counts.values())
    return next(v for v in vals if counts[v] == best)


__all__ = ["route", "Route", "QaService", "QaConfig", "Answer", "EvidenceEvent", "EvidenceImage",
           "weighted_vote", "vote_answer", "normalise_answer", "relevant_hits", "above_floor", "time_value",
           "place_value", "format_duration", "count_trips", "count_nights", "constraint_filters",
           "inside_constraints", "content_words", "load_evidence_image", "ANSWER_TYPES", "IAT_FLOOR", "TAT_FLOOR",
           "RELATIVE_CUT", "OCR_BONUS"]

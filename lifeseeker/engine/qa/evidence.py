"""Evidence (steps 2-4 of question answering, package docstring): which hits count, the hard constraints of
counting questions, and the score-weighted vote over the evidence's values.

* **Relevance cut-off** (:func:`relevant_hits`): cosine floors ``IAT_FLOOR``/``TAT_FLOOR`` over the query vectors
  present, then ``RELATIVE_CUT`` x the best score.
* **Hard constraints** (:func:`constraint_filters`, :func:`inside_constraints`): the parsed dates, weekdays and
  places as store filter clauses; months without a year and hour ranges checked per document.
* **Vote** (:func:`weighted_vote`, :func:`vote_answer`) over values normalised by :func:`normalise_answer`;
  :func:`count_events` for "the most often"; :func:`stability` is the confidence of counts and durations.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Sequence

from ..filters import DateRange, Filter, Terms, Weekdays, Weights
from ..store.base import Hit
from .result import EvidenceEvent

IAT_FLOOR = 0.2
TAT_FLOOR = 0.35
RELATIVE_CUT = 0.8
CUT_STEP = 0.05  # threshold perturbation for the stability confidence of counts and durations
MIN_VOTE_WEIGHT = 1e-6
NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}


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
    present (package docstring, step 3). Soft-constraint boosts do not count here."""
    got = weights.iat * hit.iat * has_clip + weights.tat * hit.tat * has_tat
    need = weights.iat * iat_floor * has_clip + weights.tat * tat_floor * has_tat
    return got >= need


def relevant_hits(hits: Sequence[Hit], weights: Weights, has_clip: bool, has_tat: bool,
                  relative_cut: float = RELATIVE_CUT, iat_floor: float = IAT_FLOOR,
                  tat_floor: float = TAT_FLOOR) -> list[Hit]:
    """The hits that count as evidence (package docstring, step 3), in the given order.

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


def stability(strict: float, loose: float) -> float:
    """Confidence of a count or duration: the result with a stricter cut over the one with a looser cut, smaller /
    larger, in [0, 1] (1.0 when both agree, also when both are 0)."""
    return 1.0 if max(strict, loose) == 0 else min(strict, loose) / max(strict, loose)


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


def count_events(evs: Sequence[EvidenceEvent]) -> tuple[str | None, float, list[tuple[str, float, int]]]:
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


def mode(values: Sequence[str | None]) -> str | None:
    """Most common non-empty value (ties: first seen)."""
    vals = [v for v in values if v]
    if not vals:
        return None
    counts = Counter(vals)
    best = max(counts.values())
    return next(v for v in vals if counts[v] == best)


__all__ = ["IAT_FLOOR", "TAT_FLOOR", "RELATIVE_CUT", "CUT_STEP", "MIN_VOTE_WEIGHT", "NUMBER_WORDS",
           "normalise_answer", "weighted_vote", "vote_answer", "above_floor", "relevant_hits", "stability",
           "inside_constraints", "constraint_filters", "count_events", "mode"]

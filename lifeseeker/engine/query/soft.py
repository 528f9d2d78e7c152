"""Soft constraints: what a query says about time and place, as graded score boosts instead of hard filters.

People misremember (a real LSC topic says "September 2019" for a moment in October), so a parsed "in May" must
not drop June; it should only lift May. The fused score of a document becomes (ARCHITECTURE.md, "The score"):

    score = W_IaT * cos(q_clip, clip_vec) + W_TaT * cos(q_tat, capmeta_vec) + sum_c boost_c(doc)
          = 0.7 cos(IaT) + 0.3 cos(TaT) + sum of soft boosts          (default weights)

where the CLIP text encoder gets the query's *visual remainder* (constraint phrases removed: "red car in May 2018"
-> "red car") and the TaT encoder gets the *full text* (CapMeta holds time and place as words, seed §3.3).

Each soft constraint c contributes

    boost_c(doc) = w_c * exp(-d_c(doc) / s_c)

with ``d_c`` the distance from the document's value to the constraint's set (0 inside it, so the full weight) in
the unit of its type, ``s_c`` the decay scale, and 0 when the document lacks the field. Per type (defaults):

=================  ==========================================================  ======  ==========================
type               d (distance)                                                w       s
=================  ==========================================================  ======  ==========================
SoftDateRange      days outside [start, end]: max(0, start - day, day - end)    0.05    clamp(span / 2, 3, 60) days
                   (``day`` = local date as days since 1970-01-01)                      (span = end - start + 1)
SoftMonths         months to the nearest listed month, cyclic (0..6)            0.04    2 months
SoftWeekdays       days to the nearest listed weekday, cyclic (0..3)            0.03    1 day
SoftHours          minutes from ``minute_of_day`` to [start, end], cyclic         0.03    90 minutes
                   over 24 h (``end`` past 1440 wraps past midnight)
SoftPlace          0 if the keyword field (folded) holds one of the values,     0.05    - (no decay: match or 0)
                   else no boost                                                (0.03 for semantic_name)
SoftNear           km beyond ``radius_km`` from (lat, lon) (haversine)         0.05    ``scale_km`` (default 5)
SoftText           graded: w * (terms found in ``ocr_text``) / (terms)          0.1     - (a share, no decay)
=================  ==========================================================  ======  ==========================

So a month misremembered by one keeps exp(-1/2) = 61 % of the month boost, a weekday off by one 37 %, an hour
range missed by 45 minutes 61 %. The weights are small next to the cosine terms (all boosts together at most
about 0.23, while a relevant image typically leads an irrelevant one by more than that in fused cosine), so the
vectors still decide and the constraints break near-ties.

Text-only scoring: without an image model (or without a CLIP query vector) the fused score is only
``W_TaT * cos(TaT)`` (0.3 of its full range), so boosts of absolute size would weigh 1 / 0.3 = 3.3 times more than
designed. Both stores therefore multiply every boost by ``boost_scale`` = (sum of the weights of the components
present) / (sum of all weights): 0.3 text-only, 1 with both; the boosts keep the same share of the score.

A negated place ("not in Dublin") is a ``SoftPlace`` with a negative weight (-0.05): a penalty, not a filter.

Every term is arithmetic on stored document values (``date``, ``month``, ``weekday``, ``minute_of_day``, keyword
fields, ``location``) with ``exp``/``min``/``max``/``abs``, so Elasticsearch can compute the same number in a
Painless ``script_score`` of the rescore phase (``doc['date'].value.toLocalDate().toEpochDay()``,
``Math.exp``, ``doc['location'].arcDistance(lat, lon)``; see ``boost_formula_painless``).
``soft_boost`` is the one reference implementation; both stores must agree with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Iterable, Mapping, Sequence, Union

import numpy as np

from ..filters import EARTH_RADIUS_KM
from ..timeparts import WEEKDAYS

EPOCH = date(1970, 1, 1)


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise ValueError(msg)


@dataclass(frozen=True)
class SoftDateRange:
    """Local dates ``[start, end]`` (inclusive). ``scale_days`` None = clamp(span/2, 3, 60) days."""

    start: date
    end: date
    weight: float = 0.05
    scale_days: float | None = None

    def __post_init__(self) -> None:
        _check(self.start <= self.end, f"soft date range: start {self.start} is after end {self.end}")

    @property
    def scale(self) -> float:
        """Decay scale in days."""
        if self.scale_days is not None:
            return float(self.scale_days)
        span = (self.end - self.start).days + 1
        return float(min(60.0, max(3.0, span / 2)))


@dataclass(frozen=True)
class SoftMonths:
    """Months 1-12 of any year (a month named without a year). Scale in months."""

    months: tuple[int, ...]
    weight: float = 0.04
    scale: float = 2.0

    def __post_init__(self) -> None:
        _check(bool(self.months) and all(1 <= m <= 12 for m in self.months), f"soft months: bad {self.months}")


@dataclass(frozen=True)
class SoftWeekdays:
    """Weekdays ``Mon``..``Sun``. Scale in days."""

    days: tuple[str, ...]
    weight: float = 0.03
    scale: float = 1.0

    def __post_init__(self) -> None:
        _check(bool(self.days) and all(d in WEEKDAYS for d in self.days), f"soft weekdays: bad {self.days}")


@dataclass(frozen=True)
class SoftHours:
    """Local time of day ``[start_min, end_min)`` in minutes after midnight; ``end_min`` may pass 1440 (the next
    morning: night = 1260-1740). Scale in minutes."""

    start_min: int
    end_min: int
    weight: float = 0.03
    scale: float = 90.0

    def __post_init__(self) -> None:
        _check(0 <= self.start_min < 1440 and self.start_min < self.end_min <= self.start_min + 1440,
               f"soft hours: bad range {self.start_min}-{self.end_min} minutes")


@dataclass(frozen=True)
class SoftPlace:
    """Any of ``values`` in the keyword ``field`` (``places``, ``country``, ``city``, ``semantic_name``; folded like
    the mapping's normalizer)."""

    field: str
    values: tuple[str, ...]
    weight: float = 0.05

    def __post_init__(self) -> None:
        _check(bool(self.values) and all(isinstance(v, str) and v for v in self.values),
               f"soft place: give values for {self.field}")


@dataclass(frozen=True)
class SoftNear:
    """Within ``radius_km`` of (lat, lon) in degrees; decays over ``scale_km`` beyond it."""

    lat: float
    lon: float
    radius_km: float = 1.0
    weight: float = 0.05
    scale_km: float = 5.0


@dataclass(frozen=True)
class SoftText:
    """Text to read: terms that look like something on a sign or a document ("10/2019", "pump #8", "AC/DC", a
    quoted phrase). Graded: ``weight * (terms found) / (terms)``, a term found when every one of its words
    (``text.tokens``) occurs in one of ``fields`` (the ``TextMatch`` rule).

    ``resolved``: per-document fractions ``((image_id, fraction), ...)`` computed by a store that cannot read text
    in a script (Elasticsearch fetches the ids matching each term first); None elsewhere.
    """

    terms: tuple[str, ...]
    fields: tuple[str, ...] = ("ocr_text",)
    weight: float = 0.1  # an exact text on a sign is rarer and surer than a remembered month
    resolved: tuple[tuple[str, float], ...] | None = None

    def __post_init__(self) -> None:
        from ..text import tokens

        _check(bool(self.terms) and all(tokens(t) for t in self.terms), "soft text: give terms with words")


SoftConstraint = Union[SoftDateRange, SoftMonths, SoftWeekdays, SoftHours, SoftPlace, SoftNear, SoftText]


def _decay(weight: float, dist: np.ndarray, scale: float) -> np.ndarray:
    out = weight * np.exp(-np.asarray(dist, dtype=np.float64) / scale)
    return np.where(np.isfinite(out), out, 0.0)


def _cyclic(values: np.ndarray, targets: Sequence[int], period: int) -> np.ndarray:
    diff = np.abs(values[:, None] - np.asarray(targets, dtype=np.float64)[None, :]) % period
    return np.min(np.minimum(diff, period - diff), axis=1)


def _haversine(lat: np.ndarray, lon: np.ndarray, lat0: float, lon0: float) -> np.ndarray:
    p1, p2 = np.radians(lat), math.radians(lat0)
    a = np.sin((p1 - p2) / 2) ** 2 + np.cos(p1) * math.cos(p2) * np.sin((np.radians(lon) - math.radians(lon0)) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def soft_boost(constraints: Sequence[SoftConstraint], fields: Mapping[str, np.ndarray], n: int,
               matches: Mapping[int, np.ndarray] | None = None) -> np.ndarray:
    """Sum of the soft boosts of ``n`` documents (the formula in the module docstring). Pure numpy, no I/O.

    Args:
        constraints: the soft constraints.
        fields: per-document float arrays of length ``n``, NaN where the document lacks the value:
            ``day`` (local date as days since 1970-01-01), ``month`` (1-12), ``weekday`` (0 = Mon .. 6 = Sun),
            ``minute_of_day`` (0-1439, local), ``lat``/``lon`` (degrees); and for ``SoftPlace`` the field's values
            as an object array of strings or lists of strings (``None`` = missing); for ``SoftText`` its text
            fields as strings. Arrays a constraint does not
            use may be absent.
        n: number of documents.
        matches: optional precomputed booleans for ``SoftPlace`` constraints (fractions 0..1 for ``SoftText``),
            keyed by the constraint's index in ``constraints`` (a store that can test them faster passes them).

    Returns:
        float64 array (n,) of boosts, each >= 0.

    Raises:
        KeyError: a field a constraint needs is missing from ``fields``.
    """
    total = np.zeros(n, dtype=np.float64)
    for i, c in enumerate(constraints):
        if isinstance(c, SoftDateRange):
            day = np.asarray(fields["day"], dtype=np.float64)
            s, e = (c.start - EPOCH).days, (c.end - EPOCH).days
            dist = np.maximum(np.maximum(s - day, day - e), 0.0)
            total += _decay(c.weight, dist, c.scale)
        elif isinstance(c, SoftMonths):
            month = np.asarray(fields["month"], dtype=np.float64)
            total += _decay(c.weight, _cyclic(month, c.months, 12), c.scale)
        elif isinstance(c, SoftWeekdays):
            wd = np.asarray(fields["weekday"], dtype=np.float64)
            total += _decay(c.weight, _cyclic(wd, [WEEKDAYS.index(d) for d in c.days], 7), c.scale)
        elif isinstance(c, SoftHours):
            t = np.asarray(fields["minute_of_day"], dtype=np.float64)
            dist = np.full(n, np.inf)
            for shift in (-1440.0, 0.0, 1440.0):
                u = t + shift
                d = np.maximum(np.maximum(c.start_min - u, u - c.end_min), 0.0)  # [start, end): 0 inside
                dist = np.minimum(dist, d)
            dist = np.where(np.isnan(t), np.nan, dist)
            total += _decay(c.weight, dist, c.scale)
        elif isinstance(c, SoftPlace):
            hit = matches.get(i) if matches is not None else None
            if hit is None:
                hit = _membership(fields[c.field], c.values, n)
            total += np.where(np.asarray(hit, dtype=bool), c.weight, 0.0)
        elif isinstance(c, SoftText):
            frac = matches.get(i) if matches is not None else None
            if frac is None:
                frac = text_fraction(c, [fields[f] for f in c.fields], n)
            total += c.weight * np.asarray(frac, dtype=np.float64)
        elif isinstance(c, SoftNear):
            lat = np.asarray(fields["lat"], dtype=np.float64)
            lon = np.asarray(fields["lon"], dtype=np.float64)
            dist = np.maximum(_haversine(lat, lon, c.lat, c.lon) - c.radius_km, 0.0)
            total += _decay(c.weight, dist, c.scale_km)
        else:
            raise TypeError(f"not a soft constraint: {c!r}")
    return total


def boost_scale(weights, present: Iterable[str]) -> float:
    """The factor applied to every soft boost so that the boosts' share of the score is the same whichever
    vector components a query has (module docstring, "Text-only scoring"):

        factor = (sum of the weights of the components present) / (sum of all the weights)

    e.g. 0.3 / (0.7 + 0.3) = 0.3 for a text-only query (no CLIP vector) with the default weights, 1 with both.
    Without any vector component the boosts alone order the documents: factor 1.

    Args:
        weights: the fusion weights (``filters.Weights``: ``iat``, ``tat``).
        present: the vector fields the query has a usable vector for (``"clip_vec"``, ``"capmeta_vec"``).
    Returns:
        A float in (0, 1].
    """
    w = {"clip_vec": float(weights.iat), "capmeta_vec": float(weights.tat)}
    have = sum(w[f] for f in set(present) if f in w)
    total = sum(w.values())
    return have / total if have > 0 and total > 0 else 1.0


def scale_soft(constraints: Sequence[SoftConstraint], factor: float) -> tuple[SoftConstraint, ...]:
    """The constraints with every weight multiplied by ``factor`` (:func:`boost_scale`); the same objects when 1."""
    from dataclasses import replace

    if factor == 1.0:
        return tuple(constraints)
    return tuple(replace(c, weight=c.weight * factor) for c in constraints)


def text_fraction(c: "SoftText", columns: Sequence, n: int) -> np.ndarray:
    """(n,) float64: the share of ``c.terms`` found in each document (every word of a term in one of the text
    ``columns``: sequences of strings, ``None`` = missing), the reference for the stores' faster versions."""
    from ..text import tokens

    words = [set() for _ in range(n)]
    for col in columns:
        for j, v in enumerate(col):
            if isinstance(v, str):
                words[j] |= set(tokens(v))
    out = np.zeros(n, dtype=np.float64)
    for term in c.terms:
        need = set(tokens(term))
        out += np.array([need <= w for w in words], dtype=np.float64)
    return out / len(c.terms)


def _membership(values, wanted: Sequence[str], n: int) -> np.ndarray:
    from ..text import fold

    want = {fold(v) for v in wanted}
    out = np.zeros(n, dtype=bool)
    for j, v in enumerate(values):
        if v is None:
            continue
        items = v if isinstance(v, (list, tuple, np.ndarray)) else [v]
        out[j] = any(isinstance(x, str) and fold(x) in want for x in items)
    return out


def day_number(d: date) -> int:
    """Days since 1970-01-01 of a local date (the ``day`` field of ``soft_boost``)."""
    return (d - EPOCH).days


def describe(c: SoftConstraint) -> dict:
    """A JSON-able description of a soft constraint (for ``lifeseeker parse`` and the UI chips)."""
    if isinstance(c, SoftDateRange):
        return {"type": "date", "from": c.start.isoformat(), "to": c.end.isoformat(), "weight": c.weight,
                "scale_days": c.scale}
    if isinstance(c, SoftMonths):
        return {"type": "months", "months": list(c.months), "weight": c.weight, "scale_months": c.scale}
    if isinstance(c, SoftWeekdays):
        return {"type": "weekdays", "days": list(c.days), "weight": c.weight, "scale_days": c.scale}
    if isinstance(c, SoftHours):
        return {"type": "hours", "from_min": c.start_min, "to_min": c.end_min, "weight": c.weight,
                "scale_min": c.scale}
    if isinstance(c, SoftPlace):
        return {"type": "place", "field": c.field, "values": list(c.values), "weight": c.weight}
    if isinstance(c, SoftText):
        return {"type": "text", "terms": list(c.terms), "fields": list(c.fields), "weight": c.weight}
    if isinstance(c, SoftNear):
        return {"type": "near", "lat": c.lat, "lon": c.lon, "radius_km": c.radius_km, "weight": c.weight,
                "scale_km": c.scale_km}
    raise TypeError(f"not a soft constraint: {c!r}")


boost_formula_painless = """
// One term per soft constraint, summed into the rescore script (params carry the values):
// date:     double d = Math.max(0, Math.max(params.start - day, day - params.end)); w * Math.exp(-d / params.s)
//           with day = doc['date'].value.toLocalDate().toEpochDay()
// months:   cyclic |month - m| (min over listed months, min(x, 12 - x)); w * Math.exp(-d / 2.0)
// weekdays: cyclic |weekday - k| over 7 (Mon = 0); w * Math.exp(-d / 1.0)
// hours:    t = doc['minute_of_day'].value; d = min over t-1440, t, t+1440 of max(0, start - u, u - end);
//           w * Math.exp(-d / 90.0)
// place:    w if any folded value of the keyword field is in params.values, else 0
// near:     d = Math.max(0, doc['location'].arcDistance(lat, lon) / 1000 - radius_km); w * Math.exp(-d / scale_km)
// A document lacking the field contributes 0 for that term.
"""

__all__ = ["SoftDateRange", "SoftMonths", "SoftWeekdays", "SoftHours", "SoftPlace", "SoftNear", "SoftConstraint",
           "soft_boost", "text_fraction", "SoftText", "day_number", "describe", "boost_formula_painless", "EPOCH", "boost_scale", "scale_soft"]

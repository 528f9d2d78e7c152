"""A deliberately naive reference: per-document Python predicates and numpy cosines, written apart from the
stores so that every backend is held to the same brute-force answer."""

from __future__ import annotations

import math

import numpy as np
import regex

from lifeseeker.engine import filters as F
from lifeseeker.engine.asciifold import FOLD_TABLE  # Lucene's table, checked against its source in test_text_fold


def _fold(s: str) -> str:
    """Elasticsearch's lowercase + asciifolding normalizer: per-code-point lower case, then Lucene's table."""
    return "".join((c.lower()[:1] or c) for c in s).translate(FOLD_TABLE)


def _words(text: str) -> set[str]:
    """Words of the standard analyzer: UAX #29 word segments with a letter or digit, lower-cased per code point."""
    segments = regex.split(r"(?V1w)\b", text)
    return {"".join(c.lower()[:1] for c in seg) for seg in segments if regex.search(r"[\p{L}\p{N}]", seg)}


def passes(doc: dict, clause) -> bool:
    if isinstance(clause, F.DateRange):
        d = doc.get("date")
        return d is not None and (not clause.start or d >= clause.start.isoformat()) and (
            not clause.end or d <= clause.end.isoformat())
    if isinstance(clause, F.HourRange):
        h = doc.get("hour")
        if h is None:
            return False
        return clause.start <= h < clause.end if clause.start < clause.end else (h >= clause.start or h < clause.end)
    if isinstance(clause, F.Weekdays):
        return doc.get("weekday") in clause.days
    if isinstance(clause, F.PartOfDay):
        return doc.get("part_of_day") in clause.parts
    if isinstance(clause, F.Terms):
        v = doc.get(clause.field)
        vals = v if isinstance(v, list) else ([] if v is None else [v])
        from lifeseeker.engine.schema import load_schema

        norm = _fold if "normalizer" in load_schema().properties[clause.field] else str
        want = {norm(x) for x in clause.values}
        return any(norm(x) in want for x in vals)
    if isinstance(clause, (F.GeoDistance, F.GeoBox)):
        loc = doc.get("location")
        if not loc:
            return False
        lat, lon = loc["lat"], loc["lon"]
        if isinstance(clause, F.GeoBox):
            in_lon = (clause.left <= lon <= clause.right) if clause.left <= clause.right else (
                lon >= clause.left or lon <= clause.right)
            return clause.bottom <= lat <= clause.top and in_lon
        p1, p2 = math.radians(lat), math.radians(clause.lat)
        a = (math.sin((p1 - p2) / 2) ** 2
             + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon - clause.lon) / 2) ** 2)
        return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, a))) <= clause.radius_km
    if isinstance(clause, F.TextMatch):
        words = [_words(doc.get(f) or "") for f in clause.fields]
        return all(any(tok in w for w in words) for tok in _words(clause.text))
    raise TypeError(clause)


def cos(a, b) -> float:
    if a is None or b is None:
        return 0.0
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return 0.0 if na == 0 or nb == 0 else float(a @ b / (na * nb))


def brute_force(docs, q_clip, q_tat, weights, clauses, limit):
    """[(image_id, score)] best first, ties by image_id."""
    scored = []
    for d in docs:
        if all(passes(d, c) for c in clauses):
            s = weights.iat * cos(q_clip, d.get("clip_vec")) + weights.tat * cos(q_tat, d.get("capmeta_vec"))
            scored.append((d["image_id"], s))
    scored.sort(key=lambda p: (-p[1], p[0]))
    return scored[:limit]

"""Query suggestions from images marked relevant (the seed's "automatic question generation"): what the marked
images share becomes refinement queries and yes/no questions, each with the search parameters that run it in one
click.

Rules (pure, deterministic): a value counts when it occurs in at least ``ceil(share * |R|)`` of the marked images
(``share`` = 0.5, so half of them agree); values are ranked by how many images have them, then alphabetically.

* tags (and content words of captions, stop words dropped) -> "<query> <tag>" (free text refinement) and the
  question "Was there a <tag>?" (runs the ``tag`` filter);
* OCR words (3+ letters) -> "Did you see the text '<WORD>'?" (runs the ``ocr`` filter);
* places (city, then country) -> "Was it in <city>?" (``city`` / ``country`` filter);
* part of day and weekday -> "Was it in the <part>?" / "Was it on a <weekday>?" (``part`` / ``weekday``);
* a shared date -> "Was it on <date>?" (``date_from`` = ``date_to``).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from .text import tokens

SHARE = 0.5
MAX_SUGGESTIONS = 12
STOP = frozenset("""a an the of in on at to and or with for from by is are was were be been this that these those
there here it its his her their our your my photo picture image view some two three one front near next top""".split())


@dataclass(frozen=True)
class Suggestion:
    """``label``: what the user reads; ``kind``: ``refine`` or ``question``; ``params``: search parameters (the
    JSON API's and the page's vocabulary) that run it, the original query included."""

    label: str
    kind: str
    params: Mapping[str, str] = field(default_factory=dict)


def _shared(values_per_doc: Iterable[Iterable[str]], need: int) -> list[tuple[str, int]]:
    counts: Counter[str] = Counter()
    shown: dict[str, str] = {}
    for values in values_per_doc:
        seen = set()
        for v in values:
            key = v.casefold()
            if key and key not in seen:
                seen.add(key)
                counts[key] += 1
                shown.setdefault(key, v)
    return [(shown[k], c) for k, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= need]


def suggest(docs: Sequence[Mapping], query: str = "", base_params: Mapping[str, str] | None = None,
            share: float = SHARE, limit: int = MAX_SUGGESTIONS) -> list[Suggestion]:
    """Suggestions from the marked-relevant ``docs`` (stored documents), at most ``limit``, refinements first.

    ``base_params`` (e.g. the current filters) are kept in every suggestion's params; ``query`` is the current
    free text. Raises ValueError when ``share`` is not in (0, 1].
    """
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share}")
    if not docs:
        return []
    need = max(1, math.ceil(share * len(docs)))
    base = {k: v for k, v in (base_params or {}).items() if v}
    q = query.strip()
    q_words = set(tokens(q))
    out: list[Suggestion] = []

    def with_(**kw: str) -> dict[str, str]:
        return {**base, "q": q, **kw}

    tags = _shared(([t for t in (d.get("tags") or [])] for d in docs), need)
    words = _shared(((w for w in tokens(d.get("caption") or "") if w not in STOP and len(w) > 2) for d in docs),
                    need)
    concepts = [(v, c) for v, c in tags + words if v.casefold() not in q_words]
    seen_concepts: set[str] = set()
    for value, _ in concepts:
        if value.casefold() in seen_concepts:
            continue
        seen_concepts.add(value.casefold())
        out.append(Suggestion(f"{q} {value}".strip(), "refine", with_(q=f"{q} {value}".strip())))
    for value, _ in tags:
        out.append(Suggestion(f"Was there a {value}?", "question", with_(tag=value)))
    ocr = _shared(([w.upper() for w in tokens(d.get("ocr_text") or "") if len(w) >= 3 and not w.isdigit()]
                   for d in docs), need)
    for value, _ in ocr[:3]:
        out.append(Suggestion(f"Did you see the text '{value}'?", "question", with_(ocr=value)))
    for fld, param in (("city", "city"), ("country", "country")):
        shared = _shared(([d[fld]] if d.get(fld) else [] for d in docs), need)
        if shared and not base.get(param):
            out.append(Suggestion(f"Was it in {shared[0][0]}?", "question", with_(**{param: shared[0][0]})))
            break
    part = _shared(([d["part_of_day"]] if d.get("part_of_day") else [] for d in docs), need)
    if part and not base.get("part"):
        out.append(Suggestion(f"Was it in the {part[0][0]}?", "question", with_(part=part[0][0])))
    wd = _shared(([d["weekday"]] if d.get("weekday") else [] for d in docs), need)
    if wd and not base.get("weekday"):
        out.append(Suggestion(f"Was it on a {wd[0][0]}?", "question", with_(weekday=wd[0][0])))
    dates = _shared(([str(d["date"])] if d.get("date") else [] for d in docs), need)
    if dates and not (base.get("date_from") or base.get("date_to")):
        out.append(Suggestion(f"Was it on {dates[0][0]}?", "question",
                              with_(date_from=dates[0][0], date_to=dates[0][0])))
    refine = [s for s in out if s.kind == "refine"][: limit // 2]
    questions = [s for s in out if s.kind == "question"]
    return (refine + questions)[:limit]


__all__ = ["Suggestion", "suggest", "SHARE"]

"""Two plain-language helps for the search page.

* **Did you mean**: a place typed with a typo ("walk in Arrezo", ``city=Arrezo``) gets "did you mean Arezzo?" from
  the collection's own place names (every level its photos were geocoded to: ``places``), by
  ``difflib.get_close_matches`` (Ratcliff/Obershelp similarity, Python standard library) at ``CUTOFF``. In the
  query text only a word after a place preposition ("in", "at", "to", "near", "from", "around") or a capitalised
  word is tried, so ordinary words are not "corrected" into places.
* **Sequence floor**: a pair of "A, then B" counts only when both of its events hold a frame above the relevance
  floor the question answering uses (``engine/qa/evidence.py:above_floor``: ``W_IaT*IaT + W_TaT*TaT`` reaches
  ``W_IaT*0.2 + W_TaT*0.35`` over the query vectors present); otherwise the page says that no pair passes instead
  of showing two unrelated photos as a match.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, Sequence

from ..engine.text import fold

CUTOFF = 0.8
MIN_LEN = 4
PLACE_PREPOSITIONS = ("in", "at", "to", "near", "from", "around", "visit", "visited")
PLACE_PARAMS = ("city", "country", "place")


@dataclass(frozen=True)
class DidYouMean:
    """``typed`` (as written), ``name`` (the collection's place name), ``url`` (the search with it replaced)."""

    typed: str
    name: str
    url: str


def place_names(store) -> list[str]:
    """The collection's place names: every level its photos were geocoded to (``places``; from the overview,
    cached per document count)."""
    from .browse import overview

    return overview(store)["place_names"]


def _candidates(text: str) -> list[str]:
    words = re.findall(r"[^\W\d_][\w'-]*", text)
    out = []
    for i, w in enumerate(words):
        if len(w) < MIN_LEN:
            continue
        after_prep = i > 0 and words[i - 1].lower() in PLACE_PREPOSITIONS
        if after_prep or w[0].isupper():
            out.append(w)
    return out


def did_you_mean(args, store, url_with) -> list[DidYouMean]:
    """Suggestions for place words of the query text and place filter values that are not the collection's place
    names but close to one.

    Args:
        args: the request's query parameters (``q``, ``city``, ``country``, ``place``).
        store: the open store.
        url_with: ``(param, new value) -> url`` of the same search with one parameter replaced.
    """
    names = place_names(store)
    if not names:
        return []
    folded = {fold(n): n for n in names}
    keys = list(folded)
    out: list[DidYouMean] = []

    def suggest(word: str) -> str | None:
        f = fold(word)
        if f in folded:
            return None
        match = difflib.get_close_matches(f, keys, n=1, cutoff=CUTOFF)
        return folded[match[0]] if match else None

    q = args.get("q") or ""
    for w in _candidates(q):
        name = suggest(w)
        if name:
            out.append(DidYouMean(w, name, url_with("q", re.sub(rf"\b{re.escape(w)}\b", name, q))))
    for p in PLACE_PARAMS:
        for v in [x.strip() for x in (args.get(p) or "").split(",") if x.strip()]:
            name = suggest(v)
            if name:
                new = ",".join(name if x.strip() == v else x.strip() for x in args.get(p).split(","))
                out.append(DidYouMean(v, name, url_with(p, new)))
    return out


def pairs_above_floor(pairs: Sequence[Any], weights, has_clip: bool, has_tat: bool) -> list[bool]:
    """Per pair: whether both of its events hold a frame above the QA relevance floor (module docstring)."""
    from ..engine.qa.evidence import above_floor

    def ok(event) -> bool:
        return any(above_floor(h, weights, has_clip, has_tat) for h in event.hits)

    return [ok(p.first) and ok(p.second) for p in pairs]

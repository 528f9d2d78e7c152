"""The lifelog's own places: a vocabulary of the ``semantic_name``, ``locality`` and ``city`` values the store holds,
matched against the query's word n-grams (issue 18, "the lifelog's own venues").

* A venue (``semantic_name``: "Musgrave MarketPlace", "Brazen Head", "SPAR") named in the query becomes
  ``ParsedQuery.venues``, a soft boost on the ``places`` field (which holds every document's semantic name,
  locality, city and country).
* Matching is on folded n-grams (``key_of``: lower case, accents folded, punctuation dropped), so "musgrave
  marketplace" and "Northside shopping centre" match; a small typo is forgiven in longer names (one edit from 5
  letters, two from 10: Levenshtein distance on the folded key). A one-word name that is also a common English
  word ("Spar", "Centra") must be written capitalised; a quoted name (straight or curly quotes) is strong evidence
  and always matches.
* ``locality`` / ``city`` values are evidence for the gazetteer (``visited``: a bare one-word town the person has
  been to is a place, places.py).
* Semantic labels of the parser (``home``, ``work``) and names shorter than 3 letters are left out.

``vocabulary_for(store)`` builds it once per store version (facets of the three fields) and keeps it.
"""

from __future__ import annotations

import re
import threading
from typing import Any, Iterable

from .gazetteer import WORD_RE, gazetteer, key_of
from .scan import Scan, quoted_spans
from .words import is_common_word

__all__ = ["Vocabulary", "parse_venues", "vocabulary_for", "edit_distance"]

VOCAB_FIELDS = ("semantic_name", "locality", "city")
_LITTLE = frozenset("a an the of in on at to for and or with from by".split())
MAX_WORDS = 6


def edit_distance(a: str, b: str, limit: int) -> int:
    """Edit distance between ``a`` and ``b`` (insertions, deletions, substitutions and swaps of two neighbouring
    letters, each 1: the optimal string alignment distance, "centre"/"center" = 1), or ``limit + 1`` as soon as
    it exceeds ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def _typo_limit(key: str) -> int:
    n = len(key.replace(" ", ""))
    return 2 if n >= 10 else 1 if n >= 5 else 0


class Vocabulary:
    """Folded names of the lifelog's places.

    Args:
        names: ``(field, value)`` pairs, ``field`` one of ``VOCAB_FIELDS``.
        skip: folded names never matched (the parser's semantic labels: ``home``, ``work``).
    """

    def __init__(self, names: Iterable[tuple[str, str]], skip: Iterable[str] = ("home", "work")) -> None:
        skip = {key_of(s) for s in skip}
        self.venues: dict[str, str] = {}   # folded key -> semantic_name as stored
        self.towns: set[str] = set()       # folded locality / city names
        for field, value in names:
            if not isinstance(value, str):
                continue
            k = key_of(value)
            if len(k.replace(" ", "")) < 3 or k in skip:
                continue
            if field == "semantic_name":
                self.venues.setdefault(k, value)
            else:
                self.towns.add(k)
        # compact keys (spaces dropped: "market place" = "marketplace"), by first letter for the typo search
        self.compact: dict[str, str] = {k.replace(" ", ""): k for k in self.venues}
        self.buckets: dict[tuple[str, int], list[str]] = {}
        for c in self.compact:
            self.buckets.setdefault((c[0], len(c)), []).append(c)
        self.max_words = max((len(k.split()) for k in self.venues), default=0)

    @classmethod
    def from_csv(cls, path) -> "Vocabulary":
        """From a CSV with a header naming any of ``VOCAB_FIELDS`` (an LSC metadata file has ``semantic_name``).

        Raises:
            OSError: the file cannot be read. ValueError: no column is named like a vocabulary field.
        """
        import csv

        with open(path, encoding="utf-8", newline="") as fh:
            rows = csv.DictReader(fh)
            fields = [f for f in VOCAB_FIELDS if f in (rows.fieldnames or ())]
            if not fields:
                raise ValueError(f"{path}: no column named {' or '.join(VOCAB_FIELDS)}")
            return cls([(f, (row.get(f) or "").strip()) for row in rows for f in fields])

    def __len__(self) -> int:
        return len(self.venues) + len(self.towns)

    def visited(self, surface: str) -> bool:
        """Whether the lifelog has been to a town or venue of this name (evidence for a bare place name)."""
        k = key_of(surface)
        return k in self.towns or k in self.venues

    def lookup(self, key: str, typos: bool = True) -> tuple[str, int] | None:
        """The stored venue name for a folded n-gram and the edit distance (0 = exact; ``typos``: also search
        names one or two edits away), or None."""
        if key in self.venues:
            return self.venues[key], 0
        c = key.replace(" ", "")
        if not c:
            return None
        if c in self.compact:
            return self.venues[self.compact[c]], 0
        limit = _typo_limit(key) if typos else 0
        if not limit:
            return None
        best = None
        for n in range(len(c) - limit, len(c) + limit + 1):  # only names of a length within reach
            for cand in self.buckets.get((c[0], n), ()):
                d = edit_distance(c, cand, limit)
                if d <= limit and (best is None or d < best[1]):
                    best = (self.venues[self.compact[cand]], d)
        return best


def parse_venues(ctx: Scan, vocab: Vocabulary) -> list[str]:
    """The venues of ``vocab`` that ``ctx.t`` names, longest n-gram first; taken (they stay in the visual text).

    Returns:
        The stored ``semantic_name`` values, in order of mention.
    """
    out: list[str] = []
    t = ctx.t
    landmarks = gazetteer(ctx.lang).landmarks
    for a, b in quoted_spans(ctx.raw):  # quoted: strong evidence
        inner = t[a + 1:b - 1]
        got = vocab.lookup(key_of(inner)) if inner.strip() else None
        if got:
            out.append(got[0])
            ctx.decide(a, b, f"venue {got[0]}", "a quoted name of the lifelog's own places" +
                       (f" (edit distance {got[1]})" if got[1] else ""))
    toks = [(m.start(), m.end(), m.group(0)) for m in WORD_RE.finditer(t)]
    i = 0
    while i < len(toks):
        hit = None
        for n in range(min(MAX_WORDS, vocab.max_words + 1, len(toks) - i), 0, -1):
            a, b = toks[i][0], toks[i + n - 1][1]
            if not ctx.free(a, b) or any(not re.fullmatch(r"[ \-]", t[toks[k][1]:toks[k + 1][0]])
                                         for k in range(i, i + n - 1)):
                continue
            words = [w for _, _, w in toks[i:i + n]]
            # a typo is looked for only in n-grams that could be a name: no little word at either end, and a
            # capitalised or unknown word inside ("Insomnia Cofee"), which keeps parsing fast on long texts
            typos = words[0].lower() not in _LITTLE and words[-1].lower() not in _LITTLE and any(
                w[:1].isupper() or not is_common_word(w) for w in words)
            got = vocab.lookup(key_of(t[a:b]), typos=typos)
            if got is None:
                continue
            surface = ctx.raw[a:b]
            content = [w for w in WORD_RE.findall(surface) if w.lower() not in ("the", "of", "a", "an")]
            if content and all(is_common_word(w) and not w[:1].isupper() for w in content):
                ctx.decide(a, b, None, f"venue {got[0]} not read: common words written in lower case")
                continue
            if n == 1 and got[1]:
                continue  # a one-word typo match is too weak
            hit = (n, got)
            break
        if hit is None:
            i += 1
            continue
        n, (name, dist) = hit
        a, b = toks[i][0], toks[i + n - 1][1]
        if name not in out:
            out.append(name)
        ctx.decide(a, b, f"venue {name}", "a name of the lifelog's own places" +
                   (f" (edit distance {dist})" if dist else ""))
        if key_of(name) not in landmarks:  # "Sagrada Familia", "DCU": the gazetteer still reads their city
            ctx.take(a, b, remove=False)
        i += n
    return out


_CACHE: dict[Any, Vocabulary] = {}
_LOCK = threading.Lock()


def _version(store) -> Any:
    snap = getattr(store, "snapshot", None)
    if callable(snap):
        return ("snapshot", getattr(snap(), "version", None), store.count())
    return ("count", store.count())


def vocabulary_for(store, size: int = 10_000) -> Vocabulary:
    """The vocabulary of ``store`` (facets of ``VOCAB_FIELDS``), built once per store version and kept.

    Raises:
        StoreError: the store cannot be read (from ``store.facets``).
    """
    key = (id(store), getattr(store, "url", None), _version(store))
    with _LOCK:
        got = _CACHE.get(key)
    if got is not None:
        return got
    facets = store.facets(list(VOCAB_FIELDS), size=size)
    vocab = Vocabulary((f, v) for f in VOCAB_FIELDS for v, _ in facets.get(f, ()))
    with _LOCK:
        for k in [k for k in _CACHE if k[0] == id(store)]:
            del _CACHE[k]
        _CACHE[key] = vocab
    return vocab

"""The working state of one query parse (``Scan``): the text, which characters a recogniser has already taken, which
spans leave the visual text, and the warnings so far.

Each recogniser (dates.py, clock.py, semantic.py, places.py) reads ``Scan.t`` and claims what it understood with
``Scan.take``, so that a later one never reads the same words again; parse.py runs them in a fixed order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

__all__ = ["Scan", "QUOTES", "quoted_spans"]


@dataclass
class Scan:
    """Working state of one parse.

    Attributes:
        raw: the text as typed (cut to ``parse.MAX_CHARS``).
        t: ``raw`` with curly quotes folded to ASCII (``QUOTES``), same length as ``raw``: offsets are shared.
        blocked: one flag per character: quoted text, key:value terms and whatever a recogniser took.
        today: the local date relative phrases count from.
        lang: the word-table module (lang_en.py).
        remove: ``[from, to)`` character spans to drop from the visual text.
        key_values: the key:value spans (dropped without the little words before them).
        warnings: things noticed and ignored, for ``ParsedQuery.warnings``.
        decisions: what each recogniser made of a phrase and why (``{"text", "as", "evidence"}``; ``as`` is None
            for a phrase it looked at and left alone), shown by ``lifeseeker parse``.
        vocabulary: the lifelog's own place names (vocab.py ``Vocabulary``), or None.
    """

    raw: str
    t: str  # quotes folded to ASCII, same length as raw
    blocked: list[bool]  # quoted text and key:value terms: never a constraint
    today: date
    lang: Any
    remove: list[tuple[int, int]] = field(default_factory=list)  # spans to drop from the visual text
    key_values: list[tuple[int, int]] = field(default_factory=list)  # key:value spans (dropped without glue words)
    warnings: list[str] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    vocabulary: Any = None

    def decide(self, a: int, b: int, what: str | None, evidence: str) -> None:
        """Record a decision about ``raw[a:b]``: what it became (None: left alone) and the evidence."""
        self.decisions.append({"text": self.raw[a:b], "as": what, "evidence": evidence})

    def free(self, a: int, b: int) -> bool:
        """Whether no character of ``[a, b)`` is blocked (quoted, a key:value term, or taken already)."""
        return not any(self.blocked[a:b])

    def take(self, a: int, b: int, remove: bool = True) -> None:
        """Claim ``[a, b)`` so that no later recogniser reads it; ``remove``: also drop it from the visual text."""
        for i in range(a, b):
            self.blocked[i] = True
        if remove:
            self.remove.append((a, b))

    def sentence(self, pos: int) -> tuple[int, int]:
        """Start and end offsets of the sentence around ``pos``."""
        a = max(self.t.rfind(ch, 0, pos) for ch in ".!?;\n")
        ends = [i for i in (self.t.find(ch, pos) for ch in ".!?;\n") if i >= 0]
        return a + 1, (min(ends) if ends else len(self.t))

    def before(self, pos: int) -> str:
        """Text of the sentence before ``pos`` (the left context of a match)."""
        return self.t[self.sentence(pos)[0]:pos]


QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
                        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"', "\u00b4": "'", "`": "'"})


def quoted_spans(raw: str) -> list[tuple[int, int]]:
    """The ``[from, to)`` character spans of quoted text in ``raw`` (‘…’, "…", “…”, '…'): never a constraint."""
    spans = []
    for m in re.finditer(r"\u2018([^\u2018\u2019\n]{1,80})[\u2019\u2018]", raw):  # ‘text’ (also ‘text‘)
        spans.append(m.span())
    for m in re.finditer(r'["\u201c]([^"\u201c\u201d\n]{1,200})["\u201d]', raw):
        spans.append(m.span())
    for m in re.finditer(r"(?<![\w'])'([^'\n]{1,80})'(?![\w])", raw):
        spans.append(m.span())
    return spans

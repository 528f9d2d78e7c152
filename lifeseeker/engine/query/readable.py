"""Text to read (issue 18, kind 11): query tokens that look like something read off a sign or a document become
``ParsedQuery.read_terms``, a graded soft boost on the OCR text (soft.py ``SoftText``), shown as a chip:

* a quoted phrase (straight or curly quotes): "“Exit 4”";
* a month/year or a number pair written with a slash ("10/2019"), a label with a number sign ("pump #8" -> the
  words ``pump 8``), letters joined by slashes ("AC/DC");
* a word in capitals of three or more letters, or capitals with digits ("HEINZ", "NTCIR-14"), unless the whole
  text is in capitals (shouting) or a recogniser already read it (a place, a venue).

Terms stay in the visual and the full text; the boost only lifts documents whose OCR holds them.
"""

from __future__ import annotations

import re

from .scan import Scan, quoted_spans

__all__ = ["parse_readable"]

_PATTERNS = [
    ("a number with a slash", re.compile(r"(?<![\w/])\d{1,2}/\d{2,4}(?![\w/])")),
    ("a label with a number sign", re.compile(r"\b([A-Za-z]{2,})\s*#\s*(\d+)\b")),
    ("letters joined by slashes", re.compile(r"(?<![\w/])[A-Za-z0-9]+(?:/[A-Za-z0-9]+)+(?![\w/])")),
    ("a word in capitals", re.compile(r"\b(?:[A-Z]{2,}-?\d+|[A-Z]{3,})\b")),
]


def parse_readable(ctx: Scan) -> list[str]:
    """The terms to read in ``ctx.raw`` (see the module docstring), in order of mention, without repeats."""
    raw = ctx.raw
    found: list[tuple[int, str]] = []
    for a, b in quoted_spans(raw):
        inner = raw[a + 1:b - 1].strip()
        if inner and (a, b) not in ctx.key_values and not any(a >= x and b <= y for x, y in ctx.key_values):
            found.append((a, inner))
            ctx.decide(a, b, f"text to read {inner!r}", "a quoted phrase")
    shouting = sum(c.isupper() for c in raw) > 0.6 * max(1, sum(c.isalpha() for c in raw))
    taken = list(ctx.blocked)
    for why, rx in _PATTERNS:
        if why == "a word in capitals" and shouting:
            continue
        for m in rx.finditer(raw):
            a, b = m.span()
            if any(taken[a:b]):
                continue
            if why == "letters joined by slashes" and not re.search(r"[A-Za-z]", m.group(0)):
                continue  # digits only: a date-like pair, read by the slash-number rule
            term = f"{m.group(1)} {m.group(2)}" if why == "a label with a number sign" else m.group(0)
            found.append((a, term))
            ctx.decide(a, b, f"text to read {term!r}", why)
            for k in range(a, b):
                taken[k] = True
    out: list[str] = []
    for _, term in sorted(found):
        if term not in out:
            out.append(term)
    return out

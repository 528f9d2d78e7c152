"""Semantic places in a query ("at home", "my kitchen", "in the office" -> ``home``, ``work``): only where the moment
happens, not where it starts, heads or is near ("from my home", "drove to my office", "near my house", "not at
home": ``lang.SEMANTIC_SKIP_BEFORE``).

Word tables come from the language module (lang_en.py, ``SEMANTIC_PLACES``).
"""

from __future__ import annotations

import re
from functools import lru_cache

from .scan import Scan

__all__ = ["parse_semantic"]


@lru_cache(maxsize=8)
def _patterns(lang) -> list[tuple[str, re.Pattern]]:
    """``(label, pattern)`` per semantic place of language ``lang``, compiled once per language."""
    return [(label, re.compile(rf"\b(?:{pat})\b", re.IGNORECASE)) for label, pat in lang.SEMANTIC_PLACES.items()]


def parse_semantic(ctx: Scan) -> tuple[str, ...]:
    """Semantic place labels where the moment happens, in the order of ``lang.SEMANTIC_PLACES``.

    Every mention is taken (so that no place recogniser reads "home" again) but stays in the visual text; one after
    a route word ("from", "back to") does not count.
    """
    lang, t = ctx.lang, ctx.t
    labels: list[str] = []
    for label, rx in _patterns(lang):
        for m in rx.finditer(t):
            if not ctx.free(*m.span()):
                continue
            ctx.take(*m.span(), remove=False)
            if re.search(lang.SEMANTIC_SKIP_BEFORE, ctx.before(m.start()), re.I):
                continue
            if label not in labels:
                labels.append(label)
    return tuple(labels)

"""Text normalisation shared by both stores, the query parser and the gazetteer: one ``fold`` and one ``tokens``,
each equal to what Elasticsearch does with the same text.

``fold`` is the mapping's ``folding`` normalizer (``lowercase`` then ``asciifolding``, see
``lifeseeker/mappings/lifelog.json``): Lucene's ``LowerCaseFilter`` (``Character.toLowerCase`` per code point) and
``ASCIIFoldingFilter`` (its table in :mod:`lifeseeker.engine.asciifold`). ``tokens`` is the ``standard`` analyzer
of the ``text`` fields: Lucene's ``StandardTokenizer`` (Unicode UAX #29 word boundaries, here from the ``regex``
package's ``WORD`` flag) then lower-casing, so ``3.5``, ``don't`` and ``foo_bar`` are one word each, in
Elasticsearch and in the embedded store alike. It is the unit of a full-text clause (``TextMatch``) and of the
embedded store's word index.
"""

from __future__ import annotations

from functools import lru_cache

import regex

from .asciifold import FOLD_TABLE

__all__ = ["fold", "lower", "tokens"]

# Zero-width splits at UAX #29 default word boundaries (regex's WORD flag, version-1 semantics).
_BOUNDARY = regex.compile(r"(?V1w)\b")
# A segment is a word when it holds a letter, a digit or an ideograph (Lucene emits no token for punctuation,
# spaces or symbols; StandardTokenizer's rule statuses ALPHANUM/NUM/IDEOGRAPHIC/HIRAGANA/KATAKANA/HANGUL...).
_WORDLIKE = regex.compile(r"[\p{L}\p{N}]")


@lru_cache(maxsize=4096)
def _lower_char(c: str) -> str:
    low = c.lower()
    return low if len(low) == 1 else low[0]  # Java's toLowerCase(int) maps one code point to one ("İ" -> "i")


def lower(value: str) -> str:
    """Lucene ``LowerCaseFilter``: each code point lower-cased on its own (no context: "Σ" -> "σ" everywhere, no
    special final sigma; one code point in, one out).

    Args:
        value: any text.
    Returns:
        The lower-cased text, same number of code points.
    """
    if value.isascii():
        return value.lower()
    return "".join(_lower_char(c) for c in value)


def fold(value: str) -> str:
    """Case- and accent-folded form of ``value``, as the mapping's ``folding`` normalizer makes it
    (``lowercase`` + ``asciifolding``; Lucene source: see the module docstring).

    ``"Tromsø" -> "tromso"``, ``"Łódź" -> "lodz"``, ``"Æble" -> "aeble"``, ``"Đakovo" -> "dakovo"``,
    ``"Straße" -> "strasse"``; characters Lucene does not fold stay as they are (``"東京"``).

    Args:
        value: any text.
    Returns:
        The folded text (str); its length may change (``ß`` -> ``ss``, ``⑴`` -> ``(1)``).
    """
    low = lower(value)
    return low if low.isascii() else low.translate(FOLD_TABLE)


def tokens(text: str) -> list[str]:
    """Lower-cased words of ``text`` as Elasticsearch's ``standard`` analyzer makes them: segments between Unicode
    word boundaries (UAX #29) that hold a letter or digit, lower-cased (:func:`lower`).

    ``"Heinz Beanz, 2019!" -> ["heinz", "beanz", "2019"]``; ``"3.5 don't foo_bar" -> ["3.5", "don't",
    "foo_bar"]``; ``"a-b 1..2" -> ["a", "b", "1", "2"]``; ``"我是" -> ["我", "是"]``.
    Lucene's 255-character token limit is not applied.
    """
    return [lower(p) for p in _BOUNDARY.split(text) if _WORDLIKE.search(p)]

"""Text normalisation shared by both stores, the query parser and the gazetteer: one ``fold`` and one ``tokens``.

``fold`` is the mapping's ``folding`` normalizer (Lucene ``lowercase`` + ``asciifolding``, see
``lifeseeker/mappings/lifelog.json``); ``tokens`` is the unit of a full-text clause (``TextMatch``) and of the
embedded store's word index.
"""

from __future__ import annotations

import unicodedata

__all__ = ["fold", "tokens"]


def fold(value: str) -> str:
    """Case- and accent-folded form of ``value`` (the mapping's ``folding`` normalizer).

    ``"Tromsø" -> "tromso"``, ``"Málaga" -> "malaga"``, ``"Straße" -> "strasse"``.

    Args:
        value: any text.
    Returns:
        The folded text (str); length may change (``ß`` -> ``ss``).
    """
    if value.isascii():  # no accents to strip; ASCII casefold is lower (the gazetteer folds ~400k names)
        return value.lower()
    decomposed = unicodedata.normalize("NFKD", value.replace("ø", "o").replace("Ø", "O").replace("ß", "ss"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens of ``text`` (runs of unicode letters/digits), the unit of ``TextMatch``.

    ``"Heinz Beanz, 2019!" -> ["heinz", "beanz", "2019"]``.
    """
    out, cur = [], []
    for ch in text.casefold():
        if ch.isalnum():
            cur.append(ch)
        elif cur:
            out.append("".join(cur))
            cur = []
    if cur:
        out.append("".join(cur))
    return out

"""A dictionary of common English words: evidence against reading an ordinary word as a town ("Cat", "Young",
"Holiday", "Orange").

Source: the ``english-words`` package (https://github.com/mwiens91/english-words-py, MIT), its ``web2`` list
(Webster's Second International, as shipped with BSD Unix). Only the entries written in lower case there are
common words: proper nouns are capitalised in that list ("Dublin" is absent, "cat" and "young" are present).
Loaded once per process (about 0.2 s).
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["common_words", "is_common_word"]


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """The lower-case entries of the ``web2`` word list (about 210 000 words), or an empty set without the package."""
    try:
        from english_words import get_english_words_set
    except ImportError:  # pragma: no cover - a declared dependency
        return frozenset()
    return frozenset(w for w in get_english_words_set(["web2"], lower=False, alpha=True) if w.islower())


def is_common_word(word: str) -> bool:
    """Whether ``word`` (any case) is a common English word of the dictionary."""
    return word.lower() in common_words()

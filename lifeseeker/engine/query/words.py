"""A dictionary of common English words: evidence against reading an ordinary word as a town ("Cat", "Young",
"Holiday", "Orange").

Source: the ``english-words`` package (https://github.com/mwiens91/english-words-py, MIT), its ``web2`` list
(Webster's Second International, as shipped with BSD Unix). Only the entries written in lower case there are
common words: proper nouns are capitalised in that list ("Dublin" is absent, "cat" and "young" are present).
Built once per package version into the user's cache (``derived.cached_json``, about 0.4 s) and read from there
(a few tens of ms), once per process.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["common_words", "is_common_word"]


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """The lower-case entries of the ``web2`` word list (about 210 000 words), or an empty set without the package."""
    from importlib.metadata import PackageNotFoundError, version

    from .derived import cached_json, digest_of

    try:
        digest = digest_of([__file__], versions=[version("english-words")])
    except PackageNotFoundError:  # pragma: no cover - a declared dependency
        return frozenset()
    text = cached_json("common-words", digest, lambda: "\n".join(sorted(_web2_lower())))
    return frozenset(text.split("\n")) if text else frozenset()


def _web2_lower() -> list[str]:
    try:
        from english_words import get_english_words_set
    except ImportError:  # pragma: no cover - a declared dependency
        return []
    return [w for w in get_english_words_set(["web2"], lower=False, alpha=True) if w.islower()]


def is_common_word(word: str) -> bool:
    """Whether ``word`` (any case) is a common English word of the dictionary."""
    return word.lower() in common_words()

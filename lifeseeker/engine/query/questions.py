"""Question detection and answer type, for the QA step to route on.

A query is a question when one of its sentences asks for a fact: it ends with "?" or opens with a question word
followed by a verb ("what was the name of ...", "how many ...", "did I ..."). Not questions: requests for pictures
("can you show me when I was in Turkey?", "May I see the red car"), exclamations ("what a beautiful sunset") and
titles without a question mark ("Where's Wally poster", "why so serious joker poster").

Answer types (``answer_type``): ``time`` (date, time, year, month, weekday, season), ``location``, ``counting``
(how many, how often), ``duration`` (how long, how many minutes ...), ``visual`` (something to read off the images;
``answer_kind`` is ``colour``, ``ocr`` or ``object``) and ``other`` (who, why, yes/no). The rules, tried in order,
are the language table's ``ANSWER_TYPES``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class QuestionInfo:
    """Whether a text asks a question, and what kind of answer it wants (None when not a question)."""

    is_question: bool
    answer_type: str | None = None
    answer_kind: str | None = None
    sentence: str | None = None


def _sentences(text: str, lang=None) -> list[str]:
    """Sentences of ``text``; an abbreviation's dot ("St. Anne's Park", "Dr. Murphy") ends none."""
    abbr = getattr(lang, "ABBREVIATIONS", None)
    if abbr:
        text = re.sub(rf"\b({abbr})\.(?=\s)", "\\1\u2024", text)  # one-dot leader: kept inside the sentence
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [p.strip().replace("\u2024", ".") for p in parts if p and p.strip()]


def _asks(sentence: str, lang) -> bool:
    s = sentence.strip().strip("\"'()[]")
    low = s.lower()
    if re.search(getattr(lang, "IMPERATIVE_QUESTION", r"$^"), low):
        return True  # "Tell me the name of ...", "Find the date when ..."
    if re.search(lang.REQUEST_OPENERS, low) or re.search(lang.EXCLAMATION_OPENERS, low):
        return False
    words = re.findall(r"[a-z']+", low)
    if not words:
        return False
    first, rest = words[0], words[1:]
    if s.endswith("?"):
        # a title with a question mark ("Zombies on the platform?") asks nothing: a question has a question word,
        # or an auxiliary before its subject ("did I ...", "was it ...")
        if any(w in lang.WH_WORDS or w.split("'")[0] in lang.WH_WORDS for w in words):
            return True
        subj = lang.SUBJECT_PRONOUNS | {"it", "there", "my", "the", "this", "that", "you"}
        return any(w in lang.AUX_WORDS and nxt in subj for w, nxt in zip(words, words[1:]))
    if "'" in first and first.split("'")[0] in lang.WH_WORDS:
        return False  # "Where's Wally poster": a title (a real question would end with "?")
    if first in lang.WH_WORDS:
        if first == "how":
            return bool(rest) and rest[0] in lang.HOW_QUESTION_WORDS
        # inversion: "what was ...", "which hotel did I ..."; not "when I was in Turkey" (a clause)
        for w in rest[:3]:
            if w in lang.AUX_WORDS:
                return True
            if w in lang.SUBJECT_PRONOUNS:
                return False
        return False
    if first in lang.AUX_WORDS and len(rest) >= 2 and rest[0] in lang.SUBJECT_PRONOUNS | {"it", "there", "my", "the"}:
        return True
    return False


def analyse_question(text: str, lang=None) -> QuestionInfo:
    """Detect a question and its answer type.

    Args:
        text: the query (curly quotes may already be folded to ASCII).
        lang: language table module (default English).

    Returns:
        QuestionInfo; ``answer_type`` is None when the text is not a question.
    """
    if lang is None:
        from . import lang_en as lang
    for sentence in _sentences(text or "", lang):
        if not _asks(sentence, lang):
            continue
        low = sentence.lower()
        for answer_type, kind, pattern in lang.ANSWER_TYPES:
            if re.search(pattern, low):
                return QuestionInfo(True, answer_type, kind, sentence)
        return QuestionInfo(True, "other", None, sentence)
    return QuestionInfo(False)


__all__ = ["QuestionInfo", "analyse_question"]

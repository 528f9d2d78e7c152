"""Scoring question answers against labelled ones (``questions.jsonl``: ``id``, ``text``, ``type``, ``answer`` and
optionally ``answers``: every accepted form, as DRES judges accept several spellings of one answer; a prediction
scores the best over the accepted forms). ``NO_MATCH`` ("no photo matches") is the expected answer of a question
whose scope holds no photo; the engine's answer with ``no_match`` set is recorded as that text.

Answers are compared after :func:`normalise_answer`: accents folded, lower case, month abbreviations spelled out,
dates written with a month name rewritten ISO (``11 October 2019``, ``October 11th, 2019`` -> ``2019-10-11``;
``October 2019`` -> ``2019-10``), ordinals and number words as digits (``two`` -> ``2``; ``never``/``none`` ->
``0``), articles and hedges (``about``, ``around``, ``approximately``...) and punctuation dropped (``:``, ``.`` and
``-`` between digits kept; ``a.m.`` -> ``am``). Three scores per question, after SQuAD's evaluation script:

* ``exact``: the normalised strings are equal (the headline "normalised match");
* ``contains``: every normalised reference token occurs in the prediction (a right answer said at more length);
* ``f1``: token-overlap F1 of the two normalised strings.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december"]
_MONTH_ABBR = {m[:3]: m for m in MONTHS} | {"sept": "september"}
NUMBER_WORDS = {"zero": 0, "none": 0, "never": 0, "one": 1, "once": 1, "two": 2, "twice": 2,
                "three": 3, "thrice": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
                "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
                "forty": 40, "fifty": 50, "sixty": 60, "hundred": 100}
DROP = {"a", "an", "the", "about", "around", "approximately", "approx", "roughly", "nearly", "almost", "maybe",
        "perhaps", "probably", "some", "circa", "ca", "exactly", "just"}
_MONTH = "(" + "|".join(MONTHS) + ")"
_DMY = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?(?: of)? {_MONTH},? (\d{{4}})\b")
_MDY = re.compile(rf"\b{_MONTH} (\d{{1,2}})(?:st|nd|rd|th)?,? (\d{{4}})\b")
_MY = re.compile(rf"\b{_MONTH},? (\d{{4}})\b")


NO_MATCH = "no photo matches"


class AnswersFormatError(ValueError):
    """A predictions file cannot be read; the message names the file and line."""


def normalise_answer(text: str) -> str:
    """The comparable form of an answer (see the module docstring)."""
    s = unicodedata.normalize("NFKD", str(text or ""))
    s = "".join(c for c in s if not unicodedata.combining(c)).casefold()
    s = re.sub(r"[\u2018\u2019'`]", "", s)
    s = re.sub(r"\b([ap])\.m\b\.?", r"\1m", s)
    s = re.sub(r"(?<!\d)[.:\-](?!\d)|[^\w\s.:\-]", " ", s)
    s = re.sub(r"(?<=\d)[.:\-](?!\d)|(?<!\d)[.:\-](?=\d)", " ", s)
    words = [_MONTH_ABBR.get(w, w) for w in s.split()]
    s = " ".join(words)
    s = _DMY.sub(lambda m: f"{m.group(3)}-{MONTHS.index(m.group(2)) + 1:02d}-{int(m.group(1)):02d}", s)
    s = _MDY.sub(lambda m: f"{m.group(3)}-{MONTHS.index(m.group(1)) + 1:02d}-{int(m.group(2)):02d}", s)
    s = _MY.sub(lambda m: f"{m.group(2)}-{MONTHS.index(m.group(1)) + 1:02d}", s)
    out = []
    for w in s.split():
        w = re.sub(r"^(\d+)(st|nd|rd|th)$", r"\1", w)
        if w in NUMBER_WORDS:
            w = str(NUMBER_WORDS[w])
        if w not in DROP:
            out.append(w)
    return " ".join(out)


def f1_score(prediction: str, reference: str) -> float:
    """Token-overlap F1 of the normalised answers (1.0 when both are empty)."""
    p, r = normalise_answer(prediction).split(), normalise_answer(reference).split()
    if not p or not r:
        return float(p == r)
    common = sum((Counter(p) & Counter(r)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(r)
    return 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class AnswerScore:
    """One question's scores."""

    id: str
    type: str | None
    reference: str
    prediction: str | None
    exact: bool
    contains: bool
    f1: float

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"id": self.id, "type": self.type, "reference": self.reference, "prediction": self.prediction,
                "exact": self.exact, "contains": self.contains, "f1": round(self.f1, 6)}


def score_answer(qid: str, reference: str, prediction: str | None, qtype: str | None = None) -> AnswerScore:
    """Score one prediction (None = unanswered: all scores 0) against the reference answer."""
    if prediction is None or not normalise_answer(prediction):
        return AnswerScore(qid, qtype, reference, prediction, False, False, 0.0)
    p, r = normalise_answer(prediction), normalise_answer(reference)
    return AnswerScore(qid, qtype, reference, prediction, p == r, bool(r) and set(r.split()) <= set(p.split()),
                       f1_score(prediction, reference))


def evaluate_answers(questions: Sequence[Mapping[str, Any]], predictions: Mapping[str, str]) -> dict[str, Any]:
    """Score ``predictions`` (question id -> answer) against the ``answer`` of each question.

    Returns:
        ``{"n", "answered", "exact", "contains", "f1", "types": {type: {"n", "exact", "contains", "f1"}},
        "questions": [AnswerScore JSON...]}``; rates are means over all ``n`` questions (unanswered = 0).
    Raises:
        ValueError: a question without ``id`` or ``answer``.
    """
    scores = []
    for q in questions:
        if not q.get("id") or q.get("answer") is None:
            raise ValueError(f"question {q!r:.80} has no id or answer")
        forms = [str(q["answer"])] + [str(a) for a in q.get("answers") or [] if str(a) != str(q["answer"])]
        pred = predictions.get(str(q["id"]))
        best = [score_answer(str(q["id"]), f, pred, q.get("type")) for f in forms]
        scores.append(max(best, key=lambda s: (s.exact, s.contains, s.f1)))

    def summary(rows: list[AnswerScore]) -> dict[str, Any]:
        n = len(rows)
        return {"n": n, "exact": sum(s.exact for s in rows) / n if n else None,
                "contains": sum(s.contains for s in rows) / n if n else None,
                "f1": sum(s.f1 for s in rows) / n if n else None}

    by_type: dict[str, list[AnswerScore]] = {}
    for s in scores:
        by_type.setdefault(s.type or "-", []).append(s)
    return {**summary(scores), "answered": sum(s.prediction is not None for s in scores),
            "types": {t: summary(rows) for t, rows in sorted(by_type.items())},
            "questions": [s.to_json() for s in scores]}


def load_questions(path: str | Path) -> list[dict[str, Any]]:
    """Question records from JSON lines.

    Raises:
        OSError: unreadable file. AnswersFormatError: a line that is not a JSON object.
    """
    return _jsonl(Path(path))


def load_predictions(path: str | Path) -> dict[str, str]:
    """Predictions: JSON lines with ``id`` and ``answer`` (or ``prediction``), or tab-separated ``id<TAB>answer``.

    Raises:
        OSError: unreadable file. AnswersFormatError: a line in neither shape.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")
    if text.lstrip().startswith("{"):
        out = {}
        for lineno, rec in enumerate(_jsonl(path), 1):
            answer = rec.get("answer", rec.get("prediction"))
            if rec.get("id") is None or answer is None:
                raise AnswersFormatError(f"{path.name}: record {lineno} needs \"id\" and \"answer\"")
            out[str(rec["id"])] = str(answer)
        return out
    out = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        qid, tab, answer = line.partition("\t")
        if not tab:
            raise AnswersFormatError(f"{path.name}:{lineno}: expected id<TAB>answer")
        out[qid.strip()] = answer.strip()
    return out


def _jsonl(path: Path) -> list[dict[str, Any]]:
    from .topics import json_lines

    rows = []
    for lineno, rec in json_lines(path.read_text(encoding="utf-8-sig"), path.name, AnswersFormatError):
        if not isinstance(rec, dict):
            raise AnswersFormatError(f"{path.name}:{lineno}: expected a JSON object")
        rows.append(rec)
    return rows

"""What a question gets back: the :class:`Answer` with its evidence events and images, each carrying its own value
for the question (shown under each image on the ask page), and its JSON form (``Answer.to_dict``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass
class EvidenceImage:
    """One evidence image and its own possible answer (seed §3.4: shown under each image)."""

    image_id: str
    score: float
    event_id: str
    local_time: datetime | None
    place: str | None
    answer: str | None
    ocr_text: str | None = None


@dataclass
class EvidenceEvent:
    """One evidence event: its span, place, score, top images and its own value for the question."""

    event_id: str
    score: float
    start: datetime | None
    end: datetime | None
    place: str | None
    image_ids: list[str]
    answer: str | None = None


@dataclass
class CountedItem:
    """One stay, night, trip or flight an answer counted or dated (issue 19, item 6: the page lists them so the
    user can check each and drop a wrong one).

    Attributes:
        item_id: stable id (``"<place>@<first image_id>"``, ``"night@YYYY-MM-DD"``, ``"flight@<image_id>"``...).
        start, end: local time span.
        place: where (a place name, or ``"A → B"`` for a flight).
        image_ids: frames to look at (the matched ones first).
        label: one line saying what it is.
        counted: False when the user dropped it (the count leaves it out).
    """

    item_id: str
    start: datetime | None
    end: datetime | None
    place: str | None
    image_ids: list[str]
    label: str
    counted: bool = True


@dataclass
class Answer:
    """The answer to a question, with its evidence.

    Attributes:
        question: the text asked.
        answer: answer text, or None (no VQA model for a visual question, not a question, no evidence).
        value: machine-readable value: ISO date / ``YYYY-MM`` / year int / weekday / place / count int /
            duration seconds float / the winning normalised VQA answer.
        confidence: 0-1 (package docstring, step 4).
        answer_type, kind, most, relation: the route.
        events, images: the evidence, best first; each image has its own possible answer.
        votes: ``[(value, weight, n)]`` of the vote, best first (empty when no vote was taken).
        explanation: how the answer was derived, in words.
        notices: what the user should know (no VQA model, not a question, text-only search ...).
        took_ms: wall time.
        items: the stays / nights / trips / flights counted or dated (empty for other answers).
        rule: the rule that produced the answer, in words (counting and dating over stays).
        no_match: True when no photo is inside the question's scope ("no photo matches").
    """

    question: str
    answer: str | None
    value: Any
    confidence: float
    answer_type: str | None
    kind: str | None
    most: bool = False
    relation: str | None = None
    events: list[EvidenceEvent] = field(default_factory=list)
    images: list[EvidenceImage] = field(default_factory=list)
    votes: list[tuple[str, float, int]] = field(default_factory=list)
    explanation: str = ""
    notices: list[str] = field(default_factory=list)
    took_ms: float = 0.0
    items: list[CountedItem] = field(default_factory=list)
    rule: str = ""
    no_match: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (times ISO 8601, scores rounded to 6 decimals)."""
        def iso(t):
            return t.isoformat() if t is not None else None

        value = self.value.isoformat() if isinstance(self.value, (date, datetime)) else self.value
        return {
            "question": self.question, "answer": self.answer, "value": value,
            "confidence": round(self.confidence, 4), "answer_type": self.answer_type, "kind": self.kind,
            "most": self.most, "relation": self.relation, "explanation": self.explanation,
            "notices": list(self.notices), "took_ms": round(self.took_ms, 1),
            "votes": [{"value": v, "weight": round(w, 6), "n": n} for v, w, n in self.votes],
            "events": [{"event_id": e.event_id, "score": round(e.score, 6), "start": iso(e.start),
                        "end": iso(e.end), "place": e.place, "image_ids": e.image_ids, "answer": e.answer}
                       for e in self.events],
            "images": [{"image_id": i.image_id, "score": round(i.score, 6), "event_id": i.event_id,
                        "local_time": iso(i.local_time), "place": i.place, "answer": i.answer,
                        "ocr_text": i.ocr_text} for i in self.images],
            "items": [{"item_id": c.item_id, "start": iso(c.start), "end": iso(c.end), "place": c.place,
                       "image_ids": c.image_ids, "label": c.label, "counted": c.counted} for c in self.items],
            "rule": self.rule, "no_match": self.no_match,
        }


__all__ = ["Answer", "CountedItem", "EvidenceEvent", "EvidenceImage"]

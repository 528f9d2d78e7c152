"""The tunables of question answering (:class:`QaConfig`) and the working state of one answer (:class:`Ctx`):
the evidence search, the relevance cut, the evidence events and images, and the Answer they end in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..events import Event, group_events, place_of
from ..store.base import Hit, VectorQuery
from .evidence import IAT_FLOOR, RELATIVE_CUT, TAT_FLOOR, inside_constraints, mode, relevant_hits
from .result import Answer, EvidenceEvent, EvidenceImage
from .routing import Route, content_words

if TYPE_CHECKING:
    from .service import QaService


@dataclass(frozen=True)
class QaConfig:
    """Tunable numbers of question answering (defaults documented in the package docstring).

    Attributes:
        limit: hits fetched as evidence for time, location and visual questions.
        count_limit: hits fetched for counting, duration and "the most" questions.
        trip_limit: documents read for trip counts (every document inside the place and date constraints).
        relative_cut, iat_floor, tat_floor: the relevance cut-off.
        top_events: evidence events that vote (time, location) or whose images go to VQA (visual).
        images_per_event: top images of each evidence event (VQA inputs, shown on the page).
        visit_gap_minutes: two matching moments further apart than this are two occasions when counting.
        most_events: occasions whose images go to VQA for a visual "most often" question.
        relation_window_h: how far after/before the evidence moment the next/previous place is looked for.
    """

    limit: int = 300
    count_limit: int = 3000
    trip_limit: int = 20000
    relative_cut: float = RELATIVE_CUT
    iat_floor: float = IAT_FLOOR
    tat_floor: float = TAT_FLOOR
    top_events: int = 5
    images_per_event: int = 3
    visit_gap_minutes: float = 60.0
    most_events: int = 20
    relation_window_h: float = 12.0


@dataclass
class Ctx:
    """Working state of one answer, handed to the answer functions (``metadata``, ``counting``, ``duration``,
    ``visual``).

    Attributes:
        svc: the QaService (its store, models, VQA model and config).
        question: the text asked; parsed: its ``ParsedQuery``; route: its Route.
        vq: the query vectors and fusion weights of the evidence search.
        filters: the hard filter clauses (the caller's, the typed key:value ones and, for counting, duration and
            "the most", the parsed constraints).
        notices: what the user should know so far.
        hits: the evidence search's hits (:meth:`fetch`), best first.
        lifelog: the frames inside the hard filters in time order, once read (``visits.read_lifelog``).
    """

    svc: QaService
    question: str
    parsed: Any
    route: Route
    vq: VectorQuery
    filters: list
    notices: list
    hits: list = field(default_factory=list)
    lifelog: list | None = None

    @property
    def cfg(self) -> QaConfig:
        """The service's QaConfig."""
        return self.svc.config

    def fetch(self, limit: int, hard: bool) -> None:
        """Search the store for up to ``limit`` hits into ``hits``; ``hard``: keep only those
        :func:`inside_constraints`. Raises StoreError."""
        hits = self.svc.search.store.search(self.vq, self.filters, limit=limit, soft=self.parsed.soft)
        if hard:
            hits = [h for h in hits if inside_constraints(h.doc, self.parsed)]
        self.hits = hits

    def relevant(self, loosen: float = 0.0) -> list[Hit]:
        """The hits close enough to the question (``relevant_hits``); all of them when the question's content is
        entirely its typed key:value filters ("When was I in city:Arezzo?": nothing is left to resemble)."""
        if self.parsed.filters and not content_words(self.parsed.visual):
            return list(self.hits)
        return relevant_hits(self.hits, self.vq.weights, self.vq.clip is not None, self.vq.tat is not None,
                             self.cfg.relative_cut - loosen, self.cfg.iat_floor - loosen, self.cfg.tat_floor - loosen)

    def result(self, text, value, confidence, **kw) -> Answer:
        """An Answer of this question and route; ``kw``: the other Answer fields (notices default to ours)."""
        kw.setdefault("notices", list(self.notices))
        return Answer(self.question, text, value, confidence, self.route.answer_type, self.route.kind,
                      self.route.most, self.route.relation, **kw)

    def none(self, why: str) -> Answer:
        """No answer, saying ``why`` in the explanation and a notice."""
        return self.result(None, None, 0.0, explanation=why,
                           notices=self.notices + [f"No answer: {why}."])

    def events(self, hits: Sequence[Hit], gap: float | None = None) -> list[Event]:
        """``hits`` grouped into time events (``events.group_events``; ``gap`` minutes, else its default)."""
        return group_events(hits, gap) if gap is not None else group_events(hits)

    def evidence(self, events: Sequence[Event], value_of: Callable[[dict], str | None]) -> tuple[
            list[EvidenceEvent], list[EvidenceImage]]:
        """The evidence of ``events``: each event with its most common value (``value_of`` over its hits) and
        its top ``images_per_event`` images with their own values."""
        evs, ims = [], []
        for e in events:
            top = e.top[:self.cfg.images_per_event]
            ev_value = mode([value_of(h.doc) for h in e.hits])
            evs.append(EvidenceEvent(e.event_id, e.score, e.start, e.end, e.place, [h.image_id for h in top],
                                     ev_value))
            for h in top:
                ims.append(EvidenceImage(h.image_id, h.score, e.event_id, h.doc.get("local_time"),
                                         place_of(h.doc), value_of(h.doc), h.doc.get("ocr_text")))
        return evs, ims


__all__ = ["QaConfig", "Ctx"]

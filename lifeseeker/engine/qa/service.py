"""The question-answering service: :class:`QaService` parses and routes a question, runs the evidence search
inside its constraints and hands the evidence to the answer function of its type (package docstring)."""

from __future__ import annotations

import time
from datetime import date
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ...images import decode_file, resolve_file
from ..filters import Filter, Terms, Weights
from ..store.base import VectorQuery
from .context import Ctx, QaConfig
from .counting import answer_counting, answer_photos, answer_trips
from .duration import answer_duration
from .evidence import constraint_filters
from .metadata import answer_metadata
from .result import Answer
from .routing import route
from .visual import answer_visual

if TYPE_CHECKING:  # search.py may hand questions here; no import cycle at run time
    from ..search import SearchService

# answer type -> the function answering it from the fetched evidence (trips and photos fetch their own)
ANSWERERS: dict[str, Callable[[Ctx], Answer]] = {
    "time": answer_metadata, "location": answer_metadata, "counting": answer_counting,
    "duration": answer_duration, "visual": answer_visual}


def load_evidence_image(store, image_id: str):
    """RGB PIL image of ``image_id`` read from inside its collection root (``images.resolve_file``: the same
    confinement as the image routes), decoded by ``images.decode_file``. Raises NotFound, OSError, ValueError."""
    return decode_file(resolve_file(store, image_id))


class QaService:
    """Answers questions with the search service's store and models, and an optional VQA model.

    Args:
        search: the SearchService (store + encoders).
        vqa: a loaded ``models.vqa.VqaModel`` or None.
        vqa_error: why no VQA model is loaded (shown to the user on visual questions).
        config: QaConfig.
        image_loader: ``(store, image_id) -> PIL.Image`` (default :func:`load_evidence_image`).
    """

    def __init__(self, search: SearchService, vqa=None, vqa_error: str | None = None,
                 config: QaConfig | None = None,
                 image_loader: Callable[[Any, str], Any] | None = None) -> None:
        self.search = search
        self.vqa = vqa
        self.vqa_error = vqa_error
        self.config = config or QaConfig()
        self.image_loader = image_loader or load_evidence_image

    def answer(self, question: str, filters: Sequence[Filter] = (), weights: Weights | None = None,
               today: date | None = None) -> Answer:
        """Answer ``question`` inside the hard ``filters`` (the /api/search vocabulary).

        Args:
            question: the question as typed (key:value terms allowed, as in search).
            filters: extra hard filter clauses.
            weights: fusion weights (default: the store's default 0.7 / 0.3).
            today: the date relative phrases count from (parser).
        Returns:
            Answer (``answer`` None with a notice when the text is not a question, nothing matched, or a visual
            question has no VQA model).
        Raises:
            FilterError: a bad key:value term; StoreError: the store is unavailable.
        """
        from ..query.parse import parse_query

        t0 = time.perf_counter()
        parsed = parse_query(question, today=today)
        r = route(question, parsed)
        notices = list(self.search.models.notices)
        if r.answer_type is None:
            ans = Answer(question, None, None, 0.0, None, None,
                         explanation="not a question", notices=notices + [
                             "This does not read as a question; use search to find moments."])
            ans.took_ms = (time.perf_counter() - t0) * 1000
            return ans
        vq = self.search.encode(parsed.text, parsed.visual)
        vq = VectorQuery(vq.clip, vq.tat, weights or Weights())
        all_filters = list(filters) + list(parsed.filters)
        hard = r.answer_type in ("counting", "duration") or r.most
        if hard:
            all_filters += constraint_filters(parsed)
        ctx = Ctx(self, question, parsed, r, vq, all_filters, notices)
        named = list(dict.fromkeys(list(parsed.countries) + list(parsed.cities)))
        places = [f for f in constraint_filters(parsed) if isinstance(f, Terms) and f.field in ("country", "places")]
        if named and places and not hard:  # soft places; but when no photo is in any named place, none grounds it
            if all(self.search.store.count(list(filters) + [f]) == 0 for f in places):
                ans = ctx.none(f"no photo in the lifelog is in {' / '.join(named)}")
                ans.took_ms = (time.perf_counter() - t0) * 1000
                return ans
        if r.answer_type == "counting" and r.kind == "trips":
            ans = answer_trips(ctx)
        elif r.answer_type == "counting" and r.kind == "photos":
            ans = answer_photos(ctx)
        else:
            ctx.fetch(self.config.count_limit if hard else self.config.limit, hard)
            ans = ANSWERERS[r.answer_type](ctx)
        ans.took_ms = (time.perf_counter() - t0) * 1000
        return ans


__all__ = ["QaService", "load_evidence_image", "ANSWERERS"]

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
from .routing import Route, route
from .scope import build_scope
from .shapes import Shape, detect
from .visual import answer_visual

if TYPE_CHECKING:  # search.py may hand questions here; no import cycle at run time
    from ..search import SearchService

# answer type -> the function answering it from the fetched evidence (trips and photos fetch their own)
ANSWERERS: dict[str, Callable[[Ctx], Answer]] = {
    "time": answer_metadata, "location": answer_metadata, "counting": answer_counting,
    "duration": answer_duration, "visual": answer_visual}


# shape -> (answer type, kind) shown with the answer
SHAPE_ROUTES = {"flights": ("counting", "flights"), "nights": ("counting", "nights"), "trips": ("counting", "trips"),
                "visits": ("counting", "visits"), "dates": ("time", "date"), "names": ("visual", "ocr"),
                "colours": ("visual", "colour"), "ever": ("counting", "yes-no")}


def answer_shape(ctx: Ctx, shape: Shape, drop: Sequence[str] = ()) -> Answer | None:
    """Answer a question of a ``shapes.py`` shape over stays and the travel timeline (None: leave it to the general
    routes — a "when" with no venue, place or first/last)."""
    from .ever import answer_ever
    from .names import answer_colours, answer_name
    from .trips import answer_flights, answer_trips
    from .visits import answer_date, answer_nights, answer_visits, read_lifelog

    scope = build_scope(ctx.question, ctx.parsed, read_lifelog(ctx))
    hint = bool(scope.venue or scope.semantic or scope.has_place)
    name = shape.name
    if name == "dates" and shape.order == "best" and not hint:
        return None
    if name == "visits" and not (scope.venue or scope.semantic) and (scope.has_place and not scope.concept):
        name = "trips"  # "how many times was I in Asia": a count over the travel timeline
    if name == "trips" and not scope.has_place:
        return None
    if name == "ever" and (not hint or scope.concept and not (scope.venue or scope.semantic)):
        return None  # "did I ever see a kangaroo?": a thing to find, no place: the images answer (general routes)
    kind = SHAPE_ROUTES[name]
    ctx.route = Route(kind[0], kind[1], False, None, ctx.route.question, ctx.route.parser_type)
    if name == "names":
        return answer_name(ctx, scope)
    if name == "colours":
        return answer_colours(ctx, scope, shape.objects)
    if name == "ever":
        return with_evidence(answer_ever(ctx, scope, drop), ctx.lifelog or [])
    if name == "flights":
        ans = answer_flights(ctx, scope, shape.modifier, drop)
    elif name == "nights":
        ans = answer_nights(ctx, scope, drop)
    elif name == "trips":
        ans = answer_trips(ctx, scope, drop)
    elif name == "visits":
        ans = answer_visits(ctx, scope, drop)
    else:
        ans = answer_date(ctx, scope, shape.order)
        if ans is None:
            return None
    return with_evidence(ans, ctx.lifelog or [])


def with_evidence(ans: Answer, docs: Sequence[dict]) -> Answer:
    """``ans`` with one evidence event per counted item (its span, place, frames; its label as the event's own
    answer) and those frames as evidence images, so pages and clients that show events show what was counted."""
    from ..events import place_of
    from .result import EvidenceEvent, EvidenceImage

    by_id = {d["image_id"]: d for d in docs}
    for it in ans.items:
        if not it.counted:
            continue
        ans.events.append(EvidenceEvent(it.item_id, 1.0, it.start, it.end, it.place, list(it.image_ids), it.label))
        for iid in it.image_ids:
            d = by_id.get(iid, {})
            ans.images.append(EvidenceImage(iid, 1.0, it.item_id, d.get("local_time"), place_of(d) if d else None,
                                            it.label, d.get("ocr_text")))
    return ans


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
               today: date | None = None, drop: Sequence[str] = ()) -> Answer:
        """Answer ``question`` inside the hard ``filters`` (the /api/search vocabulary).

        Args:
            question: the question as typed (key:value terms allowed, as in search).
            filters: extra hard filter clauses.
            weights: fusion weights (default: the store's default 0.7 / 0.3).
            today: the date relative phrases count from (parser).
            drop: ids of counted stays / nights / trips / flights the user struck out (left out of the count).
        Returns:
            Answer (``answer`` None with a notice when the text is not a question, nothing matched, or a visual
            question has no VQA model).
        Raises:
            FilterError: a bad key:value term; StoreError: the store is unavailable.
        """
        from ..query.parse import parse_query

        t0 = time.perf_counter()
        # the lifelog's own venues (query/vocab.py), as search reads them (SearchService.understand, issue 18)
        parsed = parse_query(question, today=today, vocabulary=self.search.vocabulary())
        r = route(question, parsed)
        notices = list(self.search.models.notices)
        if r.answer_type is None:
            ans = Answer(question, None, None, 0.0, None, None,
                         explanation="not a question", notices=notices + [
                             "This does not read as a question; use search to find moments."])
            ans.took_ms = (time.perf_counter() - t0) * 1000
            return ans
        all_filters = list(filters) + list(parsed.filters)
        shape = detect(question, scope_hint=True)
        if shape is not None:  # counts over the timeline need no query vectors; names and colours encode theirs
            ctx = Ctx(self, question, parsed, r, VectorQuery(None, None, weights or Weights()), list(all_filters),
                      list(notices))
            if shape.name in ("names", "colours"):
                q = self.search.encode(parsed.text, parsed.visual)
                ctx.vq = VectorQuery(q.clip, q.tat, weights or Weights())
            ans = answer_shape(ctx, shape, drop)
            if ans is not None:
                ans.took_ms = (time.perf_counter() - t0) * 1000
                return ans
        vq = self.search.encode(parsed.text, parsed.visual)
        vq = VectorQuery(vq.clip, vq.tat, weights or Weights())
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


__all__ = ["QaService", "load_evidence_image", "ANSWERERS", "SHAPE_ROUTES", "answer_shape", "with_evidence"]

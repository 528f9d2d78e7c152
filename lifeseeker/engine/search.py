"""The search service: what the user typed -> ranked hits.

Score (seed §3.2; ARCHITECTURE.md "The score"):

    score = W_IaT * cos(q_clip, clip_vec) + W_TaT * cos(q_tat, capmeta_vec) + sum of soft boosts
                                                                                     default W = (0.7, 0.3)

* which text goes where (query understanding, engine/query/parse.py): ``q_clip`` = CLIP text embedding of the
  query's *visual remainder* (time/place phrases removed: "red car in May 2018 in Dublin" -> "red car"; IaT:
  text against the image embedding; none when the remainder is blank, "in Arezzo last May": a metadata-only query);
  ``q_tat`` = sentence embedding of the *full text* (TaT: against the CapMeta embedding, which carries caption,
  time and place as words, so those words count here);
* soft boosts: each parsed time/place phrase adds ``w * exp(-d/s)`` (full inside its range, decaying outside;
  the table is in engine/query/soft.py), so a misremembered month still ranks high;
* raw cosines in [-1, 1]; a missing query or document vector contributes 0 (text-only mode when CLIP weights
  are absent: only the TaT term ranks);
* hard filters (UI controls, CLI options, key:value terms typed in the box) restrict the scored set; scoring is
  exact over it (the embedded store switches to ANN candidates + exact rescoring only above its size threshold).

Then, all optional (fields of ``SearchRequest``; each formula is documented in its module):

* relevance feedback (``relevant`` / ``irrelevant`` / ``like``): Rocchio on both query vectors (feedback.py);
* query by image (``image``): the CLIP image embedding is the IaT query vector (no TaT term);
* rerank of the top N by a stronger matcher, blended with the fused score (rerank.py);
* time events with their distinct top 3 and near-duplicate runs (events.py, dedup.py);
* sequence "A then B within W" (``then``): pairs of A events followed by B events (sequence.py);
* suggestions from the marked-relevant images (suggest.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..errors import FilterError
from .dedup import DUP_COSINE, annotate_event
from .events import DEFAULT_GAP_MINUTES, Event, group_events
from .feedback import MAX_MARKS, Rocchio, rocchio, unknown_ids_message
from .filters import Filter, Weights
from .rerank import RERANK_BLEND, RERANK_N, check_rerank_params, image_loader, rerank_hits
from .sequence import DEFAULT_WITHIN_MINUTES, MAX_WITHIN_MINUTES, EventPair, pair_events
from .store.base import Hit, Store, VectorQuery
from .suggest import Suggestion, suggest

MAX_LIMIT = 1000
SEQUENCE_POOL = 200  # candidates searched per side of a sequence query
MAX_QUERY_CHARS = 600  # longest query text (q, then): fits gunicorn's request line in any encoding (gunicorn_conf.py)
MAX_QUERY_PIXELS = 40_000_000  # an uploaded query image larger than this is refused (decompression bombs)


class UnsupportedQuery(FilterError):
    """The request asks for something the loaded models cannot do (e.g. query by image without CLIP): HTTP 400."""


@dataclass(frozen=True)
class SearchRequest:
    """A search: free ``text`` (may be empty: filters only), hard ``filters``, fusion ``weights``, ``limit``.

    Optional (defaults keep the plain fused search):
        relevant, irrelevant: image ids marked relevant / not relevant (Rocchio, feedback.py).
        like: an image id: "more like this" (its own vectors are the query; ``text`` is ignored).
        image: an RGB PIL image to search by (CLIP image encoder; needs CLIP; the image is not kept).
        rocchio: alpha, beta, gamma.
        rerank: True/False to force the reranker on/off; None = on when one is loaded.
        rerank_n, rerank_blend: override the service's N and blend lam (rerank.py).
        events: group the hits into time events (events.py) with near-duplicate runs (dedup.py).
        gap_minutes: the event gap; dup_threshold: the near-duplicate cosine (> 1 turns collapsing off).
        then, within_minutes: sequence query "text, then ``then``, within ``within_minutes``" (sequence.py).
        suggest: build suggestions from the ``relevant`` images (suggest.py).
        soft: soft constraints passed to the store (engine/query/soft.py), besides the parsed ones.
        understand: parse ``text`` (engine/query/parse.py): its time/place phrases become soft boosts, its
            key:value terms hard filters, the CLIP encoder gets the visual remainder and the TaT encoder the full
            text. False = the text goes to both encoders as typed.
        ignore: chip keys (engine/query/chips.py) whose parsed constraints the user removed.
    """

    text: str = ""
    filters: Sequence[Filter] = ()
    weights: Weights = field(default_factory=Weights)
    limit: int = 50
    relevant: tuple[str, ...] = ()
    irrelevant: tuple[str, ...] = ()
    like: str | None = None
    image: Any = None
    rocchio: Rocchio = field(default_factory=Rocchio)
    rerank: bool | None = None
    rerank_n: int | None = None
    rerank_blend: float | None = None
    events: bool = True
    gap_minutes: float = DEFAULT_GAP_MINUTES
    dup_threshold: float = DUP_COSINE
    then: str = ""
    within_minutes: float = DEFAULT_WITHIN_MINUTES
    suggest: bool = True
    soft: Sequence[Any] = ()
    understand: bool = True
    ignore: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        import math

        if not 1 <= self.limit <= MAX_LIMIT:
            raise FilterError(f"limit: must be 1-{MAX_LIMIT}, got {self.limit}")
        if len(self.text) > MAX_QUERY_CHARS:
            raise FilterError(f"q: longer than {MAX_QUERY_CHARS} characters")
        if len(self.then) > MAX_QUERY_CHARS:
            raise FilterError(f"then: longer than {MAX_QUERY_CHARS} characters")
        if len(self.relevant) > MAX_MARKS or len(self.irrelevant) > MAX_MARKS:
            raise FilterError(f"relevant/irrelevant: at most {MAX_MARKS} images each")
        if not (math.isfinite(self.gap_minutes) and 0 <= self.gap_minutes <= 24 * 60):
            raise FilterError(f"gap: event gap must be 0-1440 minutes, got {self.gap_minutes}")
        if not (math.isfinite(self.dup_threshold) and -1 <= self.dup_threshold <= 1.01):
            raise FilterError(f"dup: near-duplicate cosine must be in [-1, 1] (1.01 = off), got {self.dup_threshold}")
        if not (math.isfinite(self.within_minutes) and 0 < self.within_minutes <= MAX_WITHIN_MINUTES):
            raise FilterError(f"within: window must be in (0, {MAX_WITHIN_MINUTES}] minutes, "
                              f"got {self.within_minutes}")
        check_rerank_params(self.rerank_n if self.rerank_n is not None else 1,
                            self.rerank_blend if self.rerank_blend is not None else 0.0)


@dataclass
class SearchResponse:
    """Ranked ``hits`` with the ``notices`` the user should see (e.g. text-only mode, the query parser's warnings
    such as "foo:bar is not a filter; searched as text") and timing in ms.

    Attributes (beyond the plain search):
        events: time events of the hits, best first, each with ``extra["groups"]`` (near-duplicate runs) and
            ``extra["top_distinct"]`` (its best 3 runs).
        rerank_scores: image_id -> the reranker's match probability (empty when not reranked).
        reranked_by: the reranker's name, or None.
        pairs: sequence matches (``then`` given), best first; ``then_hits``: the B side's hits.
        suggestions: refinements and questions from the marked-relevant images.
        feedback: True when Rocchio modified the query.
        parsed: the ParsedQuery of the text (None when not parsed); chips: its constraints as chips.
    """

    hits: list[Hit]
    total_filtered: int
    notices: list[str]
    text_only: bool
    took_ms: float
    events: list[Event] = field(default_factory=list)
    rerank_scores: dict[str, float] = field(default_factory=dict)
    reranked_by: str | None = None
    pairs: list[EventPair] = field(default_factory=list)
    then_hits: list[Hit] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)
    feedback: bool = False
    parsed: Any = None
    chips: list[Any] = field(default_factory=list)


class SearchService:
    """Encodes queries with the loaded models, asks the store for exact fused top-k, then applies the optional
    stages of the module docstring.

    Args:
        store, models: the open Store and loaded Models.
        reranker: a ``engine.rerank.Reranker`` or None (no rerank).
        rerank_n, rerank_blend: defaults for N and lam (``LIFESEEKER_RERANK_N`` / ``_BLEND``).
        notices: service-level notices (e.g. "Rerank skipped: ..."), shown with the models' notices.
    """

    def __init__(self, store: Store, models, reranker=None, *, rerank_n: int = RERANK_N,
                 rerank_blend: float = RERANK_BLEND, notices: Sequence[str] = ()) -> None:
        check_rerank_params(rerank_n, rerank_blend)
        self.store = store
        self.models = models
        self.reranker = reranker
        self.rerank_n = rerank_n
        self.rerank_blend = rerank_blend
        self.service_notices: list[str] = list(notices)

    @property
    def notices(self) -> list[str]:
        """Every notice the user should see: the models' (text-only...) then the service's (rerank skipped...)."""
        return list(self.models.notices) + [n for n in self.service_notices if n not in self.models.notices]

    def encode(self, text: str, visual: str | None = None) -> VectorQuery:
        """Query vectors: CLIP (IaT) of ``visual`` and TaT of ``text``; (d_clip,) and (d_text,) float32,
        L2-normalised; None where the model is unavailable or the text is blank.

        ``visual`` None means "the whole text" (no query understanding). A parsed visual remainder that is blank
        ("in Arezzo on a Wednesday": only time and place) gives no CLIP vector: the query is about metadata, which
        the TaT side (CapMeta carries time and place as words) and the soft boosts rank, and a CLIP embedding of
        "Arezzo Wednesday" would only add noise at weight W_IaT. Search and QA both encode through here."""
        if not text.strip():
            return VectorQuery(None, None)
        visual = text if visual is None else visual
        q_clip = None
        if self.models.clip is not None and visual.strip():
            q_clip = self.models.clip.encode_texts([visual])[0]
        q_tat = self.models.text.encode_texts([text])[0]
        return VectorQuery(q_clip, q_tat)

    def understand(self, request: SearchRequest) -> tuple[SearchRequest, str | None, Any]:
        """Apply query understanding: the request with the parsed soft constraints and key:value filters added and
        ``text`` = the full text, the visual remainder for CLIP, and the ParsedQuery (None when not parsed).

        Raises:
            FilterError: a key:value term has a bad value or an unknown key (the message names it).
        """
        from dataclasses import replace

        if not request.understand or not request.text.strip() or request.image is not None or request.like:
            return request, None, None
        from .query.chips import drop
        from .query.parse import parse_query

        vocab = self.vocabulary()
        parsed = self.lifelog_reference(parse_query(request.text, vocabulary=vocab), request.text, vocab)
        parsed = drop(parsed, request.ignore)
        eff = replace(request, text=parsed.text or request.text, filters=tuple(request.filters) + parsed.filters,
                      soft=tuple(parsed.soft) + tuple(request.soft), understand=False)
        return eff, parsed.visual, parsed

    def lifelog_reference(self, parsed, text: str, vocab=None):
        """A relative date ("last October", "two weeks ago") counted from today that matches no photo is counted
        from the lifelog's own last month instead (issue 18: the lifelog's span as the reference), with a warning
        saying so; anything else is returned as it is. A store that cannot count leaves it as it is."""
        from dataclasses import replace
        from datetime import date, timedelta

        from ..errors import LifeseekerError
        from .filters import DateRange
        from .query.parse import parse_query

        relative = any("reference date" in d.get("evidence", "") for d in parsed.decisions)
        stated = any(d.get("evidence") == "stated as today" for d in parsed.decisions)
        if not relative or stated or parsed.date_from is None or parsed.date_to is None:
            return parsed
        try:
            if self.store.count([DateRange(parsed.date_from, parsed.date_to)]) > 0:
                return parsed
            years = [int(y) for y, _ in self.store.facets(["year"], size=200).get("year", ()) if y is not None]
            for y in sorted(years, reverse=True):
                for m in range(12, 0, -1):
                    first = date(y, m, 1)
                    last = (first + timedelta(days=31)).replace(day=1) - timedelta(days=1)
                    if self.store.count([DateRange(first, last)]) > 0:
                        again = parse_query(text, today=last + timedelta(days=1), vocabulary=vocab)
                        return replace(again, warnings=again.warnings + (
                            f"no photo in {parsed.date_from} .. {parsed.date_to}: relative dates were counted from "
                            f"the lifelog's last month ({y}-{m:02d})",))
        except (LifeseekerError, AttributeError, TypeError, ValueError):
            return parsed
        return parsed

    def vocabulary(self):
        """The lifelog's own place names (query/vocab.py ``Vocabulary``), built once per store version; None when
        the store cannot list them (then no venue is recognised, nothing else changes).

        Raises:
            StoreError: the store is unavailable (the request fails once, as the search itself would; it is not
                asked again for the search).
        """
        from ..errors import FilterError
        from .query.vocab import vocabulary_for

        try:
            return vocabulary_for(self.store)
        except (FilterError, AttributeError, TypeError):
            return None

    def encode_image(self, image) -> np.ndarray:
        """(d_clip,) float32 L2-normalised CLIP embedding of an RGB PIL ``image``.

        Raises:
            UnsupportedQuery: no CLIP model is loaded (text-only mode), the image is over MAX_QUERY_PIXELS, or it is
                unfit for the model (``images.model_input``: too thin or too small).
        """
        if self.models.clip is None:
            raise UnsupportedQuery("image: searching by image needs a CLIP model, and none is loaded (text-only "
                                   "mode); see `lifeseeker info` for how to provide CLIP weights")
        w, h = image.size
        if w * h > MAX_QUERY_PIXELS:
            raise UnsupportedQuery(f"image: {w}x{h} px is over the {MAX_QUERY_PIXELS:,} pixel limit")
        from ..images import UnfitImage, model_input

        try:
            image = model_input(image.convert("RGB"))
        except UnfitImage as exc:
            raise UnsupportedQuery(f"image: {exc}") from None
        return self.models.clip.encode_images([image])[0]

    def query_vectors(self, request: SearchRequest, visual: str | None = None) -> tuple[VectorQuery, bool]:
        """The vector query of ``request`` after image query, "more like this" and Rocchio; and whether feedback
        changed it (``visual``: the text for the CLIP encoder, default the request's text). Raises NotFound for an
        unknown ``like`` id or unknown ``relevant`` / ``irrelevant`` ids (the message lists at most 5 of them),
        UnsupportedQuery as ``encode_image``."""
        from ..errors import NotFound

        if request.image is not None:
            vq = VectorQuery(self.encode_image(request.image), None)
        elif request.like:
            docs = self.store.get([request.like], with_vectors=True)
            if not docs:
                raise NotFound(f"like: no image {request.like!r}")
            vq = VectorQuery(docs[0].get("clip_vec"), docs[0].get("capmeta_vec"))
        else:
            vq = self.encode(request.text, visual)
        if not (request.relevant or request.irrelevant):
            return VectorQuery(vq.clip, vq.tat, request.weights), False
        marked = {d["image_id"]: d for d in self.store.get(list(request.relevant) + list(request.irrelevant),
                                                           with_vectors=True)}
        for name, ids in (("relevant", request.relevant), ("irrelevant", request.irrelevant)):
            missing = [i for i in ids if i not in marked]
            if missing:
                raise NotFound(unknown_ids_message(name, missing))
        rel = [marked[i] for i in request.relevant if i in marked]
        irr = [marked[i] for i in request.irrelevant if i in marked]
        q_clip = rocchio(vq.clip, [d.get("clip_vec") for d in rel], [d.get("clip_vec") for d in irr],
                         request.rocchio)
        q_tat = rocchio(vq.tat, [d.get("capmeta_vec") for d in rel], [d.get("capmeta_vec") for d in irr],
                        request.rocchio)
        if self.models.clip is None:
            q_clip = None  # text-only: keep IaT off, as for a typed query
        return VectorQuery(q_clip, q_tat, request.weights), bool(rel or irr)

    def _ranked(self, request: SearchRequest, vq: VectorQuery, text: str, limit: int,
                notices: list[str]) -> tuple[list[Hit], dict[str, float], str | None]:
        hits = self.store.search(vq, request.filters, limit=limit, soft=request.soft)
        use = self.reranker is not None and request.rerank is not False and text.strip()
        if request.rerank and self.reranker is None:
            notices.append("Rerank asked for, but no rerank model is loaded: fused scores shown")
        if not use:
            return hits, {}, None
        n = request.rerank_n or self.rerank_n
        blend = self.rerank_blend if request.rerank_blend is None else request.rerank_blend
        hits, probs = rerank_hits(hits, text, self.reranker, n, blend, image_loader(self.store))
        return hits, probs, self.reranker.name

    def _events(self, hits: list[Hit], request: SearchRequest) -> list[Event]:
        events = group_events(hits, request.gap_minutes)
        vecs: dict[str, object] = {}
        if request.dup_threshold <= 1 and hits:
            ids = [h.image_id for h in hits]
            fast = getattr(self.store, "vectors_of", None)  # the embedded store: vectors alone, rows in hand
            vecs = fast(ids, "clip_vec") if fast is not None else {
                d["image_id"]: d.get("clip_vec") for d in self.store.get(ids, with_vectors=True)}
        for e in events:
            annotate_event(e, vecs, request.dup_threshold)
        return events

    def _unmatched_values(self, filters: Sequence[Filter]) -> list[str]:
        """One notice per keyword filter that alone matches no document (a misspelt or unknown value), with the
        closest stored values (difflib over the field's 1000 most frequent values, for the mapping's facet fields),
        so an empty page says why."""
        import difflib

        from .filters import Terms
        from .schema import load_schema

        out = []
        for f in filters:
            if isinstance(f, Terms) and self.store.count([f]) == 0:
                offered = f.field in load_schema().facets  # the stores count only the mapping's facets
                known = [str(v) for v, _ in self.store.facets([f.field], size=1000).get(f.field, [])] if offered else []
                close = [c for v in f.values for c in difflib.get_close_matches(v, known, n=3, cutoff=0.6)]
                hint = f"; did you mean {', '.join(dict.fromkeys(close))}?" if close else ""
                out.append(f"{f.field}: no photo has {', '.join(repr(v) for v in f.values)}{hint}")
        return out

    def search(self, request: SearchRequest) -> SearchResponse:
        """Run ``request``. Raises StoreError when the store is unavailable, NotFound for an unknown ``like``,
        ``relevant`` or ``irrelevant`` id, UnsupportedQuery (400) for an image query without CLIP."""
        from .query.chips import chips

        t0 = time.perf_counter()
        notices = self.notices
        request, visual, parsed = self.understand(request)
        if parsed is not None:  # what the parser noticed ("foo:bar is not a filter ...") is shown with the rest
            notices.extend(w for w in parsed.warnings if w not in notices)
        vq, fed = self.query_vectors(request, visual)
        rerank_text = "" if (request.image is not None or request.like) else request.text
        sequence = bool(request.then.strip())
        limit = max(request.limit, SEQUENCE_POOL) if sequence else request.limit
        hits, probs, by = self._ranked(request, vq, rerank_text, limit, notices)
        total = self.store.count(request.filters)
        if total == 0 and request.filters:
            notices.extend(n for n in self._unmatched_values(request.filters) if n not in notices)
        resp = SearchResponse(hits[:request.limit], total, notices, self.models.text_only, 0.0,
                              rerank_scores=probs, reranked_by=by, feedback=fed, parsed=parsed,
                              chips=chips(parsed) if parsed is not None else [])
        if request.events or sequence:
            resp.events = self._events(resp.hits, request)
        if sequence:
            vb = self.encode(request.then)
            vb = VectorQuery(vb.clip, vb.tat, request.weights)
            b_hits, b_probs, _ = self._ranked(request, vb, request.then, limit, notices)
            resp.rerank_scores.update({k: v for k, v in b_probs.items() if k not in resp.rerank_scores})
            resp.then_hits = b_hits
            a_events = group_events(hits, request.gap_minutes)
            b_events = group_events(b_hits, request.gap_minutes)
            resp.pairs = pair_events(a_events, b_events, request.within_minutes, limit=min(request.limit, 50))
        if request.suggest and request.relevant:
            docs = self.store.get(list(request.relevant))
            resp.suggestions = suggest(docs, request.text)
        resp.took_ms = (time.perf_counter() - t0) * 1000
        return resp

"""Time and location answers (``when``, ``what month``, ``where``, ``which country``, ``where did I go after
that``): values of the relevant evidence's metadata (``values.time_value``, ``values.place_value``), voted."""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable, Sequence

from ..events import Event
from .context import Ctx
from .evidence import mode, vote_answer, weighted_vote
from .result import Answer
from .values import place_value, time_value


def _value_fn(ctx: Ctx) -> Callable[[dict], str | None]:
    r = ctx.route
    if r.answer_type == "time":
        return lambda d: time_value(d["local_time"], r.kind)[0] if d.get("local_time") else None
    return lambda d: place_value(d, r.kind)


def answer_metadata(ctx: Ctx) -> Answer:
    """A time or location question answered from the metadata of the relevant evidence: the score-weighted vote of
    the top events; with "the most", the value of the most matching events; with a relation, the next/previous
    place in time (package docstring, step 4)."""
    r = ctx.route
    rel = ctx.relevant()
    if not rel:
        return ctx.none("nothing in the lifelog resembles the question closely enough")
    value_of = _value_fn(ctx)
    if r.most:
        events = ctx.events(rel, ctx.cfg.visit_gap_minutes)
        items = [(mode([value_of(h.doc) for h in e.hits]), 1.0) for e in events]
        # ties on counts: the larger summed event score wins
        counts = weighted_vote(items)
        scores = Counter()
        for e, (v, _) in zip(events, items):
            if v is not None:
                scores[v] += e.score
        counts.sort(key=lambda row: (-row[2], -scores[row[0]], row[0]))
        total = sum(row[2] for row in counts) or 1
        evs, ims = ctx.evidence(events[:ctx.cfg.top_events], value_of)
        if not counts:
            return ctx.none("the matching moments have no value recorded for this question")
        win = counts[0]
        how = (f"value with the most matching events: {win[2]} of {total} events "
               f"(relevance cut {ctx.cfg.relative_cut:g} x best, hard constraints)")
        return ctx.result(win[0], _raw_value(ctx, events, value_of, win[0]), win[2] / total,
                          events=evs, images=ims, votes=[(v, float(n), n) for v, _, n, _ in counts],
                          explanation=how)
    events = ctx.events(rel)[:ctx.cfg.top_events]
    evs, ims = ctx.evidence(events, value_of)
    if r.relation:
        return _relation(ctx, events, value_of, evs, ims)
    winner, conf, votes = vote_answer([(ev.answer, ev.score) for ev in evs])
    if winner is None:
        return ctx.none("the evidence has no value recorded for this question")
    how = f"score-weighted vote of the top {len(evs)} matching event{'s' if len(evs) != 1 else ''}"
    return ctx.result(winner, _raw_value(ctx, events, value_of, winner), conf, events=evs, images=ims,
                      votes=votes, explanation=how)


def _raw_value(ctx: Ctx, events: Sequence[Event], value_of, text: str) -> Any:
    if ctx.route.answer_type != "time":
        return text
    for e in events:
        for h in e.hits:
            if value_of(h.doc) == text:
                return time_value(h.doc["local_time"], ctx.route.kind)[1]
    return text


def _relation(ctx: Ctx, events: Sequence[Event], value_of, evs, ims) -> Answer:
    anchor = events[0]
    here = mode([value_of(h.doc) for h in anchor.hits])
    window = int(ctx.cfg.relation_window_h * 3600)
    collection = anchor.hits[0].doc.get("collection")
    store = ctx.svc.search.store
    if ctx.route.relation == "after" and anchor.end is not None:
        docs = store.neighbours(anchor.end, 0, window, collection=collection, limit=5000)
    elif anchor.start is not None:
        docs = list(reversed(store.neighbours(anchor.start, window, 0, collection=collection, limit=5000)))
    else:
        return ctx.none("the evidence moment has no time")
    anchor_ids = {h.image_id for h in anchor.hits}
    for d in docs:
        v = value_of(d)
        if d["image_id"] in anchor_ids or v is None or v == here:
            continue
        total = sum(e.score for e in events) or 1.0
        how = (f"the first place {ctx.route.relation} the best matching moment ({here or 'unknown place'}, "
               f"{anchor.start:%Y-%m-%d %H:%M}) within {ctx.cfg.relation_window_h:g} h: "
               f"{d['local_time']:%Y-%m-%d %H:%M}")
        return ctx.result(v, v, max(anchor.score, 0) / total if total > 0 else 0.0, events=evs,
                          images=ims, explanation=how)
    return ctx.none(f"no other place recorded within {ctx.cfg.relation_window_h:g} h "
                    f"{ctx.route.relation} the best matching moment")


__all__ = ["answer_metadata"]

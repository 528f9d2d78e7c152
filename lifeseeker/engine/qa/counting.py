"""Counting answers: occasions, days, nights and places among the relevant evidence (``answer_counting``), trips
to a place (``answer_trips``) and photos taken inside the constraints (``answer_photos``, metadata only)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

from ..events import Event, place_of
from ..store.base import Hit, VectorQuery
from .context import Ctx
from .evidence import CUT_STEP, inside_constraints, mode, stability
from .result import Answer, EvidenceEvent
from .values import count_nights, count_trips


def _count(ctx: Ctx, loosen: float) -> tuple[int, list[Event], list[Hit]]:
    rel = ctx.relevant(loosen)
    kind = ctx.route.kind
    events = ctx.events(rel, ctx.cfg.visit_gap_minutes)
    if kind == "days":
        n = len({h.doc["local_time"].date() for h in rel if h.doc.get("local_time")})
    elif kind == "nights":
        n = count_nights([h.doc["local_time"].date() for h in rel if h.doc.get("local_time")])
    elif kind == "places":
        n = len({p for e in events if (p := mode([place_of(h.doc) for h in e.hits]))})
    else:
        n = len(events)
    return n, events, rel


def answer_counting(ctx: Ctx) -> Answer:
    """"How many times / days / nights / different places": distinct matching events (occasions split by
    ``visit_gap_minutes``), days, nights or places among the relevant hits inside the constraints; confidence =
    :func:`stability` of the count under a looser and a stricter cut."""
    n, events, rel = _count(ctx, 0.0)
    strict, loose = _count(ctx, -CUT_STEP)[0], _count(ctx, CUT_STEP)[0]
    conf = stability(strict, loose)
    kind = ctx.route.kind
    value_of = (lambda d: place_of(d)) if kind == "places" else (
        lambda d: d["local_time"].date().isoformat() if d.get("local_time") else None)
    ordered = sorted(events, key=lambda e: (-e.score, e.start or datetime.max))
    evs, ims = ctx.evidence(ordered[:max(ctx.cfg.top_events, 10)], value_of)
    unit = {"events": "time", "days": "day", "nights": "night", "places": "place"}[kind]
    text = "never (0 times)" if n == 0 and kind == "events" else f"{n} {unit}{'s' if n != 1 else ''}"
    if kind == "places" and n:
        names = sorted({p for e in events if (p := mode([place_of(h.doc) for h in e.hits]))})
        text += ": " + ", ".join(names)
    how = (f"distinct matching {kind} among {len(rel)} relevant images (cut: cosine floors and score >= "
           f"{ctx.cfg.relative_cut:g} x best; occasions split by more than {ctx.cfg.visit_gap_minutes:g} "
           f"min) inside the constraints; {loose} with a looser cut, {strict} with a stricter one")
    return ctx.result(text, n, conf, events=evs, images=ims, explanation=how)


def answer_trips(ctx: Ctx) -> Answer:
    """"How many times did I go to Italy": runs of consecutive days with photos inside the place and date
    constraints (``values.count_trips``), read from up to ``trip_limit`` documents (metadata only)."""
    store = ctx.svc.search.store
    docs = [h.doc for h in store.search(VectorQuery(None, None, ctx.vq.weights), ctx.filters,
                                        limit=ctx.cfg.trip_limit)]
    docs = [d for d in docs if d.get("local_time") and inside_constraints(d, ctx.parsed)]
    days = sorted({d["local_time"].date() for d in docs})
    n = count_trips(days)
    runs: list[list[date]] = []
    for d in days:
        if runs and (d - runs[-1][-1]).days <= 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    evs = [EvidenceEvent(run[0].isoformat(), 1.0, datetime.combine(run[0], datetime.min.time()),
                         datetime.combine(run[-1], datetime.max.time()), None, [],
                         f"{run[0].isoformat()} to {run[-1].isoformat()}") for run in runs]
    text = "never (0 times)" if n == 0 else f"{n} trip{'s' if n != 1 else ''}"
    how = (f"runs of consecutive days with photos inside the place and date constraints "
           f"({len(days)} days, {len(docs)} images)")
    notes = []
    if len(docs) >= ctx.cfg.trip_limit:
        notes.append(f"Only the first {ctx.cfg.trip_limit} images were read; the count may be low.")
    ans = ctx.result(text, n, 1.0, events=evs, explanation=how)
    ans.notices = ans.notices + notes
    return ans


def answer_photos(ctx: Ctx) -> Answer:
    """"How many photos did I take in Italy?": the number of documents inside the hard filters and the parsed
    place/time constraints (metadata only: no relevance cut, no VQA). Months without a year and hour ranges
    are checked on the documents, read up to ``trip_limit``; otherwise the store counts."""
    store = ctx.svc.search.store
    needs_docs = bool(ctx.parsed.months or ctx.parsed.hour_ranges)
    read = ctx.cfg.trip_limit if needs_docs else ctx.cfg.limit
    docs = [h.doc for h in store.search(VectorQuery(None, None, ctx.vq.weights), ctx.filters, limit=read)]
    truncated = len(docs) >= read
    if needs_docs:
        docs = [d for d in docs if inside_constraints(d, ctx.parsed)]
        n = len(docs)
    else:
        n = store.count(ctx.filters)
    per_day = Counter(d["local_time"].date() for d in docs if d.get("local_time"))
    complete = needs_docs or not truncated
    evs = [EvidenceEvent(day.isoformat(), 1.0, datetime.combine(day, datetime.min.time()),
                         datetime.combine(day, datetime.max.time()), None, [],
                         f"{c} photo{'s' if c != 1 else ''}" if complete else None)
           for day, c in sorted(per_day.items())[:10]]
    text = f"{n} photo{'s' if n != 1 else ''}"
    how = ("documents inside the constraints (hard filters, parsed places and dates"
           + (", months and hours checked per photo" if needs_docs else "") + "), counted from the metadata")
    ans = ctx.result(text, n, 1.0, events=evs, explanation=how)
    if needs_docs and truncated:
        ans.notices = ans.notices + [f"Only the first {read} images were read; the count may be low."]
    return ans


__all__ = ["answer_counting", "answer_trips", "answer_photos"]

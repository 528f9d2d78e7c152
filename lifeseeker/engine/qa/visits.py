"""Counting and dating over stays (issue 19, items 1, 3 and 6): visits, nights and first / last / which date.

The lifelog inside the caller's hard filters is read in time order (up to ``QaConfig.trip_limit`` frames; a notice
says when more exist), cut into stays (``stays.py``) and scoped (``scope.py``):

* a stay **matches** when it is inside the time scope and (a) is at the named venue / semantic place, or (b) when
  the question names none, holds a frame that resembles the question's concept: a frame of the concept search
  (TaT of the concept text, CLIP too when loaded) above the relevance cut of ``evidence.relevant_hits``;
* **visits** = the matching stays; **nights** = ``stays.nights_at`` over the whole timeline, the night's date
  inside the time scope, at the venue or inside the place scope;
* **dates**: ``first`` / ``last`` = the earliest / latest matching stay; otherwise the best matching stay (highest
  concept score; a tie: the earliest).

The answer text is DRES-friendly (a number; a date as ``16 May 2020``); ``Answer.items`` lists what was counted;
``drop`` (item ids the user struck out on the page) leaves those out of the count. An empty scope answers nothing
with "no photo matches".
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..store.base import VectorQuery
from ..timeparts import MONTH_NAMES
from .context import Ctx
from .evidence import CUT_STEP, relevant_hits, stability
from .result import Answer, CountedItem
from .scope import Scope
from .stays import Stay, nights_at, segment_stays, timeline


def dres_date(t) -> str:
    """``16 May 2020`` (day without a leading zero, the month's English name, the year)."""
    return f"{t.day} {MONTH_NAMES[t.month - 1]} {t.year}"


def read_lifelog(ctx: Ctx) -> list[dict]:
    """The frames inside the caller's hard filters, in time order (metadata only, up to ``trip_limit``; read once
    per answer)."""
    if ctx.lifelog is not None:
        return ctx.lifelog
    store = ctx.svc.search.store
    # the embedded store keeps one snapshot object per table version: the timeline is reused until a write
    snap = store.snapshot() if hasattr(store, "snapshot") else None
    key = (id(snap), repr(ctx.filters)) if snap is not None else None
    cached = getattr(ctx.svc, "_lifelog_cache", None)
    if key is not None and cached is not None and cached[0] == key and cached[1] is snap:
        docs = cached[2]
    else:
        docs = timeline(h.doc for h in store.search(VectorQuery(None, None, ctx.vq.weights), ctx.filters,
                                                    limit=ctx.cfg.trip_limit))
        if key is not None:
            ctx.svc._lifelog_cache = (key, snap, docs)
    if len(docs) >= ctx.cfg.trip_limit:
        ctx.notices.append(f"Only the first {ctx.cfg.trip_limit} frames were read; counts may be low.")
    ctx.lifelog = docs
    return docs


def no_match(ctx: Ctx, scope: Scope, what: str = "photo") -> Answer:
    """The answer when nothing is inside the scope: no value, ``no_match`` set, "no photo matches"."""
    why = f"no {what} matches {scope.describe()}"
    ans = ctx.result(None, None, 0.0, explanation=why, rule="empty scope: nothing to count or date",
                     notices=ctx.notices + [f"No photo matches {scope.describe()}."])
    ans.no_match = True
    return ans


def concept_scores(ctx: Ctx, scope: Scope, loosen: float = 0.0) -> dict[str, float]:
    """image_id -> score of the frames that resemble ``scope.concept`` (relevance cut of ``relevant_hits``, its
    thresholds lowered by ``loosen``), searched inside the caller's filters; {} without a concept."""
    if not scope.concept:
        return {}
    svc = ctx.svc.search
    vq = svc.encode(scope.concept, scope.concept)
    vq = VectorQuery(vq.clip, vq.tat, ctx.vq.weights)
    hits = svc.store.search(vq, ctx.filters, limit=ctx.cfg.count_limit)
    hits = [h for h in hits if scope.in_time(h.doc) and scope.in_region(h.doc)]
    rel = relevant_hits(hits, vq.weights, vq.clip is not None, vq.tat is not None, ctx.cfg.relative_cut - loosen,
                        ctx.cfg.iat_floor - loosen, ctx.cfg.tat_floor - loosen)
    return {h.image_id: h.score for h in rel}


def matching_stays(ctx: Ctx, scope: Scope, docs: list[dict], loosen: float = 0.0) -> tuple[list[Stay], list[dict]]:
    """(the matching stays in time order, the frames inside the scope) — module docstring; ``loosen``: as in
    :func:`concept_scores`."""
    inside = [d for d in docs if scope.in_time(d) and scope.in_region(d)]
    stays = segment_stays(inside)
    if scope.venue or scope.semantic:
        stays = [s for s in stays if scope.at_venue(s.docs[0])]
    if not scope.concept:
        return stays, inside
    scores = concept_scores(ctx, scope, loosen)
    out = []
    for s in stays:
        s.match = [d for d in s.docs if d["image_id"] in scores]
        if s.match:
            s.score = max(scores[d["image_id"]] for d in s.match)
            out.append(s)
    return out, inside


def _item(s: Stay, dropped: set[str]) -> CountedItem:
    return CountedItem(s.stay_id, s.start, s.end, s.place, s.image_ids,
                       f"{s.place or 'in transit'}, {s.start:%a %d %b %Y %H:%M}–{s.end:%H:%M}",
                       s.stay_id not in dropped)


def answer_visits(ctx: Ctx, scope: Scope, drop=()) -> Answer:
    """"How many times did I visit / go to ...": the number of matching stays (module docstring)."""
    docs = read_lifelog(ctx)
    stays, inside = matching_stays(ctx, scope, docs)
    if not inside:
        return no_match(ctx, scope)
    dropped = set(drop)
    items = [_item(s, dropped) for s in stays]
    n = sum(i.counted for i in items)
    conf = 1.0
    if scope.concept:  # the count's stability under a looser and a stricter cut (evidence.stability)
        loose = len(matching_stays(ctx, scope, docs, CUT_STEP)[0])
        strict = len(matching_stays(ctx, scope, docs, -CUT_STEP)[0])
        conf = stability(strict, loose)
    what = scope.venue or "/".join(scope.semantic)
    rule = (f"stays at {what}" if (scope.venue or scope.semantic) else "stays") + (
        f" holding a frame that resembles '{scope.concept}' (relevance cut)" if scope.concept else "") + (
        f" {scope.describe(venue=False)}; a stay = consecutive frames at one place (semantic name, else locality) at most "
        f"90 min apart; another place or the street between two frames starts a new visit")
    how = f"{n} visit{'s' if n != 1 else ''} counted" + (f" ({len(items) - n} dropped by you)" if n < len(items)
                                                          else "")
    return ctx.result(str(n), n, conf, items=items, rule=rule,
                      explanation=how, notices=ctx.notices + list(scope.notes))


def answer_nights(ctx: Ctx, scope: Scope, drop=()) -> Answer:
    """"How many nights did I stay at <hotel> / in <country> / abroad": ``stays.nights_at`` (module docstring)."""
    docs = read_lifelog(ctx)
    if not any(scope.in_time(d) and scope.in_region(d) and scope.at_venue(d) for d in docs):
        return no_match(ctx, scope)
    nights = [d for d in nights_at(docs, lambda d: scope.in_region(d) and scope.at_venue(d)) if _date_only(scope, d)]
    by_day = {d["local_time"].date(): d for d in docs}
    dropped = set(drop)
    items = []
    for day in nights:
        ev = by_day.get(day)
        items.append(CountedItem(f"night@{day.isoformat()}", datetime.combine(day, datetime.min.time()),
                                 datetime.combine(day + timedelta(days=1), datetime.min.time()),
                                 (ev or {}).get("semantic_name") or (ev or {}).get("city"),
                                 [ev["image_id"]] if ev else [], f"night of {dres_date(day)}",
                                 f"night@{day.isoformat()}" not in dropped))
    n = sum(i.counted for i in items)
    rule = (f"nights {scope.describe()}: the last located frame of a day and the first of the next day both there, "
            f"both within 10 h of midnight")
    return ctx.result(str(n), n, 1.0, items=items, rule=rule, explanation=f"{n} night{'s' if n != 1 else ''}",
                      notices=ctx.notices + list(scope.notes))


def _date_only(scope: Scope, day) -> bool:
    """Whether ``day`` passes the scope's date and month constraints (weekdays and hours ignored)."""
    if scope.date_from and day < scope.date_from or scope.date_to and day > scope.date_to:
        return False
    return not scope.months or day.month in scope.months


def answer_date(ctx: Ctx, scope: Scope, order: str) -> Answer | None:
    """"On what date did I ...", "the first time I ...", "my last day at work in 2019": the date of the first /
    last / best matching stay, with that stay as evidence. None (the general evidence route answers) for a "when"
    about a thing in a place ("When did I walk in Arezzo?") when the place has frames but none forms a stay like
    the thing asked; an empty place/time scope, or a named venue with no such stay, is "no photo matches"."""
    docs = read_lifelog(ctx)
    stays, inside = matching_stays(ctx, scope, docs)
    if inside and not stays and order == "best" and not (scope.venue or scope.semantic):
        return None  # frames in the place/time scope, none a stay like the thing asked: the evidence route dates it
    if not inside or not stays:
        return no_match(ctx, scope, "photo" if not inside else "stay")
    if order == "first":
        pick = stays[0]
    elif order == "last":
        pick = stays[-1]
    else:
        pick = min(stays, key=lambda s: (-s.score, s.start))
    days = sorted({s.day for s in stays})
    conf = 1.0 if order != "best" else (1.0 if len(days) == 1 else sum(
        s.score for s in stays if s.day == pick.day) / max(sum(s.score for s in stays), 1e-9))
    rule = {"first": "the earliest", "last": "the latest", "best": "the best matching"}[order] + (
        f" of {len(stays)} matching stays on {len(days)} days {scope.describe()}")
    items = [_item(pick, set())]
    return ctx.result(dres_date(pick.start), pick.day, conf, items=items, rule=rule,
                      explanation=f"{pick.place or 'a stay'}, {pick.start:%H:%M}–{pick.end:%H:%M}",
                      notices=ctx.notices + list(scope.notes))


__all__ = ["dres_date", "read_lifelog", "no_match", "concept_scores", "matching_stays", "answer_visits",
           "answer_nights", "answer_date"]

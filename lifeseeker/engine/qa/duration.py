"""Duration answers ("how long did I ...", "how many days ..."): from the relevant evidence's time span."""

from __future__ import annotations

from datetime import datetime

from ..events import Event
from ..store.base import Hit
from .context import Ctx
from .evidence import CUT_STEP, stability
from .result import Answer
from .values import format_duration


def _duration(ctx: Ctx, loosen: float) -> tuple[float, Event | None, list[Hit]]:
    rel = ctx.relevant(loosen)
    if ctx.route.kind == "days":
        return float(len({h.doc["local_time"].date() for h in rel if h.doc.get("local_time")})), None, rel
    events = ctx.events(rel)
    if not events:
        return 0.0, None, rel
    return events[0].duration_s, events[0], rel


def answer_duration(ctx: Ctx) -> Answer:
    """"How long": the span of the best matching event (``span``), or the number of distinct days with matching
    moments (``days``); confidence = :func:`stability` under a looser and a stricter cut."""
    value, best, rel = _duration(ctx, 0.0)
    strict, loose = _duration(ctx, -CUT_STEP)[0], _duration(ctx, CUT_STEP)[0]
    conf = stability(strict, loose)
    if not rel:
        return ctx.none("nothing in the lifelog resembles the question closely enough")
    value_of = lambda d: d["local_time"].strftime("%Y-%m-%d %H:%M") if d.get("local_time") else None  # noqa
    if ctx.route.kind == "days":
        n = int(value)
        events = ctx.events(rel, ctx.cfg.visit_gap_minutes)
        evs, ims = ctx.evidence(sorted(events, key=lambda e: e.start or datetime.max)[:10], value_of)
        how = f"distinct days with matching moments ({len(rel)} relevant images)"
        return ctx.result(f"{n} day{'s' if n != 1 else ''}", n, conf, events=evs, images=ims,
                          explanation=how)
    evs, ims = ctx.evidence([best], value_of)
    evs[0].answer = format_duration(best.duration_s)
    how = (f"span of the best matching event, {best.start:%Y-%m-%d %H:%M:%S} to {best.end:%H:%M:%S} "
           f"({len(best.hits)} relevant images; {format_duration(loose)} with a looser cut, "
           f"{format_duration(strict)} with a stricter one)")
    return ctx.result(format_duration(value), value, conf, events=evs, images=ims, explanation=how)


__all__ = ["answer_duration"]

"""Trips and flights over the travel timeline (issue 19, item 2).

**Flights** (:func:`flights`): between two consecutive located frames (time order; frames without a fix in
between are the time in the air) a flight is taken when

* they are at least ``MIN_FLIGHT_KM`` (300 km) apart (great circle), and
* there is airport / airplane evidence: one of the two fixes is at an airport, or a frame between them (or the
  fix itself) shows an airport or an airplane (``AIR_WORDS`` in its semantic name, locality, caption or tags) —
  or, without such evidence, the implied ground speed over the UTC times is at least ``MIN_FLIGHT_KMH`` (400 km/h:
  no train or car does that over 300 km).

A flight is **intercontinental** when the GeoNames continents of the two countries differ, **international** when
the countries differ, **domestic** when they are the same, **long-haul** from ``LONG_HAUL_KM``. A flight is in the
time scope by its departure frame, in the place scope when its departure or its arrival is.

**Trips** (:func:`answer_trips`): ``travel.trips`` through the frames inside the question's place scope ("abroad",
"outside Ireland", "Asia", "Thailand"), over the frames inside its time scope.
"""

from __future__ import annotations

from dataclasses import dataclass

from .context import Ctx
from .result import Answer, CountedItem
from .scope import Scope
from .travel import continent_of, distance_km, trips, utc_of
from .visits import no_match, read_lifelog

MIN_FLIGHT_KM = 300.0
MIN_FLIGHT_KMH = 400.0
LONG_HAUL_KM = 4000.0
AIR_WORDS = ("airport", "airplane", "aeroplane", "aircraft", "plane", "boarding", "runway", "terminal", "flight")


def air_evidence(doc: dict) -> bool:
    """Whether a frame shows an airport or an airplane (``AIR_WORDS`` in its place names, caption or tags)."""
    text = " ".join(str(x) for x in [doc.get("semantic_name"), doc.get("locality"), doc.get("caption"),
                                     *(doc.get("tags") or [])] if x).lower()
    return any(w in text for w in AIR_WORDS)


@dataclass
class Flight:
    """One detected flight: the last fix before, the first fix after, the frames between."""

    dep: dict
    arr: dict
    km: float
    hours: float
    evidence: list[dict]

    @property
    def kinds(self) -> set[str]:
        """Of ``intercontinental``, ``international``, ``domestic``, ``long-haul``: those that apply."""
        a, b = self.dep.get("country"), self.arr.get("country")
        out = set()
        ca, cb = continent_of(a), continent_of(b)
        if ca and cb and ca != cb:
            out.add("intercontinental")
        if a and b:
            out.add("international" if a != b else "domestic")
        if self.km >= LONG_HAUL_KM:
            out.add("long-haul")
        return out

    def label(self) -> str:
        """``"Dublin Airport (Ireland) → Frankfurt Airport (Germany), 1087 km"``."""
        def at(d):
            return f"{d.get('semantic_name') or d.get('city') or '?'} ({d.get('country') or '?'})"

        return f"{at(self.dep)} → {at(self.arr)}, {self.km:.0f} km"


def flights(docs: list[dict]) -> list[Flight]:
    """The flights (module docstring) of time-ordered ``docs``."""
    out: list[Flight] = []
    prev, between = None, []
    for d in docs:
        if not d.get("location"):
            between.append(d)
            continue
        if prev is not None:
            km = distance_km(prev["location"], d["location"])
            if km >= MIN_FLIGHT_KM:
                hours = max((utc_of(d) - utc_of(prev)).total_seconds() / 3600, 1e-6)
                ev = [x for x in [prev, *between, d] if air_evidence(x)]
                if ev or km / hours >= MIN_FLIGHT_KMH:
                    out.append(Flight(prev, d, km, hours, ev))
        prev, between = d, []
    return out


def answer_flights(ctx: Ctx, scope: Scope, modifier: str | None, drop=()) -> Answer:
    """"How many (intercontinental) flights did I take in 2019?": the flights in scope (module docstring)."""
    docs = read_lifelog(ctx)
    if not any(scope.in_time(d) for d in docs):
        return no_match(ctx, scope)
    found = [f for f in flights(docs) if scope.in_time(f.dep)
             and (not scope.has_place or scope.in_region(f.dep) or scope.in_region(f.arr))
             and (modifier is None or modifier in f.kinds)]
    dropped = set(drop)
    items = [CountedItem(f"flight@{f.dep['image_id']}", f.dep["local_time"], f.arr["local_time"],
                         f"{f.dep.get('semantic_name') or f.dep.get('city')} → "
                         f"{f.arr.get('semantic_name') or f.arr.get('city')}",
                         [x["image_id"] for x in f.evidence[:3]] or [f.dep["image_id"], f.arr["image_id"]],
                         f.label() + (f" ({', '.join(sorted(f.kinds))})" if f.kinds else ""),
                         f"flight@{f.dep['image_id']}" not in dropped) for f in found]
    n = sum(i.counted for i in items)
    rule = (f"{modifier + ' ' if modifier else ''}flights {scope.describe()}: consecutive GPS fixes at least "
            f"{MIN_FLIGHT_KM:.0f} km apart with airport/airplane evidence (or at least {MIN_FLIGHT_KMH:.0f} km/h)"
            + ("; intercontinental = GeoNames continents differ" if modifier == "intercontinental" else ""))
    return ctx.result(str(n), n, 1.0, items=items, rule=rule, explanation=f"{n} flight{'s' if n != 1 else ''}",
                      notices=ctx.notices + list(scope.notes))


def answer_trips(ctx: Ctx, scope: Scope, drop=()) -> Answer:
    """"How many times did I travel outside Ireland / go abroad / go to Asia": runs of located frames inside the
    place scope (``travel.trips``) among the frames inside the time scope."""
    docs = [d for d in read_lifelog(ctx) if scope.in_time(d)]
    if not docs:
        return no_match(ctx, scope)
    runs = trips(docs, scope.in_region)
    if not runs and not any(scope.in_region(d) for d in docs):
        return no_match(ctx, scope)
    dropped = set(drop)
    items = [CountedItem(t.trip_id, t.start, t.end, ", ".join(t.countries),
                         [t.docs[0]["image_id"], t.docs[-1]["image_id"]],
                         f"{t.start:%d %b %Y} – {t.end:%d %b %Y}: {', '.join(t.countries)}",
                         t.trip_id not in dropped) for t in runs]
    n = sum(i.counted for i in items)
    rule = (f"trips {scope.describe()}: runs of located frames in that place scope, in time order; the first "
            f"located frame outside it ends a trip (frames in the air neither end nor extend one)")
    return ctx.result(str(n), n, 1.0, items=items, rule=rule, explanation=f"{n} trip{'s' if n != 1 else ''}",
                      notices=ctx.notices + list(scope.notes))


__all__ = ["MIN_FLIGHT_KM", "MIN_FLIGHT_KMH", "LONG_HAUL_KM", "AIR_WORDS", "air_evidence", "Flight", "flights",
           "answer_flights", "answer_trips"]

"""Yes/no questions of presence (issue 21, item 8): "Did I ever go to Paris?", "Have I ever been to Italy?", "Was I
ever at the Brazen Head?".

A presence question is the count of the matching "how many times" question tested against zero, over the same
scope (``scope.py``): a named place (country, city, continent, "abroad") counts trips over the travel timeline
(``trips.answer_trips``), a venue or semantic place (with or without a thing to look for) counts stays
(``visits.answer_visits``). At least one counted trip or stay answers **Yes** with those trips or stays as the
evidence; none, or no frame of the lifelog inside the scope at all, answers **No** (the lifelog is the record
asked about, so an empty scope is a "no", not "no answer").
"""

from __future__ import annotations

from typing import Sequence

from .context import Ctx
from .result import Answer
from .scope import Scope


def answer_ever(ctx: Ctx, scope: Scope, drop: Sequence[str] = ()) -> Answer:
    """Yes / No for a presence question over ``scope`` (module docstring).

    Args:
        ctx: the answer's working state (route already set to ``counting/yes-no``).
        scope: the question's scope; it names a place, a venue or a semantic place.
        drop: ids of counted trips / stays the user struck out (left out, as in the counts).
    Returns:
        Answer with ``answer`` "Yes" / "No", ``value`` True / False, ``items`` the counted trips or stays
        (the evidence of a "Yes"), ``rule`` the count's rule and the test against zero.
    Raises:
        StoreError: the store is unavailable.
    """
    from .trips import answer_trips
    from .visits import answer_visits

    stays = bool(scope.venue or scope.semantic)
    counted = answer_visits(ctx, scope, drop) if stays else answer_trips(ctx, scope, drop)
    n = 0 if counted.no_match else int(counted.value or 0)
    what = "visit" if stays else "trip"
    where = scope.describe()
    if n:
        first = min((i for i in counted.items if i.counted and i.start), key=lambda i: i.start, default=None)
        when = f", the first on {first.start:%d %b %Y}" if first else ""
        text, how = "Yes", f"{n} {what}{'s' if n != 1 else ''} {where}{when}"
    elif counted.no_match:
        text, how = "No", f"no photo in the lifelog is {where}"
    else:
        text, how = "No", f"no {what} {where} (photos there exist, but none counted)"
    rule = f"yes when at least one {what} is counted: {counted.rule}" if counted.rule else \
        f"yes when at least one {what} is counted"
    notices = [x for x in counted.notices if not x.startswith("No photo matches")]
    return ctx.result(text, bool(n), counted.confidence if n else 1.0, items=counted.items, rule=rule,
                      explanation=how, notices=notices)


__all__ = ["answer_ever"]

"""Filter clauses -> Elasticsearch query DSL: the twin of the embedded store's masks, one function per clause class.

The clauses compile to one ``bool.filter`` (used by ``_count``, the exact ``script_score`` query and every ``knn``
clause's ``filter``); values are passed as values inside ``elasticsearch.dsl`` objects, never spliced into query
strings.
"""

from __future__ import annotations

from datetime import date
from functools import singledispatch
from typing import Any, Sequence

from elasticsearch.dsl import Q
from elasticsearch.dsl.query import Query

from ...filters import DateRange, Filter, GeoBox, GeoDistance, HourRange, PartOfDay, Terms, TextMatch, Weekdays

@singledispatch
def compile_clause(clause: Filter) -> Query:
    """``elasticsearch.dsl`` query for one filter clause (used in ``bool.filter`` and each ``knn.filter``).

    Raises:
        TypeError: no translation for the clause class.
    """
    raise TypeError(f"no ElasticStore translation for {type(clause).__name__}")


@compile_clause.register
def _(clause: DateRange) -> Query:
    # ``date`` is a keyword holding ISO YYYY-MM-DD, so lexicographic range == calendar range (both ends inclusive).
    bounds = {}
    if clause.start:
        bounds["gte"] = clause.start.isoformat()
    if clause.end:
        bounds["lte"] = clause.end.isoformat()
    return Q("range", date=bounds)


@compile_clause.register
def _(clause: HourRange) -> Query:
    return Q("terms", hour=clause.hours())


@compile_clause.register
def _(clause: Weekdays) -> Query:
    return Q("terms", weekday=sorted(clause.days))


@compile_clause.register
def _(clause: PartOfDay) -> Query:
    return Q("terms", part_of_day=sorted(clause.parts))


@compile_clause.register
def _(clause: Terms) -> Query:
    # The field's ``folding`` normalizer is applied to the query values too, so case/accents fold on both sides.
    return Q("terms", **{clause.field: list(clause.values)})


@compile_clause.register
def _(clause: GeoDistance) -> Query:
    return Q("geo_distance", distance=f"{clause.radius_km}km", location={"lat": clause.lat, "lon": clause.lon})


@compile_clause.register
def _(clause: GeoBox) -> Query:
    # left > right crosses the antimeridian; Elasticsearch handles that box form natively.
    return Q("geo_bounding_box", location={"top_left": {"lat": clause.top, "lon": clause.left},
                                           "bottom_right": {"lat": clause.bottom, "lon": clause.right}})


@compile_clause.register
def _(clause: TextMatch) -> Query:
    # The whole text goes to Elasticsearch, which analyses it with the fields' standard analyzer (the embedded
    # store splits it with text.tokens, the same analysis). cross_fields + operator "and": every term occurs in
    # at least one of the fields (all text fields share the analyzer, as cross_fields requires).
    # https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-multi-match-query#type-cross-fields
    return Q("multi_match", query=clause.text, fields=list(clause.fields), type="cross_fields", operator="and")


def filter_query(filters: Sequence[Filter]) -> dict[str, Any]:
    """Query DSL dict for the conjunction of ``filters`` (``match_all`` when empty)."""
    if not filters:
        return {"match_all": {}}
    return Q("bool", filter=[compile_clause(c) for c in filters]).to_dict()


def soft_candidates(filters: Sequence[Filter], soft: Sequence[Any]) -> dict[str, Any]:
    """Candidate query for a search with soft constraints and no query vector over many documents: the filter, plus
    one *indexed* ``should`` clause per constraint approximating its boost, so Elasticsearch ranks the filtered
    documents from the index (no script per document) and the exact boost script rescoring a bounded window
    (``ElasticStore.search_body``) sees the best candidates first.

    Clauses: date range -> ``distance_feature`` on ``date`` (origin the range's middle, pivot its half length +
    scale); near -> ``distance_feature`` on ``location`` (pivot radius + scale); place, months, weekdays, hours ->
    ``constant_score`` ``terms`` with the constraint's weight. ``bool.filter`` keeps exactly the filtered set (the
    ``should`` clauses are optional beside a filter).
    References: https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-distance-feature-query,
    https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-constant-score-query
    """
    from ...query.soft import SoftDateRange, SoftHours, SoftMonths, SoftNear, SoftPlace, SoftWeekdays

    should: list[dict[str, Any]] = []
    for c in soft:
        w = float(c.weight)
        if isinstance(c, SoftDateRange):
            half = (c.end - c.start).days / 2
            mid = c.start.toordinal() + int(half)
            pivot = max(1, int(round(half + (c.scale or 1))))
            should.append({"distance_feature": {"field": "date", "origin": date.fromordinal(mid).isoformat(),
                                                "pivot": f"{pivot}d", "boost": w}})
        elif isinstance(c, SoftNear):
            should.append({"distance_feature": {"field": "location", "origin": {"lat": c.lat, "lon": c.lon},
                                                "pivot": f"{c.radius_km + c.scale_km}km", "boost": w}})
        else:
            if isinstance(c, SoftPlace):
                field, values = c.field, sorted(set(c.values))
            elif isinstance(c, SoftMonths):
                field, values = "month", sorted(set(c.months))
            elif isinstance(c, SoftWeekdays):
                field, values = "weekday", sorted(set(c.days))
            elif isinstance(c, SoftHours):
                field, values = "hour", sorted({(m // 60) % 24 for m in range(c.start_min, c.end_min, 60)})
            else:
                raise TypeError(f"not a soft constraint: {c!r}")
            should.append({"constant_score": {"filter": {"terms": {field: list(values)}}, "boost": w}})
    flt = filter_query(filters)
    return {"bool": {"filter": [flt], "should": should}}

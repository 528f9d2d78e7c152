"""Soft constraints in the Elasticsearch store, by contract (no server here): the rescore/score script carries
one Painless term per soft constraint with the same parameters the numpy reference (soft.soft_boost) uses, the
boost comes back as a script field and is added to the fused score. Painless reference:
https://www.elastic.co/docs/reference/scripting-languages/painless/painless-api-reference"""

from __future__ import annotations

import json
from datetime import date

import numpy as np

from lifeseeker.engine.query.soft import (SoftDateRange, SoftHours, SoftMonths, SoftNear, SoftPlace, SoftWeekdays,
                                          day_number)
from lifeseeker.engine.store.elastic import component_fields, fused_script, parse_hits, soft_script

SOFT = [SoftDateRange(date(2019, 4, 1), date(2019, 4, 30)), SoftMonths((4, 5)), SoftWeekdays(("Sat", "Sun")),
        SoftHours(21 * 60, 29 * 60), SoftPlace("places", ("Dublin", "Málaga")), SoftNear(53.35, -6.26, 2.0)]


def test_soft_script_params_match_the_reference_formula():
    source, params = soft_script(SOFT)
    assert (params["p0_a"], params["p0_e"]) == (day_number(date(2019, 4, 1)), day_number(date(2019, 4, 30)))
    assert params["p0_s"] == SOFT[0].scale == 15.0 and params["p0_w"] == 0.05
    assert params["p1_t"] == [4, 5] and params["p1_s"] == 2.0
    assert params["p2_t"] == [5, 6] and params["wd"] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert (params["p3_a"], params["p3_e"], params["p3_s"]) == (1260, 1740, 90.0)
    assert params["p4_v"] == ["dublin", "malaga"]  # folded like the mapping's normalizer
    assert (params["p5_lat"], params["p5_lon"], params["p5_r"], params["p5_s"]) == (53.35, -6.26, 2.0, 5.0)
    # one guarded term per constraint; values only as params
    for field in ("date", "month", "weekday", "minute_of_day", "location"):
        assert f"doc['{field}'].size() != 0" in source
    # ``date`` is a date field (strict_date): its doc value is a ZonedDateTime at UTC midnight
    assert "doc['date'].value.toLocalDate().toEpochDay()" in source
    assert "arcDistance(params.p5_lat, params.p5_lon) / 1000.0" in source
    assert "Dublin" not in source and "2019" not in source


def test_fused_script_adds_boost_and_component_field_returns_it():
    script = fused_script({"capmeta_vec": [1.0, 0.0]}, {"clip_vec": 0.7, "capmeta_vec": 0.3}, SOFT[:1])
    assert script["source"].startswith("double s = params.offset;")
    assert "double b = 0;" in script["source"] and "s += b;" in script["source"]
    assert script["params"]["offset"] == 0.3 and script["params"]["p0_w"] == 0.05
    fields = component_fields({"capmeta_vec": [1.0, 0.0]}, SOFT[:1])
    assert set(fields) == {"tat", "boost"}
    assert fields["boost"]["script"]["source"].endswith("return b;")


def test_parse_hits_adds_the_boost_to_the_fused_score():
    response = {"hits": {"hits": [
        {"_id": "a", "_source": {}, "fields": {"tat": [0.5], "boost": [0.04]}},
        {"_id": "b", "_source": {}, "fields": {"tat": [0.6], "boost": [0.0]}},
    ]}}
    hits = parse_hits(response, {"clip_vec": 0.7, "capmeta_vec": 0.3}, 10)
    assert [h.image_id for h in hits] == ["a", "b"]  # the boost lifts a (0.15 + 0.04) over b (0.18)
    assert abs(hits[0].score - (0.3 * 0.5 + 0.04)) < 1e-12 and hits[1].score == 0.3 * 0.6
    assert (hits[0].tat, hits[0].iat) == (0.5, 0.0)


def test_soft_only_search_over_many_documents_ranks_by_indexed_queries_then_rescoring(tmp_path):
    # Before: script_score ran the boost script on every filtered document, whatever their number.
    from lifeseeker.engine import filters as F
    from lifeseeker.engine.store.base import VectorQuery

    from .es_fake import FakeCluster, existing_index, make

    cluster = existing_index(FakeCluster())
    store = make(cluster, exact_threshold=1000, num_candidates=400)
    body = store.search_body(VectorQuery(None, None), [F.HourRange(8, 12)], 20, exact=False, soft=SOFT)
    assert "script_score" not in json.dumps(body["query"])  # the candidate query is all indexed clauses
    q = body["query"]["bool"]
    assert q["filter"] == [{"bool": {"filter": [{"terms": {"hour": [8, 9, 10, 11]}}]}}]
    kinds = [next(iter(c)) for c in q["should"]]
    assert kinds == ["distance_feature", "constant_score", "constant_score", "constant_score", "constant_score",
                     "distance_feature"]
    assert q["should"][0]["distance_feature"] == {"field": "date", "origin": "2019-04-15", "pivot": "30d",
                                                  "boost": 0.05}
    assert q["should"][5]["distance_feature"]["field"] == "location"
    assert q["should"][3]["constant_score"]["filter"] == {"terms": {"hour": [0, 1, 2, 3, 4, 21, 22, 23]}}
    assert q["should"][4]["constant_score"]["filter"] == {"terms": {"places": ["Dublin", "Málaga"]}}
    # the exact boost (same script as the exact path) only on a bounded window
    assert body["rescore"]["window_size"] == 400
    assert "double b = 0;" in body["rescore"]["query"]["rescore_query"]["script_score"]["script"]["source"]
    assert set(body["script_fields"]) == {"boost"}

"""Issue 18, kind 9: without CLIP the fused score is only W_TaT*cos(TaT), so soft boosts of absolute size would
weigh 1/0.3 = 3.3x more than designed. Both stores scale every boost by soft.boost_scale (the share of the
weights of the components present); these tests check the formula in the embedded store's scores and in the
Elasticsearch request (the fake cluster of test_elastic_contract.py; script_score params per
https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-script-score-query)."""

from __future__ import annotations

import numpy as np
import pytest

from lifeseeker.engine.filters import Weights
from lifeseeker.engine.query.soft import SoftMonths, SoftPlace, boost_scale, scale_soft
from lifeseeker.engine.store.base import VectorQuery

from .synth import corpus, lance_store
from .test_elastic_contract import Q384, Q512, FakeCluster, _search_routes, make

SOFT = (SoftPlace("country", ("Spain",)), SoftMonths((3,)), SoftPlace("places", ("Dublin",), weight=-0.05))


def test_boost_scale_formula():
    assert boost_scale(Weights(), ["clip_vec", "capmeta_vec"]) == 1.0
    assert boost_scale(Weights(), ["capmeta_vec"]) == pytest.approx(0.3)
    assert boost_scale(Weights(0.5, 0.5), ["clip_vec"]) == pytest.approx(0.5)
    assert boost_scale(Weights(), []) == 1.0  # no vector: the boosts alone order the documents
    assert [c.weight for c in scale_soft(SOFT, 0.3)] == pytest.approx([0.015, 0.012, -0.015])


def test_text_only_and_clip_runs_give_the_boosts_the_same_share(tmp_path):
    docs = corpus(200, seed=3)
    store = lance_store(tmp_path / "s", docs)
    rng = np.random.default_rng(1)
    q_clip, q_tat = rng.standard_normal(16).astype(np.float32), rng.standard_normal(8).astype(np.float32)
    w = Weights()
    both = {h.image_id: h for h in store.search(VectorQuery(q_clip, q_tat, w), limit=200, soft=SOFT)}
    text = {h.image_id: h for h in store.search(VectorQuery(None, q_tat, w), limit=200, soft=SOFT)}
    shares = []
    for i in both.keys() & text.keys():
        b, t = both[i], text[i]
        boost_both = b.score - (w.iat * b.iat + w.tat * b.tat)
        boost_text = t.score - w.tat * t.tat
        # the boost over the weight of the components present: the same with and without CLIP
        assert boost_text / w.tat == pytest.approx(boost_both / (w.iat + w.tat), abs=1e-6)
        shares.append(boost_both)
    assert len(shares) > 150 and max(shares) > 0.05 and min(shares) < 0  # boosts and penalties really applied


def test_elasticsearch_request_scales_the_boosts_alike():
    cluster = FakeCluster()
    _search_routes(cluster, "count_2000.json", "search_text_only.json")
    store = make(cluster)
    store.search(VectorQuery(None, Q384, Weights()), limit=5, soft=SOFT)
    store.search(VectorQuery(Q512, Q384, Weights()), limit=5, soft=SOFT)
    text_body, both_body = [s.body for s in cluster.sent("POST", "/lifeseeker/_search")]
    text_p = text_body["query"]["script_score"]["script"]["params"]
    both_p = both_body["query"]["script_score"]["script"]["params"]
    assert (text_p["p0_w"], text_p["p1_w"], text_p["p2_w"]) == pytest.approx((0.015, 0.012, -0.015))
    assert (both_p["p0_w"], both_p["p1_w"], both_p["p2_w"]) == pytest.approx((0.05, 0.04, -0.05))
    # the boost returned as a script field is the scaled one too, and the offset covers the penalty
    assert text_body["script_fields"]["boost"]["script"]["params"]["p0_w"] == pytest.approx(0.015)
    assert text_p["offset"] == pytest.approx(0.3 + 0.015) and both_p["offset"] == pytest.approx(1.0 + 0.05)

"""Search-experience building blocks on synthetic data with known structure: near-duplicate runs inside events,
sequence parsing and pairing, Rocchio feedback measured as rank changes, suggestions, the rerank blend and the
temporal context window."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from lifeseeker.engine.context import temporal_context
from lifeseeker.engine.dedup import DUP_COSINE, annotate_event, collapse_duplicates
from lifeseeker.engine.events import group_events
from lifeseeker.engine.feedback import Rocchio, parse_ids, rocchio
from lifeseeker.engine.rerank import MIN_SPAN, blend_scores, rerank_hits
from lifeseeker.engine.sequence import GAP_PENALTY, pair_events, parse_sequence, parse_within
from lifeseeker.engine.store import open_store
from lifeseeker.engine.store.base import Hit, VectorQuery
from lifeseeker.engine.suggest import suggest
from lifeseeker.engine.timeparts import time_fields
from lifeseeker.errors import FilterError, NotFound

from .synth import corpus


def _hit(i: int, t: datetime | None, score: float, place: str = "Glasnevin") -> Hit:
    return Hit(f"f{i:02d}", score, score, 0.0, {"image_id": f"f{i:02d}", "collection": "c", "locality": place,
                                                "local_time": t})


def _near(base: np.ndarray, rng: np.random.Generator, noise: float) -> np.ndarray:
    v = base + noise * rng.standard_normal(base.shape).astype(np.float32)
    return v / np.linalg.norm(v)


# ---- events and near-duplicates ---------------------------------------------------------------------------------

def _lifelog():
    """Two events. A (08:00-08:03, Glasnevin): frames 0-2 one view, 3 another, 4-6 a third (but 6 is missing its
    vector); B (09:00, 2 frames of different views)."""
    rng = np.random.default_rng(7)
    views = rng.standard_normal((5, 32)).astype(np.float32)
    views /= np.linalg.norm(views, axis=1, keepdims=True)
    t0 = datetime(2019, 5, 2, 8, 0)
    scores = [0.30, 0.35, 0.32, 0.50, 0.20, 0.25, 0.45, 0.40, 0.10]
    hits = [_hit(i, t0 + timedelta(seconds=30 * i), s) for i, s in enumerate(scores[:7])]
    hits += [_hit(7, t0 + timedelta(hours=1), scores[7]), _hit(8, t0 + timedelta(hours=1, seconds=30), scores[8])]
    vecs = {"f00": _near(views[0], rng, 0.02), "f01": _near(views[0], rng, 0.02), "f02": _near(views[0], rng, 0.02),
            "f03": views[1], "f04": _near(views[2], rng, 0.02), "f05": _near(views[2], rng, 0.02), "f06": None,
            "f07": views[3], "f08": views[4]}
    return hits, vecs


def test_near_duplicate_runs_inside_events_are_exact():
    hits, vecs = _lifelog()
    events = group_events(list(reversed(hits)))
    assert [sorted(h.image_id for h in e.hits) for e in events] == [
        ["f00", "f01", "f02", "f03", "f04", "f05", "f06"], ["f07", "f08"]]
    a = annotate_event(events[0], vecs)
    groups = a.extra["groups"]
    assert [[h.image_id for h in g.hits] for g in groups] == [["f00", "f01", "f02"], ["f03"], ["f04", "f05"],
                                                              ["f06"]]
    assert [g.best.image_id for g in groups] == ["f01", "f03", "f05", "f06"]
    assert [g.count for g in groups] == [3, 1, 2, 1]
    assert [h.image_id for h in groups[0].others] == ["f00", "f02"]
    # the distinct top 3 never shows one view twice; plain top 3 (events.py) would show f03, f06 and f01 anyway,
    # but with frames 0-2 outscoring the rest it would repeat the view: check that case too below
    assert [g.best.image_id for g in a.extra["top_distinct"]] == ["f03", "f06", "f01"]
    b = annotate_event(events[1], vecs)
    assert [g.count for g in b.extra["groups"]] == [1, 1]


def test_distinct_top3_skips_repeated_views_and_threshold_above_one_turns_collapsing_off():
    hits, vecs = _lifelog()
    boosted = [Hit(h.image_id, h.score + (1.0 if h.image_id in ("f00", "f01", "f02") else 0.0), h.iat, h.tat, h.doc)
               for h in hits[:7]]
    event = group_events(boosted)[0]
    assert [h.image_id for h in event.top] == ["f01", "f02", "f00"]  # events.py: one view three times
    annotate_event(event, vecs)
    assert [g.best.image_id for g in event.extra["top_distinct"]] == ["f01", "f03", "f06"]
    assert len(collapse_duplicates(event.hits, vecs, threshold=1.01)) == 7
    assert len(collapse_duplicates(event.hits, {}, threshold=DUP_COSINE)) == 7  # no vectors: nothing collapses
    with pytest.raises(ValueError):
        collapse_duplicates(event.hits, vecs, threshold=float("nan"))


def test_runs_compare_with_their_anchor_so_a_slow_pan_does_not_drift():
    base = np.zeros(8, np.float32)
    base[0] = 1.0
    t0 = datetime(2020, 1, 1, 10)
    hits, vecs = [], {}
    for i in range(6):  # each frame turns 10 degrees further: neighbours cos 0.985, two steps apart cos 0.940
        angle = np.deg2rad(10 * i)
        v = np.zeros(8, np.float32)
        v[0], v[1] = np.cos(angle), np.sin(angle)
        vecs[f"f{i:02d}"] = v
        hits.append(_hit(i, t0 + timedelta(seconds=30 * i), 0.5))
    groups = collapse_duplicates(hits, vecs, threshold=0.95)
    assert [[h.image_id for h in g.hits] for g in groups] == [["f00", "f01"], ["f02", "f03"], ["f04", "f05"]]


# ---- sequence queries -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,first,second,window", [
    ("coffee, then bus", "coffee", "bus", 120.0),
    ("eating breakfast then a laptop within 45 min", "eating breakfast", "a laptop", 45.0),
    ("supermarket ; kitchen within 3h", "supermarket", "kitchen", 180.0),
    ("boarding a plane -> a taxi within 1 day", "boarding a plane", "a taxi", 1440.0),
    ("a dog and then a cat", "a dog", "a cat", 120.0),
])
def test_parse_sequence(text, first, second, window):
    seq = parse_sequence(text)
    assert (seq.first, seq.second, seq.within_minutes) == (first, second, window)


@pytest.mark.parametrize("text", ["walking in the park", "then a bus", "athenians", "coffee;", ""])
def test_parse_sequence_leaves_plain_queries_alone(text):
    assert parse_sequence(text) is None


def test_parse_within_units_and_errors():
    assert [parse_within(x) for x in ("90", "2h", "45 min", "1d", "1.5 hours")] == [90, 120, 45, 1440, 90]
    for bad in ("soon", "-5", "0", "30d"):
        with pytest.raises(FilterError, match="within"):
            parse_within(bad)


def test_pairs_follow_in_order_within_the_window_and_score_by_formula():
    t0 = datetime(2019, 6, 1, 8)

    def ev(prefix, start, n, score):
        return [Hit(f"{prefix}{k}", score, score, 0, {"image_id": f"{prefix}{k}", "collection": "c",
                                                       "local_time": start + timedelta(minutes=k)})
                for k in range(n)]

    a_hits = (ev("a1_", t0, 3, 0.6) + ev("a2_", t0 + timedelta(hours=5), 2, 0.5)
              + ev("a3_", t0 + timedelta(days=1), 1, 0.9))
    b_hits = (ev("b1_", t0 + timedelta(minutes=32), 2, 0.4)       # 30 min after a1 ends (a1 ends 08:02)
              + ev("b2_", t0 + timedelta(minutes=80), 1, 0.8)     # 78 min after a1
              + ev("b3_", t0 - timedelta(hours=1), 1, 0.9)        # before a1: never its partner
              + ev("b4_", t0 + timedelta(hours=9), 1, 0.7))       # 4 h after a2: outside a 2 h window
    pairs = pair_events(group_events(a_hits), group_events(b_hits), within_minutes=120)
    assert [(p.first.event_id, p.second.event_id) for p in pairs] == [("a1_0", "b2_0")]
    p = pairs[0]
    assert p.gap_s == 78 * 60
    assert p.score == pytest.approx((p.first.score + p.second.score) / 2 - GAP_PENALTY * 78 / 120)
    wide = pair_events(group_events(a_hits), group_events(b_hits), within_minutes=300)
    assert {(q.first.event_id, q.second.event_id) for q in wide} == {("a1_0", "b2_0"), ("a2_0", "b4_0")}
    assert [q.score for q in wide] == sorted((q.score for q in wide), reverse=True)


# ---- Rocchio ----------------------------------------------------------------------------------------------------

def test_rocchio_formula_and_edge_cases():
    q = np.array([1, 0, 0], np.float32)
    r = [np.array([0, 2, 0], np.float32), np.array([0, 0, 3], np.float32)]
    n = [np.array([-1, 0, 0], np.float32)]
    got = rocchio(q, r, n, Rocchio(1.0, 0.75, 0.15))
    want = np.array([1 + 0.15, 0.375, 0.375])
    np.testing.assert_allclose(got, want / np.linalg.norm(want), rtol=1e-6)
    assert rocchio(None, [], []) is None
    np.testing.assert_allclose(rocchio(None, [np.array([0, 3, 4], np.float32)], []), [0, 0.6, 0.8], rtol=1e-6)
    assert rocchio(None, [None], [None]) is None
    with pytest.raises(FilterError, match="width"):
        rocchio(q, [np.ones(4, np.float32)], [])
    with pytest.raises(FilterError, match="beta"):
        Rocchio(beta=-1)
    assert parse_ids(["a,b", "b", " c "], "relevant") == ("a", "b", "c")
    with pytest.raises(FilterError, match="relevant"):
        parse_ids(",".join(str(i) for i in range(201)), "relevant")


def _ranks(hits, ids):
    order = [h.image_id for h in hits]
    return {i: order.index(i) + 1 for i in ids}


def test_one_round_of_feedback_moves_marked_and_similar_images_up(tmp_path):
    """A corpus with a hidden topic: 30 of 400 images lie near one direction in both spaces. The query is only
    loosely related to it; the user marks 3 topic images found low in the list and 2 off-topic ones high in it."""
    rng = np.random.default_rng(3)
    docs = corpus(400, seed=3, missing=0.0)
    topic_c, topic_t = rng.standard_normal(16).astype(np.float32), rng.standard_normal(8).astype(np.float32)
    topic = [f"img{i:05d}" for i in range(0, 400, 13)][:30]
    for d in docs:
        if d["image_id"] in topic:
            d["clip_vec"] = _near(topic_c / np.linalg.norm(topic_c), rng, 0.35)
            d["capmeta_vec"] = _near(topic_t / np.linalg.norm(topic_t), rng, 0.35)
    store = open_store(f"lance://{tmp_path / 's'}")
    store.ensure_schema({"clip_vec": 16, "capmeta_vec": 8})
    store.upsert(docs)
    q_c = _near(topic_c / np.linalg.norm(topic_c), rng, 1.2)
    q_t = _near(topic_t / np.linalg.norm(topic_t), rng, 1.2)
    before = store.search(VectorQuery(q_c, q_t), limit=400)
    ranks0 = _ranks(before, topic)
    marked = sorted(topic, key=lambda i: ranks0[i])[10:13]  # topic images the user found further down
    off = [h.image_id for h in before if h.image_id not in topic][:2]
    vec = {d["image_id"]: d for d in store.get(marked + off, with_vectors=True)}
    q2_c = rocchio(q_c, [vec[i]["clip_vec"] for i in marked], [vec[i]["clip_vec"] for i in off])
    q2_t = rocchio(q_t, [vec[i]["capmeta_vec"] for i in marked], [vec[i]["capmeta_vec"] for i in off])
    after = store.search(VectorQuery(q2_c, q2_t), limit=400)
    ranks1 = _ranks(after, topic + off)
    for i in marked:
        assert ranks1[i] < ranks0[i], (i, ranks0[i], ranks1[i])
    assert max(ranks1[i] for i in marked) <= 10 < min(ranks0[i] for i in marked)
    unmarked = [i for i in topic if i not in marked]
    assert np.mean([ranks1[i] for i in unmarked]) < np.mean([ranks0[i] for i in unmarked]) - 5
    assert all(ranks1[i] > _ranks(before, off)[i] for i in off)  # the negatives sink


# ---- suggestions ------------------------------------------------------------------------------------------------

def test_suggestions_from_what_the_marked_images_share():
    t = datetime(2019, 3, 2, 13, 5)
    docs = [
        {"image_id": "a", "tags": ["laptop", "cup"], "caption": "a laptop on a desk", "ocr_text": "HEINZ beans",
         "city": "Dublin", "country": "Ireland", "part_of_day": "afternoon", "weekday": "Sat", "date": "2019-03-02",
         "local_time": t},
        {"image_id": "b", "tags": ["laptop"], "caption": "a desk with a laptop and a lamp", "ocr_text": "heinz",
         "city": "Dublin", "country": "Ireland", "part_of_day": "afternoon", "weekday": "Sat", "date": "2019-03-02"},
        {"image_id": "c", "tags": ["dog"], "caption": "a dog", "ocr_text": "", "city": "Cork",
         "country": "Ireland", "part_of_day": "morning", "weekday": "Sun", "date": "2019-03-03"},
    ]
    out = suggest(docs, "working", base_params={"country": "Ireland"})
    labels = [s.label for s in out]
    assert labels == ["working laptop", "working desk", "Was there a laptop?", "Did you see the text 'HEINZ'?",
                      "Was it in Dublin?", "Was it in the afternoon?", "Was it on a Sat?", "Was it on 2019-03-02?"]
    by = {s.label: dict(s.params) for s in out}
    assert by["Was there a laptop?"] == {"country": "Ireland", "q": "working", "tag": "laptop"}
    assert by["Did you see the text 'HEINZ'?"]["ocr"] == "HEINZ"
    assert by["Was it on 2019-03-02?"]["date_from"] == by["Was it on 2019-03-02?"]["date_to"] == "2019-03-02"
    assert by["working desk"]["q"] == "working desk"
    assert suggest([], "x") == []
    # the query's own words are not suggested again
    assert "laptop laptop" not in [s.label for s in suggest(docs[:2], "laptop")]


# ---- rerank blend -----------------------------------------------------------------------------------------------

def test_blend_formula_and_rerank_keeps_the_list_sorted():
    fused = np.array([0.40, 0.35, 0.30, 0.20])
    prob = np.array([0.1, 0.9, np.nan, 0.5])
    final, shown = blend_scores(fused, prob, 0.5)
    s_hat = (fused - 0.20) / 0.20
    np.testing.assert_allclose(final, [0.5 * 1 + 0.05, 0.5 * 0.75 + 0.45, s_hat[2], 0.25], rtol=1e-9)
    np.testing.assert_allclose(shown, 0.20 + 0.20 * final)
    _, flat = blend_scores(np.array([0.3, 0.3]), np.array([0.2, 0.8]), 1.0)
    np.testing.assert_allclose(flat, [0.3 + MIN_SPAN * 0.2, 0.3 + MIN_SPAN * 0.8])

    class Fixed:  # a matcher whose answer is known, to check the re-ordering and the tail
        name = "fixed"

        def score(self, query, docs, load_image):
            return np.array([{"h0": 0.0, "h1": 1.0, "h2": 0.5}[d["image_id"]] for d in docs])

    hits = [Hit(f"h{i}", s, s, 0, {"image_id": f"h{i}"}) for i, s in enumerate([0.5, 0.45, 0.4, 0.1])]
    out, probs = rerank_hits(hits, "q", Fixed(), n=3, blend=0.8, load_image=lambda d: None)
    assert [h.image_id for h in out] == ["h1", "h2", "h0", "h3"]
    assert probs == {"h0": 0.0, "h1": 1.0, "h2": 0.5}
    assert [h.score for h in out] == sorted((h.score for h in out), reverse=True)
    assert out[3].score == 0.1 and out[0].iat == 0.45
    unchanged, none = rerank_hits(hits, "  ", Fixed(), n=3, blend=0.8, load_image=lambda d: None)
    assert unchanged == hits and none == {}
    with pytest.raises(FilterError, match="rerank_blend"):
        rerank_hits(hits, "q", Fixed(), n=3, blend=1.5, load_image=lambda d: None)


# ---- temporal context -------------------------------------------------------------------------------------------

def test_temporal_context_window_order_and_errors(tmp_path):
    store = open_store(f"lance://{tmp_path / 's'}")
    store.ensure_schema({"clip_vec": 4, "capmeta_vec": 4})
    t0 = datetime(2019, 5, 2, 8, 0)
    docs = []
    for i in range(40):  # one frame a minute; frame 39 in another collection
        t = t0 + timedelta(minutes=i)
        docs.append({"image_id": f"m{i:02d}", "collection": "c" if i < 39 else "other", "path": f"{i}.jpg",
                     "local_time": t, **time_fields(t)})
    docs.append({"image_id": "undated", "collection": "c", "path": "u.jpg"})
    store.upsert(docs)
    ctx = temporal_context(store, "m20", 5)
    assert [d["image_id"] for d in ctx.docs] == [f"m{i:02d}" for i in range(15, 26)]
    assert ctx.index == 5 and not ctx.truncated
    ctx = temporal_context(store, "m37", 10, limit=4)
    assert [d["image_id"] for d in ctx.docs] == ["m35", "m36", "m37", "m38"] and ctx.index == 2 and ctx.truncated
    with pytest.raises(NotFound):
        temporal_context(store, "nope", 5)
    with pytest.raises(FilterError, match="no time"):
        temporal_context(store, "undated", 5)
    with pytest.raises(FilterError, match="minutes"):
        temporal_context(store, "m20", 0)
    with pytest.raises(FilterError, match="minutes"):
        temporal_context(store, "m20", 2000)

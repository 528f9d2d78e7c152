"""Every scoring path of the embedded store against the brute-force reference (issue 20, item 1).

A user's query reaches ``VectorSet.scores`` with one of five vector shapes: both vectors (a typed query with CLIP),
TaT only (text-only mode, no CLIP weights), CLIP only (CLIP weights on, TaT switched off), an image query (a CLIP
image embedding, no text vector) and a Rocchio feedback vector (both fields moved towards marked images). Each
goes through every route ``scores`` chooses by the filter's shape: no filter, a contiguous run of rows, a scattered
set spanning several gather blocks, a tiny set, a broad set (the full-product route) and a full-text match. The
top-k must equal ``tests/reference.py``'s per-document Python predicates and float64 cosines, ids and scores.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from lifeseeker.engine import filters as F
from lifeseeker.engine.feedback import rocchio
from lifeseeker.engine.store.base import VectorQuery
from lifeseeker.engine.store.lance import vectors as V

from .reference import brute_force, passes
from .synth import corpus, lance_store

N = 6000
FIRST = 2500  # rows of collection "first" (appended first: a contiguous run of rows)


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    docs = corpus(N, seed=20)
    for i, d in enumerate(docs):
        d["collection"] = "first" if i < FIRST else "second"
    store = lance_store(tmp_path_factory.mktemp("paths"), ann_min_docs=0)
    store.upsert(docs[:FIRST])
    store.upsert(docs[FIRST:])
    return store, docs


SHAPES = {
    "none": [],
    "contiguous": [F.Terms("collection", ("first",))],
    "scattered": [F.Terms("tags", ("laptop", "cup"))],
    "tiny": [F.DateRange(date(2019, 3, 7), date(2019, 3, 7)), F.Terms("tags", ("dog",))],
    "broad": [F.Weekdays(frozenset({"Mon", "Tue", "Wed", "Thu", "Fri"}))],
    "full-text": [F.TextMatch("coffee")],
}


def _queries(docs: list[dict]) -> dict[str, VectorQuery]:
    rng = np.random.default_rng(3)
    qc, qt = rng.standard_normal(16), rng.standard_normal(8)
    w = F.Weights()
    image = next(d["clip_vec"] for d in docs[4000:] if d["clip_vec"] is not None)  # an image's own embedding
    marked = [d for d in docs[100:130] if d["clip_vec"] is not None and d["capmeta_vec"] is not None]
    rel, irr = marked[:3], marked[3:5]
    fb_clip = rocchio(qc, [d["clip_vec"] for d in rel], [d["clip_vec"] for d in irr])
    fb_tat = rocchio(qt, [d["capmeta_vec"] for d in rel], [d["capmeta_vec"] for d in irr])
    return {"both": VectorQuery(qc, qt, w), "tat-only": VectorQuery(None, qt, w),
            "clip-only": VectorQuery(qc, None, w), "image": VectorQuery(image, None, w),
            "feedback": VectorQuery(fb_clip, fb_tat, w)}


def test_the_filter_shapes_take_every_route(filled):
    """The shapes above are what their names say on this corpus (else the test below would not cover a route)."""
    store, docs = filled
    n_pass = {name: sum(all(passes(d, c) for c in clauses) for d in docs) for name, clauses in SHAPES.items()}
    assert n_pass["contiguous"] == FIRST
    assert V.GATHER_BLOCK_ROWS < n_pass["scattered"] < V.FULL_PRODUCT_FRACTION * N  # several gather blocks
    assert 0 < n_pass["tiny"] <= 20
    assert n_pass["broad"] >= V.FULL_PRODUCT_FRACTION * N
    assert 0 < n_pass["full-text"] < V.FULL_PRODUCT_FRACTION * N
    snap = store.snapshot()
    rows = store._rows(snap, SHAPES["contiguous"]).rows
    assert rows[-1] - rows[0] + 1 == len(rows)  # a run of rows: the view route
    assert store.count(SHAPES["scattered"]) == n_pass["scattered"]


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("vectors", ["both", "tat-only", "clip-only", "image", "feedback"])
def test_every_path_equals_brute_force(filled, shape, vectors):
    store, docs = filled
    vq = _queries(docs)[vectors]
    clauses = SHAPES[shape]
    want = brute_force(docs, vq.clip, vq.tat, vq.weights, clauses, 40)
    got = store.search(vq, clauses, limit=40)
    assert [h.image_id for h in got] == [i for i, _ in want]
    np.testing.assert_allclose([h.score for h in got], [s for _, s in want], atol=1e-5)
    by_id = {d["image_id"]: d for d in docs}
    for h in got[:5]:  # the raw cosines of a hit are those of its own vectors
        d = by_id[h.image_id]
        for got_cos, q, v in ((h.iat, vq.clip, d["clip_vec"]), (h.tat, vq.tat, d["capmeta_vec"])):
            want_cos = 0.0 if q is None or v is None else float(
                np.dot(q, v) / (np.linalg.norm(q) * np.linalg.norm(v)))
            assert got_cos == pytest.approx(want_cos, abs=1e-5)


def test_gather_never_takes_from_a_strided_column_view(monkeypatch):
    """The gather route never calls ``np.take`` on a strided column view of the fused matrix (numpy first copies
    the whole field, n x d, for every block: issue 20); whole rows are taken from the C-contiguous matrix when both
    fields score. Scores equal the naive product for one field and for both."""
    rng = np.random.default_rng(0)
    m = np.ascontiguousarray(rng.standard_normal((5000, 24)).astype(np.float32))
    vs = V.VectorSet(m, {"clip_vec": 16, "capmeta_vec": 8})
    rows = np.sort(rng.choice(5000, size=1300, replace=False)).astype(np.int64)
    taken = []
    real_take = np.take

    def spy(a, *args, **kw):
        taken.append(a.flags.c_contiguous)
        return real_take(a, *args, **kw)

    monkeypatch.setattr(V.np, "take", spy)
    for clip, tat, cols in ((None, rng.standard_normal(8), slice(16, 24)),
                            (rng.standard_normal(16), None, slice(0, 16)),
                            (rng.standard_normal(16), rng.standard_normal(8), slice(0, 24))):
        fq = vs.prepare(VectorQuery(clip, tat, F.Weights(0.7, 0.3)))
        got = vs.scores(fq, rows)
        want = m[rows][:, cols].astype(np.float64) @ fq.q[cols].astype(np.float64)
        np.testing.assert_allclose(got, want, atol=1e-5)
    assert taken and all(taken)


COMBOS = [
    [F.Terms("tags", ("dog",))],
    [F.Terms("tags", ("dog", "laptop")), F.TextMatch("coffee")],
    [F.TextMatch("heinz beans")],
    [F.TextMatch("coffee exit", ("ocr_text",)), F.Terms("city", ("MALAGA",))],  # folded: matches "Málaga"
    [F.Terms("country", ("spain",)), F.HourRange(8, 12)],
    [F.TextMatch("zzznotaword"), F.Weekdays(frozenset({"Mon"}))],
    [F.Terms("places", ("Dublin",)), F.GeoDistance(53.3861, -6.2566, 1.5), F.TextMatch("bus")],
    [F.HourRange(21, 5)],
]


@pytest.mark.parametrize("clauses", COMBOS, ids=range(len(COMBOS)))
def test_row_lists_from_the_indexes_equal_the_column_masks(filled, clauses):
    """Item 2: index-backed clauses give their rows as sorted lists (no table-sized mask); the intersection equals
    the column masks of every clause and the reference predicates."""
    from lifeseeker.engine.store.lance.masks import mask_of, passing_rows

    store, docs = filled
    snap = store.snapshot()
    got = passing_rows(snap, clauses)
    want = np.flatnonzero(mask_of(snap, clauses))
    assert got.rows.dtype == np.int64 and got.rows.tolist() == want.tolist()
    ids = snap.ids_at(got.rows)
    assert ids == [d["image_id"] for d in sorted(docs, key=lambda d: snap.row_of(d["image_id"]))
                   if all(passes(d, c) for c in clauses)]
    np.testing.assert_array_equal(got.mask, mask_of(snap, clauses))


def test_a_selective_index_filter_makes_no_table_sized_mask(filled):
    """An exact search under index-backed filters works on the passing rows alone: the cached ``Passing`` never
    built its (n,) mask (only the ANN bitmap and facets ask for it)."""
    store, docs = filled
    snap = store.snapshot()
    clauses = [F.Terms("tags", ("dog",)), F.TextMatch("heinz")]
    hits = store.search(VectorQuery(np.ones(16), np.ones(8)), clauses, limit=10)
    assert hits and store.count(clauses) == sum(all(passes(d, c) for c in clauses) for d in docs)
    (found,) = [v for k, v in snap.masks.items() if list(k) == clauses]
    assert found._mask is None


def test_vectors_of_hits_equal_the_stored_vectors(filled):
    """Item 3: the events step reads the hits' CLIP vectors by the rows in hand (``vectors_of``), the same vectors
    ``get(with_vectors=True)`` gives; a missing vector is None, an unknown id left out."""
    store, docs = filled
    hits = store.search(VectorQuery(np.ones(16), np.ones(8)), [F.TextMatch("coffee")], limit=60)
    ids = [h.image_id for h in hits] + ["no-such-image"]
    no_clip = next(d["image_id"] for d in docs if d["clip_vec"] is None)
    got = store.vectors_of(ids + [no_clip], "clip_vec")
    assert list(got) == ids[:-1] + [no_clip] and got[no_clip] is None
    want = {d["image_id"]: d.get("clip_vec") for d in store.get(ids, with_vectors=True)}
    for i in ids[:-1]:
        raw = next(d["clip_vec"] for d in docs if d["image_id"] == i)
        if raw is None:
            assert got[i] is None and want[i] is None
        else:
            np.testing.assert_allclose(got[i], raw / np.linalg.norm(raw), atol=1e-6)
            np.testing.assert_allclose(got[i], want[i], atol=1e-6)


def test_warm_builds_every_per_version_index_before_any_request(tmp_path):
    """Item 4: after ``warm()`` a search with every kind of index-backed filter, a facet and soft place boost builds
    nothing more on the snapshot (the same dicts of indexes, the same derived arrays), and its answer is the
    reference's."""
    from lifeseeker.engine.query.soft import SoftPlace

    docs = corpus(800, seed=4)
    store = lance_store(tmp_path / "s", docs, ann_min_docs=0)
    spent = store.warm()
    assert "snapshot" in spent and all(v >= 0 for v in spent.values())
    snap = store.snapshot()
    keywords, words = dict(snap._keywords), dict(snap._postings)
    derived = {k for k in ("id_rank", "latlon", "local_seconds", "soft_fields") if k in snap.__dict__}
    assert derived == {"id_rank", "latlon", "local_seconds", "soft_fields"}
    assert {"ocr_text", "caption", "capmeta"} <= set(words) and {"tags", "country", "places"} <= {k for k, _ in keywords}
    clauses = [F.Terms("country", ("spain",)), F.TextMatch("coffee"), F.Terms("tags", ("dog", "cup"))]
    vq = VectorQuery(np.ones(16), np.ones(8))
    got = store.search(vq, clauses, limit=20, soft=[SoftPlace("city", ("Malaga",))])
    store.facets(["country", "tags"], clauses)
    store.search(vq, [F.Terms("places", ("Dublin",)), F.TextMatch("bus", ("ocr_text",))], limit=5)
    assert store.snapshot() is snap
    assert snap._keywords == keywords and snap._postings == words  # nothing built inside the requests
    plain = brute_force(docs, vq.clip, vq.tat, vq.weights, clauses, 800)
    assert {h.image_id for h in got} <= {i for i, _ in plain} and len(got) == min(20, len(plain))

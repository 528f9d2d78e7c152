"""The large path of the embedded store: ANN candidates from one index over the fused vectors, then exact fused
rescoring.

Correctness, not timing: recall@100 against the exact path on a 50k synthetic lifelog (the benchmark's generator:
clustered 512-d and 384-d unit vectors in events and topics), filters respected inside the index search, scores of
returned hits exact, and the store switching paths at ``ann_min_docs``.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench.search import Lifelog
from lifeseeker.engine import filters as F
from lifeseeker.engine.store.base import VectorQuery
from lifeseeker.engine.store.lance import AnnIndex, LanceStore, VectorSet, nlist_for

from .synth import corpus, lance_store

N = 50_000
DIMS = {"clip_vec": 512, "capmeta_vec": 384}


@pytest.fixture(scope="module")
def corpus50k():
    life = Lifelog(N, seed=3)
    clip, text = life.vectors(0, N)
    vectors = VectorSet(np.ascontiguousarray(np.hstack([clip, text])), DIMS)
    return life, vectors, AnnIndex.build(vectors)


def _exact_top(vectors: VectorSet, fq, rows: np.ndarray | None, k: int = 100) -> np.ndarray:
    s = vectors.scores(fq, rows)
    top = np.argsort(-s, kind="stable")[:k]
    return top if rows is None else rows[top]


def _ann_top(vectors: VectorSet, ann: AnnIndex, fq, mask, k: int = 100) -> tuple[np.ndarray, np.ndarray]:
    cand = ann.candidates(fq, 1000, 0, mask)  # nprobe 0: the store's default (an eighth of the lists)
    s = vectors.scores(fq, cand)
    order = np.argsort(-s, kind="stable")[:k]
    return cand[order], s[order]


def test_ann_recall_at_100_is_at_least_098_on_50k(corpus50k):
    life, vectors, ann = corpus50k
    assert ann.nlist == nlist_for(N) == 447
    recalls = []
    for k in range(40):
        fq = vectors.prepare(VectorQuery(*life.query(k)))
        want = _exact_top(vectors, fq, None)
        got, _ = _ann_top(vectors, ann, fq, None)
        recalls.append(len(set(got.tolist()) & set(want.tolist())) / 100)
    assert np.mean(recalls) >= 0.98, recalls
    assert min(recalls) >= 0.9, recalls


def test_ann_with_a_filter_keeps_only_passing_rows_and_recall(corpus50k):
    life, vectors, ann = corpus50k
    mask = (np.arange(N) % 5) < 2  # 40 % of the rows, interleaved
    rows = np.flatnonzero(mask)
    recalls = []
    for k in range(20):
        fq = vectors.prepare(VectorQuery(*life.query(100 + k)))
        cand = ann.candidates(fq, 1000, 0, mask)
        assert len(cand) >= 100 and mask[cand].all()
        want = _exact_top(vectors, fq, rows)
        got, _ = _ann_top(vectors, ann, fq, mask)
        recalls.append(len(set(got.tolist()) & set(want.tolist())) / 100)
    assert np.mean(recalls) >= 0.98, recalls


def test_rescored_scores_are_the_exact_fused_formula(corpus50k):
    life, vectors, ann = corpus50k
    q1, q2 = life.query(7)
    w = F.Weights(0.6, 0.4)
    got, scores = _ann_top(vectors, ann, vectors.prepare(VectorQuery(q1, q2, w)), None, k=20)
    M = vectors.matrix.astype(np.float64)
    want = w.iat * M[got, :512] @ (q1 / np.linalg.norm(q1)) + w.tat * M[got, 512:] @ (q2 / np.linalg.norm(q2))
    np.testing.assert_allclose(scores, want, atol=1e-5)


def test_text_only_query_uses_the_text_index_alone(corpus50k):
    life, vectors, ann = corpus50k
    _, q2 = life.query(11)
    fq = vectors.prepare(VectorQuery(None, q2))
    assert list(fq.parts) == ["capmeta_vec"]
    want = _exact_top(vectors, fq, None)
    got, _ = _ann_top(vectors, ann, fq, None)
    assert len(set(got.tolist()) & set(want.tolist())) >= 95


def test_store_switches_to_ann_at_the_threshold_and_respects_filters(tmp_path):
    docs = corpus(3000, seed=5, d_clip=16, d_text=8)
    exact = lance_store(tmp_path / "s", docs, ann_min_docs=0)
    # unstructured random vectors are IVF's worst case: probe more lists than the clustered corpora need
    ann = LanceStore(f"lance://{tmp_path / 's'}", ann_min_docs=1000, ann_candidates=800, ann_nprobe=32)
    rng = np.random.default_rng(0)
    clauses = [F.Terms("country", ("Spain",))]  # about half the rows: above the threshold, so ANN
    for _ in range(5):
        q = VectorQuery(rng.standard_normal(16), rng.standard_normal(8))
        want = exact.search(q, clauses, limit=50)
        got = ann.search(q, clauses, limit=50)
        assert all(h.doc["country"] == "Spain" for h in got)
        assert len({h.image_id for h in got} & {h.image_id for h in want}) >= 45
        by_id = {h.image_id: h.score for h in want}
        for h in got:  # every returned score is the exact fused score
            if h.image_id in by_id:
                assert h.score == pytest.approx(by_id[h.image_id], abs=1e-5)
    assert ann.snapshot().ann is not None  # the large path ran
    assert exact.snapshot().ann is None
    # the ANN index files are cached per table version and reused by another process's store
    v = ann.snapshot().version
    assert sorted(p.name for p in (tmp_path / "s" / ".cache").glob("ann-v*")) == [
        f"ann-v{v}.faiss", f"ann-v{v}.fp.npy", f"ann-v{v}.json"]
    selective = [F.Terms("city", ("Arezzo",)), F.HourRange(8, 10)]  # few rows: exact even on the ANN store
    q = VectorQuery(rng.standard_normal(16), rng.standard_normal(8))
    assert [h.image_id for h in ann.search(q, selective, limit=20)] == \
        [h.image_id for h in exact.search(q, selective, limit=20)]


def test_vector_cache_is_shared_and_rebuilt_after_a_write(tmp_path):
    docs = corpus(500, seed=2, d_clip=16, d_text=8)
    a = lance_store(tmp_path / "s", docs[:300])
    v1 = a.snapshot().version
    assert (tmp_path / "s" / ".cache" / f"vectors-v{v1}.npy").exists()
    b = LanceStore(f"lance://{tmp_path / 's'}")
    assert not b.snapshot().vectors_set.matrix.flags.writeable  # a read-only map of the same file
    np.testing.assert_array_equal(b.snapshot().vectors_set.matrix, a.snapshot().vectors_set.matrix)
    a.upsert(docs[300:])
    v2 = a.snapshot().version
    assert v2 > v1 and a.count() == 500
    names = sorted(p.name for p in (tmp_path / "s" / ".cache").iterdir() if p.name != "lock")
    assert names == [f"scalars-v{v2}.arrow", f"scalars-v{v2}.json", f"vectors-v{v2}.json",
                     f"vectors-v{v2}.npy"]  # the old version's files are gone
    got = a.get([docs[400]["image_id"]], with_vectors=True)[0]
    np.testing.assert_allclose(got["clip_vec"], docs[400]["clip_vec"], atol=1e-6)


def test_ties_at_the_cut_are_broken_by_image_id(tmp_path):
    docs = corpus(200, seed=4, d_clip=16, d_text=8)
    store = lance_store(tmp_path / "s", docs[::-1])  # stored in reverse id order
    hits = store.search(VectorQuery(None, None), limit=10)  # no query vector: every score is 0
    assert [h.image_id for h in hits] == sorted(d["image_id"] for d in docs)[:10]


def _ann_store(path, docs=(), ann_min_docs=1000):
    return lance_store(path, docs, ann_min_docs=ann_min_docs, ann_candidates=800, ann_nprobe=32)


def test_an_appended_version_extends_the_previous_index_and_finds_the_new_rows(tmp_path):
    docs = corpus(3400, seed=6, d_clip=16, d_text=8, missing=0)
    store = _ann_store(tmp_path / "s", docs[:3000])
    q = VectorQuery(docs[3100]["clip_vec"], docs[3100]["capmeta_vec"])
    assert docs[3100]["image_id"] not in [h.image_id for h in store.search(q, limit=10)]
    first = store.snapshot().ann
    assert first.how == "built" and first.n == 3000
    centroids = first.index.quantizer.reconstruct_n(0, first.nlist)

    store.upsert(docs[3000:])  # new photos only: the old rows keep their places and vectors
    hits = store.search(q, limit=10)
    snap = store.snapshot()
    assert snap.ann.how == "extended" and snap.ann.n == 3400
    np.testing.assert_array_equal(snap.ann.index.quantizer.reconstruct_n(0, snap.ann.nlist), centroids)
    assert hits[0].image_id == docs[3100]["image_id"]  # a row added by the extension is found
    # the earlier version's index files are gone once the new one exists
    assert sorted(p.name for p in (tmp_path / "s" / ".cache").glob("ann-v*.faiss")) == [f"ann-v{snap.version}.faiss"]
    # another process loads the cached extended index
    other = _ann_store(tmp_path / "s")
    assert [h.image_id for h in other.search(q, limit=10)] == [h.image_id for h in hits]
    assert other.snapshot().ann.how == "loaded"


def test_a_changed_vector_refills_the_index_without_training(tmp_path):
    docs = corpus(3000, seed=7, d_clip=16, d_text=8, missing=0)
    store = _ann_store(tmp_path / "s", docs)
    store.search(VectorQuery(docs[0]["clip_vec"], None), limit=5)
    centroids = store.snapshot().ann.index.quantizer.reconstruct_n(0, store.snapshot().ann.nlist)
    moved = -np.asarray(docs[2999]["clip_vec"])  # the last row re-encoded: same id, new vector
    store.upsert([dict(docs[2999], clip_vec=moved)])
    hits = store.search(VectorQuery(moved, None), limit=5)
    snap = store.snapshot()
    assert snap.ann.how == "refilled"  # the ids may still line up; the fingerprint of the changed row does not
    np.testing.assert_array_equal(snap.ann.index.quantizer.reconstruct_n(0, snap.ann.nlist), centroids)
    assert hits[0].image_id == docs[2999]["image_id"] and hits[0].iat == pytest.approx(1.0, abs=1e-5)


def test_vectors_re_encoded_by_another_model_retrain_the_index(tmp_path):
    docs = corpus(3000, seed=8, d_clip=16, d_text=8, missing=0)
    store = _ann_store(tmp_path / "s", docs)
    store.search(VectorQuery(docs[0]["clip_vec"], None), limit=5)
    assert store.snapshot().ann.how == "built"
    other = corpus(3000, seed=9, d_clip=16, d_text=8, missing=0)  # same ids, every vector new
    store.upsert([dict(d, clip_vec=o["clip_vec"], capmeta_vec=o["capmeta_vec"]) for d, o in zip(docs, other)])
    hits = store.search(VectorQuery(other[5]["clip_vec"], other[5]["capmeta_vec"]), limit=5)
    assert store.snapshot().ann.how == "built"  # the old centroids describe other data: trained again
    assert hits[0].image_id == docs[5]["image_id"]


def test_a_recreated_table_at_the_same_version_rebuilds_vectors_and_index(tmp_path):
    import shutil

    docs = corpus(1200, seed=10, d_clip=16, d_text=8, missing=0)
    first = _ann_store(tmp_path / "s", docs, ann_min_docs=1)
    first.search(VectorQuery(docs[0]["clip_vec"], None), limit=1)
    v = first.snapshot().version
    first.close()
    shutil.rmtree(tmp_path / "s" / "lifelog.lance")  # the table dropped; its cache files stay behind
    other = corpus(1200, seed=11, d_clip=16, d_text=8, missing=0)  # same ids, new vectors
    second = _ann_store(tmp_path / "s", other, ann_min_docs=1)
    assert second.snapshot().version == v
    for i in (3, 500, 1100):
        hit = second.search(VectorQuery(other[i]["clip_vec"], other[i]["capmeta_vec"]), limit=1)[0]
        assert hit.image_id == other[i]["image_id"] and hit.score == pytest.approx(1.0, abs=1e-5)
    assert second.snapshot().ann.how == "built"  # not the dropped table's index
    np.testing.assert_allclose(second.get([other[7]["image_id"]], with_vectors=True)[0]["clip_vec"],
                               other[7]["clip_vec"], atol=1e-6)


def test_cached_files_are_used_when_the_cache_lock_cannot_be_opened(tmp_path):
    docs = corpus(1200, seed=12, d_clip=16, d_text=8, missing=0)
    store = _ann_store(tmp_path / "s", docs, ann_min_docs=1)
    q = VectorQuery(docs[9]["clip_vec"], docs[9]["capmeta_vec"])
    want = [h.image_id for h in store.search(q, limit=5)]
    lock = tmp_path / "s" / ".cache" / "lock"
    lock.unlink()
    lock.mkdir()  # opening it for writing fails, as on a read-only store
    reader = _ann_store(tmp_path / "s", ann_min_docs=1)
    assert [h.image_id for h in reader.search(q, limit=5)] == want
    assert reader.snapshot().ann.how == "loaded"  # the valid cached index, not one rebuilt in memory

"""A tiny store with the ANN threshold set low never crashes (issue 16, item 13, the embedded-store part): faiss
cannot train an IVF index on fewer points than lists (faiss/Clustering.cpp requires ``nx >= k``), so such a table
is scored exactly, and any faiss failure falls back to exact scoring.

Before (main at b3807a8): ``ann_min_docs=1`` on a 3-document store raised faiss's RuntimeError "Number of training
points (3) should be at least as large as number of clusters (16)" from ``prepare()`` / the ANN path.
"""

from __future__ import annotations

import numpy as np
import pytest

from lifeseeker.engine.store import open_store
from lifeseeker.engine.store.base import VectorQuery
from lifeseeker.engine.store.lance import store as lance_store


def _fill(url: str, n: int, ann_min_docs: int):
    store = open_store(url, ann_min_docs=ann_min_docs)
    store.ensure_schema({"clip_vec": 8, "capmeta_vec": 4})
    rng = np.random.default_rng(n)
    store.upsert([{"image_id": f"i{k:04d}", "collection": "c", "path": f"{k}.jpg",
                   "clip_vec": rng.normal(size=8).astype(np.float32),
                   "capmeta_vec": rng.normal(size=4).astype(np.float32)} for k in range(n)])
    return store


@pytest.mark.parametrize("n", [1, 3, 40, 700])
def test_low_ann_threshold_on_a_tiny_store_gives_the_exact_ranking(tmp_path, n, monkeypatch):
    url = f"lance://{tmp_path / 'store'}"
    exact = _fill(url, n, 0)
    q = VectorQuery(np.linspace(-1, 1, 8).astype(np.float32), np.linspace(1, -1, 4).astype(np.float32))
    want = [(h.image_id, round(h.score, 5)) for h in exact.search(q, limit=10)]
    exact.close()
    if n >= lance_store.MIN_TRAIN_ROWS:  # large enough to train: make faiss fail anyway
        def broken(*_a, **_k):
            raise RuntimeError("faiss: simulated training failure")
        monkeypatch.setattr(lance_store, "ann_for", broken)
    low = open_store(url, ann_min_docs=1)
    low.prepare()  # main: raised faiss's RuntimeError for n < 16
    got = [(h.image_id, round(h.score, 5)) for h in low.search(q, limit=10)]
    assert got == want and len(got) == min(n, 10)

"""The large path of the embedded store: one faiss IVF index over the fused vectors, and its life in the cache.

From ``ann_min_docs`` passing rows (``Settings``, ``LIFESEEKER_ANN_MIN_DOCS``), one faiss IVF index over the fused
rows ``[C | T]`` (inner product, 8-bit scalar quantised codes; the fused score is itself an inner product, so the
index ranks by the score being computed) gives ``ann_candidates`` candidates among the passing rows (the filter goes
inside the index search as a bitmap, with ``nprobe`` scaled by 1/selectivity), which the store rescores exactly:
scores of returned hits are exact, only membership of the top-k is approximate (recall@100 >= 0.98 in
``tests/test_ann.py``).

The index of a table version is cached as ``ann-v<N>.faiss`` (memory-mapped), made by extending or refilling an
earlier version's index when it can (``make_ann``) and trained from scratch otherwise.
"""

from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .cache import Cache, cache_version, ids_digest, read_json, write_json
from .vectors import FusedQuery, VectorSet

if TYPE_CHECKING:
    from .snapshot import Snapshot

log = logging.getLogger(__name__)

AUTO_NPROBE_FRACTION = 1 / 8  # share of IVF lists probed by default (recall@100 0.99 at 1M, 0.93 at 1/32)
# fewest rows an index is trained on: faiss k-means requires at least one point per list (faiss/Clustering.cpp:
# ``nx >= k``) and nlist_for gives at least 16 lists, so a smaller table is scored exactly (LanceStore._ann). Below
# 39 points per list (ClusteringParameters::min_points_per_centroid) faiss only warns: the lists are coarser, and
# every candidate is rescored exactly anyway.
MIN_TRAIN_ROWS = 16
REUSE_TRAINING_SHARE = 0.5  # an earlier ANN training is reused while at least this share of rows is unchanged


def nlist_for(n: int) -> int:
    """Number of IVF lists for ``n`` vectors: ``2 * sqrt(n)`` clamped to [16, 4096] (faiss guidelines: 4-16 sqrt(n)
    for IVF-flat; fewer lists here because every candidate is rescored exactly)."""
    return int(min(4096, max(16, round(2 * math.sqrt(max(n, 1))))))


class AnnIndex:
    """One faiss IVF index over the fused matrix ``[C | T]`` of a VectorSet, inner product, 8-bit scalar quantised
    codes (a quarter of float32), row numbers as ids.

    The fused score is itself an inner product, ``score = [C | T] @ [W_IaT q_clip | W_TaT q_tat]``, so one index
    over the fused rows ranks candidates by the very score being computed, for any weights (a text-only query is
    the same product with the image half zero). Versus one index per field whose candidates are unioned, this
    probes half the codes for the same recall (BENCHMARKS.md, "ANN parameters at 1M").

    Args:
        index: trained and filled ``faiss.IndexIVFScalarQuantizer`` of width D holding rows 0..n-1.
        n: number of rows.
        how: how it was made: ``built`` (trained here), ``extended`` or ``refilled`` (from an earlier version's
            index, see ``make_ann``), ``loaded`` (read from the cache).
    """

    def __init__(self, index: Any, n: int, how: str = "built"):
        self.index = index
        self.n = n
        self.how = how

    @property
    def nlist(self) -> int:
        return int(self.index.nlist)

    @classmethod
    def build(cls, vectors: VectorSet, *, nlist: int | None = None, train_rows: int | None = None,
              seed: int = 0) -> "AnnIndex":
        """Train (k-means on ``train_rows`` sampled rows, default ``min(n, 64 * nlist)``) and fill the index.
        Cost at 1M rows x 896 on 2 cores: ~50 s training, ~30 s adding."""
        import faiss

        nlist = nlist or nlist_for(vectors.n)
        rng = np.random.default_rng(seed)
        take = min(vectors.n, train_rows or 64 * nlist)
        sample = np.sort(rng.choice(vectors.n, size=take, replace=False))
        d = vectors.matrix.shape[1]
        quantizer = faiss.IndexFlatIP(d)
        index = faiss.IndexIVFScalarQuantizer(quantizer, d, nlist, faiss.ScalarQuantizer.QT_8bit,
                                              faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed
        index.train(np.ascontiguousarray(vectors.matrix[sample]))
        for at in range(0, vectors.n, 65536):
            index.add(np.ascontiguousarray(vectors.matrix[at:at + 65536]))
        return cls(index, vectors.n)

    def candidates(self, fq: FusedQuery, k: int, nprobe: int, mask: np.ndarray | None = None) -> np.ndarray:
        """Sorted row numbers (int64, at most ``k``): the approximate top-``k`` by fused score among rows passing
        ``mask`` ((n,) bool; None = all). ``nprobe`` lists are probed (0 = auto: ``AUTO_NPROBE_FRACTION`` of the
        lists), times ``n / passing`` under a mask (at most every list); the filter is applied inside the index
        search (a bitmap selector), so every candidate passes it."""
        import faiss

        if nprobe <= 0:  # auto: an eighth of the lists (recall@100 >= 0.98 at 50k and 1M in BENCHMARKS.md)
            nprobe = max(1, math.ceil(self.nlist * AUTO_NPROBE_FRACTION))
        bits = sel = None
        if mask is not None:
            passing = int(mask.sum())
            if passing == 0:
                return np.zeros(0, dtype=np.int64)
            nprobe = int(math.ceil(nprobe * self.n / passing))
            bits = np.packbits(mask, bitorder="little")
            sel = faiss.IDSelectorBitmap(self.n, faiss.swig_ptr(bits))
        params = faiss.SearchParametersIVF(nprobe=int(min(self.nlist, nprobe)), sel=sel)
        _, ids = self.index.search(fq.q.reshape(1, -1), int(min(k, self.n)), params=params)
        del bits  # the selector reads it during search only
        return np.sort(ids[0][ids[0] >= 0]).astype(np.int64)

    def save(self, path: Path) -> None:
        """Write the index to ``path`` (atomically: a temporary file, then a rename)."""
        import faiss

        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        faiss.write_index(self.index, str(tmp))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, n: int, d: int) -> "AnnIndex | None":
        """Read what ``save`` wrote (memory-mapped where faiss can), or None when it is missing, unreadable or not
        an index of ``n`` rows of width ``d``."""
        import faiss

        if not path.exists():
            return None
        try:
            index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
        except RuntimeError:
            try:
                index = faiss.read_index(str(path))
            except RuntimeError as exc:
                log.warning("ignoring unreadable ANN index %s: %s", path, exc)
                return None
        if index.ntotal != n or index.d != d:
            return None
        return cls(index, n, how="loaded")


def _fingerprints(matrix: np.ndarray, block: int = 8192) -> np.ndarray:
    """(n,) uint64: a hash of each row's bytes (the float32 bit patterns as integers, times fixed random odd
    multipliers, summed modulo 2**64: exact integer arithmetic, so the same row always gives the same value and a
    changed row almost surely another). Computed in blocks so a memory-mapped matrix is read once."""
    k = np.random.default_rng(0).integers(1, 2**63, size=matrix.shape[1], dtype=np.uint64) | np.uint64(1)
    out = np.empty(matrix.shape[0], dtype=np.uint64)
    for at in range(0, matrix.shape[0], block):
        bits = np.ascontiguousarray(matrix[at:at + block]).view(np.uint32).astype(np.uint64)
        out[at:at + block] = (bits * k).sum(axis=1, dtype=np.uint64)
    return out


def ann_for(cache: Cache, snap: Snapshot) -> AnnIndex:
    """The ANN index of ``snap``: loaded from the cache (memory-mapped) when its description matches the snapshot,
    or made by ``make_ann`` (and cached) otherwise, all under the cache's file lock. A cache that cannot be written
    gives an index built in memory, with a warning. The caller holds its own thread lock and memoises the index
    on the snapshot."""
    path = cache.dir / f"ann-v{snap.version}.faiss"
    d = snap.vectors_set.matrix.shape[1]
    try:
        with cache.file_lock():
            ann = AnnIndex.load(path, snap.n, d) if _meta_matches(cache, snap) else None
            if ann is None:
                ann = make_ann(cache, snap, path)
                loaded = AnnIndex.load(path, snap.n, d)  # the mapped copy, shared
                if loaded is not None:
                    loaded.how = ann.how
                    ann = loaded
    except OSError as exc:
        log.warning("cannot cache the ANN index under %s (%s); building it in memory", cache.dir, exc)
        ann = AnnIndex.build(snap.vectors_set)
    return ann


def _meta_matches(cache: Cache, snap: Snapshot) -> bool:
    """Whether ``ann-v<version>.json`` describes this snapshot's table (manifest identity, rows, ids): an index
    left by a dropped table that reached the same version number is not this table's."""
    meta = read_json(cache.dir / f"ann-v{snap.version}.json")
    if meta is None:
        return False
    return (meta.get("manifest") == cache.manifest_identity(snap.version) and meta.get("n") == snap.n
            and meta.get("ids") == snap.ids_digest)


def make_ann(cache: Cache, snap: Snapshot, path: Path) -> AnnIndex:
    """Make, save and describe (``ann-v<version>.json``) the ANN index of ``snap``, reusing the newest earlier
    version's index when it can:

    * ``extended``: the earlier version's rows are this version's first rows, unchanged (same ids in the same
      order, same vector fingerprints): its index is copied and only the new rows are added (an ingest that
      appends photos; seconds at 1M instead of ~80 s);
    * ``refilled``: rows changed, but the earlier training still fits (same width, at most twice the rows it
      was trained on, and at least ``REUSE_TRAINING_SHARE`` of this version's rows unchanged, so the centroids
      still describe the data: a re-encoding with another model retrains): its lists are emptied and every
      row is added again, without k-means (~30 s at 1M);
    * ``built``: trained and filled from scratch (``AnnIndex.build``).

    Row fingerprints (``ann-v<version>.fp.npy``, (n,) uint64, ``_fingerprints``) hash each row's bytes: a row
    whose vector changed gets another fingerprint."""
    import faiss

    t0 = time.perf_counter()
    vectors = snap.vectors_set
    fp = _fingerprints(vectors.matrix)
    prev = _previous_ann(cache, snap.version, vectors.matrix.shape[1])
    trained_n = snap.n
    ann = None
    prev_fp = np.load(prev["fp"]) if prev is not None else None
    if (prev is not None and snap.n <= 2 * prev["trained_n"]
            and np.isin(fp, prev_fp).mean() >= REUSE_TRAINING_SHARE):
        index = faiss.read_index(str(prev["path"]))  # an in-memory copy (a mapped index cannot grow)
        m = prev["n"]
        trained_n = prev["trained_n"]
        if m <= snap.n and ids_digest(snap.id_col, m) == prev["ids"] and np.array_equal(prev_fp, fp[:m]):
            how, start = "extended", m
        else:
            how, start = "refilled", 0
            index.reset()
        for at in range(start, snap.n, 65536):
            index.add(np.ascontiguousarray(vectors.matrix[at:min(snap.n, at + 65536)]))
        ann = AnnIndex(index, snap.n, how=how)
    if ann is None:
        ann = AnnIndex.build(vectors)
    ann.save(path)
    fp_path = path.with_name(f"ann-v{snap.version}.fp.npy")
    tmp = fp_path.with_name(f"{fp_path.name}.{os.getpid()}.tmp.npy")
    np.save(tmp, fp)
    os.replace(tmp, fp_path)
    write_json(path.with_suffix(".json"), {"n": snap.n, "d": vectors.matrix.shape[1], "ids": snap.ids_digest,
                                           "trained_n": trained_n,
                                           "manifest": cache.manifest_identity(snap.version)})
    cache.prune(snap.version, ("ann-v",))
    log.info("ANN index v%s (%d rows): %s in %.1fs", snap.version, snap.n, ann.how, time.perf_counter() - t0)
    return ann


def _previous_ann(cache: Cache, version: int, d: int) -> dict[str, Any] | None:
    """The newest cached ANN index of a version before ``version`` with width ``d``: its meta (``n``, ``ids``
    digest, ``trained_n``) plus ``path`` and ``fp`` (fingerprint file), or None."""
    found = []
    for p in cache.dir.glob("ann-v*.json"):
        v = cache_version(p.name)
        if v is not None and v < version:
            found.append((v, p))
    for v, p in sorted(found, reverse=True):
        meta = read_json(p)
        if meta is None:
            continue
        index, fp = p.with_suffix(".faiss"), p.with_name(f"ann-v{v}.fp.npy")
        if meta.get("d") == d and index.exists() and fp.exists():
            return {**meta, "path": index, "fp": fp}
    return None

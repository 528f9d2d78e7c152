"""The embedded default store: LanceDB on disk, no server.

Storage is one LanceDB table (``lifelog``) whose columns derive from ``mappings/lifelog.json``; upserts are
``merge_insert`` on ``image_id`` (idempotent). Searching reads a columnar snapshot of one table version (Arrow
columns without the vectors, plus one matrix of L2-normalised float32 vectors), refreshed when the table version
changes, and then:

* each filter clause compiles to a boolean mask over the snapshot's columns with Arrow compute kernels or numpy;
  values travel as typed scalars and are never spliced into query text, so no value can change a query's shape.
  The rows passing a filter list are cached per snapshot (``count`` after ``search`` costs nothing);
* the fused score is one matrix-vector product: the vectors of all fields sit side by side in one
  ``(n, d_clip + d_text)`` C-contiguous float32 matrix ``M = [C | T]`` and the query is ``[W_IaT q_clip | W_TaT
  q_tat]``, so ``score = M[rows] @ q = W_IaT * C[rows] @ q_clip + W_TaT * T[rows] @ q_tat`` in one pass over memory
  (missing vectors are zero rows and contribute 0). Rows passing a filter are scored by the cheapest exact route
  for their share of the table (``_exact_scores``): a contiguous slice as a view, a full product then a pick when
  many pass, a blocked gather (cache-sized blocks, no full copy) when few pass;
* exact path: every passing row is scored. Large path: from ``ann_min_docs`` passing rows (``Settings``,
  ``LIFESEEKER_ANN_MIN_DOCS``), one faiss IVF index over the fused rows ``[C | T]`` (inner product, 8-bit scalar
  quantised codes; the fused score is itself an inner product, so the index ranks by the score being computed)
  gives ``ann_candidates`` candidates among the passing rows (the filter goes inside the index search as a bitmap,
  with ``nprobe`` scaled by 1/selectivity), and they are rescored exactly with the formula above: scores of
  returned hits are exact, only membership of the top-k is approximate (recall@100 >= 0.98 in
  ``tests/test_ann.py``);
* full-text clauses (``TextMatch``) look words up in a per-snapshot inverted index of each text column
  (``_Postings``), built on first use;
* optional soft constraints add their graded boosts to that score before the top-k (``engine/query/soft.py``,
  ``soft_boost``: the one formula both stores compute); ``iat``/``tat`` of a hit stay the raw cosines. On the large
  path the boosts rerank the ANN candidates (chosen by cosine), so a document lifted only by its boosts (at most
  ~0.23) from outside the candidates is missed.

The scalar columns (an Arrow IPC file), the vector matrix and the ANN index are cached per table version under
``<store>/.cache/`` and memory-mapped, so that several processes serving one store (gunicorn workers) share one copy
in the page cache, and a restart reads no LanceDB data and re-normalises no vectors. The first process to need a
version builds the files (under a file lock); older versions' files are removed.

Collections (ingested roots) are kept in ``collections.json`` beside the table.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import math
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property, singledispatch
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ....errors import StoreError
from ...filters import (EARTH_RADIUS_KM, DateRange, Filter, GeoBox, GeoDistance, HourRange, PartOfDay, Terms,
                        TextMatch, Weekdays, tokens)
from ...query.soft import SoftConstraint, SoftPlace, soft_boost
from ...schema import load_schema
from ...text import fold
from ...timeparts import WEEKDAYS
from ..base import VECTOR_FIELDS, Doc, Hit, VectorQuery

log = logging.getLogger(__name__)

TABLE = "lifelog"
REFRESH_SECONDS = 1.0  # how often a reader looks for a newer table version written by another process (~0.3 ms)
CACHE_DIR = ".cache"
GATHER_BLOCK_ROWS = 1024  # rows gathered per block on the exact path (1024 x 896 x 4 B = 3.5 MiB: stays in cache)
FULL_PRODUCT_FRACTION = 0.3  # from this share of rows passing, score every row and pick (cheaper than a gather)
MASK_CACHE_SIZE = 8
AUTO_NPROBE_FRACTION = 1 / 8  # share of IVF lists probed by default (recall@100 0.99 at 1M, 0.93 at 1/32)
REUSE_TRAINING_SHARE = 0.5  # an earlier ANN training is reused while at least this share of rows is unchanged
BLAS_MIN_VALUES = 16_000_000  # from this many matrix values (~18k rows x 896) a product goes to threaded BLAS


def lance_path(url: str) -> Path:
    """``lance:///abs/dir`` or a bare path -> the directory. Raises StoreError for an empty path."""
    raw = url[len("lance://"):] if url.startswith("lance://") else url
    if not raw:
        raise StoreError(f"store URL {url!r} has no path; use lance:///path/to/dir")
    return Path(raw).expanduser().resolve()


# --- vectors: one fused matrix, exact scoring, ANN candidates -------------------------------------------------------


@dataclass(frozen=True)
class FusedQuery:
    """A VectorQuery prepared for one VectorSet.

    Attributes:
        q: (D,) float32, ``[W_IaT * q_clip/|q_clip| | W_TaT * q_tat/|q_tat|]`` (zeros for a missing part).
        parts: field -> (d_field,) float32 unit query vector, only for fields that have a query vector, a
            non-zero width and a non-zero weight (the fields ANN candidates come from).
        units: field -> unit query vector or None (the raw cosines ``iat``/``tat`` of the hits).
    """

    q: np.ndarray
    parts: dict[str, np.ndarray]
    units: dict[str, np.ndarray | None]


class VectorSet:
    """The vectors of all fields side by side: one ``(n, D)`` float32 C-contiguous matrix of L2-normalised rows
    (``D = sum of field widths``, field order ``VECTOR_FIELDS``; missing or zero vectors are zero rows). ``matrix``
    may be a read-only memory map.

    Args:
        matrix: (n, D) float32.
        dims: field -> width, in ``VECTOR_FIELDS`` order, summing to D (0 = field not in use).
    Raises:
        ValueError: the widths do not sum to D or the matrix is not float32 C-contiguous.
    """

    def __init__(self, matrix: np.ndarray, dims: dict[str, int]):
        if matrix.dtype != np.float32 or not matrix.flags.c_contiguous or matrix.ndim != 2:
            raise ValueError("VectorSet needs a 2-d float32 C-contiguous matrix")
        if sum(dims.values()) != matrix.shape[1]:
            raise ValueError(f"field widths {dims} do not sum to the matrix width {matrix.shape[1]}")
        self.matrix = matrix
        self.dims = {name: int(dims.get(name, 0)) for name in VECTOR_FIELDS}
        self.n = matrix.shape[0]
        self.slices: dict[str, slice] = {}
        at = 0
        for name in VECTOR_FIELDS:
            self.slices[name] = slice(at, at + self.dims[name])
            at += self.dims[name]

    def field(self, name: str) -> np.ndarray:
        """(n, d_field) float32 view of one field's unit vectors (strided when there are two fields)."""
        return self.matrix[:, self.slices[name]]

    def prepare(self, query: VectorQuery) -> FusedQuery:
        """The fused query vector of ``query`` for this matrix.

        Raises:
            StoreError: a query vector's width differs from the stored width.
        """
        q = np.zeros(self.matrix.shape[1], dtype=np.float32)
        parts: dict[str, np.ndarray] = {}
        units: dict[str, np.ndarray | None] = {}
        for name, vec, weight in (("clip_vec", query.clip, query.weights.iat),
                                  ("capmeta_vec", query.tat, query.weights.tat)):
            units[name] = None
            if vec is None or self.dims[name] == 0:
                continue
            v = np.asarray(vec, dtype=np.float32).reshape(-1)
            if v.shape[0] != self.dims[name]:
                raise StoreError(f"query vector has {v.shape[0]} dims, the store holds {self.dims[name]}")
            norm = float(np.linalg.norm(v))
            if norm == 0 or not math.isfinite(norm):
                continue
            v = v / norm
            units[name] = v
            q[self.slices[name]] = weight * v
            if weight != 0:
                parts[name] = v
        return FusedQuery(q, parts, units)

    def scores(self, fq: FusedQuery, rows: np.ndarray | None = None) -> np.ndarray:
        """Exact fused scores (float32) of ``rows`` (sorted int64 row numbers; None = every row), in row order.

        Chooses the route by the share of rows: a contiguous run is a view; from ``FULL_PRODUCT_FRACTION`` of the
        table the whole product is computed and the rows picked; below it rows are gathered in cache-sized
        blocks (never a full copy of the selected rows).
        """
        m = self.n if rows is None else len(rows)
        if m == 0:
            return np.zeros(0, dtype=np.float32)
        active = [name for name in VECTOR_FIELDS if fq.units[name] is not None]
        if not active:
            return np.zeros(m, dtype=np.float32)
        if len(active) == 1:  # one field: read only its columns (a strided view)
            sl = self.slices[active[0]]
            matrix, q = self.matrix[:, sl], fq.q[sl]
        else:
            matrix, q = self.matrix, fq.q
        if rows is None:
            return _matvec(matrix, q)
        if int(rows[-1]) - int(rows[0]) + 1 == m:
            return _matvec(matrix[int(rows[0]):int(rows[-1]) + 1], q)
        if m >= FULL_PRODUCT_FRACTION * self.n:
            return _matvec(matrix, q)[rows]
        out = np.empty(m, dtype=np.float32)
        block = np.empty((min(GATHER_BLOCK_ROWS, m), matrix.shape[1]), dtype=np.float32)
        with single_thread_blas():
            for at in range(0, m, GATHER_BLOCK_ROWS):
                idx = rows[at:at + GATHER_BLOCK_ROWS]
                buf = block[:len(idx)]
                np.take(matrix, idx, axis=0, out=buf, mode="clip")  # rows are valid; "raise" would buffer a copy
                np.matmul(buf, q, out=out[at:at + len(idx)])
        return out

    def cosines(self, fq: FusedQuery, name: str, rows: np.ndarray) -> np.ndarray:
        """Raw cosines (float32) of field ``name`` for ``rows`` (0 without a query vector)."""
        unit = fq.units[name]
        if unit is None:
            return np.zeros(len(rows), dtype=np.float32)
        return np.einsum("ij,j->i", self.matrix[rows][:, self.slices[name]], unit)


def _matvec(matrix: np.ndarray, q: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``matrix @ q`` (float32, into ``out`` when given): BLAS GEMV, on numpy's BLAS threads for large products and
    on one thread below ``BLAS_MIN_VALUES`` values. On a loaded machine OpenBLAS's threaded GEMV stalls on small
    inputs (a 1024 x 896 block: 0.1 ms on one thread, ~40 ms with two threads when the cores are busy), while for
    large products its threads add memory bandwidth. Single-threaded BLAS is ~4x faster than ``einsum`` here
    (1035 x 896: 0.06 ms against 0.23 ms)."""
    if matrix.shape[0] * matrix.shape[1] >= BLAS_MIN_VALUES:
        return np.matmul(matrix, q, out=out)
    with single_thread_blas():
        return np.matmul(matrix, q, out=out)


def numpy_blas_libs() -> list:
    """threadpoolctl controllers of the BLAS libraries numpy itself uses: those shipped in numpy's wheel
    (``numpy.libs``; faiss and scipy bring their own), or every BLAS loaded when numpy links a system one. Looked up
    once per process (numpy's BLAS is loaded with numpy, so the list cannot grow)."""
    global _NUMPY_BLAS
    if _NUMPY_BLAS is None or _NUMPY_BLAS[0] != os.getpid():
        from threadpoolctl import ThreadpoolController

        libs = list(ThreadpoolController().select(user_api="blas").lib_controllers)
        own = [lib for lib in libs if "numpy" in Path(lib.filepath).parent.name]
        _NUMPY_BLAS = (os.getpid(), own or libs)
    return _NUMPY_BLAS[1]


_NUMPY_BLAS: tuple[int, list] | None = None


class single_thread_blas:
    """Context manager: numpy's BLAS (``numpy_blas_libs``) on one thread inside, its previous thread count restored
    on exit. Switching is a direct call into the library (microseconds), unlike
    ``threadpoolctl.threadpool_limits`` (~70 us per use). Not for concurrent threads: another thread's product
    inside the block also runs on one thread (slower, still right)."""

    def __enter__(self) -> "single_thread_blas":
        self._saved = [(lib, lib.num_threads) for lib in numpy_blas_libs()]
        for lib, n in self._saved:
            if n != 1:
                lib.set_num_threads(1)
        return self

    def __exit__(self, *exc: object) -> None:
        for lib, n in self._saved:
            if n != 1:
                lib.set_num_threads(n)


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
            index, see ``LanceStore._make_ann``), ``loaded`` (read from the cache).
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


def top_k(score: np.ndarray, k: int, id_rank) -> np.ndarray:
    """Positions of the ``k`` best of ``score`` (float, length m), best first, ties broken by image_id ascending.

    Exact under ties at the k-th value: every position tied with the k-th score takes part in the tie-break.
    ``id_rank`` is a callable giving, for positions, an integer rank consistent with image_id order (only called
    on the candidate positions)."""
    m = len(score)
    k = min(k, m)
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    if k < m:
        part = np.argpartition(-score, k - 1)[:k]
        kth = score[part].min()
        if np.count_nonzero(score >= kth) > k:  # ties straddle the cut: take every tied position
            part = np.flatnonzero(score >= kth)
    else:
        part = np.arange(m)
    order = part[np.lexsort((id_rank(part), -score[part]))]
    return order[:k]


# --- the snapshot ----------------------------------------------------------------------------------------------------


class _Snapshot:
    """An immutable columnar view of one table version (scalar columns as Arrow, vectors as a VectorSet), with
    derived arrays built lazily and cached."""

    def __init__(self, table: pa.Table, version: int, vectors: VectorSet, ids_digest: str = ""):
        self.version = version
        self.ids_digest = ids_digest  # _ids_digest of the image ids in row order (ties cache files to this order)
        self.n = table.num_rows
        self.vectors_set = vectors
        self.vectors: dict[str, np.ndarray] = {name: vectors.field(name) for name in VECTOR_FIELDS}
        # one chunk per column: taking the k hits' rows from a table of many scan batches costs ~100 ms at 100k
        self.table = table.drop_columns([c for c in VECTOR_FIELDS if c in table.column_names]).combine_chunks()
        self._columns: dict[str, pa.Array] = {}
        self._encoded: dict[tuple[str, bool], tuple[np.ndarray, np.ndarray, list[str]]] = {}
        self._raw_values: dict[tuple[str, bool], list[Any]] = {}
        self.ann: AnnIndex | None = None
        self.masks: OrderedDict[Any, tuple[np.ndarray, np.ndarray]] = OrderedDict()

    @property
    def id_col(self) -> pa.Array:
        """The image ids as one Arrow string array (memory-mapped with the other columns, no Python strings)."""
        return self.column("image_id")

    @cached_property
    def ids(self) -> np.ndarray:
        """(n,) object array of the image ids as Python strings (~100 B per row per process: the store's own paths
        use ``id_col`` and the sorted order instead; kept for callers that want the array)."""
        return np.asarray(self.id_col.to_pylist(), dtype=object)

    @cached_property
    def id_order(self) -> np.ndarray:
        """(n,) int64: rows in ascending image_id order (Arrow's sort: UTF-8 byte order = code point order)."""
        return np.asarray(pc.sort_indices(self.id_col), dtype=np.int64)

    @cached_property
    def id_rank(self) -> np.ndarray:
        """(n,) int64: rank of each row's image_id in ascending id order (tie-breaks without string compares)."""
        rank = np.empty(self.n, dtype=np.int64)
        rank[self.id_order] = np.arange(self.n)
        return rank

    def rank_of(self, rows: np.ndarray) -> np.ndarray:
        """Ranks consistent with image_id order for ``rows``: sorting their ids when few, the cached ranks when
        many."""
        if len(rows) <= 4096 and "id_rank" not in self.__dict__:
            order = np.asarray(pc.sort_indices(self.id_col.take(pa.array(rows, pa.int64()))), dtype=np.int64)
            rank = np.empty(len(rows), dtype=np.int64)
            rank[order] = np.arange(len(rows))
            return rank
        return self.id_rank[rows]

    def ids_at(self, rows: np.ndarray) -> list[str]:
        """The image ids of ``rows`` (int row numbers)."""
        return self.id_col.take(pa.array(np.asarray(rows, dtype=np.int64))).to_pylist()

    def row_of(self, image_id: str) -> int | None:
        """The row holding ``image_id``, or None: a binary search over ``id_order`` (~20 string compares)."""
        order, col = self.id_order, self.id_col
        lo, hi = 0, len(order)
        while lo < hi:
            mid = (lo + hi) // 2
            if col[int(order[mid])].as_py() < image_id:
                lo = mid + 1
            else:
                hi = mid
        if lo < len(order) and col[int(order[lo])].as_py() == image_id:
            return int(order[lo])
        return None

    @cached_property
    def latlon(self) -> tuple[np.ndarray, np.ndarray]:
        loc = self.column("location")
        valid = np.asarray(loc.is_valid())
        lat = np.where(valid, loc.field("lat").to_numpy(zero_copy_only=False), np.nan)
        lon = np.where(valid, loc.field("lon").to_numpy(zero_copy_only=False), np.nan)
        return lat.astype(np.float64), lon.astype(np.float64)

    @cached_property
    def local_seconds(self) -> np.ndarray:
        """local_time as int64 seconds since 1970 (wall clock); missing -> INT64 min."""
        col = self.column("local_time").cast(pa.int64())
        return np.asarray(col.fill_null(np.iinfo(np.int64).min))

    def column(self, name: str) -> pa.Array:
        """One column as a single Arrow array (combined once per snapshot)."""
        col = self._columns.get(name)
        if col is None:
            col = self._columns[name] = self.table.column(name).combine_chunks()
        return col

    @cached_property
    def soft_fields(self) -> dict[str, np.ndarray]:
        """Per-row float64 arrays for ``soft_boost`` (NaN = missing): ``day`` (local date, days since 1970-01-01),
        ``month``, ``weekday`` (0 = Mon), ``minute_of_day``, ``lat``, ``lon``."""
        def floats(arr: pa.Array) -> np.ndarray:
            return np.asarray(pc.cast(arr, pa.float64()).fill_null(np.nan), dtype=np.float64)

        days = pc.cast(pc.cast(self.column("date"), pa.date32()), pa.int32())
        weekday = pc.index_in(self.column("weekday"), value_set=pa.array(list(WEEKDAYS)))
        lat, lon = self.latlon
        return {"day": floats(days), "month": floats(self.column("month")), "weekday": floats(weekday),
                "minute_of_day": floats(self.column("minute_of_day")), "lat": lat, "lon": lon}

    def _encoding(self, name: str, folding: bool) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """A keyword column as an inverted index, built once per snapshot: (rows, starts, normalised dictionary
        values). The rows holding dictionary value ``c`` (or, for array fields, an element equal to it) are
        ``rows[starts[c]:starts[c + 1]]`` (int32; a row repeats when an array holds the value twice), so a filter
        tests each distinct value once and then touches only the matching rows."""
        key = (name, folding)
        enc = self._encoded.get(key)
        if enc is None:
            col = self.column(name)
            owner = None
            if pa.types.is_list(col.type):
                owner = np.asarray(pc.list_parent_indices(col), dtype=np.int32)
                col = pc.list_flatten(col)
            encoded = pc.dictionary_encode(col)
            codes = np.asarray(encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
            rows, starts = _invert(codes, len(encoded.dictionary), owner)
            norm = fold if folding else str
            raw = encoded.dictionary.to_pylist()
            enc = self._encoded[key] = (rows, starts, [norm(v) for v in raw])
            self._raw_values[key] = raw
        return enc

    def folded_counts(self, name: str, mask: np.ndarray) -> list[tuple[str, int]]:
        """Facet counts of keyword ``name`` with the folding normalizer among rows passing ``mask``: one bucket per
        folded value ("Spain", "SPAIN", "spain" are one), counting documents (a row whose array holds two spellings
        of one value counts once), shown in its most frequent spelling among the passing rows (ties: the smallest).
        Unsorted ``(shown, count)`` pairs; the same buckets as Elasticsearch's ``terms`` aggregation on the folded
        keyword."""
        rows, starts, normed = self._encoding(name, True)
        raw = self._raw_values[(name, True)]
        key = "\0facet:" + name
        prep = self._columns.get(key)
        if prep is None:
            groups: dict[str, int] = {}
            group_of_code = np.array([groups.setdefault(v, len(groups)) for v in normed], dtype=np.int64)
            posting_rows = rows[starts[0]:starts[-1]]
            code = np.repeat(np.arange(len(normed)), np.diff(starts))
            group = group_of_code[code]
            order = np.lexsort((posting_rows, group))  # (group, row) pairs in order: repeats sit side by side
            repeat = np.zeros(len(group), dtype=bool)
            same = (group[order][1:] == group[order][:-1]) & (posting_rows[order][1:] == posting_rows[order][:-1])
            repeat[order[1:][same]] = True
            prep = self._columns[key] = (posting_rows, code, group, repeat, group_of_code, len(groups))
        posting_rows, code, group, repeat, group_of_code, n_groups = prep
        passing = mask[posting_rows]
        counts = np.bincount(group[passing & ~repeat], minlength=n_groups)
        per_code = np.bincount(code[passing], minlength=len(normed))
        shown: dict[int, tuple[int, str]] = {}
        for c in np.flatnonzero(per_code):
            g = int(group_of_code[c])
            best = shown.get(g)
            cand = (-int(per_code[c]), str(raw[c]))
            if best is None or cand < best:
                shown[g] = cand
        return [(spelling, int(counts[g])) for g, (_, spelling) in shown.items()]

    def folded_in(self, name: str, values: Sequence[str], folding: bool = True) -> np.ndarray:
        """(n,) bool: rows whose keyword ``name`` (or any element, for array fields) folds to one of ``values``
        (equals one of them when ``folding`` is False)."""
        rows, starts, normed = self._encoding(name, folding)
        norm = fold if folding else str
        wanted = {norm(v) for v in values}
        mask = np.zeros(self.n, dtype=bool)
        for c, v in enumerate(normed):
            if v in wanted:
                mask[rows[starts[c]:starts[c + 1]]] = True
        return mask

    def postings(self, name: str) -> "_Postings":
        """The word index of text field ``name``, built once per snapshot (see ``_Postings``)."""
        key = "\0postings:" + name
        index = self._columns.get(key)
        if index is None:
            with _BUILD_LOCK:
                index = self._columns.get(key)
                if index is None:
                    t0 = time.perf_counter()
                    index = self._columns[key] = _Postings.build(self.column(name))
                    log.info("word index of %s: %d rows, %d words in %.2fs", name, self.n, len(index.words),
                             time.perf_counter() - t0)
        return index

    def word_in(self, name: str, tok: str) -> np.ndarray:
        """(n,) bool: rows whose text field ``name`` holds ``tok`` (a ``tokens()`` word: case-folded letters and
        digits) as a whole word (a word boundary is any character that is not a letter or digit)."""
        out = np.zeros(self.n, dtype=bool)
        out[self.postings(name).rows(tok)] = True
        return out


_BUILD_LOCK = threading.Lock()


def _invert(keys: np.ndarray, n_keys: int, rows: np.ndarray | None = None, unique: bool = False
            ) -> tuple[np.ndarray, np.ndarray]:
    """Inverted lists from one key per posting: (int32 rows grouped by key, int64 starts of shape (n_keys + 1,)),
    the rows of key ``k`` being ``out[starts[k]:starts[k + 1]]``, in their input order (a stable sort).

    Args:
        keys: (m,) int key of each posting, 0..n_keys-1; -1 = no key (left out).
        n_keys: number of keys.
        rows: (m,) row of each posting, ascending (default: the posting's position).
        unique: keep each (key, row) pair once.
    """
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    out = order if rows is None else rows[order]
    if unique and len(keys):
        first = np.ones(len(keys), dtype=bool)
        first[1:] = (keys[1:] != keys[:-1]) | (out[1:] != out[:-1])
        keys, out = keys[first], out[first]
    starts = np.searchsorted(keys, np.arange(n_keys + 1)).astype(np.int64)
    return np.ascontiguousarray(out, dtype=np.int32), starts


class _Postings:
    """An inverted index of one text column: for each word, the sorted rows holding it.

    Words are made exactly as ``filters.tokens`` makes them from a query: the text is case-folded first
    (``str.casefold``: full case folding, "İ" -> "i" + U+0307, "ß" -> "ss"), then split into runs of Unicode
    letters/digits (``\\pL``, ``\\pN``), so ``TextMatch`` is a dictionary lookup, not a scan. ASCII rows are
    lower-cased by Arrow (identical to casefold there), the others by Python. Built with Arrow kernels (regex split,
    dictionary-encode) and one stable sort: ~1 s per million short captions here. Characters assigned after the
    Unicode version of Python's ``unicodedata`` may be classed differently by Arrow's tables.

    Attributes:
        words: folded word -> word number.
        starts: (n_words + 1,) int64; rows of word w are ``row_ids[starts[w]:starts[w + 1]]``.
        row_ids: int32 row numbers, ascending within each word, each row once per word.
    """

    def __init__(self, words: dict[str, int], starts: np.ndarray, row_ids: np.ndarray):
        self.words, self.starts, self.row_ids = words, starts, row_ids

    @classmethod
    def build(cls, col: pa.Array) -> "_Postings":
        """Index ``col`` (string or large_string, nulls allowed)."""
        folded = pc.utf8_lower(col)
        other = pc.invert(pc.fill_null(pc.string_is_ascii(col), True))
        if pc.any(other).as_py():  # full case folding where it differs from lower-casing: Python's
            values = [v.casefold() for v in col.filter(other).to_pylist()]
            folded = pc.replace_with_mask(folded, other, pa.array(values, type=folded.type))
        parts = pc.split_pattern_regex(folded, r"[^\pL\pN]+")
        parents = np.asarray(pc.list_parent_indices(parts), dtype=np.int32)
        encoded = pc.dictionary_encode(pc.list_flatten(parts))
        codes = np.asarray(encoded.indices.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
        words: dict[str, int] = {}
        word_of_code = np.empty(len(encoded.dictionary) + 1, dtype=np.int32)
        for i, value in enumerate(encoded.dictionary.to_pylist()):
            word_of_code[i] = words.setdefault(value, len(words)) if value else -1
        word = word_of_code[codes] if len(codes) else np.zeros(0, dtype=np.int32)  # -1: an empty split piece
        row_ids, starts = _invert(word, len(words), parents, unique=True)
        return cls(words, starts, row_ids)

    def rows(self, word: str) -> np.ndarray:
        """Sorted int32 rows holding ``word`` (already case-folded, as ``tokens()`` gives it)."""
        w = self.words.get(word)
        if w is None:
            return np.zeros(0, dtype=np.int32)
        return self.row_ids[self.starts[w]:self.starts[w + 1]]


def _unit_rows(block: np.ndarray) -> np.ndarray:
    """L2-normalise rows in place (zero rows stay zero); returns ``block``."""
    norms = np.sqrt(np.einsum("ij,ij->i", block, block))[:, None]
    np.divide(block, norms, out=block, where=norms > 0)
    return block


def _vector_block(col: pa.Array, d: int) -> np.ndarray:
    """(len(col), d) float32 from a (fixed-size) list column; nulls -> zero rows."""
    out = np.zeros((len(col), d), dtype=np.float32)
    if d == 0 or len(col) == 0:
        return out
    valid = np.asarray(col.is_valid())
    if valid.any():
        flat = pc.list_flatten(col.filter(pa.array(valid))).to_numpy(zero_copy_only=False)
        out[valid] = flat.astype(np.float32, copy=False).reshape(-1, d)
    return out


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


def _ids_digest(ids: pa.Array, m: int | None = None) -> str:
    """A digest of the first ``m`` (default all) ids of a string array, in order: their byte lengths and bytes."""
    ids = ids if m is None else ids.slice(0, m)
    if len(ids) == 0:
        return hashlib.blake2b(b"", digest_size=16).hexdigest()
    width = np.int64 if pa.types.is_large_string(ids.type) else np.int32
    offsets = np.frombuffer(ids.buffers()[1], dtype=width)[ids.offset:ids.offset + len(ids) + 1].astype(np.int64)
    h = hashlib.blake2b(np.diff(offsets).tobytes(), digest_size=16)
    h.update(memoryview(ids.buffers()[2])[offsets[0]:offsets[-1]])
    return h.hexdigest()


# --- filter compilation: one function per clause ------------------------------------------------------------------


@singledispatch
def compile_mask(clause: Filter, snap: _Snapshot) -> np.ndarray:
    """Boolean (n,) mask of the rows of ``snap`` that pass ``clause``."""
    raise TypeError(f"no LanceStore translation for {type(clause).__name__}")


def _np(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(mask, False))


@compile_mask.register
def _(clause: DateRange, snap: _Snapshot) -> np.ndarray:
    col = snap.column("date")
    mask = pc.is_valid(col)
    if clause.start:
        mask = pc.and_(mask, pc.greater_equal(col, pa.scalar(clause.start.isoformat())))
    if clause.end:
        mask = pc.and_(mask, pc.less_equal(col, pa.scalar(clause.end.isoformat())))
    return _np(mask)


@compile_mask.register
def _(clause: HourRange, snap: _Snapshot) -> np.ndarray:
    return _np(pc.is_in(snap.column("hour"), value_set=pa.array(clause.hours(), pa.int8())))


@compile_mask.register
def _(clause: Weekdays, snap: _Snapshot) -> np.ndarray:
    return _np(pc.is_in(snap.column("weekday"), value_set=pa.array(sorted(clause.days))))


@compile_mask.register
def _(clause: PartOfDay, snap: _Snapshot) -> np.ndarray:
    return _np(pc.is_in(snap.column("part_of_day"), value_set=pa.array(sorted(clause.parts))))


@compile_mask.register
def _(clause: Terms, snap: _Snapshot) -> np.ndarray:
    # fold only where the mapping gives the field the folding normalizer, as Elasticsearch does
    folding = "normalizer" in load_schema().properties[clause.field]
    return snap.folded_in(clause.field, clause.values, folding=folding)


@compile_mask.register
def _(clause: GeoDistance, snap: _Snapshot) -> np.ndarray:
    lat, lon = snap.latlon
    return haversine_km(lat, lon, clause.lat, clause.lon) <= clause.radius_km


@compile_mask.register
def _(clause: GeoBox, snap: _Snapshot) -> np.ndarray:
    lat, lon = snap.latlon
    with np.errstate(invalid="ignore"):
        in_lat = (lat <= clause.top) & (lat >= clause.bottom)
        if clause.left <= clause.right:
            in_lon = (lon >= clause.left) & (lon <= clause.right)
        else:  # crosses the antimeridian
            in_lon = (lon >= clause.left) | (lon <= clause.right)
    return in_lat & in_lon


@compile_mask.register
def _(clause: TextMatch, snap: _Snapshot) -> np.ndarray:
    mask = np.ones(snap.n, dtype=bool)
    for tok in tokens(clause.text):
        any_field = np.zeros(snap.n, dtype=bool)
        for name in clause.fields:
            any_field |= snap.word_in(name, tok)
        mask &= any_field
    return mask


def haversine_km(lat: np.ndarray, lon: np.ndarray, lat0: float, lon0: float) -> np.ndarray:
    """Great-circle distance in km from (lat0, lon0) to each point; NaN inputs give NaN (never within a radius)."""
    p1, p2 = np.radians(lat), np.radians(lat0)
    dphi = p1 - p2
    dlmb = np.radians(lon) - np.radians(lon0)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


# --- the store -------------------------------------------------------------------------------------------------------


class LanceStore:
    """Embedded store at ``lance:///path``. See the module docstring for how search works.

    Args:
        url: ``lance:///abs/dir`` or a bare path.
        ann_min_docs: from this many documents passing the filters, search takes ANN candidates and rescores them
            exactly (0 = always exact). Default: ``Settings.ann_min_docs`` (``LIFESEEKER_ANN_MIN_DOCS``).
        ann_candidates: ANN candidates rescored exactly (at least ``limit``). Default ``Settings.ann_candidates``.
        ann_nprobe: IVF lists probed without a filter (0 = an eighth of the lists). Default
            ``Settings.ann_nprobe``.
    Raises:
        StoreError: the directory cannot be created or read.
    """

    def __init__(self, url: str, *, ann_min_docs: int | None = None, ann_candidates: int | None = None,
                 ann_nprobe: int | None = None):
        from ....config import Settings

        env = Settings.from_env({k: v for k, v in os.environ.items() if k.startswith("LIFESEEKER_ANN_")})
        self.ann_min_docs = env.ann_min_docs if ann_min_docs is None else int(ann_min_docs)
        self.ann_candidates = env.ann_candidates if ann_candidates is None else int(ann_candidates)
        self.ann_nprobe = env.ann_nprobe if ann_nprobe is None else int(ann_nprobe)
        self.path = lance_path(url)
        self.url = f"lance://{self.path}"
        self.schema = load_schema()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot open store at {self.path}: {exc}") from exc
        self._pid: int | None = None  # LanceDB is connected on first use, in the process that uses it
        self._db = None
        self._table = None
        self._snap: _Snapshot | None = None
        self._checked = 0.0
        self._signal: int | None = None
        self._version = -1
        self._lock = threading.RLock()

    def _after_fork(self) -> None:
        """Connect to LanceDB in this process on first use (and again in a forked child).

        LanceDB handles made before a fork are not safe in the child: workers of a gunicorn ``--preload`` master
        that had opened the table crashed in LanceDB's runtime or hung in ``lancedb.connect``
        (bench/search.py's gunicorn run). Connecting lazily keeps a preloading master off LanceDB, so its workers
        start clean; a snapshot already loaded before a fork (numpy/Arrow memory, mapped files) stays shared.

        Raises:
            StoreError: the directory cannot be opened or read as a LanceDB database.
        """
        if self._pid != os.getpid():
            import lancedb

            try:
                self._db = lancedb.connect(str(self.path))
            except OSError as exc:
                raise StoreError(f"cannot open store at {self.path}: {exc}") from exc
            self._pid = os.getpid()
            self._table = self._open_table()
            self._checked = 0.0

    def _open_table(self):
        try:
            names = self._db.list_tables()
            names = getattr(names, "tables", names)
        except Exception as exc:  # noqa: BLE001 - a corrupt directory surfaces here
            raise StoreError(f"cannot read store at {self.path}: {exc}") from exc
        return self._db.open_table(TABLE) if TABLE in names else None

    # -- schema ---------------------------------------------------------------------------------------------------

    def dims(self) -> dict[str, int]:
        """Vector widths of the existing table (``{}`` before ``ensure_schema``)."""
        self._after_fork()
        if self._table is None:
            return {}
        out = {}
        for name in VECTOR_FIELDS:
            t = self._table.schema.field(name).type
            out[name] = t.list_size if pa.types.is_fixed_size_list(t) else 0
        return out

    def ensure_schema(self, dims: dict[str, int]) -> None:
        self._after_fork()
        if self._table is None:
            arrow_schema = self.schema.arrow_schema(dims)
            self._table = self._db.create_table(TABLE, schema=arrow_schema, exist_ok=True)
            return
        have = self.dims()
        for name, want in dims.items():
            if have.get(name) != want:
                raise StoreError(
                    f"store {self.path} holds {name} of width {have.get(name)}, the models in use give {want}: "
                    f"ingest into a new store (--store lance:///other/dir) or use the models it was built with")
        version = (self._table.schema.metadata or {}).get(b"lifeseeker_schema_version", b"?").decode()
        if version != str(self.schema.version):
            raise StoreError(f"store {self.path} has schema version {version}, this lifeseeker uses "
                             f"{self.schema.version}; re-ingest into a new store")

    def row_count(self) -> int:
        """Rows in the table now (LanceDB's count, no snapshot load); 0 before ``ensure_schema``."""
        self._after_fork()
        return 0 if self._table is None else int(self._table.count_rows())

    # -- writing --------------------------------------------------------------------------------------------------

    def upsert(self, docs: Sequence[Doc]) -> int:
        if not docs:
            return 0
        self._after_fork()
        if self._table is None:
            raise StoreError("store has no table yet: call ensure_schema first")
        table = self._to_arrow(docs)
        (self._table.merge_insert("image_id").when_matched_update_all().when_not_matched_insert_all()
         .execute(table, on_bad_vectors="null"))  # a missing vector is stored as null, never filled
        self._checked = 0.0
        return table.num_rows

    def append_arrow(self, table: pa.Table) -> int:
        """Bulk load: add rows whose ``image_id`` is known to be new (no id check, unlike ``upsert``: a repeated
        id would be stored twice). ``table`` holds the mapping's columns (any order; missing ones must be
        nullable and are filled with nulls). Returns the number of rows added.

        Raises:
            StoreError: no table yet, or a column does not convert to the store's type.
        """
        self._after_fork()
        if self._table is None:
            raise StoreError("store has no table yet: call ensure_schema first")
        schema = self._table.schema
        cols = []
        for f in schema:
            if f.name in table.column_names:
                cols.append(table.column(f.name))
            else:
                cols.append(pa.nulls(table.num_rows, f.type))
        try:
            table = pa.Table.from_arrays(cols, names=schema.names).cast(schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            raise StoreError(f"append_arrow: {exc}") from exc
        self._table.add(table)
        self._checked = 0.0
        return table.num_rows

    def _to_arrow(self, docs: Sequence[Doc]) -> pa.Table:
        schema = self._table.schema
        unknown = set().union(*(d.keys() for d in docs)) - set(schema.names)
        if unknown:
            raise StoreError(f"documents carry fields not in the mapping: {sorted(unknown)}")
        cols = []
        for f in schema:
            values = [d.get(f.name) for d in docs]
            if f.name in VECTOR_FIELDS and pa.types.is_fixed_size_list(f.type):
                cols.append(_vector_array(values, f.type.list_size, f.name))
                continue
            if f.name in VECTOR_FIELDS:
                values = [None if v is None else np.asarray(v, dtype=np.float32).tolist() for v in values]
            cols.append(pa.array(values, type=f.type))
        return pa.Table.from_arrays(cols, schema=schema)

    def optimize(self) -> None:
        """Compact small fragments left by batched upserts (call at the end of an ingest)."""
        self._after_fork()
        if self._table is not None:
            self._table.optimize()

    # -- reading --------------------------------------------------------------------------------------------------

    def snapshot(self) -> _Snapshot:
        """The current columnar snapshot, reloaded when another write made a newer table version."""
        with self._lock:
            self._after_fork()
            if self._table is None:
                self._table = self._open_table()
                if self._table is None:
                    empty = self.schema.arrow_schema({f: 0 for f in VECTOR_FIELDS}).empty_table()
                    return _Snapshot(empty, -1, VectorSet(np.zeros((0, 0), np.float32), {}))
            # Cheap refresh check: the table's _versions directory changes (mtime) when any process commits a
            # version; a stat is microseconds, while asking LanceDB (checkout_latest, version) is a round trip
            # to its event-loop thread (0.3 ms idle, tens of ms on a loaded machine). A periodic check every
            # REFRESH_SECONDS covers commits within one mtime tick.
            now = time.monotonic()
            signal = self._version_signal()
            if (self._snap is None or signal != self._signal or now - self._checked > REFRESH_SECONDS):
                self._table.checkout_latest()
                self._version = self._table.version
                self._checked, self._signal = now, signal
            version = self._version
            if self._snap is None or self._snap.version != version:
                t0 = time.perf_counter()
                self._snap = None  # let the old version's arrays go before loading the new one
                self._snap = self._load_snapshot(version)
                log.info("loaded snapshot v%s: %d rows in %.2fs", version, self._snap.n, time.perf_counter() - t0)
            return self._snap

    def _version_signal(self) -> int | None:
        """mtime (ns) of the table's ``_versions`` directory, or None when it cannot be read."""
        try:
            return os.stat(self.path / f"{TABLE}.lance" / "_versions").st_mtime_ns
        except OSError:
            return None

    def _scan(self, columns: Sequence[str]):
        return self._table.search().select(list(columns)).limit(None)

    def _load_snapshot(self, version: int) -> _Snapshot:
        table = self._scalar_table(version)
        ids = table.column("image_id").combine_chunks()
        digest = _ids_digest(ids)
        dims = self.dims()
        vectors = VectorSet(self._vector_matrix(version, dims, ids, digest), dims)
        return _Snapshot(table, version, vectors, digest)

    # -- scalar columns, vector matrix and ANN index, cached per version-------------------------------------------------

    @property
    def _cache(self) -> Path:
        return self.path / CACHE_DIR

    def _file_lock(self):
        """An exclusive lock on ``<store>/.cache/lock`` (a context manager) while building cached files."""
        self._cache.mkdir(exist_ok=True)
        return _FileLock(self._cache / "lock")

    def _manifest_identity(self, version: int) -> list[int] | None:
        """(inode, mtime ns, size) of the manifest file of ``version``, or None when it cannot be found: ties a
        cached file to the table it was built from (a table dropped and made again restarts its versions)."""
        versions = self.path / f"{TABLE}.lance" / "_versions"
        for name in (f"{2 ** 64 - 1 - version}.manifest", f"{version}.manifest"):  # Lance's V2 and V1 naming
            try:
                st = os.stat(versions / name)
            except OSError:
                continue
            return [st.st_ino, st.st_mtime_ns, st.st_size]
        return None

    def _scalar_table(self, version: int) -> pa.Table:
        """The scalar (non-vector) columns of ``version``, one chunk per column.

        Read from an Arrow IPC file under the cache and memory-mapped, so the columns of one version occupy the
        page cache once however many processes (gunicorn workers) serve the store, and a restart reads no
        LanceDB data; written (under the file lock) by the first process that loads the version."""
        scalar = [f.name for f in self._table.schema if f.name not in VECTOR_FIELDS]
        identity = self._manifest_identity(version)

        def scan() -> pa.Table:
            return self._scan(scalar).to_arrow().combine_chunks()

        def write(tmp: Path) -> None:
            table = scan()
            with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table, max_chunksize=max(1, table.num_rows))

        if identity is None:
            return scan()
        return self._cached(version, f"scalars-v{version}.arrow", {"manifest": identity, "columns": scalar}, write,
                            lambda path: pa.ipc.open_file(pa.memory_map(str(path))).read_all(), scan)

    def _vector_matrix(self, version: int, dims: dict[str, int], ids: pa.Array, digest: str) -> np.ndarray:
        """(n, D) float32 unit rows in the order of ``ids`` (the snapshot's image_id column, ``_ids_digest``
        ``digest``): memory-mapped from the cache, built once per version."""
        n, width = len(ids), sum(dims.values())
        if n == 0 or width == 0:
            return np.zeros((n, width), dtype=np.float32)

        def write(tmp: Path) -> None:
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, width))
            self._fill_vectors(out, dims, ids)
            out.flush()

        def in_memory() -> np.ndarray:
            out = np.empty((n, width), dtype=np.float32)
            self._fill_vectors(out, dims, ids)
            return out

        want = {"n": n, "dims": dims, "ids": digest, "manifest": self._manifest_identity(version)}
        return self._cached(version, f"vectors-v{version}.npy", want, write,
                            lambda path: np.asarray(np.load(path, mmap_mode="r")), in_memory)

    def _cached(self, version: int, name: str, want: dict[str, Any], write: Callable[[Path], None],
                read: Callable[[Path], Any], in_memory: Callable[[], Any]) -> Any:
        """The cache protocol of one file ``<store>/.cache/<name>`` of table ``version``: under the file lock, when
        the file is missing or its description ``<stem>.json`` differs from ``want``, ``write`` it to a temporary
        path, rename it into place, then write the description (both atomic: a kill leaves no half file that
        reads as valid) and remove older versions' files; then ``read`` it (memory-mapped). A store directory
        that cannot be written, or a damaged file, gives ``in_memory()`` instead, with a warning."""
        data = self._cache / name
        meta = data.with_suffix(".json")
        try:
            with self._file_lock():
                if not (data.exists() and _read_json(meta) == want):
                    tmp = data.with_name(f"{data.name}.{os.getpid()}.tmp")
                    write(tmp)
                    os.replace(tmp, data)
                    _write_json(meta, want)
                    self._prune_cache(version)
                return read(data)
        except (OSError, ValueError) as exc:  # ValueError: also pa.ArrowInvalid (a damaged IPC file)
            log.warning("cannot cache %s under %s (%s); holding it in memory", name, self._cache, exc)
            return in_memory()

    def _fill_vectors(self, out: np.ndarray, dims: dict[str, int], ids: pa.Array) -> None:
        """Fill ``out`` (n, D) with the unit vectors, streamed from the table in batches, rows in ``ids`` order."""
        fields = [name for name in VECTOR_FIELDS if dims.get(name)]
        at = 0
        order = None
        for batch in self._scan(["image_id", *fields]).to_batches(65536):
            m = batch.num_rows
            batch_ids = batch.column("image_id")
            if order is None and not batch_ids.equals(ids.slice(at, m).cast(batch_ids.type)):
                order = {image_id: i for i, image_id in enumerate(ids.to_pylist())}  # scans disagree: place by id
            rows = slice(at, at + m) if order is None else np.array([order[i] for i in batch_ids.to_pylist()])
            col = 0
            block = np.empty((m, out.shape[1]), dtype=np.float32)
            for name in VECTOR_FIELDS:
                d = dims.get(name, 0)
                if d:
                    block[:, col:col + d] = _vector_block(batch.column(name), d)
                    col += d
            # each field normalised on its own
            col = 0
            for name in VECTOR_FIELDS:
                d = dims.get(name, 0)
                if d:
                    _unit_rows(block[:, col:col + d])
                    col += d
            out[rows] = block
            at += m
        if at != len(ids):
            raise StoreError(f"store {self.path} changed while loading vectors ({at} rows, expected {len(ids)})")

    def _prune_cache(self, version: int, prefixes: Sequence[str] = ("vectors-v", "scalars-v")) -> None:
        """Remove cached files of table versions older than ``version`` whose names start with one of ``prefixes``
        (processes still mapping them keep their pages). The ANN files are pruned separately, once the newer
        index exists: the previous index is what an appended version's index is extended from."""
        for p in self._cache.iterdir():
            v = _cache_version(p.name)
            if v is not None and v < version and p.name.startswith(tuple(prefixes)):
                try:
                    p.unlink()
                except OSError:
                    pass

    def _ann(self, snap: _Snapshot) -> AnnIndex | None:
        """The snapshot's ANN index: loaded from the cache, or made (and cached) on first use; see ``_make_ann``."""
        if snap.ann is not None:
            return snap.ann
        with self._lock:
            if snap.ann is not None:
                return snap.ann
            path = self._cache / f"ann-v{snap.version}.faiss"
            d = snap.vectors_set.matrix.shape[1]
            try:
                with self._file_lock():
                    ann = AnnIndex.load(path, snap.n, d) if self._ann_meta_matches(snap) else None
                    if ann is None:
                        ann = self._make_ann(snap, path)
                        loaded = AnnIndex.load(path, snap.n, d)  # the mapped copy, shared
                        if loaded is not None:
                            loaded.how = ann.how
                            ann = loaded
            except OSError as exc:
                log.warning("cannot cache the ANN index under %s (%s); building it in memory", self._cache, exc)
                ann = AnnIndex.build(snap.vectors_set)
            snap.ann = ann
            return ann

    def _ann_meta_matches(self, snap: _Snapshot) -> bool:
        """Whether ``ann-v<version>.json`` describes this snapshot's table (manifest identity, rows, ids): an index
        left by a dropped table that reached the same version number is not this table's."""
        meta = _read_json(self._cache / f"ann-v{snap.version}.json")
        if meta is None:
            return False
        return (meta.get("manifest") == self._manifest_identity(snap.version) and meta.get("n") == snap.n
                and meta.get("ids") == snap.ids_digest)

    def _make_ann(self, snap: _Snapshot, path: Path) -> AnnIndex:
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
        prev = self._previous_ann(snap.version, vectors.matrix.shape[1])
        trained_n = snap.n
        ann = None
        prev_fp = np.load(prev["fp"]) if prev is not None else None
        if (prev is not None and snap.n <= 2 * prev["trained_n"]
                and np.isin(fp, prev_fp).mean() >= REUSE_TRAINING_SHARE):
            index = faiss.read_index(str(prev["path"]))  # an in-memory copy (a mapped index cannot grow)
            m = prev["n"]
            trained_n = prev["trained_n"]
            if m <= snap.n and _ids_digest(snap.id_col, m) == prev["ids"] and np.array_equal(prev_fp, fp[:m]):
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
        _write_json(path.with_suffix(".json"), {"n": snap.n, "d": vectors.matrix.shape[1], "ids": snap.ids_digest,
                                               "trained_n": trained_n,
                                               "manifest": self._manifest_identity(snap.version)})
        self._prune_cache(snap.version, ("ann-v",))
        log.info("ANN index v%s (%d rows): %s in %.1fs", snap.version, snap.n, ann.how, time.perf_counter() - t0)
        return ann

    def _previous_ann(self, version: int, d: int) -> dict[str, Any] | None:
        """The newest cached ANN index of a version before ``version`` with width ``d``: its meta (``n``, ``ids``
        digest, ``trained_n``) plus ``path`` and ``fp`` (fingerprint file), or None."""
        found = []
        for p in self._cache.glob("ann-v*.json"):
            v = _cache_version(p.name)
            if v is not None and v < version:
                found.append((v, p))
        for v, p in sorted(found, reverse=True):
            meta = _read_json(p)
            if meta is None:
                continue
            index, fp = p.with_suffix(".faiss"), p.with_name(f"ann-v{v}.fp.npy")
            if meta.get("d") == d and index.exists() and fp.exists():
                return {**meta, "path": index, "fp": fp}
        return None

    def prepare(self) -> None:
        """Load the snapshot and, when the store is large enough for the ANN path, its index, now rather than on
        the first search (call before forking workers, e.g. in a gunicorn ``--preload`` app factory)."""
        snap = self.snapshot()
        if self.ann_min_docs and snap.n >= self.ann_min_docs:
            self._ann(snap)

    # -- filters --------------------------------------------------------------------------------------------------

    def _mask(self, snap: _Snapshot, filters: Sequence[Filter]) -> np.ndarray:
        mask = np.ones(snap.n, dtype=bool)
        for clause in filters:
            mask &= compile_mask(clause, snap)
        return mask

    def _rows(self, snap: _Snapshot, filters: Sequence[Filter]) -> tuple[np.ndarray, np.ndarray]:
        """(mask, sorted row numbers) of the rows passing ``filters``, cached per snapshot (LRU)."""
        key: Any = tuple(filters)
        try:
            hash(key)
        except TypeError:
            key = None
        if key is not None:
            with self._lock:
                hit = snap.masks.get(key)
                if hit is not None:
                    snap.masks.move_to_end(key)
                    return hit
        mask = self._mask(snap, filters)
        out = (mask, np.flatnonzero(mask))
        if key is not None:
            with self._lock:
                snap.masks[key] = out
                while len(snap.masks) > MASK_CACHE_SIZE:
                    snap.masks.popitem(last=False)
        return out

    def existing(self, ids: Iterable[str]) -> dict[str, dict[str, str | None]]:
        snap = self.snapshot()
        rows = [(i, r) for i in ids if (r := snap.row_of(i)) is not None]
        if not rows:
            return {}
        models = snap.table.column("models").take(pa.array([r for _, r in rows])).to_pylist()
        return {i: (m or {}) for (i, _), m in zip(rows, models)}

    def get(self, ids: Sequence[str], with_vectors: bool = False) -> list[Doc]:
        snap = self.snapshot()
        rows = [r for i in ids if (r := snap.row_of(i)) is not None]
        if not rows:
            return []
        docs = snap.table.take(pa.array(rows)).to_pylist()
        if with_vectors:
            for doc, r in zip(docs, rows):
                for name in VECTOR_FIELDS:
                    vec = np.array(snap.vectors[name][r]) if snap.vectors[name].shape[1] else None
                    doc[name] = vec if vec is not None and vec.any() else None
        return docs

    def count(self, filters: Sequence[Filter] = ()) -> int:
        snap = self.snapshot()
        return len(self._rows(snap, filters)[1]) if filters else snap.n

    def search(self, query: VectorQuery, filters: Sequence[Filter] = (), limit: int = 50, *,
               soft: Sequence[SoftConstraint] = ()) -> list[Hit]:
        """Fused top-``limit`` among the documents passing every filter (see the module docstring: exact below
        ``ann_min_docs`` passing documents, ANN candidates + exact rescoring from there).

        Raises:
            StoreError: a query vector's width differs from the stored width.
        """
        snap = self.snapshot()
        if snap.n == 0 or limit <= 0:
            return []
        vectors = snap.vectors_set
        fq = vectors.prepare(query)
        mask, rows = self._rows(snap, filters) if filters else (None, None)
        m = snap.n if rows is None else len(rows)
        if m == 0:
            return []
        scored = rows
        if self.ann_min_docs and m >= self.ann_min_docs and fq.parts:
            ann = self._ann(snap)
            cand = ann.candidates(fq, max(self.ann_candidates, limit), self.ann_nprobe, mask)
            if len(cand) >= min(limit, m):
                scored = cand
        score = vectors.scores(fq, scored)
        n_scored = len(score)
        if soft:
            score = score + self._soft_boost(snap, soft, scored, n_scored)
        pos = top_k(score, limit, lambda p: snap.rank_of(p if scored is None else scored[p]))
        picked = pos if scored is None else scored[pos]
        iat = vectors.cosines(fq, "clip_vec", picked)
        tat = vectors.cosines(fq, "capmeta_vec", picked)
        docs = snap.table.take(pa.array(picked)).to_pylist()
        return [Hit(d["image_id"], float(score[p]), float(iat[j]), float(tat[j]), d)
                for j, (d, p) in enumerate(zip(docs, pos))]

    @staticmethod
    def _soft_boost(snap: _Snapshot, soft: Sequence[SoftConstraint], rows: np.ndarray | None, n: int) -> np.ndarray:
        """Soft-constraint boosts of the candidate rows (``soft_boost``; keyword membership via the snapshot)."""
        fields = snap.soft_fields if rows is None else {k: v[rows] for k, v in snap.soft_fields.items()}
        matches = {}
        for i, c in enumerate(soft):
            if isinstance(c, SoftPlace):
                hit = snap.folded_in(c.field, c.values)
                matches[i] = hit if rows is None else hit[rows]
        return soft_boost(soft, fields, n, matches)

    def neighbours(self, around: datetime, before_s: int, after_s: int, collection: str | None = None,
                   limit: int = 500) -> list[Doc]:
        snap = self.snapshot()
        t = snap.local_seconds
        center = int((around.replace(tzinfo=None) - datetime(1970, 1, 1)) / timedelta(seconds=1))
        mask = (t >= center - before_s) & (t <= center + after_s)
        if collection is not None:
            mask &= snap.folded_in("collection", [collection], folding=False)
        rows = np.flatnonzero(mask)
        rows = rows[np.lexsort((np.asarray(snap.ids_at(rows), dtype=object), t[rows]))][:limit]
        return snap.table.take(pa.array(rows, pa.int64())).to_pylist()

    def facets(self, fields: Sequence[str], filters: Sequence[Filter] = (), size: int = 20
               ) -> dict[str, list[tuple[str, int]]]:
        snap = self.snapshot()
        mask = self._rows(snap, filters)[0] if filters else np.ones(snap.n, dtype=bool)
        out: dict[str, list[tuple[str, int]]] = {}
        for name in fields:
            if name not in self.schema.facets:
                raise StoreError(f"facet {name!r} is not offered; use one of {list(self.schema.facets)}")
            if "normalizer" in self.schema.properties[name]:  # folded buckets, as Elasticsearch makes them
                pairs = snap.folded_counts(name, mask)
            else:
                col = snap.column(name).filter(pa.array(mask))
                if pa.types.is_list(col.type):
                    col = pc.list_flatten(col)
                pairs = [(c["values"], c["counts"]) for c in pc.value_counts(col.drop_null()).to_pylist()]
            out[name] = sorted(pairs, key=lambda p: (-p[1], str(p[0])))[:size]
        return out

    # -- collections and info -------------------------------------------------------------------------------------

    @property
    def _collections_file(self) -> Path:
        return self.path / "collections.json"

    def collections(self) -> dict[str, str]:
        try:
            return json.loads(self._collections_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise StoreError(f"{self._collections_file}: unreadable ({exc})") from exc

    def set_collection(self, name: str, root: str) -> None:
        data = self.collections()
        data[name] = str(Path(root).resolve())
        tmp = self._collections_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self._collections_file)

    def info(self) -> dict[str, Any]:
        snap = self.snapshot()
        models = snap.column("models").to_pylist() if snap.n else []
        used: dict[str, list[str]] = {}
        for m in models:
            for role, name in (m or {}).items():
                if name and name not in used.setdefault(role, []):
                    used[role].append(name)
        return {"backend": "lancedb", "location": str(self.path), "documents": snap.n, "dims": self.dims(),
                "models": used, "collections": self.collections()}

    def close(self) -> None:
        self._snap = None


class _FileLock:
    """``fcntl.flock`` exclusive lock on a file, as a context manager (one builder per cached version)."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> "_FileLock":
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:  # a read-only store: nobody can write the cache, so valid files are read without the lock
            if not self.path.parent.is_dir():
                raise
            self._fd = None
            return self
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _read_json(path: Path) -> Any:
    """The JSON object in ``path``, or None when it is missing, unreadable or not valid JSON (a cache file cut short
    by a kill is rebuilt, never an error)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (a temporary file, then a rename)."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj))
    os.replace(tmp, path)


def _cache_version(name: str) -> int | None:
    """Table version of a cached file name (``vectors-v12.npy``, ``ann-v12.faiss``, ``scalars-v12.arrow``), or None."""
    for prefix in ("vectors-v", "ann-v", "scalars-v"):
        if name.startswith(prefix):
            digits = ""
            for ch in name[len(prefix):]:
                if not ch.isdigit():
                    break
                digits += ch
            return int(digits) if digits else None
    return None


def _vector_array(values: Sequence[Any], d: int, name: str) -> pa.FixedSizeListArray:
    """Fixed-size list array of float32 vectors (None -> null) built from one (n, d) buffer, not Python floats.

    Raises:
        StoreError: a vector does not have ``d`` values.
    """
    flat = np.zeros((len(values), d), dtype=np.float32)
    valid = np.zeros(len(values), dtype=bool)
    for i, v in enumerate(values):
        if v is None:
            continue
        a = np.asarray(v, dtype=np.float32).reshape(-1)
        if a.shape[0] != d:
            raise StoreError(f"{name}: a vector of {a.shape[0]} values, the store holds {d}")
        flat[i] = a
        valid[i] = True
    return pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1)), d, mask=pa.array(~valid))

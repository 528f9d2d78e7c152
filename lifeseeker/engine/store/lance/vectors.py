"""Exact fused scoring of the embedded store: the vectors of all fields in one matrix, the fused query, top-k.

The vectors of all fields sit side by side in one ``(n, d_clip + d_text)`` C-contiguous float32 matrix ``M = [C | T]``
and the query is ``[W_IaT q_clip | W_TaT q_tat]``, so ``score = M[rows] @ q = W_IaT * C[rows] @ q_clip + W_TaT *
T[rows] @ q_tat`` in one pass over memory (missing vectors are zero rows and contribute 0). Rows passing a filter are
scored by the cheapest exact route for their share of the table (``VectorSet.scores``): a contiguous slice as a
view, a full product then a pick when many pass, a blocked gather (cache-sized blocks, no full copy) when few pass.
Small products run on one BLAS thread (``single_thread_blas``).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ....errors import StoreError
from ..base import VECTOR_FIELDS, VectorQuery

GATHER_BLOCK_ROWS = 1024  # rows gathered per block on the exact path (1024 x 896 x 4 B = 3.5 MiB: stays in cache)
FULL_PRODUCT_FRACTION = 0.3  # from this share of rows passing, score every row and pick (cheaper than a gather)
BLAS_MIN_VALUES = 16_000_000  # from this many matrix values (~18k rows x 896) a product goes to threaded BLAS


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
        blocks (never a full copy of the selected rows). With one active field (a text-only, image or CLIP-only
        query) the products read only that field's columns, and a gather copies only that field's part of each
        row (``_gathered``), never ``np.take`` on the strided column view, which copies the whole field per block
        (issue 20: 22 s of a 24 s text-only search at 200k rows).
        """
        m = self.n if rows is None else len(rows)
        if m == 0:
            return np.zeros(0, dtype=np.float32)
        active = [name for name in VECTOR_FIELDS if fq.units[name] is not None]
        if not active:
            return np.zeros(m, dtype=np.float32)
        sl = self.slices[active[0]] if len(active) == 1 else slice(0, self.matrix.shape[1])
        q = fq.q[sl]
        if rows is None:
            return _matvec(self.matrix[:, sl], q)
        if int(rows[-1]) - int(rows[0]) + 1 == m:
            return _matvec(self.matrix[int(rows[0]):int(rows[-1]) + 1, sl], q)
        if m >= FULL_PRODUCT_FRACTION * self.n:
            return _matvec(self.matrix[:, sl], q)[rows]
        return self._gathered(rows, sl, q)

    def _gathered(self, rows: np.ndarray, sl: slice, q: np.ndarray) -> np.ndarray:
        """``matrix[rows][:, sl] @ q`` in blocks of ``GATHER_BLOCK_ROWS`` rows, on one BLAS thread. Both fields:
        whole rows copied with ``np.take`` into one reused block. One field: ``matrix[idx, sl]`` (advanced indexing
        copies just that field's bytes of each row, as the floor's ``T[rows]`` does); never ``np.take`` on the
        strided column view, which first copies the whole field (n x d_field) for every block."""
        m = len(rows)
        out = np.empty(m, dtype=np.float32)
        whole = sl.stop - sl.start == self.matrix.shape[1]
        block = np.empty((min(GATHER_BLOCK_ROWS, m), self.matrix.shape[1]), dtype=np.float32) if whole else None
        with single_thread_blas():
            for at in range(0, m, GATHER_BLOCK_ROWS):
                idx = rows[at:at + GATHER_BLOCK_ROWS]
                if block is not None:
                    buf = block[:len(idx)]
                    np.take(self.matrix, idx, axis=0, out=buf, mode="clip")  # rows are valid; "raise" copies
                else:
                    buf = self.matrix[idx, sl]
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



def unit_rows(block: np.ndarray) -> np.ndarray:
    """L2-normalise rows in place (zero rows stay zero); returns ``block``."""
    norms = np.sqrt(np.einsum("ij,ij->i", block, block))[:, None]
    np.divide(block, norms, out=block, where=norms > 0)
    return block


def vector_block(col: pa.Array, d: int) -> np.ndarray:
    """(len(col), d) float32 from a (fixed-size) list column; nulls -> zero rows."""
    out = np.zeros((len(col), d), dtype=np.float32)
    if d == 0 or len(col) == 0:
        return out
    valid = np.asarray(col.is_valid())
    if valid.any():
        flat = pc.list_flatten(col.filter(pa.array(valid))).to_numpy(zero_copy_only=False)
        out[valid] = flat.astype(np.float32, copy=False).reshape(-1, d)
    return out

"""The embedded default store: LanceDB on disk, no server (``LanceStore``).

Storage is one LanceDB table (``lifelog``) whose columns derive from ``mappings/lifelog.json``; upserts are
``merge_insert`` on ``image_id`` (idempotent; ``table.py``). Searching reads a columnar snapshot of one table version
(Arrow columns without the vectors, plus one matrix of L2-normalised float32 vectors; ``snapshot.py``), refreshed
when the table version changes (``store.py``), and then:

* each filter clause compiles to a boolean mask over the snapshot's columns with Arrow compute kernels or numpy,
  or (``Terms``, ``TextMatch``) to the sorted rows of an inverted index, intersected smallest first, so a selective
  filter costs in proportion to its matching rows (``masks.passing_rows``); values travel as typed scalars and are never spliced into query text, so no value can change a query's shape.
  The rows passing a filter list are cached per snapshot (``count`` after ``search`` costs nothing; ``masks.py``);
* the fused score is one matrix-vector product: the vectors of all fields sit side by side in one
  ``(n, d_clip + d_text)`` C-contiguous float32 matrix ``M = [C | T]`` and the query is ``[W_IaT q_clip | W_TaT
  q_tat]``, so ``score = M[rows] @ q = W_IaT * C[rows] @ q_clip + W_TaT * T[rows] @ q_tat`` in one pass over memory
  (missing vectors are zero rows and contribute 0). Rows passing a filter are scored by the cheapest exact route
  for their share of the table (``VectorSet.scores``): a contiguous slice as a view, a full product then a pick when
  many pass, a blocked gather (cache-sized blocks, no full copy) when few pass (``vectors.py``);
* exact path: every passing row is scored. Large path: from ``ann_min_docs`` passing rows (``Settings``,
  ``LIFESEEKER_ANN_MIN_DOCS``), one faiss IVF index over the fused rows ``[C | T]`` (inner product, 8-bit scalar
  quantised codes; the fused score is itself an inner product, so the index ranks by the score being computed)
  gives ``ann_candidates`` candidates among the passing rows (the filter goes inside the index search as a bitmap,
  with ``nprobe`` scaled by 1/selectivity), and they are rescored exactly with the formula above: scores of
  returned hits are exact, only membership of the top-k is approximate (recall@100 >= 0.98 in
  ``tests/test_ann.py``; ``ann.py``);
* full-text clauses (``TextMatch``) look words up in a per-snapshot inverted index of each text column
  (``_Postings`` in ``index.py``), built on first use or eagerly by ``LanceStore.warm()`` (every per-version
  build: snapshot, derived arrays, keyword and word indexes, ANN), which a start-up hook calls;
* optional soft constraints add their graded boosts to that score before the top-k (``engine/query/soft.py``,
  ``soft_boost``: the one formula both stores compute); ``iat``/``tat`` of a hit stay the raw cosines. On the large
  path the boosts rerank the ANN candidates (chosen by cosine), so a document lifted only by its boosts (at most
  ~0.23) from outside the candidates is missed.

The scalar columns (an Arrow IPC file), the vector matrix and the ANN index are cached per table version under
``<store>/.cache/`` and memory-mapped, so that several processes serving one store (gunicorn workers) share one copy
in the page cache, and a restart reads no LanceDB data and re-normalises no vectors. The first process to need a
version builds the files (under a file lock); older versions' files are removed (``cache.py``).

Collections (ingested roots) are kept in ``collections.json`` beside the table.
"""

from .ann import AnnIndex, nlist_for
from .index import _Postings
from .masks import compile_mask, haversine_km
from .snapshot import Snapshot
from .store import LanceStore
from .table import TABLE, lance_path
from .vectors import FusedQuery, VectorSet, _matvec, numpy_blas_libs, single_thread_blas, top_k

__all__ = ["TABLE", "AnnIndex", "FusedQuery", "LanceStore", "Snapshot", "VectorSet", "_Postings", "_matvec",
           "compile_mask", "haversine_km", "lance_path", "nlist_for", "numpy_blas_libs", "single_thread_blas",
           "top_k"]

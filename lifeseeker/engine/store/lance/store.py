"""The embedded store's ``Store`` implementation: ``LanceStore`` answers the protocol of ``store/base.py`` by
delegating to the table (``table.py``), the snapshot of its current version (``snapshot.py``, loaded through
``cache.py``), the filter masks (``masks.py``), exact fused scoring (``vectors.py``) and the ANN index (``ann.py``).
How search works: the package docstring (``lance/__init__.py``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import datetime, timedelta
from typing import Any, Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ....errors import StoreError
from ...filters import Filter
from ...query.soft import SoftConstraint, SoftPlace, SoftText, boost_scale, scale_soft, soft_boost
from ...text import tokens
from ...schema import load_schema
from ..base import (INVENTORY_FIELDS, VECTOR_FIELDS, Doc, DroppedVector, Hit, VectorQuery, drop_unusable_vectors,
                    normal_id, report_dropped)
from .ann import MIN_TRAIN_ROWS, AnnIndex, ann_for
from .cache import Cache
from .masks import Passing, mask_of, passing
from .snapshot import Snapshot, load_snapshot
from .table import LanceTable, lance_path
from .vectors import VectorSet, numpy_blas_libs, top_k

log = logging.getLogger(__name__)


class LanceStore:
    """Embedded store at ``lance:///path``. See the package docstring (``lance/__init__.py``) for how search works.

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
        self.dropped_vectors: list[DroppedVector] = []  # zero-norm / non-finite vectors left out by upsert
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot open store at {self.path}: {exc}") from exc
        self._table = LanceTable(self.path, self.schema)
        self._cache = Cache(self.path, self._table.versions_dir)
        self._snap: Snapshot | None = None
        self._lock = threading.RLock()

    # -- schema and writing: the table ------------------------------------------------------------------------------

    def dims(self) -> dict[str, int]:
        """Vector widths of the existing table (``{}`` before ``ensure_schema``)."""
        return self._table.dims()

    def ensure_schema(self, dims: dict[str, int]) -> None:
        self._table.ensure_schema(dims)

    def row_count(self) -> int:
        """Rows in the table now (LanceDB's count, no snapshot load); 0 before ``ensure_schema``."""
        return self._table.row_count()

    def upsert(self, docs: Sequence[Doc]) -> int:
        """Write ``docs`` (replace by ``image_id``); a zero-norm or non-finite vector is dropped, the document kept,
        and the drop logged and appended to ``dropped_vectors`` (:func:`~..base.drop_unusable_vectors`)."""
        docs, dropped = drop_unusable_vectors(docs)
        if dropped:
            report_dropped(log, "lance", dropped)
            self.dropped_vectors.extend(dropped)
        return self._table.upsert(docs)

    def delete(self, ids: Sequence[str]) -> int:
        return self._table.delete(ids)

    def append_arrow(self, table: pa.Table) -> int:
        """Bulk load of rows whose ``image_id`` is known to be new; see ``LanceTable.append_arrow``.

        Raises:
            StoreError: no table yet, or a column does not convert to the store's type.
        """
        return self._table.append_arrow(table)

    def optimize(self) -> None:
        """Compact small fragments left by batched upserts (call at the end of an ingest)."""
        self._table.optimize()

    # -- reading --------------------------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The current columnar snapshot, reloaded when another write made a newer table version."""
        with self._lock:
            version = self._table.latest_version(force=self._snap is None)
            if version is None:
                empty = self.schema.arrow_schema({f: 0 for f in VECTOR_FIELDS}).empty_table()
                return Snapshot(empty, -1, VectorSet(np.zeros((0, 0), np.float32), {}))
            if self._snap is None or self._snap.version != version:
                t0 = time.perf_counter()
                self._snap = None  # let the old version's arrays go before loading the new one
                self._snap = load_snapshot(self._table, self._cache, version)
                log.info("loaded snapshot v%s: %d rows in %.2fs", version, self._snap.n, time.perf_counter() - t0)
            return self._snap

    def _ann(self, snap: Snapshot) -> AnnIndex | None:
        """The snapshot's ANN index: loaded from the cache, or made (and cached) on first use; see ``ann.make_ann``.
        None (exact scoring) for a table of fewer than ``MIN_TRAIN_ROWS`` rows, which faiss cannot train on, and
        when faiss fails (logged)."""
        if snap.ann is not None:
            return snap.ann
        if snap.n < MIN_TRAIN_ROWS:
            return None
        with self._lock:
            if snap.ann is None:
                try:
                    snap.ann = ann_for(self._cache, snap)
                except RuntimeError as exc:  # faiss raises RuntimeError for what it cannot do
                    log.warning("ANN index unavailable (%s): exact scoring", exc)
                    return None
            return snap.ann

    def prepare(self) -> None:
        """Load the snapshot and, when the store is large enough for the ANN path, its index, now rather than on
        the first search (call before forking workers, e.g. in a gunicorn ``--preload`` app factory)."""
        snap = self.snapshot()
        if self.ann_min_docs and snap.n >= self.ann_min_docs:
            self._ann(snap)


    def warm(self) -> dict[str, float]:
        """All per-version work now, for a start-up hook and a readiness probe to wait on: connect to LanceDB
        (importing it), load the snapshot of the current version (cache files built when missing), build its
        derived arrays and every keyword and word index (``Snapshot.warm``), and the ANN index when the store is
        large enough for the ANN path. After it no request of this version builds anything. Call it in each
        serving process (a gunicorn worker, not a ``--preload`` master: LanceDB handles do not survive a fork,
        see ``LanceTable._after_fork``) and again after a write, outside a request. Returns seconds per part.

        Raises:
            StoreError: the store cannot be opened or read.
        """
        t0 = time.perf_counter()
        numpy_blas_libs()  # threadpoolctl's look-up of numpy's BLAS (~50 ms, once per process): not in a request
        spent = {"blas": time.perf_counter() - t0}
        t0 = time.perf_counter()
        snap = self.snapshot()
        spent["snapshot"] = time.perf_counter() - t0
        spent.update(snap.warm(self.schema))
        if self.ann_min_docs and snap.n >= self.ann_min_docs:
            t0 = time.perf_counter()
            self._ann(snap)
            spent["ann"] = time.perf_counter() - t0
        log.info("warm: v%s, %d rows in %.2fs", snap.version, snap.n, sum(spent.values()))
        return spent

    # -- filters --------------------------------------------------------------------------------------------------

    def _mask(self, snap: Snapshot, filters: Sequence[Filter]) -> np.ndarray:
        return mask_of(snap, filters)

    def _rows(self, snap: Snapshot, filters: Sequence[Filter]) -> Passing:
        """The rows passing ``filters`` (``Passing``: sorted ``rows``, ``mask`` on demand; unpacks as (mask, rows)),
        cached per snapshot (LRU)."""
        return passing(snap, filters, self._lock)

    @staticmethod
    def _row(snap: Snapshot, image_id: str) -> int | None:
        """Row of ``image_id`` as given, else of its NFC form (ids are stored NFC-normalised; an id stored by an
        older version keeps its bytes and is still found as given)."""
        r = snap.row_of(image_id)
        return r if r is not None else snap.row_of(normal_id(image_id))

    def existing(self, ids: Iterable[str]) -> dict[str, dict[str, str | None]]:
        snap = self.snapshot()
        rows = [(i, r) for i in ids if (r := self._row(snap, i)) is not None]
        if not rows:
            return {}
        models = snap.table.column("models").take(pa.array([r for _, r in rows])).to_pylist()
        return {i: (m or {}) for (i, _), m in zip(rows, models)}

    def get(self, ids: Sequence[str], with_vectors: bool = False) -> list[Doc]:
        snap = self.snapshot()
        rows = [r for i in ids if (r := self._row(snap, i)) is not None]
        if not rows:
            return []
        docs = snap.table.take(pa.array(rows)).to_pylist()
        if with_vectors:
            for doc, r in zip(docs, rows):
                for name in VECTOR_FIELDS:
                    vec = np.array(snap.vectors[name][r]) if snap.vectors[name].shape[1] else None
                    doc[name] = vec if vec is not None and vec.any() else None
        return docs

    def vectors_of(self, ids: Sequence[str], name: str) -> dict[str, np.ndarray | None]:
        """``image_id -> (d,) float32 unit vector`` of field ``name`` (None when missing), unknown ids left out:
        the vectors alone, no document fetch (the events step's near-duplicate test). Rows of recent hits are
        remembered by ``search``, so this costs O(len(ids)).

        Raises:
            StoreError: ``name`` is not a vector field.
        """
        if name not in VECTOR_FIELDS:
            raise StoreError(f"{name!r} is not a vector field; use one of {list(VECTOR_FIELDS)}")
        snap = self.snapshot()
        found = [(i, r) for i in ids if (r := self._row(snap, i)) is not None]
        if not found or snap.vectors[name].shape[1] == 0:
            return {i: None for i, _ in found}
        block = np.array(snap.vectors_set.matrix[[r for _, r in found], snap.vectors_set.slices[name]])
        return {i: (v if v.any() else None) for (i, _), v in zip(found, block)}

    def inventory(self, collection: str) -> dict[str, Doc]:
        """``image_id -> {INVENTORY_FIELDS}`` of every document of ``collection`` (no vectors), from the snapshot's
        columns; a column an older table lacks reads as None."""
        snap = self.snapshot()
        if not snap.n:
            return {}
        rows = pc.indices_nonzero(pc.equal(snap.column("collection"), pa.scalar(collection))).to_numpy()
        if not len(rows):
            return {}
        taken = snap.table.take(pa.array(rows))
        cols = {f: (taken.column(f).to_pylist() if f in taken.column_names else [None] * len(rows))
                for f in INVENTORY_FIELDS}
        return {i: {f: cols[f][k] for f in INVENTORY_FIELDS} for k, i in enumerate(cols["image_id"])}

    def count(self, filters: Sequence[Filter] = ()) -> int:
        snap = self.snapshot()
        return len(self._rows(snap, filters).rows) if filters else snap.n

    def search(self, query: VectorQuery, filters: Sequence[Filter] = (), limit: int = 50, *,
               soft: Sequence[SoftConstraint] = ()) -> list[Hit]:
        """Fused top-``limit`` among the documents passing every filter (see the package docstring: exact below
        ``ann_min_docs`` passing documents, ANN candidates + exact rescoring from there).

        Raises:
            StoreError: a query vector's width differs from the stored width.
        """
        snap = self.snapshot()
        if snap.n == 0 or limit <= 0:
            return []
        vectors = snap.vectors_set
        fq = vectors.prepare(query)
        found = self._rows(snap, filters) if filters else None
        rows = None if found is None else found.rows
        m = snap.n if rows is None else len(rows)
        if m == 0:
            return []
        scored = rows
        ann = self._ann(snap) if self.ann_min_docs and m >= self.ann_min_docs and fq.parts else None
        if ann is not None:
            cand = ann.candidates(fq, max(self.ann_candidates, limit), self.ann_nprobe,
                                  None if found is None else found.mask)
            if len(cand) >= min(limit, m):
                scored = cand
        score = vectors.scores(fq, scored)
        n_scored = len(score)
        if soft:  # boosts scaled by the share of the components present (soft.boost_scale), as in Elasticsearch
            soft = scale_soft(soft, boost_scale(query.weights, fq.parts))
            score = score + self._soft_boost(snap, soft, scored, n_scored)
        pos = top_k(score, limit, lambda p: snap.rank_of(p if scored is None else scored[p]))
        picked = pos if scored is None else scored[pos]
        iat = vectors.cosines(fq, "clip_vec", picked)
        tat = vectors.cosines(fq, "capmeta_vec", picked)
        docs = snap.table.take(pa.array(picked)).to_pylist()
        snap.remember([d["image_id"] for d in docs], picked)
        return [Hit(d["image_id"], float(score[p]), float(iat[j]), float(tat[j]), d)
                for j, (d, p) in enumerate(zip(docs, pos))]

    @staticmethod
    def _soft_boost(snap: Snapshot, soft: Sequence[SoftConstraint], rows: np.ndarray | None, n: int) -> np.ndarray:
        """Soft-constraint boosts of the candidate rows (``soft_boost``; keyword membership via the snapshot)."""
        fields = snap.soft_fields if rows is None else {k: v[rows] for k, v in snap.soft_fields.items()}
        matches = {}
        for i, c in enumerate(soft):
            if isinstance(c, SoftPlace):
                hit = snap.folded_in(c.field, c.values)
                matches[i] = hit if rows is None else hit[rows]
            elif isinstance(c, SoftText):  # share of the terms whose every word is in a text field (word index)
                frac = np.zeros(snap.n, dtype=np.float64)
                for term in c.terms:
                    found = np.ones(snap.n, dtype=bool)
                    for tok in tokens(term):
                        found &= np.logical_or.reduce([snap.word_in(f, tok) for f in c.fields])
                    frac += found
                frac /= len(c.terms)
                matches[i] = frac if rows is None else frac[rows]
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
        mask = self._rows(snap, filters).mask if filters else np.ones(snap.n, dtype=bool)
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

    def collections(self) -> dict[str, str]:
        return self._table.collections()

    def set_collection(self, name: str, root: str) -> None:
        self._table.set_collection(name, root)

    def info(self) -> dict[str, Any]:
        """Backend, location, documents, vector widths, models recorded in the documents (role -> names) and
        collections. Read from the cache files of the newest version when they are there (``Cache.peek``: no
        LanceDB import, what keeps ``lifeseeker info`` fast), else from a snapshot."""
        peeked = None if self._snap is not None else self._cache.peek()
        if peeked is not None:
            scalars, dims = peeked
            documents = scalars.num_rows
            models = scalars.column("models").to_pylist() if documents and "models" in scalars.column_names else []
        else:
            snap = self.snapshot()
            documents, dims = snap.n, self.dims()
            models = snap.column("models").to_pylist() if snap.n else []
        used: dict[str, list[str]] = {}
        for m in models:
            for role, name in (m or {}).items():
                if name and name not in used.setdefault(role, []):
                    used[role].append(name)
        return {"backend": "lancedb", "location": str(self.path), "documents": documents, "dims": dims,
                "models": used, "collections": self.collections()}

    def close(self) -> None:
        self._snap = None

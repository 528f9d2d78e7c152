"""The embedded default store: LanceDB on disk, no server.

Storage is one LanceDB table (``lifelog``) whose columns derive from ``mappings/lifelog.json``; upserts are
``merge_insert`` on ``image_id`` (idempotent). Searching reads a columnar snapshot of the table (Arrow columns plus
L2-normalised float32 vector matrices), refreshed when the table version changes, and then:

* each filter clause compiles to a boolean mask over the snapshot's columns with Arrow compute kernels or numpy;
  values travel as typed scalars and are never spliced into query text, so no value can change a query's shape;
* the fused score is computed exactly over the rows that pass (matrix-vector products, no approximation):
  ``score = W_IaT * C[rows] @ q_clip + W_TaT * T[rows] @ q_tat`` with zero rows for missing vectors;
* optional soft constraints add their graded boosts to that score before the top-k (``engine/query/soft.py``,
  ``soft_boost``: the one formula both stores compute); ``iat``/``tat`` of a hit stay the raw cosines.

Collections (ingested roots) are kept in ``collections.json`` beside the table.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import unicodedata
from datetime import datetime, timedelta
from functools import cached_property, singledispatch
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...errors import StoreError
from ..filters import (EARTH_RADIUS_KM, DateRange, Filter, GeoBox, GeoDistance, HourRange, PartOfDay, Terms,
                       TextMatch, Weekdays, tokens)
from ..query.soft import SoftConstraint, SoftPlace, soft_boost
from ..schema import load_schema
from ..timeparts import WEEKDAYS
from .base import VECTOR_FIELDS, Doc, Hit, VectorQuery

log = logging.getLogger(__name__)

TABLE = "lifelog"
REFRESH_SECONDS = 1.0  # how often a reader looks for a newer table version written by another process


def lance_path(url: str) -> Path:
    """``lance:///abs/dir`` or a bare path -> the directory. Raises StoreError for an empty path."""
    raw = url[len("lance://"):] if url.startswith("lance://") else url
    if not raw:
        raise StoreError(f"store URL {url!r} has no path; use lance:///path/to/dir")
    return Path(raw).expanduser().resolve()


def fold(value: str) -> str:
    """Case- and accent-folded form used for keyword matching (the mapping's ``folding`` normalizer:
    lowercase + asciifolding): ``"Málaga" -> "malaga"``."""
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


class _Snapshot:
    """An immutable columnar view of one table version, with derived arrays built lazily and cached."""

    def __init__(self, table: pa.Table, version: int):
        self.version = version
        self.n = table.num_rows
        self.vectors: dict[str, np.ndarray] = {}
        for name in VECTOR_FIELDS:
            self.vectors[name] = _unit_matrix(table.column(name))
        self.table = table.drop_columns(list(VECTOR_FIELDS))
        self.ids = np.asarray(self.table.column("image_id").to_pylist(), dtype=object)

    @cached_property
    def row_of(self) -> dict[str, int]:
        return {image_id: i for i, image_id in enumerate(self.ids)}

    @cached_property
    def latlon(self) -> tuple[np.ndarray, np.ndarray]:
        loc = self.table.column("location").combine_chunks()
        valid = np.asarray(loc.is_valid())
        lat = np.where(valid, loc.field("lat").to_numpy(zero_copy_only=False), np.nan)
        lon = np.where(valid, loc.field("lon").to_numpy(zero_copy_only=False), np.nan)
        return lat.astype(np.float64), lon.astype(np.float64)

    @cached_property
    def local_seconds(self) -> np.ndarray:
        """local_time as int64 seconds since 1970 (wall clock); missing -> INT64 min."""
        col = self.table.column("local_time").combine_chunks().cast(pa.int64())
        return np.asarray(col.fill_null(np.iinfo(np.int64).min))

    def column(self, name: str) -> pa.Array:
        return self.table.column(name).combine_chunks()

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

    def folded_in(self, name: str, values: Sequence[str], folding: bool = True) -> np.ndarray:
        """Rows whose keyword ``name`` (or any element, for array fields) folds to one of ``values`` (equals one of
        them when ``folding`` is False)."""
        norm = fold if folding else str
        wanted = pa.array(sorted({norm(v) for v in values}), pa.string())
        col = self.column(name)
        parents = None
        if pa.types.is_list(col.type):
            parents = np.asarray(pc.list_parent_indices(col))
            col = pc.list_flatten(col)
        encoded = pc.dictionary_encode(col)
        folded_dict = pa.array([norm(v) for v in encoded.dictionary.to_pylist()], pa.string())
        dict_hit = np.asarray(pc.is_in(folded_dict, value_set=wanted))
        codes = encoded.indices.to_numpy(zero_copy_only=False)
        valid = np.asarray(encoded.indices.is_valid())
        hit = np.zeros(len(codes), dtype=bool)
        hit[valid] = dict_hit[codes[valid].astype(np.int64)]
        if parents is None:
            return hit
        mask = np.zeros(self.n, dtype=bool)
        mask[parents[hit]] = True
        return mask


def _unit_matrix(col: pa.ChunkedArray) -> np.ndarray:
    """(n, d) float32 C-contiguous matrix of L2-normalised rows; missing or zero vectors are zero rows."""
    arr = col.combine_chunks()
    n = len(arr)
    if pa.types.is_fixed_size_list(arr.type):
        d = arr.type.list_size
    else:
        lengths = pc.list_value_length(arr).to_numpy(zero_copy_only=False)
        d = int(np.nanmax(lengths)) if n and np.isfinite(lengths.astype(float)).any() else 0
    out = np.zeros((n, d), dtype=np.float32)
    if n == 0 or d == 0:
        return out
    valid = np.asarray(arr.is_valid())
    if valid.any():
        flat = pc.list_flatten(arr.filter(pa.array(valid))).to_numpy(zero_copy_only=False)
        out[valid] = flat.astype(np.float32, copy=False).reshape(-1, d)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


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
        # tok is letters/digits only (tokens()), so the pattern's shape is fixed; boundaries are non-letter/digit.
        pattern = r"(^|[^\pL\pN])" + tok + r"([^\pL\pN]|$)"
        any_field = np.zeros(snap.n, dtype=bool)
        for name in clause.fields:
            any_field |= _np(pc.match_substring_regex(snap.column(name), pattern, ignore_case=True))
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
    """Embedded store at ``lance:///path``. See the module docstring for how search works."""

    def __init__(self, url: str):
        import lancedb

        self.path = lance_path(url)
        self.url = f"lance://{self.path}"
        self.schema = load_schema()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self._db = lancedb.connect(str(self.path))
        except OSError as exc:
            raise StoreError(f"cannot open store at {self.path}: {exc}") from exc
        self._table = self._open_table()
        self._snap: _Snapshot | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

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
        if self._table is None:
            return {}
        out = {}
        for name in VECTOR_FIELDS:
            t = self._table.schema.field(name).type
            out[name] = t.list_size if pa.types.is_fixed_size_list(t) else 0
        return out

    def ensure_schema(self, dims: dict[str, int]) -> None:
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

    # -- writing --------------------------------------------------------------------------------------------------

    def upsert(self, docs: Sequence[Doc]) -> int:
        if not docs:
            return 0
        if self._table is None:
            raise StoreError("store has no table yet: call ensure_schema first")
        table = self._to_arrow(docs)
        (self._table.merge_insert("image_id").when_matched_update_all().when_not_matched_insert_all()
         .execute(table, on_bad_vectors="null"))  # a missing vector is stored as null, never filled
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
            if f.name in VECTOR_FIELDS:
                values = [None if v is None else np.asarray(v, dtype=np.float32).tolist() for v in values]
            cols.append(pa.array(values, type=f.type))
        return pa.Table.from_arrays(cols, schema=schema)

    def optimize(self) -> None:
        """Compact small fragments left by batched upserts (call at the end of an ingest)."""
        if self._table is not None:
            self._table.optimize()

    # -- reading --------------------------------------------------------------------------------------------------

    def snapshot(self) -> _Snapshot:
        """The current columnar snapshot, reloaded when another write made a newer table version."""
        with self._lock:
            if self._table is None:
                self._table = self._open_table()
                if self._table is None:
                    return _Snapshot(self.schema.arrow_schema({f: 0 for f in VECTOR_FIELDS}).empty_table(), -1)
            now = time.monotonic()
            if self._snap is None or now - self._checked > REFRESH_SECONDS:
                self._table.checkout_latest()
                self._checked = now
            version = self._table.version
            if self._snap is None or self._snap.version != version:
                t0 = time.perf_counter()
                self._snap = _Snapshot(self._table.to_arrow(), version)
                log.info("loaded snapshot v%s: %d rows in %.2fs", version, self._snap.n, time.perf_counter() - t0)
            return self._snap

    def _mask(self, snap: _Snapshot, filters: Sequence[Filter]) -> np.ndarray:
        mask = np.ones(snap.n, dtype=bool)
        for clause in filters:
            mask &= compile_mask(clause, snap)
        return mask

    def existing(self, ids: Iterable[str]) -> dict[str, dict[str, str | None]]:
        snap = self.snapshot()
        rows = [(i, snap.row_of[i]) for i in ids if i in snap.row_of]
        if not rows:
            return {}
        models = snap.table.column("models").take(pa.array([r for _, r in rows])).to_pylist()
        return {i: (m or {}) for (i, _), m in zip(rows, models)}

    def get(self, ids: Sequence[str], with_vectors: bool = False) -> list[Doc]:
        snap = self.snapshot()
        rows = [snap.row_of[i] for i in ids if i in snap.row_of]
        if not rows:
            return []
        docs = snap.table.take(pa.array(rows)).to_pylist()
        if with_vectors:
            for doc, r in zip(docs, rows):
                for name in VECTOR_FIELDS:
                    vec = snap.vectors[name][r] if snap.vectors[name].shape[1] else None
                    doc[name] = vec if vec is not None and vec.any() else None
        return docs

    def count(self, filters: Sequence[Filter] = ()) -> int:
        snap = self.snapshot()
        return int(self._mask(snap, filters).sum()) if filters else snap.n

    def search(self, query: VectorQuery, filters: Sequence[Filter] = (), limit: int = 50, *,
               soft: Sequence[SoftConstraint] = ()) -> list[Hit]:
        snap = self.snapshot()
        rows = np.flatnonzero(self._mask(snap, filters)) if filters else None
        n = snap.n if rows is None else len(rows)
        if n == 0 or limit <= 0:
            return []
        iat = self._cosines(snap.vectors["clip_vec"], query.clip, rows, n)
        tat = self._cosines(snap.vectors["capmeta_vec"], query.tat, rows, n)
        score = query.weights.iat * iat + query.weights.tat * tat
        if soft:
            score = score + self._soft_boost(snap, soft, rows, n)
        k = min(limit, n)
        top = np.argpartition(-score, k - 1)[:k] if k < n else np.arange(n)
        ids = snap.ids if rows is None else snap.ids[rows]
        order = top[np.lexsort((ids[top], -score[top]))]
        picked = order if rows is None else rows[order]
        docs = snap.table.take(pa.array(picked)).to_pylist()
        return [Hit(d["image_id"], float(score[i]), float(iat[i]), float(tat[i]), d) for d, i in zip(docs, order)]

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

    @staticmethod
    def _cosines(matrix: np.ndarray, q: np.ndarray | None, rows: np.ndarray | None, n: int) -> np.ndarray:
        if q is None or matrix.shape[1] == 0:
            return np.zeros(n, dtype=np.float32)
        q = np.asarray(q, dtype=np.float32).reshape(-1)
        if q.shape[0] != matrix.shape[1]:
            raise StoreError(f"query vector has {q.shape[0]} dims, the store holds {matrix.shape[1]}")
        norm = float(np.linalg.norm(q))
        if norm == 0:
            return np.zeros(n, dtype=np.float32)
        q = q / norm
        return (matrix if rows is None else matrix[rows]) @ q

    def neighbours(self, around: datetime, before_s: int, after_s: int, collection: str | None = None,
                   limit: int = 500) -> list[Doc]:
        snap = self.snapshot()
        t = snap.local_seconds
        center = int((around.replace(tzinfo=None) - datetime(1970, 1, 1)) / timedelta(seconds=1))
        mask = (t >= center - before_s) & (t <= center + after_s)
        if collection is not None:
            mask &= snap.folded_in("collection", [collection], folding=False)
        rows = np.flatnonzero(mask)
        rows = rows[np.lexsort((snap.ids[rows], t[rows]))][:limit]
        return snap.table.take(pa.array(rows, pa.int64())).to_pylist()

    def facets(self, fields: Sequence[str], filters: Sequence[Filter] = (), size: int = 20
               ) -> dict[str, list[tuple[str, int]]]:
        snap = self.snapshot()
        mask = self._mask(snap, filters)
        out: dict[str, list[tuple[str, int]]] = {}
        for name in fields:
            if name not in self.schema.facets:
                raise StoreError(f"facet {name!r} is not offered; use one of {list(self.schema.facets)}")
            col = snap.column(name).filter(pa.array(mask))
            if pa.types.is_list(col.type):
                col = pc.list_flatten(col)
            counts = pc.value_counts(col.drop_null()).to_pylist()
            pairs = sorted(((c["values"], c["counts"]) for c in counts), key=lambda p: (-p[1], str(p[0])))
            out[name] = pairs[:size]
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

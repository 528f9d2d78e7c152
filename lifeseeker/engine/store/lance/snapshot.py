"""The columnar snapshot of one table version of the embedded store, and how it is loaded.

A snapshot holds the scalar columns as Arrow arrays (one chunk per column, memory-mapped from the cache) and the
vectors as one ``VectorSet`` (memory-mapped too); derived arrays (id order and ranks, coordinates, soft-constraint
fields, keyword and word indexes) are built lazily, once per snapshot. The store replaces the whole snapshot when
the table version changes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ....errors import StoreError
from ...timeparts import WEEKDAYS
from ..base import VECTOR_FIELDS
from .cache import Cache, ids_digest
from .index import KeywordIndex, _Postings
from .vectors import VectorSet, unit_rows, vector_block

if TYPE_CHECKING:
    from .ann import AnnIndex
    from .table import LanceTable

log = logging.getLogger(__name__)

_BUILD_LOCK = threading.Lock()
HINT_SIZE = 65536  # remembered hit rows per snapshot (``Snapshot.remember``)


class Snapshot:
    """An immutable columnar view of one table version (scalar columns as Arrow, vectors as a VectorSet), with
    derived arrays built lazily and cached."""

    def __init__(self, table: pa.Table, version: int, vectors: VectorSet, ids_digest: str = ""):
        self.version = version
        self.ids_digest = ids_digest  # ids_digest of the image ids in row order (ties cache files to this order)
        self.n = table.num_rows
        self.vectors_set = vectors
        self.vectors: dict[str, np.ndarray] = {name: vectors.field(name) for name in VECTOR_FIELDS}
        # one chunk per column: taking the k hits' rows from a table of many scan batches costs ~100 ms at 100k
        self.table = table.drop_columns([c for c in VECTOR_FIELDS if c in table.column_names]).combine_chunks()
        self._columns: dict[str, pa.Array] = {}
        self._keywords: dict[tuple[str, bool], KeywordIndex] = {}
        self._postings: dict[str, _Postings] = {}
        self.ann: AnnIndex | None = None
        self.masks: OrderedDict[Any, Any] = OrderedDict()  # filter list -> masks.Passing (LRU)
        self._hint: dict[str, int] = {}  # image_id -> row of recent hits (``remember``)

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

    def remember(self, ids: Sequence[str], rows: np.ndarray) -> None:
        """Note the rows of ids just returned as hits, so that looking them up again in this request (events,
        feedback, "more like this") is a dict lookup, not a binary search; at most ``HINT_SIZE`` ids are kept."""
        if len(self._hint) + len(ids) > HINT_SIZE:
            self._hint = {}
        self._hint.update(zip(ids, (int(r) for r in rows)))

    def row_of(self, image_id: str) -> int | None:
        """The row holding ``image_id``, or None: a remembered hit's row (``remember``), else a binary search over
        ``id_order`` (~20 string compares)."""
        hint = self._hint.get(image_id)
        if hint is not None:
            return hint
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

    def keywords(self, name: str, folding: bool) -> KeywordIndex:
        """The inverted index of keyword column ``name`` (values folded when ``folding``), built once per
        snapshot (see ``KeywordIndex``)."""
        key = (name, folding)
        index = self._keywords.get(key)
        if index is None:
            index = self._keywords[key] = KeywordIndex(self.column(name), self.n, folding)
        return index

    def folded_counts(self, name: str, mask: np.ndarray) -> list[tuple[str, int]]:
        """Facet counts of keyword ``name`` with the folding normalizer among rows passing ``mask``: one bucket per
        folded value, counting documents, shown in its most frequent spelling (``KeywordIndex.folded_counts``)."""
        return self.keywords(name, True).folded_counts(mask)

    def folded_in(self, name: str, values: Sequence[str], folding: bool = True) -> np.ndarray:
        """(n,) bool: rows whose keyword ``name`` (or any element, for array fields) folds to one of ``values``
        (equals one of them when ``folding`` is False)."""
        return self.keywords(name, folding).mask_in(values)

    def postings(self, name: str) -> _Postings:
        """The word index of text field ``name``, built once per snapshot (see ``_Postings``)."""
        index = self._postings.get(name)
        if index is None:
            with _BUILD_LOCK:
                index = self._postings.get(name)
                if index is None:
                    t0 = time.perf_counter()
                    index = self._postings[name] = _Postings.build(self.column(name))
                    log.info("word index of %s: %d rows, %d words in %.2fs", name, self.n, len(index.words),
                             time.perf_counter() - t0)
        return index

    def warm(self, schema: Any) -> dict[str, float]:
        """Build every derived array a request may need now, rather than inside the first request that needs it:
        the vector matrix's pages faulted in (one read), id order and ranks, coordinates, local times, soft-constraint fields, the keyword index of every
        filterable keyword field (folded where the mapping folds, with its lookup and facet tables) and the word
        index of every full-text field. Returns seconds per part (for the start-up log).

        Args:
            schema: the mapping (``schema.load_schema()``): ``term_fields``, ``array_fields``, ``text_fields``,
                ``facets``, ``properties``.
        """
        spent: dict[str, float] = {}

        def timed(part: str, fn) -> None:
            t0 = time.perf_counter()
            fn()
            spent[part] = time.perf_counter() - t0

        if self.n == 0:
            return spent

        def touch_vectors() -> None:  # fault the memory-mapped matrix's pages in once, not in the first search
            m = self.vectors_set.matrix
            for at in range(0, self.n, 65536):
                float(m[at:at + 65536].sum())
        timed("vectors", touch_vectors)
        for part in ("id_rank", "latlon", "local_seconds", "soft_fields"):
            timed(part, lambda part=part: getattr(self, part))
        for name in sorted(set(schema.term_fields) | set(schema.array_fields)):
            if name not in self.table.column_names:
                continue
            folding = "normalizer" in schema.properties[name]

            def keyword(name=name, folding=folding) -> None:
                index = self.keywords(name, folding)
                _ = index.codes_of
                if name in schema.facets and folding:
                    _ = index._facet_groups
            timed(f"keywords:{name}", keyword)
        if "collection" in self.table.column_names:
            timed("keywords:collection:exact", lambda: self.keywords("collection", False).codes_of)
        for name in sorted(schema.text_fields):
            if name in self.table.column_names:
                timed(f"words:{name}", lambda name=name: self.postings(name))
        return spent

    def word_in(self, name: str, tok: str) -> np.ndarray:
        """(n,) bool: rows whose text field ``name`` holds ``tok`` (a ``text.tokens()`` word: the standard
        analyzer's, UAX #29 boundaries, lower-cased) as a whole word."""
        out = np.zeros(self.n, dtype=bool)
        out[self.postings(name).rows(tok)] = True
        return out


# --- loading a version through the cache ---------------------------------------------------------------------------


def load_snapshot(table: LanceTable, cache: Cache, version: int) -> Snapshot:
    """The snapshot of ``version`` (the version ``table`` has checked out): scalar columns and vector matrix read
    from the cache, built there first when missing (``Cache.cached``).

    Raises:
        StoreError: the table changed while its vectors were being read.
    """
    scalars = _scalar_table(table, cache, version)
    ids = scalars.column("image_id").combine_chunks()
    digest = ids_digest(ids)
    dims = table.dims()
    vectors = VectorSet(_vector_matrix(table, cache, version, dims, ids, digest), dims)
    return Snapshot(scalars, version, vectors, digest)


def _scalar_table(table: LanceTable, cache: Cache, version: int) -> pa.Table:
    """The scalar (non-vector) columns of ``version``, one chunk per column.

    Read from an Arrow IPC file under the cache and memory-mapped, so the columns of one version occupy the
    page cache once however many processes (gunicorn workers) serve the store, and a restart reads no
    LanceDB data; written (under the file lock) by the first process that loads the version."""
    scalar = table.scalar_columns()
    identity = cache.manifest_identity(version)

    def scan() -> pa.Table:
        return table.scan(scalar).to_arrow().combine_chunks()

    def write(tmp: Path) -> None:
        data = scan()
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, data.schema) as writer:
            writer.write_table(data, max_chunksize=max(1, data.num_rows))

    if identity is None:
        return scan()
    return cache.cached(version, f"scalars-v{version}.arrow", {"manifest": identity, "columns": scalar}, write,
                        lambda path: pa.ipc.open_file(pa.memory_map(str(path))).read_all(), scan)


def _vector_matrix(table: LanceTable, cache: Cache, version: int, dims: dict[str, int], ids: pa.Array,
                   digest: str) -> np.ndarray:
    """(n, D) float32 unit rows in the order of ``ids`` (the snapshot's image_id column, ``ids_digest``
    ``digest``): memory-mapped from the cache, built once per version."""
    n, width = len(ids), sum(dims.values())
    if n == 0 or width == 0:
        return np.zeros((n, width), dtype=np.float32)

    def write(tmp: Path) -> None:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, width))
        _fill_vectors(table, out, dims, ids)
        out.flush()

    def in_memory() -> np.ndarray:
        out = np.empty((n, width), dtype=np.float32)
        _fill_vectors(table, out, dims, ids)
        return out

    want = {"n": n, "dims": dims, "ids": digest, "manifest": cache.manifest_identity(version)}
    return cache.cached(version, f"vectors-v{version}.npy", want, write,
                        lambda path: np.asarray(np.load(path, mmap_mode="r")), in_memory)


def _fill_vectors(table: LanceTable, out: np.ndarray, dims: dict[str, int], ids: pa.Array) -> None:
    """Fill ``out`` (n, D) with the unit vectors, streamed from the table in batches, rows in ``ids`` order."""
    fields = [name for name in VECTOR_FIELDS if dims.get(name)]
    at = 0
    order = None
    for batch in table.scan(["image_id", *fields]).to_batches(65536):
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
                block[:, col:col + d] = vector_block(batch.column(name), d)
                col += d
        # each field normalised on its own
        col = 0
        for name in VECTOR_FIELDS:
            d = dims.get(name, 0)
            if d:
                unit_rows(block[:, col:col + d])
                col += d
        out[rows] = block
        at += m
    if at != len(ids):
        raise StoreError(f"store {table.path} changed while loading vectors ({at} rows, expected {len(ids)})")

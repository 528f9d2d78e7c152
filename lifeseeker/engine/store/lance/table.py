"""The embedded store's LanceDB table and its directory: connection, schema, writes, versions, collections.

Storage is one LanceDB table (``lifelog``) whose columns derive from ``mappings/lifelog.json``; upserts are
``merge_insert`` on ``image_id`` (idempotent). Collections (ingested roots) are kept in ``collections.json`` beside
the table.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyarrow as pa

from ....errors import StoreError
from ...schema import Schema
from ..base import VECTOR_FIELDS, Doc

TABLE = "lifelog"
REFRESH_SECONDS = 1.0  # how often a reader looks for a newer table version written by another process (~0.3 ms)


def lance_path(url: str) -> Path:
    """``lance:///abs/dir`` or a bare path -> the directory. Raises StoreError for an empty path."""
    raw = url[len("lance://"):] if url.startswith("lance://") else url
    if not raw:
        raise StoreError(f"store URL {url!r} has no path; use lance:///path/to/dir")
    return Path(raw).expanduser().resolve()


class LanceTable:
    """The ``lifelog`` table in the store directory ``path``, connected on first use in the process that uses it.

    Args:
        path: the store directory (exists).
        schema: the mapping (``schema.load_schema()``).
    """

    def __init__(self, path: Path, schema: Schema):
        self.path = path
        self.schema = schema
        self._pid: int | None = None  # LanceDB is connected on first use, in the process that uses it
        self._db = None
        self._table = None
        self._checked = 0.0
        self._signal: int | None = None
        self._version = -1

    @property
    def versions_dir(self) -> Path:
        """The table's ``_versions`` directory (one manifest per committed version)."""
        return self.path / f"{TABLE}.lance" / "_versions"

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

    def _require(self):
        """The open table; raises StoreError before ``ensure_schema``."""
        self._after_fork()
        if self._table is None:
            raise StoreError("store has no table yet: call ensure_schema first")
        return self._table

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
        """Create the table with vector widths ``dims`` if absent. Raises StoreError if it exists with other widths
        or another schema version."""
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
        self._add_missing_columns(dims)

    def _add_missing_columns(self, dims: dict[str, int]) -> None:
        """Migration of a table written before the mapping gained fields (``content_hash``, ``copies``,
        ``time_source``, ...): the new nullable columns are added, all null (LanceDB ``add_columns`` with Arrow
        fields), so an existing store keeps working and its rows are filled in on the next ingest."""
        have = set(self._table.schema.names)
        missing = [f for f in self.schema.arrow_schema(dims) if f.name not in have]
        if missing:
            self._table.add_columns(missing)
            self._checked = 0.0

    def scalar_columns(self) -> list[str]:
        """Names of the table's non-vector columns, in table order."""
        return [f.name for f in self._require().schema if f.name not in VECTOR_FIELDS]

    def row_count(self) -> int:
        """Rows in the table now (LanceDB's count, no snapshot load); 0 before ``ensure_schema``."""
        self._after_fork()
        return 0 if self._table is None else int(self._table.count_rows())

    # -- writing --------------------------------------------------------------------------------------------------

    def upsert(self, docs: Sequence[Doc]) -> int:
        """Insert or replace ``docs`` by ``image_id`` (``merge_insert``); returns the number written."""
        if not docs:
            return 0
        self._require()
        table = self._to_arrow(docs)
        (self._table.merge_insert("image_id").when_matched_update_all().when_not_matched_insert_all()
         .execute(table, on_bad_vectors="null"))  # a missing vector is stored as null, never filled
        self._checked = 0.0
        return table.num_rows

    def delete(self, ids: Sequence[str]) -> int:
        """Delete the rows whose ``image_id`` is in ``ids``; returns how many of ``ids`` were stored.

        LanceDB deletes by a SQL predicate; each id becomes a string literal with ``'`` doubled (SQL's only escape
        inside a literal), so an id never changes the predicate's structure (tests/test_ingest_reconcile.py deletes
        an id holding a quote and a parenthesis).
        """
        ids = list(dict.fromkeys(ids))
        if not ids:
            return 0
        table = self._require()
        before = table.count_rows()
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            literals = ", ".join("'" + i.replace("'", "''") + "'" for i in chunk)
            table.delete(f"image_id IN ({literals})")
        self._checked = 0.0
        return before - table.count_rows()

    def append_arrow(self, table: pa.Table) -> int:
        """Bulk load: add rows whose ``image_id`` is known to be new (no id check, unlike ``upsert``: a repeated
        id would be stored twice). ``table`` holds the mapping's columns (any order; missing ones must be
        nullable and are filled with nulls). Returns the number of rows added.

        Raises:
            StoreError: no table yet, or a column does not convert to the store's type.
        """
        schema = self._require().schema
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

    def latest_version(self, force: bool = False) -> int | None:
        """The newest committed table version (None while there is no table), looked up again when ``force``, when
        the ``_versions`` directory changed, or every ``REFRESH_SECONDS``.

        Cheap refresh check: the table's ``_versions`` directory changes (mtime) when any process commits a
        version; a stat is microseconds, while asking LanceDB (checkout_latest, version) is a round trip to its
        event-loop thread (0.3 ms idle, tens of ms on a loaded machine). A periodic check every REFRESH_SECONDS
        covers commits within one mtime tick. Not thread-safe: the store calls it under its lock."""
        self._after_fork()
        if self._table is None:
            self._table = self._open_table()
            if self._table is None:
                return None
        now = time.monotonic()
        signal = self._version_signal()
        if force or signal != self._signal or now - self._checked > REFRESH_SECONDS:
            self._table.checkout_latest()
            self._version = self._table.version
            self._checked, self._signal = now, signal
        return self._version

    def _version_signal(self) -> int | None:
        """mtime (ns) of the table's ``_versions`` directory, or None when it cannot be read."""
        try:
            return os.stat(self.versions_dir).st_mtime_ns
        except OSError:
            return None

    def scan(self, columns: Sequence[str]):
        """A LanceDB query over every row of the checked-out version, reading ``columns`` only."""
        return self._table.search().select(list(columns)).limit(None)

    # -- collections ----------------------------------------------------------------------------------------------

    @property
    def _collections_file(self) -> Path:
        return self.path / "collections.json"

    def collections(self) -> dict[str, str]:
        """``collection name -> absolute root`` from ``collections.json`` (``{}`` when absent). Raises StoreError
        when the file cannot be read or parsed."""
        try:
            return json.loads(self._collections_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise StoreError(f"{self._collections_file}: unreadable ({exc})") from exc

    def set_collection(self, name: str, root: str) -> None:
        """Record ``name -> resolved root`` in ``collections.json`` (atomically: a temporary file, then a rename)."""
        data = self.collections()
        data[name] = str(Path(root).resolve())
        tmp = self._collections_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self._collections_file)


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

"""Filter clauses as boolean masks over the embedded store's snapshot: the store's translation of
``engine/filters.py`` (Elasticsearch's is its query DSL).

Each filter clause compiles to a boolean mask over the snapshot's columns with Arrow compute kernels or numpy
(``compile_mask``, one function per clause type); values travel as typed scalars and are never spliced into query
text, so no value can change a query's shape. The rows passing a filter list are cached per snapshot
(``passing``: ``count`` after ``search`` costs nothing).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from functools import singledispatch
from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...filters import (EARTH_RADIUS_KM, DateRange, Filter, GeoBox, GeoDistance, HourRange, PartOfDay, Terms,
                        TextMatch, Weekdays)
from ...schema import load_schema
from ...text import tokens
from .snapshot import Snapshot

MASK_CACHE_SIZE = 8


@singledispatch
def compile_mask(clause: Filter, snap: Snapshot) -> np.ndarray:
    """Boolean (n,) mask of the rows of ``snap`` that pass ``clause``."""
    raise TypeError(f"no LanceStore translation for {type(clause).__name__}")


def _np(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(mask, False))


@compile_mask.register
def _(clause: DateRange, snap: Snapshot) -> np.ndarray:
    col = snap.column("date")
    mask = pc.is_valid(col)
    if clause.start:
        mask = pc.and_(mask, pc.greater_equal(col, pa.scalar(clause.start.isoformat())))
    if clause.end:
        mask = pc.and_(mask, pc.less_equal(col, pa.scalar(clause.end.isoformat())))
    return _np(mask)


@compile_mask.register
def _(clause: HourRange, snap: Snapshot) -> np.ndarray:
    return _np(pc.is_in(snap.column("hour"), value_set=pa.array(clause.hours(), pa.int8())))


@compile_mask.register
def _(clause: Weekdays, snap: Snapshot) -> np.ndarray:
    return _np(pc.is_in(snap.column("weekday"), value_set=pa.array(sorted(clause.days))))


@compile_mask.register
def _(clause: PartOfDay, snap: Snapshot) -> np.ndarray:
    return _np(pc.is_in(snap.column("part_of_day"), value_set=pa.array(sorted(clause.parts))))


@compile_mask.register
def _(clause: Terms, snap: Snapshot) -> np.ndarray:
    # fold only where the mapping gives the field the folding normalizer, as Elasticsearch does
    folding = "normalizer" in load_schema().properties[clause.field]
    return snap.folded_in(clause.field, clause.values, folding=folding)


@compile_mask.register
def _(clause: GeoDistance, snap: Snapshot) -> np.ndarray:
    lat, lon = snap.latlon
    return haversine_km(lat, lon, clause.lat, clause.lon) <= clause.radius_km


@compile_mask.register
def _(clause: GeoBox, snap: Snapshot) -> np.ndarray:
    lat, lon = snap.latlon
    with np.errstate(invalid="ignore"):
        in_lat = (lat <= clause.top) & (lat >= clause.bottom)
        if clause.left <= clause.right:
            in_lon = (lon >= clause.left) & (lon <= clause.right)
        else:  # crosses the antimeridian
            in_lon = (lon >= clause.left) | (lon <= clause.right)
    return in_lat & in_lon


@compile_mask.register
def _(clause: TextMatch, snap: Snapshot) -> np.ndarray:
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


@singledispatch
def compile_rows(clause: Filter, snap: Snapshot) -> np.ndarray | None:
    """Sorted unique int64 rows of ``snap`` passing ``clause`` straight from an inverted index (``Terms``,
    ``TextMatch``), at a cost proportional to the matching rows; None for a clause that needs a column scan
    (``compile_mask``)."""
    return None


@compile_rows.register
def _(clause: Terms, snap: Snapshot) -> np.ndarray:
    folding = "normalizer" in load_schema().properties[clause.field]
    return snap.keywords(clause.field, folding).rows_in(clause.values)


@compile_rows.register
def _(clause: TextMatch, snap: Snapshot) -> np.ndarray:
    rows: np.ndarray | None = None
    for tok in tokens(clause.text):
        any_field = _union([snap.postings(name).rows(tok) for name in clause.fields])
        rows = any_field if rows is None else _intersect(rows, any_field)
        if len(rows) == 0:
            break
    return np.arange(snap.n, dtype=np.int64) if rows is None else rows


def _union(parts: Sequence[np.ndarray]) -> np.ndarray:
    """Sorted unique int64 union of sorted row arrays."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return np.zeros(0, dtype=np.int64)
    if len(parts) == 1:
        return parts[0].astype(np.int64)
    return np.unique(np.concatenate(parts)).astype(np.int64, copy=False)


def _intersect(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sorted int64 intersection of two sorted unique row arrays: the smaller one probed into the larger with a
    binary search (``O(small * log(large))``)."""
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    if len(small) == 0:
        return np.zeros(0, dtype=np.int64)
    at = np.searchsorted(large, small)
    at[at == len(large)] = 0
    return small[large[at] == small].astype(np.int64, copy=False)


class Passing:
    """The rows of a snapshot passing a filter list: ``rows`` (sorted int64) always, ``mask`` ((n,) bool) made from
    them on first use (the ANN bitmap and facets need it; exact search and ``count`` do not)."""

    def __init__(self, n: int, rows: np.ndarray, mask: np.ndarray | None = None):
        self.n, self.rows, self._mask = n, rows, mask

    @property
    def mask(self) -> np.ndarray:
        if self._mask is None:
            mask = np.zeros(self.n, dtype=bool)
            mask[self.rows] = True
            self._mask = mask
        return self._mask

    def __iter__(self):  # (mask, rows), as the store's callers unpack it
        return iter((self.mask, self.rows))


def passing_rows(snap: Snapshot, filters: Sequence[Filter]) -> Passing:
    """The rows of ``snap`` passing every clause of ``filters`` (all rows for none). Index-backed clauses
    (``compile_rows``) are intersected as sorted row lists, the smallest first, so a selective filter costs in
    proportion to its matching rows; a clause that needs a column scan (``compile_mask``) is a mask over the
    table, then narrowed to the rows in hand."""
    sets, scans = [], []
    for clause in filters:
        rows = compile_rows(clause, snap)
        (scans if rows is None else sets).append(clause if rows is None else rows)
    if not sets:
        mask = mask_of(snap, scans)
        return Passing(snap.n, np.flatnonzero(mask).astype(np.int64, copy=False), mask)
    sets.sort(key=len)
    rows = sets[0]
    for other in sets[1:]:
        rows = _intersect(rows, other)
    for clause in scans:
        if len(rows) == 0:
            break
        rows = rows[compile_mask(clause, snap)[rows]]
    return Passing(snap.n, rows)


def mask_of(snap: Snapshot, filters: Sequence[Filter]) -> np.ndarray:
    """(n,) bool: the rows of ``snap`` passing every clause of ``filters`` (all rows for none)."""
    mask = np.ones(snap.n, dtype=bool)
    for clause in filters:
        mask &= compile_mask(clause, snap)
    return mask


def passing(snap: Snapshot, filters: Sequence[Filter], lock: AbstractContextManager) -> Passing:
    """The rows passing ``filters`` (``passing_rows``), cached per snapshot (LRU of ``MASK_CACHE_SIZE`` filter
    lists in ``snap.masks``, guarded by ``lock``; unhashable filter lists are not cached)."""
    key: Any = tuple(filters)
    try:
        hash(key)
    except TypeError:
        key = None
    if key is not None:
        with lock:
            hit = snap.masks.get(key)
            if hit is not None:
                snap.masks.move_to_end(key)
                return hit
    out = passing_rows(snap, filters)
    if key is not None:
        with lock:
            snap.masks[key] = out
            while len(snap.masks) > MASK_CACHE_SIZE:
                snap.masks.popitem(last=False)
    return out

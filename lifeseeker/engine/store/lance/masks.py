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


def mask_of(snap: Snapshot, filters: Sequence[Filter]) -> np.ndarray:
    """(n,) bool: the rows of ``snap`` passing every clause of ``filters`` (all rows for none)."""
    mask = np.ones(snap.n, dtype=bool)
    for clause in filters:
        mask &= compile_mask(clause, snap)
    return mask


def passing(snap: Snapshot, filters: Sequence[Filter], lock: AbstractContextManager) -> tuple[np.ndarray, np.ndarray]:
    """(mask, sorted row numbers) of the rows passing ``filters``, cached per snapshot (LRU of
    ``MASK_CACHE_SIZE`` filter lists in ``snap.masks``, guarded by ``lock``; unhashable filter lists are not
    cached)."""
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
    mask = mask_of(snap, filters)
    out = (mask, np.flatnonzero(mask))
    if key is not None:
        with lock:
            snap.masks[key] = out
            while len(snap.masks) > MASK_CACHE_SIZE:
                snap.masks.popitem(last=False)
    return out

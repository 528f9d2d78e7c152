"""Documents to ``_source`` and back: the bulk body of one document, and hits, facets and neighbours read from
search responses into the embedded store's document shape."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Sequence

import numpy as np

from ....errors import StoreError
from ...schema import load_schema
from ...text import fold
from ..base import VECTOR_FIELDS, Doc, Hit


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def shortest_float32(v: Any) -> list[float]:
    """``v`` as float32, each value the shortest decimal that reads back as the same float32 (``0.1``, not
    ``0.10000000149011612``): what Elasticsearch stores (``element_type: float``) at about half the JSON bytes."""
    return [float(x) for x in np.asarray(v, dtype=np.float32).reshape(-1).astype(str)]


def doc_to_source(doc: Doc) -> dict[str, Any]:
    """The ``_source`` sent for ``doc``: datetimes as ISO strings (local_time naive = wall clock), vectors as lists
    of shortest-repr float32 values (:func:`shortest_float32`), ``None`` vectors omitted (a missing vector is
    absent, never zero-filled; zero-norm and non-finite ones are dropped before, by the store).

    Raises:
        StoreError: a field is not in the mapping, or ``image_id`` is missing.
    """
    props = load_schema().properties
    unknown = sorted(set(doc) - set(props))
    if unknown:
        raise StoreError(f"document {doc.get('image_id')!r} carries fields not in the mapping: {unknown}")
    if not doc.get("image_id"):
        raise StoreError("document without image_id")
    out = {}
    for k, v in doc.items():
        if k in VECTOR_FIELDS:
            if v is None:
                continue
            v = shortest_float32(v)
        out[k] = _jsonable(v)
    return out


def doc_from_source(src: dict[str, Any], with_vectors: bool) -> Doc:
    """A stored ``_source`` back into the embedded store's document shape: every mapped field present (absent ->
    None), ``local_time`` a naive datetime, ``utc_time`` an aware one, vectors (when asked) float32 arrays or None."""
    schema = load_schema()
    out: Doc = {}
    for name in schema.properties:
        if name in VECTOR_FIELDS:
            if with_vectors:
                v = src.get(name)
                out[name] = None if v is None else np.asarray(v, dtype=np.float32)
            continue
        v = src.get(name)
        if name in ("local_time", "utc_time") and isinstance(v, str):
            v = datetime.fromisoformat(v)
            if name == "local_time" and v.tzinfo is not None:
                v = v.replace(tzinfo=None)
        out[name] = v
    return out


def parse_hits(response: dict[str, Any], weights: dict[str, float], limit: int) -> list[Hit]:
    """Hits of a ``_search`` response from :meth:`ElasticStore.search`, best first, ties by image_id ascending.

    ``iat``/``tat`` come from the ``fields`` of the ``script_fields`` (absent -> 0: no query vector for that term);
    the score is ``weights['clip_vec']*iat + weights['capmeta_vec']*tat + boost`` in float64 (``boost``: the soft
    constraints' script field, 0 when absent). Vectors are dropped from
    ``doc``; date strings become datetimes.
    """
    hits = []
    for h in response.get("hits", {}).get("hits", []):
        fields = h.get("fields") or {}
        iat = float((fields.get("iat") or [0.0])[0])
        tat = float((fields.get("tat") or [0.0])[0])
        boost = float((fields.get("boost") or [0.0])[0])
        score = weights.get("clip_vec", 0.0) * iat + weights.get("capmeta_vec", 0.0) * tat + boost
        doc = doc_from_source(h.get("_source") or {}, with_vectors=False)
        doc["image_id"] = h["_id"]
        hits.append(Hit(h["_id"], float(score), iat, tat, doc))
    hits.sort(key=lambda x: (-x.score, x.image_id))
    return hits[:limit]


def parse_facets(response: dict[str, Any], fields: Sequence[str], size: int) -> dict[str, list[tuple[Any, int]]]:
    """``field -> [(value, count)]`` from a facets response, count desc then value asc, at most ``size`` each.
    Folded keys are shown in an original spelling taken from the ``shown`` top hit when it folds to the key."""
    aggs = response.get("aggregations", {})
    out: dict[str, list[tuple[Any, int]]] = {}
    for name in fields:
        pairs = []
        for b in aggs.get(name, {}).get("buckets", []):
            value = b["key"]
            shown = b.get("shown", {}).get("hits", {}).get("hits", [])
            if shown:
                src = shown[0].get("_source", {}).get(name)
                for cand in (src if isinstance(src, list) else [src]):
                    if isinstance(cand, str) and fold(cand) == fold(str(value)):
                        value = cand
                        break
            pairs.append((value, int(b["doc_count"])))
        pairs.sort(key=lambda p: (-p[1], str(p[0])))
        out[name] = pairs[:size]
    return out


def docs_of(response: dict[str, Any] | None) -> list[Doc]:
    """The documents (without vectors) of a ``_search`` response's hits, in hit order."""
    out = []
    for h in (response or {}).get("hits", {}).get("hits", []):
        doc = doc_from_source(h.get("_source") or {}, with_vectors=False)
        doc["image_id"] = h["_id"]
        out.append(doc)
    return out

"""The one schema: ``lifeseeker/mappings/lifelog.json`` (the Elasticsearch index body).

Everything else derives from it: the embedded store's Arrow columns, which fields a filter clause may name, the
facet list. Nothing in the code base restates field names by hand except where behaviour is field-specific
(time derivation, geo), and ``tests/test_schema.py`` holds those places to this file.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import pyarrow as pa

MAPPING_RESOURCE = "mappings/lifelog.json"

# Elasticsearch field type -> Arrow type of the embedded store's column (dense_vector and object handled apart).
_ARROW_SCALAR = {
    "keyword": pa.string(),
    "text": pa.string(),
    "short": pa.int16(),
    "byte": pa.int8(),
    "integer": pa.int32(),
    "long": pa.int64(),
    "float": pa.float32(),
    "double": pa.float64(),
}
GEO_POINT = pa.struct([("lat", pa.float64()), ("lon", pa.float64())])


@dataclass(frozen=True)
class Schema:
    """Typed view of the mapping file.

    Attributes:
        body: the whole index-creation body (``settings`` + ``mappings``), a deep copy safe to edit.
        properties: field name -> ES field definition.
        array_fields: keyword fields that hold lists (``tags``, ``places``).
        term_fields: keyword fields a ``Terms`` filter may name.
        text_fields: full-text fields a ``TextMatch`` filter may name.
        facets: fields offered as facets.
        vector_fields: dense_vector field -> model role (``clip`` for IaT, ``text`` for TaT).
        version: schema version stored with every index / table.
    """

    body: dict[str, Any]
    properties: dict[str, dict[str, Any]]
    array_fields: frozenset[str]
    term_fields: frozenset[str]
    text_fields: frozenset[str]
    facets: tuple[str, ...]
    vector_fields: dict[str, str]
    version: int

    def field_type(self, name: str) -> str:
        """ES type of ``name`` (``object`` for fields with sub-properties). Raises KeyError if unknown."""
        spec = self.properties[name]
        return spec.get("type", "object")

    def es_body(self, dims: dict[str, int]) -> dict[str, Any]:
        """Index-creation body with ``dims`` filled for each vector field present in ``dims``.

        A vector field whose model is not in use (e.g. no CLIP weights: text-only) keeps no ``dims``; Elasticsearch
        then takes the length of the first vector indexed into it.
        """
        body = copy.deepcopy(self.body)
        for field, n in dims.items():
            body["mappings"]["properties"][field]["dims"] = int(n)
        return body

    def arrow_schema(self, dims: dict[str, int]) -> pa.Schema:
        """Arrow schema of the embedded store's table: one column per mapped field.

        Args:
            dims: vector field -> dimensionality, e.g. ``{"clip_vec": 512, "capmeta_vec": 384}``; every vector field
                must be given (a field with no model in use still needs a width; pass 0 to store it as an empty
                variable list column, always null).
        Raises:
            KeyError: a vector field is missing from ``dims``.
        """
        fields = []
        for name, spec in self.properties.items():
            fields.append(pa.field(name, self._arrow_type(name, spec, dims), nullable=name != "image_id"))
        meta = {"lifeseeker_schema_version": str(self.version)}
        return pa.schema(fields, metadata=meta)

    def _arrow_type(self, name: str, spec: dict[str, Any], dims: dict[str, int]) -> pa.DataType:
        es_type = spec.get("type", "object")
        if es_type == "dense_vector":
            n = dims[name]
            return pa.list_(pa.float32(), n) if n > 0 else pa.list_(pa.float32())
        if es_type == "geo_point":
            return GEO_POINT
        if es_type == "date" and spec.get("format") == "strict_date":
            return pa.string()  # a calendar day (``date``): ISO YYYY-MM-DD text, so string order is day order
        if es_type == "date":
            # local_time is wall-clock time (naive); utc_time is an instant.
            return pa.timestamp("s", tz="UTC") if name == "utc_time" else pa.timestamp("s")
        if es_type == "object":
            return pa.struct([(k, self._arrow_type(k, v, dims)) for k, v in spec["properties"].items()])
        base = _ARROW_SCALAR[es_type]
        return pa.list_(base) if name in self.array_fields else base


@cache
def load_schema() -> Schema:
    """Load and validate the packaged mapping (cached: one parse per process).

    Raises:
        ValueError: the mapping's ``_meta.lifeseeker`` lists a field that has no mapping, or a term field that is
            not a keyword, or a text field that is not text.
    """
    body = json.loads(resources.files("lifeseeker").joinpath(MAPPING_RESOURCE).read_text(encoding="utf-8"))
    props = body["mappings"]["properties"]
    meta = body["mappings"]["_meta"]["lifeseeker"]
    schema = Schema(
        body=body,
        properties=props,
        array_fields=frozenset(meta["array_fields"]),
        term_fields=frozenset(meta["term_fields"]),
        text_fields=frozenset(meta["text_fields"]),
        facets=tuple(meta["facets"]),
        vector_fields=dict(meta["vector_fields"]),
        version=int(meta["schema_version"]),
    )
    for group, want in ((schema.term_fields, "keyword"), (schema.text_fields, "text"),
                        (schema.array_fields, "keyword"), (schema.vector_fields, "dense_vector")):
        for f in group:
            if f not in props:
                raise ValueError(f"{MAPPING_RESOURCE}: _meta names field {f!r} that is not mapped")
            if props[f].get("type") != want:
                raise ValueError(f"{MAPPING_RESOURCE}: field {f!r} must be {want}, is {props[f].get('type')}")
    for f in schema.facets:
        if f not in props:
            raise ValueError(f"{MAPPING_RESOURCE}: facet {f!r} is not mapped")
    return schema

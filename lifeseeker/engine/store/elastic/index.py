"""Index administration: creation from the one mapping, alias-versioned indices and the atomic alias swap.

Layout
    * Documents live in a versioned index ``<index>-v<N>`` reached through the alias ``<index>`` (default
      ``lifeseeker`` -> ``lifeseeker-v1``). :meth:`IndexVersions.new_version` creates ``<index>-v<N+1>``
      (optionally copying the documents with ``_reindex``) and :meth:`IndexVersions.swap_alias` moves the alias in
      one atomic ``POST /_aliases`` call, so a re-ingest with other models is swapped in without a moment of "no
      index".
    * The index body is ``load_schema().es_body(dims)`` (``mappings/lifelog.json``, the one schema). The vector
      fields are ``dense_vector`` with ``similarity: cosine`` and ``index_options: int8_hnsw``: cosine because the
      fused score is defined on raw cosine; ``int8_hnsw`` because it quarters the HNSW graph's vector memory (one
      byte per dimension instead of four) at a small recall cost that only affects *candidate* generation — the
      raw float vectors are kept and every returned score is recomputed from them, so quantisation never changes
      a returned score.
    * From Elasticsearch 9.2 vectors are left out of ``_source`` by default; the index is created with
      ``index.mapping.exclude_source_vectors: false`` on such servers so ``get(..., with_vectors=True)`` still
      returns them.
"""

from __future__ import annotations

from typing import Any

from ....errors import StoreError
from ...schema import load_schema
from ..base import VECTOR_FIELDS
from .client import ElasticClient


class IndexVersions(ElasticClient):
    """The alias ``index`` and its versions ``<index>-v<N>`` on one cluster (see the module docstring).

    Args:
        url: cluster URL.
        index: alias name; documents live in ``<index>-v<N>``.
        **options: connection options of :class:`~.client.ElasticClient`.
    """

    def __init__(self, url: str, index: str = "lifeseeker", **options: Any):
        super().__init__(url, **options)
        self.index = index
        self.schema = load_schema()
        self._dims: dict[str, int] | None = None
        self._schema_version: Any = None

    def _concrete(self) -> list[str]:
        """Indices the alias points to (``[]`` when neither alias nor index exists)."""
        got = self._call("get alias", self.client.indices.get_alias, name=self.index, missing=None)
        if got:
            return sorted(got)
        exists = self._call("index exists", self.client.indices.exists, index=self.index)
        return [self.index] if exists else []

    def index_body(self, dims: dict[str, int]) -> dict[str, Any]:
        """Index-creation body (``settings``, ``mappings``) for ``dims`` (0 = no model: no ``dims``, Elasticsearch
        takes the length of the first vector). Reference:
        https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/dense-vector"""
        body = self.schema.es_body({f: n for f, n in dims.items() if n > 0})
        if self._server_version() >= (9, 2):
            body["settings"].setdefault("index", {})["mapping"] = {"exclude_source_vectors": False}
        return body

    def dims(self) -> dict[str, int]:
        """Vector widths in the current index's mapping (``{}`` when there is no index; 0 = no dims yet)."""
        if self._dims is not None:
            return self._dims
        got = self._call("get mapping", self.client.indices.get_mapping, index=self.index, missing=None)
        if not got:
            return {}
        mapping = next(iter(got.values()))["mappings"]
        props = mapping.get("properties", {})
        self._dims = {f: int(props.get(f, {}).get("dims", 0)) for f in VECTOR_FIELDS}
        self._schema_version = mapping.get("_meta", {}).get("lifeseeker", {}).get("schema_version")
        return self._dims

    def ensure_schema(self, dims: dict[str, int]) -> None:
        """Create ``<index>-v1`` behind the alias ``<index>`` if absent (one ``PUT`` with ``aliases``), else check
        the widths and schema version.

        Raises:
            StoreError: the index exists with other widths or another schema version; the cluster is unreachable.
        """
        if not self._concrete():
            body = self.index_body(dims)
            name = f"{self.index}-v1"
            self._call("create index", self.client.indices.create, index=name, settings=body["settings"],
                       mappings=body["mappings"], aliases={self.index: {}})
            self._dims = None
            return
        self._dims = None
        have = self.dims()
        for name, want in dims.items():
            if have.get(name, 0) != want:
                raise StoreError(
                    f"index {self.index} holds {name} of width {have.get(name)}, the models in use give {want}: "
                    f"create a new index version (lifeseeker es reindex-swap) or use the models it was built with")
        if str(self._schema_version) != str(self.schema.version):
            raise StoreError(f"index {self.index} has schema version {self._schema_version}, this lifeseeker "
                             f"uses {self.schema.version}; re-ingest into a new index version")
        self._add_missing_fields()

    def _add_missing_fields(self) -> None:
        """Fields the mapping gained since the index was made (``content_hash``, ``copies``, ``time_source``, ...)
        are added with one ``PUT _mapping`` (adding a field to an existing mapping is allowed: Elasticsearch's
        update-mapping API, https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-put-mapping);
        the mapping is ``dynamic: strict``, so documents carrying them would otherwise be rejected."""
        got = self._call("get mapping", self.client.indices.get_mapping, index=self.index, missing=None) or {}
        live = set(next(iter(got.values()), {}).get("mappings", {}).get("properties", {})) if got else set()
        missing = {k: v for k, v in self.schema.properties.items() if k not in live}
        if got and missing:
            self._call("put mapping", self.client.indices.put_mapping, index=self.index, properties=missing)

    def new_version(self, dims: dict[str, int] | None = None, copy: bool = True) -> str:
        """Create ``<index>-v<N+1>`` (N = highest existing version) with ``dims`` (default: the current widths) and,
        when ``copy``, fill it from the current index with ``_reindex`` (only sensible when the widths are equal).
        The alias is not moved: call :meth:`swap_alias`. Returns the new index name.

        Reference: https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-reindex
        """
        current = self._concrete()
        dims = dict(self.dims()) if dims is None else dims
        versions = [int(n.rsplit("-v", 1)[1]) for n in current if n.rsplit("-v", 1)[-1].isdigit()]
        existing = self._call("list versions", self.client.indices.get, index=f"{self.index}-v*", missing={})
        versions += [int(n.rsplit("-v", 1)[1]) for n in existing if n.rsplit("-v", 1)[-1].isdigit()]
        name = f"{self.index}-v{max(versions, default=0) + 1}"
        body = self.index_body(dims)
        self._call("create index", self.client.indices.create, index=name, settings=body["settings"],
                   mappings=body["mappings"])
        if copy and current:
            self._call("reindex", self.client.reindex, source={"index": self.index}, dest={"index": name},
                       wait_for_completion=True, refresh=True)
        return name

    def swap_alias(self, new_index: str) -> list[str]:
        """Point the alias at ``new_index`` only, atomically (one ``POST /_aliases`` with remove + add actions).
        Returns the indices it pointed to before (left in place; delete them when satisfied).

        Reference: https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-update-aliases
        """
        old = [n for n in self._concrete() if n != new_index and n != self.index]
        actions: list[dict[str, Any]] = [{"remove": {"index": n, "alias": self.index}} for n in old]
        actions.append({"add": {"index": new_index, "alias": self.index}})
        self._call("swap alias", self.client.indices.update_aliases, actions=actions)
        self._dims = None
        return old

    @property
    def collections_index(self) -> str:
        """Name of the small index holding ``name -> root`` documents."""
        return f"{self.index}-collections"

    def drop(self) -> None:
        """Delete every index of this store (all versions behind the alias and the collections index)."""
        for name in self._concrete() + [self.collections_index]:
            self._call("delete index", self.client.indices.delete, index=name, missing=None)
        self._dims = None

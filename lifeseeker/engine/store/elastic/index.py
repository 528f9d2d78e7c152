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
    * From Elasticsearch 9.2 vectors are left out of ``_source`` by default (``index.mapping.exclude_source_vectors``)
      and that default is kept: a vector is stored once (doc values / HNSW), not a second time as JSON in
      ``_source``. ``get(..., with_vectors=True)`` asks for them explicitly (``_source_exclude_vectors=false``).
    * ``new_version`` copies with an asynchronous ``_reindex`` (``wait_for_completion=false``) and polls the task
      (``GET _tasks/<id>``) so no client timeout re-POSTs a reindex; before the caller swaps the alias the task's
      ``failures``, ``canceled`` and counts are checked.
    * Two processes creating the first index race: the loser's ``resource_already_exists_exception`` is treated as
      "created meanwhile" and the widths are checked as for an existing index.
    * The cached vector widths expire after ``DIMS_TTL_S`` seconds (another process may have swapped the alias).
"""

from __future__ import annotations

import time
import warnings
from typing import Any

from elasticsearch import ApiError
from elasticsearch.exceptions import GeneralAvailabilityWarning

from ....errors import StoreError
from ...schema import load_schema
from ..base import VECTOR_FIELDS
from .client import ElasticClient

DIMS_TTL_S = 30.0  # seconds a read of the mapping's vector widths is trusted
REINDEX_POLL_S = 2.0  # seconds between polls of a reindex task


def _error_type(exc: BaseException) -> str | None:
    """The Elasticsearch ``error.type`` behind a StoreError raised by ``_call`` (None when there is none)."""
    cause = exc.__cause__
    body = getattr(cause, "body", None) if isinstance(cause, ApiError) else None
    err = body.get("error") if isinstance(body, dict) else None
    return err.get("type") if isinstance(err, dict) else None


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
        self._dims_at = 0.0
        self._schema_version: Any = None
        self.reindex_timeout_s = 24 * 3600.0

    def _concrete(self) -> list[str]:
        """Indices the alias points to (``[]`` when neither alias nor index exists)."""
        got = self._call("get alias", self.client.indices.get_alias, name=self.index, missing=None)
        if got:
            return sorted(got)
        exists = self._call("index exists", self.client.indices.exists, index=self.index)
        return [self.index] if exists else []

    def _alias_is_an_index(self) -> bool:
        """True when ``self.index`` names a concrete index rather than an alias."""
        got = self._call("get alias", self.client.indices.get_alias, name=self.index, missing=None)
        return not got and bool(self._call("index exists", self.client.indices.exists, index=self.index))

    def index_body(self, dims: dict[str, int]) -> dict[str, Any]:
        """Index-creation body (``settings``, ``mappings``) for ``dims`` (0 = no model: no ``dims``, Elasticsearch
        takes the length of the first vector). Reference:
        https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/dense-vector"""
        return self.schema.es_body({f: n for f, n in dims.items() if n > 0})

    def dims(self) -> dict[str, int]:
        """Vector widths in the current index's mapping (``{}`` when there is no index; 0 = no dims yet), re-read
        after ``DIMS_TTL_S`` seconds."""
        if self._dims is not None and time.monotonic() - self._dims_at < DIMS_TTL_S:
            return self._dims
        got = self._call("get mapping", self.client.indices.get_mapping, index=self.index, missing=None)
        if not got:
            return {}
        mapping = next(iter(got.values()))["mappings"]
        props = mapping.get("properties", {})
        self._dims = {f: int(props.get(f, {}).get("dims", 0)) for f in VECTOR_FIELDS}
        self._dims_at = time.monotonic()
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
            try:
                self._call("create index", self.client.indices.create, index=name, settings=body["settings"],
                           mappings=body["mappings"], aliases={self.index: {}})
                self._dims = None
                return
            except StoreError as exc:  # another process created it between our check and our PUT
                if _error_type(exc) != "resource_already_exists_exception":
                    raise
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

        Raises:
            StoreError: ``index`` names a concrete index (no alias can take its name); the copy failed
                (:meth:`reindex_into`).
        """
        if self._alias_is_an_index():
            raise StoreError(f"{self.index} is a concrete index, not an alias: versions need the name for the alias "
                             f"(reindex it into {self.index}-v1, delete it, then add the alias {self.index})")
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
            self.reindex_into(name)
        return name

    def reindex_into(self, dest: str) -> dict[str, Any]:
        """Copy every document of the alias into ``dest`` with an asynchronous ``_reindex`` and wait for the task
        (polled every ``REINDEX_POLL_S`` s, at most ``reindex_timeout_s``).

        Returns:
            the task's ``response`` (``total``, ``created``, ``updated``, ``failures``...).
        Raises:
            StoreError: the task reports failures, was canceled, ended in an error, copied fewer documents than it
                found, or did not finish in time (the alias is then not to be swapped).
        Reference: https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-reindex (running
        asynchronously: ``wait_for_completion=false`` answers ``{"task": id}``) and
        https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-tasks (``completed``, ``response``,
        ``error``).
        """
        started = self._call("reindex", self.client.reindex, source={"index": self.index}, dest={"index": dest},
                             wait_for_completion=False, refresh=True)
        task_id = started["task"]
        deadline = time.monotonic() + self.reindex_timeout_s
        while True:
            with warnings.catch_warnings():  # the task API is "technical preview" in the client; it is the way
                warnings.simplefilter("ignore", GeneralAvailabilityWarning)  # to follow an async reindex
                got = self._call("reindex task", self.client.tasks.get, task_id=task_id)
            if got.get("completed"):
                break
            if time.monotonic() > deadline:
                raise StoreError(f"reindex into {dest} (task {task_id}) still running after "
                                 f"{self.reindex_timeout_s:.0f} s; not swapping (check GET _tasks/{task_id})")
            time.sleep(REINDEX_POLL_S)
        if got.get("error"):
            err = got["error"]
            raise StoreError(f"reindex into {dest} failed: {err.get('type')}: {err.get('reason')}")
        resp = got.get("response") or {}
        failures = resp.get("failures") or []
        if failures:
            shown = "; ".join(f"{f.get('id')}: {(f.get('cause') or {}).get('reason', f)}" if isinstance(f, dict)
                              else str(f) for f in failures[:5])
            raise StoreError(f"reindex into {dest}: {len(failures)} failures: {shown}")
        if resp.get("canceled"):
            raise StoreError(f"reindex into {dest} was canceled: {resp['canceled']}")
        copied = int(resp.get("created", 0)) + int(resp.get("updated", 0))
        if copied != int(resp.get("total", copied)):
            raise StoreError(f"reindex into {dest} copied {copied} of {resp.get('total')} documents "
                             f"(version conflicts {resp.get('version_conflicts', 0)}, noops {resp.get('noops', 0)})")
        return resp

    def swap_alias(self, new_index: str) -> list[str]:
        """Point the alias at ``new_index`` only, atomically (one ``POST /_aliases`` with remove + add actions).
        Returns the indices it pointed to before (left in place; delete them when satisfied).

        Raises:
            StoreError: ``index`` names a concrete index (see :meth:`new_version`).
        Reference: https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-update-aliases
        """
        if self._alias_is_an_index():
            raise StoreError(f"{self.index} is a concrete index, not an alias: cannot point an alias of that name "
                             f"at {new_index}")
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

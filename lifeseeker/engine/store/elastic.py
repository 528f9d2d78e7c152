"""The Elasticsearch store: the same protocol as the embedded store, for a cluster (shards, replicas, Kibana).

Layout
    * Documents live in a versioned index ``<index>-v<N>`` reached through the alias ``<index>`` (default
      ``lifeseeker`` -> ``lifeseeker-v1``). :meth:`ElasticStore.new_version` creates ``<index>-v<N+1>`` (optionally
      copying the documents with ``_reindex``) and :meth:`ElasticStore.swap_alias` moves the alias in one atomic
      ``POST /_aliases`` call, so a re-ingest with other models is swapped in without a moment of "no index".
    * The index body is ``load_schema().es_body(dims)`` (``mappings/lifelog.json``, the one schema). The vector
      fields are ``dense_vector`` with ``similarity: cosine`` and ``index_options: int8_hnsw``: cosine because the
      fused score is defined on raw cosine; ``int8_hnsw`` because it quarters the HNSW graph's vector memory (one
      byte per dimension instead of four) at a small recall cost that only affects *candidate* generation — the
      raw float vectors are kept and every returned score is recomputed from them (``cosineSimilarity`` in a
      script reads the float values, not the quantised ones), so quantisation never changes a returned score.
    * From Elasticsearch 9.2 vectors are left out of ``_source`` by default; the index is created with
      ``index.mapping.exclude_source_vectors: false`` on such servers so ``get(..., with_vectors=True)`` still
      returns them.
    * Collections (name -> root folder) are documents of a small separate index ``<index>-collections``
      (``_id`` = name), independent of the versioned document index so an alias swap keeps them.

Search (one ``_search`` per query, plus a ``_count`` to choose the path)
    * The filter clauses compile to one ``bool.filter`` (:func:`compile_clause`, one function per clause class,
      values passed as values inside ``elasticsearch.dsl`` objects, never spliced into query strings).
    * If ``count(filter) <= exact_threshold`` the query is an exact ``script_score`` over every filtered document.
      Otherwise it is approximate candidate generation: two ``knn`` clauses (``clip_vec``, ``capmeta_vec``), each
      carrying the same filter (applied during the HNSW search), then a ``rescore`` whose ``script_score`` computes
      the fused score over the whole candidate window, with ``query_weight: 0`` and ``rescore_query_weight: 1``,
      so a document found by only one clause still gets both terms. Text-only mode sends only the TaT clause.
    * The script is ``W_IaT*cosineSimilarity(q_clip,'clip_vec') + W_TaT*cosineSimilarity(q_tat,'capmeta_vec')``
      with ``doc[f].size() == 0`` guards (a missing vector contributes 0). Lucene forbids negative scores, so the
      script adds the constant ``offset = W_IaT + W_TaT`` (the lowest possible fused score is ``-offset``); it
      changes no order and :func:`parse_hits` subtracts it. The components come back per hit as ``script_fields``
      ``iat`` and ``tat`` (raw cosines computed by the same painless function, as doubles), and the returned score
      is ``W_IaT*iat + W_TaT*tat`` computed client-side in float64 — the same number the embedded store returns, not
      Elasticsearch's ``(1+cos)/2`` kNN score and without float32 ``_score`` rounding.
    * Ties are broken by ``image_id`` ascending client-side (the exact path also sorts ``_score`` desc,
      ``image_id`` asc in Elasticsearch so the fetched window is deterministic). A few more hits than ``limit``
      are fetched so float32 ``_score`` rounding cannot push the true ``limit``-th hit out of the window.

Failures
    Connection errors and timeouts are retried by the transport; 429 and 502/503/504 answers by ``_call`` (the
    transport would retry those at once, without waiting). Both ``retries`` times with exponential backoff with
    jitter (base ``backoff_s``, cap 30 s), then raised as :class:`~lifeseeker.errors.StoreError` (the web app
    answers 503). Worst case per store call: ``(retries + 1) * timeout_s`` plus the backoff.
"""

from __future__ import annotations

import logging
import math
import random
import time
from datetime import date, datetime, timedelta
from functools import singledispatch
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar

import numpy as np
from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError
from elasticsearch import helpers
from elasticsearch.dsl import Q
from elasticsearch.dsl.query import Query

from ...errors import StoreError
from ..filters import DateRange, Filter, GeoBox, GeoDistance, HourRange, PartOfDay, Terms, TextMatch, Weekdays
from ..query.soft import (EPOCH, SoftConstraint, SoftDateRange, SoftHours, SoftMonths, SoftNear, SoftPlace,
                          SoftWeekdays)
from ..text import fold, tokens
from ..timeparts import WEEKDAYS
from ..schema import load_schema
from .base import VECTOR_FIELDS, Doc, Hit, VectorQuery

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_STATUS = (429, 502, 503, 504)
MAX_WINDOW = 10_000  # index.max_result_window default: the most hits one request may page through
FETCH_MARGIN = 10  # extra hits fetched beyond ``limit`` (see module docstring)
SCRIPT_LANG = "painless"
# field -> (query-vector param, weight param) of the fused script's terms; names are constants, never user data.
_TERMS = {"clip_vec": ("q_clip", "w_iat"), "capmeta_vec": ("q_tat", "w_tat")}
_COMPONENT = {"clip_vec": "iat", "capmeta_vec": "tat"}


# --- filter compilation: one function per clause ------------------------------------------------------------------


@singledispatch
def compile_clause(clause: Filter) -> Query:
    """``elasticsearch.dsl`` query for one filter clause (used in ``bool.filter`` and each ``knn.filter``).

    Raises:
        TypeError: no translation for the clause class.
    """
    raise TypeError(f"no ElasticStore translation for {type(clause).__name__}")


@compile_clause.register
def _(clause: DateRange) -> Query:
    # ``date`` is a keyword holding ISO YYYY-MM-DD, so lexicographic range == calendar range (both ends inclusive).
    bounds = {}
    if clause.start:
        bounds["gte"] = clause.start.isoformat()
    if clause.end:
        bounds["lte"] = clause.end.isoformat()
    return Q("range", date=bounds)


@compile_clause.register
def _(clause: HourRange) -> Query:
    return Q("terms", hour=clause.hours())


@compile_clause.register
def _(clause: Weekdays) -> Query:
    return Q("terms", weekday=sorted(clause.days))


@compile_clause.register
def _(clause: PartOfDay) -> Query:
    return Q("terms", part_of_day=sorted(clause.parts))


@compile_clause.register
def _(clause: Terms) -> Query:
    # The field's ``folding`` normalizer is applied to the query values too, so case/accents fold on both sides.
    return Q("terms", **{clause.field: list(clause.values)})


@compile_clause.register
def _(clause: GeoDistance) -> Query:
    return Q("geo_distance", distance=f"{clause.radius_km}km", location={"lat": clause.lat, "lon": clause.lon})


@compile_clause.register
def _(clause: GeoBox) -> Query:
    # left > right crosses the antimeridian; Elasticsearch handles that box form natively.
    return Q("geo_bounding_box", location={"top_left": {"lat": clause.top, "lon": clause.left},
                                           "bottom_right": {"lat": clause.bottom, "lon": clause.right}})


@compile_clause.register
def _(clause: TextMatch) -> Query:
    # Every word occurs in one of the fields: a must of (should over fields) per token.
    per_token = [Q("bool", should=[Q("match", **{f: {"query": tok, "operator": "and"}}) for f in clause.fields],
                   minimum_should_match=1) for tok in tokens(clause.text)]
    return Q("bool", filter=per_token)


def filter_query(filters: Sequence[Filter]) -> dict[str, Any]:
    """Query DSL dict for the conjunction of ``filters`` (``match_all`` when empty)."""
    if not filters:
        return {"match_all": {}}
    return Q("bool", filter=[compile_clause(c) for c in filters]).to_dict()


# --- the fused score script ----------------------------------------------------------------------------------------


def soft_script(soft: Sequence[SoftConstraint]) -> tuple[str, dict[str, Any]]:
    """Painless statements adding the soft boosts to ``double b`` (``engine/query/soft.py``: the same formula as
    ``soft_boost``, term by term), and their params. Values travel only as params (``p<i>_*``); the source is
    built from constants and the constraint's type, never from user text.

    Terms: ``w * Math.exp(-d / s)`` with d the distance outside the stated set (date: epoch days from the
    ``date`` keyword; months/weekdays: cyclic distance; hours: minutes, wrapping midnight; near:
    ``arcDistance`` in km beyond the radius); place: ``w`` when a (normalizer-folded) keyword value is listed.
    A document lacking the field adds 0.
    Reference: https://www.elastic.co/docs/reference/scripting-languages/painless/painless-api-reference
    (``LocalDate.parse(..).toEpochDay()``, ``GeoPoint arcDistance`` in metres).
    """
    lines, params = [], {}
    for i, c in enumerate(soft):
        p = f"p{i}_"
        params[p + "w"] = float(c.weight)
        if isinstance(c, SoftDateRange):
            params.update({p + "a": (c.start - EPOCH).days, p + "e": (c.end - EPOCH).days, p + "s": c.scale})
            lines.append(f"if (doc['date'].size() != 0) {{ long t = LocalDate.parse(doc['date'].value).toEpochDay(); "
                         f"double d = Math.max(0, Math.max(params.{p}a - t, t - params.{p}e)); "
                         f"b += params.{p}w * Math.exp(-d / params.{p}s); }}")
        elif isinstance(c, (SoftMonths, SoftWeekdays)):
            if isinstance(c, SoftMonths):
                field, period, targets, value = "month", 12, list(c.months), "doc['month'].value"
            else:
                field, period, targets = "weekday", 7, [WEEKDAYS.index(d) for d in c.days]
                value = "params.wd.indexOf(doc['weekday'].value)"
                params["wd"] = list(WEEKDAYS)
            params.update({p + "t": targets, p + "s": float(c.scale)})
            lines.append(f"if (doc['{field}'].size() != 0) {{ double x = {value}; double d = 99; "
                         f"for (def t : params.{p}t) {{ double y = Math.abs(x - t) % {period}; "
                         f"d = Math.min(d, Math.min(y, {period} - y)); }} "
                         f"b += params.{p}w * Math.exp(-d / params.{p}s); }}")
        elif isinstance(c, SoftHours):
            params.update({p + "a": c.start_min, p + "e": c.end_min, p + "s": float(c.scale)})
            lines.append(f"if (doc['minute_of_day'].size() != 0) {{ double t = doc['minute_of_day'].value; "
                         f"double d = 1e9; for (int k = -1; k <= 1; k++) {{ double u = t + 1440 * k; "
                         f"d = Math.min(d, Math.max(0, Math.max(params.{p}a - u, u - params.{p}e))); }} "
                         f"b += params.{p}w * Math.exp(-d / params.{p}s); }}")
        elif isinstance(c, SoftPlace):
            if c.field not in load_schema().term_fields:
                raise StoreError(f"soft place: {c.field!r} is not a keyword field")
            params[p + "v"] = sorted({fold(v) for v in c.values})
            lines.append(f"for (def v : doc['{c.field}']) {{ if (params.{p}v.contains(v)) "
                         f"{{ b += params.{p}w; break; }} }}")
        elif isinstance(c, SoftNear):
            params.update({p + "lat": c.lat, p + "lon": c.lon, p + "r": c.radius_km, p + "s": c.scale_km})
            lines.append(f"if (doc['location'].size() != 0) {{ double d = Math.max(0, doc['location'].arcDistance("
                         f"params.{p}lat, params.{p}lon) / 1000.0 - params.{p}r); "
                         f"b += params.{p}w * Math.exp(-d / params.{p}s); }}")
        else:
            raise TypeError(f"not a soft constraint: {c!r}")
    return " ".join(lines), params


def fused_script(vectors: dict[str, list[float]], weights: dict[str, float],
                 soft: Sequence[SoftConstraint] = ()) -> dict[str, Any]:
    """The painless ``script`` object computing ``offset + sum_f w_f * cosineSimilarity(q_f, f) + soft boosts``
    over the vector fields present in ``vectors`` (``clip_vec``/``capmeta_vec`` -> query vector), each term guarded
    so a document without that vector contributes 0. ``offset = sum_f w_f`` keeps the score non-negative (Lucene
    requires it); ``Math.max(0, .)`` only absorbs float rounding at exactly ``-offset``. Soft boosts: see
    :func:`soft_script`.

    Reference: https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-script-score-query
    (``cosineSimilarity``, checking ``doc['f'].size() == 0`` for missing vectors).
    """
    terms, params = [], {}
    for field, vec in vectors.items():
        qp, wp = _TERMS[field]
        terms.append(f"if (doc['{field}'].size() != 0) {{ s += params.{wp} * cosineSimilarity(params.{qp}, '{field}'); }}")
        params[qp] = vec
        params[wp] = weights[field]
    params["offset"] = float(sum(weights[f] for f in vectors))
    source = "double s = params.offset; " + " ".join(terms)
    if soft:
        boost_src, boost_params = soft_script(soft)
        params.update(boost_params)
        source += " double b = 0; " + boost_src + " s += b;"
    source += " return Math.max(0.0, s);"
    return {"source": source, "lang": SCRIPT_LANG, "params": params}


def component_fields(vectors: dict[str, list[float]], soft: Sequence[SoftConstraint] = ()) -> dict[str, Any]:
    """``script_fields`` returning the raw cosine per present query vector as ``iat`` / ``tat`` (0 when the document
    lacks the vector), and the summed soft boost as ``boost`` when there are soft constraints. Reference:
    https://www.elastic.co/docs/reference/elasticsearch/rest-apis/retrieve-selected-fields (script fields)."""
    out = {}
    for field, vec in vectors.items():
        qp, _ = _TERMS[field]
        out[_COMPONENT[field]] = {"script": {
            "source": f"doc['{field}'].size() == 0 ? 0.0 : cosineSimilarity(params.{qp}, '{field}')",
            "lang": SCRIPT_LANG, "params": {qp: vec}}}
    if soft:
        boost_src, boost_params = soft_script(soft)
        out["boost"] = {"script": {"source": "double b = 0; " + boost_src + " return b;", "lang": SCRIPT_LANG,
                                   "params": boost_params}}
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


# --- document conversion ---------------------------------------------------------------------------------------------


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


def doc_to_source(doc: Doc) -> dict[str, Any]:
    """The ``_source`` sent for ``doc``: datetimes as ISO strings (local_time naive = wall clock), vectors as lists
    of floats, ``None`` vectors omitted (a missing vector is absent, never zero-filled).

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
            v = np.asarray(v, dtype=np.float32).reshape(-1).astype(float).tolist()
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


# --- the store -------------------------------------------------------------------------------------------------------


class ElasticStore:
    """Store at ``http(s)://host:9200`` (see the module docstring for layout and search).

    Args:
        url: cluster URL.
        index: alias name; documents live in ``<index>-v<N>``, collections in ``<index>-collections``.
        api_key, basic_auth, ca_certs: credentials and CA bundle, from configuration (``Settings.es_options()``).
        timeout_s: per-request timeout in seconds.
        retries: transport retries on connection errors, timeouts, 429 and 502/503/504 (also the per-document
            429 retries of bulk ingest).
        backoff_s: base of the exponential backoff between retries, seconds (cap 30 s).
        exact_threshold: when at most this many documents pass the filters, search scores all of them exactly.
        knn_k, num_candidates: kNN ``k`` (raised to the fetch size when smaller) and ``num_candidates`` per clause.
        chunk_size: documents per bulk request.
        **client_options: passed to :class:`elasticsearch.Elasticsearch` (e.g. ``node_class`` in tests).
    """

    def __init__(self, url: str, index: str = "lifeseeker", api_key: str | None = None,
                 basic_auth: tuple[str, str] | None = None, ca_certs: str | None = None, timeout_s: float = 10.0,
                 retries: int = 3, backoff_s: float = 0.5, exact_threshold: int = 10_000, knn_k: int = 100,
                 num_candidates: int = 500, chunk_size: int = 500, **client_options: Any):
        self.url = url
        self.index = index
        self.schema = load_schema()
        self.retries = int(retries)
        self.backoff_s = float(backoff_s)
        self.exact_threshold = int(exact_threshold)
        self.knn_k = int(knn_k)
        self.num_candidates = int(num_candidates)
        self.chunk_size = int(chunk_size)
        # retry_on_status=(): the transport retries statuses without any backoff, so ``_call`` does it instead.
        opts: dict[str, Any] = dict(request_timeout=timeout_s, max_retries=self.retries,
                                    retry_on_status=(), retry_on_timeout=True)
        if self.backoff_s > 0:
            opts.update(retry_backoff_base=self.backoff_s, retry_backoff_cap=30.0)
        if api_key:
            opts["api_key"] = api_key
        if basic_auth:
            opts["basic_auth"] = tuple(basic_auth)
        if ca_certs:
            opts["ca_certs"] = ca_certs
        opts.update(client_options)
        try:
            self.client = Elasticsearch(url, **opts)
        except (ValueError, TypeError) as exc:
            raise StoreError(f"Elasticsearch at {url}: bad client settings ({exc})") from exc
        self._dims: dict[str, int] | None = None
        self._schema_version: Any = None

    @property
    def collections_index(self) -> str:
        """Name of the small index holding ``name -> root`` documents."""
        return f"{self.index}-collections"

    # -- plumbing -------------------------------------------------------------------------------------------------

    def _call(self, what: str, fn: Callable[..., T], *args: Any, missing: Any = StoreError, **kwargs: Any) -> T:
        """Run one client call; transport failures (after the transport's bounded retries) and API errors become
        StoreError naming ``what``. ``missing``: value returned on 404 instead of raising. Answers 429/502/503/504
        are retried here ``retries`` times with equal-jitter exponential backoff (``backoff_s * 2**n``, cap 30 s)."""
        for attempt in range(self.retries + 1):
            try:
                return fn(*args, **kwargs)
            except ApiError as exc:
                if exc.status_code not in RETRY_STATUS or attempt >= self.retries:
                    return self._failed(what, exc, missing)
                pause = min(30.0, self.backoff_s * 2 ** attempt) / 2
                pause += random.uniform(0, pause)
                log.warning("Elasticsearch %s: %s answered HTTP %s; retry %d of %d in %.1f s", self.url, what,
                            exc.status_code, attempt + 1, self.retries, pause)
                if pause > 0:
                    time.sleep(pause)
            except TransportError as exc:
                return self._failed(what, exc, missing)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _failed(self, what: str, exc: Exception, missing: Any) -> Any:
        """``missing`` for a 404 when given, else raise the StoreError describing ``exc`` (an ApiError or a
        TransportError)."""
        if isinstance(exc, NotFoundError):
            if missing is not StoreError:
                return missing
            raise StoreError(f"Elasticsearch {self.url}: {what}: not found ({_reason(exc)})") from exc
        if isinstance(exc, ApiError):
            hint = " (overloaded: retried and gave up)" if exc.status_code in RETRY_STATUS else ""
            raise StoreError(f"Elasticsearch {self.url}: {what} failed with HTTP {exc.status_code}{hint}: "
                             f"{_reason(exc)}") from exc
        raise StoreError(f"Elasticsearch {self.url} unreachable during {what} after {self.retries} retries: "
                         f"{exc.message if hasattr(exc, 'message') else exc}") from exc

    def _server_version(self) -> tuple[int, int]:
        info = self._call("info", self.client.info)
        parts = str(info["version"]["number"]).split(".")
        return int(parts[0]), int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0

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

    # -- schema and versions ---------------------------------------------------------------------------------------

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

    def drop(self) -> None:
        """Delete every index of this store (all versions behind the alias and the collections index)."""
        for name in self._concrete() + [self.collections_index]:
            self._call("delete index", self.client.indices.delete, index=name, missing=None)
        self._dims = None

    # -- writing --------------------------------------------------------------------------------------------------

    def _actions(self, docs: Sequence[Doc]) -> Iterator[dict[str, Any]]:
        for d in docs:
            src = doc_to_source(d)
            yield {"_op_type": "index", "_index": self.index, "_id": src["image_id"], "_source": src}

    def upsert(self, docs: Sequence[Doc]) -> int:
        """Index ``docs`` with ``_id = image_id`` (replace: idempotent) through ``helpers.streaming_bulk``, retrying
        rejected documents (429/5xx) with exponential backoff, then refresh so a read sees the writes.

        Returns:
            the number of documents written.
        Raises:
            BulkError (a StoreError): some documents failed; ``.errors`` lists ``(image_id, status, reason)`` (the
                others are written and visible).
            StoreError: a document has unmapped fields; the cluster is unreachable.
        Reference: https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk
        """
        if not docs:
            return 0
        failed: list[tuple[str, int, str]] = []

        def run() -> None:
            for ok, item in helpers.streaming_bulk(
                    self.client, self._actions(docs), chunk_size=self.chunk_size, raise_on_error=False,
                    raise_on_exception=True, max_retries=self.retries, initial_backoff=self.backoff_s,
                    max_backoff=30.0, retry_on_status=RETRY_STATUS, yield_ok=False):
                if not ok:
                    result = next(iter(item.values()))
                    err = result.get("error")
                    reason = err.get("reason", str(err)) if isinstance(err, dict) else str(err)
                    failed.append((str(result.get("_id")), int(result.get("status", 0)), reason))

        self._call("bulk", run)
        self._call("refresh", self.client.indices.refresh, index=self.index)
        if failed:
            shown = "; ".join(f"{i}: HTTP {s} {r}" for i, s, r in failed[:10])
            more = f" (and {len(failed) - 10} more)" if len(failed) > 10 else ""
            raise BulkError(f"{len(failed)} of {len(docs)} documents were not written: {shown}{more}", failed)
        return len(docs)

    # -- reading --------------------------------------------------------------------------------------------------

    def existing(self, ids: Iterable[str]) -> dict[str, dict[str, str | None]]:
        """``image_id -> models`` for stored ids, in the order given (``mget`` with ``_source: models``)."""
        ids = list(dict.fromkeys(ids))
        if not ids:
            return {}
        got = self._call("mget", self.client.mget, index=self.index, ids=ids, source=["models"], missing=None)
        out = {}
        for d in (got or {}).get("docs", []):
            if d.get("found"):
                out[d["_id"]] = (d.get("_source") or {}).get("models") or {}
        return out

    def get(self, ids: Sequence[str], with_vectors: bool = False) -> list[Doc]:
        """Documents for ``ids`` in the order given, unknown ids left out (``mget``)."""
        ids = list(ids)
        if not ids:
            return []
        kwargs: dict[str, Any] = {} if with_vectors else {"source_excludes": list(VECTOR_FIELDS)}
        got = self._call("mget", self.client.mget, index=self.index, ids=ids, missing=None, **kwargs)
        out = []
        for d in (got or {}).get("docs", []):
            if d.get("found"):
                doc = doc_from_source(d.get("_source") or {}, with_vectors)
                doc["image_id"] = d["_id"]
                out.append(doc)
        return out

    def count(self, filters: Sequence[Filter] = ()) -> int:
        """Number of documents passing ``filters`` (``_count``)."""
        got = self._call("count", self.client.count, index=self.index, body={"query": filter_query(filters)},
                         missing=None)
        return int(got["count"]) if got else 0

    def _query_vectors(self, query: VectorQuery) -> tuple[dict[str, list[float]], dict[str, float]]:
        """Present, non-zero query vectors as lists (field -> vector) and the weights per field."""
        weights = {"clip_vec": float(query.weights.iat), "capmeta_vec": float(query.weights.tat)}
        have = self.dims()
        vectors = {}
        for field, q in (("clip_vec", query.clip), ("capmeta_vec", query.tat)):
            if q is None:
                continue
            q = np.asarray(q, dtype=np.float32).reshape(-1)
            if have.get(field) and q.shape[0] != have[field]:
                raise StoreError(f"query vector for {field} has {q.shape[0]} dims, the index holds {have[field]}")
            if not np.isfinite(q).all() or float(np.linalg.norm(q)) == 0:
                continue  # a zero query vector has no direction: its term contributes 0 (as in the embedded store)
            vectors[field] = q.astype(float).tolist()
        return vectors, weights

    def search_body(self, query: VectorQuery, filters: Sequence[Filter], limit: int, exact: bool,
                    soft: Sequence[SoftConstraint] = ()) -> dict[str, Any]:
        """The ``_search`` body for ``query`` (see the module docstring): exact ``script_score`` when ``exact``, else
        ``knn`` clauses + ``rescore``. Without any usable query vector: filtered docs by ``image_id``, score 0."""
        vectors, weights = self._query_vectors(query)
        size = min(MAX_WINDOW, limit + FETCH_MARGIN)
        flt = filter_query(filters)
        body: dict[str, Any] = {"size": size, "_source": {"excludes": list(VECTOR_FIELDS)}, "track_total_hits": False}
        if not vectors and not soft:
            body.update(query=flt, sort=[{"image_id": "asc"}])
            return body
        script = fused_script(vectors, weights, soft)
        body["script_fields"] = component_fields(vectors, soft)
        if exact or not vectors:
            body["query"] = {"script_score": {"query": flt, "script": script}}
            body["sort"] = [{"_score": "desc"}, {"image_id": "asc"}]
            return body
        k = min(MAX_WINDOW, max(self.knn_k, size))
        candidates = min(MAX_WINDOW, max(self.num_candidates, k))
        knn = []
        for field, vec in vectors.items():
            clause: dict[str, Any] = {"field": field, "query_vector": vec, "k": k, "num_candidates": candidates}
            if filters:
                clause["filter"] = flt
            knn.append(clause)
        body["knn"] = knn
        body["rescore"] = {"window_size": min(MAX_WINDOW, k * len(knn)),
                           "query": {"rescore_query": {"script_score": {"query": {"match_all": {}},
                                                                        "script": script}},
                                     "query_weight": 0.0, "rescore_query_weight": 1.0}}
        return body

    def search(self, query: VectorQuery, filters: Sequence[Filter] = (), limit: int = 50, *,
               soft: Sequence[SoftConstraint] = ()) -> list[Hit]:
        """Fused top-``limit`` (plus soft boosts) among documents passing every filter, best first (ties: image_id
        asc); exact when the filtered count is at most ``exact_threshold`` (or there is no query vector), else kNN
        candidates re-scored exactly.

        Raises:
            StoreError: a query vector has the wrong width; the cluster is unreachable.
        """
        if limit <= 0:
            return []
        n = self.count(filters)
        if n == 0:
            return []
        body = self.search_body(query, filters, limit, exact=n <= self.exact_threshold, soft=soft)
        got = self._call("search", self.client.search, index=self.index, body=body, missing=None)
        if not got:
            return []
        _, weights = self._query_vectors(query)
        return parse_hits(got, weights, limit)

    def neighbours(self, around: datetime, before_s: int, after_s: int, collection: str | None = None,
                   limit: int = 500) -> list[Doc]:
        """Documents with ``local_time`` in ``[around - before_s, around + after_s]`` (seconds, inclusive), in time
        order, ties by image_id: a ``range`` on local_time sorted by ``local_time``, ``image_id``."""
        center = around.replace(tzinfo=None, microsecond=0)
        rng = {"gte": (center - timedelta(seconds=before_s)).isoformat(),
               "lte": (center + timedelta(seconds=after_s)).isoformat(), "format": "strict_date_optional_time"}
        clauses = [Q("range", local_time=rng)]
        if collection is not None:
            clauses.append(Q("term", collection=collection))
        body = {"query": Q("bool", filter=clauses).to_dict(), "sort": [{"local_time": "asc"}, {"image_id": "asc"}],
                "size": max(0, min(limit, MAX_WINDOW)), "_source": {"excludes": list(VECTOR_FIELDS)}}
        got = self._call("neighbours", self.client.search, index=self.index, body=body, missing=None)
        return _docs_of(got)

    def facets(self, fields: Sequence[str], filters: Sequence[Filter] = (), size: int = 20
               ) -> dict[str, list[tuple[str, int]]]:
        """Top values with counts per field among the filtered documents (count desc, value asc): one ``terms``
        aggregation per field. On fields with the ``folding`` normalizer the bucket key is the folded form, so a
        ``top_hits`` sub-aggregation fetches one original spelling to show (``Spain``, not ``spain``).

        Raises:
            StoreError: a field is not offered as a facet.
        """
        aggs = {}
        for name in fields:
            if name not in self.schema.facets:
                raise StoreError(f"facet {name!r} is not offered; use one of {list(self.schema.facets)}")
            agg: dict[str, Any] = {"terms": {"field": name, "size": size + FETCH_MARGIN,
                                             "order": [{"_count": "desc"}, {"_key": "asc"}]}}
            if "normalizer" in self.schema.properties[name]:
                agg["aggs"] = {"shown": {"top_hits": {"size": 1, "_source": {"includes": [name]}}}}
            aggs[name] = agg
        body = {"size": 0, "query": filter_query(filters), "aggs": aggs, "track_total_hits": False}
        got = self._call("facets", self.client.search, index=self.index, body=body, missing=None) if aggs else None
        return parse_facets(got or {}, fields, size)

    # -- collections and info -------------------------------------------------------------------------------------

    def collections(self) -> dict[str, str]:
        """``collection name -> absolute root`` from ``<index>-collections``."""
        got = self._call("collections", self.client.search, index=self.collections_index, size=1000,
                         query={"match_all": {}}, missing=None)
        if not got:
            return {}
        return {h["_id"]: h["_source"]["root"] for h in got["hits"]["hits"]}

    def set_collection(self, name: str, root: str) -> None:
        """Record ``name -> resolved root`` (created the collections index on first use), visible at once."""
        if not self._call("index exists", self.client.indices.exists, index=self.collections_index):
            self._call("create collections index", self.client.indices.create, index=self.collections_index,
                       settings={"index": {"number_of_shards": 1, "number_of_replicas": 0}},
                       mappings={"dynamic": "strict", "properties": {"name": {"type": "keyword"},
                                                                     "root": {"type": "keyword"}}})
        self._call("set collection", self.client.index, index=self.collections_index, id=name,
                   document={"name": name, "root": str(Path(root).resolve())}, refresh=True)

    def info(self) -> dict[str, Any]:
        """Backend, location (URL and alias -> indices), document count, vector widths, models used, collections."""
        models = {}
        body = {"size": 0, "track_total_hits": True,
                "aggs": {role: {"terms": {"field": f"models.{role}", "size": 50}}
                         for role in self.schema.properties["models"]["properties"]}}
        got = self._call("info", self.client.search, index=self.index, body=body, missing=None)
        if got:
            for role, agg in got["aggregations"].items():
                names = [b["key"] for b in agg["buckets"]]
                if names:
                    models[role] = names
        return {"backend": "elasticsearch", "location": f"{self.url} {self.index} -> {', '.join(self._concrete())}",
                "documents": self.count(), "dims": self.dims(), "models": models, "collections": self.collections()}

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()


class BulkError(StoreError):
    """Some documents of an upsert were rejected. ``errors``: ``[(image_id, http_status, reason)]``."""

    def __init__(self, message: str, errors: list[tuple[str, int, str]]):
        super().__init__(message)
        self.errors = errors


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


def _docs_of(response: dict[str, Any] | None) -> list[Doc]:
    out = []
    for h in (response or {}).get("hits", {}).get("hits", []):
        doc = doc_from_source(h.get("_source") or {}, with_vectors=False)
        doc["image_id"] = h["_id"]
        out.append(doc)
    return out


def _reason(exc: ApiError) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        return f"{err.get('type')}: {err.get('reason')}"
    return str(getattr(exc, "message", exc))


__all__ = ["ElasticStore", "BulkError", "compile_clause", "filter_query", "fused_script", "component_fields",
           "parse_hits", "parse_facets", "doc_to_source", "doc_from_source"]

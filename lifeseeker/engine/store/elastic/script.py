"""The Painless scripts of a search: the fused score (IaT + TaT cosines), the soft boosts and the per-hit
components returned as script fields.

* The script is ``W_IaT*cosineSimilarity(q_clip,'clip_vec') + W_TaT*cosineSimilarity(q_tat,'capmeta_vec')``
  with ``doc[f].size() == 0`` guards (a missing vector contributes 0). Lucene forbids negative scores, so the
  script adds the constant ``offset = W_IaT + W_TaT`` (the lowest possible fused score is ``-offset``); it
  changes no order and :func:`~.docs.parse_hits` does not use ``_score``.
* The components come back per hit as ``script_fields`` ``iat`` and ``tat`` (raw cosines), and the returned score
  is ``W_IaT*iat + W_TaT*tat`` computed client-side in float64 — the same number the embedded store returns, not
  Elasticsearch's ``(1+cos)/2`` kNN score and without float32 ``_score`` rounding.
* Contexts: ``script_score`` (and the rescore's) compiles in the Painless *score* context, the only one whose
  whitelist has ``cosineSimilarity`` (elastic/elasticsearch,
  ``modules/lang-painless/src/main/resources/org/elasticsearch/painless/org.elasticsearch.script.score.txt``).
  ``script_fields`` compile in the *field* context (``org.elasticsearch.script.field.txt``: no vector functions),
  so the component scripts read ``doc[f].vectorValue`` (base whitelist ``org.elasticsearch.txt``:
  ``DenseVectorScriptDocValues.getVectorValue()``) and compute ``q·v / |v|`` with the query vector ``q``
  L2-normalised client-side. ``tests/test_elastic_painless.py`` checks every script against the vendored
  whitelist of its context.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from ....errors import StoreError
from ...query.soft import (EPOCH, SoftConstraint, SoftDateRange, SoftHours, SoftMonths, SoftNear, SoftPlace,
                           SoftText, SoftWeekdays)
from ...schema import load_schema
from ...text import fold
from ...timeparts import WEEKDAYS

SCRIPT_LANG = "painless"
# field -> (query-vector param, weight param) of the fused script's terms; names are constants, never user data.
_TERMS = {"clip_vec": ("q_clip", "w_iat"), "capmeta_vec": ("q_tat", "w_tat")}
_COMPONENT = {"clip_vec": "iat", "capmeta_vec": "tat"}


def soft_script(soft: Sequence[SoftConstraint]) -> tuple[str, dict[str, Any]]:
    """Painless statements adding the soft boosts to ``double b`` (``engine/query/soft.py``: the same formula as
    ``soft_boost``, term by term), and their params. Values travel only as params (``p<i>_*``); the source is
    built from constants and the constraint's type, never from user text.

    Terms: ``w * Math.exp(-d / s)`` with d the distance outside the stated set (date: epoch days from the
    ``date`` field (a ``date``, UTC midnight); months/weekdays: cyclic distance; hours: minutes, wrapping midnight; near:
    ``arcDistance`` in km beyond the radius); place: ``w`` when a (normalizer-folded) keyword value is listed.
    A document lacking the field adds 0.
    Reference: https://www.elastic.co/docs/reference/scripting-languages/painless/painless-api-reference
    (``ZonedDateTime.toLocalDate().toEpochDay()``, ``GeoPoint arcDistance`` in metres).
    """
    lines, params = [], {}
    for i, c in enumerate(soft):
        p = f"p{i}_"
        params[p + "w"] = float(c.weight)
        if isinstance(c, SoftDateRange):
            params.update({p + "a": (c.start - EPOCH).days, p + "e": (c.end - EPOCH).days, p + "s": c.scale})
            lines.append(f"if (doc['date'].size() != 0) {{ long t = doc['date'].value.toLocalDate().toEpochDay(); "
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
        elif isinstance(c, SoftText):  # Painless cannot read text: the store resolved the matches by id first
            if c.resolved is None:
                raise StoreError("soft text: the term matches were not resolved (ElasticStore.search does it)")
            params[p + "m"] = {i: float(f) for i, f in c.resolved}
            lines.append(f"if (doc['image_id'].size() != 0) {{ "
                         f"b += params.{p}w * params.{p}m.getOrDefault(doc['image_id'].value, 0.0); }}")
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
    # a negative boost (an excluded place) lowers the floor too: the offset keeps every score non-negative
    params["offset"] = float(sum(weights[f] for f in vectors)) + float(sum(-c.weight for c in soft if c.weight < 0))
    source = "double s = params.offset; " + " ".join(terms)
    if soft:
        boost_src, boost_params = soft_script(soft)
        params.update(boost_params)
        source += " double b = 0; " + boost_src + " s += b;"
    source += " return Math.max(0.0, s);"
    return {"source": source, "lang": SCRIPT_LANG, "params": params}


def unit(vec: list[float]) -> list[float]:
    """``vec`` divided by its L2 norm (float64 list); the caller has already dropped zero and non-finite vectors."""
    n = math.sqrt(math.fsum(x * x for x in vec))
    return [x / n for x in vec]


def component_fields(vectors: dict[str, list[float]], soft: Sequence[SoftConstraint] = ()) -> dict[str, Any]:
    """``script_fields`` returning the raw cosine per present query vector as ``iat`` / ``tat`` (0 when the document
    lacks the vector), and the summed soft boost as ``boost`` when there are soft constraints.

    Field context (see the module docstring): no ``cosineSimilarity``; the script loops over
    ``doc[f].vectorValue`` (float[]) with the unit query vector ``params.u_*`` and returns ``dot / |v|``.
    Reference: https://www.elastic.co/docs/reference/elasticsearch/rest-apis/retrieve-selected-fields (script
    fields); elastic/elasticsearch modules/lang-painless/src/main/resources/org/elasticsearch/painless/
    org.elasticsearch.txt (``DenseVectorScriptDocValues``)."""
    out = {}
    for field, vec in vectors.items():
        up = "u_" + _COMPONENT[field]
        out[_COMPONENT[field]] = {"script": {
            "source": (f"if (doc['{field}'].size() == 0) {{ return 0.0; }} float[] v = doc['{field}'].vectorValue; "
                       f"double dot = 0; double nn = 0; for (int i = 0; i < v.length; ++i) "
                       f"{{ dot += v[i] * (double) params.{up}[i]; nn += (double) v[i] * v[i]; }} "
                       f"return nn == 0 ? 0.0 : dot / Math.sqrt(nn);"),
            "lang": SCRIPT_LANG, "params": {up: unit(vec)}}}
    if soft:
        boost_src, boost_params = soft_script(soft)
        out["boost"] = {"script": {"source": "double b = 0; " + boost_src + " return b;", "lang": SCRIPT_LANG,
                                   "params": boost_params}}
    return out

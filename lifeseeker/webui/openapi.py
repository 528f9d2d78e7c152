"""The OpenAPI 3.1 document of the JSON API (every route under ``/api``), served at ``GET /openapi.json``.

Built from the same sources the API uses, so it cannot drift from them: the search parameters are the filter
vocabulary of ``engine.filters.filters_from_params`` (``TERM_PARAMS`` for the keyword filters), the bounds are the
ones the filter classes and ``SearchRequest`` validate, and the document fields come from the one schema
(``mappings/lifelog.json``). Every documented bound is enforced by the API, which answers 400 with
``{"error": "<message naming the parameter>"}`` outside it.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify

from ..engine.context import MAX_CONTEXT_IMAGES, MAX_CONTEXT_MINUTES
from ..engine.feedback import MAX_MARKS
from ..engine.query.chips import CHIP_FIELDS
from ..engine.query.keyvalue import DEFAULT_RADIUS_KM
from ..engine.filters import TERM_PARAMS
from ..engine.rerank import MAX_RERANK_N
from ..engine.schema import load_schema
from ..engine.search import MAX_LIMIT, MAX_QUERY_CHARS  # SearchRequest refuses longer query text
from ..engine.sequence import MAX_WITHIN_MINUTES
from ..engine.timeparts import PARTS_OF_DAY, WEEKDAYS
from .qa import MAX_QUESTION_CHARS
from .security import MAX_BODY_BYTES

OPENAPI_VERSION = "3.1.0"
_NUM = r"-?[0-9]+(\.[0-9]+)?"
_MARKS = (" Primary form: the parameter repeated, one id per value (relevant=a&relevant=b), since ids are file "
          "paths and may contain commas. Fallback: a value that is not itself a stored id is read as a comma list "
          "(relevant=a,b). 404 naming (at most 5 of) the ids not in the store.")
_FLAG = " true/false, yes/no, on/off are also accepted; any other value is a 400 naming the parameter."

_ES_JSON = {  # Elasticsearch field type -> JSON Schema of its value in the API (null when absent)
    "keyword": {"type": "string"},
    "text": {"type": "string"},
    "short": {"type": "integer"},
    "byte": {"type": "integer"},
    "integer": {"type": "integer"},
    "long": {"type": "integer"},
    "float": {"type": "number"},
    "double": {"type": "number"},
    "date": {"type": "string"},
    "geo_point": {"type": "object", "required": ["lat", "lon"],
                  "properties": {"lat": {"type": "number", "minimum": -90, "maximum": 90},
                                 "lon": {"type": "number", "minimum": -180, "maximum": 180}}},
}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def document_schema() -> dict[str, Any]:
    """JSON Schema of a stored document as the API returns it (no vectors; every field may be null)."""
    schema = load_schema()
    props: dict[str, Any] = {}
    for name, spec in schema.properties.items():
        es_type = spec.get("type", "object")
        if es_type == "dense_vector":
            continue
        if es_type == "object":
            value: dict[str, Any] = {"type": "object", "additionalProperties": True}
        else:
            value = dict(_ES_JSON[es_type])
            if name in schema.array_fields:
                value = {"type": "array", "items": value}
        props[name] = value if name == "image_id" else _nullable(value)
    return {"type": "object", "required": ["image_id"], "properties": props, "additionalProperties": True}


def _param(name: str, description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema, **extra}


def search_parameters() -> list[dict[str, Any]]:
    """Query parameters shared by ``GET /api/search`` and ``POST /api/search/image``, with the bounds the API
    enforces (``SearchRequest``, the filter classes, ``engine.rerank``, ``engine.sequence``, ``engine.feedback``)."""
    params = [
        _param("q", "Free text (CLIP text encoder for IaT, sentence encoder for TaT); empty: filters only. "
               "\"A, then B within 2h\" is a sequence query unless seq=0. "
               f"At most {MAX_QUERY_CHARS} characters (400 above): "
               "that many fit gunicorn's request line (8190 bytes: lifeseeker/webui/gunicorn_conf.py) even "
               "percent-encoded as 4-byte UTF-8; a longer request line as a whole answers 414 with JSON.",
               {"type": "string", "maxLength": MAX_QUERY_CHARS}),
        _param("limit", f"Number of hits, 1-{MAX_LIMIT} (default 50).",
               {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
        _param("weights", "W_IaT,W_TaT, each in [0, 10], not both 0 (default 0.7,0.3).",
               {"type": "string", "pattern": f"^{_NUM},{_NUM}$"}),
    ] + filter_parameters() + [
        _param("relevant", f"Image ids marked relevant (at most {MAX_MARKS}): Rocchio feedback." + _MARKS,
               {"type": "string"}),
        _param("irrelevant", f"Image ids marked not relevant (at most {MAX_MARKS})." + _MARKS, {"type": "string"}),
        _param("like", "An image id: more like this (its vectors are the query); 404 when unknown.",
               {"type": "string"}),
        _param("rocchio", "alpha,beta,gamma, each in [0, 10].",
               {"type": "string", "pattern": f"^{_NUM},{_NUM},{_NUM}$"}),
        _param("then", "The B of a sequence query \"A then B\".", {"type": "string", "maxLength": MAX_QUERY_CHARS}),
        _param("within", f"Sequence window: minutes or 2h, 45min, 1d; in (0, {MAX_WITHIN_MINUTES}] minutes.",
               {"type": "string"}),
        _param("seq", "0 keeps a query with \"then\" whole (no sequence split); default 1." + _FLAG,
               {"type": "string", "enum": ["0", "1"]}),
        _param("events", "0 = a flat list, no time events; default 1." + _FLAG,
               {"type": "string", "enum": ["0", "1"]}),
        _param("gap", "Event gap in minutes, 0-1440.", {"type": "number", "minimum": 0, "maximum": 1440}),
        _param("dup", "Near-duplicate cosine in [-1, 1]; 1.01 turns collapsing off.",
               {"type": "number", "minimum": -1, "maximum": 1.01}),
        _param("rerank", "1/0 forces the reranker on/off; default: on when a reranker is loaded." + _FLAG,
               {"type": "string", "enum": ["0", "1"]}),
        _param("rerank_n", f"Hits reranked, 1-{MAX_RERANK_N}.",
               {"type": "integer", "minimum": 1, "maximum": MAX_RERANK_N}),
        _param("rerank_blend", "Reranker blend in [0, 1].", {"type": "number", "minimum": 0, "maximum": 1}),
        _param("parse", "0 sends q to both encoders as typed (no query understanding: no soft boosts, no "
               "key:value filters); default 1." + _FLAG, {"type": "string", "enum": ["0", "1"]}),
        _param("ignore", "Parsed constraints to drop (chip keys, comma list): " + ", ".join(CHIP_FIELDS) + ".",
               {"type": "string", "enum": list(CHIP_FIELDS)}),
    ]
    return params


def filter_parameters() -> list[dict[str, Any]]:
    """The hard filter parameters (``engine.filters.filters_from_params``)."""
    params = [
        _param("date_from", "Local date YYYY-MM-DD, inclusive.", {"type": "string", "format": "date"}),
        _param("date_to", "Local date YYYY-MM-DD, inclusive; not before date_from.",
               {"type": "string", "format": "date"}),
        _param("hour_from", "Local hour 0-23, inclusive.", {"type": "integer", "minimum": 0, "maximum": 23}),
        _param("hour_to", "Local hour 0-24, exclusive; smaller than hour_from wraps midnight; not equal to it.",
               {"type": "integer", "minimum": 0, "maximum": 24}),
        _param("weekday", "Weekdays (comma list).", {"type": "string", "enum": list(WEEKDAYS)}),
        _param("part", "Parts of day (comma list).", {"type": "string", "enum": list(PARTS_OF_DAY)}),
    ]
    for key, field in TERM_PARAMS.items():
        params.append(_param(key, f"Any of these values on `{field}` (comma list; case and accents folded).",
                             {"type": "string"}))
    params += [
        _param("near", "LAT,LON in degrees (lat in [-90, 90], lon in [-180, 180]) for a radius filter, "
               f"optionally LAT,LON,RADIUSkm (the key:value form); without a radius (here or in radius_km) the "
               f"radius is {DEFAULT_RADIUS_KM:g} km.",
               {"type": "string", "pattern": f"^{_NUM},{_NUM}(,{_NUM}(km)?)?$"}),
        _param("radius_km", f"Radius around `near` in km, in (0, 20038] (default {DEFAULT_RADIUS_KM:g} km); "
               "needs `near`.",
               {"type": "number", "exclusiveMinimum": 0, "maximum": 20038}),
        _param("box", "TOP,LEFT,BOTTOM,RIGHT in degrees; bottom <= top; left > right crosses the antimeridian.",
               {"type": "string", "pattern": f"^{_NUM},{_NUM},{_NUM},{_NUM}$"}),
        _param("text", "Words that must all occur in OCR text, caption or CapMeta.", {"type": "string"}),
        _param("ocr", "Words that must all occur in the OCR text.", {"type": "string"}),
    ]
    return params


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _object(required: list[str], **props: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props, "additionalProperties": True}


def _get(op_id: str, summary: str, responses: dict[str, Any], params: list[dict[str, Any]] | None = None,
         **extra: Any) -> dict[str, Any]:
    out = {"operationId": op_id, "summary": summary, "responses": responses, **extra}
    if params:
        out["parameters"] = params
    return out


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (a fresh dict) describing every JSON route under ``/api``."""
    doc_ref = {"$ref": "#/components/schemas/Document"}
    err = {"$ref": "#/components/schemas/Error"}
    string_list = {"type": "array", "items": {"type": "string"}}
    cosine = {"type": "number", "minimum": -1.000001, "maximum": 1.000001}
    hit = {"allOf": [doc_ref, _object(["image_id", "score", "iat", "tat"], score={"type": "number"}, iat=cosine,
                                      tat=cosine, rank={"type": "integer", "minimum": 1},
                                      thumb_url={"type": "string"}, image_url={"type": "string"})]}
    search_resp = _object(["query", "total_filtered", "text_only", "notices", "weights", "hits"],
                          query={"type": "string"}, total_filtered={"type": "integer", "minimum": 0},
                          text_only={"type": "boolean"}, notices=string_list, took_ms={"type": "number", "minimum": 0},
                          weights={"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
                          hits={"type": "array", "maxItems": MAX_LIMIT, "items": {"$ref": "#/components/schemas/Hit"}},
                          events={"type": "array", "items": {"type": "object"}},
                          pairs={"type": "array", "items": {"type": "object"}},
                          timeline={"type": "array", "items": _object(["date", "count"], date={"type": "string"},
                                                                      count={"type": "integer", "minimum": 1})},
                          suggestions={"type": "array", "items": {"type": "object"}})
    e400 = _error_response("A parameter is malformed or out of range; the message names it.")
    e404 = _error_response("No document with this id.")
    common = {"401": _error_response("Basic auth is configured and the request carries no valid credentials."),
              "503": _error_response("The store (e.g. Elasticsearch) is unavailable; the message says why.")}
    image_id = {"name": "image_id", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
    dres_errors = {"502": _json(_object(["error"], error={"type": "string"}), "DRES refused or failed."),
                   "503": _error_response("DRES is not configured."),
                   "504": _json(_object(["error"], error={"type": "string"}), "DRES unreachable.")}
    json_body = {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
    paths = {
        "/api/search": {"get": _get("search", "Ranked images for a query and filters.",
                                    {"200": _json(search_resp, "Ranked hits, best first, with events."), "400": e400,
                                     "404": _error_response("`like` or a marked image id is not in the store."),
                                     **common}, search_parameters())},
        "/api/search/image": {"post": _get(
            "searchByImage", "Query by an uploaded image (decoded in memory, never stored), filters as in search.",
            {"200": _json(search_resp, "Ranked hits."), "400": e400,
             "404": _error_response("A marked image id (relevant / irrelevant) is not in the store."),
             "413": _error_response(f"Body larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB."), **common},
            [p for p in search_parameters() if p["name"] not in ("q", "like")],
            requestBody={"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["image"],
                "properties": {"image": {"type": "string", "format": "binary"}}}}}})},
        "/api/context/{image_id}": {"get": _get(
            "context", "Images within +-minutes of an image, in time order.",
            {"200": _json(_object(["image_id", "images"], image_id={"type": "string"},
                                  minutes={"type": "number"}, index={"type": "integer", "minimum": 0},
                                  truncated={"type": "boolean"}, images={"type": "array", "items": doc_ref}),
                          "The temporal context."), "400": e400, "404": e404, **common},
            [image_id, _param("minutes", f"Window before and after, in (0, {MAX_CONTEXT_MINUTES}] minutes.",
                              {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_CONTEXT_MINUTES}),
             _param("limit", f"Images, 1-{MAX_CONTEXT_IMAGES} (default 200).",
                    {"type": "integer", "minimum": 1, "maximum": MAX_CONTEXT_IMAGES})])},
        "/api/suggest": {"get": _get(
            "suggest", "Refinements and questions from images marked relevant.",
            {"200": _json(_object(["suggestions"], suggestions={"type": "array", "items": _object(
                ["label", "kind", "params"], label={"type": "string"}, kind={"type": "string"},
                params={"type": "object"})}), "Suggestions."), "400": e400,
             "404": _error_response("A relevant image id is not in the store."), **common},
            [_param("relevant", f"Image ids, 1-{MAX_MARKS}." + _MARKS, {"type": "string", "minLength": 1},
                    required=True),
             _param("q", "The query the images were found with.", {"type": "string", "maxLength": MAX_QUERY_CHARS})])},
        "/api/image/{image_id}": {"get": _get("image", "One document's fields (no vectors).",
                                              {"200": _json(doc_ref, "The document."), "404": e404, **common},
                                              [image_id])},
        "/api/info": {"get": _get("info", "Store backend, document count, models and notices. Absolute paths "
                                  "(store location, collection roots, model directories) are shown only with basic "
                                  "auth on; otherwise shortened to …/<last component>.",
                                  {"200": _json(_object(["store", "models", "notices"], store={"type": "object"},
                                                        models={"type": "object"}, notices=string_list),
                                                "What is in use."), **common})},
        "/api/answer": {"get": _get(
            "answer", "Answer a question about the lifelog, with the evidence events and images.",
            {"200": _json(_object(["answer", "confidence", "images"], confidence={"type": "number"},
                                  events={"type": "array"}, images={"type": "array"}, notices=string_list),
                          "The answer."), "400": e400, **common},
            [_param("q", "The question.", {"type": "string", "minLength": 1, "maxLength": MAX_QUESTION_CHARS},
                    required=True),
             _param("weights", "W_IaT,W_TaT.", {"type": "string", "pattern": f"^{_NUM},{_NUM}$"})]
            + filter_parameters())},
        "/api/overview": {"get": _get(
            "overview", "The whole collection for browsing: photos per local hour and per day, every place.",
            {"200": _json(_object(["total", "read", "hours", "days", "places", "place_names"],
                                  total={"type": "integer", "minimum": 0}, read={"type": "integer", "minimum": 0},
                                  hours={"type": "object", "additionalProperties": {"type": "integer"}},
                                  days={"type": "object", "additionalProperties": {"type": "integer"}},
                                  places={"type": "array", "items": _object(["lat", "lon", "count"])},
                                  place_names=string_list), "The overview."), **common})},
        "/api/cities": {"get": _get(
            "cities", "The most populous gazetteer cities inside a box (labels for the offline map).",
            {"200": _json(_object(["cities"], cities={"type": "array", "items": _object(
                ["name", "lat", "lon", "population"], name={"type": "string"}, lat={"type": "number"},
                lon={"type": "number"}, population={"type": "integer"})}), "The cities, most populous first."),
             "400": e400, **common},
            [_param("bbox", "south,west,north,east in degrees.",
                    {"type": "string", "pattern": f"^{_NUM},{_NUM},{_NUM},{_NUM}$"}),
             _param("limit", "At most this many (1-60, default 30).", {"type": "integer", "minimum": 1,
                                                                       "maximum": 60})])},
        "/api/dres/status": {"get": _get("dresStatus", "Whether DRES is configured (no call to DRES).",
                                         {"200": _json(_object(["configured"], configured={"type": "boolean"}),
                                                       "Configuration state."), "401": common["401"]})},
        "/api/dres/task": {"get": _get("dresTask", "The running DRES task.",
                                       {"200": _json({"type": "object"}, "The task."), "400": e400, **dres_errors,
                                        "401": common["401"]})},
        "/api/dres/submit": {"post": _get(
            "dresSubmit", "Submit {\"image_id\"} or {\"text\"} to DRES and answer with the verdict.",
            {"200": _json(_object(["verdict"]), "The verdict."), "400": e400,
             "415": _error_response("The body is not a JSON object (also the CSRF guard)."), **dres_errors,
             "401": common["401"], "413": _error_response("Body too large.")}, requestBody=json_body)},
        "/api/dres/log": {"post": _get(
            "dresLog", "Send the shown result list and its query to DRES's result log.",
            {"200": _json(_object(["logged"], logged={"type": "integer", "minimum": 0}), "Logged."), "400": e400,
             "415": _error_response("The body is not a JSON object."), **dres_errors, "401": common["401"],
             "413": _error_response("Body too large.")}, requestBody=json_body)},
    }
    # any /api route may answer 405 (wrong method) or 413 (body over the limit) with the JSON error shape
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "lifeseeker JSON API", "version": "1",
                 "description": "Lifelog search: fused CLIP (IaT) + CapMeta (TaT) scores with hard filters. "
                              "Bad input answers 400 with {\"error\": message naming the parameter}."},
        "paths": paths,
        "components": {"schemas": {"Document": document_schema(), "Hit": hit, "Error": _object(
            ["error"], error={"type": "string"})}},
    }


def register_openapi(app: Flask) -> None:
    """Serve :func:`openapi_document` at ``GET /openapi.json`` on ``app``."""
    document = openapi_document()

    @app.get("/openapi.json")
    def openapi_json():
        return jsonify(document)


__all__ = ["openapi_document", "register_openapi", "document_schema", "search_parameters", "filter_parameters"]

"""Every Painless script the Elasticsearch store sends is checked against the whitelist of the context it compiles in.

Elasticsearch compiles ``query.script_score.script`` and the rescore's ``script_score`` in the *score* context and
``script_fields`` in the *field* context; each context gets the base whitelists plus its own file
(elastic/elasticsearch, modules/lang-painless/src/main/java/org/elasticsearch/painless/PainlessPlugin.java). The
context files and the base ``org.elasticsearch.txt`` are vendored unmodified in ``tests/fixtures/painless/`` (paths,
commits and licence in its README). A free function call (``cosineSimilarity(...)``) must be a ``static_import`` of
the context's file; a method call or getter shortcut (``doc['f'].vectorValue``) must exist in a vendored class, or in
the few JDK methods listed below from the base files java.lang.txt / java.util.txt / java.time.chrono.txt of the same
directory. A script outside the score context that calls ``cosineSimilarity`` is answered 400 by a real cluster
("Unknown call [cosineSimilarity]"); these tests fail in that case.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

from lifeseeker.engine import filters as F
from lifeseeker.engine.query.soft import SoftDateRange, SoftHours, SoftMonths, SoftNear, SoftPlace, SoftWeekdays
from lifeseeker.engine.store.base import VectorQuery

from .es_fake import cluster, existing_index, fixture, make  # noqa: F401 (cluster: a fixture)

WHITELISTS = Path(__file__).parent / "fixtures" / "painless"
CONTEXT_FILES = {"score": "org.elasticsearch.script.score.txt", "field": "org.elasticsearch.script.field.txt",
                 "filter": "org.elasticsearch.script.filter.txt"}
# JDK methods the scripts use, all in the base whitelist: java.lang.txt (class java.lang.Math: abs, exp, max, min,
# sqrt), java.util.txt (Collection.contains/size, List.get/indexOf), java.time.chrono.txt
# (ChronoZonedDateTime.toLocalDate, ChronoLocalDate.toEpochDay).
JDK_METHODS = {"abs", "exp", "max", "min", "sqrt", "contains", "size", "get", "indexOf", "toLocalDate", "toEpochDay"}
KEYWORDS = {"if", "for", "while", "return", "switch", "catch", "else"}


def _parse_whitelist(text: str) -> tuple[set[str], set[str]]:
    """(static import names, method and field names of classes) of one whitelist file."""
    statics, members = set(), set()
    block = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("static_import"):
            block = "static"
        elif line.startswith("class "):
            block = "class"
        elif line == "}":
            block = None
        elif block == "static":
            statics.add(re.match(r"\S+\s+(\w+)\(", line).group(1))
        elif block == "class":
            m = re.match(r"[\w.$\[\]]+\s+(\w+)\s*(\(|$)", line)
            if m:
                members.add(m.group(1))
    return statics, members


def allowed(context: str) -> tuple[set[str], set[str]]:
    statics, members = _parse_whitelist((WHITELISTS / CONTEXT_FILES[context]).read_text(encoding="utf-8"))
    _, base = _parse_whitelist((WHITELISTS / "org.elasticsearch.txt").read_text(encoding="utf-8"))
    members |= base | JDK_METHODS
    # Painless getter shortcut: x.vectorValue calls x.getVectorValue()
    members |= {m[3].lower() + m[4:] for m in members if m.startswith("get") and len(m) > 3}
    return statics, members


def violations(source: str, context: str, params: dict[str, Any]) -> list[str]:
    """Calls and member accesses of ``source`` that the context's whitelist lacks, and params it reads but lacks."""
    statics, members = allowed(context)
    code = re.sub(r"'[^']*'", "''", source)  # string literals (field names) are not code
    out = []
    for m in re.finditer(r"(\.)?\s*\b([A-Za-z_]\w*)\s*(\()?", code):
        dot, name, call = m.groups()
        before = code[:m.start()].rstrip()
        if dot and before.endswith("params"):
            if name not in params:
                out.append(f"params.{name} is not passed")
            continue
        if dot:
            if name not in members and name != "length":  # array length
                out.append(f"member {name}{'()' if call else ''} is not whitelisted in the {context} context")
        elif call and name not in KEYWORDS and name not in statics and name != "Math":
            out.append(f"function {name}() is not whitelisted in the {context} context")
    return out


def scripts_of(body: dict[str, Any]) -> Iterator[tuple[str, str, dict]]:
    """(context, source, params) of every script in a _search body, by where Elasticsearch compiles it."""
    def walk(node: Any, path: tuple[str, ...]) -> Iterator[tuple[str, str, dict]]:
        if isinstance(node, dict):
            if "source" in node and node.get("lang") == "painless":
                if path[-1] == "script" and len(path) >= 2 and path[-2] == "script_score":
                    ctx = "score"
                elif len(path) >= 3 and path[-3] == "script_fields":
                    ctx = "field"
                elif path[-1] == "script" and len(path) >= 2 and path[-2] == "script":
                    ctx = "filter"
                else:
                    raise AssertionError(f"script at {path}: context unknown")
                yield ctx, node["source"], node.get("params", {})
            for k, v in node.items():
                yield from walk(v, path + (k,))
        elif isinstance(node, list):
            for v in node:
                yield from walk(v, path)

    yield from walk(body, ("",))


SOFT = [SoftDateRange(date(2019, 4, 1), date(2019, 4, 30)), SoftMonths((4, 5)), SoftWeekdays(("Sat", "Sun")),
        SoftHours(21 * 60, 29 * 60), SoftPlace("places", ("Dublin", "Málaga")), SoftNear(53.35, -6.26, 2.0)]
Q512 = np.linspace(-1, 1, 512).astype(np.float32)
Q384 = np.cos(np.arange(384)).astype(np.float32)


@pytest.mark.parametrize("exact", [True, False])
@pytest.mark.parametrize("clip,tat,soft", [(Q512, Q384, ()), (None, Q384, ()), (Q512, Q384, SOFT), (None, None, SOFT)])
def test_every_script_of_every_search_body_is_whitelisted_in_its_context(cluster, exact, clip, tat, soft):
    existing_index(cluster)
    store = make(cluster)
    body = store.search_body(VectorQuery(clip, tat, F.Weights(0.7, 0.3)), [F.HourRange(8, 12)], 20, exact=exact,
                             soft=soft)
    found = list(scripts_of(body))
    assert found, body
    contexts = {c for c, _, _ in found}
    assert "field" in contexts  # the components / boost always come back as script fields
    for ctx, src, params in found:
        assert violations(src, ctx, params) == [], (ctx, src)


def test_the_checker_refuses_score_functions_outside_the_score_context():
    # The component source lifeseeker sent before: valid only in the score context.
    old = "doc['clip_vec'].size() == 0 ? 0.0 : cosineSimilarity(params.q_clip, 'clip_vec')"
    assert violations(old, "score", {"q_clip": [1.0]}) == []
    assert violations(old, "field", {"q_clip": [1.0]}) == ["function cosineSimilarity() is not whitelisted in the "
                                                           "field context"]
    assert violations("return dotProduct(params.q, 'v');", "filter", {"q": []}) != []
    assert violations("return doc['v'].vectorMagic;", "field", {}) == ["member vectorMagic is not whitelisted in the "
                                                                       "field context"]
    assert violations("return params.missing;", "field", {}) == ["params.missing is not passed"]


def test_whitelists_say_what_the_issue_says():
    # Only the score context imports the vector functions; the base whitelist has the doc-values accessors.
    score, _ = allowed("score")
    field, members = allowed("field")
    assert {"cosineSimilarity", "dotProduct", "l1norm", "l2norm"} <= score
    assert field == set() and allowed("filter")[0] == set()
    assert {"getVectorValue", "vectorValue", "getMagnitude", "arcDistance", "value"} <= members


def test_component_script_computes_the_cosine_from_the_vector_value(cluster):
    # Emulate the field script's arithmetic (float32 doc values, unit query vector) and compare with the cosine.
    existing_index(cluster)
    store = make(cluster)
    body = store.search_body(VectorQuery(Q512, None, F.Weights(1, 0)), [], 10, exact=True)
    field = body["script_fields"]["iat"]["script"]
    u = np.asarray(field["params"]["u_iat"])
    assert np.linalg.norm(u) == pytest.approx(1.0, abs=1e-12)
    assert "vectorValue" in field["source"] and "/ Math.sqrt(nn)" in field["source"]
    v = np.random.default_rng(0).standard_normal(512).astype(np.float32)
    dot, nn = float(np.dot(v.astype(float), u)), float(np.dot(v.astype(float), v.astype(float)))
    want = float(v.astype(float) @ Q512.astype(float) / (np.linalg.norm(v.astype(float)) * np.linalg.norm(Q512)))
    assert dot / np.sqrt(nn) == pytest.approx(want, abs=1e-9)

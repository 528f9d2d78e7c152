"""A small reader of the official Elasticsearch API specification (TypeScript, ``tests/fixtures/es-spec/``,
vendored from elastic/elasticsearch-specification; README there) and a validator of request bodies against it.

It reads ``class``/``interface`` blocks (properties, ``extends``, ``@aliases``, nested ``body``/``query_parameters``
blocks of requests) and ``type`` aliases (unions), and checks that every key of a JSON value is a property of the
type the specification gives at that place, recursively through ``Dictionary<K, V>``, ``SingleKeyDictionary``,
arrays and unions (a union passes when one alternative does; ``Property`` alternatives are picked by their
``type`` literal). Scalars are not checked. Types it cannot find are reported in ``unresolved`` so a test can
insist that the types it cares about were really checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SPEC = Path(__file__).parent / "fixtures" / "es-spec" / "specification"

_DECL = re.compile(r"^export (?:class|interface) (\w+)(?:<[^>]*>)?(?: extends ([\w<>, ]+?))?(?: implements [\w, <>]+)? \{")
_TYPE = re.compile(r"^export type (\w+)(?:<[^>]*>)? =\s*(.*)$")
_PROP = re.compile(r"^(\w+)(\?)?: (.+?)\s*(?://.*)?$")


@dataclass
class Klass:
    name: str
    file: str
    bases: list[str]
    props: dict[str, str] = field(default_factory=dict)  # name -> type expression
    aliases: dict[str, str] = field(default_factory=dict)  # alias -> property
    extra: str | None = None  # implements AdditionalProperty/AdditionalProperties<K, V>: other keys hold a V
    nested: dict[str, "Klass"] = field(default_factory=dict)  # body / query_parameters / path_parts


def _strip_comments(text: str) -> list[tuple[str, list[str]]]:
    """Lines without comments, each with the ``@aliases`` names of the doc comment just before it."""
    out, aliases, in_doc = [], [], False
    for raw in text.splitlines():
        line = raw.strip()
        if in_doc:
            m = re.search(r"@aliases ([\w, ]+)", line)
            if m:
                aliases += [a.strip() for a in m.group(1).split(",")]
            if "*/" in line:
                in_doc = False
                line = line.split("*/", 1)[1].strip()
            else:
                continue
        if line.startswith("/*"):
            m = re.search(r"@aliases ([\w, ]+)", line)
            if m:
                aliases += [a.strip() for a in m.group(1).split(",")]
            if "*/" not in line:
                in_doc = True
                continue
            line = line.split("*/", 1)[1].strip()
        line = re.sub(r"\s*//.*$", "", line)
        if line:
            out.append((line, aliases))
            aliases = []
    return out


def _parse(path: Path, classes: dict[str, list[Klass]], types: dict[str, list[str]]) -> None:
    lines = _strip_comments(path.read_text(encoding="utf-8"))
    stack: list[Klass] = []
    depth_of: list[int] = []
    depth = 0
    pending_type: tuple[str, str] | None = None
    rel = str(path.relative_to(SPEC))
    decl = ""
    for line, aliases in lines + [("", [])]:
        if pending_type is not None:
            name, expr = pending_type
            if line.startswith("|") or expr.rstrip().endswith(("|", "=")) or not expr.strip() \
                    or expr.count("<") > expr.count(">"):
                pending_type = (name, expr + " " + line)
                continue
            types.setdefault(name, []).append(expr)
            pending_type = None
        if not stack and (decl or re.match(r"^export (?:class|interface) ", line)):
            decl = f"{decl} {line}".strip()
            if "{" not in line:
                continue
            line, decl = re.sub(r"\s+\{$", " {", decl), ""
        m = _DECL.match(line)
        if m and not stack:
            k = Klass(m.group(1), rel, [b.strip() for b in re.split(r",(?![^<]*>)", m.group(2) or "") if b.strip()])
            mx = re.search(r"AdditionalPropert(?:y|ies)<\s*[^,]+,\s*([^>]+)>", line)
            k.extra = mx.group(1).strip() if mx else None
            classes.setdefault(k.name, []).append(k)
            stack, depth_of, depth = [k], [1], 1
            if line.rstrip().endswith("}"):  # empty class on one line
                stack, depth_of, depth = [], [], 0
            continue
        m = _TYPE.match(line)
        if m and not stack:
            expr = m.group(2)
            if not expr or expr.endswith("|") or expr.count("<") > expr.count(">"):
                pending_type = (m.group(1), expr)
            else:
                types.setdefault(m.group(1), []).append(expr)
            continue
        if not stack:
            continue
        opens, closes = line.count("{"), line.count("}")
        m = _PROP.match(line)
        if m and depth == depth_of[-1]:
            name, typ = m.group(1), m.group(3)
            if typ == "{" or typ.endswith("{"):
                sub = Klass(f"{stack[0].name}.{name}", rel, [])
                stack[-1].nested[name] = sub
                stack.append(sub)
                depth += 1
                depth_of.append(depth)
                continue
            stack[-1].props[name] = typ
            for a in aliases:
                stack[-1].aliases[a] = name
        depth += opens - closes
        while stack and depth < depth_of[-1]:
            stack.pop()
            depth_of.pop()


class Spec:
    """The vendored specification excerpt: ``classes[name]`` (a list: names repeat across endpoints) and ``types``."""

    def __init__(self, root: Path = SPEC):
        self.classes: dict[str, list[Klass]] = {}
        self.types: dict[str, list[str]] = {}
        for path in sorted(root.rglob("*.ts")):
            _parse(path, self.classes, self.types)

    def request(self, file: str, name: str = "Request") -> Klass:
        """The ``Request`` class of one endpoint file, e.g. ``_global/search/SearchRequest.ts``."""
        (k,) = [k for k in self.classes.get(name, []) if k.file == file]
        return k

    def props(self, k: Klass) -> tuple[dict[str, str], dict[str, str]]:
        """Properties and aliases of ``k`` with those of its bases."""
        props, aliases = dict(k.props), dict(k.aliases)
        for b in k.bases:
            base = self._klass(re.sub(r"<.*", "", b))
            if base is not None:
                p, a = self.props(base)
                props = {**p, **props}
                aliases = {**a, **aliases}
        return props, aliases

    def bases(self, k: Klass) -> list[Klass]:
        out = []
        for b in k.bases:
            base = self._klass(re.sub(r"<.*", "", b))
            if base is not None:
                out += [base] + self.bases(base)
        return out

    def _klass(self, name: str) -> Klass | None:
        found = self.classes.get(name)
        return found[0] if found else None


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    checked: set[str] = field(default_factory=set)  # class names a value was checked against
    unresolved: set[str] = field(default_factory=set)


SCALARS = {"string", "boolean", "integer", "long", "double", "float", "short", "byte", "uint", "ulong", "number",
           "null", "UserDefinedValue", "any", "Field", "Fields", "Id", "Ids", "IndexName", "Indices", "Name", "Names",
           "Duration", "DateMath", "Distance", "GeoDistanceType", "Routing", "VersionNumber", "ScriptLanguage",
           "Operator", "SortOrder", "ScriptSource", "Stringified", "DateTime", "EpochTime", "IndexAlias",
           "TaskId", "Percentage", "Refresh", "WaitForActiveShards", "ExpandWildcards", "SearchType",
           "DurationLarge", "TimeOfDay", "Time", "ByteSize", "MinimumShouldMatch", "Fuzziness", "TextQueryType",
           "ZeroTermsQuery", "DenseVectorSimilarity", "DenseVectorElementType", "DenseVectorIndexOptionsType",
           "DynamicMapping", "PropertyName"}


# scalar-like names defined as "X | X[]" in _types/common.ts (not vendored)
LISTS = {"Fields", "Ids", "Indices", "Names", "IndexName", "Routing", "ExpandWildcards"}


def _split_union(expr: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in expr:
        depth += ch in "<([{"
        depth -= ch in ">)]}"
        if ch == "|" and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    return [p for p in parts if p]


def validate(spec: Spec, value: Any, typ: str, path: str = "$", report: Report | None = None) -> Report:
    """Check ``value`` against the type expression ``typ``; errors name the JSON path and the unknown key."""
    report = report or Report()
    typ = typ.strip()
    if typ.startswith("(") and typ.endswith(")"):
        typ = typ[1:-1]
    alts = _split_union(typ)
    if len(alts) > 1:
        tries = []
        # tagged union (Property): by "type"; a mapping without "type" but with "properties" is an object
        tag = value.get("type", "object" if "properties" in value else None) if isinstance(value, dict) else None
        if isinstance(tag, str):
            tagged = [a for a in alts if _literal_type(spec, a) == tag]
            alts = tagged or alts
        for a in alts:
            r = validate(spec, value, a, path)
            if not r.errors:
                report.checked |= r.checked
                report.unresolved |= r.unresolved
                return report
            tries.append(r)
        report.errors.append(f"{path}: no alternative of {typ} fits: "
                             + " / ".join(e for r in tries[:3] for e in r.errors[:1]))
        return report
    if typ.endswith("[]"):
        for i, v in enumerate(value if isinstance(value, list) else [value]):
            validate(spec, v, typ[:-2], f"{path}[{i}]", report)
        return report
    m = re.match(r"(Dictionary|SingleKeyDictionary|AdditionalProperties)<\s*([^,]+),\s*(.+)>$", typ)
    if m:
        if isinstance(value, dict):
            if m.group(1) == "SingleKeyDictionary" and len(value) != 1:
                report.errors.append(f"{path}: expected a single-key object, got {sorted(value)}")
            for k, v in value.items():
                validate(spec, v, m.group(3), f"{path}.{k}", report)
        return report
    if typ in ("UserDefinedValue", "any", "Metadata"):
        return report
    name = re.sub(r"<.*", "", typ)
    if name in spec.types:
        return validate(spec, value, " | ".join(spec.types[name]), path, report)
    if isinstance(value, list):
        if typ not in LISTS:
            report.errors.append(f"{path}: an array where the specification has {typ}")
        return report
    if isinstance(value, dict) and (typ in SCALARS or typ.startswith("'")):
        report.errors.append(f"{path}: an object where the specification has {typ}")
        return report
    if not isinstance(value, dict):
        return report
    k = spec._klass(name)
    if k is None:
        report.unresolved.add(name)
        return report
    return check_object(spec, value, k, path, report)


def check_object(spec: Spec, value: dict, k: Klass, path: str, report: Report) -> Report:
    report.checked.add(k.name)
    props, aliases = spec.props(k)
    if k.extra is None:
        k.extra = next((b.extra for b in spec.bases(k) if b.extra is not None), None)
    for key, v in value.items():
        prop = key if key in props else aliases.get(key)
        if prop is None and k.extra is not None:
            validate(spec, v, k.extra, f"{path}.{key}", report)
            continue
        if prop is None:
            report.errors.append(f"{path}: {key!r} is not a property of {k.name} ({k.file})")
            continue
        validate(spec, v, props[prop], f"{path}.{key}", report)
    return report


def _literal_type(spec: Spec, alt: str) -> str | None:
    k = spec._klass(re.sub(r"<.*", "", alt))
    if k is None:
        return None
    t = spec.props(k)[0].get("type")
    return t.strip("'") if t and t.startswith("'") else None


def check_body(spec: Spec, request_file: str, body: Any) -> Report:
    """Validate a request body against the ``body`` block of the endpoint's ``Request`` class (a body typed as a
    whole, ``body: T``, is validated against ``T``)."""
    req = spec.request(request_file)
    report = Report()
    if "body" in req.nested:
        return check_object(spec, body, req.nested["body"], "$", report)
    return validate(spec, body, req.props["body"], "$", report)


def check_params(spec: Spec, request_file: str, params: dict[str, Any]) -> list[str]:
    """Query parameter names not declared by the endpoint (``query_parameters``) nor by every request
    (``error_trace``, ``filter_path``, ``human``, ``pretty``: CommonQueryParameters in _types/common.ts)."""
    req = spec.request(request_file)
    declared = set(req.nested["query_parameters"].props) if "query_parameters" in req.nested else set()
    common = {"error_trace", "filter_path", "human", "pretty"}
    return sorted(p for p in params if p not in declared | common)

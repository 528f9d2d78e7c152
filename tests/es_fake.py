"""A fake Elasticsearch transport node for contract tests: it records the exact requests the client sends and
answers with recorded responses (``tests/fixtures/es/*.json``). Routes are ``(method, path regex)``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

import pytest
from elastic_transport import ApiResponseMeta, BaseNode, HttpHeaders

from lifeseeker.engine.store.elastic import ElasticStore

FIXTURES = Path(__file__).parent / "fixtures" / "es"
REPO = Path(__file__).resolve().parents[1]


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


# --- fake transport ----------------------------------------------------------------------------------------------------


class NodeApiResponse(NamedTuple):
    """What a transport node returns (``elastic_transport``'s ``BaseNode.perform_request``: meta + raw body)."""

    meta: ApiResponseMeta
    body: bytes


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, list[str]]
    body: Any
    headers: dict[str, str]
    timeout: Any = None


@dataclass
class FakeCluster:
    """Routes ``(method, path regex)`` to queued responses: ``(status, body dict)`` or an exception to raise. The
    last queued response of a route repeats. Unrouted requests fail the test."""

    routes: list[tuple[str, re.Pattern, list]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)

    def on(self, method: str, path: str, *responses) -> "FakeCluster":
        self.routes.insert(0, (method, re.compile(path + "$"), list(responses)))
        return self

    def sent(self, method: str, path: str) -> list[Request]:
        pat = re.compile(path + "$")
        return [r for r in self.requests if r.method == method and pat.match(r.path)]

    def node_class(self):
        cluster = self

        class Node(BaseNode):
            def perform_request(self, method, target, body=None, headers=None, request_timeout=None):
                return cluster.handle(self, method, target, body, headers, request_timeout)

        return Node

    def handle(self, node, method, target, body, headers, request_timeout=None):
        url = urlsplit(target)
        raw = body.decode("utf-8") if body else None
        parsed: Any = None
        if raw:
            lines = [ln for ln in raw.split("\n") if ln]
            parsed = json.loads(raw) if len(lines) == 1 else [json.loads(ln) for ln in lines]
        self.requests.append(Request(method, url.path, parse_qs(url.query), parsed, dict(headers or {}),
                                     request_timeout))
        for m, pat, queue in self.routes:
            if m == method and pat.match(url.path):
                resp = queue.pop(0) if len(queue) > 1 else queue[0]
                if isinstance(resp, Exception):
                    raise resp
                status, payload = resp
                data = b"" if payload is None else json.dumps(payload).encode()
                meta = ApiResponseMeta(status=status, http_version="1.1", duration=0.0, node=node.config,
                                       headers=HttpHeaders({"content-type": "application/json",
                                                            "x-elastic-product": "Elasticsearch"}))
                return NodeApiResponse(meta, data)
        raise AssertionError(f"unexpected request {method} {target}")


@pytest.fixture
def cluster() -> FakeCluster:
    return FakeCluster()


def make(cluster: FakeCluster, **kw) -> ElasticStore:
    kw.setdefault("backoff_s", 0)
    return ElasticStore("http://es.test:9200", node_class=cluster.node_class(), **kw)


def existing_index(cluster: FakeCluster) -> FakeCluster:
    """Routes of a cluster that already holds ``lifeseeker-v1`` (512/384 dims) behind the alias; its recorded
    mapping predates the fields issue 16 added, which ``ensure_schema`` adds with ``PUT _mapping`` (acknowledged)."""
    return (cluster.on("GET", "/_alias/lifeseeker", (200, fixture("get_alias.json")))
            .on("GET", "/lifeseeker/_mapping", (200, fixture("get_mapping.json")))
            .on("PUT", "/lifeseeker/_mapping", (200, {"acknowledged": True})))



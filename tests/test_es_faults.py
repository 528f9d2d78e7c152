"""Elasticsearch faults, against a real HTTP stub on 127.0.0.1 (real sockets, real client, real timeouts):
unreachable, slow, 429, 502/503/504, 500 and a non-Elasticsearch proxy answer. The store retries a bounded
number of times with exponential backoff (sleeps recorded, not waited), then raises a StoreError that says what
happened; the web app answers 503 with that message, as JSON under /api and as a page elsewhere, never a 500 and
never a hang."""

from __future__ import annotations

import json
import socket
import threading
import time as _time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lifeseeker.config import Settings
from lifeseeker.engine.store import open_store
from lifeseeker.engine.store.base import VectorQuery
from lifeseeker.engine.store.elastic import ElasticStore
from lifeseeker.errors import StoreError
from lifeseeker.webui import create_app

HANG_GUARD_S = 60  # a web request still running after this long counts as a hang (it should end in ~1 s)


class StubES:
    """A tiny HTTP server standing in for Elasticsearch. ``mode`` decides every answer:

    * ``("status", code)``: that status with an Elasticsearch-shaped error body and the product header;
    * ``("sleep", seconds)``: answer 200 only after ``seconds`` (cut short when the stub stops);
    * ``("proxy", code)``: an HTML page without the Elasticsearch product header (a reverse proxy's answer).
    """

    def __init__(self):
        self.mode: tuple[str, float] = ("status", 503)
        self.requests: list[tuple[str, str]] = []
        self.stop = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def _answer(self):
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                stub.requests.append((self.command, self.path.split("?")[0]))
                kind, value = stub.mode
                if kind == "sleep":
                    stub.stop.wait(value)
                    body, status, ctype, product = b'{"count": 0}', 200, "application/json", True
                elif kind == "proxy":
                    body, status, ctype, product = b"<html>Bad Gateway</html>", int(value), "text/html", False
                else:
                    status = int(value)
                    body = json.dumps({"error": {"type": "stub_exception", "reason": f"stub says {status}"},
                                       "status": status}).encode()
                    ctype, product = "application/json", True
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    if product:
                        self.send_header("X-Elastic-Product", "Elasticsearch")
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    pass

            do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub():
    s = StubES()
    yield s
    s.close()


@pytest.fixture
def sleeps(monkeypatch):
    """Backoff sleeps (the store's, for 429/5xx answers, and the transport's, for connection errors and
    timeouts), recorded instead of waited."""
    import elastic_transport._transport as tr

    import lifeseeker.engine.store.elastic.client as es_module

    recorded: list[float] = []

    class FakeTime:
        def __getattr__(self, name):
            return getattr(_time, name)

        @staticmethod
        def sleep(seconds: float) -> None:
            recorded.append(seconds)

    monkeypatch.setattr(tr, "time", FakeTime())
    monkeypatch.setattr(es_module, "time", FakeTime())
    return recorded


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there any more: connection refused


def make_store(url: str, **kw) -> ElasticStore:
    kw.setdefault("timeout_s", 2.0)
    kw.setdefault("retries", 2)
    kw.setdefault("backoff_s", 0.5)
    return ElasticStore(url, **kw)


# --- the store: bounded retries with backoff, then StoreError ----------------------------------------------------


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_overload_statuses_are_retried_with_backoff_then_reported(stub, sleeps, status):
    stub.mode = ("status", status)
    with pytest.raises(StoreError, match=rf"count failed with HTTP {status} \(overloaded: retried and gave up\)"):
        make_store(stub.url, retries=3).count()
    assert len(stub.requests) == 4  # 1 try + 3 retries, then it gives up
    # equal-jitter exponential backoff: the n-th sleep lies in [b*2^(n-1)/2, b*2^(n-1)] for base b = 0.5 s
    assert len(sleeps) == 3
    for n, s in enumerate(sleeps, 1):
        assert 0.5 * 2 ** (n - 1) / 2 <= s <= 0.5 * 2 ** (n - 1), sleeps


def test_backoff_is_capped_at_30_seconds(stub, sleeps):
    stub.mode = ("status", 503)
    with pytest.raises(StoreError):
        make_store(stub.url, retries=8, backoff_s=10).count()
    assert len(sleeps) == 8 and max(sleeps) <= 30.0 and len(stub.requests) == 9


def test_500_is_not_retried_and_names_the_cause(stub, sleeps):
    stub.mode = ("status", 500)
    with pytest.raises(StoreError, match=r"HTTP 500: stub_exception: stub says 500"):
        make_store(stub.url).count()
    assert len(stub.requests) == 1 and sleeps == []


def test_unreachable_cluster_is_retried_then_reported(sleeps):
    url = closed_port_url()
    with pytest.raises(StoreError, match=r"unreachable during count after 2 retries"):
        make_store(url, retries=2).count()
    assert len(sleeps) == 2


def test_slow_cluster_times_out_per_request_then_is_reported(stub, sleeps):
    stub.mode = ("sleep", 30)
    with pytest.raises(StoreError, match=r"unreachable during count after 1 retries"):
        make_store(stub.url, timeout_s=0.3, retries=1).count()
    assert len(stub.requests) == 2 and len(sleeps) == 1


def test_a_proxy_page_instead_of_elasticsearch_is_a_store_error(stub, sleeps):
    stub.mode = ("proxy", 200)
    with pytest.raises(StoreError):
        make_store(stub.url).count()
    stub.mode = ("proxy", 502)
    with pytest.raises(StoreError, match="HTTP 502"):
        make_store(stub.url, retries=1).search(VectorQuery(None, None))


def test_timeout_and_retries_come_from_the_settings():
    s = Settings.from_env({"LIFESEEKER_ES_URL": "http://127.0.0.1:9", "LIFESEEKER_ES_TIMEOUT": "2.5",
                           "LIFESEEKER_ES_RETRIES": "4"})
    store = open_store(s.store, **s.es_options())
    opts = vars(store.client)
    assert (opts["_request_timeout"], opts["_max_retries"], opts["_retry_on_timeout"]) == (2.5, 4, True)
    assert opts["_retry_on_status"] == () and store.retries == 4  # statuses: retried by the store, with backoff
    defaults = vars(open_store("http://127.0.0.1:9", **Settings().es_options()).client)
    assert defaults["_request_timeout"] == 10.0 and defaults["_max_retries"] == 3
    with pytest.raises(ValueError, match="LIFESEEKER_ES_TIMEOUT"):
        Settings.from_env({"LIFESEEKER_ES_TIMEOUT": "soon"})


# --- the web app: 503 with a message, never a 500, never a hang ----------------------------------------------------


def _get(app, url: str):
    """GET ``url`` on a thread; fails the test if it does not finish within HANG_GUARD_S."""
    out: dict = {}
    t = threading.Thread(target=lambda: out.setdefault("r", app.test_client().get(url)), daemon=True)
    t.start()
    t.join(HANG_GUARD_S)
    assert not t.is_alive(), f"{url} hung"
    return out["r"]


WEB_URLS = ["/api/search?q=street", "/api/search?q=&country=Italy", "/api/image/a.jpg", "/api/info",
            "/?q=street", "/", "/image/a.jpg", "/thumb/a.jpg"]


@pytest.fixture
def es_app(tiny_models, tmp_path):
    def build(url: str, **kw):
        store = make_store(url, **kw)
        return create_app(Settings(store=url, cache_dir=str(tmp_path)), store=store, models=tiny_models)

    return build


@pytest.mark.parametrize("mode,needle", [(("status", 503), "HTTP 503"), (("status", 429), "HTTP 429"),
                                         (("status", 500), "HTTP 500"), (("sleep", 30), "unreachable"),
                                         (("proxy", 502), "HTTP 502")])
def test_web_app_answers_503_with_the_reason(stub, sleeps, es_app, mode, needle):
    stub.mode = mode
    app = es_app(stub.url, timeout_s=0.3, retries=1)
    for url in WEB_URLS:
        r = _get(app, url)
        assert r.status_code == 503, (url, r.status_code)
        if url.startswith("/api/"):
            msg = r.get_json()["error"]
        else:
            msg = r.get_data(as_text=True)
            assert "Error 503" in msg
        assert "Elasticsearch" in msg and needle in msg, (url, msg[:300])
        assert "Traceback" not in msg


def test_web_app_answers_503_when_the_cluster_is_down(sleeps, es_app):
    app = es_app(closed_port_url(), retries=2)
    for url in WEB_URLS:
        r = _get(app, url)
        assert r.status_code == 503
        text = r.get_json()["error"] if url.startswith("/api/") else r.get_data(as_text=True)
        assert "unreachable" in text and "after 2 retries" in text


def test_web_request_retries_are_bounded(stub, sleeps, es_app):
    stub.mode = ("status", 503)
    app = es_app(stub.url, retries=2)
    r = _get(app, "/api/search?q=street")
    assert r.status_code == 503
    assert len(stub.requests) == 3 and len(sleeps) == 2  # one store call: 1 try + 2 retries, then 503


def test_web_app_recovers_when_the_cluster_comes_back(stub, sleeps, es_app):
    stub.mode = ("status", 503)
    app = es_app(stub.url, retries=1)
    assert _get(app, "/api/search?q=&country=Italy").status_code == 503
    stub.mode = ("status", 404)  # index missing now: an empty store, answered normally
    r = _get(app, "/api/search?q=&country=Italy")
    assert r.status_code == 200 and r.get_json()["hits"] == [] and r.get_json()["total_filtered"] == 0

"""The production serving configuration (``lifeseeker/webui/gunicorn_conf.py``) under a real gunicorn on 127.0.0.1:
slow clients do not take the site down, a request is read within a deadline, the request line holds every query
the OpenAPI documents, and gunicorn's own errors are JSON.

Reference for the behaviour this guards against: gunicorn's sync worker (``gunicorn/workers/sync.py``) serves one
connection per worker and reads it without a timeout, so two idle connections blocked both workers of the old
``gunicorn -w 2`` command for up to ``--timeout``. Every socket here is opened, trickled and closed by the test
within a bounded time; nothing leaves the loopback address.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from lifeseeker.engine.search import MAX_QUERY_CHARS

from .conftest import REPO

READ_DEADLINE_S = 3.0  # set for the server under test (production default: 20 s)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_clip_dir):
    """gunicorn -c python:lifeseeker.webui.gunicorn_conf 'lifeseeker.webui:create_app()' over an empty embedded
    store with the tiny CLIP and the real MiniLM; yields its base URL."""
    work = tmp_path_factory.mktemp("gunicorn")
    port = _free_port()
    env = dict(os.environ, LIFESEEKER_STORE=f"lance://{work / 'store'}", LIFESEEKER_CACHE=str(work / "cache"),
               LIFESEEKER_CLIP_MODEL=f"local-dir:{tiny_clip_dir}", LIFESEEKER_CLIP_PRETRAINED="",
               LIFESEEKER_RERANK="off", LIFESEEKER_VQA_MODEL="none", LIFESEEKER_CAPTION_MODEL="none",
               LIFESEEKER_READ_DEADLINE_S=str(READ_DEADLINE_S), OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    log = open(work / "gunicorn.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:lifeseeker.webui.gunicorn_conf",
                             "-b", f"127.0.0.1:{port}", "lifeseeker.webui:create_app()"],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/info", timeout=10) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start:\n"
                                   + (work / "gunicorn.log").read_bytes()[-3000:].decode(errors="replace"))
            time.sleep(0.5)
        for k in range(6):  # warm both workers (first encode, store snapshot) before anything is timed
            _get(f"{base}/api/search?q=warm+{k}&limit=5", timeout=60)
        yield base, port
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait(10)
        log.close()


def _get(url: str, timeout: float = 10.0) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()


def _trickle(port: int, payload: bytes, interval_s: float, until: float, closed_at: list) -> None:
    """Send ``payload`` one byte per ``interval_s`` until ``until`` (monotonic); note when the server closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        for b in payload:
            if time.monotonic() > until:
                return
            try:
                s.sendall(bytes([b]))
            except OSError:
                closed_at.append(time.monotonic())
                return
            # the server closing shows as EOF (or a reset) on our side
            s.settimeout(interval_s)
            try:
                if s.recv(1024) == b"":
                    closed_at.append(time.monotonic())
                    return
            except socket.timeout:
                pass
            except OSError:
                closed_at.append(time.monotonic())
                return


def test_ordinary_requests_answer_while_slow_sockets_are_open(server):
    base, port = server
    slow_for = 12.0  # seconds the slow sockets stay open (bounded)
    t0 = time.monotonic()
    idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(2)]  # send nothing at all
    closed: list[list] = [[], []]
    tricklers = [
        threading.Thread(target=_trickle, args=(port, b"GET /api/info HTTP/1.1\r\nHost: x\r\nX-Pad: "
                                                + b"a" * 200, 0.3, t0 + slow_for, closed[0])),
        threading.Thread(target=_trickle, args=(port, b"POST /api/search/image HTTP/1.1\r\nHost: x\r\n"
                                                b"Content-Length: 5000\r\n\r\n" + b"x" * 5000, 0.05,
                                                t0 + slow_for, closed[1])),
    ]
    for t in tricklers:
        t.start()
    try:
        time.sleep(1.0)  # every slow socket is connected and has taken whatever the server gives it
        answered = []
        for k in range(8):  # more requests than the old config had workers, one after another
            t1 = time.monotonic()
            status, ctype, body = _get(f"{base}/api/search?q=street+{k}&limit=5", timeout=10)
            answered.append((status, time.monotonic() - t1))
            assert status == 200 and ctype.startswith("application/json"), body[:300]
            assert "hits" in json.loads(body)
        assert max(s for _, s in answered) < 5.0, answered
        for t in tricklers:
            t.join(slow_for + 5)
        # the read deadline closed both trickling connections (a request must arrive within READ_DEADLINE_S)
        for c in closed:
            assert c, "a trickling client was never disconnected"
            assert c[0] - t0 < READ_DEADLINE_S + 6.0
    finally:
        for s in idle:
            s.close()


def test_query_at_documented_max_length_fits_the_request_line(server):
    base, _ = server
    q = "\U0001F600" * MAX_QUERY_CHARS  # 4-byte UTF-8, 12 bytes each percent-encoded: the worst case
    url = f"{base}/api/search?" + urllib.parse.urlencode({"q": q, "limit": 5, "weekday": "Sat,Sun",
                                                          "date_from": "2019-01-01", "part": "morning"})
    assert len(url) > 4094 + 100  # over gunicorn's default request line limit, which answered 414 before
    status, ctype, body = _get(url)
    assert status == 200 and ctype.startswith("application/json"), body[:300]
    status, ctype, body = _get(f"{base}/api/search?q=" + "a" * (MAX_QUERY_CHARS + 1))
    assert status == 400 and ctype.startswith("application/json")
    assert "q" in json.loads(body)["error"] and str(MAX_QUERY_CHARS) in json.loads(body)["error"]


def test_gunicorn_own_errors_are_json(server):
    base, port = server
    status, ctype, body = _get(f"{base}/api/search?q=" + "a" * 9000)  # request line over 8190 bytes
    assert status == 414 and ctype == "application/json"
    assert json.loads(body)["error"].startswith("414 ")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:  # a malformed request line
        s.sendall(b"GARBAGE\r\n\r\n")
        raw = b""
        while chunk := s.recv(4096):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"Content-Type: application/json" in head
    assert json.loads(body)["error"].startswith("400 ")


def test_each_worker_warms_up_after_the_fork_not_in_the_master(server):
    """The warm-up (store snapshot, gazetteer, one search) runs in each worker (gunicorn_conf.post_worker_init),
    never in the --preload master, whose LanceDB handles would not survive the fork (store/lance/table.py): every
    worker answers /readyz ready with a warm-up it did itself (``warmed_here``; before: the master's), and
    searches answer."""
    base, _port = server
    for _ in range(12):  # both workers (2 by default) answer over a few connections
        status, _ctype, body = _get(f"{base}/readyz")
        got = json.loads(body)
        assert status == 200 and got["ready"] is True and got["error"] is None and got["warm_s"] > 0
        assert got["warmed_here"] is True  # this worker warmed up itself; a warmed master would give False
    status, _ctype, _body = _get(f"{base}/api/search?q=street&limit=3", timeout=60)
    assert status == 200

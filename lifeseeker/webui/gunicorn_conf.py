"""The production gunicorn configuration: ``gunicorn -c python:lifeseeker.webui.gunicorn_conf
'lifeseeker.webui:create_app()'`` (README "Production serving", Dockerfile, compose.yaml's ``app`` service).

Why these settings (gunicorn 27's own source is the reference: ``gunicorn/workers/gthread.py``,
``gunicorn/config.py``):

* **Threaded workers survive slow clients.** Gunicorn's ``sync`` worker serves one connection at a time and reads
  the request in that one thread, so two TCP connections that send nothing (or their headers byte by byte) block
  two sync workers for up to ``--timeout``. The ``gthread`` worker accepts in its main loop, waits up to 5 s
  (``DEFAULT_WORKER_DATA_TIMEOUT``) for a new connection's first bytes before it takes a thread and hands an idle
  connection back to its poller (closed after ``keepalive`` s); ``THREADS`` threads per worker serve requests.
* **Every request is read within a deadline.** A client that trickles its headers or body would still hold a
  thread: gunicorn's parser reads with a blocking ``recv`` and no timeout. :class:`SlowClientSafeWorker` gives each
  connection a socket whose reads of one request end by ``READ_DEADLINE_S`` seconds after it started (header and
  body together; the connection is then closed) and whose writes end by ``SEND_TIMEOUT_S``. So a slow client holds
  a thread for a bounded time, and ``WORKERS x THREADS`` of them at once are needed to delay others; for a site
  exposed beyond a trusted network put a buffering reverse proxy (nginx: ``client_header_timeout``,
  ``client_body_timeout``) in front as well.
* **The request line holds any documented query.** ``limit_request_line`` is gunicorn's maximum (8190 bytes; its
  default 4094 refused queries the OpenAPI allowed); ``engine.search.MAX_QUERY_CHARS`` is chosen so that ``q`` at
  that length fits even when every character is a 4-byte UTF-8 one percent-encoded (12 bytes): ``MAX_QUERY_CHARS x
  12 + REQUEST_LINE_SPARE <= REQUEST_LINE_BYTES`` (checked at import).
* **Errors gunicorn answers itself are JSON** (a request line over the limit: 414, too many or too large header
  fields: 431, a malformed request: 400), ``{"error": "..."}`` like the app's ``/api/`` errors, instead of gunicorn's
  HTML page: :func:`write_json_error`.
* ``preload_app``: the models load once in the master and workers share them copy-on-write (``OMP_NUM_THREADS=1``
  is required: GNU OpenMP is not fork-safe). ``timeout`` 60 s: with Elasticsearch one store call may take 4 x 10 s
  plus backoff before the app answers 503.

Command-line flags override these values (``-w``, ``--threads``, ``-b``); ``LIFESEEKER_WEB_WORKERS`` and
``LIFESEEKER_WEB_THREADS`` set the two counts (default 2 and 8), ``LIFESEEKER_BIND`` the address (default
``127.0.0.1:5000``), ``LIFESEEKER_READ_DEADLINE_S`` the read deadline (default 20 s); ``LIFESEEKER_PRELOAD=0``
turns preloading off.
"""

from __future__ import annotations

import json
import os
import socket
import time

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

from ..engine.search import MAX_QUERY_CHARS

REQUEST_LINE_BYTES = 8190  # gunicorn's largest limit_request_line (gunicorn/config.py, LimitRequestLine)
REQUEST_LINE_SPARE = 900  # method, path, HTTP version and the other parameters of a search URL
READ_DEADLINE_S = float(os.environ.get("LIFESEEKER_READ_DEADLINE_S", "20"))  # one request's line, headers, body
SEND_TIMEOUT_S = 60.0  # one response write (sendall) must finish within this
if MAX_QUERY_CHARS * 12 + REQUEST_LINE_SPARE > REQUEST_LINE_BYTES:  # pragma: no cover - a constant changed
    raise ValueError("engine.search.MAX_QUERY_CHARS no longer fits gunicorn's request line")

bind = os.environ.get("LIFESEEKER_BIND", "127.0.0.1:5000")
workers = int(os.environ.get("LIFESEEKER_WEB_WORKERS", "2"))
threads = int(os.environ.get("LIFESEEKER_WEB_THREADS", "8"))
worker_class = "lifeseeker.webui.gunicorn_conf.SlowClientSafeWorker"
preload_app = os.environ.get("LIFESEEKER_PRELOAD", "1") != "0"  # bench/load.py compares both
timeout = 60
graceful_timeout = 30
keepalive = 5
limit_request_line = REQUEST_LINE_BYTES
limit_request_fields = 100
limit_request_field_size = 8190


class DeadlineSocket(socket.socket):
    """A client socket whose blocking reads of one request end by a deadline, and whose writes by a timeout.

    Gunicorn's gthread worker calls ``setblocking(True)`` before it reads each request (a new connection or a
    kept-alive one) and ``setblocking(False)`` when it hands the connection back to its poller; here
    ``setblocking(True)`` starts the request's read deadline (``READ_DEADLINE_S``) instead of blocking without
    limit. A read past the deadline raises ``TimeoutError`` (an OSError: gunicorn closes the connection).
    """

    __slots__ = ("_deadline",)

    @classmethod
    def adopt(cls, sock: socket.socket) -> "DeadlineSocket":
        """The same connection as a DeadlineSocket (``sock`` is detached and must not be used again)."""
        out = cls(sock.family, sock.type, sock.proto, fileno=sock.detach())
        out._deadline = time.monotonic() + READ_DEADLINE_S
        return out

    def setblocking(self, flag: bool) -> None:  # noqa: D102 - see the class docstring
        if flag:
            self._deadline = time.monotonic() + READ_DEADLINE_S
            super().settimeout(READ_DEADLINE_S)
        else:
            super().setblocking(False)

    def _arm_read(self) -> None:
        if self.gettimeout() == 0:  # non-blocking (on the poller): leave as is
            return
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"request not received within {READ_DEADLINE_S:g} s")
        super().settimeout(left)

    def recv(self, bufsize: int, flags: int = 0) -> bytes:  # noqa: D102
        self._arm_read()
        return super().recv(bufsize, flags)

    def recv_into(self, buffer, nbytes: int = 0, flags: int = 0) -> int:  # noqa: D102
        self._arm_read()
        return super().recv_into(buffer, nbytes, flags)

    def sendall(self, data, flags: int = 0) -> None:  # noqa: D102
        if self.gettimeout() != 0:
            super().settimeout(SEND_TIMEOUT_S)
        return super().sendall(data, flags)


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """Gunicorn's own error answer (``gunicorn.util.write_error``'s signature) as ``{"error": "<status> <reason>:
    <message>"}`` JSON with ``Connection: close``, like the app's ``/api/`` errors."""
    body = json.dumps({"error": f"{status_int} {reason}: {mesg}".rstrip(": ")}).encode("utf-8")
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n")
    util.write_nonblock(sock, head.encode("latin-1") + body)


# The app's warm-up (webui/warmup.py) runs in each worker after the fork, never in a --preload master: LanceDB
# handles are not fork-safe (store/lance/table.py ``_after_fork``).
os.environ.setdefault("LIFESEEKER_WARM_UP", "worker")


def post_worker_init(worker) -> None:
    """gunicorn hook, after the worker loaded the app and before it accepts: run the app's deferred warm-up (store
    snapshot, gazetteer, one search) in this process, so ``/readyz`` says ready and the first request pays nothing."""
    state = getattr(getattr(worker, "wsgi", None), "extensions", {}).get("lifeseeker_warmup")
    if state is not None and state.steps is not None and not state.ready.is_set():
        state.run(state.steps)


class SlowClientSafeWorker(ThreadWorker):
    """gunicorn's gthread worker whose connections read each request within ``READ_DEADLINE_S``
    (:class:`DeadlineSocket`) and whose own error answers are JSON (:func:`write_json_error`)."""

    def init_process(self) -> None:  # noqa: D102
        util.write_error = write_json_error  # gunicorn/workers/base.py calls util.write_error at call time
        super().init_process()

    def enqueue_req(self, conn) -> None:  # noqa: D102
        if not isinstance(conn.sock, DeadlineSocket):
            conn.sock = DeadlineSocket.adopt(conn.sock)
        super().enqueue_req(conn)


__all__ = ["SlowClientSafeWorker", "DeadlineSocket", "write_json_error", "REQUEST_LINE_BYTES", "READ_DEADLINE_S"]

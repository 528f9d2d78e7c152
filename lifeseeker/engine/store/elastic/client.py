"""The Elasticsearch connection: client options, bounded retries with backoff, errors turned into StoreError.

Failures
    Connection errors and timeouts are retried by the transport; 429 and 502/503/504 answers by ``_call`` (the
    transport would retry those at once, without waiting). Both ``retries`` times with exponential backoff with
    jitter (base ``backoff_s``, cap 30 s), then raised as :class:`~lifeseeker.errors.StoreError` (the web app
    answers 503). Worst case per store call: ``(retries + 1) * timeout_s`` plus the backoff.
"""

from __future__ import annotations

import inspect
import logging
import random
import time
from typing import Any, Callable, TypeVar

from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError

from ....errors import StoreError

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_STATUS = (429, 502, 503, 504)
# retry_backoff_base / retry_backoff_cap exist from elasticsearch-py 9.4.1 (pyproject's floor); checked anyway so an
# older client runs with the transport's default backoff instead of a TypeError.
BACKOFF_OPTIONS = "retry_backoff_base" in inspect.signature(Elasticsearch.__init__).parameters


class ElasticClient:
    """One client for ``url`` and the retry policy every store call goes through.

    Args:
        url: cluster URL.
        api_key, basic_auth, ca_certs: credentials and CA bundle, from configuration (``Settings.es_options()``).
        timeout_s: per-request timeout in seconds.
        retries: transport retries on connection errors, timeouts, 429 and 502/503/504.
        backoff_s: base of the exponential backoff between retries, seconds (cap 30 s).
        **client_options: passed to :class:`elasticsearch.Elasticsearch` (e.g. ``node_class`` in tests).
    Raises:
        StoreError: the client refuses the settings.
    """

    def __init__(self, url: str, api_key: str | None = None, basic_auth: tuple[str, str] | None = None,
                 ca_certs: str | None = None, timeout_s: float = 10.0, retries: int = 3, backoff_s: float = 0.5,
                 **client_options: Any):
        self.url = url
        self.retries = int(retries)
        self.backoff_s = float(backoff_s)
        # retry_on_status=(): the transport retries statuses without any backoff, so ``_call`` does it instead.
        # retry_on_timeout: a timed-out search or count is retried like a refused connection (reads are idempotent,
        # bulk uses _id so a re-sent chunk replaces; reindex runs as a task, never re-POSTed on a timeout).
        # http_compress: gzip request bodies (bulk sources, query vectors).
        opts: dict[str, Any] = dict(request_timeout=timeout_s, max_retries=self.retries,
                                    retry_on_status=(), retry_on_timeout=True, http_compress=True)
        if self.backoff_s > 0 and BACKOFF_OPTIONS:
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

    def _call(self, what: str, fn: Callable[..., T], *args: Any, missing: Any = StoreError, retry: bool = True,
              **kwargs: Any) -> T:
        """Run one client call; transport failures (after the transport's bounded retries) and API errors become
        StoreError naming ``what``. ``missing``: value returned on 404 instead of raising. Answers 429/502/503/504
        are retried here ``retries`` times with equal-jitter exponential backoff (``backoff_s * 2**n``, cap 30 s),
        unless ``retry`` is False (a call with its own retries, e.g. bulk)."""
        for attempt in range(self.retries + 1 if retry else 1):
            try:
                return fn(*args, **kwargs)
            except ApiError as exc:
                if exc.status_code not in RETRY_STATUS or attempt >= self.retries or not retry:
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
        """``(major, minor)`` of the cluster (``GET /``, once per client)."""
        if getattr(self, "_version", None) is None:
            info = self._call("info", self.client.info)
            parts = str(info["version"]["number"]).split(".")
            self._version = (int(parts[0]), int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0)
        return self._version

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()


def _reason(exc: ApiError) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        return f"{err.get('type')}: {err.get('reason')}"
    return str(getattr(exc, "message", exc))

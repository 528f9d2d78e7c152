"""Kibana saved objects: import the shipped data view and dashboard (package data ``lifeseeker/kibana/saved_objects.ndjson``).

Uses urllib3 (installed with the Elasticsearch client), no other HTTP library.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import urllib3

from ...errors import StoreError

IMPORT_PATH = "/api/saved_objects/_import?overwrite=true"


def auth_headers(auth: tuple[str, str] | str | None) -> dict[str, str]:
    """HTTP headers for ``auth``: ``(user, password)`` -> Basic, a string -> ``ApiKey <key>``, None -> none."""
    if auth is None:
        return {}
    if isinstance(auth, str):
        return {"authorization": f"ApiKey {auth}"}
    user, password = auth
    return dict(urllib3.make_headers(basic_auth=f"{user}:{password}"))


def import_saved_objects(kibana_url: str, path: str | Path, auth: tuple[str, str] | str | None = None,
                         timeout_s: float = 30.0, pool: urllib3.PoolManager | None = None) -> dict[str, Any]:
    """POST the NDJSON file ``path`` to Kibana's ``/api/saved_objects/_import?overwrite=true`` as multipart form data
    (field ``file``) with the ``kbn-xsrf: true`` header Kibana requires on write APIs.

    Reference: https://www.elastic.co/docs/api/doc/kibana/operation/operation-importsavedobjectsdefault

    Args:
        kibana_url: e.g. ``http://localhost:5601`` (a base path is kept).
        path: the ``.ndjson`` export.
        auth: ``(user, password)``, an API key string, or None.
    Returns:
        Kibana's JSON answer (``success``, ``successCount``, ``errors``...).
    Raises:
        StoreError: the file is unreadable, Kibana is unreachable, answers non-2xx, or reports ``success: false``.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StoreError(f"saved objects {path}: unreadable ({exc})") from exc
    url = kibana_url.rstrip("/") + IMPORT_PATH
    headers = {"kbn-xsrf": "true", **auth_headers(auth)}
    http = pool or urllib3.PoolManager(timeout=urllib3.Timeout(total=timeout_s),
                                       retries=urllib3.Retry(total=3, backoff_factor=0.5))
    try:
        resp = http.request("POST", url, fields={"file": (path.name, data, "application/ndjson")}, headers=headers)
    except urllib3.exceptions.HTTPError as exc:
        raise StoreError(f"Kibana at {kibana_url} unreachable: {exc}") from exc
    try:
        answer = json.loads(resp.data.decode("utf-8") or "{}")
    except ValueError:
        answer = {"raw": resp.data[:500].decode("utf-8", "replace")}
    if not 200 <= resp.status < 300:
        raise StoreError(f"Kibana import failed with HTTP {resp.status}: {answer.get('message', answer)}")
    if not answer.get("success", False):
        errors = [f"{e.get('type')}/{e.get('id')}: {e.get('error', {}).get('type')}" for e in answer.get("errors", [])]
        raise StoreError(f"Kibana import reported errors: {'; '.join(errors) or answer}")
    return answer

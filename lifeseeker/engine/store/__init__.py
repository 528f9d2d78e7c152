"""The stores: ``open_store`` picks the backend for a URL; ``base.py`` holds the ``Store`` protocol and its value
types, ``lance/`` the embedded LanceDB store, ``elastic`` the Elasticsearch store.

The backends are imported inside ``open_store``, so importing the protocol (``store.base``) loads neither LanceDB
nor the Elasticsearch client.
"""

from __future__ import annotations

from typing import Any

from ...errors import StoreError
from .base import Store


def open_store(url: str, **options: Any) -> Store:
    """Open the store at ``url``: ``lance:///abs/path`` (or a bare path) -> embedded LanceDB store;
    ``http(s)://host:9200`` -> Elasticsearch. ``options`` go to the backend (e.g. ES auth).

    Raises:
        StoreError: unknown scheme.
    """
    if url.startswith(("http://", "https://")):
        from .elastic import ElasticStore

        return ElasticStore(url, **options)
    if url.startswith("lance://") or "://" not in url:
        from .lance import LanceStore

        return LanceStore(url)
    raise StoreError(f"store URL {url!r}: use lance:///path/to/dir or http(s)://host:9200")


__all__ = ["open_store"]

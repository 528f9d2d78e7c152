"""Write grouping in the ingest pipeline (``lifeseeker/ingest/writer.py``, issue 15): documents built per compute
batch (``batch_size``) are written per ``write_batch`` documents, or after ``write_flush_s`` seconds since the first
unwritten one (an injected clock: no sleeping), and always before the run's deletes.

The store is the real embedded Lance store behind a wrapper that records each ``upsert``/``delete`` call, or the
Elasticsearch store over the fake transport (``tests/es_fake.py``), whose ``_bulk`` requests are counted; the
images are generated here (tiny JPEGs, one capture time each); the text model is a deterministic stand-in (the
subject is how often the store is written, not what the vectors are)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image

from lifeseeker.engine.store import open_store
from lifeseeker.ingest.pipeline import Ingestor
from lifeseeker.ingest.sources.folder import scan_folder
from lifeseeker.ingest.writer import WriteGroups
from lifeseeker.models import Models
from lifeseeker.models.text import TextEncoder

from .es_fake import cluster, existing_index, fixture, make  # noqa: F401 (cluster: a fixture)


class _HashEmbedder:
    """sentence-transformers' ``encode`` shape: (n, dims) float32 unit vectors from each text's SHA-256."""

    def __init__(self, dims: int = 8):
        self.dims = dims

    def encode(self, texts, **_):
        out = np.array([np.resize(np.frombuffer(hashlib.sha256(t.encode()).digest(), np.uint8), self.dims)
                        for t in texts], np.float32) + 1.0
        return out / np.linalg.norm(out, axis=1, keepdims=True)


MODELS = Models(text=TextEncoder("hash-text-8", 8, _HashEmbedder()), clip_dims=4)


class Recording:
    """A store that forwards everything and records ``("upsert", n)`` / ``("delete", n)`` in call order."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def upsert(self, docs):
        self.calls.append(("upsert", len(docs)))
        return self.inner.upsert(docs)

    def delete(self, ids):
        self.calls.append(("delete", len(ids)))
        return self.inner.delete(ids)

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def upserts(self) -> list[int]:
        return [n for op, n in self.calls if op == "upsert"]


def make_photos(folder: Path, n: int, start: int = 0) -> None:
    """``n`` 8x8 JPEGs ``img{i}.jpg`` with distinct pixels and DateTimeOriginal one minute apart."""
    folder.mkdir(parents=True, exist_ok=True)
    t0 = datetime(2022, 4, 1, 8, 0, 0)
    for i in range(start, start + n):
        px = np.full((8, 8, 3), (i % 256, (i // 256) % 256, 128), np.uint8)
        exif = Image.Exif()
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = (
            (t0 + timedelta(minutes=i)).strftime("%Y:%m:%d %H:%M:%S"))
        Image.fromarray(px, "RGB").save(folder / f"img{i:05d}.jpg", "JPEG", exif=exif)


class StepClock:
    """A clock that advances ``step`` seconds per reading."""

    def __init__(self, step: float):
        self.t, self.step = 0.0, step

    def __call__(self) -> float:
        now = self.t
        self.t += self.step
        return now


@pytest.fixture(scope="module")
def photos_1200(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("many") / "many"
    make_photos(folder, 1200)
    return folder


def _store(path: Path) -> Recording:
    return Recording(open_store(f"lance://{path}"))


def test_1200_images_in_batches_of_16_are_written_in_3_groups_of_at_most_500(tmp_path, photos_1200, gazetteer):
    store = _store(tmp_path / "store")
    report = Ingestor(store, MODELS, gazetteer, batch_size=16, workers=2, progress=False,
                      clock=StepClock(0.0)).run(scan_folder(photos_1200))
    assert store.upserts() == [500, 500, 200]  # not 75 writes of 16
    assert (report.indexed, report.skipped, report.failed, store.count()) == (1200, 0, [], 1200)
    assert report.stages["write"].images == 1200
    # a re-run writes nothing: every document of the groups was committed
    again = _store(tmp_path / "store")
    rerun = Ingestor(again, MODELS, gazetteer, batch_size=16, workers=2, progress=False).run(scan_folder(photos_1200))
    assert (again.calls, rerun.indexed, rerun.skipped) == ([], 0, 1200)


def test_on_elasticsearch_1200_images_in_batches_of_16_make_3_bulk_requests(photos_1200, gazetteer, cluster):
    # the fake transport of tests/es_fake.py over an index that exists (512/384 dims): the planner's mget finds
    # nothing (the collection's inventory scroll is empty too), so all 1200 are written; each upsert is
    # streaming_bulk with chunk_size 500 (engine/store/elastic/bulk.py), so 75 upserts of 16 would be 75 PUT /_bulk
    # requests
    (existing_index(cluster).on("POST", "/lifeseeker/_mget", (200, {"docs": []}))
     .on("POST", "/lifeseeker/_search", (200, {"_scroll_id": "s1", "hits": {"total": {"value": 0}, "hits": []}}))
     .on("DELETE", "/_search/scroll", (200, {"succeeded": True, "num_freed": 1}))
     .on("PUT", "/_bulk", (200, fixture("bulk_ok.json")))
     .on("POST", "/lifeseeker/_refresh", (200, fixture("refresh.json"))))
    models = Models(text=TextEncoder("hash-text-384", 384, _HashEmbedder(384)), clip_dims=512)
    report = Ingestor(make(cluster), models, gazetteer, batch_size=16, workers=2, progress=False).run(
        scan_folder(photos_1200))
    bulks = cluster.sent("PUT", "/_bulk")
    assert [len(b.body) // 2 for b in bulks] == [500, 500, 200]  # NDJSON: an action line and a source line each
    ids = [a["index"]["_id"] for b in bulks for a in b.body[0::2]]
    assert len(ids) == len(set(ids)) == 1200 and report.indexed == 1200
    assert len(cluster.sent("POST", "/lifeseeker/_refresh")) == 1  # once, at the end of the ingest


def test_a_partial_group_is_written_once_its_first_document_waited_write_flush_s(tmp_path, gazetteer):
    make_photos(tmp_path / "slow", 100)
    store = _store(tmp_path / "store")
    # one clock reading per batch that brings documents, 10 s apart: batches 1-4 are read at 0, 10, 20, 30 s, so
    # the 4th makes the group due (30 s >= write_flush_s) with 64 documents, far below write_batch; batches 5-7
    # (40-60 s, 16+16+4 documents) are younger than 30 s at the end and are written by the final flush
    report = Ingestor(store, MODELS, gazetteer, batch_size=16, workers=2, progress=False, write_batch=500,
                      write_flush_s=30.0, clock=StepClock(10.0)).run(scan_folder(tmp_path / "slow"))
    assert store.upserts() == [64, 36]
    assert report.indexed == 100 and store.count() == 100


def test_deletes_run_after_every_grouped_write(tmp_path, gazetteer):
    folder = tmp_path / "walk"
    make_photos(folder, 40)
    store = _store(tmp_path / "store")
    Ingestor(store, MODELS, gazetteer, batch_size=8, progress=False).run(scan_folder(folder), reconcile=True)
    for i in range(5):
        (folder / f"img{i:05d}.jpg").unlink()  # vanished
    make_photos(folder, 30, start=100)  # new
    store.calls.clear()
    report = Ingestor(store, MODELS, gazetteer, batch_size=8, progress=False, write_batch=12).run(
        scan_folder(folder), reconcile=True)
    assert store.calls == [("upsert", 12), ("upsert", 12), ("upsert", 6), ("delete", 5)]
    assert (report.indexed, report.deleted, store.count()) == (30, 5, 65)


def test_groups_split_batches_and_count_images_when_their_last_document_is_written():
    groups = WriteGroups(write_batch=5, flush_s=30.0, clock=StepClock(0.0))
    groups.add([{"image_id": f"a{i}"} for i in range(4)], 6)  # 6 images, 2 of them failed
    assert not groups.due()
    groups.add([{"image_id": f"b{i}"} for i in range(4)], 4)
    assert groups.due()
    docs, done = groups.take()
    assert [d["image_id"] for d in docs] == ["a0", "a1", "a2", "a3", "b0"] and done == 6
    assert len(groups) == 3 and not groups.due()
    docs, done = groups.take()  # the final flush
    assert [d["image_id"] for d in docs] == ["b1", "b2", "b3"] and done == 4 and len(groups) == 0
    groups.add([], 3)  # a batch whose images all failed brings nothing to write
    assert len(groups) == 0 and not groups.due()


def test_bad_group_settings_are_refused():
    with pytest.raises(ValueError, match="write_batch"):
        WriteGroups(write_batch=0)
    with pytest.raises(ValueError, match="write_flush_s"):
        WriteGroups(flush_s=0)

"""Ingest that loses nothing and keeps nothing stale (issue 16, items 1-5), on JPEGs made here with Pillow:
ids across collections (and the migration of the ids an older version wrote), re-scan reconciling renames and
deleted files, resume keyed on the inputs (a changed concepts CSV row is re-read), NFC ids, byte-identical copies
as one document (with their paths) and a perceptual hash for near-duplicates without CLIP.

Before this change (main at b3807a8): ``b/x.jpg`` after ``a/x.jpg`` -> "skipped (already indexed)", one document;
a renamed file -> two documents (the old one stale, the new one recomputed); a deleted file's document stayed; a
changed CSV row -> skipped, old tags; an NFD name -> a document whose NFC id was not found; 4 copies -> 4 documents.
"""

from __future__ import annotations

import os
import shutil
import unicodedata
from datetime import datetime
from pathlib import Path

import lancedb
import numpy as np
import pyarrow as pa
import pytest
from PIL import ExifTags, Image

from lifeseeker.engine import filters as F
from lifeseeker.engine.dedup import collapse_duplicates
from lifeseeker.engine.schema import load_schema
from lifeseeker.engine.store import open_store
from lifeseeker.engine.store.base import Hit, VectorQuery
from lifeseeker.ingest.pipeline import Ingestor
from lifeseeker.ingest.plan import sha256_file
from lifeseeker.ingest.sources.folder import scan_folder
from lifeseeker.ingest.sources.lsc import LscSource


def jpeg(path: Path, seed: int, when: datetime | None = datetime(2022, 6, 1, 9, 30), quality: int = 90) -> Path:
    """A 96x128 JPEG with seeded random blocks (distinct per seed) and a DateTimeOriginal."""
    rng = np.random.default_rng(seed)
    blocks = (rng.random((6, 8, 3)) * 255).astype(np.uint8)
    im = Image.fromarray(blocks, "RGB").resize((128, 96), Image.NEAREST)
    exif = Image.Exif()
    if when is not None:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = when.strftime("%Y:%m:%d %H:%M:%S")
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, "JPEG", quality=quality, exif=exif)
    return path


@pytest.fixture
def store(tmp_path, tiny_models):
    s = open_store(f"lance://{tmp_path / 'store'}")
    s.ensure_schema(tiny_models.dims())
    yield s
    s.close()


def ingest(store, models, gazetteer, root: Path, collection: str, keep_missing: bool = False):
    return Ingestor(store, models, gazetteer, batch_size=4, progress=False).run(
        list(scan_folder(root, collection)), reconcile=True, keep_missing=keep_missing)


def all_docs(store) -> dict[str, dict]:
    ids = [h.image_id for h in store.search(VectorQuery(None, None), limit=1000)]
    return {d["image_id"]: d for d in store.get(ids, with_vectors=True)}


# -- 1. same relative path in two folders -----------------------------------------------------------------------


def test_same_relative_path_in_two_collections_gives_two_documents(tmp_path, store, tiny_models, gazetteer):
    jpeg(tmp_path / "a" / "x.jpg", 1)
    jpeg(tmp_path / "b" / "x.jpg", 2)
    ra = ingest(store, tiny_models, gazetteer, tmp_path / "a", "a")
    rb = ingest(store, tiny_models, gazetteer, tmp_path / "b", "b")
    assert (ra.indexed, rb.indexed, rb.skipped) == (1, 1, 0)  # main: rb.indexed 0, rb.skipped 1
    docs = all_docs(store)
    assert sorted(docs) == ["a/x.jpg", "b/x.jpg"]
    assert (docs["a/x.jpg"]["collection"], docs["a/x.jpg"]["path"]) == ("a", "x.jpg")
    assert (docs["b/x.jpg"]["collection"], docs["b/x.jpg"]["path"]) == ("b", "x.jpg")
    assert docs["a/x.jpg"]["content_hash"] == sha256_file(tmp_path / "a" / "x.jpg")
    assert docs["b/x.jpg"]["content_hash"] == sha256_file(tmp_path / "b" / "x.jpg")
    assert not np.allclose(docs["a/x.jpg"]["clip_vec"], docs["b/x.jpg"]["clip_vec"])
    # a re-run of either collection recomputes nothing and deletes nothing of the other
    again = ingest(store, tiny_models, gazetteer, tmp_path / "a", "a")
    assert (again.skipped, again.indexed, again.deleted) == (1, 0, 0) and store.count() == 2


def test_a_store_written_by_the_previous_version_is_migrated_in_place(tmp_path, tiny_models, gazetteer):
    """The old table lacks the new columns and holds ``x.jpg`` (no collection in the id); the re-scan adds the
    columns and moves the document to ``a/x.jpg`` keeping its caption and vectors (nothing recomputed)."""
    root = tmp_path / "a"
    jpeg(root / "x.jpg", 3)
    dims = tiny_models.dims()
    new_fields = {"file_name", "copies", "content_hash", "phash", "input_digest", "time_source", "locality_km"}
    full = load_schema().arrow_schema(dims)
    old_schema = pa.schema([f for f in full if f.name not in new_fields], metadata=full.metadata)
    db = lancedb.connect(str(tmp_path / "old-store"))
    clip_vec = np.linspace(-1, 1, dims["clip_vec"]).astype(np.float32)
    tat = np.linspace(1, -1, dims["capmeta_vec"]).astype(np.float32)
    row = {f.name: None for f in old_schema}
    row.update(image_id="x.jpg", collection="a", path="x.jpg", caption="a red kite over the dunes",
               tags=["kite"], clip_vec=clip_vec.tolist(), capmeta_vec=tat.tolist(),
               models={"clip": tiny_models.names()["clip"], "text": "old-text", "ocr": None, "caption": "blip-x"})
    db.create_table("lifelog", data=pa.Table.from_pylist([row], schema=old_schema))
    store = open_store(f"lance://{tmp_path / 'old-store'}")
    store.ensure_schema(dims)
    report = ingest(store, tiny_models, gazetteer, root, "a")
    docs = all_docs(store)
    assert sorted(docs) == ["a/x.jpg"]
    d = docs["a/x.jpg"]
    assert d["caption"] == "a red kite over the dunes" and d["tags"] == ["kite"]
    assert np.allclose(d["clip_vec"], clip_vec / np.linalg.norm(clip_vec), atol=1e-6) or \
        np.allclose(d["clip_vec"], clip_vec, atol=1e-6)
    assert d["models"]["caption"] == "blip-x" and d["content_hash"] == sha256_file(root / "x.jpg")
    assert report.renamed == [("x.jpg", "a/x.jpg")] and report.deleted == 1
    store.close()


# -- 2. stale rows: renames and deleted files -------------------------------------------------------------------


def test_rename_keeps_one_document_with_its_caption_and_vectors(tmp_path, store, tiny_models, gazetteer):
    root = tmp_path / "trip"
    jpeg(root / "IMG_0001.jpg", 10)
    jpeg(root / "IMG_0002.jpg", 11)
    ingest(store, tiny_models, gazetteer, root, "trip")
    before = all_docs(store)["trip/IMG_0001.jpg"]
    marked = dict(before, caption="grandma's birthday cake",
                  models=dict(before["models"], caption="blip-earlier-run"))
    store.upsert([marked])  # as if an earlier run's captioner had described it
    os.rename(root / "IMG_0001.jpg", root / "birthday.jpg")
    report = ingest(store, tiny_models, gazetteer, root, "trip")
    docs = all_docs(store)
    assert sorted(docs) == ["trip/IMG_0002.jpg", "trip/birthday.jpg"]  # main: 3 documents, the old one stale
    moved = docs["trip/birthday.jpg"]
    assert moved["path"] == "birthday.jpg" and moved["caption"] == "grandma's birthday cake"
    assert moved["models"]["caption"] == "blip-earlier-run"
    assert np.allclose(moved["clip_vec"], before["clip_vec"], atol=1e-6)
    assert report.renamed == [("trip/IMG_0001.jpg", "trip/birthday.jpg")] and report.skipped == 1
    assert report.stages["clip"].images == 0  # nothing recomputed from pixels


def test_deleted_file_is_gone_after_a_rescan_unless_kept(tmp_path, store, tiny_models, gazetteer):
    root = tmp_path / "cam"
    for i in range(3):
        jpeg(root / f"p{i}.jpg", 20 + i)
    ingest(store, tiny_models, gazetteer, root, "cam")
    (root / "p1.jpg").unlink()
    kept = ingest(store, tiny_models, gazetteer, root, "cam", keep_missing=True)
    assert kept.kept_missing == ["cam/p1.jpg"] and store.count() == 3
    report = ingest(store, tiny_models, gazetteer, root, "cam")
    assert report.vanished == ["cam/p1.jpg"] and report.deleted == 1
    assert sorted(all_docs(store)) == ["cam/p0.jpg", "cam/p2.jpg"]  # main: p1 stays forever
    assert "removed: cam/p1.jpg" in report.summary()


def test_delete_takes_ids_with_quotes_literally(store):
    docs = [{"image_id": i, "collection": "c", "path": i} for i in ("o'brien.jpg", "x') OR (1=1", "keep.jpg")]
    store.upsert(docs)
    assert store.delete(["x') OR (1=1", "o'brien.jpg", "not-there"]) == 2
    assert [d["image_id"] for d in store.get(["keep.jpg", "o'brien.jpg"])] == ["keep.jpg"]


# -- 3. changed inputs are re-read ---------------------------------------------------------------------------


def _lsc(root: Path, tags: str, ocr: str, caption: str = "a desk with a laptop") -> Path:
    images = root / "images"
    for i, name in enumerate(("20200601_093000_000.jpg", "20200601_093100_000.jpg")):
        if not (images / "202006" / "01" / name).exists():
            jpeg(images / "202006" / "01" / name, 30 + i, when=None)
    (root / "concepts.csv").write_text(
        "ImageID,Tags,Caption,OCR\n"
        f'20200601_093000_000.jpg,"{tags}",{caption},{ocr}\n'
        '20200601_093100_000.jpg,"cup, table",a cup of coffee,\n', encoding="utf-8")
    (root / "meta.csv").write_text(
        "minute_id,utc_time,local_time,latitude,longitude,semantic_name,time_zone,ImageID\n"
        "20200601_0930,2020-06-01 08:30,2020-06-01 09:30,53.3498,-6.2603,Home,Europe/Dublin,"
        "\"['20200601_093000_000.jpg']\"\n", encoding="utf-8")
    return images


def test_changed_concepts_row_is_reread_and_only_its_document_rebuilt(tmp_path, store, tiny_models, gazetteer):
    images = _lsc(tmp_path, "laptop, desk", "INVOICE 2020")
    src = LscSource(images, tmp_path / "meta.csv", tmp_path / "concepts.csv")
    ing = Ingestor(store, tiny_models, gazetteer, batch_size=4, progress=False)
    ing.run(src.records(), reconcile=True)
    first = {d["image_id"]: d for d in store.get(["20200601_093000_000", "20200601_093100_000"],
                                                  with_vectors=True)}
    _lsc(tmp_path, "laptop, desk, monitor", "RECEIPT 2021", "a desk with a monitor")  # the row changed, not the file
    src = LscSource(images, tmp_path / "meta.csv", tmp_path / "concepts.csv")
    report = Ingestor(store, tiny_models, gazetteer, batch_size=4, progress=False).run(src.records(),
                                                                                      reconcile=True)
    assert (report.inputs_changed, report.skipped, report.indexed) == (1, 1, 1)  # main: skipped 2, old tags
    d = store.get(["20200601_093000_000"], with_vectors=True)[0]
    assert d["tags"] == ["laptop", "desk", "monitor"] and d["ocr_text"] == "RECEIPT 2021"
    assert d["caption"] == "a desk with a monitor" and d["capmeta"].startswith("a desk with a monitor")
    assert np.allclose(d["clip_vec"], first["20200601_093000_000"]["clip_vec"], atol=1e-6)  # CLIP not re-run
    assert not np.allclose(d["capmeta_vec"], first["20200601_093000_000"]["capmeta_vec"])  # TaT re-encoded
    assert report.stages["clip"].images == 0


def test_a_changed_file_under_the_same_name_is_recomputed(tmp_path, store, tiny_models, gazetteer):
    root = tmp_path / "c"
    jpeg(root / "x.jpg", 40)
    ingest(store, tiny_models, gazetteer, root, "c")
    old = all_docs(store)["c/x.jpg"]
    jpeg(root / "x.jpg", 41, when=datetime(2023, 1, 2, 3, 4))
    report = ingest(store, tiny_models, gazetteer, root, "c")
    new = all_docs(store)["c/x.jpg"]
    assert report.changed_files == 1 and report.stages["clip"].images == 1
    assert new["content_hash"] != old["content_hash"] and new["local_time"] == datetime(2023, 1, 2, 3, 4)


# -- 4. Unicode names -------------------------------------------------------------------------------------------


def test_nfd_and_nfc_names_are_one_document_found_by_either_form(tmp_path, store, tiny_models, gazetteer):
    root = tmp_path / "u"
    nfd = unicodedata.normalize("NFD", "Café_Zürich.jpg")
    nfc = unicodedata.normalize("NFC", "Café_Zürich.jpg")
    assert nfd != nfc
    jpeg(root / nfd, 50)
    shutil.copy(root / nfd, root / nfc)  # the same photo once more under the NFC bytes
    jpeg(root / unicodedata.normalize("NFD", "Mañana.jpg"), 51)
    report = ingest(store, tiny_models, gazetteer, root, "u")
    docs = all_docs(store)
    assert sorted(docs) == sorted([f"u/{nfc}", unicodedata.normalize("NFC", "u/Mañana.jpg")])  # main: 3, NFD ids
    cafe = store.get([f"u/{nfd}"])  # looked up in the NFD form: found normalised
    assert [d["image_id"] for d in cafe] == [f"u/{nfc}"] and report.copies == 1
    assert cafe[0]["file_name"] == "Café Zürich"
    assert (root / cafe[0]["path"]).exists()  # the stored path is the file system's own bytes
    assert store.count([F.TextMatch("Zürich café", ("file_name",))]) == 1
    assert store.count([F.TextMatch("mañana", ("file_name",))]) == 1


# -- 5. byte-identical copies and perceptual hashes --------------------------------------------------------------


def test_four_copies_are_one_document_listing_their_paths(tmp_path, store, tiny_models, gazetteer):
    root = tmp_path / "dups"
    jpeg(root / "a.jpg", 60)
    for name in ("backup/a.jpg", "b.jpg", "export/a copy.jpg"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / "a.jpg", root / name)
    jpeg(root / "other.jpg", 61)
    report = ingest(store, tiny_models, gazetteer, root, "dups")
    docs = all_docs(store)
    assert sorted(docs) == ["dups/a.jpg", "dups/other.jpg"]  # main: 5 documents, 4 at the same score
    assert sorted(docs["dups/a.jpg"]["copies"]) == ["b.jpg", "backup/a.jpg", "export/a copy.jpg"]
    assert report.copies == 3 and docs["dups/other.jpg"]["copies"] == []
    text_only = store.search(VectorQuery(None, None), limit=10)
    assert len(text_only) == 2
    # deleting the primary file promotes a copy; the document keeps its vectors
    (root / "a.jpg").unlink()
    ingest(store, tiny_models, gazetteer, root, "dups")
    docs2 = all_docs(store)
    assert sorted(docs2) == ["dups/b.jpg", "dups/other.jpg"]
    assert sorted(docs2["dups/b.jpg"]["copies"]) == ["backup/a.jpg", "export/a copy.jpg"]
    assert np.allclose(docs2["dups/b.jpg"]["clip_vec"], docs["dups/a.jpg"]["clip_vec"], atol=1e-6)


def test_perceptual_hash_collapses_reencoded_copies_without_clip(tmp_path, store, tiny_models, gazetteer):
    root = tmp_path / "near"
    jpeg(root / "orig.jpg", 70, quality=95)
    jpeg(root / "reencoded.jpg", 70, quality=60)  # same picture, other bytes
    jpeg(root / "different.jpg", 71)
    ingest(store, tiny_models, gazetteer, root, "near")
    docs = all_docs(store)
    assert len(docs) == 3 and all(len(d["phash"]) == 16 for d in docs.values())
    a, b, c = (int(docs[f"near/{n}.jpg"]["phash"], 16) for n in ("orig", "reencoded", "different"))
    assert bin(a ^ b).count("1") <= 4 < bin(a ^ c).count("1")
    hits = [Hit(i, 0.5, 0.0, 0.5, {k: v for k, v in docs[i].items() if k not in ("clip_vec", "capmeta_vec")})
            for i in ("near/orig.jpg", "near/reencoded.jpg", "near/different.jpg")]
    groups = collapse_duplicates(hits, {})  # text-only: no CLIP vectors at all
    assert [g.count for g in groups] == [2, 1]


def test_file_names_are_searchable_words(tmp_path, store, tiny_models, gazetteer):
    root = tmp_path / "w"
    jpeg(root / "Birthday_Party-2019.jpg", 80)
    jpeg(root / "IMG_0042.jpg", 81)
    ingest(store, tiny_models, gazetteer, root, "w")
    assert store.get(["w/Birthday_Party-2019.jpg"])[0]["file_name"] == "Birthday Party 2019"
    hits = store.search(VectorQuery(None, None), [F.TextMatch("birthday party")], limit=5)
    assert [h.image_id for h in hits] == ["w/Birthday_Party-2019.jpg"]  # main: no field held the name

"""Folder ingest on the real sample photos (real EXIF), reverse geocoding, CapMeta, resume."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import exifread
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from lifeseeker.engine import filters as F
from lifeseeker.engine.search import SearchRequest, SearchService
from lifeseeker.engine.store import open_store
from lifeseeker.engine.store.base import VectorQuery
from lifeseeker.ingest.enrich.capmeta import capmeta, content_text
from lifeseeker.ingest.pipeline import Ingestor
from lifeseeker.ingest.sources.folder import scan_folder

from .conftest import SAMPLES

ARZ = [f"photos/jpg/gps/DSCN00{n}.jpg" for n in (10, 12, 21, 25, 27, 29, 38, 40, 42)]


def _exifread_sets(paths):
    """Independent reading with exifread (not the Pillow code under test): (files with time, with non-zero GPS)."""
    with_time, with_gps = set(), set()
    for p in paths:
        with open(p, "rb") as fh:
            tags = exifread.process_file(fh, details=False)
        t = next((str(tags[k]) for k in ("EXIF DateTimeOriginal", "EXIF DateTimeDigitized", "Image DateTime")
                  if k in tags and str(tags[k]).strip("\x00 ") and not str(tags[k]).startswith("0000")), None)
        if t is not None:
            with_time.add(p)
        lat, lon = tags.get("GPS GPSLatitude"), tags.get("GPS GPSLongitude")
        if lat and lon:
            try:
                vals = [float(v.num) / v.den for v in lat.values[:1] + lon.values[:1]]
                if any(v != 0 for v in vals):
                    with_gps.add(p)
            except ZeroDivisionError:
                pass
    return with_time, with_gps


def test_every_sample_photo_is_indexed(sample_store):
    store, report = sample_store
    files = list(scan_folder(SAMPLES))
    assert len(files) == 93
    assert report.failed == []
    assert report.indexed == store.count() == 93


def test_jpeg_time_and_gps_counts_equal_what_the_exif_holds(sample_store):
    store, _ = sample_store
    jpgs = sorted(p for p in (SAMPLES / "jpg").rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
    docs = store.get([f"photos/{p.relative_to(SAMPLES).as_posix()}" for p in jpgs])
    assert len(docs) == len(jpgs)
    got_time = {SAMPLES / d["path"] for d in docs if d["local_time"] is not None}
    got_gps = {SAMPLES / d["path"] for d in docs if d["location"] is not None}
    # SOURCE.md: 60 JPEGs carry a capture time, 15 carry non-zero GPS.
    assert (len(got_time), len(got_gps)) == (60, 15)
    # exifread, read independently, agrees on GPS; on time it gives up on one file whose EXIF IFD it calls
    # corrupted, which Pillow still reads: every file exifread dates is dated by the ingest too.
    ref_time, ref_gps = _exifread_sets(jpgs)
    assert ref_gps == got_gps
    assert ref_time <= got_time and len(got_time - ref_time) == 1


def test_heic_and_tiff_are_indexed_with_their_exif(sample_store):
    store, _ = sample_store
    heic = store.get(["photos/heic/IMG_5195.HEIC"])[0]
    assert heic["local_time"] == datetime(2021, 4, 11, 15, 47, 53)
    assert heic["utc_offset"] == "-05:00"
    assert heic["utc_time"].replace(tzinfo=None) == datetime(2021, 4, 11, 20, 47, 53)
    assert heic["country"] == "United States" and heic["region"] == "Missouri"
    tiff = store.get(["photos/tiff/Crémieux11.tiff"])[0]
    assert tiff["local_time"] == datetime(2012, 1, 9, 22, 52, 11) and tiff["part_of_day"] == "night"


def test_photos_with_broken_exif_keep_what_could_be_read(sample_store):
    store, report = sample_store
    # ianare/exif-samples files named after the exceptions they once caused in EXIF readers
    for name in ("jpg/tests/42_IndexError.jpg", "jpg/tests/87_OSError.jpg", "jpg/tests/30-type_error.jpg",
                 "jpg/tests/45-gps_ifd.jpg", "jpg/tests/67-0_length_string.jpg", "jpg/PaintTool_sample.jpg"):
        assert store.get([f"photos/{name}"]), name
    florence = store.get(["photos/jpg/tests/87_OSError.jpg"])[0]
    assert florence["city"] == "Florence" and florence["country"] == "Italy"
    no_exif = store.get(["photos/jpg/PaintTool_sample.jpg"])[0]  # EXIF present, but no time and no GPS
    assert no_exif["local_time"] is None and no_exif["location"] is None
    assert str(SAMPLES / "jpg/PaintTool_sample.jpg") in report.no_time


def test_derived_time_fields_of_the_arezzo_walk(sample_store):
    store, _ = sample_store
    d = store.get(["photos/jpg/gps/DSCN0010.jpg"])[0]
    assert d["local_time"] == datetime(2008, 10, 22, 16, 28, 39)
    assert (d["date"], d["year"], d["month"], d["weekday"], d["hour"], d["minute_of_day"], d["part_of_day"]) == (
        "2008-10-22", 2008, 10, "Wed", 16, 16 * 60 + 28, "afternoon")
    assert (d["locality"], d["city"], d["region"], d["country"]) == ("Arezzo", "Arezzo", "Tuscany", "Italy")
    assert d["capmeta"].endswith("# Time: 2008-10-22 16:28:39 (Wednesday, afternoon) # Location: Arezzo, Italy")
    assert d["models"]["text"] == "all-MiniLM-L6-v2" and d["models"]["clip"].startswith("local-dir:")
    assert len(d["tags"]) <= 5


def test_the_arezzo_walk_radius_and_date_filter_returns_exactly_the_nine(sample_store, tiny_models):
    store, _ = sample_store
    service = SearchService(store, tiny_models)
    req = SearchRequest("a street in an old town", [F.GeoDistance(43.467, 11.88, 2.0),
                                                    F.DateRange(date(2008, 10, 22), date(2008, 10, 22))], limit=50)
    resp = service.search(req)
    assert sorted(h.image_id for h in resp.hits) == sorted(ARZ)
    assert resp.total_filtered == 9


def test_country_italy_never_returns_a_madrid_photo(sample_store, tiny_models):
    store, _ = sample_store
    resp = SearchService(store, tiny_models).search(SearchRequest("city", [F.Terms("country", ("Italy",))],
                                                                  limit=100))
    assert resp.hits and all(h.doc["country"] == "Italy" for h in resp.hits)
    assert not any("hdr/iphone" in h.image_id for h in resp.hits)
    madrid = store.get(["photos/jpg/hdr/iphone_hdr_YES.jpg"])[0]
    assert madrid["city"] == "Madrid" and madrid["country"] == "Spain"


@pytest.mark.parametrize("lat,lon,city,country,locality", [
    (53.3861, -6.2566, "Dublin", "Ireland", "Glasnevin"),
    (41.3851, 2.1734, "Barcelona", "Spain", "Ciutat Vella"),
    (40.447, -3.7248, "Madrid", "Spain", "Moncloa-Aravaca"),
    (40.758, -73.9855, "New York", "United States", "Manhattan"),
])
def test_reverse_geocoding_names_every_level(gazetteer, lat, lon, city, country, locality):
    place = gazetteer.lookup(lat, lon)
    assert (place.city, place.country, place.locality) == (city, country, locality)
    assert {locality, city, country} <= set(place.places)


def test_capmeta_follows_the_seed_figure():
    text = capmeta("a teddy bear on a bed next to a guitar", datetime(2020, 1, 1, 4, 50, 10),
                   [None, "Dublin", "Dublin", "Ireland"])
    assert text == ("a teddy bear on a bed next to a guitar # Time: 2020-01-01 04:50:10 (Wednesday, night) "
                    "# Location: Dublin, Ireland")
    assert content_text(None, ["laptop", "cup"], "HEINZ\nBEANS") == "laptop, cup. Text: HEINZ BEANS"
    assert capmeta("", None, []) == ""


class CountingModels:
    """Wraps Models and counts encoder calls (to prove a re-run recomputes nothing)."""

    def __init__(self, inner):
        self.inner, self.calls = inner, 0
        self.text = self._wrap(inner.text)
        self.clip = self._wrap(inner.clip)
        self.tagger, self.ocr, self.notices = inner.tagger, None, []

    def _wrap(self, enc):
        outer = self

        class Wrapped:
            name, dims = enc.name, enc.dims

            def encode_texts(self, texts, *a, **k):
                outer.calls += 1
                return enc.encode_texts(texts)

            def encode_images(self, images):
                outer.calls += 1
                return enc.encode_images(images)

        return Wrapped()

    def dims(self):
        return self.inner.dims()

    def names(self):
        return self.inner.names()


def test_rerun_adds_and_recomputes_nothing(tmp_path, tiny_models, gazetteer):
    photos = tmp_path / "walk"
    shutil.copytree(SAMPLES / "jpg" / "gps", photos)
    store = open_store(f"lance://{tmp_path / 'store'}")
    first = CountingModels(tiny_models)
    r1 = Ingestor(store, first, gazetteer, batch_size=4, progress=False).run(scan_folder(photos))
    assert (r1.indexed, r1.skipped, store.count()) == (9, 0, 9) and first.calls > 0
    second = CountingModels(tiny_models)
    r2 = Ingestor(store, second, gazetteer, batch_size=4, progress=False).run(scan_folder(photos))
    assert (r2.indexed, r2.skipped, store.count(), second.calls) == (0, 9, 9, 0)
    shutil.copy(SAMPLES / "jpg" / "Canon_40D.jpg", photos / "new.jpg")
    r3 = Ingestor(store, CountingModels(tiny_models), gazetteer, batch_size=4, progress=False).run(
        scan_folder(photos))
    assert (r3.indexed, r3.skipped, store.count()) == (1, 9, 10)


def test_broken_files_are_reported_and_the_rest_indexed(tmp_path, tiny_models, gazetteer):
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(SAMPLES / "jpg" / "gps" / "DSCN0010.jpg", folder / "good.jpg")
    (folder / "empty.jpg").write_bytes(b"")
    data = (SAMPLES / "jpg" / "gps" / "DSCN0012.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (folder / "notes.txt").write_text("not an image")
    store = open_store(f"lance://{tmp_path / 'store'}")
    report = Ingestor(store, tiny_models, gazetteer, progress=False).run(scan_folder(folder))
    failed = {Path(p).name: reason for p, reason in report.failed}
    assert set(failed) == {"empty.jpg", "truncated.jpg"}
    assert all(reason for reason in failed.values())
    assert report.indexed == 1 and store.get(["mixed/good.jpg"])[0]["city"] == "Arezzo"


def test_real_ocr_text_is_indexed_and_searchable(tmp_path, tiny_models, gazetteer):
    from lifeseeker.models import Models
    from lifeseeker.models.ocr import load_ocr

    folder = tmp_path / "signs"
    folder.mkdir()
    im = Image.new("RGB", (640, 200), "white")
    ImageDraw.Draw(im).text((30, 60), "HEINZ BEANS 1869", fill="black", font=ImageFont.load_default(size=56))
    im.save(folder / "sign.png")
    models = Models(text=tiny_models.text, clip=tiny_models.clip, ocr=load_ocr(), clip_dims=tiny_models.clip_dims)
    store = open_store(f"lance://{tmp_path / 'store'}")
    Ingestor(store, models, gazetteer, progress=False).run(scan_folder(folder))
    doc = store.get(["signs/sign.png"])[0]
    assert "HEINZ" in doc["ocr_text"] and "BEANS" in doc["ocr_text"]
    assert "Text: HEINZ BEANS" in doc["capmeta"]
    assert store.count([F.TextMatch("heinz", ("ocr_text",))]) == 1
    assert store.count([F.TextMatch("ketchup", ("ocr_text",))]) == 0


def test_text_only_store_searches_by_capmeta(tmp_path, minilm, gazetteer):
    from lifeseeker.models import Models

    photos = tmp_path / "p"
    shutil.copytree(SAMPLES / "jpg" / "mobile", photos)
    shutil.copy(SAMPLES / "jpg" / "gps" / "DSCN0010.jpg", photos / "arezzo.jpg")
    models = Models(text=minilm, clip=None, clip_dims=512,
                    notices=["No CLIP model: running text-only (TaT over CapMeta)."])
    store = open_store(f"lance://{tmp_path / 'store'}")
    Ingestor(store, models, gazetteer, progress=False).run(scan_folder(photos))
    assert store.dims() == {"clip_vec": 512, "capmeta_vec": 384}
    resp = SearchService(store, models).search(SearchRequest("a photo in Helsinki, Finland"))
    assert resp.text_only and resp.notices
    assert resp.hits[0].doc["city"] == "Helsinki"
    assert all(h.iat == 0.0 for h in resp.hits)
    top = store.search(VectorQuery(None, minilm.encode_texts(["Arezzo, Italy"])[0]), limit=1)[0]
    assert top.image_id == "p/arezzo.jpg"
    assert np.isclose(top.score, 0.3 * top.tat)

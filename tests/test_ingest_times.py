"""Capture times as cameras and the LSC collection write them (issue 16, items 6-8 and 14), on files made here.

Item 14 reference: docs/lsc-format.md ("Images"): LSC'22+ names are best read as UTC (LSC'26 targets), LSC2020 names
are local (its metadata lists ``B..._20160921_074210E`` under local_time 07:42, utc_time 06:42).
"""

from __future__ import annotations

import csv
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lifeseeker.engine.store import open_store
from lifeseeker.ingest.pipeline import Ingestor
from lifeseeker.ingest.sources.lsc import LscSource


def _jpeg(path: Path, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray((rng.random((48, 64, 3)) * 255).astype(np.uint8)).save(path, "JPEG")


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


HEADER = ["minute_id", "utc_time", "local_time", "latitude", "longitude", "semantic_name", "time_zone", "ImageID"]


@pytest.fixture
def utc_named(tmp_path):
    """A Madrid summer day (UTC+2) whose image names are UTC: the metadata lists 083012 under utc 08:30 /
    local 10:30. One image has no metadata minute at all."""
    images = tmp_path / "images"
    names = ["20190615_083012_000", "20190615_083142_000", "20190616_220000_000"]
    for i, n in enumerate(names):
        _jpeg(images / n[:6] / n[6:8] / f"{n}.jpg", i)
    meta = _csv(tmp_path / "meta.csv", HEADER, [
        ["20190615_0830", "2019-06-15 08:30", "2019-06-15 10:30", "40.4168", "-3.7038", "Plaza Mayor",
         "Europe/Madrid", str([f"{names[0]}.jpg"])],
        ["20190615_0831", "2019-06-15 08:31", "2019-06-15 10:31", "40.4168", "-3.7038", "Plaza Mayor", "",
         str([f"{names[1]}.jpg"])],
    ])
    return images, meta, names


def test_lsc_names_are_found_to_be_utc_and_local_fields_come_from_the_metadata(utc_named, tmp_path, tiny_models,
                                                                              gazetteer):
    images, meta, names = utc_named
    src = LscSource(images, meta)
    assert (src.clock.kind, src.clock.utc_votes, src.clock.local_votes) == ("utc", 2, 0)
    assert "read as UTC" in src.clock.line()
    recs = {r.image_id: r for r in src.records()}
    a = recs[names[0]]  # zone from time_zone
    assert (a.local_time, a.utc_offset, a.time_source) == (datetime(2019, 6, 15, 10, 30, 12), "+02:00",
                                                           "lsc-metadata")
    b = recs[names[1]]  # no zone: the row's local_time - utc_time
    assert (b.local_time, b.utc_offset) == (datetime(2019, 6, 15, 10, 31, 42), "+02:00")
    store = open_store(f"lance://{tmp_path / 'store'}")
    store.ensure_schema(tiny_models.dims())
    Ingestor(store, tiny_models, gazetteer, progress=False).run(src.records())
    docs = {d["image_id"]: d for d in store.get(names)}
    d = docs[names[0]]
    # main: local_time 08:30:12 (the name taken as local), hour 8, utc_time 06:30:12
    assert d["local_time"] == datetime(2019, 6, 15, 10, 30, 12) and d["hour"] == 10
    assert d["utc_time"] == datetime(2019, 6, 15, 8, 30, 12, tzinfo=timezone.utc)
    assert (d["part_of_day"], d["weekday"], d["time_source"]) == ("morning", "Sat", "lsc-metadata")
    orphan = docs[names[2]]  # no metadata row: its UTC instant, no local fields it cannot know
    assert orphan["utc_time"] == datetime(2019, 6, 16, 22, 0, 0, tzinfo=timezone.utc)
    assert (orphan["local_time"], orphan["hour"], orphan["part_of_day"], orphan["weekday"]) == (None,) * 4
    assert orphan["time_source"] == "lsc-name"


def test_lsc_names_matching_local_time_are_read_as_local(tmp_path):
    images = tmp_path / "images"
    name = "20160921_074210_000"
    _jpeg(images / "201609" / "21" / f"{name}.jpg", 0)
    meta = _csv(tmp_path / "meta.csv", HEADER, [
        ["20160921_0742", "2016-09-21 06:42", "2016-09-21 07:42", "53.3861", "-6.2566", "Home", "Europe/Dublin",
         str([f"{name}.jpg"])]])
    src = LscSource(images, meta)
    assert (src.clock.kind, src.clock.utc_votes, src.clock.local_votes) == ("local", 0, 1)
    (rec,) = src.records()
    assert (rec.local_time, rec.utc_offset, rec.time_source) == (datetime(2016, 9, 21, 7, 42, 10), "+01:00",
                                                                 "lsc-name")


# -- items 6-8: EXIF offsets, GPS time, GPS without hemisphere refs -----------------------------------------------

from PIL import ExifTags, TiffImagePlugin  # noqa: E402

from lifeseeker.ingest.exif import parse_offset, read_exif  # noqa: E402


def _exif_jpeg(path: Path, original: str | None = "2021:03:04 05:06:07", offset: str | None = None,
               gps_time: tuple | None = None, gps_date: str | None = None, lat_ref: str | None = "N",
               lon_ref: str | None = "E") -> Path:
    im = Image.new("RGB", (64, 48), (200, 120, 30))
    exif = Image.Exif()
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    if original:
        sub[ExifTags.Base.DateTimeOriginal] = original
    if offset is not None:
        sub[ExifTags.Base.OffsetTimeOriginal] = offset
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    R = TiffImagePlugin.IFDRational
    gps[ExifTags.GPS.GPSLatitude] = (R(27, 1), R(42, 1), R(0, 1))
    gps[ExifTags.GPS.GPSLongitude] = (R(85, 1), R(19, 1), R(0, 1))
    if lat_ref is not None:
        gps[ExifTags.GPS.GPSLatitudeRef] = lat_ref
    if lon_ref is not None:
        gps[ExifTags.GPS.GPSLongitudeRef] = lon_ref
    if gps_date:
        gps[ExifTags.GPS.GPSDateStamp] = gps_date
        gps[ExifTags.GPS.GPSTimeStamp] = tuple(R(v, 1) for v in gps_time)
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, "JPEG", exif=exif)
    return path


def _read(path: Path):
    with Image.open(path) as im:
        return read_exif(im)


@pytest.mark.parametrize("raw, stored", [("+05:45", "+05:45"), ("-5:00", "-05:00"), ("+0545", "+05:45"),
                                         ("Z", "+00:00"), ("+14:00", "+14:00"), ("-12:00", "-12:00")])
def test_valid_offset_spellings_give_the_utc_time(tmp_path, raw, stored):
    info = _read(_exif_jpeg(tmp_path / "x.jpg", offset=raw))  # main: only the "+HH:MM" spellings read
    assert info.utc_offset == stored and info.notes == []
    sign = 1 if stored[0] == "+" else -1
    minutes = sign * (int(stored[1:3]) * 60 + int(stored[4:6]))
    assert info.utc_time == datetime(2021, 3, 4, 5, 6, 7, tzinfo=timezone.utc) - __import__("datetime").timedelta(
        minutes=minutes)


@pytest.mark.parametrize("raw", ["+15:00", "-13:00", "+05:60", "+5", "garbage"])
def test_invalid_offsets_keep_the_time_local_with_a_note(tmp_path, raw):  # main: +15:00, +05:60 taken
    info = _read(_exif_jpeg(tmp_path / "x.jpg", offset=raw))
    assert info.local_time == datetime(2021, 3, 4, 5, 6, 7) and info.utc_offset is None and info.utc_time is None
    assert any(raw in n for n in info.notes), info.notes
    assert parse_offset(raw)[0] is None


def test_gps_time_is_the_capture_time_when_there_is_no_datetimeoriginal(tmp_path, tiny_models, gazetteer):
    root = tmp_path / "g"
    _exif_jpeg(root / "utc-only.jpg", original=None, gps_date="2021:03:04", gps_time=(23, 15, 30))
    _exif_jpeg(root / "with-zone.jpg", original=None, offset="+05:45", gps_date="2021:03:04", gps_time=(23, 15, 30))
    from lifeseeker.ingest.sources.folder import scan_folder

    store = open_store(f"lance://{tmp_path / 'store'}")
    store.ensure_schema(tiny_models.dims())
    Ingestor(store, tiny_models, gazetteer, progress=False).run(scan_folder(root))
    utc_only, zoned = store.get(["g/utc-only.jpg", "g/with-zone.jpg"])
    # main: no capture time at all for both
    assert utc_only["utc_time"] == datetime(2021, 3, 4, 23, 15, 30, tzinfo=timezone.utc)
    assert (utc_only["local_time"], utc_only["hour"], utc_only["time_source"]) == (None, None, "gps")
    assert zoned["utc_time"] == datetime(2021, 3, 4, 23, 15, 30, tzinfo=timezone.utc)
    assert (zoned["local_time"], zoned["utc_offset"]) == (datetime(2021, 3, 5, 5, 0, 30), "+05:45")
    assert (zoned["date"], zoned["time_source"]) == ("2021-03-05", "gps")
    assert _read(root / "utc-only.jpg").time_source == "gps"
    plain = _read(_exif_jpeg(tmp_path / "plain.jpg"))
    assert plain.time_source == "exif"


def test_gps_without_hemisphere_refs_claims_no_place(tmp_path):
    info = _read(_exif_jpeg(tmp_path / "noref.jpg", lat_ref=None, lon_ref=None))
    assert (info.lat, info.lon) == (None, None)  # main: (27.7, 85.3167), silently north/east
    assert any("LatitudeRef" in n for n in info.notes)
    ok = _read(_exif_jpeg(tmp_path / "ref.jpg", lat_ref="S", lon_ref="W"))
    assert (ok.lat, ok.lon) == (pytest.approx(-27.7), pytest.approx(-85.3166667))


# -- item 10: per-file notes summarised per kind, listed per file with -v ----------------------------------------


def test_notes_are_counted_per_kind_and_listed_per_file_with_verbose(tmp_path, tiny_clip_dir):
    from click.testing import CliRunner

    from lifeseeker.cli import cli

    root = tmp_path / "n"
    _exif_jpeg(root / "off1.jpg", offset="+15:00")
    _exif_jpeg(root / "off2.jpg", offset="+05:60")
    _exif_jpeg(root / "noref.jpg", lat_ref=None, lon_ref=None)
    im = Image.new("RGB", (32, 24), (1, 2, 3))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 9
    im.save(root / "orient.jpg", "JPEG", exif=exif)
    env = {"LIFESEEKER_STORE": f"lance://{tmp_path / 'store'}", "LIFESEEKER_CLIP_MODEL": f"local-dir:{tiny_clip_dir}",
           "LIFESEEKER_CACHE": str(tmp_path / "cache")}
    args = ["ingest", "folder", str(root), "--no-ocr", "--no-caption", "--no-progress"]
    out = CliRunner().invoke(cli, args, env=env)
    assert out.exit_code == 0, out.output
    # main: the notes were collected but never printed
    assert "notes: 4 in 4 files (-v lists them per file)" in out.output
    assert "    2 x UTC offset … out of range …: time kept as local" in out.output
    assert "    1 x orientation … outside …: not rotated" in out.output
    assert "note: " not in out.output
    env["LIFESEEKER_STORE"] = f"lance://{tmp_path / 'store2'}"  # a fresh store: every file is read again
    verbose = CliRunner().invoke(cli, args + ["-v"], env=env)
    assert f"note: {root / 'off1.jpg'}: UTC offset '+15:00' out of range (-12:00..+14:00)" in verbose.output
    assert f"note: {root / 'orient.jpg'}: orientation 9 outside 1-8: not rotated" in verbose.output


def test_detail_view_shows_time_source_copies_and_locality_distance(tmp_path, tiny_models):
    from lifeseeker.config import Settings
    from lifeseeker.webui import create_app

    store = open_store(f"lance://{tmp_path / 'store'}")
    store.ensure_schema(tiny_models.dims())
    vec = np.ones(tiny_models.dims()["capmeta_vec"], np.float32)
    store.upsert([{"image_id": "g/a.jpg", "collection": "g", "path": "a.jpg", "copies": ["backup/a.jpg"],
                   "utc_time": datetime(2021, 3, 4, 23, 15, 30, tzinfo=timezone.utc), "time_source": "gps",
                   "locality": "Sunland Park", "country": "Mexico", "locality_km": 68.06, "capmeta": "a desert",
                   "capmeta_vec": vec}])
    store.set_collection("g", str(tmp_path))
    app = create_app(Settings(store=store.url, cache_dir=str(tmp_path / "cache")), store=store, models=tiny_models)
    html = app.test_client().get("/", query_string={"q": "desert"}).get_data(as_text=True)
    assert "2021-03-04 23:15:30 UTC, local time unknown" in html and " · from gps" in html
    assert "<dt>Copies</dt><dd>backup/a.jpg</dd>" in html and "68.1 km from Sunland Park" in html

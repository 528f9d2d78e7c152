"""A generated corpus of bad inputs, ingested through the real folder source and pipeline: every bad file is
reported with its path and a reason, every other file is indexed, and nothing hangs or stops the ingest.

The corpus (built by :func:`build_corpus`, nothing downloaded):

* fails, each reported: a zero-byte file, a truncated JPEG, two decompression bombs (a PNG header claiming
  30000x30000 px, past Pillow's error limit, and one claiming 10000x10000 px, past its warning limit, which the
  pipeline turns into an error), a symlink loop (``loop.jpg -> loop.jpg``), a dangling symlink, an unreadable file,
  and a file whose name is not valid UTF-8 (``os.fsencode`` bytes ``caf\\xe9.jpg``).
  *Unreadable file:* the tests run as root, for whom ``chmod 000`` changes nothing, so the unreadable file is a
  FIFO named ``pipe.jpg`` (opening it for reading would block forever: it must be reported, not opened); when the
  tests do not run as root a ``chmod 000`` JPEG is added too.
* indexed: a PNG with alpha, a palette PNG with a transparent index, a 16-bit grayscale TIFF, a CMYK JPEG, JPEGs
  whose EXIF GPS has zero denominators or an out-of-range latitude (indexed without a location, with a note
  naming the problem), the same image under two names (two documents, identical vectors), a real JPEG inside a
  directory named ``album.jpg``, and real sample photos.
"""

from __future__ import annotations

import os
import shutil
import stat
import struct
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image, TiffImagePlugin

from lifeseeker.engine.store import open_store
from lifeseeker.ingest.pipeline import Ingestor
from lifeseeker.ingest.sources.folder import scan_folder

from .conftest import SAMPLES

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
BAD_NAME = b"caf\xe9.jpg"  # Latin-1 'café.jpg': not valid UTF-8


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims ``width`` x ``height`` 8-bit gray pixels, with a tiny (too short) IDAT: enough for
    Pillow to read the size and refuse it, without this test allocating the pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(
        b"IEND", b"")


def _gps_jpeg(path: Path, lat: tuple, lon: tuple, lat_ref: str = "N") -> None:
    """A small JPEG with a DateTimeOriginal and the GPS rationals given (IFDRational, so 1/0 can be written)."""
    im = Image.new("RGB", (64, 48), (30, 120, 200))
    exif = Image.Exif()
    exif[ExifTags.Base.DateTime] = "2020:02:03 10:11:12"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2020:02:03 10:11:12"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = lat_ref
    gps[ExifTags.GPS.GPSLatitude] = tuple(TiffImagePlugin.IFDRational(*v) for v in lat)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = tuple(TiffImagePlugin.IFDRational(*v) for v in lon)
    im.save(path, "JPEG", exif=exif)


def build_corpus(root: Path) -> tuple[dict[str, str], set[str]]:
    """Write the corpus below ``root``. Returns (bad file name relative to root -> expected reason fragment (lower
    case), the relative paths that must be indexed)."""
    root.mkdir(parents=True)
    good: set[str] = set()
    bad: dict[str, str] = {}

    for name in ("jpg/gps/DSCN0010.jpg", "jpg/Canon_40D.jpg", "heic/IMG_5195.HEIC"):
        shutil.copy(SAMPLES / name, root / Path(name).name)
        good.add(Path(name).name)

    (root / "zero.jpg").write_bytes(b"")
    bad["zero.jpg"] = "cannot identify image file"
    data = (SAMPLES / "jpg/gps/DSCN0010.jpg").read_bytes()
    (root / "truncated.jpg").write_bytes(data[: len(data) // 3])
    bad["truncated.jpg"] = "truncated"
    (root / "bomb.png").write_bytes(_png_header_only(30000, 30000))
    bad["bomb.png"] = "decompression bomb"
    (root / "bomb-warning.png").write_bytes(_png_header_only(10000, 10000))
    bad["bomb-warning.png"] = "decompression bomb"
    os.symlink("loop.jpg", root / "loop.jpg")
    bad["loop.jpg"] = "too many levels of symbolic links"
    os.symlink("no-such-file.jpg", root / "dangling.jpg")
    bad["dangling.jpg"] = "no such file"
    os.mkfifo(root / "pipe.jpg")
    bad["pipe.jpg"] = "not a regular file"
    if not IS_ROOT:
        shutil.copy(SAMPLES / "jpg/gps/DSCN0012.jpg", root / "unreadable.jpg")
        (root / "unreadable.jpg").chmod(0)
        bad["unreadable.jpg"] = "permission denied"
    with open(os.path.join(os.fsencode(root), BAD_NAME), "wb") as fh:
        fh.write(data)
    bad["caf\\xe9.jpg"] = "not valid utf-8"  # reported printable: the byte shown as \\xe9

    rgba = Image.new("RGBA", (80, 60), (255, 0, 0, 0))
    rgba.paste((0, 255, 0, 128), (10, 10, 70, 50))
    rgba.save(root / "alpha.png")
    pal = Image.new("P", (80, 60), 1)
    pal.putpalette([0, 0, 0, 250, 20, 20, 20, 250, 20] + [0] * (256 * 3 - 9))
    pal.paste(2, (20, 20, 60, 40))
    pal.save(root / "palette.png", transparency=1)
    deep = Image.fromarray(np.arange(64 * 48, dtype=np.uint16).reshape(48, 64) * 20)
    assert deep.mode == "I;16"
    deep.save(root / "deep16.tif")
    Image.new("CMYK", (64, 48), (0, 200, 200, 20)).save(root / "cmyk.jpg", "JPEG")
    _gps_jpeg(root / "gps-zero-denominator.jpg", ((53, 0), (20, 1), (0, 1)), ((6, 1), (15, 0), (0, 1)))
    _gps_jpeg(root / "gps-out-of-range.jpg", ((95, 1), (0, 1), (0, 1)), ((6, 1), (15, 1), (0, 1)))
    good |= {"alpha.png", "palette.png", "deep16.tif", "cmyk.jpg", "gps-zero-denominator.jpg", "gps-out-of-range.jpg"}
    shutil.copy(SAMPLES / "jpg/gps/DSCN0021.jpg", root / "same-1.jpg")
    shutil.copy(SAMPLES / "jpg/gps/DSCN0021.jpg", root / "same-2.jpg")
    (root / "album.jpg").mkdir()
    shutil.copy(SAMPLES / "jpg/gps/DSCN0025.jpg", root / "album.jpg" / "inside.jpg")
    good |= {"same-1.jpg", "same-2.jpg", "album.jpg/inside.jpg"}
    return bad, good


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, tiny_models, gazetteer):
    base = tmp_path_factory.mktemp("bad-inputs")
    root = base / "corpus"
    bad, good = build_corpus(root)
    store = open_store(f"lance://{base / 'store'}")
    store.ensure_schema(tiny_models.dims())
    store.set_collection("corpus", str(root))
    scan_errors: list[tuple[str, str]] = []
    records = list(scan_folder(root, "corpus", errors=scan_errors))
    report = Ingestor(store, tiny_models, gazetteer, batch_size=4, progress=False).run(records)
    failed = scan_errors + list(report.failed)
    return root, store, report, failed, bad, good


def _rel(root: Path, path: str) -> str:
    p = Path(path)
    return p.relative_to(root).as_posix() if p.is_absolute() else path


def test_every_bad_file_is_reported_with_its_path_and_reason(ingested):
    root, _, _, failed, bad, _ = ingested
    got = {_rel(root, p): reason for p, reason in failed}
    assert set(got) == set(bad), (sorted(got), sorted(bad))
    for name, fragment in bad.items():
        assert fragment in got[name].lower(), (name, got[name])
    for p, _ in failed:
        assert Path(p).is_absolute() and str(root) in p  # the full path, so the user can find the file


def _doc_ids(good: set[str]) -> list[str]:
    """The document ids of the good files: ``corpus/<path>``; same-2.jpg is a byte-identical copy of same-1.jpg,
    folded into its document."""
    return sorted(f"corpus/{g}" for g in good if g != "same-2.jpg")


def test_everything_else_is_indexed(ingested):
    _, store, report, _, _, good = ingested
    want = _doc_ids(good)
    docs = store.get(want)
    assert sorted(d["image_id"] for d in docs) == want
    assert store.count() == len(want) == report.indexed


def test_odd_pixel_formats_are_indexed_with_vectors(ingested):
    _, store, _, _, _, _ = ingested
    for d in store.get([f"corpus/{n}" for n in ("alpha.png", "palette.png", "deep16.tif", "cmyk.jpg")],
                       with_vectors=True):
        assert d["clip_vec"] is not None and np.isfinite(d["clip_vec"]).all(), d["image_id"]
        assert d["capmeta_vec"] is not None


def test_broken_gps_is_dropped_and_noted_but_the_time_is_kept(ingested):
    root, store, report, _, _, _ = ingested
    notes = {_rel(root, p): n for p, n in report.notes}
    for name, fragment in (("gps-zero-denominator.jpg", "zero denominators"),
                           ("gps-out-of-range.jpg", "out of range")):
        doc = store.get([f"corpus/{name}"])[0]
        assert doc["location"] is None and doc["country"] is None
        assert doc["local_time"].isoformat() == "2020-02-03T10:11:12"
        assert fragment in notes[name], notes.get(name)


def test_the_same_image_under_two_names_is_one_document_listing_both_paths(ingested):
    _, store, report, _, _, _ = ingested
    assert [d["image_id"] for d in store.get(["corpus/same-1.jpg", "corpus/same-2.jpg"])] == ["corpus/same-1.jpg"]
    doc = store.get(["corpus/same-1.jpg"], with_vectors=True)[0]
    assert (doc["path"], doc["copies"]) == ("same-1.jpg", ["same-2.jpg"]) and doc["clip_vec"] is not None
    assert report.copies == 1


def test_a_second_run_skips_what_is_indexed_and_reports_the_same_failures(ingested, tiny_models, gazetteer):
    root, store, _, failed, bad, good = ingested
    scan_errors: list[tuple[str, str]] = []
    records = list(scan_folder(root, "corpus", errors=scan_errors))
    report = Ingestor(store, tiny_models, gazetteer, batch_size=4, progress=False).run(records)
    assert report.indexed == 0 and report.skipped == len(_doc_ids(good))
    assert sorted(_rel(root, p) for p, _ in scan_errors + list(report.failed)) == sorted(bad)
    assert store.count() == len(_doc_ids(good))


# --- LSC CSVs: BOM, CRLF, quoted commas, missing columns, wrong types ------------------------------------------------

LSC_IMAGES = ["20190101_103717_000", "20190101_103747_000", "20190101_104012_000", "20190101_104130_000"]


def _crlf_bom_csv(path: Path, lines: list[str]) -> Path:
    """Write ``lines`` as a UTF-8 CSV with a byte-order mark and CRLF line ends (what Excel on Windows saves)."""
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode("utf-8") + b"\r\n")
    return path


@pytest.fixture(scope="module")
def lsc_bad(tmp_path_factory):
    from lifeseeker.ingest.sources.lsc import LscSource

    base = tmp_path_factory.mktemp("lsc-bad")
    images = base / "images"
    for i, image_id in enumerate(LSC_IMAGES):
        dst = images / image_id[:6] / image_id[6:8] / f"{image_id}.jpg"
        dst.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (64, 48), (40 * i, 100, 200 - 40 * i)).save(dst, "JPEG")
    # no time_zone / altitude columns at all (missing columns); quoted commas in semantic_name and ImageID;
    # line 3: wrong type latitude; line 4: wrong type local_time; line 5: too few fields; line 6: ImageID of numbers
    meta = _crlf_bom_csv(base / "meta.csv", [
        "minute_id,utc_time,local_time,latitude,longitude,semantic_name,ImageID",
        '20190101_1037,2019-01-01 10:37:00,2019-01-01 10:37:00,53.3861,-6.2566,"Home, Dublin",'
        '"[\'20190101_103717_000.jpg\', \'20190101_103747_000.jpg\']"',
        "20190101_1038,2019-01-01 10:38:00,2019-01-01 10:38:00,north,-6.2566,Shop,[]",
        "20190101_1039,2019-01-01 10:39:00,yesterday,53.3861,-6.2566,Shop,[]",
        "20190101_1040,2019-01-01 10:40:00",
        '20190101_1041,2019-01-01 10:41:00,2019-01-01 10:41:00,53.35,-6.26,"DCU, Glasnevin","[1, 2]"',
    ])
    concepts = _crlf_bom_csv(base / "concepts.csv", [
        "ImageID,Tags,Caption",  # no OCR column: a missing optional column is fine
        '20190101_103717_000.jpg,"laptop, cup","a desk, a laptop and a cup"',
        "20190101_104012_000.jpg,tree",  # too few fields (line 3)
    ])
    source = LscSource(images, metadata=meta, concepts=concepts, collection="lsc")
    return source, base


def test_lsc_csv_with_bom_crlf_and_quoted_commas_is_read_intact(lsc_bad):
    source, _ = lsc_bad
    assert sorted(source.minutes) == ["20190101_1037", "20190101_1038", "20190101_1039", "20190101_1041"]
    m = source.minutes["20190101_1037"]
    assert m.semantic_name == "Home, Dublin" and (m.lat, m.lon) == (53.3861, -6.2566)  # no BOM, no stray \r
    assert source.image_minute["20190101_103747_000"] == "20190101_1037"
    rec = source.record(source.files[0])
    assert rec.tags == ["laptop", "cup"] and rec.caption == "a desk, a laptop and a cup"
    assert rec.semantic_name == "Home, Dublin" and rec.ocr_text is None


def test_lsc_bad_rows_are_reported_with_file_and_line(lsc_bad):
    source, _ = lsc_bad
    malformed = dict(source.problems.malformed)
    assert set(malformed) == {"meta.csv:3", "meta.csv:4", "meta.csv:5", "meta.csv:6", "concepts.csv:3"}, malformed
    assert "'north'" in malformed["meta.csv:3"]
    assert "local_time 'yesterday' is not a time" in malformed["meta.csv:4"]
    assert "2 fields, the header has 7" in malformed["meta.csv:5"]
    assert "ImageID is not a list of names" in malformed["meta.csv:6"]
    assert "2 fields, the header has 3" in malformed["concepts.csv:3"]
    assert source.problems.unknown_columns == []
    # a row with a bad value keeps its good values (the minute is still known, with its time)
    assert source.minutes["20190101_1038"].lat is None and source.minutes["20190101_1038"].semantic_name == "Shop"


def test_lsc_everything_readable_is_indexed(lsc_bad, tiny_models, gazetteer):
    source, base = lsc_bad
    store = open_store(f"lance://{base / 'store'}")
    store.ensure_schema(tiny_models.dims())
    report = Ingestor(store, tiny_models, gazetteer, batch_size=2, progress=False).run(list(source.records()))
    assert report.failed == [] and report.indexed == store.count() == len(LSC_IMAGES)
    doc = store.get(["20190101_103717_000"])[0]
    assert doc["semantic_name"] == "Home, Dublin" and doc["tags"] == ["laptop", "cup"]
    assert doc["country"] == "Ireland" and doc["local_time"].isoformat() == "2019-01-01T10:37:17"

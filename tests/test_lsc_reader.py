"""The LSC reader on small LSC-shaped fixtures written here (real column names, LSC'22 and LSC2020 variants) over
real COCO photos laid out as `YYYYMM/DD/YYYYMMDD_HHMMSS_000.jpg`; then `lifeseeker ingest lsc` end to end."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from lifeseeker.cli import cli
from lifeseeker.engine.store import open_store
from lifeseeker.ingest.sources.lsc import (LscSource, parse_image_list, parse_lsc_time, time_from_name,
                                           utc_offset_at)

from .conftest import DATA

COCO = DATA / "coco-mini" / "images"
COCO_FILES = sorted(COCO.glob("*.jpg"))

LSC22_META_HEADER = ["minute_id", "utc_time", "local_time", "latitude", "longitude", "altitude", "semantic_name",
                     "time_zone", "heart_rate(bpm)", "steps", "calories", "distance", "album name", "sleep_level",
                     "awake", "minutesToFallAsleep", "minutesAsleep", "minutesAwake", "minutesAfterWakeup",
                     "timeInBed", "sleep_efficiency", "mystery_column", "ImageID"]

# image ids on disk (LSC'22 names); the last one is written as a corrupt JPEG
DUBLIN_A, DUBLIN_B = "20190101_103717_000", "20190101_103747_000"
SUMMER = "20190615_201000_000"      # minute with empty GPS in the metadata, GPS + zone from vaisl_gps.csv
BY_MINUTE = "20190702_090012_000"   # not in any ImageID list: joined by the minute in its file name
ORPHAN = "20190801_120000_000"      # no metadata minute at all
CORRUPT = "20190801_120030_000"
MISSING = "20190101_103800_000"     # listed in the metadata but not on disk
ON_DISK = [DUBLIN_A, DUBLIN_B, SUMMER, BY_MINUTE, ORPHAN, CORRUPT]


def _lsc_path(root: Path, image_id: str) -> Path:
    return root / image_id[:6] / image_id[6:8] / f"{image_id}.jpg"


def _row(header: list[str], **values: str) -> list[str]:
    return [values.get(h, "") for h in header]


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def lsc22(tmp_path_factory) -> dict[str, Path]:
    """An LSC'22-shaped collection: 6 images (one corrupt), metadata, visual concepts, vaisl_gps."""
    root = tmp_path_factory.mktemp("lsc22")
    images = root / "images"
    for image_id, src in zip(ON_DISK, COCO_FILES):
        dst = _lsc_path(images, image_id)
        dst.parent.mkdir(parents=True, exist_ok=True)
        if image_id == CORRUPT:
            data = src.read_bytes()
            dst.write_bytes(data[: len(data) // 4])
        else:
            shutil.copy(src, dst)
    h = LSC22_META_HEADER
    rows = [
        _row(h, minute_id="20190101_1037", utc_time="2019-01-01 10:37:00", local_time="2019-01-01 10:37:00",
             latitude="53.3861", longitude="-6.2566", altitude="60", semantic_name="DCU", time_zone="Europe/Dublin",
             steps="12", ImageID=str([f"{DUBLIN_A}.jpg", f"{DUBLIN_B}.jpg", f"{MISSING}.jpg"])),
        _row(h, minute_id="20190101_1038", utc_time="2019-01-01 10:38:00", local_time="2019-01-01 10:38:00",
             latitude="abc", longitude="-6.2566", time_zone="Europe/Dublin", ImageID="[]"),          # line 3: bad GPS
        _row(h, minute_id="2019-01-01 10:39", ImageID="[]"),                                     # line 4: bad minute_id
        ["20190101_1040", "2019-01-01 10:40:00", "only three fields"],                          # line 5: field count
        _row(h, minute_id="20190615_2010", utc_time="2019-06-15 19:10:00", local_time="2019-06-15 20:10:00",
             latitude="", longitude="", semantic_name="", time_zone="Europe/Dublin", ImageID=str([f"{SUMMER}.jpg"])),
        _row(h, minute_id="20190702_0900", utc_time="2019-07-02 08:00:00", local_time="2019-07-02 09:00:00",
             latitude="41.3851", longitude="2.1734", semantic_name="Home", time_zone="", ImageID=""),
    ]
    meta = _write_csv(root / "lsc22_metadata.csv", h, rows)
    concepts = _write_csv(root / "lsc22_visual_concepts.csv", ["ImageID", "Tags", "Caption", "OCR"], [
        [f"{DUBLIN_A}.jpg", "laptop, cup, screen", "a desk with a laptop and a cup", "HEINZ BEANS"],
        [f"{BY_MINUTE}.jpg", "tree", "", ""],
        [f"{MISSING}.jpg", "door", "", ""],
    ])
    gps = _write_csv(root / "vaisl_gps.csv", ["minute_id", "new_lat", "new_lng", "semantic_name", "categories",
                                              "movement", "city", "new_timezone"], [
        ["20190615_2010", "41.4036", "2.1744", "Sagrada Familia", "Church", "Stationary", "Barcelona",
         "Europe/Madrid"],
    ])
    return {"images": images, "metadata": meta, "concepts": concepts, "gps": gps}


def test_parsers_accept_both_generations_of_values():
    assert parse_image_list("['20200301_101500_000.jpg', '20200301_101530_000.jpg']") == [
        "20200301_101500_000", "20200301_101530_000"]
    assert parse_image_list("") == [] and parse_image_list("[]") == []
    assert parse_image_list("201901/01/20190101_103717_000.jpg") == ["20190101_103717_000"]
    with pytest.raises(ValueError, match="not a list"):
        parse_image_list("['unterminated")
    assert parse_lsc_time("UTC_2016-09-21_06:42") == datetime(2016, 9, 21, 6, 42)
    assert parse_lsc_time("2016-09-21_07:42") == datetime(2016, 9, 21, 7, 42)
    assert parse_lsc_time("2019-01-01 10:37:00") == datetime(2019, 1, 1, 10, 37)
    assert parse_lsc_time("2019-01-01T10:37:00+01:00") == datetime(2019, 1, 1, 9, 37)
    assert time_from_name("20191226_123224_000") == datetime(2019, 12, 26, 12, 32, 24)
    assert time_from_name("B00003681_21I6X0_20180510_072838E") == datetime(2018, 5, 10, 7, 28, 38)
    assert (utc_offset_at(datetime(2019, 1, 1, 12), "Europe/Dublin"),
            utc_offset_at(datetime(2019, 7, 1, 12), "Europe/Dublin"),
            utc_offset_at(datetime(2019, 7, 1, 12), "Asia/Kolkata"),
            utc_offset_at(datetime(2019, 7, 1, 12), "UTC-3")) == ("+00:00", "+01:00", "+05:30", "-03:00")
    with pytest.raises(ValueError, match="Mars/Olympus"):
        utc_offset_at(datetime(2019, 7, 1), "Mars/Olympus")


def test_lsc22_records_carry_the_joined_metadata(lsc22):
    src = LscSource(lsc22["images"], lsc22["metadata"], lsc22["concepts"], lsc22["gps"])
    recs = {r.image_id: r for r in src.records()}
    assert sorted(recs) == sorted(ON_DISK)
    a = recs[DUBLIN_A]
    assert (a.path, a.collection, a.read_exif) == (f"201901/01/{DUBLIN_A}.jpg", "lsc", False)
    assert a.local_time == datetime(2019, 1, 1, 10, 37, 17) and a.utc_offset == "+00:00"
    assert (a.lat, a.lon, a.semantic_name) == (53.3861, -6.2566, "DCU")
    assert a.tags == ["laptop", "cup", "screen"]
    assert (a.caption, a.ocr_text) == ("a desk with a laptop and a cup", "HEINZ BEANS")
    b = recs[DUBLIN_B]  # same minute, no concepts row
    assert (b.lat, b.semantic_name, b.tags, b.caption, b.ocr_text) == (53.3861, "DCU", None, None, None)
    s = recs[SUMMER]    # empty GPS in the metadata; vaisl_gps.csv supplies GPS, name and zone
    assert (s.lat, s.lon, s.semantic_name, s.utc_offset) == (41.4036, 2.1744, "Sagrada Familia", "+02:00")
    m = recs[BY_MINUTE]  # joined by file-name minute; no zone: offset from local_time - utc_time
    assert (m.lat, m.semantic_name, m.utc_offset, m.tags) == (41.3851, "Home", "+01:00", ["tree"])
    o = recs[ORPHAN]
    assert o.local_time == datetime(2019, 8, 1, 12, 0, 0) and o.lat is None and o.utc_offset is None


def test_lsc22_problems_name_file_and_line(lsc22):
    src = LscSource(lsc22["images"], lsc22["metadata"], lsc22["concepts"], lsc22["gps"])
    list(src.records())
    p = src.problems
    assert p.unknown_columns == [("lsc22_metadata.csv", "mystery_column")]
    malformed = dict(p.malformed)
    assert set(malformed) == {"lsc22_metadata.csv:3", "lsc22_metadata.csv:4", "lsc22_metadata.csv:5"}
    assert "GPS 'abc'" in malformed["lsc22_metadata.csv:3"]
    assert "minute_id '2019-01-01 10:39'" in malformed["lsc22_metadata.csv:4"]
    assert "3 fields, the header has 23" in malformed["lsc22_metadata.csv:5"]
    assert p.missing_on_disk == [MISSING]
    assert sorted(p.no_metadata) == [ORPHAN, CORRUPT]
    text = "\n".join(p.lines())
    assert "lsc22_metadata.csv:5: 3 fields" in text and MISSING in text


def test_lsc2020_column_names_and_orc_are_read(tmp_path):
    images = tmp_path / "images"
    old_id = "B00003681_21I6X0_20160921_074210E"
    (images / "2016-09-21").mkdir(parents=True)
    shutil.copy(COCO_FILES[0], images / "2016-09-21" / f"{old_id}.JPG")
    meta = _write_csv(tmp_path / "lsc2020_metadata.csv", ["minute_id", "utc_time", "local_time", "timezone", "lat",
                                                          "lon", "semantic_name", "elevation", "speed", "heart",
                                                          "calories", "activity_type", "steps"], [
        ["20160921_0742", "UTC_2016-09-21_06:42", "2016-09-21_07:42", "Europe/Dublin", "53.3861", "-6.2566",
         "Home", "50", "0", "72", "1.2", "walking", "30"]])
    concepts = _write_csv(tmp_path / "concepts.csv", ["ImageID", "Tags", "Caption", "ORC"],
                          [[f"{old_id}.JPG", "kitchen,cup", "a kitchen", "MILK"]])
    src = LscSource(images, meta, concepts)
    (rec,) = list(src.records())
    assert rec.image_id == old_id and rec.local_time == datetime(2016, 9, 21, 7, 42, 10)
    assert (rec.lat, rec.lon, rec.semantic_name, rec.utc_offset) == (53.3861, -6.2566, "Home", "+01:00")
    assert (rec.tags, rec.caption, rec.ocr_text) == (["kitchen", "cup"], "a kitchen", "MILK")
    assert src.problems.unknown_columns == [] and src.problems.malformed == []


def test_a_csv_without_its_key_column_is_a_clear_error(tmp_path, lsc22):
    bad = _write_csv(tmp_path / "meta.csv", ["utc_time", "latitude"], [["2019-01-01 10:00", "53"]])
    with pytest.raises(ValueError, match=r"meta.csv: no minute_id column"):
        LscSource(lsc22["images"], bad)


def test_cli_ingest_lsc_indexes_every_readable_image(lsc22, tmp_path, tiny_clip_dir):
    env = {"LIFESEEKER_STORE": f"lance://{tmp_path / 'store'}", "LIFESEEKER_CLIP_MODEL": f"local-dir:{tiny_clip_dir}",
           "LIFESEEKER_CACHE": str(tmp_path / "cache")}
    args = ["ingest", "lsc", "--images", str(lsc22["images"]), "--metadata", str(lsc22["metadata"]),
            "--concepts", str(lsc22["concepts"]), "--gps", str(lsc22["gps"]), "--no-caption", "--no-ocr",
            "--no-progress", "--batch-size", "2"]
    r = CliRunner().invoke(cli, args, env=env)
    assert r.exit_code == 3, r.output  # the corrupt JPEG failed (and only it): exit status 3
    assert "seen 6, indexed 5, skipped (already indexed) 0, failed 1" in r.output
    assert f"failed: {_lsc_path(lsc22['images'], CORRUPT).resolve()}" in r.output
    assert "lsc22_metadata.csv:4: minute_id" in r.output and f"  {MISSING}" in r.output
    store = open_store(env["LIFESEEKER_STORE"])
    docs = {d["image_id"]: d for d in store.get(ON_DISK)}
    assert sorted(docs) == sorted(set(ON_DISK) - {CORRUPT})
    a = docs[DUBLIN_A]
    assert a["utc_time"] == datetime(2019, 1, 1, 10, 37, 17, tzinfo=timezone.utc) and a["utc_offset"] == "+00:00"
    assert (a["date"], a["hour"], a["weekday"], a["part_of_day"]) == ("2019-01-01", 10, "Tue", "morning")
    assert (a["semantic_name"], a["city"], a["country"]) == ("DCU", "Dublin", "Ireland")
    assert a["places"][0] == "DCU" and {"Dublin", "Ireland"} <= set(a["places"])
    assert a["tags"] == ["laptop", "cup", "screen"] and a["ocr_text"] == "HEINZ BEANS"
    assert a["caption"] == "a desk with a laptop and a cup"
    assert a["capmeta"] == ("a desk with a laptop and a cup # Time: 2019-01-01 10:37:17 (Tuesday, morning) "
                            "# Location: DCU, Glasnevin, Dublin, Ireland")
    assert a["models"]["ocr"] == "provided" and a["models"]["caption"] == "provided"
    s = docs[SUMMER]
    assert s["utc_time"] == datetime(2019, 6, 15, 18, 10, tzinfo=timezone.utc) and s["city"] == "Barcelona"
    assert s["semantic_name"] == "Sagrada Familia" and "Sagrada Familia" in s["places"]
    assert docs[ORPHAN]["location"] is None and docs[ORPHAN]["local_time"] == datetime(2019, 8, 1, 12, 0, 0)
    info = json.loads(CliRunner().invoke(cli, ["info", "--json"], env=env).output)
    assert info["store"]["collections"] == {"lsc": str(lsc22["images"].resolve())}
    again = CliRunner().invoke(cli, args, env=env)
    assert "indexed 0, skipped (already indexed) 5, failed 1" in again.output


def test_cli_shard_and_caption_model_options(lsc22, tmp_path, tiny_clip_dir):
    from lifeseeker.ingest.pipeline import shard_of
    from lifeseeker.models.caption import save_random_blip

    blip = save_random_blip(tmp_path / "blip")
    env = {"LIFESEEKER_STORE": f"lance://{tmp_path / 'store'}", "LIFESEEKER_CLIP_MODEL": f"local-dir:{tiny_clip_dir}",
           "LIFESEEKER_CACHE": str(tmp_path / "cache")}
    base = ["ingest", "lsc", "--images", str(lsc22["images"]), "--metadata", str(lsc22["metadata"]),
            "--concepts", str(lsc22["concepts"]), "--no-ocr", "--no-progress"]
    bad = CliRunner().invoke(cli, [*base, "--shard", "2/2"], env=env)
    assert bad.exit_code == 2 and "--shard" in bad.output and "0 <= I < N" in bad.output
    r = CliRunner().invoke(cli, [*base, "--shard", "1/2", "--caption-model", str(blip)], env=env)
    assert r.exit_code == (3 if shard_of(CORRUPT, 2) == 1 else 0), r.output  # 3: a file of this shard failed
    mine = sorted(i for i in ON_DISK if shard_of(i, 2) == 1 and i != CORRUPT)
    assert f"indexed {len(mine)}," in r.output and f"left to other shards {sum(shard_of(i, 2) == 0 for i in ON_DISK)}" \
        in r.output
    docs = open_store(env["LIFESEEKER_STORE"]).get(ON_DISK)
    assert sorted(d["image_id"] for d in docs) == mine
    assert all(d["models"]["caption"] == str(blip) and d["capmeta"].startswith(d["caption"]) for d in docs)
    missing = CliRunner().invoke(cli, [*base, "--caption-model", str(tmp_path / "nope")], env=env)
    assert missing.exit_code == 1 and "nope" in missing.output and "--no-caption" in missing.output

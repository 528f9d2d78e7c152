"""The `lifeseeker` command line, end to end on real photos (tiny CLIP through LIFESEEKER_CLIP_MODEL)."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from lifeseeker.cli import cli

from .conftest import SAMPLES

ARZ = sorted(f"photos/jpg/gps/DSCN00{n}.jpg" for n in (10, 12, 21, 25, 27, 29, 38, 40, 42))


@pytest.fixture(scope="module")
def cli_store(tmp_path_factory, tiny_clip_dir):
    root = tmp_path_factory.mktemp("cli")
    photos = root / "photos"
    for sub in ("jpg/gps", "jpg/hdr", "jpg/mobile"):
        shutil.copytree(SAMPLES / sub, photos / sub)
    env = {"LIFESEEKER_STORE": f"lance://{root / 'store'}", "LIFESEEKER_CLIP_MODEL": f"local-dir:{tiny_clip_dir}",
           "LIFESEEKER_CACHE": str(root / "cache")}
    result = CliRunner().invoke(cli, ["ingest", "folder", str(photos), "--no-ocr", "--no-progress"], env=env)
    assert result.exit_code == 0, result.output
    return env, photos, result.output


def test_ingest_reports_counts(cli_store):
    _, _, out = cli_store
    assert "seen 15, indexed 15, skipped (already indexed) 0, failed 0" in out
    assert "15 with a capture time, 12 with GPS" in out


def test_search_arezzo_walk_by_radius_and_date(cli_store):
    env, _, _ = cli_store
    r = CliRunner().invoke(cli, ["search", "a walk", "--near", "43.467,11.88", "--radius-km", "2", "--date-from",
                                 "2008-10-22", "--date-to", "2008-10-22", "--json"], env=env)
    assert r.exit_code == 0, r.output
    body = json.loads(r.output[r.output.index("{"):])
    assert sorted(h["image_id"] for h in body["hits"]) == ARZ
    assert body["text_only"] is False
    h = body["hits"][0]
    assert h["score"] == pytest.approx(0.7 * h["iat"] + 0.3 * h["tat"], abs=2e-6)


def test_search_table_prints_rank_score_components_time_place_path(cli_store):
    env, _, _ = cli_store
    r = CliRunner().invoke(cli, ["search", "a street", "--country", "Spain", "--limit", "5"], env=env)
    assert r.exit_code == 0, r.output
    assert "2 of 2 matching documents" in r.output  # the two iPhone photos taken in Madrid
    lines = [ln for ln in r.output.splitlines() if ln.startswith(("  1  ", "  2  ", "  3  "))]
    assert len(lines) == 2
    assert all("IaT" in ln and "TaT" in ln and "Spain" in ln and "photos/jpg/" in ln for ln in lines)


def test_rerun_skips_everything(cli_store):
    env, photos, _ = cli_store
    r = CliRunner().invoke(cli, ["ingest", "folder", str(photos), "--no-ocr", "--no-progress"], env=env)
    assert "indexed 0, skipped (already indexed) 15" in r.output


def test_bad_filter_is_a_clear_error(cli_store):
    env, _, _ = cli_store
    r = CliRunner().invoke(cli, ["search", "x", "--weekday", "Funday"], env=env)
    assert r.exit_code != 0 and "weekday" in r.output and "Traceback" not in r.output


def test_info_prints_store_count_and_models(cli_store):
    env, _, _ = cli_store
    r = CliRunner().invoke(cli, ["info", "--json"], env=env)
    body = json.loads(r.output)
    assert body["store"]["documents"] == 15 and body["store"]["backend"] == "lancedb"
    assert body["store"]["dims"] == {"clip_vec": 32, "capmeta_vec": 384}
    models = body["models"]
    assert set(models) == {"clip", "text", "ocr", "caption", "vqa", "rerank"}
    assert models["text"]["state"] == "bundled" and models["clip"]["state"] == "directory"
    assert all(m["how"] and m["state"] for m in models.values())


def test_named_clip_that_cannot_load_stops_with_its_name(tmp_path):
    env = {"LIFESEEKER_STORE": f"lance://{tmp_path / 's'}", "LIFESEEKER_CLIP_MODEL": "ViT-B-16"}
    r = CliRunner().invoke(cli, ["search", "x"], env=env)
    assert r.exit_code == 1 and "ViT-B-16" in r.output and "LIFESEEKER_CLIP_PRETRAINED" in r.output


def test_repeated_filter_options_mean_any_of_them(cli_store):
    env, _, _ = cli_store
    one = CliRunner().invoke(cli, ["search", "", "--country", "Italy,Spain", "--json"], env=env)
    rep = CliRunner().invoke(cli, ["search", "", "--country", "Italy", "--country", "Spain", "--json"], env=env)
    a, b = (json.loads(r.output[r.output.index("{"):]) for r in (one, rep))
    assert a["total_filtered"] == b["total_filtered"] == 11  # 9 Arezzo + 2 Madrid photos


@pytest.mark.parametrize("args, needle", [
    (["search", "--date-from", "banana", "x"],
     "Error: Invalid value for --date-from: date_from: expected a date YYYY-MM-DD, got 'banana'"),
    (["search", "--weights", "1", "x"], "Error: Invalid value for --weights: weights:"),
    (["search", 'street country:"Italy'],
     "Error: country: the closing quote \" is missing in 'country:\"Italy'"),
    (["search", "street city:"], "Error: city: empty value in 'city:'"),
    (["ask", "--date-from", "banana", "When was I in Arezzo?"], "Invalid value for --date-from: date_from:"),
    (["ask", 'When was I in country:"Italy?'], "Error: country: the closing quote"),
])
def test_usage_errors_come_first_and_alone_before_any_model_loads(tmp_path, monkeypatch, args, needle):
    import lifeseeker.models

    def no_loading(*a, **k):
        raise AssertionError("models must not load before the arguments are checked")

    monkeypatch.setattr(lifeseeker.models, "load_models", no_loading)
    env = {"LIFESEEKER_STORE": f"lance://{tmp_path / 's'}", "LIFESEEKER_CLIP_MODEL": "ViT-B-16"}
    r = CliRunner().invoke(cli, args, env=env)
    assert r.exit_code == 2, r.output  # click's usage-error status
    assert needle in r.output
    assert "warning" not in r.output.lower() and "CLIP" not in r.output and "Traceback" not in r.output


def test_search_notes_a_word_colon_value_that_is_not_a_filter(cli_store):
    env, _, _ = cli_store
    r = CliRunner().invoke(cli, ["search", "street foo:bar"], env=env)
    assert r.exit_code == 0, r.output
    assert "note: foo:bar is not a filter; searched as text. Known keys: after, before" in r.stderr


def test_help_states_the_default_near_radius():
    r = CliRunner().invoke(cli, ["search", "--help"], terminal_width=200)
    text = " ".join(r.output.split())
    assert "LAT,LON for a radius filter (radius: --radius-km, default 1 km)" in text
    assert "Radius in km around --near (default 1)" in text

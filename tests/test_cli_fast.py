"""The first hour of a new user at the command line: commands that encode nothing import no model library, ``info``
names every model from open_clip's own tables, a re-run over an indexed folder loads no model, global options
work after the command, and ``search``/``ask --server`` give what the in-process commands give.

Start-up *times* are measured by ``bench/cli_startup.py`` (BENCHMARKS.md), never asserted here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading

import pytest
from click.testing import CliRunner

from lifeseeker.cli import cli

from .conftest import DATA, REPO, SAMPLES

HEAVY = ("torch", "open_clip", "transformers", "sentence_transformers", "rapidocr_onnxruntime")
# Run the CLI in a fresh interpreter and report, at exit, which model libraries it imported.
PROBE = ("import atexit, sys\n"
         "atexit.register(lambda: print('\\nIMPORTED=' + ','.join(m for m in %r if m in sys.modules), "
         "file=sys.stderr))\n"
         "sys.argv = ['lifeseeker'] + sys.argv[1:]\n"
         "from lifeseeker.cli import main\n"
         "main()\n") % (HEAVY,)


def _probe(args: list[str], tmp_path) -> tuple[int, list[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFESEEKER_")}
    env.update(LIFESEEKER_STORE=f"lance://{tmp_path / 'store'}", LIFESEEKER_CACHE=str(tmp_path / "cache"),
               HF_HUB_OFFLINE="1")
    r = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=300)
    line = [ln for ln in r.stderr.splitlines() if ln.startswith("IMPORTED=")][-1]
    return r.returncode, [m for m in line[len("IMPORTED="):].split(",") if m], r.stdout + r.stderr


@pytest.mark.parametrize("args, status", [
    (["--help"], 0),
    (["info"], 0),
    (["parse", "eating avocado for breakfast on a Sunday in Dublin in May 2019"], 0),
    (["parse", "a pint in Howth"], 0),  # a small (cities1000) name: the lazily loaded table
    (["eval-parse", str(DATA / "lsc-topics" / "everyday.jsonl")], 0),
    (["dres", "status"], 1),  # not configured: says so
    (["search", "--date-from", "nope", "x"], 2),  # usage error
    (["ingest", "folder", "/nonexistent-folder"], 2),
])
def test_commands_that_encode_nothing_import_no_model_library(args, status, tmp_path):
    rc, imported, out = _probe(args, tmp_path)
    assert rc == status, out
    assert imported == [], f"{args} imported {imported}"


def test_parse_finds_a_small_place_after_the_lazy_load():
    from lifeseeker.engine.query.parse import parse_query

    assert parse_query("a pint in Howth").to_dict()["city"] == ["Howth"]


def test_catalog_reads_open_clip_tables_as_open_clip_does():
    """The static reading of open_clip/pretrained.py and model_configs/ (models/catalog.py) against open_clip's
    own functions (open_clip.get_pretrained_cfg, open_clip.get_model_config) for every name it resolves."""
    import open_clip

    from lifeseeker.models.catalog import _pretrained_table, clip_config, clip_hub_repo

    table = _pretrained_table()
    assert table["ViT-B-16"]["datacomp_xl_s13b_b90k"] == "laion/CLIP-ViT-B-16-DataComp.XL-s13B-b90K/"
    names = open_clip.list_pretrained()
    for arch, tag in names:
        want = (open_clip.get_pretrained_cfg(arch, tag).get("hf_hub") or "").strip("/") or None
        assert clip_hub_repo(arch, tag) == want, (arch, tag)
    # every name open_clip knows is resolved by the static reading (info never has to import open_clip for one)
    assert [n for n in names if n[1] not in table.get(n[0], {})] == []
    for arch in open_clip.list_models():
        assert clip_config(arch) == open_clip.get_model_config(arch), arch
    assert clip_config("No-Such-Arch") is None and clip_hub_repo("ViT-B-16", "no_such_tag") is None


def test_expected_names_are_what_loading_gives(tiny_clip_dir):
    """``expected_model_names`` (no loading) equals ``Models.names()`` after ``load_models`` for the same settings."""
    from lifeseeker.config import Settings
    from lifeseeker.models import load_models
    from lifeseeker.models.catalog import expected_model_names

    settings = Settings(clip_model=f"local-dir:{tiny_clip_dir}", clip_explicit=True)
    models = load_models(settings, for_ingest=True)  # the default captioner: not cached, hub offline -> off
    assert expected_model_names(settings) == models.names()
    assert models.names()["ocr"].startswith("rapidocr_onnxruntime-") and models.names()["caption"] is None
    # the default CLIP weights are not cached either: a run would be text-only, so clip is off too
    default = Settings()
    assert expected_model_names(default, caption=False, ocr=False) == {
        "clip": None, "text": "all-MiniLM-L6-v2", "ocr": None, "caption": None}


@pytest.fixture(scope="module")
def three_photos(tmp_path_factory, tiny_clip_dir):
    root = tmp_path_factory.mktemp("fast")
    photos = root / "photos"
    photos.mkdir()
    for name in ("DSCN0010.jpg", "DSCN0012.jpg", "DSCN0021.jpg"):
        shutil.copy(SAMPLES / "jpg/gps" / name, photos / name)
    env = {"LIFESEEKER_CLIP_MODEL": f"local-dir:{tiny_clip_dir}", "LIFESEEKER_CACHE": str(root / "cache")}
    store = f"lance://{root / 'store'}"
    # the global option after the command, where users type it
    r = CliRunner().invoke(cli, ["ingest", "folder", str(photos), "--no-ocr", "--no-progress", "--store", store],
                           env=env)
    assert r.exit_code == 0, r.output
    return root, photos, store, env


def test_store_option_after_the_command_is_the_store_used(three_photos):
    root, _, store, env = three_photos
    body = json.loads(CliRunner().invoke(cli, ["info", "--json", "--store", store], env=env).output)
    assert body["store"]["documents"] == 3 and body["store"]["location"] == str(root / "store")
    # after the command wins over before it (the later one, as with any repeated option)
    other = f"lance://{root / 'other'}"
    body = json.loads(CliRunner().invoke(cli, ["--store", other, "info", "--json", "--store", store],
                                         env=env).output)
    assert body["store"]["documents"] == 3
    bad = CliRunner().invoke(cli, ["info", "--store", "bogus://x"], env=env)
    assert "bogus://x" in bad.output and "lance:///path/to/dir" in bad.output


def test_rerun_over_an_indexed_folder_loads_no_model(three_photos, monkeypatch):
    import lifeseeker.models as models_pkg

    _, photos, store, env = three_photos
    calls = []
    real = models_pkg.load_models
    monkeypatch.setattr(models_pkg, "load_models", lambda *a, **k: calls.append(1) or real(*a, **k))
    r = CliRunner().invoke(cli, ["--store", store, "ingest", "folder", str(photos), "--no-ocr", "--no-progress"],
                           env=env)
    assert r.exit_code == 0, r.output
    assert "indexed 0, skipped (already indexed) 3" in r.output and calls == []
    # with OCR on, the documents lack what this run computes: the models load and the OCR text is added
    r = CliRunner().invoke(cli, ["--store", store, "ingest", "folder", str(photos), "--no-progress"], env=env)
    assert r.exit_code == 0, r.output
    assert calls == [1] and "updated (a model changed) 3" in r.output


def _serve(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def test_search_and_ask_through_a_server_print_what_the_process_prints(three_photos):
    from lifeseeker.config import Settings
    from lifeseeker.webui import create_app

    root, _, store, env = three_photos
    settings = Settings.from_env({**env, "LIFESEEKER_STORE": store, "LIFESEEKER_RERANK": "off"})
    server, url = _serve(create_app(settings))
    try:
        env = {**env, "LIFESEEKER_STORE": store, "LIFESEEKER_RERANK": "off"}
        for args in (["search", "a walk", "--country", "Italy", "--limit", "2"],
                     ["search", "street city:Arezzo", "--weekday", "Wed", "--json"],
                     ["ask", "How many photos did I take in Italy?", "--json"]):
            local = CliRunner().invoke(cli, args, env=env)
            remote = CliRunner().invoke(cli, [*args, "--server", url], env=env)
            assert local.exit_code == 0 and remote.exit_code == 0, (local.output, remote.output)
            if "--json" in args:
                a, b = json.loads(local.stdout), json.loads(remote.stdout)
                for d in (a, b):
                    d.pop("took_ms", None)
                    for h in d.get("hits", []):
                        h.pop("thumb_url", None), h.pop("image_url", None)
                    for im in d.get("images", []):
                        im.pop("thumb_url", None), im.pop("image_url", None)
                assert a == b
            else:
                strip = [ln for ln in local.stdout.splitlines() if "matching documents" not in ln]
                assert strip == [ln for ln in remote.stdout.splitlines() if "matching documents" not in ln]
                assert len(strip) == 2  # two hits, ranked the same
        # LIFESEEKER_SERVER configures it; a bad value answers 400 through the server as a usage error
        r = CliRunner().invoke(cli, ["search", "x", "--hour-from", "25"], env={**env, "LIFESEEKER_SERVER": url})
        assert r.exit_code == 2 and "hour" in r.output
    finally:
        server.shutdown()
    r = CliRunner().invoke(cli, ["search", "x", "--server", url], env=env)
    assert r.exit_code == 1 and f"The server {url} cannot be reached" in r.output and r.output.strip().endswith(".")


def test_each_notice_is_printed_once(tmp_path):
    """The default CLIP weights are not cached here: the loading warning is the only line saying so (the answer's
    notices repeat it, and are not printed again)."""
    env = {"LIFESEEKER_STORE": f"lance://{tmp_path / 'store'}", "LIFESEEKER_CACHE": str(tmp_path / "cache"),
           "LIFESEEKER_RERANK": "off", "LIFESEEKER_VQA_MODEL": "none"}
    r = CliRunner().invoke(cli, ["ask", "When did I walk in Arezzo?"], env=env)
    assert r.exit_code == 0, r.output
    assert r.output.count("No CLIP model") == 1 and "warning: No CLIP model" in r.output
    assert "answer: (none)" in r.output


def test_fetch_vqa_without_the_hub_fails_at_once_with_a_whole_sentence(tmp_path, monkeypatch):
    import lifeseeker.models.catalog as catalog

    probes = []
    monkeypatch.setattr(catalog, "hub_reachable", lambda *a, **k: probes.append(1) or False)
    r = CliRunner().invoke(cli, ["fetch-vqa", "--vqa-model", "Salesforce/blip-vqa-base"],
                           env={"LIFESEEKER_STORE": f"lance://{tmp_path / 's'}"})
    assert r.exit_code == 1 and probes == [1]  # one probe, no download attempt with retries
    msg = r.output.strip()
    assert msg.startswith("Error: VQA model 'Salesforce/blip-vqa-base' is not in the Hugging Face cache")
    assert "cannot be reached" in msg and msg.endswith(".") and "Traceback" not in msg


def test_brief_cuts_at_a_word_with_an_ellipsis():
    from lifeseeker.errors import brief

    long = OSError("We couldn't connect to 'https://huggingface.co' to load the files, and couldn't find them in "
                   "the cached files. Check your internet connection or see how to run the library in offline "
                   "mode at 'https://huggingface.co/docs/transformers/installation#offline-mode'.")
    assert brief(long) == ("We couldn't connect to 'https://huggingface.co' to load the files, and couldn't find "
                           "them in the cached files")
    cut = brief(OSError("word " * 100), limit=23)
    assert cut == "word word word word\u2026"


def test_small_place_names_are_cached_once_and_read_back_equal(tmp_path, monkeypatch):
    from lifeseeker.engine.query import lang_en
    from lifeseeker.engine.query.gazetteer import Gazetteer

    monkeypatch.setenv("LIFESEEKER_CACHE", str(tmp_path))
    first = Gazetteer(lang_en)
    computed = first.small
    files = list(tmp_path.glob("gazetteer-small-*.json"))
    assert len(files) == 1
    again = Gazetteer(lang_en)
    monkeypatch.setattr(again, "_load_small", lambda *a: pytest.fail("recomputed despite the cache file"))
    assert again.small == computed and again.lookup("howth", small=True).name == "Howth"


def test_the_big_place_table_is_read_back_from_the_cache_equal_to_a_fresh_build(tmp_path, monkeypatch):
    from lifeseeker.engine.query import gazetteer as gz, lang_en

    monkeypatch.setenv("LIFESEEKER_CACHE", str(tmp_path))
    first = gz.Gazetteer(lang_en)
    assert len(list(tmp_path.glob("gazetteer-big-*.json"))) == 1
    monkeypatch.setattr(gz, "_big_tables", lambda lang: pytest.fail("rebuilt despite the cache file"))
    again = gz.Gazetteer(lang_en)
    assert len(again.big) == len(first.big) > 20000 and again.max_words == first.max_words
    assert again.big.get("dublin") == first.big.get("dublin")
    assert again.lookup("frankfurt").name == "Frankfurt" and again.lookup("frankfurt").aliases == ("Frankfurt am Main",)
    assert again.lookup("ireland").kind == "country" and again.continent("EU") == first.continent("EU")
    assert "zzqx" not in again.big and again.big.get("zzqx") is None


def test_a_damaged_cache_file_is_rebuilt_not_an_error(tmp_path, monkeypatch):
    from lifeseeker.engine.query import words

    monkeypatch.setenv("LIFESEEKER_CACHE", str(tmp_path))
    words.common_words.cache_clear()
    built = words.common_words()
    (path,) = tmp_path.glob("common-words-*.json")
    path.write_text('"cat\ndo', encoding="utf-8")  # cut short by a kill
    words.common_words.cache_clear()
    try:
        assert words.common_words() == built and "cat" in built and "dublin" not in built
        assert path.read_text(encoding="utf-8").startswith('"')
    finally:
        words.common_words.cache_clear()


_INFO_IN_A_FRESH_PROCESS = """
import json, sys
from lifeseeker.engine.store import open_store
info = open_store(sys.argv[1]).info()
print(json.dumps([info, "lancedb" in sys.modules]))
"""


def _info_in_a_fresh_process(url: str) -> tuple[dict, bool]:
    out = subprocess.run([sys.executable, "-c", _INFO_IN_A_FRESH_PROCESS, url], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    info, imported = json.loads(out.stdout)
    return info, imported


def test_info_answers_from_the_cache_of_the_newest_version_without_importing_lancedb(tmp_path):
    from lifeseeker.engine.store import open_store

    url = f"lance://{tmp_path / 'store'}"
    empty, imported = _info_in_a_fresh_process(url)  # no table yet
    assert (empty["documents"], empty["dims"], empty["models"], imported) == (0, {}, {}, False)

    store = open_store(url)
    store.ensure_schema({"clip_vec": 4, "capmeta_vec": 3})

    def docs(ids, clip):
        return [{"image_id": f"photos/{i}.jpg", "models": {"clip": clip, "text": "minilm"},
                 "clip_vec": [1.0, 0.0, 0.0, float(i)], "capmeta_vec": [0.0, 1.0, float(i)]} for i in ids]

    store.upsert(docs(range(5), "tiny-a"))
    want = json.loads(json.dumps(store.info()))  # loads the snapshot: writes the version's cache files
    got, imported = _info_in_a_fresh_process(url)
    assert got == want and imported is False
    assert got["documents"] == 5 and got["dims"] == {"clip_vec": 4, "capmeta_vec": 3}
    assert got["models"] == {"clip": ["tiny-a"], "text": ["minilm"]}

    store.upsert(docs([5], "tiny-b"))  # a newer version than the cache describes: read through LanceDB
    got, imported = _info_in_a_fresh_process(url)
    assert got["documents"] == 6 and got["models"]["clip"] == ["tiny-a", "tiny-b"] and imported is True

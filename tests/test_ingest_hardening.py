"""``lifeseeker ingest`` against hostile folders (issue 22, items 3, 4, 6, 7): a collection name stays bound to its
root, symlinks leaving the folder are not followed, a run with failed files exits 3, and nothing a file name holds
reaches the terminal raw (ECMA-48 control functions: ESC 0x1b and CSI 0x9b start them; a newline forges a line)."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from lifeseeker.cli import cli
from lifeseeker.engine.store import open_store
from lifeseeker.terminal import printable, printable_lines

from .conftest import SAMPLES

EVIL = "evil\x1b]0;pwned\x07\x1b[31m\nseen 999, indexed 999, skipped (already indexed) 0, failed 0\r\u202e.jpg"


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_clip_dir):
    """Three ingests under collection ``alpha``: folder A (hostile), folder C without and with --move-root."""
    tmp = tmp_path_factory.mktemp("hostile")
    outside = tmp / "outside"
    outside.mkdir()
    shutil.copy(SAMPLES / "jpg/gps/DSCN0021.jpg", outside / "secret.jpg")
    a = tmp / "A"
    (a / "sub").mkdir(parents=True)
    shutil.copy(SAMPLES / "jpg/gps/DSCN0010.jpg", a / "good.jpg")
    (a / EVIL).write_bytes(b"not a jpeg at all")
    (a / "link_out.jpg").symlink_to(outside / "secret.jpg")
    (a / "sub" / "link_in.jpg").symlink_to(a / "good.jpg")
    c = tmp / "C"
    c.mkdir()
    shutil.copy(SAMPLES / "jpg/gps/DSCN0012.jpg", c / "other.jpg")
    env = {"LIFESEEKER_STORE": f"lance://{tmp / 'store'}", "LIFESEEKER_CLIP_MODEL": f"local-dir:{tiny_clip_dir}",
           "LIFESEEKER_CACHE": str(tmp / "cache")}
    base = ["ingest", "folder", "--collection", "alpha", "--no-ocr", "--no-progress", "--no-caption"]
    first = CliRunner().invoke(cli, [*base, str(a)], env=env)
    store = open_store(env["LIFESEEKER_STORE"])
    after_first = (dict(store.collections()), {d["image_id"]: d.get("copies") for d in store.get(
        ["alpha/good.jpg", "alpha/sub/link_in.jpg", "alpha/link_out.jpg"])})
    clash = CliRunner().invoke(cli, [*base, str(c)], env=env)
    after_clash = dict(open_store(env["LIFESEEKER_STORE"]).collections())
    moved = CliRunner().invoke(cli, [*base, "--move-root", str(c)], env=env)
    after_move = dict(open_store(env["LIFESEEKER_STORE"]).collections())
    return {"a": a.resolve(), "c": c.resolve(), "first": first, "after_first": after_first, "clash": clash,
            "after_clash": after_clash, "moved": moved, "after_move": after_move}


def test_failed_files_give_exit_status_3_and_a_clean_run_0(runs):
    assert runs["first"].exit_code == 3, runs["first"].output
    assert "failed 2" in runs["first"].output  # the unreadable file and the link out of the folder
    assert runs["moved"].exit_code == 0, runs["moved"].output
    assert "failed 0" in runs["moved"].output


def test_file_names_reach_the_terminal_escaped(runs):
    out = runs["first"].output
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out and "\u202e" not in out
    summaries = [ln for ln in out.splitlines() if ln.startswith("seen ")]
    # one summary line, no forged one (the link out is reported by the scan, not "seen")
    # (the link inside the folder is a byte-identical copy of good.jpg: one document, issue 16)
    assert summaries == [summaries[0]] and summaries[0].startswith("seen 3, indexed 1")
    assert "evil\\x1b]0;pwned\\x07\\x1b[31m\\nseen 999" in out and "\\u202e.jpg" in out


def test_symlink_out_of_the_folder_is_not_followed(runs):
    collections, ids = runs["after_first"]
    # the link inside the folder is ingested (as a copy of the file it points to: one document), the one out is not
    assert ids == {"alpha/good.jpg": ["sub/link_in.jpg"]}
    out = runs["first"].output
    line = next(ln for ln in out.splitlines() if "link_out.jpg" in ln)
    assert "outside the folder" in line


def test_collection_name_stays_bound_to_its_root(runs):
    a, c = runs["a"], runs["c"]
    assert runs["after_first"][0]["alpha"] == str(a)
    clash = runs["clash"]
    assert clash.exit_code == 2 and "--move-root" in clash.output
    assert str(a) in clash.output and str(c) in clash.output
    assert runs["after_clash"]["alpha"] == str(a)  # not re-pointed
    assert "indexed" not in clash.output  # refused before anything was read or written
    assert runs["after_move"]["alpha"] == str(c)


def test_printable_escapes_controls_and_keeps_text():
    assert printable("a\x1b[2Jb\nc\x9bd\u2028") == "a\\x1b[2Jb\\nc\\x9bd\\u2028"
    assert printable("Café 東京 😀 ok") == "Café 東京 😀 ok"
    assert printable_lines("line 1\n\tline\x1b[0m 2") == "line 1\n\tline\\x1b[0m 2"

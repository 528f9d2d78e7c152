"""Hostile image files: a thin image (1 x 10000 px, ~3 KB as a JPEG) is not given to the models, whose input
would otherwise grow to gigabytes (RapidOCR's detector scales the shorter edge up to 736 px:
``rapidocr_onnxruntime/ch_ppocr_det/text_detect.py``, ``limit_side_len`` / ``limit_type: min`` in its
``config.yaml``; open_clip's ``Resize`` scales the shorter edge to 224 px), and it fails alone: the ingest, run
here under an address-space limit the test sets, indexes every other file with OCR and CLIP."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from PIL import Image

from lifeseeker.images import MODEL_MAX_ASPECT, MODEL_MIN_SIDE, UnfitImage, model_input

from .conftest import REPO, SAMPLES

LIMIT_ABOVE_WARM = 1536 * 1024 * 1024  # address space the ingest may grow by after its models are warm


@pytest.mark.parametrize("size", [(1, 10000), (10000, 1), (3, 1280), (200, 2001), (20, 10)])
def test_model_input_refuses_thin_and_tiny_images(size):
    with pytest.raises(UnfitImage) as exc:
        model_input(Image.new("RGB", size))
    assert f"{size[0]}x{size[1]}" in str(exc.value) or "shorter side" in str(exc.value)


def test_model_input_keeps_fit_images_and_bounds_their_size():
    assert model_input(Image.new("RGB", (640, 480))).size == (640, 480)
    assert model_input(Image.new("RGB", (4000, 400))).size == (1280, 128)  # aspect 10: allowed, scaled
    assert model_input(Image.new("RGB", (MODEL_MIN_SIDE, MODEL_MIN_SIDE))).size == (MODEL_MIN_SIDE,) * 2
    with pytest.raises(UnfitImage):
        model_input(Image.new("RGB", (int(100 * MODEL_MAX_ASPECT) + 1, 100)))
    with pytest.raises(UnfitImage):  # fits by aspect, but scaled to 1280 px its shorter edge is 12 px
        model_input(Image.new("RGB", (10000, 1000)), max_side=120)


def test_thin_jpegs_fail_alone_under_a_memory_limit(tmp_path, tiny_clip_dir):
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(SAMPLES / "jpg/gps/DSCN0010.jpg", folder / "a_ordinary.jpg")
    shutil.copy(SAMPLES / "jpg/gps/DSCN0012.jpg", folder / "b_ordinary.jpg")
    Image.new("RGB", (1, 10000), (200, 30, 30)).save(folder / "thin_1x10000.jpg", quality=90)
    Image.new("RGB", (10000, 1), (30, 30, 200)).save(folder / "thin_10000x1.jpg", quality=90)
    assert (folder / "thin_1x10000.jpg").stat().st_size < 20_000
    proc = subprocess.run([sys.executable, "-m", "tests.thin_image_child", str(folder), str(tmp_path / "store"),
                           str(tiny_clip_dir), str(LIMIT_ABOVE_WARM)],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert res["failed"] == []
    assert res["vm_peak"] <= res["base_vm_peak"] + LIMIT_ABOVE_WARM
    notes = {p.rsplit("/", 1)[-1]: r for p, r in res["notes"]}
    for thin in ("thin_1x10000.jpg", "thin_10000x1.jpg"):
        assert "aspect ratio" in notes[thin] and "not given to the image models" in notes[thin]
        assert res["ocr"][thin] is None and res["clip"][thin] is False  # indexed, without model outputs
    assert not any("OCR failed" in r or "MemoryError" in r for _, r in res["notes"]), res["notes"]
    assert res["ocr"]["b_ordinary.jpg"].startswith("rapidocr") and res["clip"]["b_ordinary.jpg"] is True
    assert set(res["ocr"]) == {"a_ordinary.jpg", "b_ordinary.jpg", "thin_1x10000.jpg", "thin_10000x1.jpg"}


def test_cli_ingest_under_its_own_memory_bound(tmp_path, tiny_clip_dir):
    """``--max-memory-gib``: the CLI run sets RLIMIT_AS on itself (so it runs in a subprocess here) and indexes
    the ordinary image with OCR and the thin one without models, exit status 0."""
    import os

    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(SAMPLES / "jpg/gps/DSCN0010.jpg", folder / "ordinary.jpg")
    Image.new("RGB", (1, 10000), (200, 30, 30)).save(folder / "thin.jpg", quality=90)
    env = dict(os.environ, LIFESEEKER_STORE=f"lance://{tmp_path / 'store'}", LIFESEEKER_CACHE=str(tmp_path / "c"),
               LIFESEEKER_CLIP_MODEL=f"local-dir:{tiny_clip_dir}", PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1")
    proc = subprocess.run([sys.executable, "-m", "lifeseeker.cli", "ingest", "folder", str(folder), "--no-caption",
                           "--no-progress", "--max-memory-gib", "1.5"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "address space bounded at" in proc.stderr
    assert "seen 2, indexed 2, skipped (already indexed) 0, failed 0" in proc.stdout
    from lifeseeker.engine.store import open_store

    docs = {d["path"]: d for d in open_store(env["LIFESEEKER_STORE"]).get(["photos/ordinary.jpg",
                                                                            "photos/thin.jpg"])}
    assert docs["ordinary.jpg"]["models"]["ocr"].startswith("rapidocr") and docs["thin.jpg"]["models"]["ocr"] is None

"""The staged ingest pipeline: captioner (tiny random BLIP through the real local-dir path), exact recompute when a
model changes, resume after a real SIGKILL, sharding, and the ingest bench (quick mode)."""

from __future__ import annotations

import os
import runpy
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from lifeseeker.config import Settings
from lifeseeker.engine.store import open_store
from lifeseeker.errors import ModelUnavailable
from lifeseeker.ingest.pipeline import Ingestor, decode, parse_shard, shard_of
from lifeseeker.ingest.sources.folder import scan_folder
from lifeseeker.models import Models, load_models
from lifeseeker.models.caption import DEFAULT_CAPTION_MODEL, load_captioner, save_random_blip

from .conftest import DATA, REPO

COCO_FILES = sorted((DATA / "coco-mini" / "images").glob("*.jpg"))


def _photos(folder: Path, n: int, offset: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for src in COCO_FILES[offset:offset + n]:
        shutil.copy(src, folder / src.name)
    return folder


@pytest.fixture(scope="module")
def blip_dir(tmp_path_factory):
    return save_random_blip(tmp_path_factory.mktemp("blip"), seed=0)


@pytest.fixture(scope="module")
def captioner(blip_dir):
    return load_captioner(str(blip_dir), device="cpu", max_new_tokens=8)


class Counting:
    """Wraps an encoder; counts the items it was asked to process per method (what a run really computed)."""

    def __init__(self, inner, name: str | None = None, transform=None):
        self.inner, self.items, self.transform = inner, 0, transform
        self.name = name or inner.name
        self.dims = getattr(inner, "dims", None)

    def _count(self, xs):
        self.items += len(xs)

    def encode_images(self, images):
        self._count(images)
        return self.inner.encode_images(images)

    def encode_texts(self, texts, *a, **k):
        self._count(texts)
        out = self.inner.encode_texts(texts)
        return self.transform(out) if self.transform else out

    def caption(self, images):
        self._count(images)
        return self.inner.caption(images)

    def read(self, image):
        self.items += 1
        return self.inner.read(image)


class SizeOcr:
    """Deterministic OCR double: reports the image size, so its output is known exactly."""

    def __init__(self, name: str):
        self.name = name

    def read(self, image):
        return f"{self.name} {image.size[0]}x{image.size[1]}"


def _models(tiny_models, clip=None, text=None, captioner=None, ocr=None) -> Models:
    from lifeseeker.models import ZeroShotTagger

    clip = clip or tiny_models.clip
    return Models(text=Counting(text or tiny_models.text), clip=Counting(clip), tagger=ZeroShotTagger(clip),
                  captioner=Counting(captioner) if captioner else None, ocr=Counting(ocr) if ocr else None,
                  clip_dims=clip.dims)


def _counts(m: Models) -> dict[str, int]:
    return {"clip": m.clip.items, "caption": m.captioner.items if m.captioner else 0,
            "ocr": m.ocr.items if m.ocr else 0, "tat": m.text.items}


# -- captioner ---------------------------------------------------------------------------------------------------------


def test_tiny_blip_captions_are_batched_deterministic_and_per_image(captioner, blip_dir):
    images = [decode(r).image for r in scan_folder(_photos(blip_dir.parent / "few", 4))]
    caps = captioner.caption(images)
    assert len(caps) == 4 and all(isinstance(c, str) and c for c in caps)
    assert caps == [captioner.caption([im])[0] for im in images]  # batching changes nothing
    assert len(set(caps)) > 1  # the image conditions the text
    assert not any(c.startswith("a picture of") for c in caps)  # FuseCap's prompt is removed
    assert captioner.caption([]) == [] and captioner.name == str(blip_dir)


def test_default_captioner_missing_is_a_notice_but_a_named_one_is_an_error(blip_dir):
    models = load_models(Settings(ocr=False), for_ingest=True)
    assert models.captioner is None and models.names()["caption"] is None
    assert any("No captioner" in n and DEFAULT_CAPTION_MODEL in n for n in models.notices)
    with pytest.raises(ModelUnavailable, match="noamrot/FuseCap_Image_Captioning.*--caption-model"):
        load_models(Settings(ocr=False), for_ingest=True, caption_model=DEFAULT_CAPTION_MODEL)
    with pytest.raises(ModelUnavailable, match="no-such-dir"):
        load_captioner(str(blip_dir.parent / "no-such-dir"), device="cpu")
    named = load_models(Settings(ocr=False), for_ingest=True, caption_model=str(blip_dir))
    assert named.names()["caption"] == str(blip_dir)
    assert load_models(Settings(ocr=False), for_ingest=True, caption=False).captioner is None


# -- recompute exactly what a changed model feeds ----------------------------------------------------------------------


def test_changing_a_model_recomputes_exactly_its_fields(tmp_path, tiny_models, gazetteer, captioner):
    from .tiny_models import build_tiny_clip_dir
    from lifeseeker.models.clip import load_clip

    photos = _photos(tmp_path / "p", 4)
    ids = sorted(f"{photos.name}/{p.name}" for p in photos.iterdir())
    store = open_store(f"lance://{tmp_path / 'store'}")

    def run(models):
        report = Ingestor(store, models, gazetteer, batch_size=4, progress=False).run(scan_folder(photos))
        return report, {d["image_id"]: d for d in store.get(ids, with_vectors=True)}

    base = dict(clip=tiny_models.clip, text=tiny_models.text, captioner=captioner, ocr=SizeOcr("ocr-a"))
    m1 = _models(tiny_models, **base)
    r1, d1 = run(m1)
    assert (r1.indexed, _counts(m1)) == (4, {"clip": 4, "caption": 4, "ocr": 4, "tat": 4})
    first = d1[ids[0]]
    assert first["caption"] == captioner.caption([decode(next(scan_folder(photos))).image])[0]
    assert first["capmeta"].startswith(first["caption"]) and first["ocr_text"].startswith("ocr-a ")
    assert first["models"] == {"clip": tiny_models.clip.name, "text": "all-MiniLM-L6-v2", "ocr": "ocr-a",
                               "caption": captioner.name}

    m2 = _models(tiny_models, **base)  # same models: nothing at all
    r2, _ = run(m2)
    assert (r2.indexed, r2.skipped, _counts(m2)) == (0, 4, {"clip": 0, "caption": 0, "ocr": 0, "tat": 0})

    # text model -> capmeta_vec only
    m3 = _models(tiny_models, **{**base, "text": Counting(tiny_models.text, "minilm-negated", lambda v: -v)})
    r3, d3 = run(m3)
    assert (r3.updated, _counts(m3)) == (4, {"clip": 0, "caption": 0, "ocr": 0, "tat": 4})
    for i in ids:
        np.testing.assert_allclose(d3[i]["capmeta_vec"], -d1[i]["capmeta_vec"], atol=1e-6)
        np.testing.assert_allclose(d3[i]["clip_vec"], d1[i]["clip_vec"], atol=1e-6)  # kept (stored: re-normalised)
        assert d3[i]["caption"] == d1[i]["caption"] and d3[i]["models"]["text"] == "minilm-negated"
    text3 = {**base, "text": Counting(tiny_models.text, "minilm-negated", lambda v: -v)}

    # OCR -> ocr_text; CapMeta leads with the caption here, so its text and vector stay (no TaT work)
    m4 = _models(tiny_models, **{**text3, "ocr": SizeOcr("ocr-b")})
    _, d4 = run(m4)
    assert _counts(m4) == {"clip": 0, "caption": 0, "ocr": 4, "tat": 0}
    assert all(d4[i]["capmeta"] == d3[i]["capmeta"] for i in ids)
    assert all(d4[i]["ocr_text"].startswith("ocr-b ") and d4[i]["caption"] == d1[i]["caption"] for i in ids)
    ocr4 = {**text3, "ocr": SizeOcr("ocr-b")}

    # captioner -> caption, capmeta, capmeta_vec
    other = load_captioner(str(save_random_blip(tmp_path / "blip2", seed=1)), device="cpu", max_new_tokens=8)
    m5 = _models(tiny_models, **{**ocr4, "captioner": other})
    _, d5 = run(m5)
    assert _counts(m5) == {"clip": 0, "caption": 4, "ocr": 0, "tat": 4}
    assert any(d5[i]["caption"] != d4[i]["caption"] for i in ids)
    assert all(np.allclose(d5[i]["clip_vec"], d1[i]["clip_vec"], atol=1e-6) and d5[i]["ocr_text"] == d4[i]["ocr_text"]
               for i in ids)

    # CLIP -> clip_vec and auto tags; CapMeta leads with the caption, so only a document whose (random) caption
    # came out empty, and whose CapMeta therefore lists the tags, gets a new CapMeta text and vector
    clip2 = load_clip(f"local-dir:{build_tiny_clip_dir(tmp_path / 'clip2', seed=1)}", "", device="cpu")
    m6 = _models(tiny_models, **{**ocr4, "captioner": other, "clip": clip2})
    _, d6 = run(m6)
    changed = [i for i in ids if d6[i]["capmeta"] != d5[i]["capmeta"]]
    assert _counts(m6) == {"clip": 4, "caption": 0, "ocr": 0, "tat": len(changed)}
    assert all(not d5[i]["caption"] and d6[i]["tags"] != d5[i]["tags"] for i in changed)
    assert all(not np.allclose(d6[i]["clip_vec"], d5[i]["clip_vec"]) for i in ids)
    assert all(np.allclose(d6[i]["capmeta_vec"], d5[i]["capmeta_vec"], atol=1e-6) for i in ids if i not in changed)
    assert store.count() == 4


def test_ocr_change_without_captions_re_encodes_capmeta(tmp_path, tiny_models, gazetteer):
    photos = _photos(tmp_path / "p", 3)
    store = open_store(f"lance://{tmp_path / 'store'}")
    ids = sorted(f"{photos.name}/{p.name}" for p in photos.iterdir())
    Ingestor(store, _models(tiny_models, ocr=SizeOcr("ocr-a")), gazetteer, progress=False).run(scan_folder(photos))
    m = _models(tiny_models, ocr=SizeOcr("ocr-b"))
    Ingestor(store, m, gazetteer, progress=False).run(scan_folder(photos))
    assert _counts(m) == {"clip": 0, "caption": 0, "ocr": 3, "tat": 3}
    docs = store.get(ids)
    assert all("Text: ocr-b " in d["capmeta"] and d["ocr_text"].startswith("ocr-b ") for d in docs)


def test_a_model_turned_off_keeps_what_it_computed(tmp_path, tiny_models, gazetteer, captioner):
    photos = _photos(tmp_path / "p", 3)
    store = open_store(f"lance://{tmp_path / 'store'}")
    Ingestor(store, _models(tiny_models, captioner=captioner), gazetteer, progress=False).run(scan_folder(photos))
    before = {d["image_id"]: d["caption"] for d in store.get([f"{photos.name}/{p.name}" for p in photos.iterdir()])}
    off = _models(tiny_models)  # --no-caption
    r = Ingestor(store, off, gazetteer, progress=False).run(scan_folder(photos))
    assert (r.skipped, _counts(off)["tat"]) == (3, 0)
    after = {d["image_id"]: d["caption"] for d in store.get(list(before))}
    assert after == before and all(before.values())


# -- sharding ----------------------------------------------------------------------------------------------------------


def test_shards_partition_the_collection(tmp_path, tiny_models, gazetteer):
    photos = _photos(tmp_path / "p", 24)
    assert parse_shard("2/3") == (2, 3)
    with pytest.raises(ValueError, match="0 <= I < N"):
        parse_shard("3/3")
    whole = open_store(f"lance://{tmp_path / 'all'}")
    Ingestor(whole, tiny_models, gazetteer, batch_size=8, progress=False).run(scan_folder(photos))
    all_ids = {d["image_id"] for d in whole.get([f"{photos.name}/{p.name}" for p in photos.iterdir()])}
    parts = []
    for i in range(3):
        store = open_store(f"lance://{tmp_path / f'shard{i}'}")
        report = Ingestor(store, tiny_models, gazetteer, batch_size=8, progress=False, shard=(i, 3)).run(
            scan_folder(photos))
        got = {d["image_id"] for d in store.get(sorted(all_ids))}
        assert report.indexed == len(got) == store.count() and report.out_of_shard == 24 - len(got)
        assert got == {x for x in all_ids if shard_of(x, 3) == i} and got
        parts.append(got)
    assert set().union(*parts) == all_ids and sum(map(len, parts)) == len(all_ids) == 24


# -- resume after SIGKILL ----------------------------------------------------------------------------------------------

DRIVER = """
import sys, time
from lifeseeker.engine.store import open_store
from lifeseeker.ingest.enrich.geo import Gazetteer
from lifeseeker.ingest.pipeline import Ingestor
from lifeseeker.ingest.sources.folder import scan_folder
from lifeseeker.models import Models, ZeroShotTagger
from lifeseeker.models.clip import load_clip
from lifeseeker.models.text import load_text_encoder

photos, store_url, clip_dir = sys.argv[1:4]
clip = load_clip("local-dir:" + clip_dir, "", device="cpu")
models = Models(text=load_text_encoder("all-MiniLM-L6-v2"), clip=clip, tagger=ZeroShotTagger(clip),
                clip_dims=clip.dims)
store = open_store(store_url)
upsert = store.upsert
def slow_upsert(docs):  # the test kills this process between writes; slowing them leaves time to do it
    n = upsert(docs)
    time.sleep(0.25)
    return n
store.upsert = slow_upsert
print("ready", flush=True)
# one write per batch (write_batch=3): with the default group of 500 the 24 images would be a single write
Ingestor(store, models, Gazetteer(), batch_size=3, progress=False, write_batch=3).run(scan_folder(photos))
print("finished", flush=True)
"""


def test_sigkill_mid_run_then_rerun_loses_and_repeats_nothing(tmp_path, tiny_models, tiny_clip_dir, gazetteer):
    photos = _photos(tmp_path / "p", 24)
    url = f"lance://{tmp_path / 'store'}"
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(DRIVER))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, str(script), str(photos), url, str(tiny_clip_dir)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if open_store(url).count() >= 6:
                    break
            except Exception:  # noqa: BLE001 - table not created yet
                pass
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    store = open_store(url)
    done = store.count()
    assert 6 <= done < 24  # killed mid-run, after some batches were written
    models = _models(tiny_models)
    report = Ingestor(store, models, gazetteer, batch_size=3, progress=False).run(scan_folder(photos))
    assert (report.skipped, report.indexed) == (done, 24 - done)
    assert _counts(models) == {"clip": 24 - done, "caption": 0, "ocr": 0, "tat": 24 - done}
    names = sorted(f"{photos.name}/{p.name}" for p in photos.iterdir())
    assert store.count() == 24 and sorted(d["image_id"] for d in store.get(names)) == names
    assert len(set(store.snapshot().ids)) == len(store.snapshot().ids) == 24  # no duplicate rows


# -- bench ---------------------------------------------------------------------------------------------------------


def test_ingest_bench_quick_runs_and_prints_its_figures(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["bench/ingest.py", "--quick"])
    runpy.run_path(str(REPO / "bench" / "ingest.py"), run_name="__main__")
    out = capsys.readouterr().out
    for figure in ("pipeline:", "bare model forward passes:", "ratio pipeline / bare:", "per stage",
                   "decode", "clip", "caption", "tat", "write"):
        assert figure in out

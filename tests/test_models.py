"""Model loading paths (local dir, checkpoint file, random, missing weights) and the real bundled models."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from lifeseeker.config import Settings
from lifeseeker.errors import ModelUnavailable
from lifeseeker.models import load_models
from lifeseeker.models.clip import clip_dims, load_clip
from lifeseeker.models.tagger import ZeroShotTagger, load_vocabulary

from .tiny_models import TINY_CLIP_CFG


def _images():
    return [Image.new("RGB", (64, 48), c) for c in ("red", "navy", "white")]


def test_local_dir_clip_encodes_unit_vectors(tiny_clip_dir):
    clip = load_clip(f"local-dir:{tiny_clip_dir}", "", device="cpu")
    assert clip.dims == 32 == clip_dims(f"local-dir:{tiny_clip_dir}")
    img, txt = clip.encode_images(_images()), clip.encode_texts(["a dog", "a red square"])
    assert img.shape == (3, 32) and txt.shape == (2, 32) and img.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(img, axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(clip.encode_images(_images()), img, atol=1e-6)  # deterministic (eval mode)
    assert not np.allclose(img[0], img[1])


def test_checkpoint_file_and_registered_config_give_the_same_model(tiny_clip_dir, tmp_path):
    import open_clip

    cfg_dir = tmp_path / "cfgs"
    cfg_dir.mkdir()
    (cfg_dir / "lifeseeker-tiny-test.json").write_text(json.dumps(TINY_CLIP_CFG))
    open_clip.add_model_config(cfg_dir)
    ckpt = tmp_path / "weights.bin"
    shutil.copy(tiny_clip_dir / "open_clip_pytorch_model.bin", ckpt)
    from_file = load_clip("lifeseeker-tiny-test", str(ckpt), device="cpu")
    from_dir = load_clip(f"local-dir:{tiny_clip_dir}", "", device="cpu")
    assert from_file.name == f"lifeseeker-tiny-test/{ckpt}"
    np.testing.assert_allclose(from_file.encode_texts(["a cup"]), from_dir.encode_texts(["a cup"]), atol=1e-6)
    rand = load_clip("lifeseeker-tiny-test", "random", device="cpu")
    assert not np.allclose(rand.encode_texts(["a cup"]), from_dir.encode_texts(["a cup"]))


def test_missing_weights_name_the_model_and_how_to_provide_them(tmp_path):
    with pytest.raises(ModelUnavailable) as err:
        load_clip("ViT-B-16", "datacomp_xl_s13b_b90k", device="cpu")  # HF_HUB_OFFLINE=1 in tests
    msg = str(err.value)
    assert "ViT-B-16/datacomp_xl_s13b_b90k" in msg and "LIFESEEKER_CLIP_PRETRAINED" in msg
    with pytest.raises(ModelUnavailable, match="neither a checkpoint file nor a pretrained tag"):
        load_clip("ViT-B-16", "no-such-tag", device="cpu")
    with pytest.raises(ModelUnavailable, match="not-a-model"):
        clip_dims("not-a-model")
    with pytest.raises(ModelUnavailable, match="could not be loaded"):
        load_clip(f"local-dir:{tmp_path / 'missing'}", "", device="cpu")


def test_default_clip_missing_degrades_to_text_only_but_a_named_one_is_an_error():
    models = load_models(Settings(ocr=False), for_ingest=False)
    assert models.clip is None and models.text_only
    assert models.dims() == {"clip_vec": 512, "capmeta_vec": 384}  # width from the ViT-B-16 config alone
    assert len(models.notices) == 1 and "text-only" in models.notices[0]
    named = Settings(ocr=False).with_overrides(clip_model="ViT-B-16")
    assert named.clip_explicit
    with pytest.raises(ModelUnavailable, match="ViT-B-16"):
        load_models(named, for_ingest=False)


def test_named_text_model_that_cannot_load_is_an_error(tmp_path):
    with pytest.raises(ModelUnavailable, match="no-such-org/no-such-model"):
        load_models(Settings(ocr=False).with_overrides(text_model="no-such-org/no-such-model"), for_ingest=False)


def test_real_minilm_ranks_paraphrases_above_unrelated(minilm):
    v = minilm.encode_texts(["a dog playing in the park", "a puppy running on grass", "a spreadsheet on a laptop"])
    assert v.shape == (3, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2


def test_zero_shot_tagger_returns_vocabulary_concepts(tiny_models):
    vocab = load_vocabulary()
    assert len(vocab) > 80 and "laptop" in vocab and not any(v.startswith("#") for v in vocab)
    tagger = ZeroShotTagger(tiny_models.clip, top_k=3, min_prob=0.0)
    tags = tagger.tags(tiny_models.clip.encode_images(_images()))
    assert len(tags) == 3 and all(len(t) == 3 and set(t) <= set(vocab) for t in tags)

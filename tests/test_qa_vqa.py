"""The VQA model wrapper: a tiny random-weight BLIP VQA built from a config, saved like real weights and loaded
through the real local-directory path; batching; and the loading errors when weights are absent."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from lifeseeker.errors import ModelUnavailable
from lifeseeker.models.vqa import load_vqa, vqa_disabled

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]"] + (
    "what which is was the a an of colour color red blue white green black yellow car sign plane airline how many "
    "one two three four yes no lufthansa ryanair buddha gold tunnel did i see".split())


def build_tiny_blip_vqa_dir(folder: Path, seed: int = 0) -> Path:
    """Write a tiny ``BlipForQuestionAnswering`` (random weights, fixed seed) with its processor (BERT WordPiece
    tokenizer from a written vocab file, 32 px image processor) in the ``save_pretrained`` layout."""
    import torch
    from transformers import (BertTokenizer, BlipConfig, BlipForQuestionAnswering, BlipImageProcessor,
                              BlipProcessor)

    folder.mkdir(parents=True, exist_ok=True)
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    tok = BertTokenizer(str(vocab), bos_token="[DEC]")
    text = dict(vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                intermediate_size=37, max_position_embeddings=64, encoder_hidden_size=32,
                bos_token_id=tok.convert_tokens_to_ids("[DEC]"), sep_token_id=tok.sep_token_id,
                pad_token_id=tok.pad_token_id)
    vision = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37, image_size=32,
                  patch_size=16)
    torch.manual_seed(seed)
    model = BlipForQuestionAnswering(BlipConfig(text_config=text, vision_config=vision, projection_dim=32)).eval()
    model.save_pretrained(folder)
    BlipProcessor(image_processor=BlipImageProcessor(size={"height": 32, "width": 32}), tokenizer=tok
                  ).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_vqa_dir(tmp_path_factory):
    return build_tiny_blip_vqa_dir(tmp_path_factory.mktemp("tiny-blip-vqa"))


def _images(n: int) -> list[Image.Image]:
    return [Image.new("RGB", (40 + 7 * i, 30 + 3 * i), (37 * i % 256, 90, 200 - 20 * i)) for i in range(n)]


def test_tiny_vqa_loads_from_a_local_dir_and_answers_each_image(tiny_vqa_dir):
    vqa = load_vqa(str(tiny_vqa_dir), device="cpu")
    answers = vqa.answer(_images(3), "what colour is the car?")
    assert len(answers) == 3 and all(isinstance(a, str) for a in answers)
    words = {w for a in answers for w in a.split()}
    assert words and words <= set(VOCAB[6:]) | {"##"}  # decoded from the written vocab, special tokens dropped
    assert vqa.name == str(tiny_vqa_dir) and vqa.device == "cpu"


def test_batches_are_split_by_batch_size_and_give_the_same_answers(tiny_vqa_dir):
    vqa = load_vqa(str(tiny_vqa_dir), device="cpu", batch_size=2)
    calls: list[int] = []
    generate = vqa._model.generate

    def counting_generate(**kw):
        calls.append(int(kw["pixel_values"].shape[0]))
        return generate(**kw)

    vqa._model.generate = counting_generate
    ims = _images(5)
    batched = vqa.answer(ims, "how many cars?")
    assert calls == [2, 2, 1] and len(batched) == 5
    calls.clear()
    whole = vqa.answer(ims, ["how many cars?"] * 5, batch_size=8)
    assert calls == [5] and whole == batched


def test_one_question_per_image_must_match_the_images(tiny_vqa_dir):
    vqa = load_vqa(str(tiny_vqa_dir), device="cpu")
    with pytest.raises(ValueError, match="2 images but 1 questions"):
        vqa.answer(_images(2), ["what?"])
    assert vqa.answer([], "what?") == []


def test_default_hub_model_missing_from_the_cache_says_how_to_provide_it():
    with pytest.raises(ModelUnavailable) as exc:
        load_vqa("Salesforce/blip-vqa-base", device="cpu")
    msg = str(exc.value)
    assert "Salesforce/blip-vqa-base" in msg and "not in the Hugging Face cache" in msg
    assert "lifeseeker fetch-vqa" in msg and "LIFESEEKER_VQA_MODEL=/path/to/blip-vqa-dir" in msg


def test_missing_or_broken_directory_is_a_clear_error(tmp_path):
    with pytest.raises(ModelUnavailable, match="no such directory"):
        load_vqa(str(tmp_path / "nowhere"), device="cpu")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelUnavailable, match=r"could not be loaded \(.*LIFESEEKER_VQA_MODEL"):
        load_vqa(str(tmp_path / "empty"), device="cpu")


def test_vqa_can_be_turned_off():
    assert vqa_disabled("none") and vqa_disabled("") and vqa_disabled(" Off ") and not vqa_disabled("x")
    with pytest.raises(ModelUnavailable, match="turned off"):
        load_vqa("none")


def test_settings_read_the_vqa_model_from_the_environment():
    from lifeseeker.config import Settings

    assert Settings.from_env({}).vqa_model == "Salesforce/blip-vqa-base"
    assert Settings.from_env({"LIFESEEKER_VQA_MODEL": "/models/blip"}).vqa_model == "/models/blip"
    assert Settings.from_env({"LIFESEEKER_VQA_MODEL": ""}).vqa_model == ""

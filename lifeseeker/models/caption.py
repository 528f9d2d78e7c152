"""Image captions with a BLIP captioning model (transformers ``BlipForConditionalGeneration`` + ``BlipProcessor``).

The default is FuseCap (Rotstein et al., "FuseCap: Leveraging Large Language Models for Enriched Fused Image
Captions", arXiv:2305.17718), the BLIP captioner the LifeSeeker 6.0 paper names: Hugging Face id
``noamrot/FuseCap_Image_Captioning``. Any BLIP captioning model loads the same way, by Hugging Face id or local
directory (a folder written by ``save_pretrained``: ``config.json``, weights, processor and tokenizer files).

Generation follows the FuseCap model card: the text prompt ``"a picture of "`` conditions the decoder, beam
search with 3 beams; the prompt is removed from the returned caption.

Loading order: a local directory; else the Hugging Face cache; else the hub (only when ``allow_download`` and the
hub can be reached, so an air-gapped machine fails at once with a message naming the model).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from PIL import Image

from ..errors import ModelUnavailable, brief

log = logging.getLogger(__name__)

DEFAULT_CAPTION_MODEL = "noamrot/FuseCap_Image_Captioning"
FUSECAP_PROMPT = "a picture of "


@dataclass
class Captioner:
    """A BLIP captioning model ready for inference.

    Attributes:
        name: the id or directory it was loaded from, recorded in each document's ``models.caption``.
        prompt: text prefix that conditions generation (removed from the output); ``""`` for none.
        num_beams, max_new_tokens: generation settings.
    """

    name: str
    _model: object
    _processor: object
    _device: str
    prompt: str = FUSECAP_PROMPT
    num_beams: int = 3
    max_new_tokens: int = 30

    def caption(self, images: Sequence[Image.Image]) -> list[str]:
        """One caption per RGB PIL image (any size), in order; a batch goes through the model in one ``generate``.

        Returns:
            ``len(images)`` strings, lower case as the tokenizer decodes them, prompt removed, whitespace trimmed.
        """
        import torch

        if not images:
            return []
        kwargs = {"images": list(images), "return_tensors": "pt"}
        if self.prompt:
            kwargs["text"] = [self.prompt] * len(images)
        inputs = self._processor(**kwargs).to(self._device)
        dtype = next(self._model.parameters()).dtype
        inputs["pixel_values"] = inputs["pixel_values"].to(dtype)
        with torch.inference_mode():
            out = self._model.generate(**inputs, num_beams=self.num_beams, max_new_tokens=self.max_new_tokens)
        texts = self._processor.batch_decode(out, skip_special_tokens=True)
        return [_strip_prompt(t, self.prompt) for t in texts]


def _strip_prompt(text: str, prompt: str) -> str:
    text = " ".join(text.split())
    p = " ".join(prompt.split()).lower()
    if p and text.lower().startswith(p):
        text = text[len(p):].strip()
    return text


def _cached(repo: str) -> bool:
    """Whether ``repo``'s config is in the Hugging Face cache (no network)."""
    from .catalog import hub_cached

    return hub_cached(repo)


def load_captioner(name: str = DEFAULT_CAPTION_MODEL, device: str = "auto", allow_download: bool = True,
                   prompt: str = FUSECAP_PROMPT, num_beams: int = 3, max_new_tokens: int = 30) -> Captioner:
    """Load a BLIP captioning model for inference (see the module docstring for the loading order).

    Args:
        name: Hugging Face id (``noamrot/FuseCap_Image_Captioning``, ``Salesforce/blip-image-captioning-base``)
            or a local directory written by ``save_pretrained``.
        device: ``auto`` (CUDA when present), ``cpu``, ``cuda``, ``cuda:N``; on CUDA the model runs in float16.
        allow_download: fetch missing weights from the hub when it can be reached.
    Raises:
        ModelUnavailable: the weights are neither in the directory nor in the cache nor fetchable; the message
            names the model and says how to provide it.
    """
    from .clip import hub_reachable, pick_device

    dev = pick_device(device)
    local = Path(name).expanduser()
    source = str(local) if local.is_dir() else name
    how = ("provide it by running `lifeseeker ingest` once with internet access (weights are cached), by "
           "--caption-model /path/to/blip_dir (a save_pretrained folder), or skip captions with --no-caption")
    offline = local.is_dir()
    if not local.is_dir():
        if local.is_absolute() or name.startswith((".", "~")):
            raise ModelUnavailable(f"caption model {name!r}: no such directory; {how}")
        offline = not (allow_download and hub_reachable())
        if offline and not _cached(name):
            raise ModelUnavailable(f"caption model {name!r} is not in the Hugging Face cache and the hub cannot be "
                                   f"reached now; {how}")
    try:
        import torch
        from transformers import BlipForConditionalGeneration, BlipProcessor
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        dtype = torch.float16 if dev.startswith("cuda") else torch.float32
        processor = BlipProcessor.from_pretrained(source, local_files_only=offline)
        model = BlipForConditionalGeneration.from_pretrained(source, dtype=dtype, local_files_only=offline)
        model = model.to(dev).eval()
    except Exception as exc:  # noqa: BLE001 - hub, file and config errors alike
        raise ModelUnavailable(f"caption model {name!r} could not be loaded ({type(exc).__name__}: "
                               f"{brief(exc)}); {how}") from exc
    return Captioner(name, model, processor, dev, prompt=prompt, num_beams=num_beams, max_new_tokens=max_new_tokens)


TINY_WORDS = ("a picture of the an dog cat man woman person people on in at with and near table street road car "
              "bus red blue green white black sitting standing walking holding screen laptop cup food tree sky "
              "room kitchen office window door sign book phone").split()


def save_random_blip(folder: str | Path, seed: int = 0, image_size: int = 32, width: int = 32,
                     init_range: float = 0.5) -> Path:
    """Write a tiny BLIP captioner with RANDOM weights (for tests and benchmarks only) as a ``save_pretrained``
    folder: config, safetensors weights, an image processor and a small BERT WordPiece tokenizer built from a vocab
    file written here (no download). Returns the folder; load it with ``load_captioner(str(folder))``."""
    import torch
    from transformers import (BertTokenizer, BlipConfig, BlipForConditionalGeneration, BlipImageProcessor,
                              BlipProcessor)

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]", *TINY_WORDS]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(str(folder / "vocab.txt"), do_lower_case=True, bos_token="[DEC]")
    processor = BlipProcessor(image_processor=BlipImageProcessor(size={"height": image_size, "width": image_size}),
                              tokenizer=tokenizer)
    layer = dict(hidden_size=width, intermediate_size=2 * width, num_hidden_layers=1, num_attention_heads=2,
                 projection_dim=width, initializer_range=init_range)
    config = BlipConfig(vision_config=dict(layer, image_size=image_size, patch_size=16),
                        text_config=dict(layer, vocab_size=len(vocab), encoder_hidden_size=width,
                                         max_position_embeddings=64, pad_token_id=0, bos_token_id=5,
                                         sep_token_id=3, eos_token_id=3),
                        projection_dim=width)
    torch.manual_seed(seed)
    model = BlipForConditionalGeneration(config).eval()
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


__all__ = ["Captioner", "load_captioner", "DEFAULT_CAPTION_MODEL", "FUSECAP_PROMPT", "save_random_blip"]

"""Visual question answering (BLIP VQA) behind one verb: ``answer(images, questions) -> list[str]``.

The seed runs BLIP VQA on the top images of a question's results and shows a possible answer under each image
(LifeSeeker 6.0, §3.4). The default model is ``Salesforce/blip-vqa-base`` (Li et al., "BLIP", 2022, the VQA
fine-tune published by Salesforce on the Hugging Face hub); ``Salesforce/blip-vqa-capfilt-large`` is the larger
variant. Any ``BlipForQuestionAnswering`` checkpoint works: set ``LIFESEEKER_VQA_MODEL`` to a Hugging Face id or
to a local directory holding ``config.json``, the weights and the processor files (``save_pretrained`` layout).

Loading order: a local directory; else the Hugging Face cache (never the network at query time: a missing model
fails at once with a message saying how to provide it); ``allow_download=True`` (``lifeseeker fetch-vqa``)
fetches it into the cache once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from PIL import Image

from ..config import DEFAULT_VQA_MODEL
from ..errors import ModelUnavailable, brief

log = logging.getLogger(__name__)

DISABLED = frozenset({"", "0", "none", "off", "false", "no"})
MAX_ANSWER_TOKENS = 10  # VQA answers are short ("white", "3", "lufthansa")


@dataclass
class VqaModel:
    """A loaded BLIP VQA model.

    Attributes:
        name: the configured name (HF id or directory), shown to the user.
        device: torch device string the model runs on (``cpu``, ``cuda``, ``cuda:1``).
        batch_size: images per forward pass in :meth:`answer`.
    """

    name: str
    device: str
    _model: object
    _processor: object
    batch_size: int = 8

    def answer(self, images: Sequence[Image.Image], questions: Sequence[str] | str,
               batch_size: int | None = None) -> list[str]:
        """One short answer per image.

        Args:
            images: n RGB PIL images of any size (the processor resizes them; BLIP base: 384x384).
            questions: one question for all images, or n questions (one per image).
            batch_size: images per forward pass (default ``self.batch_size``).
        Returns:
            n answers, lower-case text as the model generates it (may be ``""``).
        Raises:
            ValueError: ``questions`` is a sequence whose length differs from ``images``.
        """
        import torch

        qs = [questions] * len(images) if isinstance(questions, str) else list(questions)
        if len(qs) != len(images):
            raise ValueError(f"{len(images)} images but {len(qs)} questions")
        size = max(1, batch_size or self.batch_size)
        out: list[str] = []
        dtype = next(self._model.parameters()).dtype
        for i in range(0, len(images), size):
            ims = [im.convert("RGB") for im in images[i:i + size]]
            inputs = self._processor(images=ims, text=qs[i:i + size], return_tensors="pt", padding=True)
            inputs = {k: (v.to(self.device, dtype) if v.is_floating_point() else v.to(self.device))
                      for k, v in inputs.items()}
            with torch.inference_mode():
                ids = self._model.generate(**inputs, max_new_tokens=MAX_ANSWER_TOKENS)
            out.extend(t.strip() for t in self._processor.batch_decode(ids, skip_special_tokens=True))
        return out


def vqa_disabled(name: str | None) -> bool:
    """Whether a configured VQA model name means "no VQA" (``""``, ``none``, ``off``, ``0`` ...)."""
    return name is None or name.strip().lower() in DISABLED


def _cached(repo: str) -> bool:
    """Whether ``repo``'s config is in the Hugging Face cache (no network)."""
    from .catalog import hub_cached

    return hub_cached(repo)


def load_vqa(name: str = DEFAULT_VQA_MODEL, device: str = "auto", allow_download: bool = False,
             batch_size: int = 8) -> VqaModel:
    """Load a BLIP VQA model (``BlipForQuestionAnswering`` + ``BlipProcessor``).

    Args:
        name: a local directory (``save_pretrained`` layout) or a Hugging Face id.
        device: ``auto`` (cuda when present), ``cpu``, ``cuda``, ``cuda:N``; on a GPU the model runs in float16.
        allow_download: fetch a hub id missing from the cache (otherwise only the cache is used, so a query never
            waits on a download).
        batch_size: images per forward pass.
    Raises:
        ModelUnavailable: VQA is disabled by the name, or the model cannot be found or loaded; the message names
            the model and says how to provide it.
    """
    from .clip import pick_device

    if vqa_disabled(name):
        raise ModelUnavailable("VQA is turned off (LIFESEEKER_VQA_MODEL is empty or 'none')")
    how = ("Provide it with `lifeseeker fetch-vqa` once with internet access (weights are cached), or set "
           f"LIFESEEKER_VQA_MODEL=/path/to/blip-vqa-dir (a BlipForQuestionAnswering saved with save_pretrained)")
    local = Path(name).expanduser()
    source = str(local) if local.is_dir() else name
    if not local.is_dir():
        if name.startswith((".", "/", "~")) or name.count("/") > 1:
            raise ModelUnavailable(f"VQA model {name!r}: no such directory. {how}")
        if not allow_download and not _cached(name):
            raise ModelUnavailable(f"VQA model {name!r} is not in the Hugging Face cache and query time never "
                                   f"downloads. {how}")
        if allow_download and not _cached(name):
            from .catalog import hub_reachable

            if not hub_reachable():  # fail in seconds, not after the hub client's retries
                raise ModelUnavailable(
                    f"VQA model {name!r} is not in the Hugging Face cache, and the Hugging Face hub cannot be "
                    f"reached from this machine now (HF_HUB_OFFLINE set, or no network). Run `lifeseeker "
                    f"fetch-vqa` where the hub can be reached, or set LIFESEEKER_VQA_MODEL=/path/to/blip-vqa-dir.")
    dev = pick_device(device)
    try:
        import torch
        from transformers import BlipForQuestionAnswering, BlipProcessor
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        only_local = local.is_dir() or not allow_download
        processor = BlipProcessor.from_pretrained(source, local_files_only=only_local)
        dtype = torch.float16 if dev.startswith("cuda") else torch.float32
        model = BlipForQuestionAnswering.from_pretrained(source, local_files_only=only_local, dtype=dtype)
        model.to(dev).eval()
    except Exception as exc:  # noqa: BLE001 - hub, file and config errors alike
        raise ModelUnavailable(f"VQA model {name!r} could not be loaded ({type(exc).__name__}: "
                               f"{brief(exc)}). {how}") from exc
    return VqaModel(name, dev, model, processor, batch_size)


__all__ = ["VqaModel", "load_vqa", "vqa_disabled", "DEFAULT_VQA_MODEL"]

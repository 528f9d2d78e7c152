"""CLIP behind two verbs (image features, text features), after rclip's ``model.py``: device and preprocessing hidden.

Loading order (ARCHITECTURE.md "Models"): a local file or directory first, then the cache, then the hub:

* ``pretrained`` is a path to a checkpoint file -> loaded from that file;
* ``model_name`` is ``local-dir:/path`` (open_clip's schema: a folder with ``open_clip_config.json`` + weights) or
  ``hf-hub:org/repo`` -> open_clip loads it (cache first, then the hub unless ``HF_HUB_OFFLINE=1``);
* otherwise ``pretrained`` is an open_clip pretrained tag (e.g. ``datacomp_xl_s13b_b90k``), fetched into the
  Hugging Face cache once;
* ``pretrained="random"`` builds the architecture with random weights: for tests and benchmarks only.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from ..errors import ModelUnavailable, brief
from .catalog import HUB_PROBE_TIMEOUT_S, hub_cached, hub_reachable  # noqa: F401 - also importable here

log = logging.getLogger(__name__)

RANDOM = "random"


def pick_device(device: str = "auto") -> str:
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``; anything else is returned unchanged."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def clip_dims(model_name: str) -> int:
    """Embedding width of an open_clip architecture from its config alone (no weights needed), so a store can be
    created with the right ``clip_vec`` width even in text-only mode. Reads open_clip's config file without
    importing open_clip (models/catalog.py) when it can. Raises ModelUnavailable for unknown names."""
    from .catalog import clip_config

    if model_name.startswith("local-dir:"):
        import json

        cfg = json.loads((Path(model_name[len("local-dir:"):]) / "open_clip_config.json").read_text())
        return int(cfg["model_cfg"]["embed_dim"])
    cfg = clip_config(model_name)
    if cfg is None:
        import open_clip

        cfg = open_clip.get_model_config(model_name)
    if cfg is None:
        raise ModelUnavailable(f"CLIP model {model_name!r} is not an open_clip architecture "
                               f"(see open_clip.list_models()), nor local-dir:/path")
    return int(cfg["embed_dim"])


@dataclass
class ClipEncoder:
    """An open_clip model ready for inference.

    Attributes:
        name: ``"<architecture>/<pretrained>"``, recorded in each document's ``models.clip``.
        dims: embedding width d.
    """

    name: str
    dims: int
    _model: object
    _preprocess: object
    _tokenizer: object
    _device: str

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """(n, d) float32, L2-normalised image embeddings (IaT document side). RGB PIL images of any size."""
        import torch

        if not images:
            return np.zeros((0, self.dims), dtype=np.float32)
        batch = torch.stack([self._preprocess(im) for im in images]).to(self._device)
        with torch.inference_mode():
            feats = self._model.encode_image(batch)
        return _unit(feats.float().cpu().numpy())

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """(n, d) float32, L2-normalised text embeddings (IaT query side)."""
        import torch

        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        tokens = self._tokenizer(list(texts)).to(self._device)
        with torch.inference_mode():
            feats = self._model.encode_text(tokens)
        return _unit(feats.float().cpu().numpy())


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    np.divide(x, n, out=x, where=n > 0)
    return x


def weights_cached(model_name: str, pretrained: str) -> bool:
    """Whether the weights of an open_clip pretrained tag are already in the Hugging Face cache (no network)."""
    from .catalog import CLIP_WEIGHT_FILES, clip_hub_repo

    repo = clip_hub_repo(model_name, pretrained)
    return bool(repo) and hub_cached(repo, CLIP_WEIGHT_FILES)


def load_clip(model_name: str, pretrained: str, device: str = "auto", cache_dir: str | None = None,
              allow_download: bool = True) -> ClipEncoder:
    """Load an open_clip model for inference (see the module docstring for the loading order).

    Args:
        model_name: open_clip architecture (``ViT-B-16``), ``local-dir:/path`` or ``hf-hub:org/repo``.
        pretrained: pretrained tag, checkpoint file path, ``random`` (tests), or ignored for schema names.
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:1``...
        cache_dir: where downloaded weights are kept (default: the Hugging Face cache).
        allow_download: fetch missing weights from the hub (ingest does; query time never waits on a download).
    Raises:
        ModelUnavailable: the weights cannot be found locally nor fetched; the message names the model and says
            how to provide it.
    """
    import open_clip

    dev = pick_device(device)
    schema = model_name.startswith(("local-dir:", "hf-hub:"))
    weights = None if schema or pretrained == RANDOM else pretrained
    label = model_name if schema else f"{model_name}/{pretrained}"
    if weights and Path(weights).expanduser().is_file():
        weights = str(Path(weights).expanduser())
    elif weights:
        if open_clip.get_pretrained_cfg(model_name, weights) in (None, {}):
            tags = ", ".join(open_clip.list_pretrained_tags_by_model(model_name)) or "none"
            raise ModelUnavailable(f"CLIP {label}: {weights!r} is neither a checkpoint file nor a pretrained tag "
                                   f"of {model_name} (tags: {tags})")
        if not weights_cached(model_name, weights) and not (allow_download and hub_reachable()):
            raise ModelUnavailable(
                f"CLIP weights {label} are not in the cache and the hub cannot be reached now. Provide them by "
                f"running `lifeseeker ingest` once with internet access (weights are cached), by "
                f"LIFESEEKER_CLIP_PRETRAINED=/path/to/checkpoint.bin, or by "
                f"LIFESEEKER_CLIP_MODEL=local-dir:/path/to/open_clip_folder")
    try:
        model, _, preprocess = open_clip.create_model_and_transforms(
            model_name, pretrained=weights, device=dev, cache_dir=cache_dir)
        tokenizer = open_clip.get_tokenizer(model_name)
    except Exception as exc:  # noqa: BLE001 - open_clip raises RuntimeError/OSError/HTTP errors alike
        raise ModelUnavailable(
            f"CLIP model {label} could not be loaded ({type(exc).__name__}: {brief(exc)}). Provide it by "
            f"running once with internet access (weights are cached), by LIFESEEKER_CLIP_PRETRAINED=/path/to/"
            f"checkpoint.bin, or by LIFESEEKER_CLIP_MODEL=local-dir:/path/to/open_clip_folder") from exc
    if pretrained == RANDOM and not schema:
        log.warning("CLIP %s uses RANDOM weights: for tests and benchmarks only", model_name)
    model.eval()
    dims = int(getattr(model, "embed_dim", 0) or model.text_projection.shape[1])
    return ClipEncoder(label, dims, model, preprocess, tokenizer, dev)

"""Tiny random-weight models built from configs, saved the way real weights are shipped (open_clip ``local-dir``
folder with ``open_clip_config.json`` + ``open_clip_pytorch_model.bin``), so tests go through the real loading
paths without any download."""

from __future__ import annotations

import json
from pathlib import Path

TINY_CLIP_CFG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 64, "head_width": 32, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 1},
}


def build_tiny_clip_dir(folder: Path, seed: int = 0) -> Path:
    """Write a tiny open_clip model (random weights, fixed seed) as a local-dir folder; returns the folder."""
    import open_clip
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_CLIP_CFG, "preprocess_cfg": {}}))
    torch.manual_seed(seed)
    model = open_clip.CLIP(**TINY_CLIP_CFG)
    torch.save(model.state_dict(), folder / "open_clip_pytorch_model.bin")
    return folder

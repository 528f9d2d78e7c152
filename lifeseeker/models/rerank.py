"""Rerank matchers behind one verb, ``score(query, docs, load_image) -> match probabilities in [0, 1]``:

* ``ItmReranker``: BLIP image-text matching (transformers ``BlipForImageTextRetrieval`` with its ITM head; the
  family of the seed's captioner and VQA); p = softmax(itm_logits)[match];
* ``CrossEncoderReranker``: a sentence-transformers ``CrossEncoder`` over (query, CapMeta); p = sigmoid(logit)
  for a one-label model (its default activation), softmax[-1] for a two-label one;
* ``CombinedReranker``: the mean of the probabilities its matchers could compute.

Loading (query time never waits on a download): a local directory, or a Hugging Face id already in the cache
(``local_files_only``). ``load_reranker(settings)`` returns the matcher plus the notices to show when weights are
absent, in which case reranking is skipped.

| setting | env | default |
|---|---|---|
| rerank | ``LIFESEEKER_RERANK``: ``itm``, ``cross``, ``itm,cross`` or ``off`` | ``itm`` |
| rerank_model | ``LIFESEEKER_RERANK_MODEL`` (BLIP ITM: HF id or directory) | ``Salesforce/blip-itm-base-coco`` |
| rerank_cross_model | ``LIFESEEKER_RERANK_CROSS_MODEL`` (HF id or dir) | ``cross-encoder/ms-marco-MiniLM-L-6-v2`` |
| rerank_n, rerank_blend | ``LIFESEEKER_RERANK_N``, ``LIFESEEKER_RERANK_BLEND`` | 30, 0.5 (engine/rerank.py) |
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..errors import ModelUnavailable, brief as _brief

log = logging.getLogger(__name__)

DEFAULT_ITM_MODEL = "Salesforce/blip-itm-base-coco"
DEFAULT_CROSS_MODEL = "cross-encoder/ms-marco-MiniLM-L-6-v2"
RERANK_KINDS = ("itm", "cross")


def _source(name: str) -> str:
    p = Path(name).expanduser()
    return str(p) if p.is_dir() else name


@dataclass
class ItmReranker:
    """BLIP ITM. Attributes: ``name`` (model id or folder), ``batch_size`` images per forward pass."""

    name: str
    _model: object
    _processor: object
    _device: str = "cpu"
    batch_size: int = 16

    def score(self, query: str, docs: Sequence[dict], load_image: Callable[[dict], object]) -> np.ndarray:
        """(n,) float64 match probabilities; NaN for a document whose image cannot be loaded."""
        import torch

        out = np.full(len(docs), np.nan)
        images = [(i, load_image(d)) for i, d in enumerate(docs)]
        images = [(i, im) for i, im in images if im is not None]
        for k in range(0, len(images), self.batch_size):
            chunk = images[k:k + self.batch_size]
            inputs = self._processor(images=[im for _, im in chunk], text=[query] * len(chunk),
                                     return_tensors="pt", padding=True, truncation=True)
            inputs = {key: v.to(self._device) for key, v in inputs.items()}
            with torch.inference_mode():
                logits = self._model(**inputs, use_itm_head=True).itm_score
            prob = logits.float().softmax(-1)[:, 1].cpu().numpy()
            for (i, _), p in zip(chunk, prob):
                out[i] = float(p)
        return out


@dataclass
class CrossEncoderReranker:
    """A sentence-transformers CrossEncoder over ``(query, capmeta)`` (caption, time and place words)."""

    name: str
    _model: object
    batch_size: int = 32

    def score(self, query: str, docs: Sequence[dict], load_image: Callable[[dict], object] | None = None
              ) -> np.ndarray:
        """(n,) float64 probabilities; NaN for a document with no CapMeta/caption text."""
        out = np.full(len(docs), np.nan)
        texts = [(i, d.get("capmeta") or d.get("caption") or "") for i, d in enumerate(docs)]
        texts = [(i, t) for i, t in texts if t.strip()]
        if not texts:
            return out
        raw = np.asarray(self._model.predict([(query, t) for _, t in texts], batch_size=self.batch_size,
                                             show_progress_bar=False, convert_to_numpy=True), dtype=np.float64)
        if raw.ndim == 2:  # multi-label head: last label = relevant; predict already applied softmax
            raw = raw[:, -1]
        if raw.min(initial=0.0) < 0 or raw.max(initial=0.0) > 1:  # logits (identity activation): squash
            raw = 1 / (1 + np.exp(-raw))
        for (i, _), p in zip(texts, raw):
            out[i] = float(p)
        return out


@dataclass
class CombinedReranker:
    """Mean of the probabilities its ``parts`` could compute (NaN where none could)."""

    parts: list

    @property
    def name(self) -> str:
        return "+".join(p.name for p in self.parts)

    def score(self, query: str, docs: Sequence[dict], load_image: Callable[[dict], object]) -> np.ndarray:
        stacked = np.vstack([p.score(query, docs, load_image) for p in self.parts])
        with np.errstate(invalid="ignore"):
            counts = (~np.isnan(stacked)).sum(axis=0)
            total = np.nansum(stacked, axis=0)
        return np.where(counts > 0, total / np.maximum(counts, 1), np.nan)


def load_itm(name: str = DEFAULT_ITM_MODEL, device: str = "cpu") -> ItmReranker:
    """Load a BLIP ITM model from a directory or the Hugging Face cache (never downloads).

    Raises:
        ModelUnavailable: weights absent or unreadable; the message names the model and how to provide it.
    """
    from transformers import BlipForImageTextRetrieval, BlipProcessor

    src = _source(name)
    try:
        processor = BlipProcessor.from_pretrained(src, local_files_only=True)
        model = BlipForImageTextRetrieval.from_pretrained(src, local_files_only=True).to(device).eval()
    except Exception as exc:  # noqa: BLE001 - missing files, bad config, hub errors alike
        raise ModelUnavailable(
            f"rerank model (BLIP ITM) {name!r} is not available ({type(exc).__name__}: {_brief(exc)}). Provide "
            f"it by `hf download {name if src == name else DEFAULT_ITM_MODEL}` with internet access (cached), or "
            f"LIFESEEKER_RERANK_MODEL=/path/to/blip-itm-folder; LIFESEEKER_RERANK=off hides this notice") from exc
    return ItmReranker(name, model, processor, device)


def load_cross_encoder(name: str = DEFAULT_CROSS_MODEL, device: str = "cpu") -> CrossEncoderReranker:
    """Load a sentence-transformers CrossEncoder from a directory or the cache (never downloads).

    Raises:
        ModelUnavailable: weights absent or unreadable; the message names the model and how to provide it.
    """
    from sentence_transformers import CrossEncoder

    src = _source(name)
    try:
        model = CrossEncoder(src, device=device, local_files_only=True)
    except Exception as exc:  # noqa: BLE001
        raise ModelUnavailable(
            f"rerank model (cross-encoder) {name!r} is not available ({type(exc).__name__}: {_brief(exc)}). "
            f"Provide it by `hf download {name if src == name else DEFAULT_CROSS_MODEL}` with internet access (cached), or "
            f"LIFESEEKER_RERANK_CROSS_MODEL=/path/to/cross-encoder-folder") from exc
    return CrossEncoderReranker(name, model)


def parse_kinds(raw: str) -> tuple[str, ...]:
    """``"itm,cross"`` -> ("itm", "cross"); ``"off"``/``"none"``/``""`` -> (). Raises ValueError naming
    LIFESEEKER_RERANK for an unknown kind."""
    kinds = tuple(dict.fromkeys(k.strip().lower() for k in raw.replace("+", ",").split(",") if k.strip()))
    if kinds in ((), ("off",), ("none",), ("0",)):
        return ()
    bad = [k for k in kinds if k not in RERANK_KINDS]
    if bad:
        raise ValueError(f"LIFESEEKER_RERANK: unknown {bad}; use itm, cross, itm,cross or off")
    return kinds


def load_reranker(settings, device: str = "cpu") -> tuple[object | None, list[str]]:
    """The reranker the settings ask for, and notices for the parts whose weights are absent (then skipped).

    Returns (None, notices) when reranking is off or nothing could load."""
    kinds = parse_kinds(getattr(settings, "rerank", "off") or "off")
    parts, notices = [], []
    for kind in kinds:
        try:
            if kind == "itm":
                parts.append(load_itm(getattr(settings, "rerank_model", DEFAULT_ITM_MODEL), device))
            else:
                parts.append(load_cross_encoder(getattr(settings, "rerank_cross_model", DEFAULT_CROSS_MODEL),
                                                  device))
        except ModelUnavailable as exc:
            notices.append(f"Rerank skipped: {exc}")
    if not parts:
        return None, notices
    return (parts[0] if len(parts) == 1 else CombinedReranker(parts)), notices


__all__ = ["ItmReranker", "CrossEncoderReranker", "CombinedReranker", "load_itm", "load_cross_encoder",
           "load_reranker", "parse_kinds", "DEFAULT_ITM_MODEL", "DEFAULT_CROSS_MODEL"]

"""Tags for photos that come without provided ones: CLIP zero-shot over a fixed vocabulary (``vocab.txt``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from .clip import ClipEncoder

PROMPT = "a photo of {}"


def load_vocabulary() -> list[str]:
    """The packaged concept list (comments and blank lines skipped)."""
    text = resources.files("lifeseeker.models").joinpath("vocab.txt").read_text(encoding="utf-8")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


@dataclass
class ZeroShotTagger:
    """Pick up to ``top_k`` concepts whose softmax probability (CLIP logit scale 100) is at least ``min_prob``.

    The concept text embeddings are computed once per tagger.
    """

    clip: ClipEncoder
    vocabulary: list[str] = field(default_factory=load_vocabulary)
    top_k: int = 5
    min_prob: float = 0.05

    def __post_init__(self) -> None:
        self._concepts = self.clip.encode_texts([PROMPT.format(c) for c in self.vocabulary])

    def tags(self, image_vecs: np.ndarray) -> list[list[str]]:
        """Tags per image from (n, d) float32 L2-normalised CLIP image embeddings."""
        if len(image_vecs) == 0:
            return []
        logits = 100.0 * image_vecs @ self._concepts.T
        logits -= logits.max(axis=1, keepdims=True)
        prob = np.exp(logits)
        prob /= prob.sum(axis=1, keepdims=True)
        out = []
        for row in prob:
            best = np.argsort(-row)[: self.top_k]
            out.append([self.vocabulary[i] for i in best if row[i] >= self.min_prob])
        return out

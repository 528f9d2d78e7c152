"""OCR text of an image with RapidOCR (PP-OCR models bundled in ``rapidocr_onnxruntime``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..errors import ModelUnavailable
from ..images import model_input

log = logging.getLogger(__name__)


@dataclass
class OcrReader:
    """Attributes: ``name`` recorded in ``models.ocr``; ``min_score`` drops low-confidence lines (0-1)."""

    name: str
    _engine: object
    min_score: float = 0.5
    max_side: int = 1280  # downscale larger images first: OCR time grows with pixels

    def read(self, image: Image.Image) -> str:
        """Recognised text lines of an RGB image, top to bottom, joined by newlines ('' when none).

        Raises:
            images.UnfitImage: the image is too thin or too small for the detector (``images.model_input``).
        """
        im = model_input(image, self.max_side)  # the detector scales the shorter edge up: bound the aspect first
        bgr = np.asarray(im.convert("RGB"))[:, :, ::-1].copy()
        result, _ = self._engine(bgr)
        if not result:
            return ""
        lines = [(box, text, float(score)) for box, text, score in result if float(score) >= self.min_score]
        lines.sort(key=lambda r: (min(p[1] for p in r[0]), min(p[0] for p in r[0])))
        return "\n".join(text for _, text, _ in lines)


def load_ocr() -> OcrReader:
    """The bundled PP-OCR reader. Raises ModelUnavailable when rapidocr_onnxruntime is not installed."""
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as exc:
        raise ModelUnavailable("OCR needs rapidocr_onnxruntime: pip install rapidocr_onnxruntime") from exc
    from importlib.metadata import version

    return OcrReader(f"rapidocr_onnxruntime-{version('rapidocr_onnxruntime')}", RapidOCR())

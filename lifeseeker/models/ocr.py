"""OCR text of an image with RapidOCR (PP-OCR models bundled in ``rapidocr_onnxruntime``).

Ingest reads each whole image with RapidOCR's defaults (``load_ocr()``). An optional region reader
(``load_ocr(regions=True)``) reads in two steps: a cheap text detection on the image scaled down to ``GATE_SIDE``
px with a lenient box threshold finds where text may be (most photos have none: they end there); then RapidOCR's
full pipeline runs on those regions only, detected at the scale RapidOCR's own rule would use for the whole image
(``ch_ppocr_det/text_detect.py``: ``limit_type: min``, the short side scaled up to at least 736 px). It is not the
default: ``bench/ocr.py`` (16 images of each set) measured it 8.6x faster on samples/photos, where the defaults
find almost no text, but 1.9x on COCO-mini with a token agreement of 0.31: the finding pass misses text that only
the upscaled detection sees (a 10-px museum sign), and detection on a cut-out region splits and reads lines
differently. Issue 20 asks for >= 3x at >= 95 % (BENCHMARKS.md, "OCR").
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from ..errors import ModelUnavailable
from ..images import model_input

log = logging.getLogger(__name__)

GATE_SIDE = 640  # the finding pass detects on the image scaled to at most this side (px)
GATE_BOX_THRESH = 0.3  # its box score threshold (RapidOCR's default 0.5): lenient, the full pass decides
REF_MIN_SIDE = 736  # RapidOCR's detection rule: short side scaled up to at least this (config.yaml, Det)
FULL_IMAGE_SHARE = 0.5  # when the regions cover this share of the image, the full pass reads the whole image


@dataclass
class OcrReader:
    """Attributes: ``name`` recorded in ``models.ocr``; ``min_score`` drops low-confidence lines (0-1);
    ``max_side``: larger images are downscaled first (OCR time grows with pixels); ``gate``: the finding pass's
    detector (None = RapidOCR's pipeline on the whole image, as before)."""

    name: str
    _engine: object
    min_score: float = 0.5
    max_side: int = 1280
    gate: object | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def read(self, image: Image.Image) -> str:
        """Recognised text lines of an RGB image, top to bottom, joined by newlines ('' when none).

        Raises:
            images.UnfitImage: the image is too thin or too small for the detector (``images.model_input``).
        """
        im = model_input(image, self.max_side)  # the detector scales the shorter edge up: bound the aspect first
        bgr = np.asarray(im.convert("RGB"))[:, :, ::-1].copy()
        if self.gate is None:
            result, _ = self._engine(bgr)
            lines = list(result or [])
        else:
            lines = self._read_regions(bgr)
        lines = [(box, text, float(score)) for box, text, score in lines if float(score) >= self.min_score]
        lines.sort(key=lambda r: (min(p[1] for p in r[0]), min(p[0] for p in r[0])))
        return "\n".join(text for _, text, _ in lines)

    def _read_regions(self, bgr: np.ndarray) -> list:
        """The full pipeline on the regions the finding pass found, boxes in image coordinates."""
        h, w = bgr.shape[:2]
        boxes, _ = self.gate.text_det(bgr)
        if boxes is None or len(boxes) == 0:
            return []
        factor = max(1.0, REF_MIN_SIDE / min(h, w))  # the scale RapidOCR's rule detects this image at
        regions = text_regions(np.asarray(boxes, dtype=np.float32), w, h)
        if sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in regions) >= FULL_IMAGE_SHARE * w * h:
            regions = [(0, 0, w, h)]
        out = []
        with self._lock:  # the detector's scale is set per call
            det = self._engine.text_det
            det.get_preprocess = lambda max_wh: _ScaledDetPre(factor, det.mean, det.std)
            for x0, y0, x1, y1 in regions:
                result, _ = self._engine(np.ascontiguousarray(bgr[y0:y1, x0:x1]))
                for box, text, score in result or []:
                    out.append(([[p[0] + x0, p[1] + y0] for p in box], text, score))
        return out


def text_regions(boxes: np.ndarray, w: int, h: int) -> list[tuple[int, int, int, int]]:
    """Rectangles ``(x0, y0, x1, y1)`` (int px, inside ``w`` x ``h``) around detected text boxes ((m, 4, 2)
    float corner points): each box's bounding rectangle widened by a margin of its height (at least 16 px), and
    overlapping rectangles merged until none overlap."""
    rects = []
    for b in boxes:
        x0, y0 = b[:, 0].min(), b[:, 1].min()
        x1, y1 = b[:, 0].max(), b[:, 1].max()
        m = max(16.0, float(y1 - y0))
        rects.append([max(0, int(x0 - m)), max(0, int(y0 - m)), min(w, int(np.ceil(x1 + m))),
                      min(h, int(np.ceil(y1 + m)))])
    merged = True
    while merged:
        merged = False
        out: list[list[int]] = []
        for r in rects:
            for o in out:
                if r[0] < o[2] and o[0] < r[2] and r[1] < o[3] and o[1] < r[3]:
                    o[:] = [min(o[0], r[0]), min(o[1], r[1]), max(o[2], r[2]), max(o[3], r[3])]
                    merged = True
                    break
            else:
                out.append(list(r))
        rects = out
    return [tuple(r) for r in sorted(rects, key=lambda r: (r[1], r[0]))]


class _ScaledDetPre:
    """RapidOCR's detection pre-processing (``ch_ppocr_det/utils.py``, ``DetPreProcess``) at a fixed scale
    ``factor`` (sides rounded to multiples of 32, as the network needs) instead of its side-length rule."""

    def __init__(self, factor: float, mean, std):
        from rapidocr_onnxruntime.ch_ppocr_det.utils import DetPreProcess

        self._pre = DetPreProcess(REF_MIN_SIDE, "min", mean, std)
        self.factor = factor

    def __call__(self, img: np.ndarray) -> np.ndarray | None:
        import cv2

        h, w = img.shape[:2]
        rh = max(32, int(round(h * self.factor / 32) * 32))
        rw = max(32, int(round(w * self.factor / 32) * 32))
        resized = cv2.resize(img, (rw, rh))
        out = self._pre.permute(self._pre.normalize(resized))
        return np.expand_dims(out, axis=0).astype(np.float32)


def load_ocr(regions: bool = False) -> OcrReader:
    """The bundled PP-OCR reader. Raises ModelUnavailable when rapidocr_onnxruntime is not installed.

    Args:
        regions: find text with a cheap detection first and run the full pipeline on its regions only (see the
            module docstring); False = RapidOCR's pipeline on every whole image (its defaults).
    """
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as exc:
        raise ModelUnavailable("OCR needs rapidocr_onnxruntime: pip install rapidocr_onnxruntime") from exc
    from importlib.metadata import version

    name = f"rapidocr_onnxruntime-{version('rapidocr_onnxruntime')}"
    if not regions:
        return OcrReader(name, RapidOCR())
    gate = RapidOCR(det_box_thresh=GATE_BOX_THRESH)
    gdet = gate.text_det
    from rapidocr_onnxruntime.ch_ppocr_det.utils import DetPreProcess

    gdet.get_preprocess = lambda max_wh: DetPreProcess(GATE_SIDE, "max", gdet.mean, gdet.std)
    return OcrReader(name + f"/regions{GATE_SIDE}", RapidOCR(), gate=gate)

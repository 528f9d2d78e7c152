"""The optional OCR region reader (issue 20, item 7; ``models/ocr.py``): regions around detected text, and on an
image with clear text it reads what RapidOCR's whole-image pipeline reads. Speed and agreement on the photo sets
are measured by ``bench/ocr.py`` (never timed here)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from lifeseeker.engine.text import tokens
from lifeseeker.models.ocr import text_regions


def test_regions_widen_each_box_and_merge_overlaps():
    boxes = np.array([
        [[100, 100], [200, 100], [200, 120], [100, 120]],  # 20 px high: margin 20
        [[210, 102], [300, 102], [300, 122], [210, 122]],  # beside it: overlaps once widened
        [[500, 400], [540, 400], [540, 410], [500, 410]],  # 10 px high: margin 16 (the minimum)
    ], dtype=np.float32)
    assert text_regions(boxes, 640, 480) == [(80, 80, 320, 142), (484, 384, 556, 426)]
    edge = np.array([[[0, 0], [30, 0], [30, 10], [0, 10]]], dtype=np.float32)
    assert text_regions(edge, 20, 20) == [(0, 0, 20, 20)]  # clipped to the image


def _sign(words: list[str]) -> Image.Image:
    """A 800 x 600 photo-like image (noisy grey) with ``words`` as large dark lines in two places."""
    rng = np.random.default_rng(0)
    im = Image.fromarray(rng.integers(150, 200, size=(600, 800, 3), dtype=np.uint8))
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=44)  # Pillow's bundled scalable font: no system font needed
    draw.text((60, 80), words[0], fill=(20, 20, 20), font=font)
    draw.text((380, 450), words[1], fill=(20, 20, 20), font=font)
    return im


@pytest.fixture(scope="module")
def readers():
    pytest.importorskip("rapidocr_onnxruntime")
    from lifeseeker.models.ocr import load_ocr

    return load_ocr(regions=False), load_ocr(regions=True)


def test_region_reader_reads_clear_text_as_the_whole_image_pipeline(readers):
    whole, regions = readers
    image = _sign(["EXIT PLATFORM 4", "COFFEE MENU"])
    want = whole.read(image)
    assert set(tokens(want)) >= {"exit", "platform", "coffee", "menu"}
    assert regions.read(image) == want
    assert regions.read(Image.new("RGB", (640, 480), (180, 180, 180))) == ""  # nothing found: no full pass

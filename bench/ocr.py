"""OCR speed and agreement: the ingest's OCR reader against RapidOCR's default settings, image by image.

    python bench/ocr.py                         # samples/photos + tests/fixtures/coco-mini, every variant
    python bench/ocr.py --limit 10 --variants det640-nocls

Each image (decoded as the ingest decodes it, ``images.decode_file``) is read by every variant in turn (the order
rotating from image to image, so load on a shared machine falls on all of them alike) and the times summed per
photo set. ``reference`` is RapidOCR's defaults (detection on the image with its short side scaled to at least 736
px, the angle classifier on: what ingest used before); the others limit detection to a maximum side (recognition
still reads the crops from the full image) and switch the 180-degree classifier off. Agreement with the reference:
token multisets (``engine.text.tokens``, the words a search matches) per image, ``sum |A & B| / sum max(|A|,
|B|)`` over a set (1.0 when both found nothing anywhere). Prints one line per set and variant: speed ratio to the
reference measured in this run and the agreement.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from lifeseeker.engine.text import tokens  # noqa: E402
from lifeseeker.images import decode_file, register_image_plugins  # noqa: E402
from lifeseeker.models.ocr import OcrReader, load_ocr  # noqa: E402

SETS = {"samples/photos": REPO / "samples" / "photos", "coco-mini": REPO / "tests" / "fixtures" / "coco-mini"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".heic", ".heif", ".webp"}


def variants() -> dict[str, OcrReader]:
    """name -> reader: the reference (RapidOCR's pipeline on whole images) and the ingest's region reader."""
    return {"reference": load_ocr(regions=False), "regions": load_ocr(regions=True)}


def agreement(ref: list[str], got: list[str]) -> float:
    """Token agreement of two lists of OCR texts (one per image): sum of multiset intersections over sum of the
    larger multiset sizes (1.0 when both are empty everywhere)."""
    inter = total = 0
    for a, b in zip(ref, got):
        ta, tb = Counter(tokens(a)), Counter(tokens(b))
        inter += sum((ta & tb).values())
        total += max(sum(ta.values()), sum(tb.values()))
    return 1.0 if total == 0 else inter / total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=0, help="at most this many images per set (0 = all)")
    ap.add_argument("--variants", default="", help="comma-separated variants besides the reference")
    ap.add_argument("--show", action="store_true", help="print each image's texts where a variant disagrees")
    args = ap.parse_args(argv)
    register_image_plugins()
    readers = variants()
    if args.variants:
        keep = {"reference", *args.variants.split(",")}
        readers = {k: v for k, v in readers.items() if k in keep}
    names = list(readers)
    for set_name, root in SETS.items():
        files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if args.limit:
            files = files[:args.limit]
        spent = {k: 0.0 for k in names}
        texts: dict[str, list[str]] = {k: [] for k in names}
        read = 0
        for i, path in enumerate(files):
            try:
                image = decode_file(path)
            except Exception as exc:  # noqa: BLE001 - the sample set holds deliberately broken files
                print(f"  skip {path.relative_to(REPO)}: {type(exc).__name__}", file=sys.stderr)
                continue
            read += 1
            for k in names[i % len(names):] + names[:i % len(names)]:
                t0 = time.perf_counter()
                texts[k].append(readers[k].read(image))
                spent[k] += time.perf_counter() - t0
        if args.show:
            for j, ref in enumerate(texts["reference"]):
                others = {k: texts[k][j] for k in names[1:] if Counter(tokens(texts[k][j])) != Counter(tokens(ref))}
                if others:
                    print(f"  image {j}: reference {ref!r}; " + "; ".join(f"{k} {v!r}" for k, v in others.items()))
        ref_tokens = sum(len(tokens(t)) for t in texts["reference"])
        print(f"{set_name}: {read} images, reference {spent['reference']:.1f} s "
              f"({read / max(spent['reference'], 1e-9):.2f} images/s), {ref_tokens} reference tokens")
        for k in names[1:]:
            print(f"  {k:14s} {spent['reference'] / max(spent[k], 1e-9):5.2f}x faster, agreement "
                  f"{agreement(texts['reference'], texts[k]):.3f}, {spent[k]:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""OCR speed and agreement: the optional region reader against RapidOCR's defaults (what ingest runs), per image.

    python bench/ocr.py                         # samples/photos + tests/fixtures/coco-mini, every variant
    python bench/ocr.py --limit 10 --show       # the first 10 images of each set, texts where they differ
    python bench/ocr.py --out BENCHMARKS.md     # also write the "OCR" section of BENCHMARKS.md (between markers)

Each image (decoded as the ingest decodes it, ``images.decode_file``) is read by every variant in turn (the order
rotating from image to image, so load on a shared machine falls on all of them alike) and the times summed per
photo set. ``reference`` is RapidOCR's defaults on the whole image (detection with its short side scaled to at least
736 px, the angle classifier on: what ingest runs, ``load_ocr()``); ``regions`` is ``load_ocr(regions=True)`` (a
cheap detection at 640 px finds text regions, the full pipeline reads only those). Earlier variants measured with
this script (detection limited to a maximum side of 640/736/960 px, classifier off: 3-7x faster) lost the same
small text as ``regions`` does; the classifier alone costs nothing measurable. Agreement with the reference:
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
    ap.add_argument("--out", type=Path, help="write the results as the OCR section of this markdown file")
    args = ap.parse_args(argv)
    register_image_plugins()
    readers = variants()
    if args.variants:
        keep = {"reference", *args.variants.split(",")}
        readers = {k: v for k, v in readers.items() if k in keep}
    names = list(readers)
    rows = []
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
            ratio, agree = spent["reference"] / max(spent[k], 1e-9), agreement(texts["reference"], texts[k])
            print(f"  {k:14s} {ratio:5.2f}x faster, agreement {agree:.3f}, {spent[k]:.1f} s", flush=True)
            rows.append(f"| {set_name} | {read} | {ref_tokens} | {k} | {spent['reference']:.0f} | {spent[k]:.0f} | "
                        f"{ratio:.2f} | {agree:.3f} |")
    if args.out:
        write_section(args.out, rows, " ".join(sys.argv[1:] if argv is None else argv))
    return 0


MARK_START, MARK_END = "<!-- ocr: bench/ocr.py -->", "<!-- /ocr -->"


def write_section(path: Path, rows: list[str], cmd: str) -> None:
    """Put the OCR table between ``MARK_START`` and ``MARK_END`` in ``path`` (appended when absent);
    ``bench/search.py`` keeps that block when it rewrites the file."""
    import os
    from datetime import datetime

    block = "\n".join([
        MARK_START, "## OCR: the optional region reader vs RapidOCR's whole-image defaults (what ingest runs)\n",
        f"`python bench/ocr.py {cmd}` on {datetime.now():%Y-%m-%d %H:%M} (1-min load {os.getloadavg()[0]:.1f}); "
        "variants interleaved image by image; speed = reference seconds / variant seconds in the same run; "
        "agreement = token multiset overlap with the reference (see the script's docstring).\n",
        "| set | images | reference tokens | variant | reference s | variant s | speed ratio | token agreement |",
        "|---|---:|---:|---|---:|---:|---:|---:|", *rows, MARK_END])
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if MARK_START in text and MARK_END in text:
        head, rest = text.split(MARK_START, 1)
        text = head + block + rest.split(MARK_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())

"""Child process of tests/test_hostile_images.py: ingest a folder with the real OCR reader (RapidOCR), the tiny
CLIP and the real MiniLM under an address-space limit (``RLIMIT_AS``) the parent chose, and print the report as
JSON. Run as ``python -m tests.thin_image_child FOLDER STORE TINY_CLIP_DIR LIMIT_BYTES`` (LIMIT_BYTES 0: no
limit, print the peak virtual size instead, so the parent can size the limit)."""

from __future__ import annotations

import json
import os
import resource
import sys


def _vm_peak() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmPeak:"):
                return int(line.split()[1]) * 1024
    return 0


def main(folder: str, store_dir: str, clip_dir: str, limit: int) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from lifeseeker.engine.store import open_store
    from lifeseeker.ingest.enrich.geo import Gazetteer
    from lifeseeker.ingest.pipeline import Ingestor
    from lifeseeker.ingest.sources.folder import scan_folder
    from lifeseeker.models import Models
    from lifeseeker.models.clip import load_clip
    from lifeseeker.models.ocr import load_ocr
    from lifeseeker.models.text import load_text_encoder

    clip = load_clip(f"local-dir:{clip_dir}", "", device="cpu")
    models = Models(text=load_text_encoder("all-MiniLM-L6-v2"), clip=clip, ocr=load_ocr(), clip_dims=clip.dims)
    store = open_store(f"lance://{store_dir}")
    store.ensure_schema(models.dims())
    store.set_collection("c", folder)
    records = list(scan_folder(folder, "c"))
    ingestor = Ingestor(store, models, Gazetteer(), batch_size=4, workers=1, progress=False)
    ingestor.run(records[:1])  # warm every model on the ordinary image first: the limit is then set above that
    base = _vm_peak()
    if limit:
        resource.setrlimit(resource.RLIMIT_AS, (base + limit, base + limit))
    report = ingestor.run(records)
    # keyed by the file's path in the folder (ids are ``collection/path``)
    docs = {d["path"]: d for d in store.get([r.image_id for r in records], with_vectors=True)}
    print(json.dumps({"indexed": report.indexed, "failed": report.failed, "notes": report.notes,
                      "ocr": {k: (d.get("models") or {}).get("ocr") for k, d in docs.items()},
                      "clip": {k: d.get("clip_vec") is not None for k, d in docs.items()},
                      "base_vm_peak": base, "vm_peak": _vm_peak()}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))

"""Bytes per document of an Elasticsearch bulk load, before and after the issue-15 changes, measured in one run.

    python bench/es_bulk_bytes.py            # 500 synthetic documents, 512-d CLIP + 384-d MiniLM-sized vectors

"before": vectors serialised as float64 reprs of the float32 values (``0.10000000149011612``), which the index
also kept in ``_source`` (``exclude_source_vectors: false``); "after": shortest float32 decimals
(``engine/store/elastic/docs.py:shortest_float32``), left out of the stored ``_source`` by the 9.2 default.
Prints the bulk source line size (raw JSON), its gzip size (``http_compress``: what goes over the wire), and
the stored ``_source`` size (what Elasticsearch keeps per document besides doc values / HNSW), per document.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lifeseeker.engine.store.base import VECTOR_FIELDS  # noqa: E402
from lifeseeker.engine.store.elastic.docs import _jsonable, doc_to_source  # noqa: E402
from tests.synth import corpus  # noqa: E402


def before_source(doc: dict) -> dict:
    """The old ``doc_to_source``: vectors as ``float32 -> float64`` lists (full float64 repr in JSON)."""
    out = {}
    for k, v in doc.items():
        if k in VECTOR_FIELDS:
            if v is None:
                continue
            v = np.asarray(v, dtype=np.float32).reshape(-1).astype(float).tolist()
        out[k] = _jsonable(v)
    return out


def main(n: int = 500) -> None:
    docs = corpus(n, seed=3, d_clip=512, d_text=384, missing=0)
    rows = {}
    for name, fn in (("before", before_source), ("after", doc_to_source)):
        lines = [json.dumps(fn(d)).encode() for d in docs]
        raw = sum(len(x) for x in lines)
        gz = len(gzip.compress(b"\n".join(lines) + b"\n"))
        stored = raw if name == "before" else sum(
            len(json.dumps({k: v for k, v in fn(d).items() if k not in VECTOR_FIELDS}).encode()) for d in docs)
        rows[name] = (raw / n, gz / n, stored / n)
    print(f"{n} documents, clip_vec 512 + capmeta_vec 384 dims")
    print(f"{'':8} {'bulk source B/doc':>18} {'gzip B/doc':>12} {'stored _source B/doc':>22}")
    for name, (raw, gz, stored) in rows.items():
        print(f"{name:8} {raw:18.0f} {gz:12.0f} {stored:22.0f}")
    b, a = rows["before"], rows["after"]
    print(f"ratio after/before: source {a[0] / b[0]:.3f}, gzip {a[1] / b[1]:.3f}, stored {a[2] / b[2]:.3f}")


if __name__ == "__main__":
    main()

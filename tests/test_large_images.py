"""Very large photos (issue 16, item 11): a 93.6 MP JPEG panorama, over Pillow's decompression-bomb limit
(``Image.MAX_IMAGE_PIXELS`` = 89.5 MP, warning turned into an error by ``register_image_plugins``), is indexed from a
reduced draft decode; a JPEG header claiming 65000 x 65000 (a true bomb) stays rejected.

Before (main at b3807a8): the panorama failed with ``DecompressionBombWarning`` and was not searchable.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from lifeseeker.engine.store import open_store
from lifeseeker.images import REDUCED_MAX_PIXELS, open_image
from lifeseeker.ingest.pipeline import Ingestor
from lifeseeker.ingest.sources.folder import scan_folder

from .conftest import REPO

W, H = 12000, 7800  # 93.6 MP


@pytest.fixture(scope="module")
def panorama(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("large") / "pano"
    root.mkdir()
    im = Image.new("RGB", (W, H), (90, 140, 200))
    im.paste((240, 200, 40), (0, 0, W // 2, H))  # two halves, so the reduced decode has something to show
    im.save(root / "panorama.jpg", "JPEG", quality=80)
    return root


def _bomb(path: Path, w: int = 65000, h: int = 65000) -> Path:
    """A real small JPEG whose SOF0 header is rewritten to claim ``w`` x ``h`` (raw bytes)."""
    Image.new("RGB", (16, 16), (1, 2, 3)).save(path, "JPEG")
    data = bytearray(path.read_bytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 7] = h.to_bytes(2, "big")
    data[sof + 7:sof + 9] = w.to_bytes(2, "big")
    path.write_bytes(bytes(data))
    return path


def test_panorama_over_the_bomb_limit_is_indexed_from_a_reduced_decode(panorama, tmp_path, tiny_models,
                                                                      gazetteer):
    assert W * H > Image.MAX_IMAGE_PIXELS
    _bomb(panorama / "bomb.jpg")
    store = open_store(f"lance://{tmp_path / 'store'}")
    store.ensure_schema(tiny_models.dims())
    report = Ingestor(store, tiny_models, gazetteer, progress=False).run(scan_folder(panorama))
    assert [d["image_id"] for d in store.get(["pano/panorama.jpg"], with_vectors=True)] == ["pano/panorama.jpg"]
    assert store.get(["pano/panorama.jpg"], with_vectors=True)[0]["clip_vec"] is not None
    (failed,) = report.failed
    assert failed[0].endswith("bomb.jpg") and "DecompressionBomb" in failed[1]


def test_true_bombs_stay_rejected(tmp_path):
    with pytest.raises(Image.DecompressionBombError):
        open_image(_bomb(tmp_path / "b.jpg"))
    assert (65000 // 8) ** 2 > REDUCED_MAX_PIXELS


def test_the_reduced_decode_stays_within_its_memory_bound(panorama):
    """Peak RSS growth of decoding the panorama in a fresh process (``ru_maxrss``), against the 281 MB its full
    RGB pixels would take."""
    code = ("import json, resource; from lifeseeker.images import register_image_plugins, open_image, "
            "decode_opened; register_image_plugins(); before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
            f"im = open_image({str(panorama / 'panorama.jpg')!r}); out = decode_opened(im); "
            "print(json.dumps([out.size, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024]))")
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    size, grown_mb = json.loads(res.stdout.strip().splitlines()[-1])
    full_mb = W * H * 3 / 2**20
    assert max(size) == 1280 and size[0] > size[1]
    assert grown_mb < full_mb / 4, (grown_mb, full_mb)

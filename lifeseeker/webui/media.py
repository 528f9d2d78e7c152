"""Files of ingested images, served only by image id through the store, and their cached thumbnails."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from PIL import Image

from ..errors import NotFound

BROWSER_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp"})
THUMB_SIDE = 320
DISPLAY_SIDE = 1280


def resolve_file(store, image_id: str) -> Path:
    """Absolute path of ``image_id``'s file, guaranteed to lie inside its collection's recorded root.

    Raises:
        NotFound: unknown id, unknown collection, a path escaping the root (``..``, absolute, symlink out), or a
            missing file.
    """
    docs = store.get([image_id])
    if not docs:
        raise NotFound(f"no image {image_id!r}")
    doc = docs[0]
    root = store.collections().get(doc.get("collection") or "")
    if not root or not doc.get("path"):
        raise NotFound(f"image {image_id!r} has no served collection")
    base = Path(root).resolve()
    target = (base / doc["path"]).resolve()
    if not target.is_relative_to(base) or not target.is_file():
        raise NotFound(f"image {image_id!r}: file not available")
    return target


def rendition(store, image_id: str, cache_dir: Path, side: int) -> Path:
    """A cached JPEG of at most ``side`` px (longer edge) for ``image_id``, made once (EXIF-oriented, RGB).

    The cache key is the file's absolute path, size and mtime, so an edited file gets a new rendition.
    Raises NotFound as ``resolve_file`` does, and when the image cannot be decoded.
    """
    from ..ingest.pipeline import decode, register_image_plugins
    from ..ingest.sources.base import ImageRecord

    src = resolve_file(store, image_id)
    st = src.stat()
    key = hashlib.sha256(f"{src}|{st.st_size}|{st.st_mtime_ns}|{side}".encode()).hexdigest()
    out = cache_dir / key[:2] / f"{key}.jpg"
    if out.is_file():
        return out
    register_image_plugins()
    try:
        im = decode(ImageRecord(image_id, "", "", src, read_exif=False)).image
    except Exception as exc:  # noqa: BLE001
        raise NotFound(f"image {image_id!r} cannot be decoded: {exc}") from exc
    im.thumbnail((side, side), Image.Resampling.LANCZOS)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    im.save(tmp, "JPEG", quality=82)
    os.replace(tmp, out)
    return out

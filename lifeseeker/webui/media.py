"""Cached renditions (thumbnails, display-size JPEGs) of ingested images, made from the file that
``images.resolve_file`` finds for an image id inside its collection root."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from PIL import Image

from ..errors import NotFound
from ..images import decode_file, resolve_file

BROWSER_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp"})
THUMB_SIDE = 320
DISPLAY_SIDE = 1280


def rendition(store, image_id: str, cache_dir: Path, side: int) -> Path:
    """A cached JPEG of at most ``side`` px (longer edge) for ``image_id``, made once (EXIF-oriented, RGB).

    The cache key is the file's absolute path, size and mtime, so an edited file gets a new rendition.
    Raises NotFound as ``images.resolve_file`` does, and when the image cannot be decoded.
    """
    src = resolve_file(store, image_id)
    st = src.stat()
    key = hashlib.sha256(f"{src}|{st.st_size}|{st.st_mtime_ns}|{side}".encode()).hexdigest()
    out = cache_dir / key[:2] / f"{key}.jpg"
    if out.is_file():
        return out
    try:
        im = decode_file(src)
    except Exception as exc:  # noqa: BLE001
        raise NotFound(f"image {image_id!r} cannot be decoded: {exc}") from exc
    im.thumbnail((side, side), Image.Resampling.LANCZOS)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    im.save(tmp, "JPEG", quality=82)
    os.replace(tmp, out)
    return out

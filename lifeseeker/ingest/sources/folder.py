"""Any photo folder: every image file below a root, metadata from EXIF."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Iterator

from .base import ImageRecord

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".heic", ".heif", ".webp"})


def scan_folder(root: str | Path, collection: str | None = None,
                errors: list[tuple[str, str]] | None = None) -> Iterator[ImageRecord]:
    """Yield an ImageRecord per image below ``root`` in sorted path order (deterministic resume and sharding).

    Symbolic links to directories are not followed (no loops); hidden entries (``.name``) are skipped. A directory
    that cannot be listed is appended to ``errors`` as ``(path, reason)`` and the walk goes on.

    Raises:
        NotADirectoryError: ``root`` is not a directory.
    """
    base = Path(root).expanduser().resolve()
    if not base.is_dir():
        raise NotADirectoryError(f"{root}: not a directory")
    name = collection or base.name

    def onerror(exc: OSError) -> None:
        if errors is not None:
            errors.append((str(exc.filename), f"cannot list directory: {exc.strerror}"))

    for dirpath, dirnames, filenames in os.walk(base, onerror=onerror, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fn in sorted(filenames):
            if fn.startswith(".") or Path(fn).suffix.lower() not in IMAGE_SUFFIXES:
                continue
            abs_path = Path(dirpath) / fn
            rel = abs_path.relative_to(base).as_posix()
            yield ImageRecord(image_id=rel, collection=name, path=rel, abs_path=abs_path)

"""Any photo folder: every image file below a root, metadata from EXIF."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Iterator

from ...engine.store.base import normal_id
from .base import ImageRecord

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".heic", ".heif", ".webp"})


def scan_folder(root: str | Path, collection: str | None = None,
                errors: list[tuple[str, str]] | None = None) -> Iterator[ImageRecord]:
    """Yield an ImageRecord per image below ``root`` in sorted path order (deterministic resume and sharding);
    ids are ``folder_id(collection, relative path)``.

    Symbolic links to directories are not followed (no loops); hidden entries (``.name``) are skipped. A symbolic
    link to a file is followed only when its target lies inside ``root`` (the image routes serve only files inside
    the root, ``images.file_in_root``, so an outside file's text and time must not become searchable either). A
    directory that cannot be listed, and a file that cannot be ingested (a link leaving the root, a FIFO or device
    named like an image, a symlink loop or dangling link, a name that is not valid UTF-8), is appended to ``errors``
    as ``(path, reason)`` and the walk goes on.

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
            problem = _unusable(abs_path, rel, base)
            if problem is not None:
                if errors is not None:
                    errors.append((printable_path(abs_path), problem))
                continue
            yield ImageRecord(image_id=folder_id(name, rel), collection=name, path=rel, abs_path=abs_path,
                              legacy_id=rel)


def folder_id(collection: str, rel: str) -> str:
    """The document id of the file at ``rel`` (``/``-separated, relative to the root) in ``collection``:
    ``collection/rel`` in Unicode NFC, so the same relative path in two folders gives two documents and an NFD name
    (macOS) and its NFC form give one. Older versions used ``rel`` alone (``ImageRecord.legacy_id``)."""
    return normal_id(f"{collection}/{rel}")


def printable_path(path: Path) -> str:
    """``path`` as text that can always be printed and stored: bytes that are not UTF-8 are shown as ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _unusable(path: Path, rel: str, base: Path) -> str | None:
    """Why the file at ``path`` (below the resolved ``base``) cannot be ingested, or None. Checked before any open:
    a symlink out of ``base`` is not followed, a FIFO or device named like an image would block or never end, and a
    name that is not UTF-8 cannot be an image id."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return "file name is not valid UTF-8 (rename the file)"
    try:
        st = os.stat(path)  # follows symlinks: a loop or a dangling link fails here
    except OSError as exc:
        return f"cannot read: {exc.strerror}"
    if path.is_symlink() and not path.resolve().is_relative_to(base):
        return "symbolic link to a file outside the folder (not followed)"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file (FIFO, socket or device)"
    return None

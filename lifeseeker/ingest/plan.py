"""Planning an ingest run against what the store holds: resume, changed inputs, renames, copies, vanished files.

For each collection in the run the store's ``inventory`` (id, path, content hash, input digest, models) is read
once, then per record:

* **digest**: ``input_digest = "<size>-<mtime_ns>/<meta>"``: the file's size and mtime, and a SHA-1 of every
  provided value (time, offset, GPS, tags, caption, OCR, semantic name, time source, copies). Equal digest and
  equal models -> skipped. Another meta part -> the document is rebuilt from the stored one (vectors and model
  outputs kept; CapMeta re-encoded only if its text changed). Another file part -> the file is hashed again; other
  bytes -> recomputed from scratch.
* **content hash**: SHA-256 of the file, taken from the store while the file part of the digest is unchanged,
  else read (``workers`` threads). Byte-identical files of one collection are **one document**: the first path (id
  order) is the document, the others are listed in its ``copies``.
* **renames** (``reconcile``): a record whose id is not stored but whose content hash belongs to a stored document
  of the collection that is no longer on disk *inherits* that document (captions, tags, vectors, models): it is
  rewritten under the new id and the old id deleted after the write. Documents an older version stored under
  another id (folder source: the relative path without the collection) are matched the same way, by path.
* **vanished** (``reconcile`` and not ``keep_missing``): stored documents of the collection that match no file
  are deleted after the run's writes (reported with their paths).

A crash between a write and a delete leaves both documents; the next run deletes the stale one (it is no longer
on disk), so the final set is the same.
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Sequence

from ..engine.store.base import Doc, Store
from .report import IngestReport
from .sources.base import ImageRecord

ROLES = ("clip", "caption", "ocr", "text")
HASH_CHUNK = 1 << 20
FETCH_CHUNK = 2_000  # documents per ``get`` with vectors


@dataclass
class Plan:
    """What to do for one record: ``old`` is the stored document when only some fields are recomputed (or when
    the record inherits a renamed file's document); ``redo`` the model roles whose outputs are (re)computed."""

    record: ImageRecord
    old: Doc | None = None
    redo: frozenset[str] = frozenset(ROLES)

    def needs_pixels(self, models) -> bool:
        """Whether any model stage that runs for this plan needs the decoded pixels."""
        r = self.redo
        captioner = getattr(models, "captioner", None)
        return (("clip" in r and models.clip is not None) or ("caption" in r and captioner is not None)
                or ("ocr" in r and models.ocr is not None and self.record.ocr_text is None))


@dataclass
class RunPlan:
    """The whole run's plan: ``plans`` to compute and write; after the writes ``renamed`` (old id -> new id) and
    ``vanished`` (id -> path) are deleted."""

    plans: list[Plan] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)
    vanished: dict[str, str] = field(default_factory=dict)

    @property
    def deletes(self) -> list[str]:
        """Ids to delete once every plan is written."""
        return list(self.renamed) + list(self.vanished)


def file_digest(st: os.stat_result) -> str:
    """``"<size>-<mtime_ns>"`` of a stat result."""
    return f"{st.st_size}-{st.st_mtime_ns}"


def meta_digest(rec: ImageRecord) -> str:
    """SHA-1 (16 hex digits) of every value the record provides besides the file's bytes (sorted JSON)."""
    values = {"local_time": rec.local_time.isoformat() if rec.local_time else None, "utc_offset": rec.utc_offset,
              "lat": rec.lat, "lon": rec.lon, "tags": rec.tags, "caption": rec.caption, "ocr": rec.ocr_text,
              "semantic_name": rec.semantic_name, "read_exif": rec.read_exif, "time_source": rec.time_source,
              "copies": sorted(rec.copies), "notes": rec.notes}
    return hashlib.sha1(json.dumps(values, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:16]


def sha256_file(path) -> str:
    """SHA-256 hex digest of the file at ``path``. Raises OSError when it cannot be read."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _file_part(digest: str | None) -> str | None:
    return digest.split("/", 1)[0] if digest else None


class Planner:
    """Plans one run (module docstring). ``expected`` maps a record to the model name per role this run uses
    (None = role off, keeps what is stored)."""

    def __init__(self, store: Store, expected: Callable[[ImageRecord], dict[str, str | None]], workers: int = 4):
        self.store, self.expected, self.workers = store, expected, max(1, workers)

    def _redo(self, rec: ImageRecord, stored_models: dict | None) -> frozenset[str]:
        stored_models = stored_models or {}
        return frozenset(r for r, name in self.expected(rec).items()
                         if name is not None and stored_models.get(r) != name)

    def plan(self, records: Sequence[ImageRecord], report: IngestReport, reconcile: bool = False,
             keep_missing: bool = False) -> RunPlan:
        """The run's plan; reads files (stat, hashes) and the store, writes nothing. Unreadable files go to
        ``report.failed``; skipped / renamed / copies / vanished are counted in ``report``."""
        inv: dict[str, Doc] = {}
        for collection in dict.fromkeys(r.collection for r in records):
            inv.update(self.store.inventory(collection))
        by_path = {(d.get("collection"), d.get("path")): i for i, d in inv.items()}
        recs, stats = self._stat(records, report)
        hashes = self._hashes(recs, stats, inv, by_path, report)
        primaries = self._group(recs, hashes, stats, report)
        out = RunPlan()
        keep = {r.image_id for r in primaries}
        dying = {i: d for i, d in inv.items() if i not in keep}
        # a stored document without a hash (older version) takes the hash of the file now at its path
        path_hash = {(r.collection, r.path): hashes[id(r)] for r in recs if id(r) in hashes}
        donors: dict[tuple[str, str], list[str]] = {}
        for i, d in sorted(dying.items()):
            h = d.get("content_hash") or path_hash.get((d.get("collection"), d.get("path")))
            if h:
                donors.setdefault((d.get("collection"), h), []).append(i)
        fetch: list[tuple[ImageRecord, str, bool]] = []  # (record, stored id to start from, renamed)
        for rec in primaries:
            s = inv.get(rec.image_id)
            if s is not None and s.get("content_hash") and s["content_hash"] != rec.content_hash:
                out.plans.append(Plan(rec))  # other bytes under the same name: everything again
                report.changed_files += 1
            elif s is not None:
                if s.get("input_digest") == rec.input_digest and not self._redo(rec, s.get("models")):
                    report.skipped += 1
                else:
                    if s.get("input_digest") != rec.input_digest:
                        report.inputs_changed += 1
                    fetch.append((rec, rec.image_id, False))
            elif reconcile and donors.get((rec.collection, rec.content_hash)):
                donor = donors[(rec.collection, rec.content_hash)].pop(0)
                out.renamed[donor] = rec.image_id
                fetch.append((rec, donor, True))
            else:
                out.plans.append(Plan(rec))
        self._fetch(fetch, out, report)
        if reconcile:
            for i, d in sorted(dying.items()):
                if i not in out.renamed:
                    if keep_missing:
                        report.kept_missing.append(f"{d.get('collection')}/{d.get('path')}")
                    else:
                        out.vanished[i] = f"{d.get('collection')}/{d.get('path')}"
        report.renamed = list(out.renamed.items())
        report.vanished = list(out.vanished.values())
        return out

    def _fetch(self, fetch: list[tuple[ImageRecord, str, bool]], out: RunPlan, report: IngestReport) -> None:
        """Plans that start from a stored document (read with vectors, in chunks)."""
        for start in range(0, len(fetch), FETCH_CHUNK):
            chunk = fetch[start:start + FETCH_CHUNK]
            old = {d["image_id"]: d for d in self.store.get([i for _, i, _ in chunk], with_vectors=True)}
            for rec, stored_id, renamed in chunk:
                doc = old.get(stored_id)
                if doc is None:
                    out.plans.append(Plan(rec))
                    continue
                out.plans.append(Plan(rec, doc, self._redo(rec, doc.get("models"))))

    @staticmethod
    def _stat(records: Sequence[ImageRecord], report: IngestReport) -> tuple[list[ImageRecord], dict[int, str]]:
        recs, stats = [], {}
        for rec in records:
            try:
                stats[id(rec)] = file_digest(os.stat(rec.abs_path))
                recs.append(rec)
            except OSError as exc:
                report.failed.append((str(rec.abs_path), f"cannot read: {exc.strerror}"))
        return recs, stats

    def _hashes(self, recs: list[ImageRecord], stats: dict[int, str], inv: dict[str, Doc],
                by_path: dict[tuple, str], report: IngestReport) -> dict[int, str]:
        """Content hash per record: the stored one while size and mtime are unchanged, else read from the file."""
        hashes: dict[int, str] = {}
        todo = []
        for rec in recs:
            s = inv.get(rec.image_id)
            if s is None:
                old_id = by_path.get((rec.collection, rec.path))
                s = inv.get(old_id) if old_id is not None else None
            if s is not None and s.get("content_hash") and _file_part(s.get("input_digest")) == stats[id(rec)]:
                hashes[id(rec)] = s["content_hash"]
            else:
                todo.append(rec)
        if todo:
            with ThreadPoolExecutor(self.workers, thread_name_prefix="hash") as pool:
                for rec, res in zip(todo, pool.map(_try_hash, [r.abs_path for r in todo])):
                    if isinstance(res, OSError):
                        report.failed.append((str(rec.abs_path), f"cannot read: {res.strerror or res}"))
                    else:
                        hashes[id(rec)] = res
        return hashes

    @staticmethod
    def _group(recs: list[ImageRecord], hashes: dict[int, str], stats: dict[int, str],
               report: IngestReport) -> list[ImageRecord]:
        """One record per (collection, content hash): the first by id; the others' paths become its ``copies``.
        Two different files whose ids coincide after NFC normalisation: the later gets ``#<hash prefix>``."""
        groups: dict[tuple[str, str], list[ImageRecord]] = {}
        for rec in recs:
            if id(rec) in hashes:
                groups.setdefault((rec.collection, hashes[id(rec)]), []).append(rec)
        primaries, taken = [], set()
        for (_, h), group in groups.items():
            group.sort(key=lambda r: (r.image_id, r.path))
            first = group[0]
            first.copies = [r.path for r in group[1:]]
            report.copies += len(first.copies)
            if first.image_id in taken:
                first.image_id = f"{first.image_id}#{h[:12]}"
                report.notes.append((str(first.abs_path), "another file has the same name after Unicode "
                                                          f"normalisation: stored as {first.image_id}"))
            taken.add(first.image_id)
            first.content_hash = h
            first.input_digest = f"{stats[id(first)]}/{meta_digest(first)}"
            primaries.append(first)
        primaries.sort(key=lambda r: r.path)
        return primaries


def _try_hash(path) -> str | OSError:
    try:
        return sha256_file(path)
    except OSError as exc:
        return exc


__all__ = ["Plan", "RunPlan", "Planner", "ROLES", "file_digest", "meta_digest", "sha256_file"]

"""The ingest pipeline: records in, documents written through the Store, in batches, resumably.

Stages, per batch of images::

    plan -> decode -> CLIP (+ zero-shot tags) -> caption -> OCR -> CapMeta text -> TaT -> write

* **plan** (once, before any write): which records are new, which are stored with exactly the models in use
  (skipped: a re-run recomputes nothing), and which are stored with another model for some role. For those only
  the fields that depend on the changed model are recomputed (``DEPENDS``); the rest is taken from the stored
  document. A model that is *off* in this run (no captioner, ``--no-ocr``, no CLIP weights) never invalidates what
  an earlier run computed with it. Changed inputs (a CSV row, the file's size/mtime), renames, byte-identical
  copies and vanished files are planned by ``plan.py``; the deletes it asks for run after every write.
* **decode** runs on ``workers`` threads, ``prefetch`` batches ahead of the model stages, so JPEG decoding and file
  reads overlap model compute; **write** runs on its own thread so the store's I/O overlaps the next batch's
  compute. Built documents are grouped (``writer.py``): one store write per ``write_batch`` documents (500), or
  after ``write_flush_s`` seconds (30) since the first unwritten one, and at the end, before the deletes. The
  model stages run on the device the models were loaded on (``models.load_models``: CUDA when present).
* A broken image fails alone (``report.failed``: path and reason); a batch whose CLIP or captioner call raises is
  retried image by image so one bad image cannot fail its neighbours. A crash (even SIGKILL) loses at most the
  unwritten group and the write in flight: written groups are committed (upserts by ``image_id``, never
  duplicated) and a re-run plans only what is missing.
* ``shard=(i, n)``: only images with ``shard_of(image_id, n) == i`` (a stable hash), so ``n`` workers on ``n``
  GPUs or machines split one collection without overlap.

Per-stage time and images are kept in ``IngestReport.stages``; ``IngestReport.summary`` prints them as images/s
(``report.py``). The pixels are decoded by ``lifeseeker/images.py``; each document is assembled from its record,
EXIF and model outputs by ``document.py``. This module plans, batches, overlaps the stages and writes.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
from PIL import Image

from ..engine.store.base import Doc, Store
from ..images import UnfitImage, decode_opened, model_input, open_image, register_image_plugins
from ..models import Models
from .document import PROVIDED, build_document
from .enrich.geo import Gazetteer
from .exif import ExifInfo, read_exif
from .report import STAGES, Bars, IngestReport, StageStats
from .plan import ROLES, Plan, Planner
from .sources.base import ImageRecord
from .writer import WRITE_BATCH, WRITE_FLUSH_S, WriteGroups

log = logging.getLogger(__name__)

# model role -> the document fields computed from it (capmeta and capmeta_vec follow their inputs: the CapMeta
# string is rebuilt and re-encoded only when it changed or the text model changed).
DEPENDS: dict[str, tuple[str, ...]] = {
    "clip": ("clip_vec", "tags (when computed)", "capmeta", "capmeta_vec"),
    "caption": ("caption", "capmeta", "capmeta_vec"),
    "ocr": ("ocr_text", "capmeta", "capmeta_vec"),
    "text": ("capmeta_vec",),
}


def shard_of(image_id: str, n: int) -> int:
    """Shard index in ``[0, n)`` of ``image_id``: the first 8 bytes of its SHA-1 modulo ``n`` (the same in every
    process and on every machine, unlike ``hash()``)."""
    return int.from_bytes(hashlib.sha1(image_id.encode("utf-8")).digest()[:8], "big") % n


PLAN_CHUNK = 2_000  # records per store lookup in `pending`


def parse_shard(text: str) -> tuple[int, int]:
    """``"1/3"`` -> ``(1, 3)``. Raises ValueError unless it is ``I/N`` with ``0 <= I < N``."""
    try:
        i, n = (int(p) for p in text.split("/"))
    except ValueError:
        raise ValueError(f"shard {text!r}: expected I/N, e.g. 0/4") from None
    if not (n >= 1 and 0 <= i < n):
        raise ValueError(f"shard {text!r}: need 0 <= I < N")
    return i, n


def expected_names(model_names: dict[str, str | None], record: ImageRecord) -> dict[str, str | None]:
    """The ``models`` a document of ``record`` gets from a run with ``model_names`` (``Models.names()``); None =
    role off (keeps what is stored); OCR text that came with the record counts as ``PROVIDED``."""
    names = {r: model_names.get(r) for r in ROLES}
    if record.ocr_text is not None:
        names["ocr"] = PROVIDED
    return names


def _redo(expected: dict[str, str | None], stored: dict[str, Any]) -> frozenset[str]:
    return frozenset(r for r, name in expected.items() if name is not None and stored.get(r) != name)


def pending(store: Store, records: Sequence[ImageRecord], model_names: dict[str, str | None],
            shard: tuple[int, int] | None = None, keep_missing: bool = False) -> int:
    """0 when a run with ``model_names`` over ``records`` (those of ``shard``) would compute, write and delete
    nothing, else a positive number (a lower bound of the work). Needs no model loaded, so a re-run over an indexed
    folder can stop before loading any (``lifeseeker ingest``). New ids and documents stored with another model
    for some role answer at once (cheap: ``store.existing``); when every id is stored with these models, the
    run's own planner (``plan.Planner``: changed inputs, renames, copies, vanished files; it stats the files and
    reuses stored content hashes) decides. Names a run would not get (weights absent: role off) only make the
    count larger, never smaller, so 0 means "nothing to do" for any run."""
    todo = [r for r in records if shard is None or shard_of(r.image_id, shard[1]) == shard[0]]
    expected: Callable[[ImageRecord], dict[str, str | None]] = lambda rec: expected_names(model_names, rec)
    for chunk in _batches(todo, PLAN_CHUNK):
        have = store.existing([r.image_id for r in chunk])
        if any(rec.image_id not in have or _redo(expected(rec), have[rec.image_id] or {}) for rec in chunk):
            return 1
    plan = Planner(store, expected).plan(todo, IngestReport(), shard is None, keep_missing)
    return len(plan.plans) + len(plan.deletes)


@dataclass
class _Decoded:
    """One decoded record: its RGB pixels (None when only the header and EXIF were read, or when the image is
    unfit for the models: ``unfit`` says why) and its EXIF."""

    record: ImageRecord
    image: Image.Image | None
    exif: ExifInfo
    unfit: str | None = None
    phash: str | None = None


def decode(record: ImageRecord, pixels: bool = True) -> _Decoded:
    """Open one image, read its EXIF and decode its pixels (``images.decode_opened``: EXIF-oriented, RGB, longer
    edge at most ``images.DECODE_MAX_SIDE`` px), bounded for the models (``images.model_input``; an unfit image
    gets ``image`` None and the reason in ``unfit``: the document keeps its time, place and metadata).

    Args:
        pixels: False -> read only the header and EXIF (``image`` is None): cheap, for documents whose image
            models are all up to date.
    Raises:
        OSError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning: unreadable image.
    """
    with open_image(record.abs_path) as im:
        exif = read_exif(im) if record.read_exif else ExifInfo()
        if not pixels:
            return _Decoded(record, None, exif)
        out = decode_opened(im)
    phash = perceptual_hash(out)  # of the whole decoded image, also when the models may not be given it
    try:
        out = model_input(out)  # bounded for OCR / CLIP / captioner: a thin image is not given to them
    except UnfitImage as exc:
        return _Decoded(record, None, exif, unfit=str(exc), phash=phash)
    return _Decoded(record, out, exif, phash=phash)


def perceptual_hash(image: Image.Image) -> str:
    """64-bit DCT perceptual hash (``imagehash.phash``, 8x8) of decoded pixels as 16 hex digits: near-duplicates
    (re-encodes, resizes) differ in few bits, so they can be collapsed without CLIP vectors (``engine/dedup.py``)."""
    import imagehash

    return str(imagehash.phash(image))


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class Ingestor:
    """Turns ImageRecords into documents and writes them. Build once per run; ``run`` may be called per source.

    Args:
        store: where documents go (``ensure_schema`` is called with the models' widths).
        models: the encoders (``models.captioner`` None -> no captions computed).
        gazetteer: offline reverse geocoder.
        batch_size: images per model call.
        write_batch: documents per store write (``writer.py``: built documents are grouped; default 500, the
            Elasticsearch bulk chunk).
        write_flush_s: seconds after which a partial group is written anyway (default 30).
        clock: seconds, monotonic (injectable for tests of the time rule).
        workers: decoding threads.
        progress: tqdm bars (stderr).
        shard: ``(i, n)`` -> only this shard's images (``shard_of``); None -> all.
        prefetch: batches decoded ahead of the model stages.
    """

    def __init__(self, store: Store, models: Models, gazetteer: Gazetteer, batch_size: int = 16,
                 workers: int = 4, progress: bool = True, shard: tuple[int, int] | None = None,
                 prefetch: int = 2, write_batch: int = WRITE_BATCH, write_flush_s: float = WRITE_FLUSH_S,
                 clock: Callable[[], float] = time.monotonic):
        self.store, self.models, self.gazetteer = store, models, gazetteer
        self.write_batch, self.write_flush_s, self.clock = max(1, write_batch), write_flush_s, clock
        self.batch_size, self.workers, self.progress = max(1, batch_size), max(1, workers), progress
        self.shard, self.prefetch = shard, max(1, prefetch)
        self.model_names = dict(models.names())
        store.ensure_schema(models.dims())

    # -- planning -------------------------------------------------------------------------------------------------

    def expected_names(self, record: ImageRecord) -> dict[str, str | None]:
        """The ``models`` a document of ``record`` gets from this run; None = role off (keeps what is stored)."""
        return expected_names(self.model_names, record)

    def plan(self, records: Sequence[ImageRecord], report: IngestReport, reconcile: bool = False,
             keep_missing: bool = False):
        """The run's ``plan.RunPlan`` (resume, changed inputs, renames, copies, vanished: ``plan.py``); counts
        ``skipped``. Reads files and the store, writes nothing."""
        return Planner(self.store, self.expected_names, self.workers).plan(records, report, reconcile,
                                                                           keep_missing)

    # -- running --------------------------------------------------------------------------------------------------

    def run(self, records: Iterable[ImageRecord], total: int | None = None, reconcile: bool = False,
            keep_missing: bool = False) -> IngestReport:
        """Ingest ``records``; returns the report. Never raises for one bad image (it lands in ``failed``).

        Args:
            reconcile: ``records`` are every file of their collections (a re-scan): renamed files keep their
                documents under the new id, and documents whose file is gone are deleted after the writes
                (``plan.py``). Ignored for a sharded run (a shard sees only its part of the writes).
            keep_missing: with ``reconcile``, keep the documents of vanished files (a disk not mounted); they are
                listed in ``report.kept_missing``.

        Raises:
            StoreError: the store refused a write (the groups written before it stay written).
        """
        register_image_plugins()
        t_start = time.perf_counter()
        report = IngestReport(device=getattr(self.models, "device", "") or "")
        todo: list[ImageRecord] = []
        for rec in records:
            report.seen += 1
            if self.shard is not None and shard_of(rec.image_id, self.shard[1]) != self.shard[0]:
                report.out_of_shard += 1
            else:
                todo.append(rec)
        run_plan = self.plan(todo, report, reconcile and self.shard is None, keep_missing)
        plans = run_plan.plans
        bars = Bars(self.progress, len(todo), self._active_stages())
        bars.main.update(report.skipped)
        try:
            with ThreadPoolExecutor(self.workers, thread_name_prefix="decode") as pool, \
                    ThreadPoolExecutor(1, thread_name_prefix="write") as writer:
                queue: deque[tuple[list[Plan], list[Future]]] = deque()
                batches = _batches(plans, self.batch_size)

                def submit_next() -> None:
                    batch = next(batches, None)
                    if batch is not None:
                        queue.append((batch, [pool.submit(self._timed_decode, p) for p in batch]))

                for _ in range(self.prefetch):
                    submit_next()
                pending_write: Future | None = None
                groups = WriteGroups(self.write_batch, self.write_flush_s, self.clock)

                def flush(final: bool) -> Future | None:
                    write = pending_write
                    while groups.due() or (final and len(groups)):
                        if write is not None:
                            write.result()  # a store error stops the run here
                        docs, n_done = groups.take()
                        write = writer.submit(self._write, docs, n_done, report, bars)
                    return write

                while queue:
                    batch, futures = queue.popleft()
                    submit_next()
                    results = [f.result() for f in futures]
                    ok = self._collect(batch, results, report, bars)
                    docs = self.documents(ok, report, bars) if ok else []
                    if docs:
                        groups.add(docs, len(batch))
                        pending_write = flush(final=False)
                    else:
                        bars.main.update(len(batch))
                    if pending_write is not None and pending_write.done():
                        pending_write.result()  # surface a store error at once
                pending_write = flush(final=True)  # the rest, before any delete
                if pending_write is not None:
                    pending_write.result()
        finally:
            bars.close()
        if run_plan.deletes:
            report.deleted = self.store.delete(run_plan.deletes)
        if hasattr(self.store, "optimize") and (report.indexed or report.deleted):
            self.store.optimize()
        report.wall_s = time.perf_counter() - t_start
        log.info("ingest: %s", report.summary())
        return report

    def _active_stages(self) -> list[str]:
        m = self.models
        on = {"decode": True, "clip": m.clip is not None, "caption": getattr(m, "captioner", None) is not None,
              "ocr": m.ocr is not None, "capmeta": True, "tat": True, "write": True}
        return [s for s in STAGES if on[s]]

    def _timed_decode(self, plan: Plan) -> tuple[_Decoded | str, float]:
        t0 = time.perf_counter()
        try:
            res: _Decoded | str = decode(plan.record, pixels=plan.needs_pixels(self.models))
        except Exception as exc:  # noqa: BLE001 - any decoder failure is this image's alone
            res = f"{type(exc).__name__}: {exc}"
        return res, time.perf_counter() - t0

    def _collect(self, batch: list[Plan], results: list[tuple[_Decoded | str, float]], report: IngestReport,
                 bars: Bars) -> list[tuple[Plan, _Decoded]]:
        ok = []
        st = report.stages["decode"]
        for plan, (res, seconds) in zip(batch, results):
            st.seconds += seconds
            if isinstance(res, _Decoded):
                st.images += 1
                ok.append((plan, res))
                if res.unfit:
                    report.notes.append((str(plan.record.abs_path), res.unfit))
            else:
                report.failed.append((str(plan.record.abs_path), res))
        bars.stage("decode", len(batch), st)
        return ok

    def _write(self, docs: list[Doc], n_batch: int, report: IngestReport, bars: Bars) -> None:
        t0 = time.perf_counter()
        self.store.upsert(docs)
        st = report.stages["write"]
        st.seconds += time.perf_counter() - t0
        st.images += len(docs)
        report.indexed += len(docs)
        bars.stage("write", len(docs), st)
        bars.main.update(n_batch)

    def _timed(self, stage: str, n: int, report: IngestReport, bars: Bars, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        out = fn()
        st = report.stages[stage]
        st.seconds += time.perf_counter() - t0
        st.images += n
        bars.stage(stage, n, st)
        return out

    @staticmethod
    def _batch_or_each(fn: Callable[[list[Any]], Sequence[Any]], items: list[Any], paths: list[str],
                       what: str, report: IngestReport) -> list[Any]:
        """``fn(items)``; if the batch call raises, call it per item so one bad input fails alone (result None,
        reason in ``report.notes``)."""
        try:
            return list(fn(items))
        except Exception:  # noqa: BLE001 - retried one by one below to find the culprit
            out = []
            for item, path in zip(items, paths):
                try:
                    out.append(fn([item])[0])
                except Exception as exc:  # noqa: BLE001
                    report.notes.append((path, f"{what} failed: {type(exc).__name__}: {exc}"))
                    out.append(None)
            return out

    def documents(self, decoded: Sequence[tuple[Plan, _Decoded]], report: IngestReport,
                  bars: Bars | None = None) -> list[Doc]:
        """Build the documents of one decoded batch (the model stages run here)."""
        m, bars = self.models, bars or Bars(False, None, ())
        captioner = getattr(m, "captioner", None)
        paths = [str(d.record.abs_path) for _, d in decoded]
        n = len(decoded)

        def pick(role: str, ready: Callable[[Plan, _Decoded], bool]) -> list[int]:
            return [i for i, (p, d) in enumerate(decoded) if role in p.redo and ready(p, d)]

        clip_vecs: list[np.ndarray | None] = [None] * n
        auto_tags: list[list[str] | None] = [None] * n
        run_clip = pick("clip", lambda p, d: m.clip is not None and d.image is not None)
        if run_clip:
            imgs = [decoded[i][1].image for i in run_clip]

            def clip_and_tags() -> tuple[list, list]:
                vecs = self._batch_or_each(lambda xs: list(m.clip.encode_images(xs)), imgs,
                                           [paths[i] for i in run_clip], "CLIP", report)
                good = [j for j, v in enumerate(vecs) if v is not None]
                tags: list = [None] * len(vecs)
                if m.tagger is not None and good:
                    for j, t in zip(good, m.tagger.tags(np.stack([vecs[j] for j in good]))):
                        tags[j] = t
                return vecs, tags

            vecs, tags = self._timed("clip", len(imgs), report, bars, clip_and_tags)
            for j, i in enumerate(run_clip):
                clip_vecs[i], auto_tags[i] = vecs[j], tags[j]

        captions: list[str | None] = [None] * n
        run_cap = pick("caption", lambda p, d: captioner is not None and d.image is not None)
        if run_cap:
            imgs = [decoded[i][1].image for i in run_cap]
            caps = self._timed("caption", len(imgs), report, bars, lambda: self._batch_or_each(
                captioner.caption, imgs, [paths[i] for i in run_cap], "captioning", report))
            for j, i in enumerate(run_cap):
                captions[i] = caps[j]

        ocr_texts: list[str | None] = [None] * n
        ocr_done = [False] * n
        run_ocr = pick("ocr", lambda p, d: p.record.ocr_text is None and m.ocr is not None and d.image is not None)
        if run_ocr:
            def read_all() -> None:
                for i in run_ocr:
                    try:
                        ocr_texts[i] = m.ocr.read(decoded[i][1].image) or None
                        ocr_done[i] = True
                    except Exception as exc:  # noqa: BLE001 - OCR failure loses the OCR text only
                        report.notes.append((paths[i], f"OCR failed: {exc}"))

            self._timed("ocr", len(run_ocr), report, bars, read_all)

        t0 = time.perf_counter()
        docs = [build_document(p.record, d.exif, p.old, self.expected_names(p.record), self.gazetteer, report,
                               clip_vecs[i], auto_tags[i], captions[i], ocr_texts[i], ocr_done[i], d.phash)
                for i, (p, d) in enumerate(decoded)]
        st = report.stages["capmeta"]
        st.seconds += time.perf_counter() - t0
        st.images += n
        bars.stage("capmeta", n, st)

        # a document whose CapMeta is empty (no caption, tags, OCR, time or place) gets no TaT vector, so it
        # scores TaT 0 instead of matching every query as well as the filler it would otherwise be given
        encode = [i for i, doc in enumerate(docs) if doc.get("capmeta_vec") is None and doc["capmeta"]]
        if encode:
            tat = self._timed("tat", len(encode), report, bars, lambda: m.text.encode_texts(
                [docs[i]["capmeta"] for i in encode]))
            for i, vec in zip(encode, tat):
                docs[i]["capmeta_vec"] = vec
        return docs


__all__ = ["Ingestor", "IngestReport", "StageStats", "STAGES", "DEPENDS", "decode", "register_image_plugins",
           "shard_of", "parse_shard"]

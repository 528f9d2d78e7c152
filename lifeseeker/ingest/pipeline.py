"""The ingest pipeline: records in, documents written through the Store, in batches, resumably.

Per batch: skip images already stored with the same models (resume: a re-run recomputes nothing) -> decode and
read EXIF on worker threads (overlapping the model compute of the previous batch) -> CLIP image vectors and
zero-shot tags -> OCR -> reverse geocoding -> CapMeta text -> TaT vectors -> upsert. A broken image fails alone:
it is reported with its path and reason and the ingest goes on. A crash loses at most the batch in flight.
"""

from __future__ import annotations

import logging
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence

from PIL import Image, ImageOps

from ..engine.store.base import Doc, Store
from ..engine.timeparts import time_fields
from ..models import Models
from .enrich.capmeta import capmeta, content_text
from .enrich.geo import Gazetteer
from .exif import ExifInfo, read_exif
from .sources.base import ImageRecord

log = logging.getLogger(__name__)

DECODE_MAX_SIDE = 1280  # decoded size cap: enough for OCR, CLIP resizes to its input (224-448) anyway


def register_image_plugins() -> None:
    """Let Pillow open HEIC/HEIF (pillow-heif) and turn decompression-bomb warnings into errors."""
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
    except ImportError:  # pragma: no cover - pillow-heif is a dependency
        log.warning("pillow-heif not installed: HEIC/HEIF files will be reported as unreadable")
    warnings.simplefilter("error", Image.DecompressionBombWarning)


@dataclass
class IngestReport:
    """What an ingest did. ``failed`` and ``notes`` hold ``(path, reason)`` pairs."""

    seen: int = 0
    indexed: int = 0
    skipped: int = 0
    with_time: int = 0
    with_gps: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    no_time: list[str] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        """One paragraph for the CLI."""
        lines = [f"seen {self.seen}, indexed {self.indexed}, skipped (already indexed) {self.skipped}, "
                 f"failed {len(self.failed)}",
                 f"of the indexed: {self.with_time} with a capture time, {self.with_gps} with GPS, "
                 f"{len(self.no_time)} without a capture time"]
        lines += [f"  failed: {p}: {r}" for p, r in self.failed]
        return "\n".join(lines)


@dataclass
class _Decoded:
    record: ImageRecord
    image: Image.Image
    exif: ExifInfo


def decode(record: ImageRecord) -> _Decoded:
    """Open, orient (EXIF orientation), convert to RGB and downscale one image; read its EXIF.

    Raises:
        OSError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning: unreadable image.
    """
    with Image.open(record.abs_path) as im:
        exif = read_exif(im) if record.read_exif else ExifInfo()
        if im.format == "JPEG":
            im.draft("RGB", (DECODE_MAX_SIDE, DECODE_MAX_SIDE))
        im.load()
        out = ImageOps.exif_transpose(im)
        if out.mode != "RGB":
            if out.mode in ("RGBA", "LA", "P", "PA"):
                out = out.convert("RGBA")
                bg = Image.new("RGBA", out.size, (255, 255, 255, 255))
                out = Image.alpha_composite(bg, out)
            elif out.mode.startswith("I;16") or out.mode in ("I", "F"):
                out = out.point(lambda v: v / 256).convert("L") if out.mode != "F" else out.convert("L")
            out = out.convert("RGB")
        if max(out.size) > DECODE_MAX_SIDE:
            out = out.copy()
            out.thumbnail((DECODE_MAX_SIDE, DECODE_MAX_SIDE))
    return _Decoded(record, out, exif)


def _batches(items: Iterable[ImageRecord], size: int) -> Iterator[list[ImageRecord]]:
    batch: list[ImageRecord] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class Ingestor:
    """Turns ImageRecords into documents and writes them. Build once per run; ``run`` may be called per source."""

    def __init__(self, store: Store, models: Models, gazetteer: Gazetteer, batch_size: int = 16,
                 workers: int = 4, progress: bool = True):
        self.store, self.models, self.gazetteer = store, models, gazetteer
        self.batch_size, self.workers, self.progress = max(1, batch_size), max(1, workers), progress
        self.model_names = models.names()
        store.ensure_schema(models.dims())

    def run(self, records: Iterable[ImageRecord], total: int | None = None) -> IngestReport:
        """Ingest ``records``; returns the report. Never raises for one bad image (it lands in ``failed``)."""
        from tqdm import tqdm

        register_image_plugins()
        report = IngestReport()
        bar = tqdm(total=total, unit="img", desc="ingest", disable=not self.progress, smoothing=0.1)
        with ThreadPoolExecutor(self.workers) as pool:
            pending = None  # decoding of the next batch runs while the current one is encoded
            for batch in _batches(records, self.batch_size):
                report.seen += len(batch)
                todo = self._not_done(batch, report)
                bar.update(len(batch) - len(todo))
                future = pool.map(self._try_decode, todo) if todo else None
                if pending is not None:
                    bar.update(self._process(list(pending), report))
                pending = future
            if pending is not None:
                bar.update(self._process(list(pending), report))
        bar.close()
        if hasattr(self.store, "optimize"):
            self.store.optimize()
        return report

    def _not_done(self, batch: list[ImageRecord], report: IngestReport) -> list[ImageRecord]:
        have = self.store.existing([r.image_id for r in batch])
        todo = [r for r in batch if have.get(r.image_id) != self.model_names]
        report.skipped += len(batch) - len(todo)
        return todo

    @staticmethod
    def _try_decode(record: ImageRecord) -> _Decoded | tuple[ImageRecord, str]:
        try:
            return decode(record)
        except Exception as exc:  # noqa: BLE001 - any decoder failure is this image's alone
            return record, f"{type(exc).__name__}: {exc}"

    def _process(self, results: Sequence[_Decoded | tuple[ImageRecord, str]], report: IngestReport) -> int:
        ok: list[_Decoded] = []
        for res in results:
            if isinstance(res, _Decoded):
                ok.append(res)
            else:
                report.failed.append((str(res[0].abs_path), res[1]))
        if ok:
            docs = self.documents(ok, report)
            self.store.upsert(docs)
            report.indexed += len(docs)
        return len(results)

    def documents(self, decoded: Sequence[_Decoded], report: IngestReport) -> list[Doc]:
        """Build the documents of one decoded batch (model compute happens here)."""
        m = self.models
        clip_vecs = m.clip.encode_images([d.image for d in decoded]) if m.clip else None
        auto_tags = m.tagger.tags(clip_vecs) if m.tagger is not None and clip_vecs is not None else None
        docs: list[Doc] = []
        for i, d in enumerate(decoded):
            rec, exif = d.record, d.exif
            path = str(rec.abs_path)
            for note in exif.notes + rec.notes:
                report.notes.append((path, note))
            local_time = rec.local_time or exif.local_time
            offset = rec.utc_offset or exif.utc_offset
            lat, lon = (rec.lat, rec.lon) if rec.lat is not None else (exif.lat, exif.lon)
            ocr_text = rec.ocr_text
            if ocr_text is None and m.ocr is not None:
                try:
                    ocr_text = m.ocr.read(d.image) or None
                except Exception as exc:  # noqa: BLE001 - OCR failure loses the OCR text only
                    report.notes.append((path, f"OCR failed: {exc}"))
            tags = rec.tags if rec.tags is not None else (auto_tags[i] if auto_tags else [])
            doc: Doc = {"image_id": rec.image_id, "collection": rec.collection, "path": rec.path,
                        "tags": tags, "ocr_text": ocr_text, "caption": rec.caption,
                        "semantic_name": rec.semantic_name, "models": self.model_names,
                        "clip_vec": clip_vecs[i] if clip_vecs is not None else None}
            if local_time is not None:
                doc["local_time"] = local_time
                doc.update(time_fields(local_time))
                if offset:
                    doc["utc_offset"] = offset
                    doc["utc_time"] = ExifInfo(local_time=local_time, utc_offset=offset).utc_time
                report.with_time += 1
            else:
                report.no_time.append(path)
            place_names: list[str | None] = [rec.semantic_name]
            if lat is not None and lon is not None:
                place = self.gazetteer.lookup(lat, lon)
                doc.update(location={"lat": lat, "lon": lon}, locality=place.locality, city=place.city,
                           region=place.region, country=place.country,
                           places=list(dict.fromkeys(([rec.semantic_name] if rec.semantic_name else [])
                                                     + place.places)))
                place_names += [place.locality, place.city, place.country]
                report.with_gps += 1
            doc["capmeta"] = capmeta(content_text(rec.caption, tags, ocr_text), local_time, place_names)
            docs.append(doc)
        tat = m.text.encode_texts([doc["capmeta"] or "a photo" for doc in docs])
        for doc, vec in zip(docs, tat):
            doc["capmeta_vec"] = vec
        return docs


__all__ = ["Ingestor", "IngestReport", "decode", "register_image_plugins"]

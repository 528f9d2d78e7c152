"""Record -> document: one store document from an ``ImageRecord``, its EXIF, this run's model outputs and, for a
partial update, the stored document (``Doc`` fields: ``engine/schema.py``).

Which value wins per field (``models.<role>`` records who computed it; ``PROVIDED`` = came with the dataset):

* ``clip_vec``: this run's CLIP, else the stored one. ``tags``: provided tags, else this run's zero-shot tags,
  else the stored ones.
* ``caption``: this run's captioner, else an earlier run's captioner, else the provided caption.
* ``ocr_text``: provided text always, else this run's reader, else an earlier run's reader.
* time: the record's, else EXIF's (with ``time_fields`` and, given an offset, ``utc_time``); place: the
  record's coordinates, else EXIF's, reverse-geocoded by the gazetteer.
* ``capmeta`` is rebuilt; ``capmeta_vec`` is kept only when the CapMeta string and the text model are unchanged,
  else left None for the pipeline's TaT stage. An empty CapMeta (no caption, tags, OCR, time or place) gets no
  vector at all: its TaT is 0 in both stores (a missing vector contributes 0), so a photo about which nothing is
  known cannot outrank photos whose text matches the query.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

from ..engine.store.base import Doc
from ..engine.timeparts import time_fields
from .enrich.capmeta import capmeta, content_text
from .enrich.geo import Gazetteer
from .exif import ExifInfo
from .report import IngestReport
from .sources.base import ImageRecord

PROVIDED = "provided"  # models.<role> of a value that came with the dataset (LSC OCR / caption)


def file_words(path: str) -> str:
    """The file name of ``path`` as searchable words (NFC; ``_``, ``-``, ``.`` and camel case split):
    ``"Trip/Ünterwasser_Bild-2.JPG"`` -> ``"Ünterwasser Bild 2"``."""
    stem = unicodedata.normalize("NFC", path.rsplit("/", 1)[-1]).rsplit(".", 1)[0]
    return " ".join(re.sub(r"([a-z])([A-Z])", r"\1 \2", re.sub(r"[_\-.]+", " ", stem)).split())


def build_document(rec: ImageRecord, exif: ExifInfo, stored: Doc | None, names: dict[str, str | None],
                   gazetteer: Gazetteer, report: IngestReport, clip_vec: np.ndarray | None,
                   auto_tags: list[str] | None, caption: str | None, ocr_text: str | None, ocr_done: bool,
                   phash: str | None = None) -> Doc:
    """One document (module docstring: which value wins per field).

    Args:
        rec, exif: the record and what its file's EXIF said.
        stored: the stored document when only some fields are recomputed (a model changed), else None.
        names: role -> model name this run uses (``Ingestor.expected_names``; None = role off).
        gazetteer: offline reverse geocoder for the coordinates.
        report: gets the record's and EXIF's notes, ``with_time``/``no_time``, ``with_gps``, ``updated``.
        clip_vec: (D,) float32 CLIP embedding computed in this run, or None.
        auto_tags, caption, ocr_text: this run's zero-shot tags, caption and OCR text, or None.
        ocr_done: whether this run's OCR reader ran on the image (its text may be None: nothing read).
        phash: perceptual hash of this run's decoded pixels (16 hex digits), else the stored one is kept.
    Returns:
        The document; ``capmeta_vec`` None when it must be (re)encoded.
    """
    old = stored or {}
    old_models = dict(old.get("models") or {})
    used: dict[str, str | None] = {}
    path = str(rec.abs_path)
    for note in exif.notes + rec.notes:
        report.notes.append((path, note))

    # clip_vec and auto tags
    if clip_vec is not None:
        used["clip"] = names["clip"]
    else:
        clip_vec, used["clip"] = old.get("clip_vec"), old_models.get("clip")
    if rec.tags is not None:
        tags = list(rec.tags)
    elif auto_tags is not None:
        tags = auto_tags
    else:
        tags = list(old.get("tags") or [])
    # caption: this run's captioner, else what an earlier run's captioner wrote, else the provided one
    if caption is not None:
        used["caption"] = names["caption"]
    elif old_models.get("caption") not in (None, PROVIDED):
        caption, used["caption"] = old.get("caption"), old_models.get("caption")
    elif rec.caption is not None:
        caption, used["caption"] = rec.caption, PROVIDED
    else:
        used["caption"] = None
    # OCR: provided text always wins; else this run's reader; else what is stored
    if rec.ocr_text is not None:
        ocr_text, used["ocr"] = rec.ocr_text, PROVIDED
    elif ocr_done:
        used["ocr"] = names["ocr"]
    elif old_models.get("ocr") not in (None, PROVIDED):
        ocr_text, used["ocr"] = old.get("ocr_text"), old_models.get("ocr")
    else:
        used["ocr"] = None

    local_time = rec.local_time or exif.local_time
    offset = rec.utc_offset or exif.utc_offset
    lat, lon = (rec.lat, rec.lon) if rec.lat is not None else (exif.lat, exif.lon)
    doc: Doc = {"image_id": rec.image_id, "collection": rec.collection, "path": rec.path,
                "file_name": file_words(rec.path), "copies": list(rec.copies), "content_hash": rec.content_hash,
                "input_digest": rec.input_digest, "phash": phash or old.get("phash"), "tags": tags, "ocr_text": ocr_text, "caption": caption, "semantic_name": rec.semantic_name,
                "clip_vec": clip_vec}
    doc["time_source"] = (rec.time_source if rec.local_time or rec.utc_time else exif.time_source) or "none"
    if local_time is not None:
        doc["local_time"] = local_time
        doc.update(time_fields(local_time))
        if offset:
            doc["utc_offset"] = offset
            doc["utc_time"] = ExifInfo(local_time=local_time, utc_offset=offset).utc_time
        report.with_time += 1
    elif (rec.utc_time or exif.gps_utc) is not None:  # the instant is known, the local clock is not
        doc["utc_time"] = rec.utc_time or exif.gps_utc
        report.with_time += 1
    else:
        report.no_time.append(path)
    place_names: list[str | None] = [rec.semantic_name]
    places = [rec.semantic_name] if rec.semantic_name else []
    if lat is not None and lon is not None:
        place = gazetteer.lookup(lat, lon)
        doc.update(location={"lat": lat, "lon": lon}, locality=place.locality, city=place.city,
                   region=place.region, country=place.country, locality_km=place.locality_km)
        places += place.places
        place_names += [place.locality, place.city, place.country]
        report.with_gps += 1
    doc["places"] = list(dict.fromkeys(places))
    doc["capmeta"] = capmeta(content_text(caption, tags, ocr_text), local_time, place_names)
    text_name = names["text"]
    used["text"] = text_name
    if not doc["capmeta"]:
        doc["capmeta_vec"] = None  # nothing to embed: no TaT vector (TaT 0), never the embedding of filler text
    elif old and old.get("capmeta") == doc["capmeta"] and old_models.get("text") == text_name \
            and old.get("capmeta_vec") is not None:
        doc["capmeta_vec"] = old["capmeta_vec"]
    else:
        doc["capmeta_vec"] = None
    doc["models"] = {r: used.get(r) for r in ("clip", "text", "ocr", "caption")}
    if stored is not None:
        report.updated += 1
    return doc


__all__ = ["PROVIDED", "build_document"]

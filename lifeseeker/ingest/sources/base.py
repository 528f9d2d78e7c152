"""What every source yields: one ``ImageRecord`` per image file."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


@dataclass(slots=True)
class ImageRecord:
    """One image to ingest.

    Attributes:
        image_id: the document id, Unicode NFC (folder source: ``collection/relative path``; LSC: the dataset's
            ImageID, the file name without extension, which DRES and the qrels name).
        collection: name of the ingested root.
        path: path relative to the collection root (``/``-separated), the file system's own form (NFC or NFD, as
            on disk); the web app serves only root / path.
        abs_path: absolute path on disk.
        local_time, utc_offset, lat, lon: provided metadata (LSC CSVs); None -> read from EXIF when
            ``read_exif`` is set.
        tags, caption, ocr_text, semantic_name: provided values (LSC visual concepts / metadata), or None.
        read_exif: whether the pipeline should read time and GPS from the file's EXIF.
        notes: remarks about this record's metadata, reported with its path (``IngestReport.notes``).
        utc_time: the capture instant (tz-aware UTC) when the source knows it without a local time (an LSC image
            named in UTC with no metadata row), else None.
        time_source: where ``local_time`` came from when the source knows (``lsc-metadata``, ``lsc-name``), else
            None (the pipeline takes EXIF's).
        legacy_id: the id an older lifeseeker gave this file (folder source: the relative path without the
            collection), so a re-scan migrates that document instead of re-computing it; None when the same.
        copies, content_hash, input_digest: set by the planner (``ingest/plan.py``): paths of byte-identical
            copies folded into this document, SHA-256 of the file, digest of the file's size+mtime and of every
            provided value (what resume compares).

    Slotted: an LSC collection holds ~725k records in memory at once.
    """

    image_id: str
    collection: str
    path: str
    abs_path: Path
    local_time: datetime | None = None
    utc_offset: str | None = None
    lat: float | None = None
    lon: float | None = None
    tags: list[str] | None = None
    caption: str | None = None
    ocr_text: str | None = None
    semantic_name: str | None = None
    read_exif: bool = True
    notes: list[str] = field(default_factory=list)
    time_source: str | None = None
    utc_time: datetime | None = None
    legacy_id: str | None = None
    copies: list[str] = field(default_factory=list)
    content_hash: str | None = None
    input_digest: str | None = None

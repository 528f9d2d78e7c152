"""What every source yields: one ``ImageRecord`` per image file."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


@dataclass(slots=True)
class ImageRecord:
    """One image to ingest.

    Attributes:
        image_id: the document id (folder source: path relative to the root, ``/``-separated).
        collection: name of the ingested root.
        path: path relative to the collection root (``/``-separated); the web app serves only root / path.
        abs_path: absolute path on disk.
        local_time, utc_offset, lat, lon: provided metadata (LSC CSVs); None -> read from EXIF when
            ``read_exif`` is set.
        tags, caption, ocr_text, semantic_name: provided values (LSC visual concepts / metadata), or None.
        read_exif: whether the pipeline should read time and GPS from the file's EXIF.
        notes: remarks about this record's metadata, reported with its path (``IngestReport.notes``).

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

"""``lifeseeker ingest folder PATH`` and ``lifeseeker ingest lsc --images ... --metadata ...``: build the index from
photos. Parses arguments and delegates to the ingest pipeline (``ingest/pipeline.py``)."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import LifeseekerError
from .options import fail, get_settings, load_models_for, open_store_for


@click.group()
def ingest():
    """Build the index from photos."""


def ingest_options(func):
    """Options shared by every ``ingest`` command (batching, sharding, which models run)."""
    options = [
        click.option("--batch-size", default=16, show_default=True, type=click.IntRange(1, 4096),
                     help="Images per model call and per store write."),
        click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 64),
                     help="Decoding threads."),
        click.option("--shard", default=None, metavar="I/N",
                     help="Ingest only shard I of N (stable hash of the image id): N workers on N GPUs or "
                          "machines split a collection without overlap."),
        click.option("--caption-model", default=None,
                     help="BLIP captioning model: Hugging Face id or local directory (default: FuseCap, "
                          "noamrot/FuseCap_Image_Captioning; skipped with a warning when its weights are absent)."),
        click.option("--no-caption", is_flag=True, help="No captioner (CapMeta uses tags and OCR text)."),
        click.option("--no-ocr", is_flag=True, help="Skip OCR."),
        click.option("--no-progress", is_flag=True, help="No progress bars."),
        click.option("-v", "--verbose", "verbose_notes", is_flag=True,
                     help="List every per-file note (GPS treated as absent, bad offsets, ...) with its path; by "
                          "default they are counted per kind."),
        click.option("--keep-missing", is_flag=True,
                     help="Keep the documents of files no longer found (a disk that is not mounted); by default a "
                          "re-scan removes them and reports their paths. Renamed files keep their documents "
                          "either way."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _ingest(ctx, records_fn, collection: str, root: Path, *, batch_size, workers, shard, caption_model,
            no_caption, no_ocr, no_progress, keep_missing=False, verbose_notes=False, scan_errors=None):
    """Shared body of the ingest commands: open store and models, run the pipeline, print the summary."""
    from ..ingest.enrich.geo import Gazetteer
    from ..ingest.pipeline import Ingestor, parse_shard

    settings = get_settings(ctx).with_overrides(ocr=False if no_ocr else None)
    try:
        shard_spec = parse_shard(shard) if shard else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--shard") from None
    try:
        store = open_store_for(settings)
        models = load_models_for(settings, for_ingest=True, caption_model=caption_model,
                                 caption=False if no_caption else None)
        records = records_fn()
        store.ensure_schema(models.dims())
        store.set_collection(collection, str(root.resolve()))
        ingestor = Ingestor(store, models, Gazetteer(), batch_size=batch_size, workers=workers,
                            progress=not no_progress, shard=shard_spec)
        report = ingestor.run(records, total=len(records), reconcile=True, keep_missing=keep_missing)
        report.failed[:0] = scan_errors or []
    except LifeseekerError as exc:
        fail(exc)
    click.echo(report.summary(verbose=verbose_notes))
    click.echo(f"store: {store.url} ({store.count()} documents)")
    return report


@ingest.command("folder")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--collection", default=None, help="Collection name (default: the folder's name).")
@ingest_options
@click.pass_context
def ingest_folder(ctx, path, collection, **opts):
    """Ingest every photo below PATH (JPEG, PNG, TIFF, HEIC, WebP): EXIF time and GPS, places, OCR, CLIP,
    caption, CapMeta and its embedding. Re-running skips what is already indexed with the same models."""
    from ..ingest.sources.folder import scan_folder

    scan_errors: list[tuple[str, str]] = []
    name = collection or path.resolve().name
    _ingest(ctx, lambda: list(scan_folder(path, name, errors=scan_errors)), name, path,
            scan_errors=scan_errors, **opts)


@ingest.command("lsc")
@click.option("--images", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Image root (YYYYMM/DD/YYYYMMDD_HHMMSS_000.jpg below it).")
@click.option("--metadata", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Per-minute metadata CSV (lsc22_metadata.csv; LSC2020 column names accepted).")
@click.option("--concepts", default=None, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Visual concepts CSV (ImageID, Tags, Caption, OCR).")
@click.option("--gps", default=None, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="vaisl_gps.csv (cleaned GPS, semantic names, time zones; joined on minute_id).")
@click.option("--collection", default="lsc", show_default=True, help="Collection name.")
@ingest_options
@click.pass_context
def ingest_lsc(ctx, images, metadata, concepts, gps, collection, **opts):
    """Ingest an LSC collection: per-minute metadata joined onto images, provided tags / captions / OCR, then
    CLIP, captions, CapMeta and its embedding. Problems in the CSVs are reported; none stops the ingest."""
    from ..ingest.sources.lsc import LscSource

    try:
        source = LscSource(images, metadata, concepts, gps, collection=collection)
    except (OSError, ValueError) as exc:
        fail(exc)
    records: list = []

    def read():
        records.extend(source.records())
        return records

    _ingest(ctx, read, collection, images, **opts)
    click.echo(source.clock.line())
    for line in source.problems.lines():
        click.echo(line)


commands = [ingest]

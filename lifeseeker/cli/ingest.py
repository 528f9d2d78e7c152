"""``lifeseeker ingest folder PATH`` and ``lifeseeker ingest lsc --images ... --metadata ...``: build the index from
photos. Parses arguments and delegates to the ingest pipeline (``ingest/pipeline.py``).

Exit status: 0 when every image was indexed or skipped (already indexed), ``EXIT_FILES_FAILED`` (3) when the run
finished but some files failed (listed in the summary), 1 for an error that stopped the run (store, models), 2 for
a usage error (including a collection name bound to another root).
"""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import LifeseekerError
from ..terminal import printable
from .options import echo, fail, get_settings, load_models_for, open_store_for


EXIT_FILES_FAILED = 3  # the run finished, but at least one file failed (README "Ingesting photos")


@click.group()
def ingest():
    """Build the index from photos."""


def ingest_options(func):
    """Options shared by every ``ingest`` command (batching, sharding, which models run)."""
    options = [
        click.option("--batch-size", default=16, show_default=True, type=click.IntRange(1, 4096),
                     help="Images per model call."),
        click.option("--write-batch", default=500, show_default=True, type=click.IntRange(1, 100_000),
                     help="Documents per store write (one Elasticsearch bulk of up to 500, one Lance commit); a "
                          "partial group is written after 30 s and at the end."),
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
        click.option("--max-memory-gib", default=None, type=click.FloatRange(0.25, 1024), metavar="GIB",
                     help="Bound the run's memory: once the models are loaded, its address space may grow by at "
                          "most GIB (RLIMIT_AS); an image needing more fails alone (MemoryError) instead of the "
                          "kernel killing the whole ingest. Default: no bound."),
        click.option("--move-root", is_flag=True,
                     help="Re-point an existing collection at this folder (its documents' paths are then read "
                          "below the new root). Without it a collection name already bound to another folder is "
                          "an error."),
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


def check_collection_root(bound: str | None, collection: str, root: str, move_root: bool) -> None:
    """A collection name is bound to the root it was first ingested from (``store.collections()``).

    Raises:
        click.UsageError: ``collection`` is bound to ``bound``, another folder than ``root``, and ``move_root`` is
            False; the message names both folders.
    """
    if bound is not None and bound != root and not move_root:
        raise click.UsageError(
            f"collection {printable(collection)!r} is bound to {printable(bound)}, not {printable(root)}: ingest "
            f"this folder under another --collection name, or pass --move-root to re-point "
            f"{printable(collection)!r} at {printable(root)} (its stored documents are then read below it)")


def bound_memory(extra_gib: float) -> int:
    """Limit this process's address space (``RLIMIT_AS``) to its current size (``VmSize`` of /proc/self/status)
    plus ``extra_gib`` GiB; returns the limit in bytes. An allocation past it raises MemoryError in the thread that
    made it (the pipeline records it against that one image) instead of the kernel's OOM killer ending the run.

    Raises:
        OSError: /proc/self/status cannot be read (not Linux), or the limit cannot be set.
    """
    import resource

    with open("/proc/self/status") as f:
        size = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    limit = size + int(extra_gib * 1024 ** 3)
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    return limit


def _ingest(ctx, records_fn, collection: str, root: Path, *, batch_size, workers, shard, caption_model,
            no_caption, no_ocr, no_progress, write_batch=500, move_root=False, max_memory_gib=None, keep_missing=False,
            verbose_notes=False, scan_errors=None):
    """Shared body of the ingest commands: open store and models, run the pipeline, print the summary."""
    from ..ingest.enrich.geo import Gazetteer
    from ..ingest.pipeline import Ingestor, parse_shard, pending, shard_of
    from ..ingest.report import IngestReport
    from ..models.catalog import expected_model_names

    settings = get_settings(ctx).with_overrides(ocr=False if no_ocr else None)
    try:
        shard_spec = parse_shard(shard) if shard else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--shard") from None
    try:
        store = open_store_for(settings)
        check_collection_root(store.collections().get(collection), collection, str(root.resolve()), move_root)
        records = records_fn()
        if records and not pending(store, records, expected_model_names(
                settings, caption_model, False if no_caption else None), shard_spec, keep_missing=keep_missing):
            # every image is stored with the models this run would use: nothing to compute, no model to load
            report = IngestReport(seen=len(records))
            report.skipped = len(records) if shard_spec is None else sum(
                1 for r in records if shard_of(r.image_id, shard_spec[1]) == shard_spec[0])
            report.out_of_shard = report.seen - report.skipped
            report.failed[:0] = scan_errors or []
            store.set_collection(collection, str(root.resolve()))
            echo(report.summary(verbose=verbose_notes))
            echo(f"store: {store.url} ({store.count()} documents)")
            return report
        models = load_models_for(settings, for_ingest=True, caption_model=caption_model,
                                 caption=False if no_caption else None)
        store.ensure_schema(models.dims())
        if max_memory_gib is not None:
            limit = bound_memory(max_memory_gib)
            echo(f"memory: address space bounded at {limit / 1024 ** 3:.1f} GiB", err=True)
        store.set_collection(collection, str(root.resolve()))
        ingestor = Ingestor(store, models, Gazetteer(), batch_size=batch_size, workers=workers,
                            progress=not no_progress, shard=shard_spec, write_batch=write_batch)
        report = ingestor.run(records, total=len(records), reconcile=True, keep_missing=keep_missing)
        report.failed[:0] = scan_errors or []
    except LifeseekerError as exc:
        fail(exc)
    echo(report.summary(verbose=verbose_notes))
    echo(f"store: {store.url} ({store.count()} documents)")
    return report


@ingest.command("folder")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--collection", default=None, help="Collection name (default: the folder's name).")
@ingest_options
@click.pass_context
def ingest_folder(ctx, path, collection, **opts):
    """Ingest every photo below PATH (JPEG, PNG, TIFF, HEIC, WebP): EXIF time and GPS, places, OCR, CLIP,
    caption, CapMeta and its embedding. Re-running skips what is already indexed with the same models.
    Exit status 3 when some files failed (listed), 0 when all were indexed or skipped."""
    from ..ingest.sources.folder import scan_folder

    scan_errors: list[tuple[str, str]] = []
    name = collection or path.resolve().name
    report = _ingest(ctx, lambda: list(scan_folder(path, name, errors=scan_errors)), name, path,
                     scan_errors=scan_errors, **opts)
    if report.failed:
        ctx.exit(EXIT_FILES_FAILED)


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
    CLIP, captions, CapMeta and its embedding. Problems in the CSVs are reported; none stops the ingest.
    Exit status 3 when some image files failed (listed), 0 when all were indexed or skipped."""
    from ..ingest.sources.lsc import LscSource

    try:
        source = LscSource(images, metadata, concepts, gps, collection=collection)
    except (OSError, ValueError) as exc:
        fail(exc)
    records: list = []

    def read():
        records.extend(source.records())
        return records

    report = _ingest(ctx, read, collection, images, **opts)
    echo(source.clock.line())
    for line in source.problems.lines():
        echo(line)
    if report.failed:
        ctx.exit(EXIT_FILES_FAILED)


commands = [ingest]

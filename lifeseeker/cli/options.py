"""What the ``lifeseeker`` commands share: the filter options (one vocabulary with the JSON API), usage errors,
the settings of the invocation, and opening the store, the models and a search service.

Every command module (ingest.py, search.py, qa.py, eval.py ...) imports from here and from no other command
module; ``cli/__init__.py`` registers the commands.
"""

from __future__ import annotations

from typing import Callable

import click

from ..config import Settings
from ..engine.query.keyvalue import DEFAULT_RADIUS_KM
from ..errors import FilterError
from ..terminal import printable_lines

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
    from ..engine.filters import Weights, filters_from_params
    from ..engine.query.parse import parse_query

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


def get_settings(ctx: click.Context) -> Settings:
    """The settings of this invocation (the group's global options over the environment); ``Settings.from_env()``
    when a command runs without the group (a test invoking it alone)."""
    obj = ctx.find_object(dict) or {}
    return obj.get("settings") or Settings.from_env()


def echo(message: object = "", err: bool = False) -> None:
    """``click.echo`` for every command's output: control characters (escape sequences, carriage returns, bidi
    overrides) in ``message`` are shown as escapes (``terminal.printable_lines``; its newlines and tabs kept)."""
    click.echo(printable_lines(message), err=err)


def fail(exc: Exception) -> None:
    """Raise ``exc`` as a ClickException: its message (control characters escaped) on stderr, exit status 1."""
    raise click.ClickException(printable_lines(exc)) from exc


def notice(msg: str, prefix: str = "note") -> None:
    """Print ``prefix: msg`` on stderr once per command run: the same message (a model notice is both a loading
    warning and a notice of the search or answer) is not repeated under another prefix."""
    ctx = click.get_current_context(silent=True)
    shown = ctx.find_root().meta.setdefault("lifeseeker.shown", set()) if ctx is not None else set()
    if msg in shown:
        return
    shown.add(msg)
    echo(f"{prefix}: {msg}", err=True)


def open_store_for(settings: Settings):
    """The configured store (``settings.store``: LanceDB directory or Elasticsearch URL). Raises StoreError."""
    from ..engine.store import open_store

    return open_store(settings.store, **settings.es_options())


def load_models_for(settings: Settings, for_ingest: bool, echo: Callable[[str], None] | None = None, **caption: object):
    """The configured encoders (and, ``for_ingest``, captioner and OCR); each loading notice goes to ``echo``
    (default: stderr) as ``warning: ...``. Raises ModelUnavailable (text model)."""
    from ..models import load_models

    models = load_models(settings, for_ingest=for_ingest, **caption)
    for msg in models.notices:
        if echo is None:
            notice(msg, "warning")
        else:
            echo(f"warning: {msg}")
    return models


def search_service_for(settings: Settings, echo: Callable[[str], None] | None = None):
    """A SearchService over the configured store and encoders (warnings to ``echo``, default stderr).
    Raises StoreError / ModelUnavailable."""
    from ..engine.search import SearchService

    return SearchService(open_store_for(settings), load_models_for(settings, for_ingest=False, echo=echo))

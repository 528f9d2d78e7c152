"""``lifeseeker search QUERY [filters] [--json]``: one search against the configured store; prints rank, score,
both components, time, place and path. Parses arguments and delegates to ``engine/search.py``."""

from __future__ import annotations

import json

import click

from ..errors import FilterError, LifeseekerError
from ..terminal import printable
from .options import check_search_args, echo, fail, filter_options, get_settings, search_service_for


@click.command()
@click.argument("query", required=False, default="")
@filter_options
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option("--weights", default=None, help="W_IAT,W_TAT (default 0.7,0.3).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def search(ctx, query, limit, weights, as_json, **params):
    """Search with QUERY text and filter options; prints rank, score, both components, time, place, path."""
    from ..engine.search import SearchRequest

    settings = get_settings(ctx)
    filters, w = check_search_args(query, params, weights, settings.weights)  # usage errors before any model loads
    try:
        request = SearchRequest(text=query, filters=filters, weights=w, limit=limit)
    except FilterError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        service = search_service_for(settings)
        response = service.search(request)
    except LifeseekerError as exc:
        fail(exc)
    if as_json:
        from ..webui.api import hit_json

        echo(json.dumps({"total_filtered": response.total_filtered, "text_only": response.text_only,
                               "notices": response.notices, "hits": [hit_json(h) for h in response.hits]},
                              indent=1, ensure_ascii=False))
        return
    for warning in (response.parsed.warnings if response.parsed is not None else ()):
        echo(f"note: {warning}", err=True)
    echo(f"{len(response.hits)} of {response.total_filtered} matching documents "
         f"({response.took_ms:.0f} ms){'  [text-only]' if response.text_only else ''}")
    for rank, h in enumerate(response.hits, 1):
        d = h.doc
        when = d["local_time"].strftime("%Y-%m-%d %H:%M:%S") if d.get("local_time") else "-"
        place = ", ".join(p for p in (d.get("locality"), d.get("city"), d.get("country")) if p) or "-"
        echo(f"{rank:3d}  {h.score:+.4f}  IaT {h.iat:+.4f}  TaT {h.tat:+.4f}  {when}  {printable(place)}  "
             f"{printable(d.get('collection'))}/{printable(d.get('path'))}")


commands = [search]

"""``lifeseeker search QUERY [filters] [--json]``: one search against the configured store, or through a running
server (``--server``, ``LIFESEEKER_SERVER``: cli/remote.py); prints rank, score, both components, time, place and
path. Parses arguments and delegates to ``engine/search.py``."""

from __future__ import annotations

import json

import click

from ..errors import FilterError, LifeseekerError
from .options import check_search_args, echo, fail, filter_options, get_settings, search_service_for
from .remote import get_json, print_hits, query_params


@click.command()
@click.argument("query", required=False, default="")
@filter_options
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option("--weights", default=None, help="W_IAT,W_TAT (default 0.7,0.3).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--server", default=None, metavar="URL", help="Send the query to a running `lifeseeker serve` "
              "(default $LIFESEEKER_SERVER; none: search in this process, loading the models).")
@click.pass_context
def search(ctx, query, limit, weights, as_json, server, **params):
    """Search with QUERY text and filter options; prints rank, score, both components, time, place, path."""
    settings = get_settings(ctx)
    filters, w = check_search_args(query, params, weights, settings.weights)  # usage errors before any model loads
    server = server or settings.server
    if server:
        body = get_json(server, "/api/search", query_params(query, params, limit=limit, weights=weights), settings)
        hits, total, text_only = body.get("hits") or [], body.get("total_filtered", 0), body.get("text_only")
        notices, took = body.get("notices") or [], body.get("took_ms", 0.0)
        warnings = (body.get("parsed") or {}).get("warnings") or []
    else:
        from ..engine.search import SearchRequest

        try:
            request = SearchRequest(text=query, filters=filters, weights=w, limit=limit)
        except FilterError as exc:
            raise click.UsageError(str(exc)) from None
        try:
            response = search_service_for(settings).search(request)
        except LifeseekerError as exc:
            fail(exc)
        from ..webui.api import hit_json

        hits, total, text_only = [hit_json(h) for h in response.hits], response.total_filtered, response.text_only
        notices, took = response.notices, response.took_ms
        warnings = list(response.parsed.warnings) if response.parsed is not None else []
    if as_json:
        echo(json.dumps({"total_filtered": total, "text_only": text_only, "notices": notices,
                         "hits": [{k: v for k, v in h.items() if k != "rank"} for h in hits]},
                        indent=1, ensure_ascii=False))
        return
    print_hits(hits, total, took, bool(text_only), warnings)


commands = [search]

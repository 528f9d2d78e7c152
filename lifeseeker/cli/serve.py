"""``lifeseeker serve [--host] [--port] [--debug]``: the search page and JSON API on Flask's development server
(``webui/``; production: gunicorn, see README)."""

from __future__ import annotations

import click

from ..errors import LifeseekerError
from .options import echo, fail, get_settings


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--debug", is_flag=True, help="Flask debug mode (development only; never on a shared network).")
@click.pass_context
def serve(ctx, host, port, debug):
    """Serve the search page and JSON API with Flask's development server (production: gunicorn, see README)."""
    from ..webui import create_app

    if debug and not (get_settings(ctx).development and host in ("127.0.0.1", "localhost", "::1")):
        raise click.UsageError("--debug runs an interactive debugger: only with LIFESEEKER_DEVELOPMENT=1 and a "
                               "loopback --host (127.0.0.1, localhost, ::1)")
    try:
        app = create_app(get_settings(ctx), warm_up="now")  # models, snapshot, one search: before it listens
    except LifeseekerError as exc:
        fail(exc)
    echo(f"lifeseeker: serving {app.config['LIFESEEKER_STORE_URL']} on http://{host}:{port}/ (warm: "
         f"{app.extensions['lifeseeker_warmup'].warm_s:.1f} s warm-up done)")
    app.run(host=host, port=port, debug=debug, use_reloader=False)


commands = [serve]

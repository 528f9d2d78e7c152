"""``lifeseeker`` command line: the click group with the global options, and ``main`` (the console script).

Parses arguments and delegates; no logic of its own (after rclip's ``main.py``). One module per command or command
group (ingest.py, search.py, serve.py, info.py, query.py, qa.py, eval.py, dres.py, elastic.py), each with a
``commands`` list that is registered here; what they share (filter options, usage errors, settings, opening the
store and the models) is in options.py. No command module imports another.
"""

from __future__ import annotations

import logging
import sys

import click

from ..config import Settings
from ..errors import LifeseekerError
from . import dres as _dres
from . import elastic as _elastic
from . import eval as _eval
from . import info as _info
from . import ingest as _ingest
from . import qa as _qa
from . import query as _query
from . import search as _search
from . import serve as _serve
from .options import fail

log = logging.getLogger("lifeseeker")


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
        fail(exc)
    ctx.obj = {"settings": settings}


# Every command and command group, in the order of the modules above (``--help`` lists them by name).
commands: list[click.Command] = [c for module in (_ingest, _search, _serve, _info, _query, _qa, _eval, _dres,
                                                  _elastic) for c in module.commands]
for _command in commands:
    cli.add_command(_command)


def main() -> None:
    """Console-script entry point."""
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)

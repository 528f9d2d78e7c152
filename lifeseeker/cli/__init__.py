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

# The group's options are also accepted after the command, where users type them (``lifeseeker ingest folder X
# --store URL``): each command gets hidden copies whose callbacks apply the value over the group's settings (click
# invokes the group's callback before it parses the command's arguments, so these come last and win).
_SETTING_OPTIONS = {"--store": "store", "--clip-model": "clip_model", "--clip-pretrained": "clip_pretrained",
                    "--text-model": "text_model", "--device": "device"}


def _late_setting(ctx: click.Context, param: click.Parameter, value):
    if value is None:
        return
    obj = ctx.ensure_object(dict)
    try:
        obj["settings"] = (obj.get("settings") or Settings.from_env()).with_overrides(**{param.name: value})
    except (LifeseekerError, ValueError) as exc:
        fail(exc)


def _late_verbose(ctx: click.Context, param: click.Parameter, value: int):
    if value:
        logging.getLogger().setLevel(logging.WARNING - 10 * min(value, 2))


def _add_global_options(command: click.Command) -> None:
    """Give ``command`` (and, for a group, each of its commands) hidden copies of the group's options."""
    have = {o for p in command.params for o in getattr(p, "opts", ())}
    for flag, name in _SETTING_OPTIONS.items():
        if flag not in have:
            command.params.append(click.Option([flag, name], default=None, hidden=True, expose_value=False,
                                               callback=_late_setting))
    if "-v" not in have and "--verbose" not in have:
        command.params.append(click.Option(["-v", "--verbose", "verbose"], count=True, hidden=True,
                                           expose_value=False, callback=_late_verbose))
    for sub in getattr(command, "commands", {}).values():
        _add_global_options(sub)


for _command in commands:
    _add_global_options(_command)
    cli.add_command(_command)


def main() -> None:
    """Console-script entry point."""
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)

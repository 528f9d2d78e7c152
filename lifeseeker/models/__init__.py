"""Model wrappers behind narrow interfaces (``encode_images``, ``encode_texts``, ``read``, ``tags``, ``caption``),
loaded once per process from the settings and passed in: no module-level singletons."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from ..errors import ModelUnavailable
from .caption import DEFAULT_CAPTION_MODEL, Captioner, load_captioner
from .clip import ClipEncoder, clip_dims, load_clip
from .ocr import OcrReader, load_ocr
from .tagger import ZeroShotTagger
from .text import TextEncoder, load_text_encoder

log = logging.getLogger(__name__)


@dataclass
class Models:
    """The encoders in use. ``clip`` is None in text-only mode; ``ocr``/``tagger``/``captioner`` None when off or
    unavailable.

    Attributes:
        device: where the models run (``cpu``, ``cuda``...), picked by ``settings.device`` (``auto``: CUDA when
            present).
        notices: plain-language messages for the user (e.g. "CLIP weights unavailable: text-only search").
        clip_dims: width of clip_vec from the configured architecture, known even when its weights are missing.
    """

    text: TextEncoder
    clip: ClipEncoder | None = None
    ocr: OcrReader | None = None
    tagger: ZeroShotTagger | None = None
    captioner: Captioner | None = None
    clip_dims: int = 0
    device: str = "cpu"
    notices: list[str] = field(default_factory=list)

    @property
    def text_only(self) -> bool:
        return self.clip is None

    def dims(self) -> dict[str, int]:
        """Vector widths for the store: ``{"clip_vec": d_clip, "capmeta_vec": d_text}``."""
        return {"clip_vec": self.clip.dims if self.clip else self.clip_dims, "capmeta_vec": self.text.dims}

    def names(self) -> dict[str, str | None]:
        """Recorded in each document's ``models`` so a re-run knows what to recompute."""
        return {"clip": self.clip.name if self.clip else None, "text": self.text.name,
                "ocr": self.ocr.name if self.ocr else None,
                "caption": self.captioner.name if self.captioner else None}


def load_models(settings, *, for_ingest: bool, caption_model: str | None = None,
                caption: bool | None = None) -> Models:
    """Load what the settings name. The text encoder is required; CLIP degrades to text-only unless the user named
    it explicitly; OCR, the zero-shot tagger and the captioner load only for ingest.

    Args:
        caption_model: captioner by Hugging Face id or directory, named by the user (``--caption-model``): failing
            to load it is an error. None -> ``settings.caption_model`` when the settings have it (explicit when
            ``settings.caption_explicit``), else the default FuseCap model, whose absence is a notice: captions
            are skipped and CapMeta falls back to tags + OCR.
        caption: False -> no captioner (``--no-caption``); None -> ``settings.caption`` when present, else on.
    Raises:
        ModelUnavailable: the text model cannot load, or an explicitly named CLIP or caption model cannot.
    """
    from .clip import pick_device

    device = pick_device(settings.device)
    text = load_text_encoder(settings.text_model, device=device)
    notices: list[str] = []
    try:
        d_clip = clip_dims(settings.clip_model)
    except ModelUnavailable:
        if settings.clip_explicit:
            raise
        d_clip = 0
    try:
        clip = load_clip(settings.clip_model, settings.clip_pretrained, device=device,
                         allow_download=for_ingest)
    except ModelUnavailable as exc:
        if settings.clip_explicit:
            raise
        clip = None
        notices.append(f"No CLIP model: running text-only (TaT over CapMeta). {exc}")
    ocr = tagger = None
    if for_ingest:
        if settings.ocr:
            try:
                ocr = load_ocr()
            except ModelUnavailable as exc:
                notices.append(str(exc))
        if clip is not None:
            tagger = ZeroShotTagger(clip)
    captioner = None
    if caption is None:
        caption = bool(getattr(settings, "caption", True))
    if for_ingest and caption:
        explicit = caption_model is not None or bool(getattr(settings, "caption_explicit", False))
        name = caption_model or getattr(settings, "caption_model", None) or DEFAULT_CAPTION_MODEL
        try:
            captioner = load_captioner(name, device=device, allow_download=True)
        except ModelUnavailable as exc:
            if explicit:
                raise
            notices.append(f"No captioner: captions skipped, CapMeta uses tags and OCR text. {exc}")
    return Models(text=text, clip=clip, ocr=ocr, tagger=tagger, captioner=captioner, clip_dims=d_clip,
                  device=device, notices=notices)


__all__ = ["Models", "load_models", "Captioner", "load_captioner", "ClipEncoder", "TextEncoder", "OcrReader",
           "ZeroShotTagger", "load_clip",
           "load_text_encoder", "load_ocr", "clip_dims"]

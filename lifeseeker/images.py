"""Image files of the lifelog: decoding them to RGB pixels, and finding them only inside their ingested roots.

Shared by the ingest pipeline (``ingest/pipeline.py`` decodes every photo it indexes), the engine (rerank and
visual question answering read evidence images) and the web app (renditions, thumbnails, the file route), so none
of them reaches into another's layer for it. Depends on nothing of ``lifeseeker`` but ``errors``.

* **Decoding** (:func:`decode_opened`, :func:`decode_file`): EXIF orientation applied, converted to RGB
  (transparency composited on white, 16-bit and float greyscale scaled to 8 bits), longer edge capped at
  ``DECODE_MAX_SIDE`` px (JPEGs are draft-decoded at a reduced scale, so a 12 MP photo is never fully decoded).
  :func:`register_image_plugins` lets Pillow open HEIC/HEIF and turns decompression-bomb warnings into errors.
* **Model input** (:func:`model_input`): what OCR, CLIP and the captioner may be given: at most ``DECODE_MAX_SIDE``
  px on the longer edge, at least ``MODEL_MIN_SIDE`` px on the shorter and an aspect ratio of at most
  ``MODEL_MAX_ASPECT``. The models scale the *shorter* edge up to their input size (RapidOCR's detector to 736 px,
  CLIP to 224 px), so a 1x1280 image would become a 736x942,080 tensor (gigabytes): such an image is refused with
  a reason instead: with the aspect bounded, the largest detector input is 736 x 7,360 px.
* **Huge JPEGs**: :func:`open_image` opens a JPEG beyond Pillow's bomb limit (a 90+ MP panorama) when its draft decode (1/8 scale
  at most) fits ``REDUCED_MAX_PIXELS``; anything larger, and any other format beyond the limit, stays rejected.
* **Confinement** (:func:`file_in_root`, :func:`resolve_file`): a document's file is ``root / path`` of its
  collection's recorded root, and only when it resolves (symlinks followed) to a file inside that root.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageOps

from .errors import NotFound

if TYPE_CHECKING:
    from .engine.store.base import Store

log = logging.getLogger(__name__)

DECODE_MAX_SIDE = 1280  # decoded size cap: enough for OCR, CLIP resizes to its input (224-448) anyway
MODEL_MAX_ASPECT = 10.0  # longer / shorter edge a model may be given (phone panoramas are about 1:4 to 1:8)
MODEL_MIN_SIDE = 16  # shorter edge, px, a model may be given


class UnfitImage(ValueError):
    """An image the models must not be given (too thin, too small); the message says why."""


# Memory bound of a reduced JPEG decode beyond Pillow's bomb limit: pixels after the 1/8 draft scale (libjpeg's
# smallest DCT scale), 3 bytes each: 24 MP = 72 MB, i.e. JPEGs up to 1.5 gigapixels (a 60000 x 25000 panorama).
REDUCED_MAX_PIXELS = 24_000_000


def open_image(path: str | Path) -> Image.Image:
    """``Image.open(path)``, except that a JPEG over Pillow's decompression-bomb limit is opened without that check
    when its 1/8-scale draft decode holds at most ``REDUCED_MAX_PIXELS`` pixels; :func:`decode_opened` then
    draft-decodes it reduced (the full-size pixels are never held). Use as a context manager.

    Raises:
        Image.DecompressionBombError / DecompressionBombWarning: over the limit and not such a JPEG (a true bomb).
        OSError, ValueError: unreadable.
    """
    try:
        return Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        from PIL import JpegImagePlugin

        with open(path, "rb") as fh:
            magic = fh.read(3)
        if magic != b"\xff\xd8\xff":
            raise
        im = JpegImagePlugin.JpegImageFile(str(path))  # the plugin itself: Image.open's bomb check is not run
        w, h = im.size
        if (w // 8 + 1) * (h // 8 + 1) > REDUCED_MAX_PIXELS:
            im.close()
            raise Image.DecompressionBombError(f"{exc} (even at 1/8 scale: {w}x{h} JPEG)") from None
        return im


def register_image_plugins() -> None:
    """Let Pillow open HEIC/HEIF (pillow-heif) and turn decompression-bomb warnings into errors."""
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
    except ImportError:  # pragma: no cover - pillow-heif is a dependency
        log.warning("pillow-heif not installed: HEIC/HEIF files will be reported as unreadable")
    warnings.simplefilter("error", Image.DecompressionBombWarning)


def decode_opened(im: Image.Image, max_side: int = DECODE_MAX_SIDE) -> Image.Image:
    """The pixels of an image opened with ``Image.open`` (not yet loaded): oriented by its EXIF orientation, RGB
    (mode ``"RGB"``, uint8), longer edge at most ``max_side`` px. Call it inside the ``with Image.open(...)`` block.

    Raises:
        OSError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning: unreadable image.
    """
    if im.format == "JPEG":
        im.draft("RGB", (max_side, max_side))
    im.load()
    out = ImageOps.exif_transpose(im)
    if out.mode != "RGB":
        if out.mode in ("RGBA", "LA", "P", "PA"):
            out = out.convert("RGBA")
            bg = Image.new("RGBA", out.size, (255, 255, 255, 255))
            out = Image.alpha_composite(bg, out)
        elif out.mode.startswith("I;16") or out.mode in ("I", "F"):
            out = out.point(lambda v: v / 256).convert("L") if out.mode != "F" else out.convert("L")
        out = out.convert("RGB")
    if max(out.size) > max_side:
        out = out.copy()
        out.thumbnail((max_side, max_side))
    return out


def decode_file(path: str | Path, max_side: int = DECODE_MAX_SIDE) -> Image.Image:
    """Decode the image file at ``path`` (:func:`decode_opened`, after :func:`register_image_plugins`).

    Raises:
        OSError (missing or unreadable file), ValueError, Image.DecompressionBombError: unreadable image.
    """
    register_image_plugins()
    with open_image(path) as im:
        return decode_opened(im, max_side)


def model_input(image: Image.Image, max_side: int = DECODE_MAX_SIDE) -> Image.Image:
    """``image`` bounded for the image models (OCR, CLIP, captioner, VQA): the same image, or a copy whose longer
    edge is ``max_side`` px when it was larger (aspect kept).

    Raises:
        UnfitImage: the shorter edge is under ``MODEL_MIN_SIDE`` px, or longer / shorter edge is over
            ``MODEL_MAX_ASPECT`` (the models would scale the shorter edge up and allocate gigabytes).
    """
    w, h = image.size
    short, long = min(w, h), max(w, h)
    if short < 1 or long / short > MODEL_MAX_ASPECT:
        raise UnfitImage(f"{w}x{h} px: aspect ratio over {MODEL_MAX_ASPECT:g}:1, not given to the image models")
    if long > max_side:
        image = image.copy()
        image.thumbnail((max_side, max_side))
        w, h = image.size
        short = min(w, h)
    if short < MODEL_MIN_SIDE:
        raise UnfitImage(f"{w}x{h} px: shorter side under {MODEL_MIN_SIDE} px, not given to the image models")
    return image


def file_in_root(root: str | None, path: str | None) -> Path | None:
    """Absolute ``root / path`` when both are given and it resolves (symlinks followed) to an existing file inside
    ``root``; None otherwise (``..``, an absolute ``path``, a symlink out, a missing file)."""
    if not root or not path:
        return None
    base = Path(root).resolve()
    target = (base / path).resolve()
    if not target.is_relative_to(base) or not target.is_file():
        return None
    return target


def resolve_file(store: Store, image_id: str) -> Path:
    """Absolute path of ``image_id``'s file, guaranteed to lie inside its collection's recorded root
    (``store.collections()``).

    Raises:
        NotFound: unknown id, unknown collection, a path escaping the root (``..``, absolute, symlink out), or a
            missing file.
    """
    docs = store.get([image_id])
    if not docs:
        raise NotFound(f"no image {image_id!r}")
    doc = docs[0]
    root = store.collections().get(doc.get("collection") or "")
    if not root or not doc.get("path"):
        raise NotFound(f"image {image_id!r} has no served collection")
    target = file_in_root(root, doc["path"])
    if target is None:
        raise NotFound(f"image {image_id!r}: file not available")
    return target


__all__ = ["DECODE_MAX_SIDE", "MODEL_MAX_ASPECT", "MODEL_MIN_SIDE", "UnfitImage", "model_input",
           "register_image_plugins", "decode_opened", "decode_file", "file_in_root",
           "resolve_file"]

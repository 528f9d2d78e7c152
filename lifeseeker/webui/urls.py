"""Image and thumbnail URLs of many hits at once, without one ``url_for`` per image.

``url_for`` costs tens of microseconds per call (URL map lookup, converters, the request's URL adapter) and a
search answer makes two per hit, again for each event's representatives (~300 calls for 100 hits). The two routes
are fixed (``/image/<path:image_id>``, ``/thumb/<path:image_id>``, ``pages.py``), so the prefix of each is built once
per request with ``url_for`` itself and an id is appended escaped exactly as Werkzeug's converter escapes it
(``werkzeug/routing/converters.py``, ``BaseConverter.to_url``: ``quote(str(value),
safe="!$&'()*+,/:;=@")``, which ``PathConverter`` inherits). ``tests/test_web_urls.py`` holds both to ``url_for``
for awkward ids.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import g, has_request_context, url_for

PATH_SAFE = "!$&'()*+,/:;=@"  # werkzeug.routing.converters.BaseConverter.to_url (Werkzeug 3.x)
_PROBE = "x"


def _prefixes() -> tuple[str, str] | None:
    """(thumb prefix, image prefix) of this request (cached on ``flask.g``), or None outside a request."""
    if not has_request_context():
        return None
    cached = g.get("_image_url_prefixes")
    if cached is None:
        thumb, image = url_for("pages.thumb", image_id=_PROBE), url_for("pages.image", image_id=_PROBE)
        if not (thumb.endswith("/" + _PROBE) and image.endswith("/" + _PROBE)):  # a route this module cannot mimic
            cached = g._image_url_prefixes = ("", "")
            return cached
        cached = g._image_url_prefixes = (thumb[:-len(_PROBE)], image[:-len(_PROBE)])
    return cached


def image_urls(image_id: str) -> dict[str, str]:
    """``{"thumb_url", "image_url"}`` of ``image_id`` in the current request (the same strings ``url_for`` gives),
    ``{}`` outside a request (CLI ``--json``)."""
    prefixes = _prefixes()
    if prefixes is None:
        return {}
    if not prefixes[0]:
        return {"thumb_url": url_for("pages.thumb", image_id=image_id),
                "image_url": url_for("pages.image", image_id=image_id)}
    tail = quote(str(image_id), safe=PATH_SAFE)
    return {"thumb_url": prefixes[0] + tail, "image_url": prefixes[1] + tail}

"""Image URLs built without ``url_for`` per image (issue 20, item 3) are the strings ``url_for`` builds.

The escaping is Werkzeug's own (``werkzeug/routing/converters.py``, ``BaseConverter.to_url``: ``quote(value,
safe="!$&'()*+,/:;=@")``); this holds ``webui/urls.py`` to ``url_for`` itself for ids with spaces, percent signs,
``?``/``#``, non-ASCII letters, sub-folders and the sub-delimiters, under an application root too.
"""

from __future__ import annotations

import pytest
from flask import url_for

from lifeseeker.webui.urls import image_urls

from .webapp import one_photo_app

IDS = ["a.jpg", "2019/03/01/b c.jpg", "100%.jpg", "q?x=1#frag.jpg", "Málaga/ñ ü.JPG", "a+b&c=d;e@f!g$h'(i)*,:.jpg",
       "日本/写真.png", "trailing/", "~tilde_-.jpg", "quote\".jpg", "back\\slash.jpg"]


@pytest.fixture
def app(tmp_path, tiny_models):
    return one_photo_app(tmp_path, tiny_models, {})[0]


@pytest.mark.parametrize("root", ["", "/lifelog"])
def test_image_urls_equal_url_for(app, root):
    with app.test_request_context("/api/search", base_url=f"http://localhost{root}"):
        for image_id in IDS:
            assert image_urls(image_id) == {"thumb_url": url_for("pages.thumb", image_id=image_id),
                                            "image_url": url_for("pages.image", image_id=image_id)}, image_id


def test_outside_a_request_there_are_no_urls():
    assert image_urls("a.jpg") == {}


def test_search_answer_links_resolve_to_the_image(app):
    client = app.test_client()
    body = client.get("/api/search", query_string={"q": "photo", "events": "1"}).get_json()
    (hit,) = body["hits"]
    assert hit["thumb_url"] == "/thumb/a.jpg" and hit["image_url"] == "/image/a.jpg"
    assert client.get(hit["image_url"]).status_code == 200
    assert body["events"][0]["top"][0]["thumb_url"] == "/thumb/a.jpg"

"""The web app against hostile requests (issue 22, items 8-10): a flat result list (``events=0``) is shown, not
"No results"; redirects never send the browser to the ``Host`` the client chose; ``/api/info`` shows absolute
paths only to an authenticated user."""

from __future__ import annotations

import base64
import re

import pytest

from lifeseeker.config import Settings
from lifeseeker.webui import create_app
from lifeseeker.webui.api import hide_paths
from lifeseeker.webui.security import relative_location

from .webapp import one_photo_app


@pytest.fixture(scope="module")
def client(sample_store, tiny_models, tmp_path_factory):
    store, _ = sample_store
    app = create_app(Settings(store=store.url, cache_dir=str(tmp_path_factory.mktemp("cache"))), store=store,
                     models=tiny_models)
    app.testing = True
    return app.test_client()


def test_events_off_shows_the_hits_as_cards(client):
    r = client.get("/", query_string={"q": "street", "events": "0", "limit": "7"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    m = re.search(r"(\d+) shown of (\d+) matching", html)
    assert m and int(m.group(1)) == 7 and int(m.group(2)) >= 7
    assert html.count('class="card"') == 7 and "No results" not in html
    on = client.get("/", query_string={"q": "street", "limit": "7"}).get_data(as_text=True)
    assert on.count('class="card"') >= 1  # with events on the events are rendered as before


@pytest.mark.parametrize("path,target", [("/api//info", "/api/info"), ("/image//jpg/gps/DSCN0010.jpg",
                                                                        "/image/jpg/gps/DSCN0010.jpg")])
def test_redirects_are_relative_whatever_the_host_header(client, path, target):
    r = client.get(path, headers={"Host": "evil.example"})
    assert r.status_code == 308  # werkzeug merges the double slash by a redirect
    assert r.headers["Location"] == target
    assert "evil.example" not in str(r.headers)


def test_relative_location_keeps_other_hosts_and_never_reads_as_protocol_relative():
    assert relative_location("http://evil.example//x.org/p?a=1", "evil.example") == "/x.org/p?a=1"
    assert relative_location("https://dres.example.org/login", "me:5000") == "https://dres.example.org/login"
    assert relative_location("/already/relative", "h") == "/already/relative"


def test_api_info_hides_absolute_paths_unless_authenticated(tmp_path, tiny_models):
    app, _ = one_photo_app(tmp_path, tiny_models, {})
    r = app.test_client().get("/api/info")
    assert r.status_code == 200
    text = r.get_data(as_text=True)
    assert str(tmp_path) not in text and "/tmp/" not in text
    body = r.get_json()
    assert body["store"]["collections"] == {"c": "…/root"} and body["store"]["documents"] == 1
    (tmp_path / "b").mkdir()
    authed, _ = one_photo_app(tmp_path / "b", tiny_models, {}, auth_user="ann", auth_password="pw")
    token = base64.b64encode(b"ann:pw").decode()
    full = authed.test_client().get("/api/info", headers={"Authorization": f"Basic {token}"}).get_json()
    assert full["store"]["collections"] == {"c": str((tmp_path / "b" / "root").resolve())}
    assert full["store"]["location"].startswith(str(tmp_path))


def test_hide_paths_shortens_every_absolute_path():
    assert hide_paths({"a": ["lance:///srv/data/store", "local-dir:/m/clip", "x /home/me/p y"], "n": 3}) == {
        "a": ["lance://…/store", "local-dir:…/clip", "x …/p y"], "n": 3}
    assert hide_paths("http://es:9200 lifeseeker -> lifeseeker-v1") == "http://es:9200 lifeseeker -> lifeseeker-v1"

"""Web hardening: nothing outside the ingested roots is ever served (path traversal in every spelling, symlinks
out of the root), every caption / OCR / file name / query echo is escaped, security headers on every response,
optional basic auth for the whole app, no debug mode outside development, input bounds, JSON errors."""

from __future__ import annotations

import base64
import os
import shutil
from datetime import datetime

import numpy as np
import pytest
from click.testing import CliRunner

from lifeseeker.config import Settings
from lifeseeker.engine.search import MAX_QUERY_CHARS
from lifeseeker.engine.store import open_store
from lifeseeker.ingest.pipeline import Ingestor
from lifeseeker.ingest.sources.folder import scan_folder
from lifeseeker.webui import create_app
from lifeseeker.webui.security import AuthConfigError

from .conftest import SAMPLES

SECRET = b"TOP-SECRET-OUTSIDE-THE-ROOT"
EVIL_NAME = "\"><img src=x onerror=alert('name')>.jpg"
XSS = "<script>alert('xss')</script>"


@pytest.fixture(scope="module")
def world(tmp_path_factory, tiny_models, gazetteer):
    """A root with real photos ingested through the real folder source and pipeline, plus traps:

    * ``outside/secret.jpg`` (a real JPEG followed by a marker) and ``outside/passwd`` next to the root;
    * ``root/out.jpg``: a symlink to the outside JPEG (not ingested since issue 22: the folder source reports it;
      a document for it, as an older ingest stored it, is written by hand and must never be served);
    * ``root/linkdir``: a symlink to the outside folder (not walked; a stored path through it must not serve);
    * ``root/inside-link.jpg``: a symlink to a file inside the root (served: confinement is not over-blocking);
    * ``root/<EVIL_NAME>``: a photo whose file name is an HTML attribute injection;
    * stored documents whose paths escape the root (``../``, absolute) and whose texts are script tags.
    """
    base = tmp_path_factory.mktemp("hardening")
    root, outside = base / "root", base / "outside"
    root.mkdir()
    outside.mkdir()
    secret_jpg = outside / "secret.jpg"
    secret_jpg.write_bytes((SAMPLES / "jpg/gps/DSCN0012.jpg").read_bytes() + SECRET)
    (outside / "passwd").write_bytes(b"root:x:0:0:" + SECRET)
    shutil.copy(SAMPLES / "jpg/gps/DSCN0010.jpg", root / "a.jpg")
    shutil.copy(SAMPLES / "jpg/gps/DSCN0021.jpg", root / EVIL_NAME)
    os.symlink(secret_jpg, root / "out.jpg")
    os.symlink(outside, root / "linkdir")
    os.symlink(root / "a.jpg", root / "inside-link.jpg")

    store = open_store(f"lance://{base / 'store'}")
    store.ensure_schema(tiny_models.dims())
    store.set_collection("c", str(root))
    errors: list = []
    records = list(scan_folder(root, "c", errors=errors))
    report = Ingestor(store, tiny_models, gazetteer, batch_size=4, progress=False).run(records)
    assert errors == [(str(root / "out.jpg"), "symbolic link to a file outside the folder (not followed)")]
    assert report.failed == [] and not store.get(["c/out.jpg"])
    vec = np.ones(384, np.float32)
    store.upsert([
        {"image_id": "c/out.jpg", "collection": "c", "path": "out.jpg", "capmeta_vec": vec},  # as an older ingest
        {"image_id": "../outside/secret.jpg", "collection": "c", "path": "../outside/secret.jpg", "capmeta_vec": vec},
        {"image_id": "abs", "collection": "c", "path": str(secret_jpg), "capmeta_vec": vec},
        {"image_id": "via-linkdir", "collection": "c", "path": "linkdir/secret.jpg", "capmeta_vec": vec},
        {"image_id": "passwd", "collection": "c", "path": "../outside/passwd", "capmeta_vec": vec},
        # the link is a byte-identical copy of a.jpg, which ingest folds into c/a.jpg's document (its ``copies``)
        {"image_id": "inside-link", "collection": "c", "path": "inside-link.jpg", "capmeta_vec": vec},
        {"image_id": "xss", "collection": "c", "path": "a.jpg", "ocr_text": XSS, "caption": XSS, "capmeta": XSS,
         "tags": [XSS], "city": XSS, "country": XSS, "local_time": datetime(2020, 1, 1, 8), "capmeta_vec": vec},
    ])
    return base, root, store, tiny_models


def make_app(world, **settings):
    base, _, store, models = world
    return create_app(Settings(store=store.url, cache_dir=str(base / "cache"), **settings), store=store,
                      models=models)


@pytest.fixture(scope="module")
def client(world):
    app = make_app(world)
    return app.test_client()


# --- nothing outside the root --------------------------------------------------------------------------------------

TRAVERSALS = [
    "../outside/passwd", "..%2Foutside%2Fpasswd", "..%2foutside%2fpasswd", "%2e%2e/outside/passwd",
    "%2e%2e%2foutside%2fpasswd", "..%252Foutside%252Fpasswd", "....//outside/passwd", "..\\outside\\passwd",
    "..%5Coutside%5Cpasswd", "%2Fetc%2Fpasswd", "/etc/passwd", "a.jpg/../../outside/passwd",
    "a.jpg%00.jpg", "%c0%ae%c0%ae/outside/passwd", "\uff0e\uff0e/outside/passwd", "../../../../../../etc/passwd",
    "out.jpg", "c/out.jpg", "linkdir/secret.jpg", "../outside/secret.jpg", "abs", "via-linkdir", "passwd",
]


@pytest.mark.parametrize("prefix", ["/image/", "/thumb/", "/api/image/"])
@pytest.mark.parametrize("target", TRAVERSALS)
def test_no_spelling_of_a_path_serves_a_file_outside_the_root(client, prefix, target):
    r = client.get(prefix + target, follow_redirects=True)
    if prefix == "/api/image/" and r.status_code == 200:  # a stored id: its metadata, never the file's bytes
        assert r.get_json()["image_id"] in ("c/out.jpg", "../outside/secret.jpg", "abs", "via-linkdir", "passwd")
    else:
        assert r.status_code in (400, 404), (prefix, target, r.status_code)
    assert SECRET not in r.data and b"root:x" not in r.data


@pytest.mark.parametrize("target", ["../../pyproject.toml", "..%2F..%2Fpyproject.toml", "%2e%2e/%2e%2e/README.md",
                                    "../templates/index.html", "..%2Fapi.py"])
def test_static_route_stays_inside_the_static_folder(client, target):
    r = client.get("/static/" + target, follow_redirects=True)
    assert r.status_code == 404
    assert b"[project]" not in r.data and b"def " not in r.data


def test_symlink_out_of_the_root_is_never_served(client, world):
    _, _, store, _ = world
    assert store.get(["c/out.jpg"]), "a document for the link (stored by hand, as an older ingest did) exists"
    for url in ("/image/c/out.jpg", "/thumb/c/out.jpg"):
        r = client.get(url)
        assert r.status_code == 404 and SECRET not in r.data
    assert client.get("/api/image/c/out.jpg").status_code == 200  # its metadata is fine; its bytes are not served


def test_files_inside_the_root_are_served_including_links_inside_it(client, world):
    _, root, _, _ = world
    r = client.get("/image/c/a.jpg")
    assert r.status_code == 200 and r.data == (root / "a.jpg").read_bytes()
    r = client.get("/image/inside-link")
    assert r.status_code == 200 and r.data == (root / "a.jpg").read_bytes()
    from urllib.parse import quote

    r = client.get("/image/c/" + quote(EVIL_NAME))
    assert r.status_code == 200 and r.data == (root / EVIL_NAME).read_bytes()


# --- escaping --------------------------------------------------------------------------------------------------------


def test_captions_ocr_tags_places_and_file_names_are_escaped_on_the_page(client):
    r = client.get("/", query_string={"q": "photo"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert html.count('class="card"') == 9  # 4 ingested files + 5 stored traps: every one shown
    assert "<script>alert" not in html and "<img src=x" not in html and "onerror=alert('name')>" not in html
    assert "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;" in html  # OCR, caption, tags, places: as text
    assert "&#34;&gt;&lt;img src=x onerror=alert(&#39;name&#39;)&gt;.jpg" in html  # the file name: as text


@pytest.mark.parametrize("params", [{"q": XSS}, {"q": "x", "near": XSS}, {"q": "x", "date_from": XSS},
                                    {"q": "x", "weights": XSS}, {"q": "x", "limit": XSS},
                                    {"q": "\"><svg onload=alert(1)>"}, {"q": "x", "country": XSS}])
def test_query_echo_and_error_messages_are_escaped(client, params):
    r = client.get("/", query_string=params)
    html = r.get_data(as_text=True)
    assert r.status_code in (200, 400)
    assert "<script>alert" not in html and "<svg onload" not in html
    assert "&lt;" in html


def test_unknown_image_id_with_markup_is_escaped_on_the_error_page(client):
    r = client.get("/image/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert r.status_code == 404
    assert b"<script>alert(1)" not in r.data and b"&lt;script&gt;alert(1)" in r.data


def test_api_answers_json_with_nosniff_so_markup_in_values_is_inert(client):
    r = client.get("/api/search", query_string={"q": "photo", "limit": 20})
    assert r.mimetype == "application/json" and r.headers["X-Content-Type-Options"] == "nosniff"
    xss = next(h for h in r.get_json()["hits"] if h["image_id"] == "xss")
    assert xss["ocr_text"] == XSS  # data is returned as data, unchanged


# --- headers -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/?q=photo", "/api/search?q=photo", "/api/info", "/image/c/a.jpg",
                                 "/thumb/c/a.jpg", "/image/nope", "/api/nope", "/static/style.css", "/openapi.json",
                                 "/?q=x&near=1000,1"])
def test_security_headers_on_every_response(client, url):
    r = client.get(url)
    csp = r.headers["Content-Security-Policy"]
    directives = dict((d.strip().split(" ", 1) + [""])[:2] for d in csp.split(";") if d.strip())
    assert directives["script-src"] == "'self'" and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert directives["default-src"] == "'self'"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Referrer-Policy"] == "no-referrer"


def test_page_has_no_inline_script_the_csp_would_block(client):
    html = client.get("/", query_string={"q": "photo"}).get_data(as_text=True)
    assert "<script>" not in html and " onclick=" not in html and " onload=" not in html
    assert '<script src="/static/app.js"></script>' in html


# --- basic auth ------------------------------------------------------------------------------------------------------


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


GUARDED = ["/", "/?q=photo", "/api/search?q=photo", "/api/info", "/api/image/c/a.jpg", "/image/c/a.jpg",
           "/thumb/c/a.jpg", "/static/style.css", "/static/app.js", "/openapi.json", "/image/../outside/passwd"]


def test_basic_auth_off_by_default(client):
    assert Settings.from_env({}).auth_user is None
    assert client.get("/api/info").status_code == 200


def test_basic_auth_guards_every_route(world):
    app = make_app(world, auth_user="ann", auth_password="s3cret pass:with colon")
    c = app.test_client()
    for url in GUARDED:
        r = c.get(url)
        assert r.status_code == 401, url
        assert r.headers["WWW-Authenticate"].startswith('Basic realm="lifeseeker"')
        assert SECRET not in r.data and b"card" not in r.data
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        for bad in (_basic("ann", "wrong"), _basic("bob", "s3cret pass:with colon"), _basic("ann", ""),
                    {"Authorization": "Bearer s3cret"}, {"Authorization": "Basic !!!notbase64"}):
            assert c.get(url, headers=bad).status_code == 401, (url, bad)
    good = _basic("ann", "s3cret pass:with colon")
    assert c.get("/api/search?q=photo", headers=good).status_code == 200
    assert c.get("/image/c/a.jpg", headers=good).status_code == 200
    assert c.get("/static/style.css", headers=good).status_code == 200
    assert c.get("/image/../outside/passwd", headers=good, follow_redirects=True).status_code == 404


def test_basic_auth_from_environment(world):
    s = Settings.from_env({"LIFESEEKER_AUTH_USER": "ann", "LIFESEEKER_AUTH_PASSWORD": "pw"})
    assert (s.auth_user, s.auth_password) == ("ann", "pw") and "pw" not in repr(s)
    app = make_app(world, auth_user=s.auth_user, auth_password=s.auth_password)
    assert app.test_client().get("/api/info").status_code == 401
    assert app.test_client().get("/api/info", headers=_basic("ann", "pw")).status_code == 200


@pytest.mark.parametrize("user,password,missing", [("ann", None, "LIFESEEKER_AUTH_PASSWORD"),
                                                   (None, "pw", "LIFESEEKER_AUTH_USER")])
def test_half_configured_auth_refuses_to_start(world, user, password, missing):
    with pytest.raises(AuthConfigError, match=missing):
        make_app(world, auth_user=user, auth_password=password)


def test_info_command_never_prints_the_auth_password(world, tmp_path):
    from lifeseeker.cli import cli

    base, _, store, _ = world
    r = CliRunner().invoke(cli, ["info", "--json"], env={"LIFESEEKER_STORE": store.url,
                                                         "LIFESEEKER_AUTH_USER": "ann",
                                                         "LIFESEEKER_AUTH_PASSWORD": "hunter2-pw"})
    assert r.exit_code == 0, r.output
    assert "hunter2-pw" not in r.output and '"auth_user": "ann"' in r.output


# --- debug mode ------------------------------------------------------------------------------------------------------


def test_no_debug_mode_outside_development(world, monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    assert make_app(world).debug is False
    assert make_app(world, development=True).debug is True


def test_serve_refuses_debug_outside_development():
    from lifeseeker.cli import cli

    r = CliRunner().invoke(cli, ["serve", "--debug", "--host", "0.0.0.0"], env={"LIFESEEKER_DEVELOPMENT": "1"})
    assert r.exit_code == 2 and "loopback" in r.output
    r = CliRunner().invoke(cli, ["serve", "--debug"], env={"LIFESEEKER_DEVELOPMENT": ""})
    assert r.exit_code == 2 and "LIFESEEKER_DEVELOPMENT=1" in r.output


def test_unexpected_error_is_a_plain_500_without_traceback(world, monkeypatch):
    app = make_app(world)
    svc = app.extensions["lifeseeker"]

    def boom(_request):
        raise RuntimeError("internal detail /srv/secret/path")

    monkeypatch.setattr(svc.search, "search", boom)
    for url in ("/api/search?q=x", "/?q=x"):
        r = app.test_client().get(url)
        assert r.status_code == 500
        assert b"/srv/secret/path" not in r.data and b"Traceback" not in r.data


# --- input bounds and HTTP errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("params,needle", [
    ({"limit": "1001"}, "limit"), ({"limit": "-1"}, "limit"), ({"limit": "1e3"}, "limit"),
    ({"limit": "99999999999999999999999"}, "limit"),
    ({"weights": "11,0"}, "weights"), ({"weights": "0,0"}, "weights"), ({"weights": "nan,1"}, "weights"),
    ({"weights": "-1,1"}, "weights"), ({"weights": "inf,1"}, "weights"),
    ({"date_from": "2020-02-01", "date_to": "2020-01-01"}, "date range"), ({"date_to": "2019-13-01"}, "date_to"),
    ({"date_from": "20190101x"}, "date_from"),
    ({"near": "91,0"}, "latitude"), ({"near": "0,181"}, "longitude"), ({"near": "nan,0"}, "latitude"),
    ({"near": "1,2,3,4"}, "near"), ({"near": "1,2,far"}, "radius"), ({"near": "10,10", "radius_km": "0"}, "radius"),
    ({"near": "10,10", "radius_km": "-5"}, "radius"), ({"near": "10,10", "radius_km": "20039"}, "radius"),
    ({"near": "10,10", "radius_km": "inf"}, "radius"), ({"near": "10,10", "radius_km": "far"}, "radius_km"),
    ({"box": "10,0,20,5"}, "box"), ({"box": "91,0,0,5"}, "box"),
    ({"hour_from": "5", "hour_to": "5"}, "hour"), ({"hour_to": "25"}, "hour"), ({"hour_from": "-1"}, "hour"),
    ({"q": "x" * (MAX_QUERY_CHARS + 1)}, "q: longer than 600"), ({"part": "brunch"}, "part of day"),
    ({"text": "!!!"}, "text"),
])
def test_out_of_bounds_input_is_a_400_naming_the_parameter(client, params, needle):
    r = client.get("/api/search", query_string={"q": "x", **params})
    assert r.status_code == 400, (params, r.status_code)
    assert needle in r.get_json()["error"]


def test_api_http_errors_are_json(client):
    r = client.get("/api/no-such-route")
    assert r.status_code == 404 and "error" in r.get_json()
    r = client.post("/api/search", data=b"x")
    assert r.status_code == 405 and "error" in r.get_json() and "GET" in r.headers["Allow"]


def test_request_bodies_over_8_mib_are_refused(world):
    from flask import request

    app = make_app(world)

    @app.post("/api/_echo_size")  # a route that reads the body, to prove the app-wide limit applies
    def echo_size():
        return {"n": len(request.get_data())}

    c = app.test_client()
    assert c.post("/api/_echo_size", data=b"a" * 1024).get_json() == {"n": 1024}
    r = c.post("/api/_echo_size", data=b"a" * (8 * 1024 * 1024 + 1))
    assert r.status_code == 413 and "error" in r.get_json()


@pytest.mark.parametrize("name", ["parse", "seq", "events", "rerank"])
@pytest.mark.parametrize("value", ["banana", "2", "yes please"])
def test_junk_in_a_0_1_parameter_is_a_400_naming_it_and_the_allowed_values(client, name, value):
    r = client.get("/api/search", query_string={"q": "street", name: value})
    assert r.status_code == 400
    assert r.get_json() == {"error": f"{name}: expected 0 or 1 (or true/false, yes/no, on/off), got {value!r}"}


def test_documented_0_1_spellings_keep_their_meaning(client):
    def get(**params):
        r = client.get("/api/search", query_string={"q": "a walk in Arezzo", **params})
        assert r.status_code == 200, r.get_json()
        return r.get_json()

    assert get(parse="0")["parsed"] is None and get(parse="FALSE")["parsed"] is None
    assert get(parse="1")["parsed"]["places"] == ["Arezzo"] and get(parse="")["parsed"] is not None
    assert get(events="0")["events"] == [] and get(events="off")["events"] == []
    assert get(events="1")["events"] != []
    assert get(rerank="0")["reranked_by"] is None

"""The web page's DRES actions: ``/api/dres/*`` against the test DRES server, and the page including dres.js."""

from __future__ import annotations

import numpy as np
import pytest

from lifeseeker.config import Settings
from lifeseeker.models import Models

from .test_dres import PASSWORD, SCHEMAS, dres, schema_errors  # noqa: F401 - the ``dres`` fixture


class _Text:
    """A text encoder stand-in: the page routes under test never encode anything."""

    name, dims = "fake-text", 4

    def encode_texts(self, texts):
        return np.tile(np.eye(4, dtype=np.float32)[0], (len(texts), 1))


@pytest.fixture
def make_app(tmp_path):
    from lifeseeker.engine.store import open_store
    from lifeseeker.webui import create_app

    store = open_store(f"lance://{tmp_path / 'store'}")
    store.ensure_schema({"clip_vec": 0, "capmeta_vec": 4})

    def factory(**dres_config):
        settings = Settings(store=store.url, cache_dir=str(tmp_path / "cache"))
        app = create_app(settings, store=store, models=Models(text=_Text()))
        app.config.update({f"LIFESEEKER_DRES_{k.upper()}": v for k, v in dres_config.items()})
        return app

    yield factory
    store.close()


def test_submit_an_image_from_the_page_shows_the_verdict(dres, make_app):
    fake, url = dres
    client = make_app(url=url, user="alice", password=PASSWORD).test_client()
    r = client.post("/api/dres/submit", json={"image_id": "201912/26/20191226_123224_000.jpg"})
    assert r.status_code == 200
    assert r.get_json() == {"verdict": "CORRECT", "description": "Submission correct!", "pending": False,
                            "http_status": 200, "evaluation_id": "eval-1",
                            "answer": {"mediaItemName": "20191226_123224_000"}}
    assert fake.bodies("/api/v2/submit/eval-1") == [
        {"answerSets": [{"answers": [{"mediaItemName": "20191226_123224_000"}]}]}]


def test_submit_a_text_answer_and_a_pending_verdict(dres, make_app):
    fake, url = dres
    fake.replies.append((202, {"status": True, "submission": "INDETERMINATE", "description": "awaiting judge"}))
    client = make_app(url=url, user="alice", password=PASSWORD).test_client()
    r = client.post("/api/dres/submit", json={"text": "Umong Temple"})
    assert r.status_code == 200
    assert (r.get_json()["verdict"], r.get_json()["pending"]) == ("INDETERMINATE", True)
    assert fake.bodies("/api/v2/submit")[0] == {"answerSets": [{"answers": [{"text": "Umong Temple"}]}]}


def test_dres_refusals_are_502_with_the_dres_status_and_description(dres, make_app):
    fake, url = dres
    fake.replies.append((412, {"status": False, "description": "Duplicate submission received."}))
    client = make_app(url=url, user="alice", password=PASSWORD).test_client()
    r = client.post("/api/dres/submit", json={"image_id": "20191226_123224_000"})
    assert r.status_code == 502 and r.get_json()["dres_status"] == 412
    assert "Duplicate submission received." in r.get_json()["error"]

    bad = make_app(url=url, user="alice", password="not-it-987").test_client()
    r = bad.post("/api/dres/submit", json={"image_id": "20191226_123224_000"})
    assert r.status_code == 502 and r.get_json()["dres_status"] == 401
    assert "not-it-987" not in r.get_data(as_text=True)

    fake.task = None
    r = client.get("/api/dres/task")
    assert r.status_code == 502 and r.get_json()["dres_status"] == 404


def test_running_task_for_the_page(dres, make_app):
    _, url = dres
    r = make_app(url=url, user="alice", password=PASSWORD).test_client().get("/api/dres/task")
    assert r.get_json() == {"evaluation_id": "eval-1", "name": "KIS-01", "task_group": "kis",
                            "task_type": "LSC-KIS", "duration_s": 300}


def test_bad_bodies(dres, make_app):
    _, url = dres
    client = make_app(url=url, user="alice", password=PASSWORD).test_client()
    assert client.post("/api/dres/submit", data="image_id=x",
                       content_type="application/x-www-form-urlencoded").status_code == 415
    assert client.post("/api/dres/submit", json={"image_id": "a", "text": "b"}).status_code == 400
    assert client.post("/api/dres/submit", json={}).status_code == 400
    assert client.post("/api/dres/submit", json={"text": "   "}).status_code == 400
    assert client.post("/api/dres/submit", json={"image_id": 7}).status_code == 400
    assert client.post("/api/dres/log", json={"image_ids": "x"}).status_code == 400


def test_status_never_shows_the_password_and_says_when_not_configured(dres, make_app, monkeypatch):
    _, url = dres
    r = make_app(url=url, user="alice", password=PASSWORD).test_client().get("/api/dres/status")
    assert r.get_json() == {"configured": True, "url": url, "user": "alice", "evaluation_id": None}
    assert PASSWORD not in r.get_data(as_text=True)
    monkeypatch.delenv("LIFESEEKER_DRES_URL", raising=False)
    client = make_app().test_client()
    assert client.get("/api/dres/status").get_json()["configured"] is False
    r = client.post("/api/dres/submit", json={"image_id": "x"})
    assert r.status_code == 503 and "LIFESEEKER_DRES_URL" in r.get_json()["error"]


def test_result_log_from_the_page(dres, make_app):
    fake, url = dres
    client = make_app(url=url, user="alice", password=PASSWORD).test_client()
    r = client.post("/api/dres/log", json={"query": "a red car", "image_ids": ["b.jpg", "c"],
                                           "params": {"weekday": "Sat"}})
    assert r.status_code == 200 and r.get_json() == {"logged": 2}
    body = fake.bodies("/api/v2/log/result/eval-1")[0]
    assert schema_errors(body, SCHEMAS["QueryResultLog"]) == []
    assert [x["answer"]["mediaItemName"] for x in body["results"]] == ["b", "c"]
    assert [(e["category"], e["type"], e["value"]) for e in body["events"]] == [
        ("TEXT", "fused-clip-capmeta", "a red car"), ("FILTER", "weekday", "Sat")]


def test_every_page_loads_dres_js_under_the_csp_and_it_writes_text_only(make_app):
    client = make_app().test_client()
    r = client.get("/")
    html = r.get_data(as_text=True)
    assert '<script src="/static/dres.js"></script>' in html
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    js = client.get("/static/dres.js").get_data(as_text=True)
    assert "[data-id]" in js and "[data-answer]" in js and "textContent" in js
    for unsafe in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert unsafe not in js

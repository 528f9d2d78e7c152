"""Warm start (webui/warmup.py): ``/healthz`` answers at once, ``/readyz`` only after the warm-up, a request during
the warm-up waits for it instead of racing it, and ``/api/info`` names the OCR reader."""

from __future__ import annotations

import threading

from lifeseeker.config import Settings
from lifeseeker.webui import create_app


def _app(sample_store, tiny_models, tmp_path, **kw):
    store, _ = sample_store
    return create_app(Settings(store=store.url, cache_dir=str(tmp_path / "cache"), rerank="off"), store=store,
                      models=tiny_models, **kw)


def test_readyz_turns_ready_when_the_warm_up_is_done(sample_store, tiny_models, tmp_path, monkeypatch):
    import lifeseeker.webui.warmup as warmup

    gate = threading.Event()
    real = warmup.warm_steps

    def slow_steps(services):
        steps = real(services)
        return lambda: (gate.wait(30), steps())

    monkeypatch.setattr(warmup, "warm_steps", slow_steps)
    app = _app(sample_store, tiny_models, tmp_path, warm_up="background")
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"alive": True}
    r = client.get("/readyz")
    assert r.status_code == 503 and r.get_json()["ready"] is False and r.headers["Retry-After"] == "1"
    # a search sent now waits for the warm-up and is then answered
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("r", app.test_client().get("/api/search?q=street&limit=2")))
    t.start()
    t.join(0.5)
    assert t.is_alive()  # still waiting: the warm-up has not finished
    gate.set()
    t.join(30)
    assert out["r"].status_code == 200 and len(out["r"].get_json()["hits"]) == 2
    r = client.get("/readyz")
    body = r.get_json()
    assert r.status_code == 200 and body["ready"] is True and body["error"] is None and body["warm_s"] > 0


def test_warm_up_now_prepares_the_store_and_searches_before_create_app_returns(sample_store, tiny_models, tmp_path,
                                                                                 monkeypatch):
    store, _ = sample_store
    calls = []
    monkeypatch.setattr(store, "prepare", lambda real=store.prepare: (calls.append("prepare"), real()))
    real_encode = tiny_models.clip.encode_texts
    monkeypatch.setattr(tiny_models.clip, "encode_texts", lambda t: (calls.append("clip"), real_encode(t))[1])
    app = _app(sample_store, tiny_models, tmp_path, warm_up="now")
    assert calls == ["prepare", "clip"]  # snapshot loaded and the CLIP text tower run once, before any request
    assert app.test_client().get("/readyz").status_code == 200


def test_injected_models_mean_no_warm_up_and_ready(sample_store, tiny_models, tmp_path):
    app = _app(sample_store, tiny_models, tmp_path)
    assert app.test_client().get("/readyz").get_json()["warm_s"] == 0.0


def test_api_info_names_the_ocr_reader_and_every_model(sample_store, tiny_models, tmp_path):
    body = _app(sample_store, tiny_models, tmp_path).test_client().get("/api/info").get_json()
    assert body["models"]["ocr"].startswith("rapidocr_onnxruntime-")
    assert set(body["available"]) == {"clip", "text", "ocr", "caption", "vqa", "rerank"}
    assert body["available"]["ocr"]["state"] == "bundled" and body["available"]["rerank"]["state"] == "off"
    off = create_app(Settings(store=sample_store[0].url, cache_dir=str(tmp_path / "c2"), ocr=False),
                     store=sample_store[0], models=tiny_models).test_client().get("/api/info").get_json()
    assert off["models"]["ocr"] is None and off["available"]["ocr"]["state"] == "off"

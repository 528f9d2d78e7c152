"""Rerank with tiny random-weight models built from configs and saved the way real ones ship (a BLIP ITM folder
and a BERT cross-encoder folder with a tokenizer from a vocab file written here); the real loading path (a Hugging
Face id that is not cached) gives a notice naming the model and how to provide it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lifeseeker.config import Settings
from lifeseeker.engine.rerank import blend_scores, image_loader
from lifeseeker.engine.search import SearchRequest, SearchService
from lifeseeker.errors import ModelUnavailable
from lifeseeker.models.rerank import (CombinedReranker, CrossEncoderReranker, ItmReranker, load_cross_encoder,
                                      load_itm, load_reranker, parse_kinds)
from lifeseeker.webui import create_app

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]", "a", "photo", "of", "street", "walk", "in", "old",
         "town", "arezzo", "italy", "sign", "time", "location", "#", ":", "-", ",", "2008", "10", "22", "the", "city"]


def _vocab(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    return folder / "vocab.txt"


def build_tiny_blip_itm(folder: Path, seed: int = 0) -> Path:
    """A BLIP image-text retrieval model (ITM head) with random weights, 32 px images, saved with its processor."""
    import torch
    from transformers import BertTokenizer, BlipConfig, BlipForImageTextRetrieval, BlipImageProcessor, BlipProcessor

    tok = BertTokenizer(str(_vocab(folder)))
    text = dict(vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                intermediate_size=37, encoder_hidden_size=32, max_position_embeddings=64, pad_token_id=0,
                bos_token_id=5, sep_token_id=3)
    vision = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37, image_size=32,
                  patch_size=16)
    torch.manual_seed(seed)
    model = BlipForImageTextRetrieval(BlipConfig(text_config=text, vision_config=vision, projection_dim=16,
                                                 image_text_hidden_size=16))
    model.save_pretrained(folder)
    BlipProcessor(image_processor=BlipImageProcessor(size={"height": 32, "width": 32}), tokenizer=tok
                  ).save_pretrained(folder)
    return folder


def build_tiny_cross_encoder(folder: Path, seed: int = 0) -> Path:
    """A one-label BERT sequence classifier with random weights + a WordPiece tokenizer, as a CrossEncoder folder."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    tok = BertTokenizer(str(_vocab(folder)))
    torch.manual_seed(seed)
    model = BertForSequenceClassification(BertConfig(vocab_size=len(VOCAB), hidden_size=16, num_hidden_layers=1,
                                                     num_attention_heads=2, intermediate_size=32,
                                                     max_position_embeddings=128, num_labels=1))
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def blip_dir(tmp_path_factory):
    return build_tiny_blip_itm(tmp_path_factory.mktemp("tiny-blip-itm"))


@pytest.fixture(scope="module")
def cross_dir(tmp_path_factory):
    return build_tiny_cross_encoder(tmp_path_factory.mktemp("tiny-cross"))


def test_itm_scores_images_and_skips_missing_files(blip_dir, sample_store):
    store, _ = sample_store
    itm = load_itm(str(blip_dir))
    assert isinstance(itm, ItmReranker)
    docs = store.get(["photos/jpg/gps/DSCN0010.jpg", "photos/jpg/gps/DSCN0012.jpg", "photos/heic/IMG_5195.HEIC"])
    docs.append({"image_id": "gone", "collection": "photos", "path": "no/such/file.jpg"})
    docs.append({"image_id": "escape", "collection": "photos", "path": "../../etc/passwd"})
    p = itm.score("a walk in the old town", docs, image_loader(store))
    assert p.shape == (5,) and np.isnan(p[3:]).all()
    assert ((p[:3] > 0) & (p[:3] < 1)).all()
    again = itm.score("a walk in the old town", docs[:3], image_loader(store))
    np.testing.assert_allclose(again, p[:3], rtol=1e-5)  # deterministic (eval mode)


def test_cross_encoder_scores_capmeta_and_combined_takes_the_mean(blip_dir, cross_dir, sample_store):
    store, _ = sample_store
    ce = load_cross_encoder(str(cross_dir))
    assert isinstance(ce, CrossEncoderReranker)
    docs = store.get(["photos/jpg/gps/DSCN0010.jpg", "photos/jpg/gps/DSCN0012.jpg"]) + [{"image_id": "blank", "capmeta": ""}]
    p = ce.score("walk in arezzo", docs)
    assert ((p[:2] > 0) & (p[:2] < 1)).all() and np.isnan(p[2])
    both = CombinedReranker([load_itm(str(blip_dir)), ce])
    assert both.name == f"{blip_dir}+{cross_dir}"
    q = load_itm(str(blip_dir)).score("walk in arezzo", docs, image_loader(store))
    got = both.score("walk in arezzo", docs, image_loader(store))
    np.testing.assert_allclose(got[:2], (q[:2] + p[:2]) / 2, rtol=1e-5)
    assert np.isnan(got[2])  # neither could score it


def test_search_reranks_the_top_n_by_the_documented_blend(blip_dir, sample_store, tiny_models):
    store, _ = sample_store
    svc = SearchService(store, tiny_models, load_itm(str(blip_dir)), rerank_n=8, rerank_blend=0.6)
    req = SearchRequest("a walk in the old town", limit=20)
    fused = svc.search(SearchRequest("a walk in the old town", limit=20, rerank=False)).hits
    resp = svc.search(req)
    assert resp.reranked_by == str(blip_dir) and set(resp.rerank_scores) == {h.image_id for h in fused[:8]}
    probs = np.array([resp.rerank_scores[h.image_id] for h in fused[:8]])
    final, shown = blend_scores(np.array([h.score for h in fused[:8]]), probs, 0.6)
    want = [fused[i].image_id for i in sorted(range(8), key=lambda i: (-final[i], fused[i].image_id))]
    assert [h.image_id for h in resp.hits[:8]] == want
    by_id = {h.image_id: h for h in resp.hits}
    for i in range(8):
        assert by_id[fused[i].image_id].score == pytest.approx(shown[i])
        assert by_id[fused[i].image_id].iat == fused[i].iat  # components stay the raw cosines
    assert [h.image_id for h in resp.hits[8:]] == [h.image_id for h in fused[8:]]
    assert [h.score for h in resp.hits] == sorted((h.score for h in resp.hits), reverse=True)
    override = svc.search(SearchRequest("a walk in the old town", limit=20, rerank_n=3, rerank_blend=0.0))
    assert len(override.rerank_scores) == 3
    assert [h.image_id for h in override.hits] == [h.image_id for h in fused]  # blend 0: fused order kept


def test_settings_and_app_wire_the_reranker(blip_dir, cross_dir, sample_store, tiny_models, tmp_path):
    env = {"LIFESEEKER_RERANK": "itm,cross", "LIFESEEKER_RERANK_MODEL": str(blip_dir),
           "LIFESEEKER_RERANK_CROSS_MODEL": str(cross_dir), "LIFESEEKER_RERANK_N": "5",
           "LIFESEEKER_RERANK_BLEND": "0.25"}
    s = Settings.from_env(env)
    assert (s.rerank, s.rerank_n, s.rerank_blend) == ("itm,cross", 5, 0.25)
    with pytest.raises(ValueError, match="LIFESEEKER_RERANK_N"):
        Settings.from_env({"LIFESEEKER_RERANK_N": "many"})
    assert parse_kinds("off") == () and parse_kinds("itm+cross") == ("itm", "cross")
    with pytest.raises(ValueError, match="LIFESEEKER_RERANK"):
        parse_kinds("bm25")
    reranker, notices = load_reranker(s)
    assert isinstance(reranker, CombinedReranker) and notices == []
    store, _ = sample_store
    app = create_app(s.with_overrides(store=store.url, cache_dir=str(tmp_path)), store=store, models=tiny_models)
    body = app.test_client().get("/api/search", query_string={"q": "walk in the old town", "limit": 10}).get_json()
    assert body["reranked_by"] == f"{blip_dir}+{cross_dir}"
    assert sum("rerank" in h for h in body["hits"]) == 5
    assert all(0 < h["rerank"] < 1 for h in body["hits"] if "rerank" in h)
    off = app.test_client().get("/api/search", query_string={"q": "walk", "rerank": "0"}).get_json()
    assert off["reranked_by"] is None and not any("rerank" in h for h in off["hits"])


def test_absent_weights_skip_rerank_with_a_notice(sample_store, tiny_models, tmp_path):
    with pytest.raises(ModelUnavailable, match="Salesforce/blip-itm-base-coco.*LIFESEEKER_RERANK_MODEL"):
        load_itm("Salesforce/blip-itm-base-coco")
    with pytest.raises(ModelUnavailable, match="cross-encoder/ms-marco-MiniLM-L-6-v2.*LIFESEEKER_RERANK_CROSS_MODEL"):
        load_cross_encoder("cross-encoder/ms-marco-MiniLM-L-6-v2")
    with pytest.raises(ModelUnavailable, match="no-such-dir"):
        load_itm(str(tmp_path / "no-such-dir"))
    store, _ = sample_store
    app = create_app(Settings(store=store.url, cache_dir=str(tmp_path)), store=store, models=tiny_models)
    client = app.test_client()
    body = client.get("/api/search", query_string={"q": "walk"}).get_json()
    assert body["reranked_by"] is None
    assert any(n.startswith("Rerank skipped") and "Salesforce/blip-itm-base-coco" in n for n in body["notices"])
    forced = client.get("/api/search", query_string={"q": "walk", "rerank": "1"}).get_json()
    assert "Rerank asked for, but no rerank model is loaded: fused scores shown" in forced["notices"]
    assert "Rerank skipped" in client.get("/", query_string={"q": "walk"}).get_data(as_text=True)


def test_missing_model_notices_quote_the_first_sentence_of_the_error_cut_at_a_word():
    from lifeseeker.models.rerank import _brief

    exc = OSError("Can't load image processor for 'Salesforce/blip-itm-base-coco'. If you were trying to load it "
                  "from 'https://huggingface.co/models', make sure you don't have a local directory")
    assert _brief(exc) == "Can't load image processor for 'Salesforce/blip-itm-base-coco'"
    long = OSError("word " * 60)
    assert _brief(long).endswith("word\u2026") and len(_brief(long)) <= 161

"""Question answering end to end: VQA over the evidence images (tiny BLIP through the real local-dir path, and a
fixed-answer VQA for the aggregation), OCR as evidence, the JSON API ``/api/answer``, the ``/ask`` page and the
``lifeseeker ask`` command."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner

from lifeseeker.config import Settings
from lifeseeker.engine.qa import OCR_BONUS, QaService, normalise_answer, vote_answer
from lifeseeker.engine.search import SearchService
from lifeseeker.engine.store import open_store
from lifeseeker.models.vqa import load_vqa
from lifeseeker.webui import create_app

from .test_qa_synth import build_lifelog, text_only_models
from .test_qa_vqa import build_tiny_blip_vqa_dir

COLOUR_Q = "What colour was the golden Buddha statue in the tunnel?"
BBQ_Q = "How many times did I have a BBQ in the garden at home in May 2018?"


@pytest.fixture(scope="module")
def lifelog(tmp_path_factory, minilm):
    root = tmp_path_factory.mktemp("qa-web")
    store = open_store(f"lance://{root / 'store'}")
    docs = build_lifelog(store, minilm, root / "images")
    return store, docs, root


@pytest.fixture(scope="module")
def tiny_vqa_dir(tmp_path_factory):
    return build_tiny_blip_vqa_dir(tmp_path_factory.mktemp("tiny-blip-vqa-web"))


class FixedVqa:
    """A VQA stand-in answering by image id (the loader hands it the id), counting its calls."""

    name = "fixed"

    def __init__(self, answers: dict[str, str], default: str = "gold"):
        self.answers, self.default, self.calls = answers, default, []

    def answer(self, images, question):
        self.calls.append((list(images), question))
        return [self.answers.get(i, self.default) for i in images]


def _id_loader(store, image_id):
    return image_id


# --- VQA over the evidence ----------------------------------------------------------------------------------------


def test_tiny_vqa_answers_every_evidence_image_and_the_vote_aggregates_them(lifelog, minilm, tiny_vqa_dir):
    store, _, _ = lifelog
    vqa = load_vqa(str(tiny_vqa_dir), device="cpu", batch_size=2)
    qa = QaService(SearchService(store, text_only_models(minilm)), vqa=vqa)
    a = qa.answer(COLOUR_Q)
    assert (a.answer_type, a.kind) == ("visual", "colour")
    assert len(a.images) == 3 and {im.place for im in a.images} == {"Umong Temple"}  # one event, its top 3
    assert all(isinstance(im.answer, str) for im in a.images)  # each image's own possible answer
    winner, conf, votes = vote_answer([(normalise_answer(im.answer), im.score) for im in a.images])
    assert a.value == winner and a.confidence == pytest.approx(conf) and a.votes == votes
    assert normalise_answer(a.answer) == winner
    assert str(tiny_vqa_dir) in a.explanation and not any("No VQA" in n for n in a.notices)


def test_vqa_is_asked_the_asking_sentence_once_per_evidence_image(lifelog, minilm):
    store, _, _ = lifelog
    fixed = FixedVqa({})
    qa = QaService(SearchService(store, text_only_models(minilm)), vqa=fixed, image_loader=_id_loader)
    a = qa.answer("I went to a temple in Thailand. What colour was the small Buddha statue in the tunnel?")
    images, question = fixed.calls[0]
    assert len(fixed.calls) == 1 and question == "What colour was the small Buddha statue in the tunnel?"
    assert images == [im.image_id for im in a.images]
    assert a.answer == "gold" and a.confidence == 1.0 and a.events[0].answer == "gold"


def test_score_weighted_vote_over_fixed_image_answers(lifelog, minilm):
    store, _, _ = lifelog
    qa0 = QaService(SearchService(store, text_only_models(minilm)), vqa=FixedVqa({}), image_loader=_id_loader)
    ims = qa0.answer(COLOUR_Q).images
    best, second, third = ims[0].image_id, ims[1].image_id, ims[2].image_id
    # two weaker images agree ("Yellow", "yellow " normalise alike) against the best one: the sum wins
    fixed = FixedVqa({best: "gold", second: "Yellow", third: "yellow "})
    qa = QaService(SearchService(store, text_only_models(minilm)), vqa=fixed, image_loader=_id_loader)
    a = qa.answer(COLOUR_Q)
    assert a.value == "yellow" and a.answer == "Yellow"  # shown as the first image said it
    w = {im.image_id: im.score for im in a.images}
    assert a.votes[0] == ("yellow", pytest.approx(w[second] + w[third]), 2)
    assert a.votes[1] == ("gold", pytest.approx(w[best]), 1)
    assert a.confidence == pytest.approx((w[second] + w[third]) / sum(w.values()))
    assert [im.answer for im in a.images] == ["gold", "Yellow", "yellow "]


def test_most_often_counts_occasions_each_answering_once(lifelog, minilm):
    """"Which airline did I fly with most often": every airport visit (event) answers by the vote of its images; the
    answer given by the most visits wins (Dublin Airport twice -> aer lingus, 2 of 4)."""
    store, docs, _ = lifelog
    airline = {"Dublin Airport": "Aer Lingus", "Frankfurt Airport": "Lufthansa", "Istanbul Airport": "Turkish"}
    fixed = FixedVqa({d["image_id"]: airline.get(d["semantic_name"], "none") for d in docs})
    qa = QaService(SearchService(store, text_only_models(minilm)), vqa=fixed, image_loader=_id_loader)
    a = qa.answer("Which airline did I fly with most often in May 2019?")
    assert (a.answer_type, a.kind, a.most) == ("visual", "ocr", True)
    assert a.value == "aer lingus" and a.answer == "Aer Lingus" and a.confidence == pytest.approx(0.5)
    assert a.votes[0] == ("aer lingus", 2.0, 2) and sorted(v for v, _, _ in a.votes[1:]) == ["lufthansa", "turkish"]
    assert sorted((e.place, e.answer) for e in a.events) == [
        ("Dublin Airport", "aer lingus"), ("Dublin Airport", "aer lingus"), ("Frankfurt Airport", "lufthansa"),
        ("Istanbul Airport", "turkish")]


def test_unreadable_evidence_image_is_skipped_with_a_notice(lifelog, minilm):
    store, _, _ = lifelog
    qa0 = QaService(SearchService(store, text_only_models(minilm)), vqa=FixedVqa({}), image_loader=_id_loader)
    broken = qa0.answer(COLOUR_Q).images[0].image_id

    def loader(store, image_id):
        if image_id == broken:
            raise OSError("truncated file")
        return image_id

    qa = QaService(SearchService(store, text_only_models(minilm)), vqa=FixedVqa({}), image_loader=loader)
    a = qa.answer(COLOUR_Q)
    assert [im.answer for im in a.images] == [None, "gold", "gold"]
    assert "1 evidence image(s) could not be read" in a.notices[-1]


def test_ocr_text_confirms_an_answer(tmp_path, minilm):
    """OCR questions: an image whose own OCR text holds its VQA answer votes with (1 + OCR_BONUS) x its score."""
    store = open_store(f"lance://{tmp_path / 'ocr'}")
    from lifeseeker.engine.timeparts import time_fields
    from lifeseeker.ingest.enrich.capmeta import capmeta

    content = "a large airplane at the gate with the airline logo on its tail"
    docs = []
    for k, ocr in enumerate(["", "LUFTHANSA A380", ""]):
        t = datetime(2018, 5, 20, 9, 0) + timedelta(minutes=k)
        docs.append({"image_id": f"o{k}", "collection": "o", "path": f"o{k}.jpg", "local_time": t,
                     **time_fields(t), "semantic_name": "Frankfurt Airport", "country": "Germany",
                     "caption": content, "ocr_text": ocr or None,
                     "capmeta": capmeta(content, t, ["Frankfurt Airport", "Germany"])})
    for d, v in zip(docs, minilm.encode_texts([d["capmeta"] for d in docs])):
        d["capmeta_vec"] = v
    store.ensure_schema({"clip_vec": 0, "capmeta_vec": minilm.dims})
    store.upsert(docs)
    fixed = FixedVqa({"o0": "ryanair", "o1": "Lufthansa", "o2": "klm"})
    qa = QaService(SearchService(store, text_only_models(minilm)), vqa=fixed, image_loader=_id_loader)
    a = qa.answer("What airline operated the airplane at the gate in Frankfurt Airport?")
    assert (a.answer_type, a.kind) == ("visual", "ocr")
    w = {im.image_id: im.score for im in a.images}
    votes = {v: (wt, n) for v, wt, n in a.votes}
    assert votes["lufthansa"] == (pytest.approx((1 + OCR_BONUS) * w["o1"]), 1)
    assert votes["ryanair"] == (pytest.approx(w["o0"]), 1) and votes["klm"] == (pytest.approx(w["o2"]), 1)
    assert max(w.values()) < 1.5 * min(w.values())  # near-equal scores: the OCR bonus decides
    assert a.answer == "Lufthansa" and "OCR-confirmed" in a.explanation
    assert {im.image_id: im.ocr_text for im in a.images}["o1"] == "LUFTHANSA A380"


# --- web -----------------------------------------------------------------------------------------------------------


def _client(lifelog, minilm, vqa_model: str):
    store, _, root = lifelog
    app = create_app(Settings(store=store.url, cache_dir=str(root / f"cache-{abs(hash(vqa_model))}"),
                              vqa_model=vqa_model), store=store, models=text_only_models(minilm))
    app.testing = True
    return app.test_client()


@pytest.fixture(scope="module")
def client(lifelog, minilm, tiny_vqa_dir):
    return _client(lifelog, minilm, str(tiny_vqa_dir))


@pytest.fixture(scope="module")
def client_without_vqa(lifelog, minilm):
    return _client(lifelog, minilm, "Salesforce/blip-vqa-base")  # not in the (offline) cache


def test_api_answer_counts_with_evidence(client):
    r = client.get("/api/answer", query_string={"q": BBQ_Q})
    assert r.status_code == 200
    body = r.get_json()
    assert (body["answer"], body["value"], body["answer_type"], body["kind"]) == ("3", 3, "counting", "visits")
    assert body["confidence"] == 1.0 and len(body["events"]) == 3
    assert all(im["thumb_url"].startswith("/thumb/") for im in body["images"])


def test_api_answer_takes_the_search_filters(client):
    body = client.get("/api/answer", query_string={"q": BBQ_Q, "date_from": "2018-05-10"}).get_json()
    assert body["value"] == 2


def test_api_answer_visual_with_the_tiny_vqa_gives_each_image_an_answer(client, tiny_vqa_dir):
    body = client.get("/api/answer", query_string={"q": COLOUR_Q}).get_json()
    assert body["answer_type"] == "visual" and body["answer"]
    assert len(body["images"]) == 3 and all(isinstance(im["answer"], str) for im in body["images"])
    assert body["votes"][0]["value"] == body["value"]


def test_api_answer_without_vqa_still_answers_metadata_and_says_so_for_visual(client_without_vqa):
    meta = client_without_vqa.get("/api/answer", query_string={"q": BBQ_Q}).get_json()
    assert meta["value"] == 3
    vis = client_without_vqa.get("/api/answer", query_string={"q": COLOUR_Q}).get_json()
    assert vis["answer"] is None and vis["images"]
    note = " ".join(vis["notices"])
    assert "No VQA model is loaded" in note and "Salesforce/blip-vqa-base" in note


@pytest.mark.parametrize("params,needle", [({}, "q:"), ({"q": BBQ_Q, "date_from": "2018-13-01"}, "date_from"),
                                           ({"q": BBQ_Q, "weights": "1"}, "weights"), ({"q": "x" * 2001}, "q:")])
def test_api_answer_bad_input_is_a_400_naming_the_parameter(client, params, needle):
    r = client.get("/api/answer", query_string=params)
    assert r.status_code == 400 and needle in r.get_json()["error"]


def test_ask_page_shows_answer_evidence_and_per_image_answers(client):
    r = client.get("/ask", query_string={"q": "Where did I see a golden Buddha statue in a tunnel?"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert '<p class="answer-text">Umong Temple</p>' in html
    assert "location · place" in html and "confidence <span class=\"confidence\">100%</span>" in html
    assert html.count('class="evidence"') == 3 and html.count('<p class="image-answer">Umong Temple</p>') == 3
    assert "/thumb/q0" in html and "script-src 'self'" in r.headers["Content-Security-Policy"]


def test_ask_page_escapes_the_question_and_says_when_no_vqa(client_without_vqa):
    q = "<script>alert(1)</script> What colour was the golden Buddha statue in the tunnel?"
    html = client_without_vqa.get("/ask", query_string={"q": q}).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "No VQA model is loaded" in html and '<span class="no-answer">No answer</span>' in html


def test_ask_page_without_question_is_a_form_and_bad_filter_is_400(client):
    r = client.get("/ask")
    assert r.status_code == 200 and 'name="q"' in r.get_data(as_text=True)
    r = client.get("/ask", query_string={"q": BBQ_Q, "date_from": "nope"})
    assert r.status_code == 400 and "date_from" in r.get_data(as_text=True)


def test_evidence_thumbnail_is_served(client):
    body = client.get("/api/answer", query_string={"q": BBQ_Q}).get_json()
    r = client.get(body["images"][0]["thumb_url"])
    assert r.status_code == 200 and r.mimetype == "image/jpeg"


# --- CLI -----------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_env(lifelog):
    from lifeseeker.cli import cli
    from lifeseeker.cli.qa import commands

    for command in commands:  # what the lead's registration does
        if command.name not in cli.commands:
            cli.add_command(command)
    store, _, root = lifelog
    return cli, {"LIFESEEKER_STORE": store.url, "LIFESEEKER_VQA_MODEL": "none",
                 "LIFESEEKER_CACHE": str(root / "cli-cache")}


def test_cli_ask_json(cli_env):
    cli, env = cli_env
    r = CliRunner().invoke(cli, ["ask", BBQ_Q, "--json"], env=env)
    assert r.exit_code == 0, r.output
    body = json.loads(r.output[r.output.index("{"):])
    assert (body["value"], body["answer_type"]) == (3, "counting")


def test_cli_ask_prints_answer_type_and_evidence_with_filters(cli_env):
    cli, env = cli_env
    r = CliRunner().invoke(cli, ["ask", BBQ_Q, "--date-from", "2018-05-10"], env=env)
    assert r.exit_code == 0, r.output
    assert "answer: 2" in r.output and "type: counting/visits  confidence: 1.00" in r.output
    assert "event 2018-05-14 18:00-18:20  Home" in r.output


def test_cli_ask_visual_without_vqa_and_bad_filter(cli_env):
    cli, env = cli_env
    r = CliRunner().invoke(cli, ["ask", COLOUR_Q], env=env)
    assert r.exit_code == 0 and "answer: (none)" in r.output and "VQA is turned off" in r.output
    r = CliRunner().invoke(cli, ["ask", BBQ_Q, "--date-from", "soon"], env=env)
    assert r.exit_code != 0 and "date_from" in r.output


# --- issue 19, item 6: the counted stays on the page, and dropping one ---------------------------------------------


def test_ask_page_lists_the_counted_stays_and_a_dropped_one_leaves_the_count(client):
    import re

    page = client.get("/ask", query_string={"q": BBQ_Q}).get_data(as_text=True)
    ids = re.findall(r'<input type="checkbox" name="drop" value="([^"]+)"', page)
    assert len(ids) == 3 and "Counted (3)" in page and 'src="/static/counted.js' in page
    assert '<p class="answer-text" data-counted>3</p>' in page
    r = client.get("/ask", query_string=[("q", BBQ_Q), ("drop", ids[1])])
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and '<p class="answer-text" data-counted>2</p>' in page and "Counted (2)" in page
    assert f'value="{ids[1]}" checked' in page and page.count('class="counted-item dropped"') == 1
    body = client.get("/api/answer", query_string=[("q", BBQ_Q), ("drop", ids[0])]).get_json()
    assert body["value"] == 2 and [i["counted"] for i in body["items"]] == [False, True, True]
    assert all(e["event_id"] != ids[0] for e in body["events"])  # the dropped stay is no evidence any more


def test_counted_script_is_served_from_this_origin(client):
    r = client.get("/static/counted.js")
    assert r.status_code == 200 and "data-counted" in r.get_data(as_text=True)

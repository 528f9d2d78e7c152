"""Competition-level questions (issue 19) on the LSC-shaped synthetic lifelog (``tests/lifelog_synth.py``): visits
and nights over stays, trips and flights over the travel timeline, first/last dates, names read by OCR (metadata
OCR, and real RapidOCR on rendered shop signs), two-part colours through a tiny random-weight VQA (mechanics only),
"no photo matches" for an empty scope, and ``lifeseeker eval qa`` per answer type."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from lifeseeker.engine.qa import QaService
from lifeseeker.engine.qa.shapes import detect
from lifeseeker.engine.qa.stays import nights_at, segment_stays, timeline
from lifeseeker.engine.qa.travel import continent_of, distance_km
from lifeseeker.engine.qa.trips import flights
from lifeseeker.engine.search import SearchService
from lifeseeker.engine.store import open_store
from lifeseeker.evaluation.qa import NO_MATCH, evaluate_answers, load_questions

from . import lifelog_synth as L
from .conftest import DATA
from .test_qa_synth import text_only_models

QUESTIONS = DATA / "qa" / "lifelog_questions.jsonl"
HELDOUT = DATA / "qa" / "lifelog_questions_heldout.jsonl"
METADATA_TYPES = ("visits", "nights", "trips", "flights", "dates")


@pytest.fixture(scope="module")
def lifelog(tmp_path_factory, minilm):
    root = tmp_path_factory.mktemp("synth-lifelog")
    store = open_store(f"lance://{root / 'store'}")
    docs = L.build(store, minilm, root / "images", only_images=lambda d: d["caption"] in (L.SEE["bow"],))
    return store, docs, root


@pytest.fixture(scope="module")
def qa(lifelog, minilm):
    return QaService(SearchService(lifelog[0], text_only_models(minilm)), vqa=None, vqa_error="test: no VQA")


# --- the pure parts: the stay rule, nights, distances, continents, flights ------------------------------------------


def _doc(i, t, sem, loc="X", country="Ireland", lat=53.0, lon=-6.0, caption=""):
    return {"image_id": f"d{i}", "local_time": t, "semantic_name": sem, "locality": loc, "country": country,
            "location": {"lat": lat, "lon": lon} if lat is not None else None, "caption": caption}


def test_a_street_frame_between_two_shop_frames_makes_two_visits_and_a_long_gap_ends_a_stay():
    t = datetime(2019, 1, 12, 11, 0)
    docs = [_doc(0, t, "Penneys"), _doc(1, t.replace(minute=20), "Penneys"), _doc(2, t.replace(minute=30), None),
            _doc(3, t.replace(minute=40), "Penneys"), _doc(4, t.replace(hour=13, minute=11), "penneys")]
    stays = segment_stays(timeline(docs))
    assert [(s.place, len(s.docs)) for s in stays] == [("Penneys", 2), ("X", 1), ("Penneys", 1), ("penneys", 1)]
    # 11:40 -> 13:11 is 91 minutes: over the 90-minute gap; with a 100-minute gap the folded names join
    assert [len(s.docs) for s in segment_stays(timeline(docs), gap_minutes=100)] == [2, 1, 2]


def test_a_night_needs_the_last_frame_of_the_day_and_the_first_of_the_next_there():
    docs = [_doc(0, datetime(2019, 5, 15, 22), "Hudson Hotel"), _doc(1, datetime(2019, 5, 16, 8), "Hudson Hotel"),
            _doc(2, datetime(2019, 5, 16, 22), "Hudson Hotel"), _doc(3, datetime(2019, 5, 17, 8), "JFK Airport"),
            _doc(4, datetime(2019, 5, 17, 13), "Hudson Hotel"), _doc(5, datetime(2019, 5, 18, 9), "Hudson Hotel")]
    assert nights_at(docs, lambda d: d["semantic_name"] == "Hudson Hotel") == [date(2019, 5, 15)]  # 17th: 13:00


def test_distances_and_continents_come_from_haversine_and_geonames():
    # Dublin Airport -> JFK great circle ~5,100 km (published DUB-JFK distance: 5,103 km / 3,171 mi)
    assert distance_km({"lat": 53.427, "lon": -6.244}, {"lat": 40.641, "lon": -73.778}) == pytest.approx(5104, abs=5)
    assert [continent_of(c) for c in ("Ireland", "Thailand", "Qatar", "United States", "UK", "Atlantis", None)] == [
        "EU", "AS", "AS", "NA", "EU", None, None]


def test_a_long_train_ride_is_no_flight_but_a_jump_with_an_airport_is():
    t = datetime(2019, 6, 22, 9)
    train = [_doc(i, t.replace(hour=9 + i), None, lat=53.35 + 0.3 * i, lon=-6.25) for i in range(5)]
    assert flights(train) == []
    jump = [_doc(0, t, "Dublin Airport", lat=53.427, lon=-6.244),
            _doc(1, t.replace(hour=10), None, lat=None, caption="clouds through the airplane window"),
            _doc(2, t.replace(hour=13), "JFK Airport", country="United States", lat=40.641, lon=-73.778)]
    (f,) = flights(jump)
    assert f.kinds == {"intercontinental", "international", "long-haul"} and len(f.evidence) == 3
    slow = [_doc(0, t, None, lat=53.0, lon=-6.0), _doc(1, t.replace(hour=20), None, lat=50.0, lon=-6.0)]
    assert flights(slow) == []  # 333 km in 11 h, no airport: a ferry or a car


def test_question_shapes():
    assert detect("How many intercontinental flights did I take in 2019?", True).modifier == "intercontinental"
    assert detect("How many nights did I stay at the Hudson Hotel?", True).name == "nights"
    assert detect("How many times did I travel outside Ireland?", True).name == "trips"
    assert detect("How many times did I go to Bean There Café?", True).name == "visits"
    assert detect("What was my last day at work in 2019?", True).order == "last"
    assert detect("Which brand was next to Swatch?", True).name == "names"
    assert detect("What colours were the bow and the socks?", True).objects == ("bow", "socks")
    assert detect("When did I see the Buddha?", False) is None  # a plain "when": the general time route
    assert detect("How many flights did I take between continents?", True).modifier == "intercontinental"
    assert detect("What was the date of my last day at work?", True).order == "last"
    assert detect("Which watch brand was beside Swatch?", True).name == "names"


# --- answers on the lifelog -------------------------------------------------------------------------------------------


def test_clothes_shop_visits_in_january_count_stays_not_photos(qa, lifelog):
    a = qa.answer("How many times did I visit a shop with clothes on display in January 2019?")
    assert (a.answer_type, a.kind, a.answer, a.value) == ("counting", "visits", "4", 4)
    assert [(i.place, i.start) for i in a.items] == [
        ("Penneys", datetime(2019, 1, 12, 11, 0)), ("Zara", datetime(2019, 1, 12, 11, 45)),
        ("Penneys", datetime(2019, 1, 12, 12, 25)), ("Zara", datetime(2019, 1, 26, 14, 0))]
    photos = sum(1 for d in lifelog[1] if d["caption"] == L.SEE["clothes"] and d["month"] == 1)
    assert photos == 7 + 6 + 4 + 7 and "90 min" in a.rule and all(i.image_ids for i in a.items)


def test_dropping_a_counted_stay_updates_the_count(qa):
    a = qa.answer("How many times did I go to Bean There Café in April 2019?")
    assert a.value == 3
    b = qa.answer("How many times did I go to Bean There Café in April 2019?", drop=[a.items[1].item_id])
    assert (b.answer, [i.counted for i in b.items]) == ("2", [True, False, True])


def test_intercontinental_flights_in_2019(qa):
    a = qa.answer("How many intercontinental flights did I take in 2019?")
    assert a.answer == "4"
    assert [i.place for i in a.items] == ["Frankfurt Airport → Suvarnabhumi Airport", "Hamad Airport → Dublin Airport",
                                          "Dublin Airport → JFK Airport", "JFK Airport → Dublin Airport"]
    assert "GeoNames" in a.rule


def test_dates_are_dres_text_with_the_stay_as_evidence(qa):
    a = qa.answer("What was my last day at work in 2019?")
    assert (a.answer, a.value) == ("14 June 2019", date(2019, 6, 14))
    assert a.items[0].place == "Work" and a.items[0].start == datetime(2019, 6, 14, 9, 0)
    assert qa.answer("When did I first go to Bean There Café?").answer == "9 January 2019"


@pytest.mark.parametrize("question", ["How many nights did I stay in Japan?", "How many flights did I take in 2017?",
                                      "How many times did I go to Africa?",
                                      "What was the name of the pharmacy beside the salon in 2017?"])
def test_an_empty_scope_answers_no_photo_matches(qa, question):
    a = qa.answer(question)
    assert a.answer is None and a.no_match and a.items == []
    assert any(n.startswith("No photo matches") for n in a.notices)


def test_a_venue_with_no_stay_in_a_scope_with_photos_counts_zero(qa):
    a = qa.answer("How many times did I go to Bean There Café in 2018?")
    assert (a.answer, a.no_match) == ("0", False)


def test_names_from_metadata_ocr_are_voted_and_normalised(qa):
    a = qa.answer("What was the name of the pharmacy beside the salon?")
    assert (a.answer, a.value) == ("BOOTS", "boots") and a.votes[0][2] == 5  # five frames, one vote each
    assert qa.answer("Which brand was next to Swatch?").answer == "OMEGA"
    assert qa.answer("What was the number of the bus I took to work?").answer == "46A"


# --- real RapidOCR on rendered shop signs ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ocr_qa(tmp_path_factory, minilm):
    """A lifelog whose sign frames carry the text real RapidOCR reads off their rendered pictures (as ingest
    would), and no OCR text given in advance."""
    from lifeseeker.models.ocr import load_ocr

    reader = load_ocr()
    root = tmp_path_factory.mktemp("ocr-lifelog")
    docs = [d for d in L.lifelog_docs() if d["date"] in ("2019-03-02", "2019-03-26", "2019-03-04")]
    read = {}
    for d in docs:
        d["ocr_text"] = None
        if d["caption"] in (L.SEE["grafton"], L.SEE["dutyfree"], L.SEE["bus"]):
            seen = d["caption"]
            if seen not in read:
                read[seen] = reader.read(L.draw(d))  # each sign drawn the same way: read once
            d["ocr_text"] = read[seen] or None
    store = open_store(f"lance://{root / 'store'}")
    L.embed(docs, minilm)
    store.ensure_schema({"clip_vec": 0, "capmeta_vec": minilm.dims})
    store.upsert(docs)
    return QaService(SearchService(store, text_only_models(minilm))), read


def test_real_ocr_reads_the_rendered_signs_and_answers_the_name(ocr_qa):
    qa, read = ocr_qa
    assert "BOOTS" in read[L.SEE["grafton"]].upper() and "OMEGA" in read[L.SEE["dutyfree"]].upper()
    a = qa.answer("What was the name of the pharmacy beside the salon?")
    assert a.answer.upper() == "BOOTS" and a.images and "PHARMACY" in a.images[0].ocr_text.upper()
    assert qa.answer("What was the name of the hair salon beside the pharmacy?").value == "petermark"
    assert qa.answer("Which brand was next to Swatch?").value == "omega"


# --- two-part colours: the mechanics with a tiny random-weight BLIP ---------------------------------------------------


def test_two_colours_ask_one_vqa_question_per_object_in_order(lifelog, minilm, tmp_path):
    from lifeseeker.models.vqa import load_vqa

    from .test_qa_vqa import build_tiny_blip_vqa_dir

    vqa = load_vqa(str(build_tiny_blip_vqa_dir(tmp_path / "blip")), device="cpu")
    asked = []
    real = vqa.answer

    def spy(images, question, **kw):
        asked.append((len(images), question))
        return real(images, question, **kw)

    vqa.answer = spy
    qa = QaService(SearchService(lifelog[0], text_only_models(minilm)), vqa=vqa)
    a = qa.answer("What colours were the bow and the socks?")
    assert [q for _, q in asked] == ["what colour is the bow?", "what colour is the socks?"]
    assert asked[0][0] == len(a.images) > 0
    assert a.answer == " and ".join(a.value) and len(a.value) == 2  # random weights: the words are noise
    assert all(im.answer.startswith("bow: ") and "; socks: " in im.answer for im in a.images)


# --- the evaluation: accuracy per answer type -------------------------------------------------------------------------


def test_eval_qa_per_type_on_the_synthetic_lifelog(lifelog, minilm, monkeypatch):
    from click.testing import CliRunner

    from lifeseeker.cli import cli
    from lifeseeker.cli import eval as eval_cli

    monkeypatch.setattr(eval_cli, "_search_service",
                        lambda settings: SearchService(lifelog[0], text_only_models(minilm)))
    monkeypatch.setenv("LIFESEEKER_VQA_MODEL", "none")
    res = CliRunner().invoke(cli, ["eval", "qa", str(QUESTIONS), "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output[res.output.index("{"):])
    qs = load_questions(QUESTIONS)
    assert len(qs) >= 40 and set(METADATA_TYPES) | {"names", "colours"} == {q["type"] for q in qs}
    for t in METADATA_TYPES:
        assert report["types"][t]["exact"] >= 0.9, (t, [q for q in report["questions"] if q["type"] == t
                                                        and not q["exact"]])
    assert report["types"]["names"]["exact"] >= 0.8
    assert report["types"]["colours"]["exact"] == 0.0  # no VQA weights here: unanswered, said so
    assert sum(q["reference"] == NO_MATCH for q in report["questions"]) >= 5
    res = CliRunner().invoke(cli, ["eval", "qa", str(HELDOUT), "--json"])  # other wordings (fixtures/qa/README.md)
    report = json.loads(res.output[res.output.index("{"):])
    assert report["exact"] >= 0.9, [q for q in report["questions"] if not q["exact"]]


def test_accepted_forms_count_as_correct():
    qs = [{"id": "a", "answer": "4", "answers": ["4", "four"], "type": "flights"},
          {"id": "b", "answer": "14 June 2019", "answers": ["14 June 2019", "2019-06-14"], "type": "dates"}]
    r = evaluate_answers(qs, {"a": "four", "b": "June 14, 2019"})
    assert r["exact"] == 1.0
    assert evaluate_answers(qs, {"a": "5", "b": "13 June 2019"})["exact"] == 0.0


# --- the generator is LSC-shaped: the product's LSC reader reads it --------------------------------------------------


def test_the_synthetic_lifelog_written_as_lsc_is_read_back_by_the_lsc_reader(tmp_path):
    from lifeseeker.ingest.sources.lsc import LscSource

    paths = L.write_lsc(tmp_path, {"2019-03-21", "2019-03-02"})
    src = LscSource(paths["images"], paths["metadata"], paths["concepts"], collection="synth")
    recs = {r.image_id: r for r in src.records()}
    docs = {d["image_id"]: d for d in L.lifelog_docs() if d["date"] in ("2019-03-21", "2019-03-02")}
    assert sorted(recs) == sorted(docs) and not src.problems.missing_on_disk
    hotel = recs["20190321_200000_000"]  # Riverside Hotel, Bangkok: offset from local - UTC time
    assert (hotel.lat, hotel.lon, hotel.semantic_name, hotel.utc_offset) == (13.72, 100.51, "Riverside Hotel", "+07:00")
    assert hotel.caption == L.SEE["hotel"]
    air = recs["20190321_000000_000"]  # in the air: no fix
    assert air.lat is None and air.caption == L.SEE["plane"]
    assert recs["20190302_140000_000"].ocr_text == "BOOTS PHARMACY PETER MARK HAIR SALON"

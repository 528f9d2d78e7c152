"""Question answering: exact metadata answers on a synthetic lifelog with known moments (real MiniLM over CapMeta),
the relevance cut-off, the score-weighted vote on fixed answers, and routing of the shared LSC questions."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from lifeseeker.engine.filters import Terms, Weights
from lifeseeker.engine.qa import (QaConfig, QaService, count_nights, count_trips, format_duration,
                                  normalise_answer, relevant_hits, route, time_value, vote_answer, weighted_vote)
from lifeseeker.engine.search import SearchService
from lifeseeker.engine.store import open_store
from lifeseeker.engine.store.base import Hit

from .conftest import DATA
from .test_qa_synth import build_lifelog, text_only_models


@pytest.fixture(scope="module")
def lifelog(tmp_path_factory, minilm):
    """(store, docs, image_dir): the synthetic lifelog, written once, with one PNG per document."""
    root = tmp_path_factory.mktemp("qa-lifelog")
    store = open_store(f"lance://{root / 'store'}")
    docs = build_lifelog(store, minilm, root / "images")
    return store, docs, root / "images"


@pytest.fixture(scope="module")
def qa(lifelog, minilm):
    store, _, _ = lifelog
    return QaService(SearchService(store, text_only_models(minilm)), vqa=None, vqa_error="test: no VQA")


# --- metadata answers: exact values ------------------------------------------------------------------------------


@pytest.mark.parametrize("question,kind,text,value", [
    ("What date did I visit the temple and pray to the small golden Buddha in the tunnel?", "date",
     "11 October 2019", date(2019, 10, 11)),
    ("Which month did I see the golden Buddha in the tunnel?", "month", "October", 10),
    ("What year did I see the golden Buddha in the tunnel?", "year", "2019", 2019),
    ("What day of the week did I see the golden Buddha in the tunnel?", "weekday", "Friday", "Friday"),
    ("In which month and year did I get my car's wheel repaired at the garage?", "month_year", "March 2015",
     "2015-03"),
    ("What season was it when I saw the stone cottage with the for sale sign?", "season", "Spring", "Spring"),
])
def test_time_questions_answer_from_local_time_at_the_asked_granularity(qa, question, kind, text, value):
    a = qa.answer(question)
    assert (a.answer_type, a.kind) == ("time", kind)
    assert a.answer == text and a.value == value
    assert a.confidence == pytest.approx(1.0)
    assert a.events and a.images and all(im.answer == text for im in a.images)


def test_when_in_a_named_place_is_answered_from_the_evidence_not_emptied_by_the_stay_shape(qa):
    # "when" + a place: the stay shape (issue 19) finds frames in Chiang Mai but, text-only, no stay like the thing
    # asked; the general evidence route then dates it (before the fix: answer None, "empty scope")
    a = qa.answer("When did I walk in Chiang Mai?")
    assert (a.answer_type, a.kind) == ("time", "date")
    assert a.answer == "11 October 2019" and a.images


def test_time_answer_json_has_iso_value_and_evidence(qa):
    d = qa.answer("When did I see the golden Buddha in the tunnel?").to_dict()
    assert d["answer"] == "11 October 2019" and d["value"] == "2019-10-11"
    assert d["events"][0]["start"] == "2019-10-11T10:00:00" and d["events"][0]["end"] == "2019-10-11T10:14:00"
    assert d["events"][0]["place"] == "Umong Temple" and len(d["events"][0]["image_ids"]) == 3
    json.dumps(d)  # JSON-able as is


@pytest.mark.parametrize("question,kind,text", [
    ("Where did I see a golden Buddha statue in a tunnel?", "place", "Umong Temple"),
    ("I remember seeing a Buddha statue in a tunnel. Which country was it?", "country", "Thailand"),
    ("What county was the stone cottage with the for sale sign in?", "region", "Sligo"),
    ("Which city was I in when I saw the golden Buddha in the tunnel?", "city", "Chiang Mai"),
])
def test_location_questions_answer_from_place_fields(qa, question, kind, text):
    a = qa.answer(question)
    assert (a.answer_type, a.kind, a.answer) == ("location", kind, text)
    assert a.votes[0][0] == text


def test_where_did_i_go_after_that_is_the_next_place_in_time(qa):
    a = qa.answer("I brought my car for a wheel repair in 2015. Where did I go after that?")
    assert (a.answer_type, a.relation, a.answer) == ("location", "after", "Home")
    assert a.events[0].place == "Howth Junction Business Centre"
    assert "2015-03-02 10:40" in a.explanation


def test_counting_bbq_events_inside_may_2018(qa):
    a = qa.answer("How many times did I have a BBQ in the garden at home in May 2018?")
    assert (a.answer_type, a.kind) == ("counting", "visits")  # issue 19: stays at home holding a BBQ frame
    assert a.value == 3 and a.answer == "3" and a.confidence == 1.0  # DRES form: the number
    assert sorted(e.start.date() for e in a.events) == [date(2018, 5, 7), date(2018, 5, 14), date(2018, 5, 21)]


def test_without_the_month_the_june_barbecue_counts_too(qa):
    assert qa.answer("How many times did I have a BBQ in the garden at home?").value == 4


def test_counting_something_that_never_happened_is_never(qa):
    a = qa.answer("How often did I go to mass in September 2019?")
    assert a.value == 0 and a.answer == "0" and a.events == [] and not a.no_match


@pytest.mark.parametrize("question,where,expect", [
    ("How many photos did I take in Italy?", lambda d: d["country"] == "Italy", 0),
    ("How many photos did I take in Thailand?", lambda d: d["country"] == "Thailand", 15),
    ("How many pictures did I take in Spain in 2019?",
     lambda d: d["country"] == "Spain" and d["local_time"].year == 2019, 15),
    ("How many images were taken in May 2018?",
     lambda d: (d["local_time"].year, d["local_time"].month) == (2018, 5), None),
    ("How many photos did I take in May?", lambda d: d["local_time"].month == 5, None),  # month checked per photo
])
def test_how_many_photos_is_a_metadata_count_without_vqa(qa, question, where, expect):
    from .test_qa_synth import lifelog_docs

    n = sum(1 for d in lifelog_docs() if where(d))
    assert expect is None or n == expect
    a = qa.answer(question)  # the fixture has no VQA model: a visual route would answer None
    assert (a.answer_type, a.kind, a.value, a.confidence) == ("counting", "photos", n, 1.0)
    assert a.answer == f"{n} photo{'s' if n != 1 else ''}"
    assert not any("VQA" in x for x in a.notices)
    if n:
        assert sum(int(e.answer.split()[0]) for e in a.events) == n or len(a.events) == 10


def test_how_many_photos_routing_keeps_content_counts_visual():
    assert route("How many photos did I take in Italy?").kind == "photos"
    assert route("how many pictures have we taken in Dublin").kind == "photos"
    r = route("How many photos of dogs did I take in Italy?")  # something in view: still VQA counting
    assert (r.answer_type, r.kind) == ("visual", "count")
    assert route("How many times did I go to Italy in 2019?").kind == "trips"


def test_counting_different_airports_counts_distinct_places(qa):
    a = qa.answer("How many different airports did I go to in May 2019?")
    assert (a.kind, a.value) == ("places", 3)
    assert a.answer == "3 places: Dublin Airport, Frankfurt Airport, Istanbul Airport"


def test_counting_trips_to_a_country_counts_runs_of_days(qa):
    a = qa.answer("How many times did I go to Spain in 2019?")
    assert (a.kind, a.value, a.answer) == ("trips", 2, "2")
    assert [(e.start.date(), e.end.date()) for e in a.events] == [(date(2019, 3, 1), date(2019, 3, 3)),
                                                                  (date(2019, 7, 10), date(2019, 7, 11))]
    assert qa.answer("How many times did I go to Spain in 2018?").value == 1


def test_which_month_had_the_most_barbecues(qa):
    a = qa.answer("Which month of the year 2018 did I have the most BBQs?")
    assert (a.answer_type, a.kind, a.most) == ("time", "month", True)
    assert a.answer == "May" and a.value == 5 and a.confidence == pytest.approx(3 / 4)
    assert [(v, n) for v, _, n in a.votes] == [("May", 3), ("June", 1)]


@pytest.mark.parametrize("question,seconds,text", [
    ("How long did I stay at the stone cottage with the for sale sign on 19 April?", 660, "11 minutes"),
    ("How many minutes did I spend praying in the tunnel with the small golden Buddha?", 840, "14 minutes"),
])
def test_duration_is_the_span_of_the_matching_event(qa, question, seconds, text):
    a = qa.answer(question)
    assert (a.answer_type, a.kind) == ("duration", "span")
    assert a.value == seconds and a.answer == text and a.confidence == 1.0
    assert len(a.events) == 1 and a.events[0].answer == text
    assert (a.events[0].end - a.events[0].start).total_seconds() == seconds


def test_duration_in_days_counts_distinct_days(qa):
    a = qa.answer("How many days did it take me to build my computer in March 2015?")
    assert (a.kind, a.value, a.answer) == ("days", 2, "2 days")


def test_request_filters_apply_to_the_evidence(qa):
    a = qa.answer("How many times did I have a BBQ in the garden at home?",
                  filters=[Terms("collection", ("another",))])
    assert a.value is None and a.no_match  # nothing inside the filters: "no photo matches" (issue 19)


def test_visual_question_without_vqa_says_so_and_keeps_the_evidence(qa):
    a = qa.answer("What colour was the golden Buddha in the tunnel?")
    assert (a.answer_type, a.kind, a.answer, a.confidence) == ("visual", "colour", None, 0.0)
    assert any("No VQA model is loaded" in n and "test: no VQA" in n for n in a.notices)
    assert a.images and a.images[0].answer is None
    assert {im.place for im in a.images} == {"Umong Temple"}


def test_not_a_question_answers_nothing(qa):
    a = qa.answer("golden buddha in a tunnel")
    assert a.answer_type is None and a.answer is None and "not read as a question" in a.notices[-1]


def test_stricter_floor_can_leave_no_evidence(lifelog, minilm):
    store, _, _ = lifelog
    strict = QaService(SearchService(store, text_only_models(minilm)), config=QaConfig(tat_floor=0.95))
    a = strict.answer("Where did I see a golden Buddha statue in a tunnel?")
    assert a.answer is None and "resembles" in a.explanation


# --- pure parts ----------------------------------------------------------------------------------------------------


def _hit(i: int, score: float, tat: float, iat: float = 0.0) -> Hit:
    return Hit(f"h{i}", score, iat, tat, {})


def test_relevance_cut_keeps_hits_above_the_floor_and_near_the_best():
    w = Weights(0.7, 0.3)
    hits = [_hit(0, 0.30, 1.0), _hit(1, 0.25, 0.83), _hit(2, 0.23, 0.77), _hit(3, 0.09, 0.30)]
    assert [h.image_id for h in relevant_hits(hits, w, False, True)] == ["h0", "h1"]  # 0.23 < 0.8 * 0.30
    assert [h.image_id for h in relevant_hits(hits, w, False, True, relative_cut=0.7)] == ["h0", "h1", "h2"]
    assert relevant_hits([_hit(3, 0.09, 0.30)], w, False, True) == []  # below TaT floor 0.35: nothing counts
    # with CLIP present the floor is the weighted mix: 0.7*0.2 + 0.3*0.35 = 0.245 of cosine
    mixed = [_hit(0, 0.7 * 0.25 + 0.3 * 0.3, 0.3, 0.25), _hit(1, 0.7 * 0.15 + 0.3 * 0.3, 0.3, 0.15)]
    assert [h.image_id for h in relevant_hits(mixed, w, True, True)] == ["h0"]
    assert relevant_hits(hits, w, False, False) == hits  # filters only: everything counts


def test_weighted_vote_sums_scores_per_normalised_answer():
    items = [(normalise_answer("Two"), 0.5), (normalise_answer("2"), 0.2), (normalise_answer("three"), 0.6)]
    winner, conf, votes = vote_answer(items)
    assert winner == "2" and conf == pytest.approx(0.7 / 1.3)
    assert votes == [("2", pytest.approx(0.7), 2), ("3", pytest.approx(0.6), 1)]


def test_weighted_vote_ties_break_by_votes_then_best_single_then_text():
    # equal totals: more voters win
    assert weighted_vote([("white", 0.4), ("blue", 0.2), ("blue", 0.2)])[0][0] == "blue"
    # equal totals and voters: the larger single score wins
    assert weighted_vote([("red", 0.3), ("red", 0.1), ("green", 0.2), ("green", 0.2)])[0][0] == "red"
    # all equal: alphabetical, so the outcome never depends on input order
    assert [r[0] for r in weighted_vote([("b", 0.5), ("a", 0.5)])] == ["a", "b"]
    assert [r[0] for r in weighted_vote([("a", 0.5), ("b", 0.5)])] == ["a", "b"]


def test_weighted_vote_ignores_blank_answers_and_never_subtracts():
    rows = weighted_vote([(None, 1.0), ("", 1.0), ("cat", -0.5), ("dog", 1e-9)])
    assert [r[0] for r in rows] == ["cat", "dog"]  # both clamped to the minimum weight; tie -> alphabetical
    assert vote_answer([]) == (None, 0.0, [])


def test_normalise_answer_folds_case_articles_and_number_words():
    assert normalise_answer("  The Lufthansa. ") == "lufthansa"
    assert normalise_answer("two") == "2" and normalise_answer("A") == "a"
    assert normalise_answer("06-D-58377") == "06-d-58377"


def test_time_value_formats_and_helpers():
    t = datetime(2019, 12, 24, 23, 50)
    assert time_value(t, "date") == ("24 December 2019", date(2019, 12, 24))
    assert time_value(t, "season") == ("Winter", "Winter")
    assert time_value(t, "clock") == ("23:50", "23:50")
    assert format_duration(30) == "less than a minute" and format_duration(60) == "1 minute"
    assert format_duration(36 * 60) == "36 minutes" and format_duration(5400) == "1.5 hours"
    assert format_duration(7200) == "2 hours"
    d = date.fromisoformat
    assert count_trips([d("2019-03-01"), d("2019-03-02"), d("2019-03-04"), d("2019-03-02")]) == 2
    assert count_nights([d("2016-09-10"), d("2016-09-11")]) == 1 and count_nights([d("2016-09-10")]) == 1
    assert count_nights([]) == 0


# --- routing on the shared LSC questions ---------------------------------------------------------------------------

# Label ``type`` of questions.jsonl -> (answer_type, kind); kind None = any kind of that type.
LABELS = {"Time": ("time", None), "Location": ("location", None), "Frequency": ("counting", None),
          "Duration": ("duration", None), "Counting": ("visual", "count"), "Object": ("visual", "object"),
          "Color": ("visual", "colour"), "OCR": ("visual", "ocr")}
# Where our route differs from the label on purpose (the route is what answers the question best).
JUSTIFIED = {
    "How many nights did I stay at Yeats Country Hotel in Sligo, Ireland":
        "labelled Counting (things in view), but nights of a stay are counted from the dates: counting/nights",
    "Which airline did I fly with most often in 2019?":
        "labelled Frequency, but the answer is a name read off the images (visual/ocr), aggregated over trips",
    "What season was it when I went hiking near a lake in Wicklow?":
        "labelled Object, but the season follows from the date: time/season (metadata)",
}


def _questions() -> list[dict]:
    out = []
    for path in sorted((DATA / "lsc-topics").glob("questions*.jsonl")):
        out += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return out


def _routed_right(rec: dict) -> bool:
    r = route(rec["text"])
    want_type, want_kind = LABELS[rec["type"]]
    return r.answer_type == want_type and (want_kind is None or r.kind == want_kind)


@pytest.mark.parametrize("rec", [pytest.param(q, id=q["id"], marks=[pytest.mark.xfail(
    reason=JUSTIFIED[q["text"].strip()], strict=True)] if q["text"].strip() in JUSTIFIED else [])
    for q in _questions()])
def test_shared_question_gets_the_labelled_answer_type(rec):
    assert _routed_right(rec), route(rec["text"])


def test_routing_accuracy_on_the_shared_questions():
    qs = _questions()
    right = sum(_routed_right(q) for q in qs)
    justified = sum(q["text"].strip() in JUSTIFIED for q in qs)
    assert len(qs) >= 113 and justified == len(JUSTIFIED)
    assert right == len(qs) - justified  # questions.jsonl: 110 / 113 = 97.3 %; 100 % of the rest


def test_routing_details():
    assert route("Which month of the year 2018 did I have the most BBQs?").most is True
    r = route("What was the name of the shop I visited before a short hike in Wicklow, 2019?")
    assert (r.answer_type, r.kind, r.relation) == ("location", "place", "before")
    r = route("I was driving on a bus lane. How many lanes were on that road?")
    assert (r.answer_type, r.kind, r.question) == ("visual", "count", "How many lanes were on that road?")
    assert route("How many times did I go to Thailand in 2019?").kind == "trips"
    assert route("How many times did I shave in September 2016?").kind == "events"
    assert route("Who was with me at the BBQ?").kind == "object"
    assert route("golden buddha").answer_type is None


def test_a_question_about_a_place_with_no_photo_gets_no_answer_not_another_place(qa, lifelog):
    _, docs, _ = lifelog
    assert not any(d.get("country") == "Peru" for d in docs)
    a = qa.answer("What date did I see the golden Buddha in the tunnel in Peru?")
    assert a.answer is None and a.no_match and a.explanation == "no photo matches in Peru"
    assert "No photo matches in Peru." in a.notices
    # a place that has photos stays a soft constraint: the answer still comes
    assert qa.answer("What date did I see the golden Buddha in the tunnel in Thailand?").answer == "11 October 2019"


def test_a_question_whose_content_is_its_typed_filter_is_answered_from_the_filtered_photos(qa, lifelog):
    _, docs, _ = lifelog
    days = {d["local_time"].date() for d in docs if d.get("country") == "Thailand" and d.get("local_time")}
    a = qa.answer("When was I in country:Thailand?")
    assert a.answer is not None and a.value in days
    assert qa.answer("When was I in country:Thailand?").answer == qa.answer("When was I in country:Thailand").answer


# --- yes/no questions of presence (issue 21, item 8) ----------------------------------------------------------------


@pytest.mark.parametrize("question,absent", [("Did I ever go to Paris?", "Paris"),
                                             ("Have I ever been to Italy?", "Italy"),
                                             ("Was I ever in Japan?", "Japan")])
def test_a_place_the_lifelog_never_shows_answers_no(qa, lifelog, question, absent):
    _, docs, _ = lifelog
    assert not any(absent in (d.get("city"), d.get("country")) for d in docs)
    a = qa.answer(question)
    assert (a.answer, a.value, a.answer_type, a.kind) == ("No", False, "counting", "yes-no")
    assert a.events == [] and a.images == []


@pytest.mark.parametrize("question,field,place", [("Did I ever go to Barcelona?", "city", "Barcelona"),
                                                  ("Have I ever been to Thailand?", "country", "Thailand"),
                                                  ("Have we been to Spain?", "country", "Spain")])
def test_a_place_the_lifelog_shows_answers_yes_with_its_trips_as_evidence(qa, lifelog, question, field, place):
    _, docs, _ = lifelog
    there = {d["image_id"] for d in docs if d.get(field) == place}
    a = qa.answer(question)
    assert (a.answer, a.value) == ("Yes", True)
    assert a.items and all(i.counted for i in a.items)
    assert a.images and {im.image_id for im in a.images} <= there
    first = min(d["local_time"] for d in docs if d["image_id"] in there)
    assert f"the first on {first:%d %b %Y}" in a.explanation


def test_a_venue_presence_question_counts_stays_there(qa, lifelog):
    _, docs, _ = lifelog
    a = qa.answer("Was I ever at Dublin Airport?")
    assert (a.answer, a.value) == ("Yes", True) and "visit" in a.explanation
    assert {im.image_id for im in a.images} <= {d["image_id"] for d in docs if d["semantic_name"] == "Dublin Airport"}


def test_presence_shape_needs_an_auxiliary_question_about_going_or_being_somewhere():
    from lifeseeker.engine.qa.shapes import detect

    for q in ("Did I ever go to Paris?", "Have I ever been to Italy?", "Was I in Rome in 2019?",
              "I was on holiday. Did we visit Rome?", "Have I travelled to Asia?"):
        assert detect(q, scope_hint=True).name == "ever", q
    for q in ("Did I wear a hat at the BBQ?", "When did I go to Paris?", "How many times did I go to Paris?",
              "Where did I go after the airport?"):
        s = detect(q, scope_hint=True)
        assert s is None or s.name != "ever", q

"""Issue 18: the kinds of miss the parser made on held-out real texts, tested on this project's own new examples
(tests/fixtures/query/new-kinds.jsonl, questions-new-kinds.jsonl: written here, never taken from LSC'26 texts) and
on the specific values of each kind. The older labelled files (tests/fixtures/lsc-topics) are scored in
test_query_parse.py and must not regress."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from lifeseeker.cli.query import evaluate
from lifeseeker.engine.qa.routing import route
from lifeseeker.engine.query.parse import parse_query
from lifeseeker.engine.query.soft import SoftDateRange, SoftPlace

FIX = Path(__file__).parent / "fixtures" / "query"


def _records(name: str) -> list[dict]:
    return [json.loads(line) for line in (FIX / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def test_new_set_exact_match_and_routing_at_least_95_percent():
    res = evaluate(_records("new-kinds.jsonl"))
    assert res["n"] >= 100 and res["exact_rate"] >= 0.95, res["failures"]
    q = evaluate(_records("questions-new-kinds.jsonl"))
    assert q["answer_type"]["n"] >= 40 and q["answer_type"]["accuracy"] >= 0.95, q["failures"]
    kinds = {r["kind"] for r in _records("new-kinds.jsonl")}
    assert kinds == {"common", "region", "negation", "meal", "range", "false_friend"}


@pytest.mark.parametrize("text", ["Cat staring at a laptop", "Young toddler", "a piece of Orange", "Holiday decorations",
                                  "Mother Mary", "image of man baking", "Boston fern on a table",
                                  "Shanghai noodles", "Charlotte and I were eating cake"])
def test_common_words_are_no_towns(text):
    p = parse_query(text)
    assert (p.cities, p.countries) == ((), ()), p.decisions
    assert any(d["as"] is None and "not a place" in d["evidence"] for d in p.decisions)  # the evidence is shown


def test_places_with_evidence_still_count():
    assert parse_query("the orange cat in Orange").cities == ("Orange",)  # after a place preposition
    assert parse_query("a pint in Cork").countries == ("Ireland",)
    assert parse_query("Berlin in the snow").cities == ("Berlin",)  # a city of millions, bare, not a modifier
    p = parse_query("sunset in Split")
    assert p.cities == ("Split",) and p.decisions[-1]["evidence"] == "after 'in'"


def test_continents_and_regions_are_country_sets():
    asia = parse_query("a temple somewhere in Asia").countries
    assert {"Japan", "China", "Thailand", "India"} <= set(asia) and "Ireland" not in asia and len(asia) >= 45
    assert parse_query("somewhere in Scandinavia").countries == ("Denmark", "Norway", "Sweden")
    assert "Ireland" in parse_query("a train station in Europe").countries
    assert parse_query("in Asia").cities == ()  # never the town Asia (Philippines)
    assert parse_query("Asia Market shopping bag").countries == ()


def test_negated_places_become_exclusions_and_destinations_no_boost():
    p = parse_query("in Ireland (but not in Dublin)")
    assert (p.countries, p.cities, p.excluded) == (("Ireland",), (), ("Dublin",))
    assert SoftPlace("places", ("Dublin",), weight=-0.05) in p.soft  # a soft penalty, not a positive boost
    assert parse_query("a castle outside of Ireland").excluded == ("Ireland",)
    assert parse_query("a castle outside of Ireland").countries == ()
    p = parse_query("waiting at the departure gate, going to Shanghai")
    assert (p.cities, p.countries, p.places) == ((), (), ("Shanghai",))
    assert parse_query("a flight from Dublin to London").cities == ("Dublin", "London")  # a route: both


def test_meal_words_as_nouns_are_no_hours():
    for text in ("breakfast cereal", "dinner tables", "a stack of dinner plates", "a breakfast plate",
                 "we ate dinner after seeing the mugs", "looking at mugs, then we ate dinner"):
        assert parse_query(text).hour_ranges == (), text
    assert parse_query("having breakfast in a hotel").hours == [6, 10]
    assert parse_query("Where did I have dinner after visiting the museum?").hours == [17, 22]


def test_one_sided_ranges_and_reference_dates():
    p = parse_query("before St. Patrick's Day 2019")
    assert (p.date_from, p.date_to) == (None, date(2019, 3, 16))
    assert SoftDateRange(date(1900, 1, 1), date(2019, 3, 16)) in p.soft
    assert parse_query("prior to 2010").date_to == date(2009, 12, 31)
    assert parse_query("after Christmas 2018").date_from == date(2018, 12, 26)
    assert (parse_query("since May 2019").date_from, parse_query("since May 2019").date_to) == (date(2019, 5, 1), None)
    p = parse_query("It was September 2016. On the 27th I think.")
    assert (p.date_from, p.date_to) == (date(2016, 9, 27), date(2016, 9, 27))
    p = parse_query("Assuming that today is 1 July 2020, what did I eat last October?", today=date(2026, 1, 1))
    assert (p.date_from, p.date_to) == (date(2019, 10, 1), date(2019, 10, 31))
    assert parse_query("early in the morning").hours == [5, 8]
    p = parse_query("during the Christmas season in 2018")
    assert (p.date_from, p.date_to) == (date(2018, 12, 1), date(2019, 1, 6))
    today = date(2020, 7, 1)
    assert parse_query("last summer", today=today).date_from == date(2019, 6, 1)
    assert parse_query("last summer", today=date(2020, 10, 10)).date_to == date(2020, 8, 31)
    p = parse_query("two weeks ago", today=today)  # Wednesday 17 June 2020 -> its week Monday..Sunday
    assert (p.date_from, p.date_to) == (date(2020, 6, 15), date(2020, 6, 21))
    assert parse_query("last October", today=today).date_from == date(2019, 10, 1)
    assert parse_query("last October", today=date(2019, 11, 5)).date_from == date(2019, 10, 1)


@pytest.mark.parametrize("text", ["Turkish Airlines plane", "a plate of French fries", "an Irish postbox",
                                  "Chinese posters", "NTCIR-14 poster", "it was 30 degrees", "pump #8",
                                  "buying snacks in a 7-Eleven", "room 2019 at the hotel", "platform 2017 sign"])
def test_false_friends_give_nothing(text):
    c = parse_query(text).constraints()
    assert c == {"is_question": False}, c


def test_dcu_in_capitals_is_the_landmark():
    for text in ("walking around DCU", "walking around dcu"):
        assert parse_query(text).cities == ("Dublin",), text


@pytest.mark.parametrize("text,answer_type,kind", [
    ("Find any address that I lived at in 2019.", "location", "place"),
    ("Tell me the name of the restaurant where I ate sushi.", "location", "place"),
    ("On which specific date did I visit the zoo?", "time", "date"),
    ("On which date did I buy a new laptop?", "time", "date"),
    ("I walked in St. Anne's Park with a friend. Which month was it?", "time", "month"),
    ("On what date did I go hiking with Dr. Murphy?", "time", "date"),
    ("In which mall did I buy a blue jacket?", "location", "place"),
    ("At which convention centre did I attend the expo?", "location", "place"),
    ("I remember eating noodles, but where was that?", "location", "place"),
])
def test_routing(text, answer_type, kind):
    r = route(text)
    assert (r.answer_type, r.kind) == (answer_type, kind), r


@pytest.mark.parametrize("text", ["Zombies on the platform?", "Dinner with friends?", "Find the time when I was "
                                  "looking at an old clock", "Find the moment when I was at the mall"])
def test_titles_and_searches_are_no_questions(text):
    assert not parse_query(text).is_question and route(text).answer_type is None


def test_clip_text_keeps_names_whole():
    assert parse_query("a taxi to Daejeon station").visual == "a taxi to Daejeon station"
    p = parse_query("waiting for a taxi at Daejeon station")
    assert p.cities == ("Daejeon",) and p.visual == "waiting for a taxi at Daejeon station"
    assert parse_query("a red car in Dublin in May").visual == "a red car"  # a bare constraint still leaves
    assert parse_query("in Ireland (but not in Dublin)").visual == ""
    assert parse_query("a castle outside of Ireland").visual == "a castle"


def test_parse_cli_shows_every_decision_with_its_evidence():
    from click.testing import CliRunner

    from lifeseeker.cli.query import parse_cmd

    r = CliRunner().invoke(parse_cmd, ["Cat", "staring", "at", "a", "laptop", "in", "Cork", "before", "2016"])
    out = json.loads(r.output)
    by_text = {d["text"]: d for d in out["decisions"]}
    assert by_text["Cat"]["as"] is None and by_text["Cat"]["evidence"].startswith("not a place (gazetteer city Çat")
    assert by_text["Cork"]["as"] == "gazetteer city Cork (Ireland)" and by_text["Cork"]["evidence"] == "after 'in'"
    assert by_text["2016"]["as"] == "upper bound year 2016"
    assert out["date_to"] == "2015-12-31" and "date_from" not in out

"""Query parsing: every labelled query of tests/fixtures/lsc-topics, plus adversarial text."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from lifeseeker.cli.query import compare, evaluate
from lifeseeker.engine.query.parse import parse_query
from lifeseeker.engine.query.questions import analyse_question

TOPICS = Path(__file__).resolve().parent / "fixtures" / "lsc-topics"
FILES = ("topics", "questions", "everyday")

# Expected failures: id -> written reason (strict, so a fixed one must be removed from here). None at present.
XFAIL: dict[str, str] = {}


def _records(name: str) -> list[dict]:
    path = TOPICS / f"{name}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _cases():
    for name in FILES:
        for rec in _records(name):
            marks = [pytest.mark.xfail(reason=XFAIL[rec["id"]], strict=True)] if rec["id"] in XFAIL else []
            yield pytest.param(rec, id=f"{name}:{rec['id']}", marks=marks)


@pytest.mark.parametrize("rec", list(_cases()))
def test_labelled_query(rec):
    got = parse_query(rec["text"]).constraints()
    same = compare(rec["expect"], got)
    wrong = {f: (rec["expect"].get(f), got.get(f)) for f, ok in same.items() if not ok}
    assert not wrong, wrong


@pytest.mark.parametrize("name", FILES)
def test_exact_match_rate_at_least_95_percent(name):
    res = evaluate(_records(name))
    assert res["n"] > 0
    assert res["exact_rate"] >= 0.95, res["failures"]


def test_specific_values():
    q = parse_query("Dublin in August 2015")
    assert (q.date_from, q.date_to) == (date(2015, 8, 1), date(2015, 8, 31))
    assert q.cities == ("Dublin",) and q.countries == ("Ireland",)
    assert q.visual == ""
    q = parse_query("the last weekend of May 2018")
    assert (q.date_from, q.date_to, q.weekdays) == (date(2018, 5, 26), date(2018, 5, 27), ("Sat", "Sun"))
    q = parse_query("red car around 7am")
    assert q.hours == [6, 8] and q.hour_ranges == ((360, 480),)
    assert q.visual == "red car"
    q = parse_query("eating pasta on a Friday night")
    assert q.weekdays == ("Fri",) and q.hours == [21, 29]
    q = parse_query("Easter 2019")
    assert (q.date_from, q.date_to) == (date(2019, 4, 21), date(2019, 4, 21))
    q = parse_query("the first month of 2020")
    assert (q.date_from, q.date_to) == (date(2020, 1, 1), date(2020, 1, 31))
    q = parse_query("2015 or 2016")
    assert (q.date_from, q.date_to) == (date(2015, 1, 1), date(2016, 12, 31))
    q = parse_query("I was in Tromso in Norway")
    assert q.cities == ("Tromsø",) and q.countries == ("Norway",)
    q = parse_query("A380 at Frankfurt Airport")
    assert q.cities == ("Frankfurt",) and "Frankfurt am Main" in q.city_aliases
    q = parse_query("red car yesterday", today=date(2020, 6, 15))
    assert (q.date_from, q.date_to) == (date(2020, 6, 14), date(2020, 6, 14))


def test_full_text_keeps_constraints_and_visual_drops_them():
    q = parse_query("red car in Dublin on a Monday morning in May 2018 city:Dublin")
    assert q.text == "red car in Dublin on a Monday morning in May 2018"  # TaT gets the words; key:value cut
    assert q.visual == "red car"
    assert len(q.filters) == 1


@pytest.mark.parametrize("text", [
    "May I see the red car", "march of the penguins", "March of the penguins poster", "Christmas tree",
    "Black Friday sales", "Paris Hilton poster", "what a beautiful sunset", "turkey sandwich", "Reading a book",
    "Nice weather?",
])
def test_no_false_constraints(text):
    c = parse_query(text, today=date(2020, 1, 1)).constraints()
    assert {k for k in c if k != "is_question"} == set(), c


def test_reading_the_town():
    assert parse_query("a walk in Reading").cities == ("Reading",)
    assert parse_query("reading a book in the garden").cities == ()


@pytest.mark.parametrize("text", [
    "", "   ", "😀🎉 red car 🚗 🇮🇪", '"quoted" \'single\' ‘curly’ “double”', "unbalanced \" quote ' here ‘",
    "x' OR 1=1 -- ; DROP TABLE lifelog; title:(a AND b) OR c* ~2 ^3 [1 TO 2] {a} \\ / && || !",
    "dinner on 31 April", "on 29 February 2019", "the 45th of Smarch", "at 25:99", "between 13 and 14pm",
    "\x00\x01\t\n", "10:30", "re:invent at 10:30",
])
def test_adversarial_text_no_crash(text):
    q = parse_query(text)
    d = q.to_dict()
    json.dumps(d)
    assert isinstance(q.visual, str) and isinstance(q.is_question, bool)
    assert q.filters == ()


def test_adversarial_values():
    assert parse_query("").constraints() == {"is_question": False}
    q = parse_query("x' OR 1=1 -- ; DROP TABLE lifelog; [1 TO 2]")
    assert q.constraints() == {"is_question": False}
    q = parse_query("dinner on 31 April")
    assert q.months == (4,) and q.warnings  # the impossible day is dropped, the month kept
    q = parse_query("dinner on 31 April 2019")
    assert (q.date_from, q.date_to) == (date(2019, 4, 1), date(2019, 4, 30))
    q = parse_query("10:30 re:invent")
    assert q.filters == () and q.text == "10:30 re:invent"


def test_ten_kilobytes():
    text = ("I was walking in Dublin on a Monday morning in May 2018 with a red umbrella. " * 140)[:10_240]
    q = parse_query(text)
    assert q.cities == ("Dublin",) and q.weekdays == ("Mon",) and q.hours == [5, 12]
    assert (q.date_from, q.date_to) == (date(2018, 5, 1), date(2018, 5, 31))


@pytest.mark.parametrize("text, is_q, answer_type, kind", [
    ("How many times did I go to the gym in March 2019?", True, "counting", None),
    ("How long was my flight from Dublin to Istanbul?", True, "duration", None),
    ("When did I last visit my dentist?", True, "time", None),
    ("Which hotel did I stay at in Bangkok?", True, "location", None),
    ("What colour was the car I rented in Portugal in 2019?", True, "visual", "colour"),
    ("What airline did I fly on?", True, "visual", "ocr"),
    ("What did I eat for breakfast?", True, "visual", "object"),
    ("Who did I have dinner with on New Year's Eve 2019?", True, "other", None),
    ("what was the name of the restaurant next to the Brazen Head", True, "location", None),
    ("what a beautiful sunset", False, None, None),
    ("Where's Wally poster", False, None, None),
    ("can you show me when I was in Turkey?", False, None, None),
    ("when I was in Turkey", False, None, None),
    ("May I see the red car", False, None, None),
])
def test_questions(text, is_q, answer_type, kind):
    info = analyse_question(text)
    assert (info.is_question, info.answer_type, info.answer_kind) == (is_q, answer_type, kind)


def test_cli_parse_and_eval(tmp_path):
    from click.testing import CliRunner

    from lifeseeker.cli.query import commands, eval_parse_cmd, parse_cmd

    assert [c.name for c in commands] == ["parse", "eval-parse"]
    r = CliRunner().invoke(parse_cmd, ["How many times did I go to Thailand in 2019?"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["is_question"] is True and out["answer_type"] == "counting"
    assert out["date_from"] == "2019-01-01" and out["country"] == ["Thailand"]
    r = CliRunner().invoke(parse_cmd, ["citty:Dublin"])
    assert r.exit_code != 0 and "citty" in r.output
    f = tmp_path / "l.jsonl"
    f.write_text(json.dumps({"id": "a", "text": "snow in January", "expect": {"months": [1], "is_question": False}})
                 + "\n" + json.dumps({"id": "b", "text": "snow", "expect": {"months": [2], "is_question": False}})
                 + "\n", encoding="utf-8")
    r = CliRunner().invoke(eval_parse_cmd, [str(f), "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)[str(f)]
    assert (res["n"], res["exact"]) == (2, 1)
    assert res["types"]["months"] == {"tp": 1, "fp": 0, "fn": 1, "precision": 1.0, "recall": 0.5}
    r = CliRunner().invoke(eval_parse_cmd, [str(f)])
    assert "1/2 exact" in r.output and "months" in r.output


def test_cli_parse_reports_unfinished_terms_as_usage_errors_and_notes_non_filters():
    from click.testing import CliRunner

    from lifeseeker.cli.query import parse_cmd

    r = CliRunner().invoke(parse_cmd, ['street country:"Italy'])
    assert r.exit_code == 2 and "Error: country: the closing quote \" is missing in 'country:\"Italy'" in r.output
    r = CliRunner().invoke(parse_cmd, ["street", "city:"])
    assert r.exit_code == 2 and "Error: city: empty value in 'city:'" in r.output
    r = CliRunner().invoke(parse_cmd, ["street foo:bar at 10:30"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert [w.split(";")[0] for w in out["warnings"]] == ["foo:bar is not a filter"]
    assert out["hours"] == [9, 12]  # the clock time is still understood (around 10:30)


def test_default_near_radius_is_one_constant_everywhere():
    from lifeseeker.engine.filters import filters_from_params
    from lifeseeker.engine.query.keyvalue import DEFAULT_RADIUS_KM, build_filter
    from lifeseeker.webui.openapi import filter_parameters

    assert DEFAULT_RADIUS_KM == 1.0
    assert filters_from_params({"near": "53.35,-6.26"})[0].radius_km == DEFAULT_RADIUS_KM
    assert build_filter("near", "53.35,-6.26").radius_km == DEFAULT_RADIUS_KM
    docs = {p["name"]: p["description"] for p in filter_parameters()}
    assert "without a radius (here or in radius_km) the radius is 1 km" in docs["near"]
    assert "(default 1 km)" in docs["radius_km"]

"""key:value terms in the search box become hard filter clauses; bad ones give a clear FilterError."""

from __future__ import annotations

from datetime import date

import pytest

from lifeseeker.engine import filters as F
from lifeseeker.engine.query.keyvalue import build_filter, describe_filter, extract_filters
from lifeseeker.engine.query.parse import parse_query
from lifeseeker.errors import FilterError


def test_the_issue_example():
    text = ('red car city:Dublin country:"Ireland" date:2019-05..2019-06 after:2019-05-01 before:2020-01 '
            'weekday:sat,sun hour:8-10 part:morning tag:laptop ocr:"heinz" near:53.35,-6.26,5km')
    q = parse_query(text)
    assert q.filters == (
        F.Terms("city", ("Dublin",)),
        F.Terms("country", ("Ireland",)),
        F.DateRange(date(2019, 5, 1), date(2019, 6, 30)),
        F.DateRange(date(2019, 5, 1), None),
        F.DateRange(None, date(2019, 12, 31)),
        F.Weekdays(frozenset({"Sat", "Sun"})),
        F.HourRange(8, 10),
        F.PartOfDay(frozenset({"morning"})),
        F.Terms("tags", ("laptop",)),
        F.TextMatch("heinz", ("ocr_text",)),
        F.GeoDistance(53.35, -6.26, 5.0),
    )
    assert q.text == "red car" and q.visual == "red car"
    assert q.constraints() == {"is_question": False}  # key:value terms are hard filters, not soft constraints


@pytest.mark.parametrize("key, value, clause", [
    ("date", "2019", F.DateRange(date(2019, 1, 1), date(2019, 12, 31))),
    ("date", "2020-02", F.DateRange(date(2020, 2, 1), date(2020, 2, 29))),
    ("date", "2019-05-03", F.DateRange(date(2019, 5, 3), date(2019, 5, 3))),
    ("date", "2019-05..", F.DateRange(date(2019, 5, 1), None)),
    ("date", "..2019-05", F.DateRange(None, date(2019, 5, 31))),
    ("year", "2018", F.DateRange(date(2018, 1, 1), date(2018, 12, 31))),
    ("before", "2019-05-01", F.DateRange(None, date(2019, 4, 30))),
    ("hour", "22-2", F.HourRange(22, 2)),
    ("hour", "8", F.HourRange(8, 9)),
    ("hour", "8am-2pm", F.HourRange(8, 14)),
    ("weekday", "Weekend", F.Weekdays(frozenset({"Sat", "Sun"}))),
    ("weekday", "monday,tues", F.Weekdays(frozenset({"Mon", "Tue"}))),
    ("City", "Málaga", F.Terms("city", ("Málaga",))),
    ("semantic", "home", F.Terms("semantic_name", ("home",))),
    ("near", "53.35,-6.26", F.GeoDistance(53.35, -6.26, 1.0)),
    ("near", "53.35,-6.26,300m", F.GeoDistance(53.35, -6.26, 0.3)),
    ("box", "54,-7,53,-6", F.GeoBox(54, -7, 53, -6)),
    ("text", "exit sign", F.TextMatch("exit sign")),
])
def test_values(key, value, clause):
    assert build_filter(key, value) == clause


@pytest.mark.parametrize("text, key", [
    ("date:2019-13", "date"), ("date:May", "date"), ("date:2019-02-30", "date"), ("date:..", "date"),
    ("date:2020..2019", "date"), ("after:yesterday", "after"), ("weekday:funday", "weekday"), ("hour:25", "hour"),
    ("hour:8-8", "hour"), ("hour:x", "hour"), ("part:brunch", "part"), ("near:91,0", "near"), ("near:a,b", "near"),
    ('near:"53,-6,5 miles"', "near"), ("near:53,-6,far", "near"), ("box:1,2,3", "box"), ('city:""', "city"),
    ('tag:","', "tag"), ("ocr:!!!", "ocr"), ("citty:Dublin", "citty"), ('colour:"red"', "colour"),
])
def test_bad_terms_raise_filter_error_naming_the_key(text, key):
    with pytest.raises(FilterError) as err:
        parse_query(f"red car {text}")
    assert str(err.value).startswith(f"{key}:"), str(err.value)


@pytest.mark.parametrize("text", [
    "meeting at 10:30", "re:invent conference", "see http://example.com/a:b", "ratio 3:2", "Warning: wet floor",
    "note:to self", "mailto:someone@example.com",
])
def test_ordinary_text_is_not_a_filter(text):
    filters, spans = extract_filters(text)
    assert filters == [] and spans == []
    assert parse_query(text).filters == ()


def test_describe_filter_is_json_ready():
    import json

    d = describe_filter(F.Weekdays(frozenset({"Sun", "Sat"})))
    assert d == {"type": "Weekdays", "days": ["Sat", "Sun"]}
    assert json.loads(json.dumps(describe_filter(F.DateRange(date(2019, 5, 1), None)))) == {
        "type": "DateRange", "start": "2019-05-01", "end": None}


def test_key_value_terms_leave_the_words_before_them_in_the_visual_text():
    from lifeseeker.engine.query.parse import parse_query

    p = parse_query("hint one weekday:Sat")
    assert (p.visual, p.text) == ("hint one", "hint one")
    assert parse_query("red car on a Sunday").visual == "red car"  # a parsed phrase still takes its glue words


def test_repeated_key_value_terms_on_one_field_mean_any_of_them():
    from lifeseeker.engine.filters import Terms
    from lifeseeker.engine.query.keyvalue import extract_filters

    clauses, _ = extract_filters("street city:Arezzo city:Florence country:Italy")
    assert clauses == [Terms("city", ("Arezzo", "Florence")), Terms("country", ("Italy",))]


@pytest.mark.parametrize("text, key, fragment", [
    ('street country:"Italy', "country", "closing quote \" is missing in 'country:\"Italy'"),
    ("street tag:'laptop on desk", "tag", "closing quote ' is missing in \"tag:'laptop on desk\""),
    ("street city:\u201cDublin", "city", "closing quote \u201d is missing"),
])
def test_unterminated_quote_is_an_error_naming_the_key(text, key, fragment):
    with pytest.raises(FilterError) as err:
        parse_query(text)
    msg = str(err.value)
    assert msg.startswith(f"{key}: the closing quote"), msg
    assert fragment in msg, msg


@pytest.mark.parametrize("text, key", [("red car city:", "city"), ("red car country: ", "country")])
def test_known_key_with_nothing_after_it_is_an_error_naming_the_key(text, key):
    with pytest.raises(FilterError) as err:
        parse_query(text)
    msg = str(err.value)
    assert msg.startswith(f"{key}: empty value"), msg
    assert f"e.g. {key}:VALUE" in msg


@pytest.mark.parametrize("text, notice", [
    ("red car city: Dublin", "city: is followed by a space, so it is not a filter; searched as text "
                             "(write city:Dublin to filter)"),
    ("a sunny day: walking by the sea", "day: is followed by a space"),
])
def test_known_key_followed_by_a_space_and_words_is_prose_with_a_notice(text, notice):
    notices: list[str] = []
    clauses, spans = extract_filters(text, notices=notices)
    assert clauses == [] and spans == []
    assert len(notices) == 1 and notices[0].startswith(notice), notices


def test_unknown_identifier_key_stays_text_with_a_notice():
    p = parse_query("street foo:bar in Arezzo")
    assert p.filters == ()
    assert "foo:bar" in p.text  # still searched as text
    assert len(p.warnings) == 1
    assert p.warnings[0].startswith("foo:bar is not a filter; searched as text. Known keys: after, before, box, city")
    assert p.to_dict()["warnings"] == list(p.warnings)
    notices: list[str] = []
    assert extract_filters("foo:bar", notices=notices) == ([], [])
    assert notices == [p.warnings[0]]


@pytest.mark.parametrize("text", [
    "meeting at 10:30", "train at 9:05 to 10:45", "see http://example.com/a:b", "https://x.org/path?q=a:b",
    "mailto:someone@example.com", "note: buy milk", "Warning: wet floor", "ratio 3:2",
])
def test_clock_times_urls_and_prose_colons_are_untouched_and_not_noticed(text):
    p = parse_query(text)
    assert (p.filters, p.warnings, p.text) == ((), (), text)


def test_a_colon_inside_a_quoted_value_is_part_of_the_value():
    p = parse_query('sign ocr:"exit: now"')
    assert (p.filters, p.warnings, p.text) == ((F.TextMatch("exit: now", ("ocr_text",)),), (), "sign")


@pytest.mark.parametrize("text", ["When was I in city:Arezzo?", "walk city:Arezzo.", "walk city:Arezzo!"])
def test_sentence_punctuation_after_an_unquoted_value_is_not_part_of_it(text):
    clauses, _ = extract_filters(text)
    assert clauses == [F.Terms("city", ("Arezzo",))]


def test_quoted_values_keep_their_punctuation_and_a_bare_question_mark_is_an_empty_value():
    assert extract_filters('ocr:"Inc."')[0] == [F.TextMatch("Inc.", ("ocr_text",))]
    with pytest.raises(FilterError) as err:
        extract_filters("When was I in city:?")
    assert str(err.value).startswith("city: empty value"), str(err.value)

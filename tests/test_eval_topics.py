"""Reading LSC topic files (the real ones in tests/fixtures/lsc-topics) and the pure metric functions."""

from __future__ import annotations

from datetime import datetime

import pytest

from lifeseeker.engine.events import group_events
from lifeseeker.engine.store.base import Hit
from lifeseeker.evaluation.metrics import event_contains, first_rank, matched_targets, recall_at, reciprocal_rank
from lifeseeker.evaluation.topics import (Target, TopicFormatError, load_topics, merge_topics, normalise_id,
                                          parse_jsonl, parse_lsc_raw, time_from_id)

from .conftest import DATA

TOPICS = DATA / "lsc-topics"


def test_lsc20_raw_progressive_hints_and_targets():
    topics = load_topics(TOPICS / "lsc20-kis-raw.txt")
    assert len(topics) == 26 and all(len(t.hints) == 6 for t in topics)
    by_id = {t.id: t for t in topics}
    t66 = by_id["LSC20-66"]
    assert t66.source == "LSC20" and t66.hints[0] == "I was shaving for a TV recording..."
    assert t66.hints[-1].endswith("It was a Wednesday in 2016.")
    assert t66.target_ids == ("20160921_064230_000", "20160921_064302_000", "20160921_064334_000")
    # six lines, three images: the long and the short form of each id are one target
    t51 = by_id["LSC20-51"]
    assert len(t51.target_ids) == 6 and [t.time for t in t51.targets()] == [
        datetime(2015, 2, 24, 16, 19, 7), datetime(2015, 2, 24, 16, 19, 41), datetime(2015, 2, 24, 16, 20, 19)]
    assert len(by_id["LSC20-55"].targets()) == 53
    # two different images taken in the same second stay two targets
    assert len(by_id["LSC20-60"].targets()) == 18


def test_raw_targets_agree_with_topics_jsonl_truth_times():
    raw = {t.id: t for t in load_topics(TOPICS / "lsc20-kis-raw.txt")}
    labelled = [t for t in load_topics(TOPICS / "topics.jsonl") if t.source == "LSC20"]
    assert len(labelled) == 26
    for t in labelled:
        assert raw[t.id].hints[-1] == t.hints[0]
        assert set(t.target_times) <= {x.time for x in raw[t.id].targets()}, t.id


def test_lsc19_raw_descriptions_have_no_targets():
    topics = load_topics(TOPICS / "lsc19-raw.txt")
    assert [t.id for t in topics][:3] == ["LSC19-01", "LSC19-02", "LSC19-03"] and len(topics) == 24
    assert topics[1].hints == ("A red car beside a white house on a cloudy day. I had driven for over an hour to get "
                               "here. It was a saturday in August and it was in the early afternoon.",)
    assert all(t.targets() == [] for t in topics)


def test_merge_keeps_the_progression_and_adds_truth_times():
    jsonl = load_topics(TOPICS / "topics.jsonl")
    raw = load_topics(TOPICS / "lsc20-kis-raw.txt")
    merged = {t.id: t for t in merge_topics([jsonl, raw])}
    assert len(merged) == 50
    assert len(merged["LSC20-66"].hints) == 6 and merged["LSC20-66"].target_ids[0] == "20160921_064230_000"
    assert len(merged["LSC20-66"].targets()) == 3


def test_jsonl_hints_targets_and_errors():
    text = ('{"id": "T1", "hints": ["a dog", "a dog in a park"], "targets": ["x/20190101_101010_000.JPG"], '
            '"truth_times": ["2019-01-01T10:10:10"]}\n')
    (t,) = parse_jsonl(text)
    assert t.hint(1) == "a dog" and t.hint(2) == t.hint(9) == "a dog in a park"
    (target,) = t.targets()  # the truth time is the id's own time: one target
    assert target.ids == {"x/20190101_101010_000"} and target.time == datetime(2019, 1, 1, 10, 10, 10)
    with pytest.raises(TopicFormatError, match="line 1|:1:"):
        parse_jsonl('{"id": "T2", "truth_times": ["yesterday"], "text": "x"}')
    with pytest.raises(TopicFormatError, match="no \"text\""):
        parse_jsonl('{"id": "T3"}')
    with pytest.raises(ValueError):
        t.hint(0)


def test_raw_errors_name_the_line():
    with pytest.raises(TopicFormatError, match=r"x.txt:1: expected a topic number"):
        parse_lsc_raw("no number here\nmore\n", name="x.txt")
    with pytest.raises(TopicFormatError, match=r"x.txt:4: hint text after the target ids"):
        parse_lsc_raw("7\nhint\n20190101_101010_000\nlate hint\n", name="x.txt")


def test_ids_and_times():
    assert normalise_id("201912\\26\\20191226_123224_000.JPG") == "201912/26/20191226_123224_000"
    assert time_from_id("B00003681_21I6X0_20180510_072838E") == datetime(2018, 5, 10, 7, 28, 38)
    assert time_from_id("20191301_000000_000") is None and time_from_id("IMG_0001") is None
    t = Target("k", {"20191226_123224_000"}, datetime(2019, 12, 26, 12, 32, 24))
    assert t.matches("201912/26/20191226_123224_000.jpg", None)  # folder and extension aside
    assert t.matches("other", datetime(2019, 12, 26, 12, 32, 24, 500))  # same second
    assert not t.matches("other", datetime(2019, 12, 26, 12, 32, 25))
    assert not Target("k", {"a/b.jpg".removesuffix(".jpg")}).matches("c/b.jpg", None)  # a path target needs its folder


def _hit(i: str, when: str | None, score: float) -> Hit:
    return Hit(i, score, score, 0.0, {"image_id": i, "collection": "c",
                                      "local_time": datetime.fromisoformat(when) if when else None})


def test_metric_functions():
    targets = [Target("a", {"a"}), Target("b", {"b", "b2"})]
    hits = [_hit("x", None, 0.9), _hit("b2", None, 0.8), _hit("b", None, 0.7), _hit("a", None, 0.6)]
    m = matched_targets(hits, targets)
    assert m == [set(), {1}, {1}, {0}]
    assert first_rank(m) == 2 and reciprocal_rank(2) == 0.5 and reciprocal_rank(None) == 0.0
    assert [recall_at(m, 2, k) for k in (1, 2, 3, 4)] == [0.0, 0.5, 0.5, 1.0]  # b and b2 are one target
    with pytest.raises(ValueError):
        recall_at(m, 0, 1)


def test_event_contains_a_target_by_time_span():
    hits = [_hit("p", "2019-03-01 12:00:00", 0.9), _hit("q", "2019-03-01 12:05:00", 0.8)]
    (event,) = group_events(hits)
    inside = Target("t", set(), datetime(2019, 3, 1, 12, 2, 0))
    outside = Target("u", set(), datetime(2019, 3, 1, 12, 6, 0))
    assert event_contains(event, [inside]) and not event_contains(event, [outside])
    assert event_contains(event, [Target("q", {"q"})])

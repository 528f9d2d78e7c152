"""The topic harness and the TREC export on a synthetic lifelog whose rankings are known exactly.

Twelve LSC-style images on 1-4 March 2019. The (fake) CLIP text encoder maps each hint to a basis direction e_j;
image i has component ``0.4 - 0.01 * r`` along e_j where r is its chosen rank for that hint, so the fused score
``0.7 * cos`` ranks the images in exactly the order written in RANKINGS (no TaT term: every capmeta vector is
orthogonal to the TaT query).
"""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pytest

from lifeseeker.engine.search import SearchRequest, SearchService
from lifeseeker.engine.timeparts import time_fields
from lifeseeker.evaluation.harness import run_topics, service_searcher
from lifeseeker.evaluation.topics import Topic, load_topics
from lifeseeker.evaluation.trec import export_run, qrels_lines, run_lines, trec_token
from lifeseeker.models import Models

D_CLIP, D_TEXT = 16, 4
TIMES = [  # d0..d11: three moments on 1 March, then one image a day
    "2019-03-01 08:00:00", "2019-03-01 08:00:30", "2019-03-01 08:01:00", "2019-03-01 08:01:30",
    "2019-03-01 12:00:00", "2019-03-01 12:00:30", "2019-03-01 12:01:00",
    "2019-03-01 18:00:00", "2019-03-01 18:00:30",
    "2019-03-02 09:00:00", "2019-03-03 10:00:00", "2019-03-04 11:00:00"]
HINTS = {"hint one": 0, "hint one two": 1, "hint one two three": 2, "hint for a time": 3, "hint four": 4,
         "no targets known": 4, "hint one weekday:Sat": 0}
RANKINGS = {  # query direction -> image indices best first
    0: [0, 1, 9, 10, 4, 6, 11, 2, 3, 7, 8, 5],
    1: [4, 6, 0, 9, 10, 5, 1, 2, 3, 7, 8, 11],
    2: [5, 0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11],
    3: [7, 2, 8, 0, 1, 3, 4, 5, 6, 9, 10, 11],
    4: list(range(12)),
}
RAW = """1
hint one
hint one two
hint one two three
20190301_120030_000

4
hint four
20200101_000000_000
"""
JSONL = ('{"id": "SYN-02", "text": "hint for a time", "truth_times": ["2019-03-01T18:00:30", '
         '"2019-03-01T08:01:00"]}\n'
         '{"id": "SYN-03", "text": "no targets known", "truth_times": []}\n')


def image_id(i: int) -> str:
    return datetime.fromisoformat(TIMES[i]).strftime("%Y%m%d_%H%M%S_000")


def documents() -> list[dict]:
    docs = []
    for i, when in enumerate(TIMES):
        v = np.zeros(D_CLIP, dtype=np.float32)
        for j, order in RANKINGS.items():
            v[j] = 0.4 - 0.01 * (order.index(i) + 1)
        v[6 + i % 10] = np.sqrt(1 - float(v @ v))  # the rest of the unit length, away from every query
        t = datetime.fromisoformat(when)
        docs.append({"image_id": image_id(i), "collection": "synth", "path": image_id(i) + ".jpg",
                     "local_time": t, **time_fields(t), "places": [], "tags": [],
                     "clip_vec": v, "capmeta_vec": np.eye(D_TEXT, dtype=np.float32)[1],
                     "models": {"clip": "synthetic", "text": "synthetic", "ocr": None, "caption": None}})
    return docs


class _Encoder:
    def __init__(self, dims: int, fixed: int | None = None):
        self.dims, self.fixed, self.name = dims, fixed, f"fake-{dims}"

    def encode_texts(self, texts):
        return np.stack([np.eye(self.dims, dtype=np.float32)[HINTS[t] if self.fixed is None else self.fixed]
                         for t in texts])


@pytest.fixture
def service(tmp_path):
    from lifeseeker.engine.store import open_store

    store = open_store(f"lance://{tmp_path / 'store'}")
    store.ensure_schema({"clip_vec": D_CLIP, "capmeta_vec": D_TEXT})
    store.upsert(documents())
    models = Models(text=_Encoder(D_TEXT, fixed=0), clip=_Encoder(D_CLIP), clip_dims=D_CLIP)
    yield SearchService(store, models)
    store.close()


@pytest.fixture
def topic_files(tmp_path):
    raw, jsonl = tmp_path / "synthetic-raw.txt", tmp_path / "synthetic.jsonl"
    raw.write_text(RAW, encoding="utf-8")
    jsonl.write_text(JSONL, encoding="utf-8")
    return raw, jsonl


def load(topic_files) -> list[Topic]:
    raw, jsonl = topic_files
    return load_topics(raw, source="SYN") + load_topics(jsonl)


def test_the_synthetic_rankings_hold(service):
    for text, j in HINTS.items():
        hits = service.search(SearchRequest(text=text, limit=12, understand=False)).hits
        assert [h.image_id for h in hits] == [image_id(i) for i in RANKINGS[j]]
        assert hits[0].score == pytest.approx(0.7 * 0.39, abs=1e-6)


def test_per_topic_metrics_are_exact(service, topic_files):
    report = run_topics(load(topic_files), service_searcher(service), ks=(1, 2, 5), store=service.store)
    by_id = {t.topic_id: t for t in report.topics}
    assert report.depth == 5 and [t.topic_id for t in report.judged] == ["SYN-01", "SYN-04", "SYN-02"]
    assert by_id["SYN-03"].skipped == "no targets"

    t1 = by_id["SYN-01"]  # target by id: d5, 12:00:30
    assert (t1.n_targets, t1.targets_in_store) == (1, 1)
    l1, l2, l3 = t1.levels
    # level 1: d5 is 12th (beyond depth 5); the only 12:00 image shown is d4, a one-frame event ending at 12:00:00
    assert (l1.rank, l1.rr, l1.event_rank) == (None, 0.0, None)
    assert l1.hit == {1: 0.0, 2: 0.0, 5: 0.0} and l1.recall == {1: 0.0, 2: 0.0, 5: 0.0}
    # level 2: d5 is 6th, but d4 and d6 (12:00:00-12:01:00) form the best event, which spans the target's time
    assert (l2.rank, l2.event_rank, l2.event_hit) == (None, 1, {1: 1.0, 2: 1.0, 5: 1.0})
    # level 3: d5 first, alone in its event; the four 08:00 frames behind it form the better event:
    # 0.266 + 0.1 * (0.259 + 0.252) / 2 = 0.29155 > 0.273, so the target's event ranks second
    assert (l3.rank, l3.rr, l3.hit, l3.recall) == (1, 1.0, {1: 1.0, 2: 1.0, 5: 1.0}, {1: 1.0, 2: 1.0, 5: 1.0})
    assert (l3.event_rank, l3.event_hit) == (2, {1: 0.0, 2: 1.0, 5: 1.0})
    assert [lv.hint for lv in t1.levels] == ["hint one", "hint one two", "hint one two three"]

    t2 = by_id["SYN-02"]  # targets by time: d8 (18:00:30) and d2 (08:01:00); ranking d7, d2, d8, d0, d1
    assert (t2.n_targets, t2.targets_in_store, len(t2.levels)) == (2, 2, 1)
    (m,) = t2.levels
    assert (m.rank, m.rr) == (2, 0.5)
    assert m.hit == {1: 0.0, 2: 1.0, 5: 1.0} and m.recall == {1: 0.0, 2: 0.5, 5: 1.0}
    # events of the top 5: {d7, d8} scores 0.273 + 0.1 * 0.259 before {d0, d1, d2} 0.266 + 0.1 * 0.2485
    assert m.event_rank == 1

    t4 = by_id["SYN-04"]  # its target is not in the store
    assert t4.targets_in_store == 0 and t4.levels[0].rank is None and t4.levels[0].event_rank is None


def test_means_per_hint_level_carry_the_last_hint(service, topic_files):
    report = run_topics(load(topic_files), service_searcher(service), ks=(1, 2, 5), store=service.store)
    m1, m2, m3 = report.means
    assert [m.n for m in report.means] == [3, 3, 3]
    assert m1.hit == pytest.approx({1: 0, 2: 1 / 3, 5: 1 / 3})
    assert m1.recall == pytest.approx({1: 0, 2: 0.5 / 3, 5: 1 / 3})
    assert m1.mrr == pytest.approx(0.5 / 3) and m1.event_hit == pytest.approx({1: 1 / 3, 2: 1 / 3, 5: 1 / 3})
    assert (m1.found, m1.mean_rank) == (1, 2.0)
    assert m2.mrr == pytest.approx(0.5 / 3) and m2.event_hit == pytest.approx({1: 2 / 3, 2: 2 / 3, 5: 2 / 3})
    assert m3.hit == pytest.approx({1: 1 / 3, 2: 2 / 3, 5: 2 / 3})
    assert m3.recall == pytest.approx({1: 1 / 3, 2: 1.5 / 3, 5: 2 / 3})
    assert m3.mrr == pytest.approx(1.5 / 3) and (m3.found, m3.mean_rank, m3.median_rank) == (2, 1.5, 1.5)
    assert m3.event_hit == pytest.approx({1: 1 / 3, 2: 2 / 3, 5: 2 / 3})


def test_skip_absent_and_the_table(service, topic_files):
    report = run_topics(load(topic_files), service_searcher(service), ks=(1, 2, 5), store=service.store,
                        skip_absent=True)
    assert {t.topic_id: t.skipped for t in report.topics}["SYN-04"] == "no target in the store"
    table = report.table().splitlines()
    assert table[0].startswith("2 topics judged, 2 skipped; depth 5")
    assert table[1].split() == ["level", "n", "hit@1", "hit@2", "hit@5", "R@1", "R@2", "R@5", "MRR", "ev@1",
                                "ev@2", "ev@5", "found", "mean", "rank"]
    assert table[2].split() == ["1", "2", "0.000", "0.500", "0.500", "0.000", "0.250", "0.500", "0.250", "0.500",
                                "0.500", "0.500", "1", "2.0"]
    assert table[4].split() == ["3", "2", "0.500", "1.000", "1.000", "0.500", "0.750", "1.000", "0.750", "0.500",
                                "1.000", "1.000", "2", "1.5"]
    assert "SYN-01  1 target(s), 1 in store:  -[-] -[1] 1[2]" in table
    assert "SYN-02  2 target(s), 2 in store:  2[1]" in table
    assert "skipped SYN-04: no target in the store" in table


def test_cli_eval_topics_json_and_table(service, topic_files, monkeypatch, tmp_path):
    from click.testing import CliRunner

    import lifeseeker.cli.eval as cli_eval

    from .test_dres import _root

    monkeypatch.setattr(cli_eval, "_search_service", lambda settings: service)
    raw, jsonl = topic_files
    env = {"LIFESEEKER_STORE": service.store.url, "LIFESEEKER_CACHE": str(tmp_path / "cache")}
    r = CliRunner().invoke(_root(), ["eval", "topics", str(raw), str(jsonl), "--source", "SYN", "--k", "1,2",
                                     "--k", "5", "--json"], env=env)
    assert r.exit_code == 0, r.output
    body = json.loads(r.output)
    assert body["ks"] == [1, 2, 5] and body["judged"] == 3 and body["skipped"] == [{"id": "SYN-03",
                                                                                  "reason": "no targets"}]
    assert body["mean"][2]["mrr"] == pytest.approx(0.5) and body["mean"][2]["hit@2"] == pytest.approx(2 / 3)
    levels = {t["id"]: t["levels"] for t in body["topics"]}
    assert [lv["rank"] for lv in levels["SYN-01"]] == [None, None, 1]
    assert [lv["event_rank"] for lv in levels["SYN-01"]] == [None, 1, 2]
    assert levels["SYN-02"][0]["recall@2"] == 0.5

    r = CliRunner().invoke(_root(), ["eval", "topics", str(raw), "--source", "SYN", "--k", "1,2,5"], env=env)
    assert r.exit_code == 0 and "SYN-01  1 target(s), 1 in store:  -[-] -[1] 1[2]" in r.output
    r = CliRunner().invoke(_root(), ["eval", "topics", str(raw), "--k", "0"], env=env)
    assert r.exit_code == 1 and "k values must be 1-1000" in r.output


# -- TREC export ------------------------------------------------------------------------------------------------

def test_trec_run_and_qrels_format_exact(service):
    from lifeseeker.engine.store.base import Hit

    hits = [Hit("20190301_120030_000", 0.273, 0.39, 0.0), Hit("my photos/a b.jpg", 0.1234567, 0.1, 0.2),
            Hit("100%.jpg", -0.5, -0.7, 0.0)]
    assert run_lines("SYN-01", hits, "lifeseeker-v1") == [
        "SYN-01 Q0 20190301_120030_000 1 0.273000 lifeseeker-v1",
        "SYN-01 Q0 my%20photos/a%20b.jpg 2 0.123457 lifeseeker-v1",
        "SYN-01 Q0 100%25.jpg 3 -0.500000 lifeseeker-v1"]
    assert qrels_lines("SYN 1", ["a", "b", "a"]) == ["SYN%201 0 a 1", "SYN%201 0 b 1"]
    assert trec_token("tab\there") == "tab%09here"
    with pytest.raises(ValueError):
        trec_token("")


def test_export_run_of_the_topics(service, topic_files):
    topics = load(topic_files)
    run, qrels = export_run(topics, service_searcher(service), depth=3, tag="syn", store=service.store)
    assert run[:3] == [f"SYN-01 Q0 {image_id(5)} 1 0.273000 syn", f"SYN-01 Q0 {image_id(0)} 2 0.266000 syn",
                       f"SYN-01 Q0 {image_id(1)} 3 0.259000 syn"]
    assert len(run) == 12 and {ln.split()[0] for ln in run} == {"SYN-01", "SYN-04", "SYN-02", "SYN-03"}
    assert qrels == ["SYN-01 0 20190301_120030_000 1", "SYN-04 0 20200101_000000_000 1",
                     "SYN-02 0 20190301_180030_000 1", "SYN-02 0 20190301_080100_000 1"]
    run_all, _ = export_run(topics[:1], service_searcher(service), depth=1, tag="syn", level="all")
    assert run_all == [f"SYN-01-h1 Q0 {image_id(0)} 1 0.273000 syn", f"SYN-01-h2 Q0 {image_id(4)} 1 0.273000 syn",
                       f"SYN-01-h3 Q0 {image_id(5)} 1 0.273000 syn"]
    run_l1, _ = export_run(topics[:1], service_searcher(service), depth=1, tag="syn", level=1)
    assert run_l1 == [f"SYN-01 Q0 {image_id(0)} 1 0.273000 syn"]
    with pytest.raises(ValueError, match="level"):
        export_run(topics, service_searcher(service), level="first")


def test_cli_export_run_writes_the_files(service, topic_files, monkeypatch, tmp_path):
    from click.testing import CliRunner

    import lifeseeker.cli.eval as cli_eval

    from .test_dres import _root

    monkeypatch.setattr(cli_eval, "_search_service", lambda settings: service)
    raw, _ = topic_files
    out, qrels = tmp_path / "run.txt", tmp_path / "qrels.txt"
    r = CliRunner().invoke(_root(), ["export-run", str(raw), "--source", "SYN", "--out", str(out), "--qrels",
                                     str(qrels), "--depth", "2", "--tag", "t1"],
                           env={"LIFESEEKER_CACHE": str(tmp_path / "cache")})
    assert r.exit_code == 0, r.output
    assert out.read_text() == (f"SYN-01 Q0 {image_id(5)} 1 0.273000 t1\nSYN-01 Q0 {image_id(0)} 2 0.266000 t1\n"
                               f"SYN-04 Q0 {image_id(0)} 1 0.273000 t1\nSYN-04 Q0 {image_id(1)} 2 0.266000 t1\n")
    assert qrels.read_text() == "SYN-01 0 20190301_120030_000 1\nSYN-04 0 20200101_000000_000 1\n"


def test_a_store_without_any_target_is_called_out(service):
    topics = [Topic("X-1", ("hint one",), ("20200101_000000_000",))]
    report = run_topics(topics, service_searcher(service), ks=(1,), store=service.store)
    assert report.table().splitlines()[-1].startswith("note: no target of any topic is in the store")
    report = run_topics(topics, service_searcher(service), ks=(1,))  # no store given: nothing to say
    assert not report.table().splitlines()[-1].startswith("note:")


def test_parse_turns_key_value_terms_into_filters(service):
    """--parse: ``weekday:Sat`` becomes a hard filter (only 2 March 2019 is a Saturday); as plain text the same
    hint ranks the Saturday image d9 third (the "hint one" direction: d0, d1, d9, ...)."""
    topics = [Topic("P-1", ("hint one weekday:Sat",), (image_id(9),))]
    plain = run_topics(topics, service_searcher(service), ks=(1, 5))
    parsed = run_topics(topics, service_searcher(service, parse=True), ks=(1, 5))
    assert plain.topics[0].levels[0].rank == 3
    assert parsed.topics[0].levels[0].rank == 1 and parsed.topics[0].levels[0].retrieved == 1

"""Issue 18, kind 7: the lifelog's own venues. A store is built with `lifeseeker ingest lsc` from an LSC'22-shaped
metadata file written here (tests/fixtures/query/venues-metadata.csv: real LSC column names, made-up venue
`semantic_name`s around Dublin and two abroad) over real COCO photos; its vocabulary (facets of semantic_name,
locality, city) lets the parser recognise the person's own places in the texts of venues.jsonl."""

from __future__ import annotations

import ast
import csv
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from lifeseeker.cli import cli
from lifeseeker.cli.query import TYPES, _units, evaluate
from lifeseeker.engine.query.parse import parse_query
from lifeseeker.engine.query.soft import SoftPlace
from lifeseeker.engine.query.vocab import Vocabulary, edit_distance, vocabulary_for
from lifeseeker.engine.store import open_store

from .conftest import DATA

FIX = Path(__file__).parent / "fixtures" / "query"
COCO = sorted((DATA / "coco-mini" / "images").glob("*.jpg"))


@pytest.fixture(scope="module")
def venue_store(tmp_path_factory, tiny_clip_dir):
    root = tmp_path_factory.mktemp("venues")
    images = root / "images"
    with open(FIX / "venues-metadata.csv", encoding="utf-8", newline="") as fh:
        ids = [Path(n).stem for row in csv.DictReader(fh) for n in ast.literal_eval(row["ImageID"])]
    for k, image_id in enumerate(ids):
        dst = images / image_id[:6] / image_id[6:8] / f"{image_id}.jpg"
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(COCO[k % len(COCO)], dst)
    env = {"LIFESEEKER_STORE": f"lance://{root / 'store'}", "LIFESEEKER_CLIP_MODEL": f"local-dir:{tiny_clip_dir}",
           "LIFESEEKER_CACHE": str(root / "cache")}
    r = CliRunner().invoke(cli, ["ingest", "lsc", "--images", str(images), "--metadata",
                                 str(FIX / "venues-metadata.csv"), "--no-caption", "--no-ocr", "--no-progress"],
                           env=env)
    assert r.exit_code == 0, r.output
    return open_store(env["LIFESEEKER_STORE"])


def _records() -> list[dict]:
    return [json.loads(line) for line in (FIX / "venues.jsonl").read_text(encoding="utf-8").splitlines() if line]


def _place_recall(res: dict) -> float:
    tp = sum(res["types"][t]["tp"] for t in ("venue", "city", "country"))
    fn = sum(res["types"][t]["fn"] for t in ("venue", "city", "country"))
    return tp / (tp + fn)


def test_place_recall_on_a_store_built_from_lsc_metadata(venue_store):
    vocab = vocabulary_for(venue_store)
    assert {"Musgrave MarketPlace", "Brazen Head", "SPAR", "Northside Shopping Centre"} <= set(vocab.venues.values())
    assert "home" not in vocab.venues  # the semantic label stays the parser's "home"
    assert vocab.visited("Dublin")  # the geocoded city of the venues (reverse_geocoder at ingest)
    with_vocab, without = evaluate(_records(), vocabulary=vocab), evaluate(_records())
    assert _place_recall(with_vocab) >= 0.9, with_vocab["failures"]
    assert with_vocab["types"]["venue"]["fp"] == 0
    assert _place_recall(without) < 0.2  # no venue is known without the store's vocabulary


def test_vocabulary_is_built_once_per_store_version(venue_store):
    a, b = vocabulary_for(venue_store), vocabulary_for(venue_store)
    assert a is b
    doc = venue_store.get(["20190501_120000_000"], with_vectors=True)[0]
    venue_store.upsert([{**doc, "image_id": "extra_0001", "semantic_name": "Phoenix Park Tea Rooms"}])
    c = vocabulary_for(venue_store)
    assert c is not a and "Phoenix Park Tea Rooms" in c.venues.values()


def test_matching_rules():
    vocab = Vocabulary([("semantic_name", "SPAR"), ("semantic_name", "Musgrave MarketPlace"),
                        ("semantic_name", "Northside Shopping Centre"), ("semantic_name", "Home"),
                        ("city", "Cork")])
    assert parse_query("a sandwich from SPAR", vocabulary=vocab).venues == ("SPAR",)
    assert parse_query("a wooden spar on a boat", vocabulary=vocab).venues == ()  # a common word in lower case
    assert parse_query("a sign saying \u201cspar\u201d", vocabulary=vocab).venues == ("SPAR",)  # quoted: strong
    assert parse_query("musgrave market place", vocabulary=vocab).venues == ("Musgrave MarketPlace",)
    p = parse_query("parking at Northside Shoping Center", vocabulary=vocab)
    assert p.venues == ("Northside Shopping Centre",)
    assert any("edit distance 2" in d["evidence"] for d in p.decisions)
    assert SoftPlace("places", ("Northside Shopping Centre",)) in p.soft
    assert parse_query("at home", vocabulary=vocab).semantic == ("home",)
    assert parse_query("Cork harbour", vocabulary=vocab).cities == ("Cork",)  # visited: a bare town counts
    assert parse_query("Cork harbour").cities == ()
    assert edit_distance("centre", "center", 2) == 1 and edit_distance("abc", "xyz", 1) == 2


def test_search_service_uses_the_store_vocabulary(venue_store):
    from lifeseeker.engine.search import SearchRequest, SearchService

    svc = SearchService.__new__(SearchService)
    svc.store = venue_store
    eff, _, parsed = svc.understand(SearchRequest(text="a pint in the Brazen Head"))
    assert parsed.venues == ("Brazen Head",) and SoftPlace("places", ("Brazen Head",)) in eff.soft


def test_relative_dates_fall_back_to_the_lifelogs_own_span(venue_store):
    from lifeseeker.engine.search import SearchRequest, SearchService

    svc = SearchService.__new__(SearchService)
    svc.store = venue_store  # photos of May 2019 only
    eff, _, parsed = svc.understand(SearchRequest(text="a pint two weeks ago"))
    # counted from today nothing matches; from the lifelog's last month (May 2019) "two weeks ago" is in May
    assert (parsed.date_from, parsed.date_to) == (__import__("datetime").date(2019, 5, 13),
                                                  __import__("datetime").date(2019, 5, 19))
    assert any("lifelog's last month (2019-05)" in w for w in parsed.warnings)
    _, _, stated = svc.understand(SearchRequest(text="Assuming today is 1 July 2020, a pint two weeks ago"))
    assert stated.date_from.year == 2020  # a stated reference date is kept


def test_parse_cli_reads_a_vocabulary_file(tmp_path):
    from lifeseeker.cli.query import parse_cmd

    r = CliRunner().invoke(parse_cmd, ["a receipt from Spar near Brazen Hed", "--vocabulary",
                                       str(FIX / "venues-metadata.csv")])
    out = json.loads(r.output)
    assert out["venue"] == ["SPAR", "Brazen Head"]
    assert {"text": "Brazen Hed", "as": "venue Brazen Head",
            "evidence": "a name of the lifelog's own places (edit distance 1)"} in out["decisions"]
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    r = CliRunner().invoke(parse_cmd, ["x", "--vocabulary", str(bad)])
    assert r.exit_code == 2 and "no column named semantic_name" in r.output


def test_questions_recognise_the_lifelogs_own_venues(venue_store, minilm):
    """QA parses with the store's vocabulary, as search does: a venue typed with a typo is still the venue, so the
    count is of stays there (one frame at the Brazen Head on 2 May 2019 in venues-metadata.csv)."""
    from lifeseeker.engine.qa import QaService
    from lifeseeker.engine.search import SearchService

    from .test_qa_synth import text_only_models

    search = SearchService(venue_store, text_only_models(minilm))
    qa = QaService(search)
    for question in ("How many times did I go to Brazen Head?", "How many times did I go to the Brazen Haed?"):
        a = qa.answer(question)
        assert (a.answer, a.value) == ("1", 1), (question, a.explanation, a.rule)
        assert a.rule.startswith("stays at Brazen Head") and "resembles" not in a.rule
        assert [i.image_ids for i in a.items] == [["20190502_120000_000"]]
    a = qa.answer("Was I ever at the Brazen Haed?")
    assert (a.answer, a.value) == ("Yes", True) and [im.image_id for im in a.images] == ["20190502_120000_000"]
    search.vocabulary = lambda: None  # without the store's vocabulary the typo names no venue
    a = qa.answer("How many times did I go to the Brazen Haed?")
    assert not (a.rule or "").startswith("stays at Brazen Head")

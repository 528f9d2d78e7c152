"""Issue 18, kind 11: text to read. Tokens that look like something on a sign or a document become a graded soft
boost on the OCR text (soft.SoftText: weight * found terms / terms), computed alike by the embedded store (its
word index) and the Elasticsearch request (ids per term fetched first, then the same formula in Painless;
`getOrDefault` on a params map per https://www.elastic.co/docs/reference/scripting-languages/painless/painless-api-reference),
and shown as a chip."""

from __future__ import annotations

import numpy as np
import pytest

from lifeseeker.engine.filters import Weights
from lifeseeker.engine.query.chips import chips
from lifeseeker.engine.query.parse import parse_query
from lifeseeker.engine.query.soft import SoftText, soft_boost, text_fraction
from lifeseeker.engine.store.base import VectorQuery

from .synth import corpus, lance_store
from .test_elastic_contract import Q384, FakeCluster, _search_routes, make


@pytest.mark.parametrize("text,terms", [
    ("a receipt from 10/2019", ("10/2019",)), ("pump #8 at the petrol station", ("pump 8",)),
    ("AC/DC poster on a wall", ("AC/DC",)), ("a sign saying \u201cExit 4\u201d", ("Exit 4",)),
    ("a tin of HEINZ beans", ("HEINZ",)), ("NTCIR-14 poster", ("NTCIR-14",)),
    ("I WAS IN A CAFE", ()), ("a TV recording", ()), ("walking around DCU", ()), ("red car in May 2019", ()),
])
def test_read_terms(text, terms):
    p = parse_query(text)
    assert p.read_terms == terms
    assert any(isinstance(c, SoftText) and c.terms == terms for c in p.soft) == bool(terms)


def test_chip_shows_the_text_to_read():
    (chip,) = [c for c in chips(parse_query("a receipt from 10/2019")) if c.key == "text"]
    assert chip.label == "reads \u201c10/2019\u201d" and chip.hard == {"ocr": "10/2019"}


def test_reference_formula_is_graded():
    c = SoftText(("pump 8", "10/2019"))
    ocr = np.array(["PUMP 8 DIESEL 10/2019", "PUMP 3", "10/2019 total", None], dtype=object)
    assert text_fraction(c, [ocr], 4).tolist() == [1.0, 0.0, 0.5, 0.0]
    assert soft_boost([c], {"ocr_text": ocr}, 4).tolist() == pytest.approx([0.1, 0.0, 0.05, 0.0])


def _receipt_store(tmp_path):
    """51 documents whose TaT cosines to the query lie in a narrow band (as real sentence embeddings do); the
    receipt reading exactly "10/2019" is 42nd by cosine."""
    docs = corpus(51, seed=5, missing=0.0)
    q = np.zeros(8, dtype=np.float32)
    q[0] = 1.0
    cos = np.linspace(0.45, 0.30, 51)
    rng = np.random.default_rng(0)
    for k, d in enumerate(docs):
        rest = rng.standard_normal(7)
        rest = rest / np.linalg.norm(rest) * np.sqrt(1 - cos[k] ** 2)
        d["capmeta_vec"] = np.concatenate([[cos[k]], rest]).astype(np.float32)
        d["ocr_text"] = "SALE OPEN"
    docs[41]["ocr_text"] = "TOTAL 12.50 EUR 10/2019"
    docs[10]["ocr_text"] = "EXIT 10"  # one word of the term only: no match
    return lance_store(tmp_path / "s", docs), q, docs[41]["image_id"]


def test_a_receipt_reading_the_text_rises(tmp_path):
    store, q, receipt = _receipt_store(tmp_path)
    vq = VectorQuery(None, q, Weights())
    plain = [h.image_id for h in store.search(vq, limit=51)]
    boosted = [h.image_id for h in store.search(vq, limit=51, soft=parse_query("a receipt 10/2019").soft)]
    assert plain.index(receipt) == 41 and boosted.index(receipt) < 10


def test_elasticsearch_resolves_term_matches_then_scores_them_alike():
    cluster = FakeCluster()
    _search_routes(cluster, "count_2000.json", "search_exact.json")
    store = make(cluster)
    store.search(VectorQuery(None, Q384, Weights()), limit=5, soft=(SoftText(("10/2019",)),))
    term_req, main_req = cluster.sent("POST", "/lifeseeker/_search")
    # the term search: the TextMatch clause on ocr_text, ids only
    assert term_req.body["_source"] is False and term_req.body["size"] == 10_000
    assert "10" in str(term_req.body["query"]) and "2019" in str(term_req.body["query"])
    script = main_req.body["query"]["script_score"]["script"]
    ids = [h["_id"] for h in __import__("json").loads(
        (__import__("pathlib").Path(__file__).parent / "fixtures/es/search_exact.json").read_text())["hits"]["hits"]]
    assert script["params"]["p0_m"] == {i: 1.0 for i in ids}  # every fixture hit matched the one term
    assert script["params"]["p0_w"] == pytest.approx(0.1 * 0.3)  # text-only: scaled like every boost
    assert "params.p0_m.getOrDefault(doc['image_id'].value, 0.0)" in script["source"]

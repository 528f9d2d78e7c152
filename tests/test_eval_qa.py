"""Scoring question answers against labelled ones (normalised match, containment, token F1)."""

from __future__ import annotations

import json

import pytest

from lifeseeker.evaluation.qa import (AnswersFormatError, evaluate_answers, f1_score, load_predictions,
                                      normalise_answer, score_answer)

from .conftest import DATA


@pytest.mark.parametrize("text, normal", [
    ("11 October 2019", "2019-10-11"),
    ("October 11th, 2019", "2019-10-11"),
    ("2019-10-11", "2019-10-11"),
    ("Oct. 2019", "2019-10"),
    ("About 2 minutes", "2 minutes"),
    ("two minutes", "2 minutes"),
    ("never", "0"),
    ("The Café, in Málaga!", "cafe in malaga"),
    ("at 7 p.m.", "at 7 pm"),
    ("3.5 hours", "3.5 hours"),
    ("Sept 3rd 2019", "2019-09-03"),
    ("Rami’s backpack", "ramis backpack"),
])
def test_normalise_answer(text, normal):
    assert normalise_answer(text) == normal


def test_scores_of_one_answer():
    s = score_answer("q1", "Umong Temple", "I think it was the Umong Temple in Chiang Mai", "Location")
    assert (s.exact, s.contains) == (False, True)
    # prediction tokens: i think it was umong temple in chiang mai (9); 2 in common with the reference (2)
    assert s.f1 == pytest.approx(2 * (2 / 9) * 1.0 / (2 / 9 + 1.0))
    assert score_answer("q2", "About 2 minutes", "two minutes").exact
    assert score_answer("q3", "11 October 2019", "October 11, 2019").exact
    none = score_answer("q4", "4", None)
    assert (none.exact, none.contains, none.f1) == (False, False, 0.0)
    assert f1_score("", "") == 1.0 and f1_score("red", "blue") == 0.0


def test_evaluate_answers_per_type_on_real_questions():
    questions = [json.loads(line) for line in (DATA / "lsc-topics" / "questions.jsonl").read_text().splitlines()
                 if line.strip()][:8]
    assert [q["id"] for q in questions[:3]] == ["LSC22-108-1", "LSC22-108-2", "LSC22-108-3"]
    predictions = {"LSC22-108-1": "October 11th, 2019",  # Time, exact after normalisation
                   "LSC22-108-2": "2018",  # Time, wrong
                   "LSC22-108-4": "2 minutes",  # Duration: "About 2 minutes" -> exact
                   "LSC22-108-5": "zero"}  # Frequency: "never" -> 0 -> exact
    result = evaluate_answers(questions, predictions)
    assert (result["n"], result["answered"]) == (8, 4)
    assert result["exact"] == pytest.approx(3 / 8)
    assert result["types"]["Time"]["n"] == 3 and result["types"]["Time"]["exact"] == pytest.approx(1 / 3)
    assert result["types"]["Duration"]["exact"] == 1.0 and result["types"]["Frequency"]["n"] == 2
    assert result["questions"][1] == {"id": "LSC22-108-2", "type": "Time", "reference": "2019",
                                      "prediction": "2018", "exact": False, "contains": False, "f1": 0.0}


def test_prediction_files(tmp_path):
    jl = tmp_path / "p.jsonl"
    jl.write_text('{"id": "a", "answer": "Two"}\n\n{"id": "b", "prediction": "Dublin"}\n')
    assert load_predictions(jl) == {"a": "Two", "b": "Dublin"}
    tsv = tmp_path / "p.tsv"
    tsv.write_text("a\tTwo\nb\tDublin, Ireland\n")
    assert load_predictions(tsv) == {"a": "Two", "b": "Dublin, Ireland"}
    bad = tmp_path / "bad.tsv"
    bad.write_text("a Two\n")
    with pytest.raises(AnswersFormatError, match="bad.tsv:1"):
        load_predictions(bad)


def test_cli_eval_qa_with_an_answers_file(tmp_path):
    from click.testing import CliRunner

    from .test_dres import _root

    qs = tmp_path / "q.jsonl"
    qs.write_text('{"id": "1", "text": "When?", "type": "Time", "answer": "11 October 2019"}\n'
                  '{"id": "2", "text": "How many?", "type": "Counting", "answer": "2"}\n')
    preds = tmp_path / "a.tsv"
    preds.write_text("1\tOctober 11, 2019\n2\tthree\n")
    r = CliRunner().invoke(_root(), ["eval", "qa", str(qs), "--answers", str(preds)],
                           env={"LIFESEEKER_CACHE": str(tmp_path)})
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == "2 questions, 2 answered"
    assert lines[2].split() == ["Counting", "1", "0.0%", "0.0%", "0.0%"]
    assert lines[3].split() == ["Time", "1", "100.0%", "100.0%", "100.0%"]
    assert lines[4].split() == ["all", "2", "50.0%", "50.0%", "50.0%"]
    r = CliRunner().invoke(_root(), ["eval", "qa", str(qs), "--answers", str(preds), "--json"],
                           env={"LIFESEEKER_CACHE": str(tmp_path)})
    assert json.loads(r.output)["exact"] == 0.5


def test_cli_eval_qa_asks_the_engine_without_an_answers_file(tmp_path, monkeypatch):
    """No --answers: the questions go to engine.qa.QaService over the configured store (here the synthetic
    lifelog of test_eval_harness, with an encoder that ranks 1 March 08:00 first for any text)."""
    import numpy as np
    from click.testing import CliRunner

    import lifeseeker.cli.eval as cli_eval
    from lifeseeker.engine.search import SearchService
    from lifeseeker.engine.store import open_store
    from lifeseeker.models import Models

    from . import test_eval_harness as synth
    from .test_dres import _root

    class Same:
        def __init__(self, dims):
            self.dims, self.name = dims, "same"

        def encode_texts(self, texts):
            return np.tile(np.eye(self.dims, dtype=np.float32)[0], (len(texts), 1))

    store = open_store(f"lance://{tmp_path / 'store'}")
    store.ensure_schema({"clip_vec": synth.D_CLIP, "capmeta_vec": synth.D_TEXT})
    store.upsert(synth.documents())
    service = SearchService(store, Models(text=Same(synth.D_TEXT), clip=Same(synth.D_CLIP), clip_dims=synth.D_CLIP))
    monkeypatch.setattr(cli_eval, "_search_service", lambda settings: service)
    qs = tmp_path / "q.jsonl"
    qs.write_text('{"id": "1", "text": "What date did I see the dog?", "type": "Time", "answer": "1 March 2019"}\n'
                  '{"id": "2", "text": "What year did I see the dog?", "type": "Time", "answer": "2020"}\n')
    r = CliRunner().invoke(_root(), ["eval", "qa", str(qs), "--json"],
                           env={"LIFESEEKER_CACHE": str(tmp_path), "LIFESEEKER_VQA_MODEL": "none"})
    assert r.exit_code == 0, r.output
    body = json.loads(r.output[r.output.index("{"):])
    assert [(q["prediction"], q["exact"]) for q in body["questions"]] == [("1 March 2019", True), ("2019", False)]
    assert body["exact"] == 0.5
    store.close()

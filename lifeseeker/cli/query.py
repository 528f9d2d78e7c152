"""``lifeseeker parse TEXT`` and ``lifeseeker eval-parse FILE.jsonl``: query understanding (``engine/query/parse.py``)
and its score against labelled queries (tests/fixtures/lsc-topics).
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any, Iterable

import click

from ..errors import FilterError
from .options import echo

# The scored fields of an ``expect`` label (tests/fixtures/lsc-topics/README.md) and the type each belongs to.
# ``exclude`` (negated places) and ``venue`` (the lifelog's own places, matched against the store's vocabulary) are
# absent from the older labels, which therefore score the same as before (absent on both sides counts as equal).
SCORED_FIELDS = ("date_from", "date_to", "months", "weekdays", "hours", "country", "city", "semantic", "venue",
                 "exclude", "is_question")
TYPES = {"date": ("date_from", "date_to"), "months": ("months",), "weekdays": ("weekdays",), "hours": ("hours",),
         "country": ("country",), "city": ("city",), "semantic": ("semantic",), "venue": ("venue",),
         "exclude": ("exclude",), "is_question": ("is_question",)}
# Label ``type`` (questions.jsonl) -> our answer_type.
ANSWER_TYPE_OF_LABEL = {"time": "time", "location": "location", "counting": "counting", "frequency": "counting",
                        "duration": "duration", "object": "visual", "color": "visual", "colour": "visual",
                        "ocr": "visual", "none": None}  # "none": not a question (a title with "?")


def _norm(name: str, value: Any) -> Any:
    """Comparable form of one field: lists of names/days/months compare as sets, hours as a pair."""
    if value is None:
        return None
    if name in ("months", "weekdays", "country", "city", "semantic", "venue", "exclude"):
        from ..engine.text import fold

        return frozenset(fold(str(v)) if isinstance(v, str) else v for v in value) or None
    if name == "hours":
        return tuple(tuple(x) if isinstance(x, list) else x for x in value)
    if name == "is_question":
        return bool(value)
    return value


def compare(expect: dict[str, Any], got: dict[str, Any]) -> dict[str, bool]:
    """Per scored field: does the parse equal the label (absent on both sides counts as equal)?"""
    return {f: _norm(f, expect.get(f)) == _norm(f, got.get(f)) for f in SCORED_FIELDS}


def _units(name: str, fields: Iterable[str], rec: dict[str, Any]) -> set:
    """The items of one constraint type, for precision/recall: list elements, or the whole value."""
    out: set = set()
    if name == "is_question":
        return {True} if rec.get("is_question") else set()
    if name == "date":
        if rec.get("date_from") or rec.get("date_to"):
            out.add((rec.get("date_from"), rec.get("date_to")))
        return out
    for f in fields:
        v = _norm(f, rec.get(f))
        if v is None:
            continue
        if isinstance(v, frozenset):
            out |= v
        else:
            out.add(v)
    return out


def evaluate(records: list[dict[str, Any]], today: date | None = None, vocabulary=None) -> dict[str, Any]:
    """Score the parser against labelled queries (``text`` + ``expect`` per record).

    Args:
        records: labelled queries; a record's ``today`` (ISO date) is the reference date of its relative phrases
            ("last October"), else ``today``.
        today: default reference date (None: the real today).
        vocabulary: the lifelog's own place names (``query.vocab.Vocabulary``) the parser may match, or None.

    Returns:
        ``{"n", "exact", "exact_rate", "types": {type: {"tp", "fp", "fn", "precision", "recall"}},
        "answer_type": {"n", "correct", "accuracy"} (records with a ``type`` label), "failures": [...]}``.
    """
    from ..engine.query.parse import parse_query

    counts = {t: {"tp": 0, "fp": 0, "fn": 0} for t in TYPES}
    exact, failures = 0, []
    at_n = at_ok = 0
    for rec in records:
        expect = rec.get("expect") or {}
        try:
            ref = date.fromisoformat(rec["today"]) if rec.get("today") else today
            parsed = parse_query(rec.get("text", ""), today=ref, vocabulary=vocabulary)
            got = parsed.constraints()
        except FilterError as exc:
            parsed, got = None, {"error": str(exc)}
        same = compare(expect, got)
        if all(same.values()):
            exact += 1
        else:
            failures.append({"id": rec.get("id"), "text": rec.get("text"),
                             "fields": {f: {"expect": expect.get(f), "got": got.get(f)}
                                        for f, ok in same.items() if not ok}})
        for t, fields in TYPES.items():
            want, have = _units(t, fields, expect), _units(t, fields, got)
            counts[t]["tp"] += len(want & have)
            counts[t]["fp"] += len(have - want)
            counts[t]["fn"] += len(want - have)
        label = str(rec.get("type") or "").lower()
        if label in ANSWER_TYPE_OF_LABEL and parsed is not None:
            if parsed.answer_type != ANSWER_TYPE_OF_LABEL[label]:
                failures.append({"id": rec.get("id"), "text": rec.get("text"), "fields": {"answer_type": {
                    "expect": ANSWER_TYPE_OF_LABEL[label], "got": parsed.answer_type}}})
            at_n += 1
            at_ok += parsed.answer_type == ANSWER_TYPE_OF_LABEL[label]
    types = {}
    for t, c in counts.items():
        p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else None
        r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else None
        types[t] = {**c, "precision": p, "recall": r}
    n = len(records)
    return {"n": n, "exact": exact, "exact_rate": exact / n if n else None, "types": types,
            "answer_type": {"n": at_n, "correct": at_ok, "accuracy": at_ok / at_n if at_n else None},
            "failures": failures}


def _fmt(x: float | None) -> str:
    return "   -  " if x is None else f"{x * 100:5.1f}%"


def _vocabulary(path: Path | None):
    """The ``--vocabulary`` CSV as a ``Vocabulary`` (None without one); a bad file is a usage error."""
    if path is None:
        return None
    from ..engine.query.vocab import Vocabulary

    try:
        return Vocabulary.from_csv(path)
    except (OSError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None


@click.command("parse")
@click.argument("text", nargs=-1, required=True)
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Local date that relative phrases count from (default: today).")
@click.option("--vocabulary", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="The lifelog's own place names: a CSV with a semantic_name (locality, city) column.")
def parse_cmd(text: tuple[str, ...], today, vocabulary: Path | None) -> None:
    """Print the structured request parsed from TEXT as JSON (constraints, soft boosts, filters, question, and
    every decision with its evidence)."""
    from ..engine.query.parse import parse_query

    try:
        vocab = _vocabulary(vocabulary)
        parsed = parse_query(" ".join(text), today=today.date() if today else None, vocabulary=vocab)
    except FilterError as exc:
        raise click.UsageError(str(exc)) from None
    echo(json.dumps(parsed.to_dict(), indent=2, ensure_ascii=False))


@click.command("eval-parse")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the figures (and failures) as JSON.")
@click.option("--failures", "show_failures", is_flag=True, help="List the queries that do not match exactly.")
@click.option("--vocabulary", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="The lifelog's own place names: a CSV with a semantic_name (locality, city) column, e.g. an LSC "
                   "metadata file.")
def eval_parse_cmd(files: tuple[Path, ...], as_json: bool, show_failures: bool, vocabulary: Path | None) -> None:
    """Score the parser against labelled queries (JSON lines with `text` and `expect`; a record's `today` is its
    reference date): exact-match rate per query and precision/recall per constraint type."""
    vocab = _vocabulary(vocabulary)
    results = {}
    for path in files:
        records = []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except ValueError as exc:
                    raise click.UsageError(f"{path}:{n}: not JSON ({exc})") from None
        results[str(path)] = evaluate(records, vocabulary=vocab)
    if as_json:
        echo(json.dumps(results, indent=2, ensure_ascii=False, default=str))
        return
    for path, res in results.items():
        echo(f"{path}: {res['exact']}/{res['n']} exact ({_fmt(res['exact_rate']).strip()})")
        echo(f"  {'type':<12} {'prec':>7} {'recall':>7} {'tp':>5} {'fp':>5} {'fn':>5}")
        for t, c in res["types"].items():
            echo(f"  {t:<12} {_fmt(c['precision']):>7} {_fmt(c['recall']):>7} {c['tp']:>5} {c['fp']:>5} "
                 f"{c['fn']:>5}")
        at = res["answer_type"]
        if at["n"]:
            echo(f"  answer type: {at['correct']}/{at['n']} ({_fmt(at['accuracy']).strip()})")
        if show_failures:
            for f in res["failures"]:
                echo(f"  x {f['id']}: {f['text']}")
                for name, v in f["fields"].items():
                    echo(f"      {name}: expect {v['expect']!r} got {v['got']!r}")
    sys.stdout.flush()


commands = [parse_cmd, eval_parse_cmd]

__all__ = ["commands", "parse_cmd", "eval_parse_cmd", "evaluate", "compare"]

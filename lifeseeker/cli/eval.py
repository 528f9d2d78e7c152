"""Evaluation commands: the topic harness, QA answers against labelled ones, and TREC run files.

* ``lifeseeker eval topics FILE... [--json] [--k 1,5,10,50] [--parse] [--skip-absent]``: the topic harness
  (``evaluation/harness.py``) against the configured store and models; a table, or JSON.
* ``lifeseeker eval qa FILE [--answers PRED] [--json]``: QA answers scored against the labelled ones
  (``evaluation/qa.py``); answers from PRED, else from the question-answering engine (``engine/qa.py``).
* ``lifeseeker export-run FILE... --out RUN [--qrels QRELS] [--depth 1000] [--tag T] [--level final|all|N]``: a
  TREC run file (``evaluation/trec.py``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..errors import LifeseekerError
from .options import echo, get_settings
from .options import search_service_for as _search_service  # a module global: tests replace it


def _ks(values: tuple[str, ...]) -> tuple[int, ...]:
    out = []
    for v in values:
        for part in v.split(","):
            if part.strip():
                try:
                    out.append(int(part))
                except ValueError:
                    raise click.BadParameter(f"{part!r} is not a whole number", param_hint="--k") from None
    return tuple(out)


def _topics(files: tuple[Path, ...], source: str | None):
    from ..evaluation.topics import TopicFormatError, load_topics, merge_topics

    try:
        return merge_topics(load_topics(f, source) for f in files)
    except (OSError, TopicFormatError) as exc:
        raise click.ClickException(str(exc)) from None


@click.group("eval")
def eval_group():
    """Evaluate retrieval on LSC topics and question answering on labelled questions."""


@eval_group.command("topics")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--k", "k_values", multiple=True, default=("1,5,10,50",), show_default=True,
              help="Cut-offs, comma list or repeated; the search depth is the largest.")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON instead of the table.")
@click.option("--json-out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the JSON report to this file.")
@click.option("--source", default=None, help="Topic id prefix for raw files (default: LSCnn from the file name).")
@click.option("--parse", is_flag=True, help="Run each hint through the query parser (soft time/place boosts).")
@click.option("--weights", default=None, help="W_IAT,W_TAT (default: the configured weights).")
@click.option("--skip-absent", is_flag=True, help="Skip topics none of whose targets is in the store.")
@click.pass_context
def eval_topics(ctx, files, k_values, as_json, json_out, source, parse, weights, skip_absent):
    """Search every hint level of the topics in FILES (LSC raw text or JSON lines; several files are merged by
    topic id) and report hit@k, recall@k, MRR, rank of the first target and event-level hits, per hint level
    (mean over topics) and per topic."""
    from ..engine.filters import Weights
    from ..evaluation.harness import run_topics, service_searcher

    settings = get_settings(ctx)
    ks = _ks(k_values)
    topics = _topics(files, source)
    try:
        service = _search_service(settings)
        searcher = service_searcher(service, Weights.parse(weights) if weights else settings.weights, parse=parse)
        report = run_topics(topics, searcher, ks, store=service.store, skip_absent=skip_absent,
                            progress=lambda tid: echo(f"topic {tid}", err=True) if not as_json else None)
    except (LifeseekerError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    body = report.to_json()
    body["store"] = settings.store
    body["parse"] = parse
    if json_out:
        json_out.write_text(json.dumps(body, indent=1, ensure_ascii=False), encoding="utf-8")
    if as_json:
        echo(json.dumps(body, indent=1, ensure_ascii=False))
    else:
        echo(f"store: {settings.store}")
        echo(report.table())


@eval_group.command("qa")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--answers", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Predictions: JSON lines {id, answer} or id<TAB>answer. Default: ask the QA engine.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with every question) instead of the table.")
@click.pass_context
def eval_qa(ctx, file, answers, as_json):
    """Score answers to the questions in FILE (JSON lines with id, text, type, answer) against the labelled
    answers after normalisation: exact match, reference contained, token F1; overall and per type."""
    from ..evaluation.qa import AnswersFormatError, evaluate_answers, load_predictions, load_questions

    try:
        questions = load_questions(file)
        if answers is not None:
            predictions = load_predictions(answers)
        else:
            predictions = _engine_answers(get_settings(ctx), questions, quiet=as_json)
        result = evaluate_answers(questions, predictions)
    except (OSError, AnswersFormatError, LifeseekerError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        echo(json.dumps(result, indent=1, ensure_ascii=False))
        return

    def pct(x):
        return "   -  " if x is None else f"{100 * x:5.1f}%"

    echo(f"{result['n']} questions, {result['answered']} answered")
    echo(f"{'type':<12} {'n':>4}  {'exact':>6}  {'contains':>8}  {'F1':>6}")
    for name, t in list(result["types"].items()) + [("all", result)]:
        echo(f"{name:<12} {t['n']:>4}  {pct(t['exact'])}  {pct(t['contains']):>8}  {pct(t['f1'])}")


def _engine_answers(settings, questions, quiet: bool) -> dict[str, str]:
    """Answers from ``engine.qa.QaService`` (VQA when its weights are cached)."""
    from ..engine.qa import QaService
    from ..errors import ModelUnavailable
    from ..evaluation.qa import NO_MATCH

    service = _search_service(settings)
    vqa, vqa_error = None, None
    try:
        from ..models.vqa import load_vqa

        vqa = load_vqa(settings.vqa_model, device=settings.device) if getattr(settings, "vqa_model", None) else None
    except ModelUnavailable as exc:
        vqa_error = str(exc)
        echo(f"warning: {exc}", err=True)
    qa = QaService(service, vqa=vqa, vqa_error=vqa_error)
    out = {}
    for q in questions:
        if not quiet:
            echo(f"question {q.get('id')}", err=True)
        ans = qa.answer(str(q.get("text", "")))
        if ans.answer is not None:
            out[str(q.get("id"))] = ans.answer
        elif ans.no_match:
            out[str(q.get("id"))] = NO_MATCH
    return out


@click.command("export-run")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Run file to write ('-' for stdout).")
@click.option("--qrels", "qrels_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the targets as a qrels file.")
@click.option("--depth", default=1000, show_default=True, type=click.IntRange(1, 1000), help="Results per query.")
@click.option("--tag", default="lifeseeker", show_default=True, help="Run tag (last column).")
@click.option("--level", default="final", show_default=True,
              help="'final' (each topic's last hint), 'all' (qid = <topic>-h<N>), or a hint level N.")
@click.option("--source", default=None, help="Topic id prefix for raw files (default: LSCnn from the file name).")
@click.option("--parse", is_flag=True, help="Run each hint through the query parser (soft time/place boosts).")
@click.pass_context
def export_run_cmd(ctx, files, out_path, qrels_path, depth, tag, level, source, parse):
    """Search the topics in FILES and write a TREC run file (qid Q0 docno rank score tag) for trec_eval."""
    from ..evaluation.harness import service_searcher
    from ..evaluation.trec import export_run, write_lines

    if level not in ("final", "all"):
        try:
            level = int(level)
        except ValueError:
            raise click.BadParameter("use 'final', 'all' or a hint level number", param_hint="--level") from None
    settings = get_settings(ctx)
    topics = _topics(files, source)
    try:
        service = _search_service(settings)
        run, qrels = export_run(topics, service_searcher(service, settings.weights, parse=parse), depth=depth,
                                tag=tag, level=level, store=service.store)
    except (LifeseekerError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if str(out_path) == "-":
        write_lines(sys.stdout, run)
    else:
        with open(out_path, "w", encoding="utf-8", newline="\n") as fh:
            write_lines(fh, run)
        echo(f"{len(run)} run lines for {len({ln.split(' ', 1)[0] for ln in run})} queries -> {out_path}",
             err=True)
    if qrels_path:
        with open(qrels_path, "w", encoding="utf-8", newline="\n") as fh:
            write_lines(fh, qrels)
        echo(f"{len(qrels)} qrels lines -> {qrels_path}", err=True)


commands = [eval_group, export_run_cmd]

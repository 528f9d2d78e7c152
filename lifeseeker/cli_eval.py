"""CLI commands of competition and evaluation (the lead registers ``commands`` in ``lifeseeker/cli.py``):

* ``lifeseeker eval topics FILE... [--json] [--k 1,5,10,50] [--parse] [--skip-absent]``: the topic harness
  (``evaluation/harness.py``) against the configured store and models; a table, or JSON.
* ``lifeseeker eval qa FILE [--answers PRED] [--json]``: QA answers scored against the labelled ones
  (``evaluation/qa.py``); answers from PRED, else from the question-answering engine (``engine/qa.py``).
* ``lifeseeker export-run FILE... --out RUN [--qrels QRELS] [--depth 1000] [--tag T] [--level final|all|N]``: a
  TREC run file (``evaluation/trec.py``).
* ``lifeseeker dres login | logout | status | submit ID [--text]``: the DRES v2 client (``competition/dres.py``).
  Server and credentials from ``LIFESEEKER_DRES_URL`` / ``_USER`` / ``_PASSWORD`` (``_EVALUATION``,
  ``_COLLECTION``) or the flags; ``login`` keeps the session token in ``<cache dir>/dres-session.json`` (mode 0600)
  so later commands reuse it. The password and the token are never printed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .errors import LifeseekerError


def _settings(ctx: click.Context):
    return ctx.find_root().obj["settings"]


def _search_service(settings):
    from .engine.search import SearchService
    from .engine.store import open_store
    from .models import load_models

    store = open_store(settings.store, **settings.es_options())
    models = load_models(settings, for_ingest=False)
    for notice in models.notices:
        click.echo(f"warning: {notice}", err=True)
    return SearchService(store, models)


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
    from .evaluation.topics import TopicFormatError, load_topics, merge_topics

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
    from .engine.filters import Weights
    from .evaluation.harness import run_topics, service_searcher

    settings = _settings(ctx)
    ks = _ks(k_values)
    topics = _topics(files, source)
    try:
        service = _search_service(settings)
        searcher = service_searcher(service, Weights.parse(weights) if weights else settings.weights, parse=parse)
        report = run_topics(topics, searcher, ks, store=service.store, skip_absent=skip_absent,
                            progress=lambda tid: click.echo(f"topic {tid}", err=True) if not as_json else None)
    except (LifeseekerError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    body = report.to_json()
    body["store"] = settings.store
    body["parse"] = parse
    if json_out:
        json_out.write_text(json.dumps(body, indent=1, ensure_ascii=False), encoding="utf-8")
    if as_json:
        click.echo(json.dumps(body, indent=1, ensure_ascii=False))
    else:
        click.echo(f"store: {settings.store}")
        click.echo(report.table())


@eval_group.command("qa")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--answers", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Predictions: JSON lines {id, answer} or id<TAB>answer. Default: ask the QA engine.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with every question) instead of the table.")
@click.pass_context
def eval_qa(ctx, file, answers, as_json):
    """Score answers to the questions in FILE (JSON lines with id, text, type, answer) against the labelled
    answers after normalisation: exact match, reference contained, token F1; overall and per type."""
    from .evaluation.qa import AnswersFormatError, evaluate_answers, load_predictions, load_questions

    try:
        questions = load_questions(file)
        if answers is not None:
            predictions = load_predictions(answers)
        else:
            predictions = _engine_answers(_settings(ctx), questions, quiet=as_json)
        result = evaluate_answers(questions, predictions)
    except (OSError, AnswersFormatError, LifeseekerError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(result, indent=1, ensure_ascii=False))
        return

    def pct(x):
        return "   -  " if x is None else f"{100 * x:5.1f}%"

    click.echo(f"{result['n']} questions, {result['answered']} answered")
    click.echo(f"{'type':<12} {'n':>4}  {'exact':>6}  {'contains':>8}  {'F1':>6}")
    for name, t in list(result["types"].items()) + [("all", result)]:
        click.echo(f"{name:<12} {t['n']:>4}  {pct(t['exact'])}  {pct(t['contains']):>8}  {pct(t['f1'])}")


def _engine_answers(settings, questions, quiet: bool) -> dict[str, str]:
    """Answers from ``engine.qa.QaService`` (VQA when its weights are cached)."""
    from .engine.qa import QaService
    from .errors import ModelUnavailable

    service = _search_service(settings)
    vqa, vqa_error = None, None
    try:
        from .models.vqa import load_vqa

        vqa = load_vqa(settings.vqa_model, device=settings.device) if getattr(settings, "vqa_model", None) else None
    except ModelUnavailable as exc:
        vqa_error = str(exc)
        click.echo(f"warning: {exc}", err=True)
    qa = QaService(service, vqa=vqa, vqa_error=vqa_error)
    out = {}
    for q in questions:
        if not quiet:
            click.echo(f"question {q.get('id')}", err=True)
        ans = qa.answer(str(q.get("text", "")))
        if ans.answer is not None:
            out[str(q.get("id"))] = ans.answer
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
    from .evaluation.harness import service_searcher
    from .evaluation.trec import export_run, write_lines

    if level not in ("final", "all"):
        try:
            level = int(level)
        except ValueError:
            raise click.BadParameter("use 'final', 'all' or a hint level number", param_hint="--level") from None
    settings = _settings(ctx)
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
        click.echo(f"{len(run)} run lines for {len({ln.split(' ', 1)[0] for ln in run})} queries -> {out_path}",
                   err=True)
    if qrels_path:
        with open(qrels_path, "w", encoding="utf-8", newline="\n") as fh:
            write_lines(fh, qrels)
        click.echo(f"{len(qrels)} qrels lines -> {qrels_path}", err=True)


# -- DRES --------------------------------------------------------------------------------------------------------

def dres_options(func):
    """The DRES server and credential flags (each falls back to its LIFESEEKER_DRES_* variable)."""
    for flag, key, help_text in reversed([
            ("--url", "url", "DRES server URL (LIFESEEKER_DRES_URL)."),
            ("--user", "user", "DRES user (LIFESEEKER_DRES_USER)."),
            ("--password", "password", "DRES password (prefer LIFESEEKER_DRES_PASSWORD: flags show in ps)."),
            ("--evaluation", "evaluation_id", "Evaluation id (LIFESEEKER_DRES_EVALUATION; default: the one "
                                              "ACTIVE evaluation)."),
            ("--collection", "collection", "mediaItemCollectionName (LIFESEEKER_DRES_COLLECTION)."),
    ]):
        func = click.option(flag, key, default=None, help=help_text)(func)
    return func


def _dres(ctx, **flags):
    from .competition.dres import DresClient, DresConfig, load_session

    try:
        config = DresConfig.from_env(**flags)
    except LifeseekerError as exc:
        raise click.ClickException(str(exc)) from None
    path = _session_path(ctx)
    return DresClient(config, session_id=load_session(path, config)), path


def _session_path(ctx) -> Path:
    return Path(_settings(ctx).cache_dir) / "dres-session.json"


def _remember(client, path: Path, before: str | None) -> None:
    from .competition.dres import save_session

    if client.session_id and client.session_id != before:
        save_session(path, client.config, client.session_id)


@click.group("dres")
def dres_group():
    """Take part in an LSC session: DRES v2 login, status and submission."""


@dres_group.command("login")
@dres_options
@click.pass_context
def dres_login(ctx, **flags):
    """Log in, keep the session for later commands, list the evaluations visible to the user."""
    client, path = _dres(ctx, **flags)
    try:
        user = client.login()
        _remember(client, path, None)
        evaluations = client.evaluations()
    except LifeseekerError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"logged in to {client.config.url} as {user.username} ({user.role})")
    for e in evaluations:
        click.echo(f"  evaluation {e.id}  {e.status or '-':<10}  {e.name}")


@dres_group.command("logout")
@dres_options
@click.pass_context
def dres_logout(ctx, **flags):
    """End the saved session."""
    from .competition.dres import forget_session

    client, path = _dres(ctx, **flags)
    try:
        if client.session_id:
            client.logout()
    except LifeseekerError as exc:
        click.echo(f"warning: {exc}", err=True)
    finally:
        forget_session(path)
    click.echo("logged out")


@dres_group.command("status")
@dres_options
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def dres_status(ctx, as_json, **flags):
    """Server time, the evaluations visible to the user and the running task."""
    client, path = _dres(ctx, **flags)
    before = client.session_id
    out: dict[str, object] = {"url": client.config.url, "user": client.config.user}
    try:
        out["server_time_ms"] = client.server_time_ms()
        out["evaluations"] = [{"id": e.id, "name": e.name, "status": e.status, "type": e.type}
                              for e in client.evaluations()]
        _remember(client, path, before)
        try:
            eid = client.evaluation_id()
            task = client.current_task(eid)
            out["evaluation_id"] = eid
            out["task"] = {"name": task.name, "task_group": task.task_group, "task_type": task.task_type,
                           "duration_s": task.duration_s}
        except LifeseekerError as exc:
            out["task"] = None
            out["task_error"] = str(exc)
    except LifeseekerError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(out, indent=1))
        return
    click.echo(f"DRES {out['url']} as {out['user']}")
    for e in out["evaluations"]:
        click.echo(f"  evaluation {e['id']}  {e['status'] or '-':<10}  {e['name']}")
    if out.get("task"):
        t = out["task"]
        click.echo(f"running task: {t['name']} ({t['task_type']}, group {t['task_group']}, {t['duration_s']} s) "
                   f"in evaluation {out['evaluation_id']}")
    else:
        click.echo(f"no running task: {out.get('task_error')}")


@dres_group.command("submit")
@click.argument("answer")
@click.option("--text", "as_text", is_flag=True, help="ANSWER is a text answer (QA task), not an image id.")
@dres_options
@click.pass_context
def dres_submit(ctx, answer, as_text, **flags):
    """Submit ANSWER: an image id (mediaItemName = its file name without extension) or, with --text, a text
    answer; prints the verdict. Exit status 0 for any verdict, 1 when DRES refused or failed."""
    client, path = _dres(ctx, **flags)
    before = client.session_id
    try:
        result = client.submit_text(answer) if as_text else client.submit_item(answer)
    except (LifeseekerError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        _remember(client, path, before)
    verdict = result.verdict.value if result.verdict else "NO VERDICT"
    pending = " (awaiting judge)" if result.pending else ""
    click.echo(f"{verdict}{pending}: {result.description}" if result.description else f"{verdict}{pending}")


commands = [eval_group, export_run_cmd, dres_group]

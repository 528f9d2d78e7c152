"""``lifeseeker dres login | logout | status | submit ID [--text]``: the DRES v2 client (``competition/dres.py``) for
taking part in an LSC session.

Server and credentials from ``LIFESEEKER_DRES_URL`` / ``_USER`` / ``_PASSWORD`` (``_EVALUATION``, ``_COLLECTION``)
or the flags; ``login`` keeps the session token in ``<cache dir>/dres-session.json`` (mode 0600) so later commands
reuse it. The password and the token are never printed.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import LifeseekerError
from .options import echo, get_settings


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
    from ..competition.dres import DresClient, DresConfig, load_session

    try:
        config = DresConfig.from_env(**flags)
    except LifeseekerError as exc:
        raise click.ClickException(str(exc)) from None
    path = _session_path(ctx)
    return DresClient(config, session_id=load_session(path, config)), path


def _session_path(ctx) -> Path:
    return Path(get_settings(ctx).cache_dir) / "dres-session.json"


def _remember(client, path: Path, before: str | None) -> None:
    from ..competition.dres import save_session

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
    echo(f"logged in to {client.config.url} as {user.username} ({user.role})")
    for e in evaluations:
        echo(f"  evaluation {e.id}  {e.status or '-':<10}  {e.name}")


@dres_group.command("logout")
@dres_options
@click.pass_context
def dres_logout(ctx, **flags):
    """End the saved session."""
    from ..competition.dres import forget_session

    client, path = _dres(ctx, **flags)
    try:
        if client.session_id:
            client.logout()
    except LifeseekerError as exc:
        echo(f"warning: {exc}", err=True)
    finally:
        forget_session(path)
    echo("logged out")


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
        echo(json.dumps(out, indent=1))
        return
    echo(f"DRES {out['url']} as {out['user']}")
    for e in out["evaluations"]:
        echo(f"  evaluation {e['id']}  {e['status'] or '-':<10}  {e['name']}")
    if out.get("task"):
        t = out["task"]
        echo(f"running task: {t['name']} ({t['task_type']}, group {t['task_group']}, {t['duration_s']} s) "
             f"in evaluation {out['evaluation_id']}")
    else:
        echo(f"no running task: {out.get('task_error')}")


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
    echo(f"{verdict}{pending}: {result.description}" if result.description else f"{verdict}{pending}")


commands = [dres_group]

"""``search`` and ``ask`` through a running server (``--server URL`` or ``LIFESEEKER_SERVER``): the query goes to
``GET /api/search`` or ``GET /api/answer`` (the JSON API, webui/api.py and webui/qa.py, one parameter vocabulary
with the CLI options), so a session of queries pays the model load once, in the server. And what both ways
share: printing a search's hits and a question's answer from their JSON form.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Mapping

import click

from ..terminal import printable
from .options import echo, notice

# A search answers in well under a second once the server is warm; a server still warming up (``/readyz`` 503)
# answers its first query when ready, so the client waits longer than that.
SERVER_TIMEOUT_S = 120.0


def query_params(text: str, params: Mapping[str, Any], **extra: object) -> list[tuple[str, str]]:
    """Query-string pairs: ``q``, every filter option given (list options repeated, as the API takes them) and the
    non-None ``extra`` values (``limit``, ``weights``)."""
    out: list[tuple[str, str]] = [("q", text)] if text else []
    for key, value in params.items():
        if value in (None, "", (), []):
            continue
        for v in (value if isinstance(value, (list, tuple)) else [value]):
            out.append((key, str(v)))
    out += [(k, str(v)) for k, v in extra.items() if v is not None]
    return out


def get_json(server: str, path: str, params: Iterable[tuple[str, str]], settings=None) -> dict[str, Any]:
    """``GET <server><path>?<params>`` as JSON (basic auth from ``LIFESEEKER_AUTH_USER``/``_PASSWORD`` when set).

    Raises:
        click.UsageError: the server answered 400 (its message names the parameter).
        click.ClickException: the server cannot be reached, answered another error, or not JSON; the message
            names the server and says what to do.
    """
    import requests

    url = server.rstrip("/") + path
    auth = (settings.auth_user, settings.auth_password or "") if settings is not None and settings.auth_user \
        else None
    try:
        resp = requests.get(url, params=list(params), timeout=SERVER_TIMEOUT_S, auth=auth)
    except requests.RequestException as exc:
        raise click.ClickException(
            f"The server {server} cannot be reached ({type(exc).__name__}). Start it with `lifeseeker serve`, or "
            f"leave out --server (and unset LIFESEEKER_SERVER) to search in this process.") from None
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.status_code == 400 and isinstance(body, dict) and body.get("error"):
        raise click.UsageError(str(body["error"]))
    if resp.status_code != 200 or not isinstance(body, dict):
        detail = body.get("error") if isinstance(body, dict) else None
        raise click.ClickException(f"The server {server} answered {resp.status_code} to {path}"
                                   + (f": {detail}" if detail else " (not the lifeseeker JSON API?)."))
    return body


def _when(value: Any, fmt: str) -> str:
    if not value:
        return "-"
    t = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return t.strftime(fmt)


def print_hits(hits: list[Mapping[str, Any]], total_filtered: int, took_ms: float, text_only: bool,
               warnings: Iterable[str] = ()) -> None:
    """The search table: rank, fused score, IaT, TaT, local time, place, collection/path (hits as ``hit_json``)."""
    for warning in warnings:
        notice(warning)
    echo(f"{len(hits)} of {total_filtered} matching documents "
         f"({took_ms:.0f} ms){'  [text-only]' if text_only else ''}")
    for rank, d in enumerate(hits, 1):
        place = ", ".join(p for p in (d.get("locality"), d.get("city"), d.get("country")) if p) or "-"
        echo(f"{rank:3d}  {d['score']:+.4f}  IaT {d['iat']:+.4f}  TaT {d['tat']:+.4f}  "
             f"{_when(d.get('local_time'), '%Y-%m-%d %H:%M:%S')}  {printable(place)}  "
             f"{printable(d.get('collection'))}/{printable(d.get('path'))}")


def print_answer(a: Mapping[str, Any]) -> None:
    """A question's answer (``Answer.to_dict()`` form): answer, type, confidence, how, evidence events and images."""
    for n in a.get("notices") or ():
        notice(n)
    kind = f"{a.get('answer_type') or 'not a question'}" + (f"/{a['kind']}" if a.get("kind") else "")
    echo(f"answer: {a['answer'] if a.get('answer') is not None else '(none)'}")
    echo(f"type: {kind}  confidence: {a.get('confidence', 0.0):.2f}  ({a.get('took_ms', 0.0):.0f} ms)")
    if a.get("explanation"):
        echo(f"how: {a['explanation']}")
    if a.get("rule"):
        echo(f"rule: {a['rule']}")
    for it in a.get("items") or ():  # what a count or a date was taken from
        echo(f"  counted {it['item_id']}: {it['label']}" + ("" if it.get("counted", True) else "  (dropped)"))
    for e in a.get("events") or ():
        when = "-"
        if e.get("start"):
            when = _when(e["start"], "%Y-%m-%d %H:%M")
            if e.get("end") and e["end"] != e["start"]:
                when += "-" + _when(e["end"], "%H:%M")
        echo(f"  event {when}  {e.get('place') or '-'}  score {e['score']:+.4f}  -> {e.get('answer') or '-'}")
        for im in a.get("images") or ():
            if im.get("event_id") == e.get("event_id"):
                echo(f"      {im['image_id']}  {im['score']:+.4f}  -> {im.get('answer') or '-'}")

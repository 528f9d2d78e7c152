"""A client for the DRES v2 client API: log in, find the running evaluation and task, submit answers, log queries
and result lists.

Source: dres-dev/DRES ``doc/oas-client.json`` (DRES Client API 2.0.2). The endpoints used, all under the server
URL:

* ``POST /api/v2/login``: ``LoginRequest {username, password}`` -> ``ApiUser {id, username, role, sessionId}``;
* ``GET /api/v2/logout?session=`` -> ``SuccessStatus``;
* ``GET /api/v2/client/evaluation/list?session=`` -> ``[ApiClientEvaluationInfo {id, name, type, status, ...}]``;
* ``GET /api/v2/client/evaluation/currentTask/{evaluationId}?session=`` ->
  ``ApiClientTaskTemplateInfo {name, taskGroup, taskType, duration}``;
* ``POST /api/v2/submit/{evaluationId}?session=``: ``ApiClientSubmission {answerSets: [{answers:
  [ApiClientAnswer]}]}`` -> 200/202 ``SuccessfulSubmissionsStatus {status, submission: ApiVerdictStatus,
  description}``; 400/401/404/412 ``ErrorStatus {status, description}``;
* ``POST /api/v2/log/query/{evaluationId}?session=``: ``QueryEventLog {timestamp, events}`` -> ``SuccessStatus``;
* ``POST /api/v2/log/result/{evaluationId}?session=``: ``QueryResultLog {timestamp, sortType,
  resultSetAvailability, results, events}`` -> ``SuccessStatus``;
* ``GET /api/v2/status/time`` -> ``CurrentTime {timeStamp}``.

An answer is ``{"mediaItemName": <image id without folder and extension>}`` for known-item and ad-hoc tasks
(LSC image ``20191226_123224_000``) and ``{"text": ...}`` for question tasks. The verdict is ``ApiVerdictStatus``:
CORRECT, WRONG, INDETERMINATE (accepted, awaiting a judge; HTTP 202) or UNDECIDABLE. HTTP errors become specific
exceptions whose message carries DRES's own description: 401 :class:`DresAuthError` (bad credentials or expired
session; the client logs in again once when it holds a password), 404 :class:`DresNotFound` (no such evaluation or
no running task), 412 :class:`DresRejected` (the server refused the submission, e.g. a duplicate or the task is
over), 400 :class:`DresBadRequest`. The password and the session token are never logged nor put in messages.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import requests

from .dres_api import (  # noqa: F401 - the client's vocabulary, re-exported for its users
    API, IMAGE_SUFFIXES, MAX_TEXT, QUERY_EVENT_CATEGORIES, DresAuthError, DresBadRequest, DresConfig, DresError,
    DresNotConfigured, DresNotFound, DresRejected, DresUnavailable, DresUser, Evaluation, QueryEvent,
    SubmissionResult, TaskInfo, Verdict, media_item_name, query_events)

log = logging.getLogger(__name__)



class _RedactSession(logging.Filter):
    """Hides ``session=<token>`` in log records (urllib3 logs request URLs at DEBUG level)."""

    _pattern = re.compile(r"(session=)[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "session=" in message:
            record.msg, record.args = self._pattern.sub(r"\1<hidden>", message), ()
        return True


_REDACT = _RedactSession()


class DresClient:
    """One participant's connection to a DRES server (thread-safe: one instance may serve a web app).

    Args:
        config: server and credentials.
        http: a ``requests.Session`` to use (tests inject one); default a new one.
        session_id: a session token from an earlier login (e.g. saved by ``lifeseeker dres login``).
    """

    def __init__(self, config: DresConfig, http: requests.Session | None = None, session_id: str | None = None):
        self.config = config
        self.http = http or requests.Session()
        self.http.headers.setdefault("User-Agent", "lifeseeker-dres-client")
        self._session_id = session_id
        self._evaluation_id: str | None = config.evaluation_id
        self._lock = threading.Lock()
        pool_log = logging.getLogger("urllib3.connectionpool")
        if _REDACT not in pool_log.filters:
            pool_log.addFilter(_REDACT)

    # -- session -------------------------------------------------------------------------------------------------

    @property
    def session_id(self) -> str | None:
        """The current session token (None before login). Secret: never log it."""
        return self._session_id

    def login(self) -> DresUser:
        """``POST /api/v2/login`` with the configured user and password; keeps the returned session.

        Raises:
            DresNotConfigured: no user or password.
            DresAuthError: DRES refused the credentials (401).
            DresUnavailable, DresError: server unreachable or another failure.
        """
        if not self.config.user or not self.config.password:
            raise DresNotConfigured("DRES login needs a user and a password: set LIFESEEKER_DRES_USER and "
                                    "LIFESEEKER_DRES_PASSWORD or pass --user/--password")
        body = self._call("POST", "/login", json_body={"username": self.config.user,
                                                       "password": self.config.password},
                          auth=False, what="login")
        if not isinstance(body, dict) or not body.get("sessionId"):
            raise DresUnavailable("DRES login answered without a sessionId (is this a DRES v2 server?)", 200)
        with self._lock:
            self._session_id = str(body["sessionId"])
        log.info("logged in to DRES %s as %s (%s)", self.config.url, body.get("username"), body.get("role"))
        return DresUser(body.get("id"), body.get("username"), body.get("role"))

    def logout(self) -> None:
        """``GET /api/v2/logout``; forgets the session (also when DRES answers with an error)."""
        if self._session_id is None:
            return
        try:
            self._call("GET", "/logout", retry_login=False, what="logout")
        finally:
            with self._lock:
                self._session_id = None

    def ensure_session(self) -> None:
        """Log in unless a session is held. Raises as :meth:`login`."""
        if self._session_id is None:
            self.login()

    # -- evaluations and tasks -----------------------------------------------------------------------------------

    def evaluations(self) -> list[Evaluation]:
        """``GET /api/v2/client/evaluation/list``: the evaluations this user can see.

        Raises:
            DresAuthError, DresUnavailable, DresError.
        """
        body = self._call("GET", "/client/evaluation/list", what="evaluation list")
        if not isinstance(body, list):
            raise DresUnavailable("DRES evaluation list: expected a JSON array", 200)
        return [Evaluation(str(e.get("id")), str(e.get("name", "")), e.get("type"), e.get("status"),
                           e.get("templateId"), tuple(t.get("name", "") for t in e.get("taskTemplates") or ()))
                for e in body if isinstance(e, dict) and e.get("id")]

    def evaluation_id(self) -> str:
        """The evaluation to use: the configured one, else the only ACTIVE one the user can see (remembered).

        Raises:
            DresNotFound: no ACTIVE evaluation.
            DresError: several ACTIVE evaluations (the message lists them; choose with --evaluation or
                LIFESEEKER_DRES_EVALUATION).
        """
        if self._evaluation_id:
            return self._evaluation_id
        active = [e for e in self.evaluations() if (e.status or "").upper() == "ACTIVE"]
        if not active:
            raise DresNotFound(f"DRES: no ACTIVE evaluation visible to user {self.config.user!r}", 404)
        if len(active) > 1:
            names = ", ".join(f"{e.id} ({e.name})" for e in active)
            raise DresError(f"DRES: {len(active)} ACTIVE evaluations ({names}); choose one with --evaluation or "
                            "LIFESEEKER_DRES_EVALUATION")
        self._evaluation_id = active[0].id
        return self._evaluation_id

    def current_task(self, evaluation_id: str | None = None) -> TaskInfo:
        """``GET /api/v2/client/evaluation/currentTask/{evaluationId}``.

        Raises:
            DresNotFound: unknown evaluation or no task running (404).
            DresAuthError, DresUnavailable, DresError.
        """
        eid = evaluation_id or self.evaluation_id()
        body = self._call("GET", f"/client/evaluation/currentTask/{_seg(eid)}", what="current task")
        if not isinstance(body, dict) or "name" not in body:
            raise DresUnavailable("DRES current task: expected an ApiClientTaskTemplateInfo object", 200)
        duration = body.get("duration")
        return TaskInfo(str(body["name"]), body.get("taskGroup"), body.get("taskType"),
                        int(duration) if isinstance(duration, (int, float)) else None)

    # -- submission ----------------------------------------------------------------------------------------------

    def submit_item(self, image_id: str, *, evaluation_id: str | None = None, collection: str | None = None,
                    task_name: str | None = None) -> SubmissionResult:
        """Submit one image (known-item / ad-hoc tasks): ``mediaItemName`` = :func:`media_item_name` of
        ``image_id``, with ``mediaItemCollectionName`` when a collection is given or configured.

        Raises:
            ValueError: empty image id.
            DresRejected (412), DresNotFound (404), DresAuthError (401), DresBadRequest (400), DresUnavailable.
        """
        answer: dict[str, Any] = {"mediaItemName": media_item_name(image_id)}
        if collection or self.config.collection:
            answer["mediaItemCollectionName"] = collection or self.config.collection
        return self.submit_answers([answer], evaluation_id=evaluation_id, task_name=task_name)

    def submit_text(self, text: str, *, evaluation_id: str | None = None,
                    task_name: str | None = None) -> SubmissionResult:
        """Submit a text answer (question-answering tasks): ``{"text": text}``, whitespace trimmed.

        Raises:
            ValueError: blank or longer than 10,000 characters.
            DresRejected (412), DresNotFound (404), DresAuthError (401), DresBadRequest (400), DresUnavailable.
        """
        text = (text or "").strip()
        if not text:
            raise ValueError("text answer is empty")
        if len(text) > MAX_TEXT:
            raise ValueError(f"text answer longer than {MAX_TEXT} characters")
        return self.submit_answers([{"text": text}], evaluation_id=evaluation_id, task_name=task_name)

    def submit_answers(self, answers: Sequence[Mapping[str, Any]], *, evaluation_id: str | None = None,
                       task_name: str | None = None) -> SubmissionResult:
        """``POST /api/v2/submit/{evaluationId}`` with one answer set holding ``answers`` (``ApiClientAnswer``).

        Returns:
            the verdict (200) or INDETERMINATE/pending (202).
        Raises:
            as :meth:`submit_item`.
        """
        eid = evaluation_id or self.evaluation_id()
        answer_set: dict[str, Any] = {"answers": [dict(a) for a in answers]}
        if task_name:
            answer_set["taskName"] = task_name
        body, status = self._call("POST", f"/submit/{_seg(eid)}", json_body={"answerSets": [answer_set]},
                                  what="submission", with_status=True)
        if not isinstance(body, dict):
            raise DresUnavailable("DRES submission: expected a SuccessfulSubmissionsStatus object", status)
        raw = body.get("submission")
        verdict: Verdict | None
        try:
            verdict = Verdict(str(raw).upper()) if raw is not None else None
        except ValueError:
            raise DresUnavailable(f"DRES submission: unknown verdict {raw!r}", status) from None
        if verdict is None and status == 202:
            verdict = Verdict.INDETERMINATE
        description = str(body.get("description") or "")
        log.info("DRES submission %s -> %s (%s)", answer_set["answers"], verdict and verdict.value, description)
        return SubmissionResult(verdict, description, status, eid, answer_set["answers"][0])

    # -- logging -------------------------------------------------------------------------------------------------

    def log_query(self, events: Sequence[QueryEvent], *, evaluation_id: str | None = None,
                  timestamp_ms: int | None = None) -> None:
        """``POST /api/v2/log/query/{evaluationId}`` with a ``QueryEventLog``.

        Raises:
            DresAuthError, DresBadRequest, DresUnavailable, DresError.
        """
        eid = evaluation_id or self.evaluation_id()
        body = {"timestamp": timestamp_ms if timestamp_ms is not None else int(time.time() * 1000),
                "events": [e.to_json() for e in events]}
        self._call("POST", f"/log/query/{_seg(eid)}", json_body=body, what="query log")

    def log_results(self, image_ids: Sequence[str], events: Sequence[QueryEvent] = (), *,
                    evaluation_id: str | None = None, sort_type: str = "score",
                    availability: str = "top", timestamp_ms: int | None = None) -> None:
        """``POST /api/v2/log/result/{evaluationId}`` with a ``QueryResultLog``: ``image_ids`` best first become
        ``RankedAnswer {answer: {mediaItemName}, rank}`` (rank from 1); ``events`` the query that produced them.

        Raises:
            ValueError: an empty image id.
            DresAuthError, DresBadRequest, DresUnavailable, DresError.
        """
        eid = evaluation_id or self.evaluation_id()
        results = []
        for rank, image_id in enumerate(image_ids, 1):
            answer: dict[str, Any] = {"mediaItemName": media_item_name(image_id)}
            if self.config.collection:
                answer["mediaItemCollectionName"] = self.config.collection
            results.append({"answer": answer, "rank": rank})
        body = {"timestamp": timestamp_ms if timestamp_ms is not None else int(time.time() * 1000),
                "sortType": sort_type, "resultSetAvailability": availability, "results": results,
                "events": [e.to_json() for e in events]}
        self._call("POST", f"/log/result/{_seg(eid)}", json_body=body, what="result log")

    def server_time_ms(self) -> int:
        """``GET /api/v2/status/time``: the server clock in Unix milliseconds (no login needed).

        Raises:
            DresUnavailable, DresError.
        """
        body = self._call("GET", "/status/time", auth=False, what="server time")
        if not isinstance(body, dict) or not isinstance(body.get("timeStamp"), (int, float)):
            raise DresUnavailable("DRES status/time: expected {timeStamp}", 200)
        return int(body["timeStamp"])

    # -- transport -----------------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, json_body: Any = None, auth: bool = True, retry_login: bool = True,
              what: str, with_status: bool = False) -> Any:
        if auth:
            self.ensure_session()
        url = self.config.url + API + path
        params = {"session": self._session_id} if auth else None
        try:
            resp = self.http.request(method, url, params=params, json=json_body, timeout=self.config.timeout_s)
        except requests.RequestException as exc:
            raise DresUnavailable(f"DRES {what}: cannot reach {self.config.url} ({type(exc).__name__})") from None
        if resp.status_code == 401 and auth and retry_login and self.config.password:
            log.info("DRES %s: session not accepted (401); logging in again", what)
            with self._lock:
                self._session_id = None
            return self._call(method, path, json_body=json_body, auth=auth, retry_login=False, what=what,
                              with_status=with_status)
        body = _json_or_none(resp)
        if resp.status_code >= 400:
            if resp.status_code == 404 and auth:
                self._evaluation_id = self.config.evaluation_id  # re-discover next time
            raise _http_error(resp.status_code, body, resp.text, what, self.config.user)
        if body is None and resp.content:
            raise DresUnavailable(f"DRES {what}: answer is not JSON (HTTP {resp.status_code}); is "
                                  f"{self.config.url} a DRES v2 server?", resp.status_code)
        return (body, resp.status_code) if with_status else body


def _seg(value: str) -> str:
    """One URL path segment, percent-encoded."""
    from urllib.parse import quote

    if not value:
        raise DresNotFound("DRES: empty evaluation id", 404)
    return quote(str(value), safe="")


def _json_or_none(resp: requests.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def _http_error(status: int, body: Any, text: str, what: str, user: str | None) -> DresError:
    description = body.get("description") if isinstance(body, dict) else None
    description = str(description) if description else (text or "").strip()[:200] or "no description"
    if status == 401:
        return DresAuthError(f"DRES {what}: not authorised (401): {description}. Check the DRES user "
                             f"({user!r}) and password (LIFESEEKER_DRES_USER / LIFESEEKER_DRES_PASSWORD)",
                             status, description)
    if status == 404:
        return DresNotFound(f"DRES {what}: not found (404): {description}. Is the evaluation id right and a "
                            "task running?", status, description)
    if status == 412:
        return DresRejected(f"DRES {what}: rejected (412): {description}", status, description)
    if status == 400:
        return DresBadRequest(f"DRES {what}: bad request (400): {description}", status, description)
    return DresError(f"DRES {what}: HTTP {status}: {description}", status, description)


# -- a saved session for the command line (``lifeseeker dres login`` then ``lifeseeker dres submit``) -------------

def load_session(path: Path, config: DresConfig) -> str | None:
    """The session token saved for this server and user, or None (missing, unreadable or for another one)."""
    try:
        saved = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(saved, dict) and saved.get("url") == config.url and saved.get("user") == config.user:
        token = saved.get("session")
        return token if isinstance(token, str) and token else None
    return None


def save_session(path: Path, config: DresConfig, session_id: str) -> None:
    """Save the session token for this server and user, readable by the owner only (mode 0600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"url": config.url, "user": config.user, "session": session_id}, fh)
    os.chmod(path, 0o600)


def forget_session(path: Path) -> None:
    """Delete a saved session (no error when there is none)."""
    try:
        Path(path).unlink()
    except FileNotFoundError:
        pass

"""The DRES v2 client API's vocabulary: configuration, errors (one per HTTP status DRES answers), verdicts, the
value types of evaluations, tasks and submissions, and query-event logs. The HTTP client itself is
``competition/dres.py``.

Source: dres-dev/DRES ``doc/oas-client.json`` (DRES Client API 2.0.2): ``ApiVerdictStatus``, ``ErrorStatus``,
``ApiClientEvaluationInfo``, ``ApiClientTaskTemplateInfo``, ``QueryEvent``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Mapping

from ..errors import LifeseekerError

API = "/api/v2"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".heic", ".heif", ".bmp", ".gif")
QUERY_EVENT_CATEGORIES = ("TEXT", "IMAGE", "SKETCH", "FILTER", "BROWSING", "COOPERATION", "OTHER")
MAX_TEXT = 10_000


class Verdict(str, Enum):
    """DRES ``ApiVerdictStatus``."""

    CORRECT = "CORRECT"
    WRONG = "WRONG"
    INDETERMINATE = "INDETERMINATE"
    UNDECIDABLE = "UNDECIDABLE"


class DresError(LifeseekerError):
    """A DRES call failed. ``status`` is the HTTP status (None when the server was not reached)."""

    def __init__(self, message: str, status: int | None = None, description: str | None = None):
        super().__init__(message)
        self.status = status
        self.description = description


class DresNotConfigured(DresError):
    """No DRES URL (or no user/password) configured."""


class DresUnavailable(DresError):
    """The DRES server could not be reached or answered something that is not its API."""


class DresBadRequest(DresError):
    """HTTP 400: DRES could not read the request."""


class DresAuthError(DresError):
    """HTTP 401: wrong user/password, or the session expired."""


class DresNotFound(DresError):
    """HTTP 404: unknown evaluation, or no task is running."""


class DresRejected(DresError):
    """HTTP 412: DRES refused the submission (duplicate, task over, submission limit...)."""


@dataclass(frozen=True)
class DresConfig:
    """Where and as whom to reach DRES.

    Attributes:
        url: server base URL, e.g. ``https://dres.example.org`` (no ``/api`` suffix).
        user, password: participant credentials (the password is never printed: ``repr`` leaves it out).
        evaluation_id: the evaluation to submit to; None = the one ACTIVE evaluation the user can see.
        collection: ``mediaItemCollectionName`` sent with item answers; None = DRES infers it.
        timeout_s: per-request timeout in seconds.
    """

    url: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    evaluation_id: str | None = None
    collection: str | None = None
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise DresNotConfigured(f"DRES URL {self.url!r}: expected http(s)://host[:port]")
        object.__setattr__(self, "url", self.url.rstrip("/"))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> "DresConfig":
        """Configuration from ``LIFESEEKER_DRES_URL``, ``_USER``, ``_PASSWORD``, ``_EVALUATION``,
        ``_COLLECTION``, ``_TIMEOUT`` (seconds) in ``env`` (default ``os.environ``); non-None ``overrides``
        (CLI flags: url, user, password, evaluation_id, collection, timeout_s) win.

        Raises:
            DresNotConfigured: no URL at all, or a malformed URL or timeout.
        """
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get("LIFESEEKER_DRES_" + name)
            return value if value not in (None, "") else None

        kw: dict[str, Any] = {"url": get("URL"), "user": get("USER"), "password": get("PASSWORD"),
                              "evaluation_id": get("EVALUATION"), "collection": get("COLLECTION")}
        if get("TIMEOUT"):
            try:
                kw["timeout_s"] = float(get("TIMEOUT"))
            except ValueError:
                raise DresNotConfigured(f"LIFESEEKER_DRES_TIMEOUT: expected seconds, got {get('TIMEOUT')!r}") \
                    from None
        kw.update({k: v for k, v in overrides.items() if v is not None})
        if not kw.get("url"):
            raise DresNotConfigured("DRES is not configured: set LIFESEEKER_DRES_URL (and LIFESEEKER_DRES_USER, "
                                    "LIFESEEKER_DRES_PASSWORD) or pass --url/--user/--password")
        return cls(**{k: v for k, v in kw.items() if v is not None})

    def with_overrides(self, **overrides: Any) -> "DresConfig":
        """A copy with the non-None ``overrides`` applied."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


@dataclass(frozen=True)
class DresUser:
    """``ApiUser`` after login (the session token is kept by the client, not here)."""

    id: str | None
    username: str | None
    role: str | None


@dataclass(frozen=True)
class Evaluation:
    """``ApiClientEvaluationInfo``: ``status`` is CREATED, ACTIVE or TERMINATED."""

    id: str
    name: str
    type: str | None
    status: str | None
    template_id: str | None = None
    task_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class TaskInfo:
    """``ApiClientTaskTemplateInfo`` of the running task; ``duration_s`` in seconds."""

    name: str
    task_group: str | None
    task_type: str | None
    duration_s: int | None


@dataclass(frozen=True)
class SubmissionResult:
    """What DRES said about one submission.

    Attributes:
        verdict: the ``submission`` field (None when the server gave none with HTTP 200).
        description: DRES's own words.
        http_status: 200 (judged) or 202 (accepted, verdict pending).
        evaluation_id: where it went.
        answer: the ``ApiClientAnswer`` sent.
    """

    verdict: Verdict | None
    description: str
    http_status: int
    evaluation_id: str
    answer: dict[str, Any]

    @property
    def pending(self) -> bool:
        """True while a judge has not decided (HTTP 202 or INDETERMINATE)."""
        return self.http_status == 202 or self.verdict is Verdict.INDETERMINATE

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form (the web API's answer)."""
        return {"verdict": self.verdict.value if self.verdict else None, "description": self.description,
                "pending": self.pending, "http_status": self.http_status, "evaluation_id": self.evaluation_id,
                "answer": dict(self.answer)}


@dataclass(frozen=True)
class QueryEvent:
    """DRES ``QueryEvent``: one user interaction. ``category`` is one of :data:`QUERY_EVENT_CATEGORIES`;
    ``timestamp_ms`` is Unix time in milliseconds (default: now)."""

    category: str
    type: str
    value: str
    timestamp_ms: int = field(default_factory=lambda: int(time.time() * 1000))

    def __post_init__(self) -> None:
        if self.category not in QUERY_EVENT_CATEGORIES:
            raise ValueError(f"query event category {self.category!r}: use one of {QUERY_EVENT_CATEGORIES}")

    def to_json(self) -> dict[str, Any]:
        """The ``QueryEvent`` body."""
        return {"timestamp": self.timestamp_ms, "category": self.category, "type": self.type, "value": self.value}


def media_item_name(image_id: str) -> str:
    """The DRES ``mediaItemName`` of an image id: the file name without folder and image extension
    (``201912/26/20191226_123224_000.jpg`` -> ``20191226_123224_000``; an LSC id without extension is unchanged).

    Raises:
        ValueError: the id is empty or names no file.
    """
    name = (image_id or "").strip().replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = name.rpartition(".")
    if dot and stem and "." + ext.lower() in IMAGE_SUFFIXES:
        name = stem
    if not name:
        raise ValueError(f"image id {image_id!r} names no file")
    return name


def query_events(text: str, params: Mapping[str, str] | None = None) -> list[QueryEvent]:
    """The ``QueryEvent`` list for one search: a TEXT event for the query text (type ``fused-clip-capmeta``: the
    CLIP + CapMeta fused score) and one FILTER event per non-empty filter parameter (type = parameter name)."""
    now = int(time.time() * 1000)
    events = [QueryEvent("TEXT", "fused-clip-capmeta", text, now)] if text.strip() else []
    for key, value in sorted((params or {}).items()):
        if value not in (None, ""):
            events.append(QueryEvent("FILTER", key, str(value), now))
    return events

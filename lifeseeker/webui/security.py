"""Web hardening for the whole app: optional HTTP basic auth, security headers, no debug mode outside development,
and JSON errors (never an HTML traceback) for the API.

* **Basic auth** (RFC 7617) guards every route (pages, API, images, static files, ``/openapi.json``) when both
  ``LIFESEEKER_AUTH_USER`` and ``LIFESEEKER_AUTH_PASSWORD`` are set (``Settings.auth_user`` / ``auth_password``);
  off by default (a local, single-user tool on 127.0.0.1). Setting only one of the two is a configuration error,
  so a typo never leaves the app open by accident. Credentials are compared in constant time.
* **Headers** on every response: a Content-Security-Policy that allows only this origin's scripts, styles and
  images (no inline script, ``frame-ancestors 'none'``), ``X-Content-Type-Options: nosniff``,
  ``X-Frame-Options: DENY`` (older browsers), ``Referrer-Policy: no-referrer`` and ``Cross-Origin-Opener-Policy``.
* **Debug**: Flask's debug mode (the interactive debugger runs code for whoever reaches it) stays off unless
  ``LIFESEEKER_DEVELOPMENT=1`` (``Settings.development``); ``FLASK_DEBUG`` alone does not turn it on.
* **Redirects** carry a relative ``Location`` (``relative_location``), never the client's ``Host`` header.
* **Errors**: HTTP errors under ``/api/`` (404 for an unknown route, 405, 413 for an oversized body) answer
  ``{"error": "..."}`` JSON; an unexpected exception answers a plain 500 message, never a traceback.
"""

from __future__ import annotations

import hmac
import logging
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from ..config import Settings
from ..errors import LifeseekerError

log = logging.getLogger(__name__)

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
REALM = "lifeseeker"
MAX_BODY_BYTES = 8 * 1024 * 1024  # largest request body accepted (HTTP 413 above)


class AuthConfigError(LifeseekerError, ValueError):
    """Basic auth is half configured (a user without a password or the reverse)."""


def auth_credentials(settings: Settings) -> tuple[str, str] | None:
    """``(user, password)`` when basic auth is on, None when off.

    Raises:
        AuthConfigError: only one of ``LIFESEEKER_AUTH_USER`` / ``LIFESEEKER_AUTH_PASSWORD`` is set.
    """
    user, password = settings.auth_user or None, settings.auth_password or None
    if user is None and password is None:
        return None
    if user is None or password is None:
        missing = "LIFESEEKER_AUTH_PASSWORD" if password is None else "LIFESEEKER_AUTH_USER"
        raise AuthConfigError(f"basic auth: {missing} is not set; set both LIFESEEKER_AUTH_USER and "
                              f"LIFESEEKER_AUTH_PASSWORD, or neither (auth off)")
    if ":" in user:
        raise AuthConfigError("basic auth: LIFESEEKER_AUTH_USER must not contain ':' (RFC 7617)")
    return user, password


def _authorized(expected: tuple[str, str]) -> bool:
    auth = request.authorization
    if auth is None or auth.type != "basic":
        return False
    user_ok = hmac.compare_digest((auth.username or "").encode("utf-8"), expected[0].encode("utf-8"))
    pass_ok = hmac.compare_digest((auth.password or "").encode("utf-8"), expected[1].encode("utf-8"))
    return user_ok and pass_ok


def _challenge() -> Response:
    if request.path.startswith("/api/") or request.path == "/openapi.json":
        resp = jsonify(error="authentication required")
    else:
        resp = Response("authentication required\n", mimetype="text/plain")
    resp.status_code = 401
    resp.headers["WWW-Authenticate"] = f'Basic realm="{REALM}", charset="UTF-8"'
    return resp


def relative_location(location: str, host: str) -> str:
    """A redirect target on this site as a path (RFC 9110 section 10.2.2 allows a relative ``Location``): an
    absolute URL whose host is the request's ``Host`` (which the client chose: werkzeug's slash-merging redirects
    copy it, so ``Host: evil.example`` would send the browser there) becomes ``/path?query``, its leading slashes
    merged so it cannot read as a protocol-relative ``//host`` URL. Other values are returned unchanged."""
    parts = urlsplit(location)
    if not parts.netloc or parts.netloc.lower() != host.lower():
        return location
    path = "/" + parts.path.lstrip("/")
    return urlunsplit(("", "", path, parts.query, parts.fragment))


def install_security(app: Flask, settings: Settings) -> None:
    """Apply basic auth (when configured), security headers, the debug policy, the body size limit and JSON
    errors for the API to ``app``. Call once from ``create_app``.

    Raises:
        AuthConfigError: basic auth is half configured.
    """
    credentials = auth_credentials(settings)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["MAX_FORM_MEMORY_SIZE"] = MAX_BODY_BYTES
    if not settings.development:
        if app.debug:
            log.warning("Flask debug mode requested outside development: turned off (set LIFESEEKER_DEVELOPMENT=1 "
                        "on a machine nobody else can reach to allow it)")
        app.debug = False
        app.config["PROPAGATE_EXCEPTIONS"] = False
    app.config["LIFESEEKER_AUTH"] = credentials is not None

    if credentials is not None:
        @app.before_request
        def require_basic_auth():
            if not _authorized(credentials):
                return _challenge()
            return None

    @app.after_request
    def security_headers(resp: Response) -> Response:
        for name, value in HEADERS.items():
            resp.headers.setdefault(name, value)
        location = resp.headers.get("Location")
        if location:
            resp.headers["Location"] = relative_location(location, request.host)
        if request.path.startswith("/api/") or request.path == "/openapi.json":
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path.startswith("/api/"):
            resp = jsonify(error=f"{exc.code} {exc.name}: {exc.description}")
            resp.status_code = exc.code or 500
            if exc.code == 405 and exc.valid_methods:
                resp.headers["Allow"] = ", ".join(exc.valid_methods)
            return resp
        return exc

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        if isinstance(exc, HTTPException):  # pragma: no cover - handled above
            return exc
        log.exception("unexpected error on %s %s", request.method, request.path)
        if request.path.startswith("/api/"):
            return jsonify(error="internal error (logged on the server)"), 500
        return Response("internal error (logged on the server)\n", status=500, mimetype="text/plain")


__all__ = ["install_security", "relative_location", "auth_credentials", "AuthConfigError", "HEADERS", "CSP",
           "MAX_BODY_BYTES"]

"""The DRES v2 client against a test server on 127.0.0.1 that follows dres-dev/DRES ``doc/oas-client.json``
(DRES Client API 2.0.2): request bodies are checked against the document's schemas, answers have its shapes."""

from __future__ import annotations

import json
import os
import stat
import threading
import uuid
from dataclasses import dataclass, field

import pytest
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from lifeseeker.competition.dres import (DresAuthError, DresBadRequest, DresClient, DresConfig, DresError,
                                         DresNotConfigured, DresNotFound, DresRejected, DresUnavailable,
                                         QueryEvent, Verdict, forget_session, load_session, media_item_name,
                                         query_events, save_session)

PASSWORD = "s3cret-pw-xyz"

# The request schemas the client sends, as in oas-client.json (components/schemas), verbatim in substance.
SCHEMAS = {
    "LoginRequest": {"type": "object", "additionalProperties": False, "required": ["username", "password"],
                     "properties": {"username": {"type": "string"}, "password": {"type": "string"}}},
    "ApiClientAnswer": {"type": "object", "additionalProperties": False, "properties": {
        "text": {"type": "string"}, "mediaItemName": {"type": "string"},
        "mediaItemCollectionName": {"type": "string"}, "start": {"type": "integer"}, "end": {"type": "integer"}}},
    "ApiClientAnswerSet": {"type": "object", "additionalProperties": False, "required": ["answers"], "properties": {
        "taskId": {"type": "string"}, "taskName": {"type": "string"},
        "answers": {"type": "array", "items": {"$ref": "#/components/schemas/ApiClientAnswer"}}}},
    "ApiClientSubmission": {"type": "object", "additionalProperties": False, "required": ["answerSets"],
                            "properties": {"answerSets": {"type": "array", "items": {
                                "$ref": "#/components/schemas/ApiClientAnswerSet"}}}},
    "QueryEvent": {"type": "object", "additionalProperties": False,
                   "required": ["timestamp", "category", "type", "value"], "properties": {
                       "timestamp": {"type": "integer"},
                       "category": {"type": "string", "enum": ["TEXT", "IMAGE", "SKETCH", "FILTER", "BROWSING",
                                                               "COOPERATION", "OTHER"]},
                       "type": {"type": "string"}, "value": {"type": "string"}}},
    "QueryEventLog": {"type": "object", "additionalProperties": False, "required": ["timestamp", "events"],
                      "properties": {"timestamp": {"type": "integer"}, "events": {
                          "type": "array", "items": {"$ref": "#/components/schemas/QueryEvent"}}}},
    "RankedAnswer": {"type": "object", "additionalProperties": False, "required": ["answer"], "properties": {
        "answer": {"$ref": "#/components/schemas/ApiClientAnswer"}, "rank": {"type": "integer"}}},
    "QueryResultLog": {"type": "object", "additionalProperties": False,
                       "required": ["timestamp", "sortType", "resultSetAvailability", "results", "events"],
                       "properties": {
                           "timestamp": {"type": "integer"}, "sortType": {"type": "string"},
                           "resultSetAvailability": {"type": "string"},
                           "results": {"type": "array", "items": {"$ref": "#/components/schemas/RankedAnswer"}},
                           "events": {"type": "array", "items": {"$ref": "#/components/schemas/QueryEvent"}}}},
}


def schema_errors(value, schema, path="$") -> list[str]:
    """Violations of ``schema`` (the OpenAPI subset the schemas above use)."""
    if "$ref" in schema:
        return schema_errors(value, SCHEMAS[schema["$ref"].rsplit("/", 1)[-1]], path)
    kind = schema.get("type")
    ok = {"object": isinstance(value, dict), "array": isinstance(value, list), "string": isinstance(value, str),
          "integer": isinstance(value, int) and not isinstance(value, bool),
          "boolean": isinstance(value, bool)}.get(kind, True)
    if not ok:
        return [f"{path}: expected {kind}, got {type(value).__name__}"]
    errors = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in {schema['enum']}")
    if kind == "object":
        props = schema.get("properties", {})
        errors += [f"{path}.{r}: required" for r in schema.get("required", ()) if r not in value]
        for k, v in value.items():
            if k in props:
                errors += schema_errors(v, props[k], f"{path}.{k}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{path}.{k}: not in the schema")
    if kind == "array":
        for i, item in enumerate(value):
            errors += schema_errors(item, schema["items"], f"{path}[{i}]")
    return errors


@dataclass
class FakeDres:
    """A DRES v2 server: one participant ``alice``, evaluations, a running task, scripted submission answers."""

    evaluations: list = field(default_factory=lambda: [
        {"id": "eval-1", "name": "LSC24 interactive", "type": "SYNCHRONOUS", "status": "ACTIVE",
         "templateId": "tpl-1", "teams": ["team-1"],
         "taskTemplates": [{"name": "KIS-01", "taskGroup": "kis", "taskType": "LSC-KIS", "duration": 300}]},
        {"id": "eval-0", "name": "LSC24 practice", "type": "SYNCHRONOUS", "status": "TERMINATED",
         "templateId": "tpl-0", "teams": ["team-1"], "taskTemplates": []}])
    task: dict | None = field(default_factory=lambda: {"name": "KIS-01", "taskGroup": "kis",
                                                       "taskType": "LSC-KIS", "duration": 300})
    replies: list = field(default_factory=list)  # (status, body) answers to the next submissions
    log: list = field(default_factory=list)  # (method, path, query args, json body) of every request
    sessions: set = field(default_factory=set)
    logins: int = 0

    def app(self) -> Flask:
        app = Flask("fake-dres")

        def error(status: int, description: str):
            return jsonify(status=False, description=description), status

        def body_or_error(schema: str):
            if not request.is_json:
                return None, error(400, "expected application/json")
            body = request.get_json()
            problems = schema_errors(body, SCHEMAS[schema])
            return body, (error(400, "; ".join(problems)) if problems else None)

        def authorised() -> bool:
            return request.args.get("session") in self.sessions

        @app.before_request
        def record():
            self.log.append((request.method, request.path, dict(request.args),
                             request.get_json(silent=True) if request.is_json else None))

        @app.post("/api/v2/login")
        def login():
            body, err = body_or_error("LoginRequest")
            if err:
                return err
            self.logins += 1
            if body["username"] != "alice" or body["password"] != PASSWORD:
                return error(401, "Invalid credentials. Please try again!")
            sid = uuid.uuid4().hex
            self.sessions.add(sid)
            return jsonify(id="user-1", username="alice", role="PARTICIPANT", sessionId=sid)

        @app.get("/api/v2/logout")
        def logout():
            self.sessions.discard(request.args.get("session"))
            return jsonify(status=True, description="Logged out")

        @app.get("/api/v2/client/evaluation/list")
        def evaluation_list():
            if not authorised():
                return error(401, "Unauthorized")
            return jsonify(self.evaluations)

        @app.get("/api/v2/client/evaluation/currentTask/<eid>")
        def current_task(eid):
            if not authorised():
                return error(401, "Unauthorized")
            if eid not in {e["id"] for e in self.evaluations} or self.task is None:
                return error(404, f"Evaluation {eid} has no active task.")
            return jsonify(self.task)

        @app.post("/api/v2/submit/<eid>")
        def submit(eid):
            if not authorised():
                return error(401, "Unauthorized")
            if eid not in {e["id"] for e in self.evaluations}:
                return error(404, f"Evaluation {eid} could not be found.")
            _, err = body_or_error("ApiClientSubmission")
            if err:
                return err
            status, body = self.replies.pop(0) if self.replies else \
                (200, {"status": True, "submission": "CORRECT", "description": "Submission correct!"})
            return jsonify(body), status

        @app.post("/api/v2/log/query/<eid>")
        def log_query(eid):
            if not authorised():
                return error(401, "Unauthorized")
            _, err = body_or_error("QueryEventLog")
            return err or jsonify(status=True, description="Log received")

        @app.post("/api/v2/log/result/<eid>")
        def log_result(eid):
            if not authorised():
                return error(401, "Unauthorized")
            _, err = body_or_error("QueryResultLog")
            return err or jsonify(status=True, description="Log received")

        @app.get("/api/v2/status/time")
        def status_time():
            return jsonify(timeStamp=1_716_000_000_123)

        return app

    def bodies(self, path_prefix: str) -> list:
        return [body for method, path, _, body in self.log if path.startswith(path_prefix)]


@pytest.fixture
def dres():
    """(FakeDres, base URL) served on 127.0.0.1 in a thread for one test."""
    fake = FakeDres()
    server = make_server("127.0.0.1", 0, fake.app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def client_for(url: str, **kw) -> DresClient:
    return DresClient(DresConfig(url, user=kw.pop("user", "alice"), password=kw.pop("password", PASSWORD), **kw))


# -- configuration and names ----------------------------------------------------------------------------------

def test_media_item_name_is_the_file_name_without_extension():
    assert media_item_name("201912/26/20191226_123224_000.jpg") == "20191226_123224_000"
    assert media_item_name("20191226_123224_000") == "20191226_123224_000"
    assert media_item_name("B00003681_21I6X0_20180510_072838E.JPG") == "B00003681_21I6X0_20180510_072838E"
    assert media_item_name("phone\\2008\\IMG.0001.heic") == "IMG.0001"
    with pytest.raises(ValueError):
        media_item_name("  ")


def test_config_from_env_and_flags_and_password_not_in_repr():
    env = {"LIFESEEKER_DRES_URL": "https://dres.example.org/", "LIFESEEKER_DRES_USER": "alice",
           "LIFESEEKER_DRES_PASSWORD": PASSWORD, "LIFESEEKER_DRES_EVALUATION": "eval-9"}
    cfg = DresConfig.from_env(env)
    assert (cfg.url, cfg.user, cfg.password, cfg.evaluation_id) == ("https://dres.example.org", "alice", PASSWORD,
                                                                     "eval-9")
    assert PASSWORD not in repr(cfg)
    assert DresConfig.from_env(env, user="bob", evaluation_id=None).user == "bob"
    with pytest.raises(DresNotConfigured, match="LIFESEEKER_DRES_URL"):
        DresConfig.from_env({})
    with pytest.raises(DresNotConfigured):
        DresConfig.from_env({"LIFESEEKER_DRES_URL": "ftp://x"})


# -- login, evaluations, task ---------------------------------------------------------------------------------

def test_login_sends_login_request_and_uses_the_session_on_every_call(dres):
    fake, url = dres
    client = client_for(url)
    user = client.login()
    assert (user.username, user.role) == ("alice", "PARTICIPANT")
    assert fake.bodies("/api/v2/login") == [{"username": "alice", "password": PASSWORD}]
    evals = client.evaluations()
    assert [(e.id, e.status, e.task_names) for e in evals] == [("eval-1", "ACTIVE", ("KIS-01",)),
                                                                ("eval-0", "TERMINATED", ())]
    method, path, args, _ = fake.log[-1]
    assert (method, path) == ("GET", "/api/v2/client/evaluation/list")
    assert args == {"session": client.session_id} and client.session_id in fake.sessions


def test_the_only_active_evaluation_is_chosen_and_its_task_read(dres):
    fake, url = dres
    client = client_for(url)
    assert client.evaluation_id() == "eval-1"
    task = client.current_task()
    assert (task.name, task.task_group, task.task_type, task.duration_s) == ("KIS-01", "kis", "LSC-KIS", 300)
    assert fake.log[-1][1] == "/api/v2/client/evaluation/currentTask/eval-1"


def test_several_active_evaluations_need_a_choice(dres):
    fake, url = dres
    fake.evaluations[1]["status"] = "ACTIVE"
    with pytest.raises(DresError, match=r"2 ACTIVE evaluations \(eval-1 \(LSC24 interactive\), eval-0"):
        client_for(url).evaluation_id()
    assert client_for(url, evaluation_id="eval-0").evaluation_id() == "eval-0"


def test_no_active_evaluation_and_no_running_task_are_404s(dres):
    fake, url = dres
    fake.task = None
    with pytest.raises(DresNotFound, match="has no active task"):
        client_for(url).current_task()
    fake.evaluations[0]["status"] = "TERMINATED"
    with pytest.raises(DresNotFound, match="no ACTIVE evaluation"):
        client_for(url).evaluation_id()


def test_wrong_password_is_a_401_naming_the_user_never_the_password(dres):
    fake, url = dres
    client = client_for(url, password="wrong-password-123")
    with pytest.raises(DresAuthError) as info:
        client.submit_item("20191226_123224_000")
    msg = str(info.value)
    assert info.value.status == 401 and "Invalid credentials" in msg and "'alice'" in msg
    assert "wrong-password-123" not in msg and PASSWORD not in msg
    assert fake.bodies("/api/v2/submit") == []  # nothing submitted without a session
    with pytest.raises(DresNotConfigured):
        DresClient(DresConfig(url, user="alice")).login()


def test_an_expired_session_logs_in_again_once_and_submits(dres):
    fake, url = dres
    client = client_for(url, evaluation_id="eval-1")
    client.login()
    fake.sessions.clear()  # the server forgot every session
    result = client.submit_item("20191226_123224_000")
    assert result.verdict is Verdict.CORRECT and fake.logins == 2
    statuses = [p for m, p, a, b in fake.log if p.startswith("/api/v2/submit")]
    assert len(statuses) == 2  # refused once (401), then accepted


def test_a_saved_session_without_password_stops_at_401(dres):
    fake, url = dres
    client = DresClient(DresConfig(url, user="alice"), session_id="stale")
    with pytest.raises(DresAuthError, match="401"):
        client.evaluations()
    assert fake.logins == 0


# -- submission -------------------------------------------------------------------------------------------------

def test_item_submission_body_follows_the_document(dres):
    fake, url = dres
    result = client_for(url, collection="lsc24").submit_item("201912/26/20191226_123224_000.jpg")
    body = fake.bodies("/api/v2/submit/eval-1")[0]
    assert body == {"answerSets": [{"answers": [{"mediaItemName": "20191226_123224_000",
                                                 "mediaItemCollectionName": "lsc24"}]}]}
    assert schema_errors(body, SCHEMAS["ApiClientSubmission"]) == []
    assert result.to_json() == {"verdict": "CORRECT", "description": "Submission correct!", "pending": False,
                                "http_status": 200, "evaluation_id": "eval-1",
                                "answer": {"mediaItemName": "20191226_123224_000",
                                           "mediaItemCollectionName": "lsc24"}}


def test_text_submission_body(dres):
    fake, url = dres
    client_for(url).submit_text("  Umong Temple ", task_name="QA-03")
    assert fake.bodies("/api/v2/submit")[0] == {"answerSets": [{"taskName": "QA-03",
                                                                "answers": [{"text": "Umong Temple"}]}]}
    with pytest.raises(ValueError, match="empty"):
        client_for(url).submit_text("   ")


@pytest.mark.parametrize("status, body, verdict, pending", [
    (200, {"status": True, "submission": "CORRECT", "description": "Submission correct!"}, Verdict.CORRECT, False),
    (200, {"status": True, "submission": "WRONG", "description": "Submission incorrect!"}, Verdict.WRONG, False),
    (202, {"status": True, "submission": "INDETERMINATE", "description": "awaiting judgement"},
     Verdict.INDETERMINATE, True),
    (200, {"status": True, "submission": "UNDECIDABLE", "description": "cannot be decided"},
     Verdict.UNDECIDABLE, False),
    (202, {"status": True, "description": "accepted"}, Verdict.INDETERMINATE, True),
    (200, {"status": True, "description": "Submission received"}, None, False),
])
def test_verdict_mapping(dres, status, body, verdict, pending):
    fake, url = dres
    fake.replies.append((status, body))
    result = client_for(url).submit_item("20191226_123224_000")
    assert (result.verdict, result.pending, result.http_status) == (verdict, pending, status)
    assert result.description == body["description"]


def test_unknown_verdict_is_an_error(dres):
    fake, url = dres
    fake.replies.append((200, {"status": True, "submission": "MAYBE", "description": "?"}))
    with pytest.raises(DresUnavailable, match="unknown verdict 'MAYBE'"):
        client_for(url).submit_item("x")


def test_412_rejection_carries_the_server_description(dres):
    fake, url = dres
    fake.replies.append((412, {"status": False, "description": "Duplicate submission received."}))
    with pytest.raises(DresRejected) as info:
        client_for(url).submit_item("20191226_123224_000")
    assert info.value.status == 412 and "rejected (412): Duplicate submission received." in str(info.value)


def test_404_for_an_unknown_evaluation(dres):
    _, url = dres
    with pytest.raises(DresNotFound) as info:
        client_for(url, evaluation_id="eval-404").submit_item("20191226_123224_000")
    assert info.value.status == 404 and "Evaluation eval-404 could not be found." in str(info.value)


def test_400_for_a_body_the_server_cannot_read(dres):
    _, url = dres
    with pytest.raises(DresBadRequest, match=r"\$.answerSets\[0\].answers\[0\].frame: not in the schema"):
        client_for(url).submit_answers([{"mediaItemName": "x", "frame": 3}])


def test_unreachable_server(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DresUnavailable, match="cannot reach") as info:
        DresClient(DresConfig(f"http://127.0.0.1:{port}", "alice", PASSWORD, timeout_s=2)).login()
    assert info.value.status is None


# -- logging ----------------------------------------------------------------------------------------------------

def test_query_and_result_logs_follow_the_document(dres):
    fake, url = dres
    client = client_for(url)
    events = query_events("red car by a white house", {"weekday": "Sat", "part": "", "country": "Ireland"})
    assert [(e.category, e.type, e.value) for e in events] == [
        ("TEXT", "fused-clip-capmeta", "red car by a white house"), ("FILTER", "country", "Ireland"),
        ("FILTER", "weekday", "Sat")]
    client.log_query(events, timestamp_ms=1_716_000_000_000)
    client.log_results(["201912/26/a.jpg", "20191226_123224_000"], events, timestamp_ms=1_716_000_000_500)
    query_log = fake.bodies("/api/v2/log/query/eval-1")[0]
    result_log = fake.bodies("/api/v2/log/result/eval-1")[0]
    assert schema_errors(query_log, SCHEMAS["QueryEventLog"]) == []
    assert schema_errors(result_log, SCHEMAS["QueryResultLog"]) == []
    assert query_log["timestamp"] == 1_716_000_000_000 and len(query_log["events"]) == 3
    assert result_log["results"] == [{"answer": {"mediaItemName": "a"}, "rank": 1},
                                     {"answer": {"mediaItemName": "20191226_123224_000"}, "rank": 2}]
    assert (result_log["sortType"], result_log["resultSetAvailability"]) == ("score", "top")
    with pytest.raises(ValueError, match="category"):
        QueryEvent("VOICE", "x", "y")


def test_server_time_needs_no_login(dres):
    fake, url = dres
    assert client_for(url).server_time_ms() == 1_716_000_000_123 and fake.logins == 0


def test_logout_ends_the_session(dres):
    fake, url = dres
    client = client_for(url)
    client.login()
    sid = client.session_id
    client.logout()
    assert client.session_id is None and sid not in fake.sessions


# -- the saved session of the command line ------------------------------------------------------------------------

def test_saved_session_is_private_and_bound_to_server_and_user(tmp_path):
    cfg = DresConfig("https://dres.example.org", "alice", PASSWORD)
    path = tmp_path / "cache" / "dres-session.json"
    save_session(path, cfg, "tok-123")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert PASSWORD not in path.read_text()
    assert load_session(path, cfg) == "tok-123"
    assert load_session(path, DresConfig("https://dres.example.org", "bob")) is None
    assert load_session(path, DresConfig("https://other.example.org", "alice")) is None
    forget_session(path)
    assert load_session(path, cfg) is None
    forget_session(path)  # twice is fine


# -- the command line ---------------------------------------------------------------------------------------------

def _root():
    import click

    from lifeseeker.cli import commands
    from lifeseeker.config import Settings

    @click.group()
    @click.pass_context
    def root(ctx):
        ctx.obj = {"settings": Settings.from_env()}

    for c in commands:
        root.add_command(c)
    return root


def test_cli_login_submit_status_logout(dres, tmp_path):
    from click.testing import CliRunner

    fake, url = dres
    env = {"LIFESEEKER_DRES_URL": url, "LIFESEEKER_DRES_USER": "alice", "LIFESEEKER_DRES_PASSWORD": PASSWORD,
           "LIFESEEKER_CACHE": str(tmp_path / "cache")}
    runner, root = CliRunner(), _root()
    r = runner.invoke(root, ["dres", "login"], env=env)
    assert r.exit_code == 0, r.output
    assert f"logged in to {url} as alice (PARTICIPANT)" in r.output
    assert "evaluation eval-1  ACTIVE      LSC24 interactive" in r.output
    saved = json.loads((tmp_path / "cache" / "dres-session.json").read_text())
    assert saved["session"] in fake.sessions and PASSWORD not in r.output

    fake.replies.append((200, {"status": True, "submission": "WRONG", "description": "Submission incorrect!"}))
    r = runner.invoke(root, ["dres", "submit", "201912/26/20191226_123224_000.jpg"], env=env)
    assert r.exit_code == 0 and r.output.strip() == "WRONG: Submission incorrect!"
    assert fake.logins == 1  # the saved session was reused
    r = runner.invoke(root, ["dres", "submit", "--text", "two"], env=env)
    assert r.output.strip() == "CORRECT: Submission correct!"
    assert fake.bodies("/api/v2/submit")[-1] == {"answerSets": [{"answers": [{"text": "two"}]}]}

    fake.replies.append((412, {"status": False, "description": "Duplicate submission received."}))
    r = runner.invoke(root, ["dres", "submit", "20191226_123224_000"], env=env)
    assert r.exit_code == 1 and "rejected (412): Duplicate submission received." in r.output

    r = runner.invoke(root, ["dres", "status", "--json"], env=env)
    body = json.loads(r.output)
    assert body["task"] == {"name": "KIS-01", "task_group": "kis", "task_type": "LSC-KIS", "duration_s": 300}
    assert body["evaluation_id"] == "eval-1" and body["server_time_ms"] == 1_716_000_000_123

    r = runner.invoke(root, ["dres", "logout"], env=env)
    assert r.exit_code == 0 and not (tmp_path / "cache" / "dres-session.json").exists()
    assert saved["session"] not in fake.sessions


def test_cli_without_configuration_says_what_to_set(tmp_path):
    from click.testing import CliRunner

    env = {"LIFESEEKER_DRES_URL": "", "LIFESEEKER_CACHE": str(tmp_path)}
    r = CliRunner().invoke(_root(), ["dres", "submit", "x"], env=env)
    assert r.exit_code == 1 and "LIFESEEKER_DRES_URL" in r.output and "Traceback" not in r.output


def test_session_token_and_password_never_reach_the_logs(dres, caplog):
    import logging

    _, url = dres
    caplog.set_level(logging.DEBUG)
    client = client_for(url)
    client.submit_item("20191226_123224_000")
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "werkzeug")  # not the test server's
    assert "session=<hidden>" in ours and "submission" in ours
    assert client.session_id not in ours and PASSWORD not in ours

"""compose.yaml: the Elasticsearch healthcheck is *executed* (``/bin/sh -c``, as Docker runs ``CMD-SHELL``) against a
local fake HTTP server answering like ``GET /_cluster/health`` does, and must pass only for green and yellow; the
whole file is validated by ``docker compose config`` / Debian's ``docker-compose config`` when a client is installed
(neither needs a Docker engine).

Grounding:
* ``CMD-SHELL``: the string runs under the container's default shell (Compose file reference, ``healthcheck.test``,
  https://docs.docker.com/reference/compose-file/services/#healthcheck); ``$$`` is Compose's escape for a literal
  ``$`` (https://docs.docker.com/reference/compose-file/interpolation/).
* The health response body (``{"cluster_name":..,"status":"green"|"yellow"|"red",..}``) and ``wait_for_status`` /
  ``timeout`` query parameters: elastic/elasticsearch-specification, specification/cluster/health/ClusterHealthRequest.ts
  and ClusterHealthResponse.ts; on a timed-out ``wait_for_status`` Elasticsearch answers 408 with the body
  (RestClusterHealthAction in elastic/elasticsearch).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
COMPOSE = REPO / "compose.yaml"


def _health(status: str) -> dict:
    return {"cluster_name": "lifeseeker", "status": status, "timed_out": status == "red", "number_of_nodes": 1,
            "number_of_data_nodes": 1, "active_primary_shards": 3, "active_shards": 3, "relocating_shards": 0,
            "initializing_shards": 0, "unassigned_shards": 0}


UNAUTHORIZED = {"error": {"root_cause": [{"type": "security_exception", "reason": "unable to authenticate user "
                                          "[elastic] for REST request [/_cluster/health]"}],
                          "type": "security_exception", "reason": "unable to authenticate user"}, "status": 401}


class FakeHealth:
    """Answers ``GET /_cluster/health`` with ``(status code, body)``; records path+query and Authorization."""

    def __init__(self):
        self.answer: tuple[int, dict] = (200, _health("green"))
        self.seen: list[tuple[str, str | None]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake.seen.append((self.path, self.headers.get("Authorization")))
                code, body = fake.answer
                data = json.dumps(body, separators=(",", ":")).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake():
    f = FakeHealth()
    yield f
    f.close()


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _healthcheck(service: str) -> str:
    test = _compose()["services"][service]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL" and len(test) == 2, test
    return test[1].replace("$$", "$")  # Compose's escape for a literal $, undone as Compose does


def _run(cmd: str, port: int, env: dict[str, str]) -> int:
    assert "localhost:9200" in cmd
    cmd = cmd.replace("localhost:9200", f"127.0.0.1:{port}")
    return subprocess.run(["/bin/sh", "-c", cmd], env={"PATH": "/usr/bin:/bin", **env}, timeout=20,
                          capture_output=True).returncode


@pytest.mark.skipif(shutil.which("curl") is None, reason="the healthcheck runs curl; curl is not installed here")
@pytest.mark.parametrize("code,body,healthy", [
    (200, _health("green"), True),
    (200, _health("yellow"), True),
    (408, _health("red"), False),   # wait_for_status=yellow timed out
    (200, _health("red"), False),   # red without waiting
    (401, UNAUTHORIZED, False),     # wrong password: the body has "status":401, which must not pass
    (503, {"error": "master_not_discovered_exception", "status": 503}, False),
])
def test_es_healthcheck_passes_only_for_green_or_yellow(fake, code, body, healthy):
    fake.answer = (code, body)
    rc = _run(_healthcheck("elasticsearch"), fake.port, {"ELASTIC_PASSWORD": "pw with space"})
    assert (rc == 0) == healthy, (code, body["status"] if "status" in body else body, rc)
    # the whole URL reached the server (an unquoted & would have cut it and backgrounded curl)
    path, auth = fake.seen[-1]
    assert path == "/_cluster/health?wait_for_status=yellow&timeout=5s"
    assert auth == "Basic " + base64.b64encode(b"elastic:pw with space").decode()


def test_es_healthcheck_fails_when_nothing_listens(fake):
    port = fake.port
    fake.close()
    assert _run(_healthcheck("elasticsearch"), port, {"ELASTIC_PASSWORD": "x"}) != 0


def test_services_wait_for_a_healthy_elasticsearch():
    services = _compose()["services"]
    for name in ("kibana-setup", "app", "ingest"):
        assert services[name]["depends_on"]["elasticsearch"] == {"condition": "service_healthy"}, name


def _compose_clients() -> list[list[str]]:
    out = []
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        out.append(["docker", "compose"])
    if shutil.which("docker-compose"):
        out.append(["docker-compose"])
    return out


def test_compose_file_is_valid_for_the_installed_compose_client():
    clients = _compose_clients()
    if not clients:
        pytest.skip("no docker compose plugin and no docker-compose installed: `compose config` cannot run here")
    for client in clients:
        got = subprocess.run([*client, "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True,
                             timeout=60, cwd=REPO, env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp"})
        assert got.returncode == 0, (client, got.stderr)


WORKFLOW = REPO / ".github" / "workflows" / "es-live.yml"


def _workflow_health_cmd() -> str:
    import shlex

    opts = shlex.split(yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]["store-suite"]["services"]
                       ["elasticsearch"]["options"])
    return opts[opts.index("--health-cmd") + 1]


@pytest.mark.skipif(shutil.which("curl") is None, reason="the healthcheck runs curl; curl is not installed here")
@pytest.mark.parametrize("code,status,healthy", [(200, "green", True), (200, "yellow", True), (408, "red", False)])
def test_live_workflow_health_command_waits_for_yellow(fake, code, status, healthy):
    fake.answer = (code, _health(status))
    assert (_run(_workflow_health_cmd(), fake.port, {}) == 0) == healthy
    assert fake.seen[-1][0] == "/_cluster/health?wait_for_status=yellow&timeout=5s"


def test_live_workflow_runs_the_shared_suite_against_es_9():
    job = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]["store-suite"]
    image = job["services"]["elasticsearch"]["image"]
    assert image.startswith("docker.elastic.co/elasticsearch/elasticsearch:")
    assert all(v.startswith("9.") for v in job["strategy"]["matrix"]["es"])
    assert job["env"]["LIFESEEKER_ES_URL"] == "http://localhost:9200"
    assert job["services"]["elasticsearch"]["ports"] == ["9200:9200"]
    runs = " ".join(step.get("run", "") for step in job["steps"])
    assert "tests/test_store_contract.py" in runs
    for path in ("tests/test_store_contract.py", "tests/test_elastic_contract.py", "tests/test_elastic_writes.py"):
        assert (REPO / path).is_file(), path

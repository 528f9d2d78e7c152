"""Kibana saved objects (package data), their import request and the ``lifeseeker es`` commands; the compose pin.
Kibana cannot run here: shapes follow Kibana's import API reference and its saved-object schemas (cited per test)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from lifeseeker.engine.schema import load_schema
from lifeseeker.errors import StoreError

from .es_fake import cluster, existing_index, fixture  # noqa: F401 (cluster: a fixture)

REPO = Path(__file__).resolve().parents[1]
SCHEMA = load_schema()
# --- saved objects --------------------------------------------------------------------------------------------------


def test_saved_objects_define_the_data_view_dashboard_and_map():
    # https://www.elastic.co/docs/api/doc/kibana/operation/operation-importsavedobjectsdefault (NDJSON export format)
    lines = (REPO / "lifeseeker" / "kibana" / "saved_objects.ndjson").read_text(encoding="utf-8").splitlines()
    objs = {(o["type"], o["id"]): o for o in map(json.loads, lines)}
    dv = objs[("index-pattern", "lifeseeker-data-view")]["attributes"]
    # local_time is a naive wall clock stored as if UTC; Kibana shows a date in the browser's zone, so the data view's
    # time field is the instant utc_time (a date in the mapping) and local_time is labelled for what it is.
    assert dv["title"] == "lifeseeker" and dv["timeFieldName"] == "utc_time"
    assert SCHEMA.properties[dv["timeFieldName"]]["type"] == "date"
    assert "UTC" in json.loads(dv["fieldAttrs"])["local_time"]["customLabel"]
    for o in objs.values():  # every reference resolves to a shipped object
        for ref in o["references"]:
            assert (ref["type"], ref["id"]) in objs, ref
    vis = json.loads(objs[("visualization", "lifeseeker-images-per-day")]["attributes"]["visState"])
    hist = [a for a in vis["aggs"] if a["type"] == "date_histogram"][0]["params"]
    assert hist["field"] == "utc_time" and hist["calendar_interval"] == "1d"
    layers = json.loads(objs[("map", "lifeseeker-locations-map")]["attributes"]["layerListJSON"])
    geo = layers[0]["sourceDescriptor"]["geoField"]
    assert geo == "location" and SCHEMA.properties[geo]["type"] == "geo_point"
    dash = objs[("dashboard", "lifeseeker-overview")]["attributes"]
    # Kibana's dashboard saved-object attributes timeRestore/timeFrom/timeTo/refreshInterval (elastic/kibana,
    # src/platform/plugins/shared/dashboard/server/content_management/v1/cm_services.ts, dashboardAttributesSchema):
    # the dashboard opens on a window that holds lifelog data instead of Kibana's default "last 15 minutes".
    assert dash["timeRestore"] is True and dash["timeFrom"] == "now-15y" and dash["timeTo"] == "now"
    assert dash["refreshInterval"] == {"pause": True, "value": 0}
    panels = json.loads(dash["panelsJSON"])
    assert {p["panelRefName"] for p in panels} == {r["name"] for r in objs[("dashboard", "lifeseeker-overview")]["references"]}


class _StubResponse:
    def __init__(self, status: int, payload: dict):
        self.status = status
        self.data = json.dumps(payload).encode()


class _StubPool:
    def __init__(self, status: int, payload: dict):
        self.calls: list[tuple] = []
        self.response = _StubResponse(status, payload)

    def request(self, method, url, fields=None, headers=None, **kw):
        self.calls.append((method, url, fields, headers))
        return self.response


def test_import_saved_objects_posts_multipart_with_xsrf(monkeypatch, tmp_path):
    import urllib3

    from lifeseeker.engine.store import kibana

    stub = _StubPool(200, fixture("kibana_import_ok.json"))
    monkeypatch.setattr(urllib3, "PoolManager", lambda *a, **k: stub)
    path = REPO / "lifeseeker" / "kibana" / "saved_objects.ndjson"
    answer = kibana.import_saved_objects("http://kibana:5601/", path, ("elastic", "changeme"))
    assert answer["successCount"] == 4
    ((method, url, fields, headers),) = stub.calls
    assert method == "POST" and url == "http://kibana:5601/api/saved_objects/_import?overwrite=true"
    assert headers["kbn-xsrf"] == "true" and headers["authorization"] == "Basic ZWxhc3RpYzpjaGFuZ2VtZQ=="
    assert fields == {"file": ("saved_objects.ndjson", path.read_bytes(), "application/ndjson")}
    # the multipart body urllib3 builds from these fields carries the file under the form field "file"
    body, ctype = urllib3.encode_multipart_formdata(fields, boundary="b0undary")
    assert ctype == "multipart/form-data; boundary=b0undary"
    assert b'Content-Disposition: form-data; name="file"; filename="saved_objects.ndjson"' in body
    assert kibana.auth_headers("a2V5") == {"authorization": "ApiKey a2V5"}


def test_import_saved_objects_reports_kibana_errors(monkeypatch, tmp_path):
    import urllib3

    from lifeseeker.engine.store import kibana

    monkeypatch.setattr(urllib3, "PoolManager", lambda *a, **k: _StubPool(200, fixture("kibana_import_conflict.json")))
    with pytest.raises(StoreError, match="dashboard/lifeseeker-overview: missing_references"):
        kibana.import_saved_objects("http://kibana:5601", REPO / "lifeseeker" / "kibana" / "saved_objects.ndjson")
    monkeypatch.setattr(urllib3, "PoolManager", lambda *a, **k: _StubPool(401, {"statusCode": 401,
                                                                               "error": "Unauthorized",
                                                                               "message": "missing credentials"}))
    with pytest.raises(StoreError, match="HTTP 401: missing credentials"):
        kibana.import_saved_objects("http://kibana:5601", REPO / "lifeseeker" / "kibana" / "saved_objects.ndjson")
    with pytest.raises(StoreError, match="unreadable"):
        kibana.import_saved_objects("http://kibana:5601", tmp_path / "nope.ndjson")


def test_cli_import_kibana_and_reindex_swap(monkeypatch, cluster):
    from click.testing import CliRunner

    from lifeseeker.cli import elastic as cli_elastic
    from lifeseeker.engine.store import elastic, kibana

    seen = {}
    monkeypatch.setattr(kibana, "import_saved_objects",
                        lambda url, path, auth: seen.update(url=url, path=path, auth=auth) or {"successCount": 4})
    env = {"LIFESEEKER_ES_URL": "http://es.test:9200", "LIFESEEKER_ES_USER": "elastic",
           "LIFESEEKER_ES_PASSWORD": "pw"}
    res = CliRunner().invoke(cli_elastic.es, ["import-kibana", "--kibana", "http://kibana:5601"], env=env)
    assert res.exit_code == 0, res.output
    assert "imported 4 saved objects" in res.output
    assert seen["url"] == "http://kibana:5601" and seen["auth"] == ("elastic", "pw")
    assert seen["path"].read_bytes() == (REPO / "lifeseeker" / "kibana" / "saved_objects.ndjson").read_bytes()

    existing_index(cluster)
    cluster.on("GET", "/lifeseeker-v\\*", (200, {"lifeseeker-v1": {}}))
    cluster.on("GET", "/", (200, fixture("root_9.2.json")))
    cluster.on("PUT", "/lifeseeker-v2", (200, {**fixture("create_index.json"), "index": "lifeseeker-v2"}))
    cluster.on("POST", "/_aliases", (200, fixture("aliases_ack.json")))
    real = elastic.ElasticStore
    monkeypatch.setattr(elastic, "ElasticStore",
                        lambda url, **kw: real(url, **{**kw, "node_class": cluster.node_class(), "backoff_s": 0}))
    res = CliRunner().invoke(cli_elastic.es, ["reindex-swap", "--no-copy"], env=env)
    assert res.exit_code == 0, res.output
    assert "alias lifeseeker -> lifeseeker-v2 (was lifeseeker-v1" in res.output
    assert cluster.sent("POST", "/_reindex") == []
    assert cluster.sent("POST", "/_aliases")[0].body["actions"][-1] == {"add": {"index": "lifeseeker-v2",
                                                                                "alias": "lifeseeker"}}


def test_compose_pins_elasticsearch_9_matching_the_client():
    import elasticsearch

    text = (REPO / "compose.yaml").read_text(encoding="utf-8")
    versions = set(re.findall(r"docker\.elastic\.co/(?:elasticsearch/elasticsearch|kibana/kibana):\$\{ES_VERSION:-([\d.]+)\}",
                              text))
    assert len(versions) == 1
    (v,) = versions
    assert int(v.split(".")[0]) == int(elasticsearch.__versionstr__.split(".")[0]) == 9
    # the app serves with the production gunicorn configuration (gthread workers, read deadline: issue 22)
    assert "gunicorn -c python:lifeseeker.webui.gunicorn_conf -b 0.0.0.0:5000" in text
    assert "LIFESEEKER_STORE: http://elasticsearch:9200" in text
    assert "profiles: [ingest]" in text and "lifeseeker ingest folder /data/photos" in text


def test_saved_objects_ship_in_the_wheel_and_the_default_path_comes_from_the_package(tmp_path):
    # A non-editable install (the Dockerfile's `pip install .`) has only the package: the default --file must be
    # package data, found through importlib.resources.
    from lifeseeker.cli.elastic import default_saved_objects

    assert default_saved_objects().is_file()
    assert default_saved_objects().resolve() == (REPO / "lifeseeker" / "kibana" / "saved_objects.ndjson").resolve()
    import shutil

    src = tmp_path / "src"  # build from a copy: setuptools writes build/ and *.egg-info next to the sources
    shutil.copytree(REPO / "lifeseeker", src / "lifeseeker", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "setup.cfg", "README.md"):
        shutil.copy(REPO / name, src / name)
    got = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(tmp_path / "dist"), str(src)], capture_output=True, text=True, timeout=300)
    assert got.returncode == 0, got.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("lifeseeker-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "lifeseeker/kibana/saved_objects.ndjson" in names
    assert not (REPO / "Dockerfile").read_text(encoding="utf-8").count("COPY kibana")

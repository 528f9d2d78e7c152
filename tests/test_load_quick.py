"""``bench/load.py --quick`` runs (a 2000-image synthetic store, gunicorn with 2 workers on 127.0.0.1, 4 clients
for 3 s) so the load test never rots: it answers every request without an error and reports
consistent figures."""

from __future__ import annotations

import json
import subprocess
import sys

from .conftest import REPO


def test_load_quick_serves_every_request_without_error(tmp_path):
    out = tmp_path / "load.json"
    proc = subprocess.run([sys.executable, "bench/load.py", "--quick", "--workdir", str(tmp_path / "work"),
                           "--json", str(out)], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    res = json.loads(out.read_text())
    assert res["n"] == 2000 and res["clients"] == 4 and res["workers"] == 2 and res["preload"] is False
    assert res["errors"] == 0 and res["errors_by_kind"] == {} and res["warmup_errors"] == 0
    assert res["requests"] >= res["clients"]  # every client completed at least one measured request
    assert res["requests_per_s"] > 0
    assert 0 < res["p50_ms"] <= res["p90_ms"] <= res["p99_ms"] <= res["max_ms"]
    assert "requests/s" in proc.stdout and "p99" in proc.stdout and "errors     0" in proc.stdout

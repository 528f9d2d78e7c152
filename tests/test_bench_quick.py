"""The search benchmark runs (``bench/search.py --quick``: one tiny store, a few queries) so it never rots, and its
synthetic lifelog has the shape the benchmark claims (waking-hours cadence over 18 months, clustered GPS, unit
vectors, the filter selectivities the scenarios name)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime

import numpy as np
import pytest

from bench.search import CADENCE_S, D_CLIP, D_TEXT, PLACES, SPAN_DAYS, VECTOR_SHAPES, WAKING, Lifelog

from .conftest import REPO


def test_synthetic_lifelog_has_the_documented_shape():
    life = Lifelog(20_000, seed=1)
    secs = life.seconds
    tod = secs % 86400
    assert tod.min() >= WAKING[0] and tod.max() < WAKING[1] + CADENCE_S
    gaps = np.diff(secs)
    assert np.median(gaps) == pytest.approx(CADENCE_S, abs=CADENCE_S / 2)  # one image per ~30 s while awake
    assert (secs.max() - secs.min()) / 86400 <= SPAN_DAYS
    assert (secs.max() - secs.min()) / 86400 > 300  # the recorded days are spread over the 18 months
    mon_to_wed = np.isin((secs // 86400 + 3) % 7, [0, 1, 2]).mean()  # the "broad" scenario's filter
    assert 0.2 < mon_to_wed < 0.65
    assert 0.003 < life.rare.mean() < 0.007  # the "selective" scenario's tag: ~0.5 %
    t = life.table(0, 2000)
    assert t.num_rows == 2000 and len(set(t.column("image_id").to_pylist())) == 2000
    first = t.slice(0, 1).to_pylist()[0]
    assert first["local_time"] == datetime(2019, 1, 1, 7, 0, first["local_time"].second)
    assert first["date"] == "2019-01-01" and first["weekday"] == "Tue" and first["part_of_day"] == "morning"
    lat = np.array([r["lat"] for r in t.column("location").to_pylist()])
    home = [p for p in PLACES if p[0] == "home"][0]
    assert np.median(np.abs(lat - home[5]) < 0.1) == 1  # most images in Dublin, around a few places
    clip, text = life.vectors(0, 2000)
    assert clip.shape == (2000, D_CLIP) and text.shape == (2000, D_TEXT)
    np.testing.assert_allclose(np.linalg.norm(clip, axis=1), 1, atol=1e-5)
    same_event = life.event[:1999] == life.event[1:2000]
    cos_next = np.einsum("ij,ij->i", clip[:-1], clip[1:])
    assert cos_next[same_event].mean() > 0.5 > abs(cos_next[~same_event].mean())  # events


def test_bench_quick_runs_and_reports(tmp_path):
    out = tmp_path / "work" / "BENCHMARKS-quick.md"  # --quick's default report: never the repo's BENCHMARKS.md
    published = (REPO / "BENCHMARKS.md").read_bytes() if (REPO / "BENCHMARKS.md").exists() else None
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "search.py"), "--quick", "--workdir",
                           str(tmp_path / "work")], capture_output=True, text=True, env=env, cwd=REPO, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert published is None or (REPO / "BENCHMARKS.md").read_bytes() == published
    text = out.read_text()
    assert "**Machine:** " in text and "load average" in text
    data = json.loads(text.split("```json\n", 1)[1].split("\n```", 1)[0])
    (r,) = data["results"]
    assert r["n"] == 600 and not r["ann"]
    sc = r["scenarios"]
    assert set(sc) == {"none", "selective", "broad", "text", "ocr"}
    assert sc["none"]["passing"] == 600
    assert 0 < sc["selective"]["passing"] < 0.03 * 600
    assert sc["broad"]["passing"] in (0, 600)  # 600 images fill part of one day: one weekday
    assert 0 < sc["text"]["passing"] < 0.2 * 600
    for s in sc.values():  # the exact path returns exactly the floor's top-100
        assert s["recall100"] == 1.0
        assert s["store_p50_ms"] > 0 and s["floor_p50_ms"] > 0
    assert set(r["e2e"]) == set(sc) and all(v["p50_ms"] > 0 for v in r["e2e"].values())
    # every query-vector path of every scenario, each against its own floor; exact there, so recall is 1
    assert set(r["paths"]) == set(sc)
    for per in r["paths"].values():
        assert set(per) == set(VECTOR_SHAPES)
        assert all(c["recall100"] == 1.0 and c["scoring_ratio_p50"] > 0 for c in per.values())
    for key in ("e2e", "e2e_text_only"):  # the request split: encoding + store + the rest adds up to the request
        for e in r[key].values():
            assert 0 < e["encode_p50_ms"] < e["p50_ms"] and 0 < e["store_p50_ms"] < e["p50_ms"]
            assert 0 <= e["outside_share_p50"] < 1
    assert "## Every query-vector path vs its own floor" in text
    assert r["disk_table_b_per_doc"] > 4 * (D_CLIP + D_TEXT)  # the vectors are stored, float32
    # the cache holds the mapped matrix plus a copy of the scalar columns (less than the whole table)
    assert 4 * (D_CLIP + D_TEXT) < r["disk_cache_b_per_doc"] < 4 * (D_CLIP + D_TEXT) + r["disk_table_b_per_doc"]
    assert r["cold_start_s"] > 0 and r["words_s"] > 0
    assert "| 600 | exact | none | 600 |" in text

    # --after-write appends 1 % and times the update; the report keeps the earlier rows and lists both runs
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "search.py"), "--after-write", "600", "--workdir",
                           str(tmp_path / "work"), "--out", str(out)], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = out.read_text()
    data = json.loads(text.split("```json\n", 1)[1].split("\n```", 1)[0])
    assert data["results"][0]["n"] == 600
    (w,) = data["after_write"]
    assert w["added"] == 6 and w["ann_how"] == "extended" and w["first_query_ms"] > 0
    assert [run["args"].split()[0] for run in data["runs"]] == ["--quick", "--after-write"]
    assert "| 600 | 6 |" in text

    # --first-request: after warm(), each scenario's first search against later ones, both query shapes
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "search.py"), "--first-request", "600", "--workdir",
                           str(tmp_path / "work"), "--out", str(out)], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = out.read_text()
    data = json.loads(text.split("```json\n", 1)[1].split("\n```", 1)[0])
    first = data["first_request"]
    assert {(r["shape"], r["scenario"]) for r in first} == {(s, k) for s in ("both", "tat-only") for k in sc}
    assert all(r["first_ms"] > 0 and r["later_ms"] > 0 and r["warm_s"] > 0 for r in first)
    assert "## First requests after `LanceStore.warm()`" in text and "| 600 | 6 |" in text

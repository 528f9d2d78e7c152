"""Crash safety of ingest: ``lifeseeker ingest folder`` runs as a real subprocess and is SIGKILLed at a random
moment; the store must then open cleanly holding only complete documents, and a re-run must end with exactly the
documents of an uninterrupted ingest (same ids, same values, no duplicates).

Two collections (``left``, ``right``) with the same relative paths (``day0/img0000.jpg`` ...) and other pixels go
into one store: a trial kills the ingest of one of them (the other ingested whole before or after), so the exact
set is checked across collections whose relative paths overlap (ids are ``collection/path``; before issue 16 the
second collection was "skipped (already indexed)").

Each run is a separate process forked from a warm fork server (``tests/crash_forkserver.py``: the imports are
paid once, nothing model-related runs before the fork), killed with SIGKILL by pid.
``LIFESEEKER_KILL_TRIALS`` sets the number of trials (default 3, what CI runs; the issue's full run is 10:
``LIFESEEKER_KILL_TRIALS=10 python -m pytest -q tests/test_crash_safety.py -s`` prints one line per trial).
The kill points are drawn (seeded, ``LIFESEEKER_KILL_SEED``): after a random number of committed batch writes
(data files in the table folder, 1 to all) plus a random 0-0.5 s, so they land anywhere between the first write and
the end of the run (including the final compaction); each trial has its own cache folder (no reuse).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image

from lifeseeker.engine.store import open_store

from .conftest import REPO

TRIALS = int(os.environ.get("LIFESEEKER_KILL_TRIALS", "3"))
SEED = int(os.environ.get("LIFESEEKER_KILL_SEED", "20240610"))
N_IMAGES = 48  # per collection
COLLECTIONS = ("left", "right")
BATCH = 4
RUN_LIMIT_S = 600  # a run that takes longer than this has hung: the test fails instead of waiting forever
COMPARED = ("collection", "path", "local_time", "date", "hour", "part_of_day", "location", "country", "tags",
            "capmeta", "models")


def make_corpus(root: Path, n: int = N_IMAGES, seed: int = 7) -> None:
    """``n`` small JPEGs with distinct pixels (per ``seed``) and capture times, in 4 sub-folders."""
    rng = np.random.default_rng(seed)
    t0 = datetime(2021, 5, 1, 7, 0, 0)
    for i in range(n):
        folder = root / f"day{i % 4}"
        folder.mkdir(parents=True, exist_ok=True)
        pixels = (rng.random((96, 128, 3)) * 255).astype(np.uint8)
        im = Image.fromarray(pixels, "RGB")
        exif = Image.Exif()
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = (
            (t0 + timedelta(minutes=37 * i)).strftime("%Y:%m:%d %H:%M:%S"))
        im.save(folder / f"img{i:04d}.jpg", "JPEG", quality=90, exif=exif)


def ingest_args(corpus: Path, collection: str) -> list[str]:
    """Ingest ``corpus/<collection>`` as ``collection``, one store write per batch of ``BATCH`` (``--write-batch``:
    with the default group of 500 the 48 images would be one write and every kill would land before or after it)."""
    return ["ingest", "folder", str(corpus / collection), "--collection", collection, "--batch-size", str(BATCH),
            "--write-batch", str(BATCH), "--workers", "2", "--no-ocr", "--no-caption", "--no-progress"]


def env_for(store_dir: Path, tiny_clip_dir: Path, cache: Path) -> dict[str, str]:
    return {"LIFESEEKER_STORE": f"lance://{store_dir}", "LIFESEEKER_CLIP_MODEL": f"local-dir:{tiny_clip_dir}",
            "LIFESEEKER_CACHE": str(cache)}


class ForkServer:
    """``tests/crash_forkserver.py`` in a subprocess: each ``start`` forks a fresh ``lifeseeker`` process from it (a
    real, separate process that can be SIGKILLed), without paying the imports again."""

    def __init__(self):
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
                   PYTHONPATH=str(REPO))
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.crash_forkserver"], cwd=REPO, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        assert json.loads(self.proc.stdout.readline()) == {"ready": True}

    def start(self, args: list[str], env: dict[str, str], log: Path) -> int:
        self.proc.stdin.write(json.dumps({"args": args, "env": env, "log": str(log)}) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())["pid"]

    def wait(self, pid: int) -> int:
        """The wait status of child ``pid`` (blocks until it ended)."""
        msg = json.loads(self.proc.stdout.readline())
        assert msg["pid"] == pid, msg
        return msg["status"]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(60)


def run_to_end(server: ForkServer, args: list[str], env: dict[str, str], log: Path) -> str:
    """Run a command to its end; returns its output. Fails the test if it does not exit 0 within RUN_LIMIT_S."""
    pid = server.start(args, env, log)
    timer = threading.Timer(RUN_LIMIT_S, lambda: os.kill(pid, signal.SIGKILL))
    timer.start()
    try:
        status = server.wait(pid)
    finally:
        timer.cancel()
    out = log.read_text(errors="replace")
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"status {status}:\n{out[-3000:]}"
    return out


def snapshot(store_dir: Path) -> dict[str, dict]:
    """Every document of the store at ``store_dir`` (opened fresh, as a new process would): id -> compared fields
    plus both vectors. Raises whatever opening or reading raises (the test fails on it)."""
    store = open_store(f"lance://{store_dir}")
    try:
        n = store.count()
        # every corpus image has a capture time in May 2021, so a time window lists them all
        ids = [d["image_id"] for d in store.neighbours(datetime(2021, 5, 1), 0, 30 * 86400, limit=1000)]
        assert len(ids) == len(set(ids)), "duplicate documents"
        docs = store.get(sorted(ids), with_vectors=True)
        assert len(docs) == n, f"count() says {n}, reading gives {len(docs)}"
        return {d["image_id"]: d for d in docs}
    finally:
        store.close()


def same_document(a: dict, b: dict) -> bool:
    if any(a.get(k) != b.get(k) for k in COMPARED):
        return False
    for k in ("clip_vec", "capmeta_vec"):
        if (a[k] is None) != (b[k] is None):
            return False
        if a[k] is not None and not np.allclose(a[k], b[k], atol=1e-5):
            return False
    return True


@pytest.fixture(scope="module")
def server():
    srv = ForkServer()
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_clip_dir, server):
    """One uninterrupted ingest: (corpus, its documents, seconds from start to the table's first appearance on disk,
    seconds for the whole run, work folder)."""
    base = tmp_path_factory.mktemp("crash")
    corpus = base / "corpus"
    for seed, name in enumerate(COLLECTIONS, 7):
        make_corpus(corpus / name, seed=seed)  # same relative paths, other pixels
    # a first, untimed run warms the file cache and model loading so the timed one is what a trial will see
    run_to_end(server, ingest_args(corpus, "left"), env_for(base / "warm-store", tiny_clip_dir, base / "cache"),
               base / "warm.log")
    store_dir = base / "ref-store"
    run_to_end(server, ingest_args(corpus, "left"), env_for(store_dir, tiny_clip_dir, base / "cache"),
               base / "ref-left.log")
    t0 = time.monotonic()
    pid = server.start(ingest_args(corpus, "right"), env_for(store_dir, tiny_clip_dir, base / "cache"),
                       base / "ref.log")
    first_write = None
    done: dict = {}
    waiter = threading.Thread(target=lambda: done.setdefault("status", server.wait(pid)), daemon=True)
    waiter.start()
    files_before = len(list(store_dir.glob("*.lance/data/*")))
    while waiter.is_alive():
        if first_write is None and len(list(store_dir.glob("*.lance/data/*"))) > files_before:  # a batch written
            first_write = time.monotonic() - t0
        if time.monotonic() - t0 > RUN_LIMIT_S:
            os.kill(pid, signal.SIGKILL)
            pytest.fail("the reference ingest hung")
        time.sleep(0.02)
    total = time.monotonic() - t0
    out = (base / "ref.log").read_text(errors="replace")
    assert done["status"] == 0, out[-3000:]
    assert f"indexed {N_IMAGES}, skipped (already indexed) 0" in out, out[-3000:]
    docs = snapshot(store_dir)
    assert len(docs) == 2 * N_IMAGES
    assert {d["path"] for d in docs.values() if d["collection"] == "left"} == \
        {d["path"] for d in docs.values() if d["collection"] == "right"}  # the relative paths overlap entirely
    return corpus, docs, first_write or 0.0, total, base


def test_sigkill_at_random_points_then_rerun_gives_the_exact_document_set(reference, tiny_clip_dir, server,
                                                                          capsys):
    corpus, ref_docs, first_write, total, base = reference
    rng = random.Random(SEED)
    results = []
    for trial in range(TRIALS):
        store_dir = base / f"trial-{trial}"
        env = env_for(store_dir, tiny_clip_dir, base / f"cache-{trial}")
        victim = COLLECTIONS[trial % 2]  # even trials kill "left" (first), odd ones "right" (after left is whole)
        if victim == "right":
            run_to_end(server, ingest_args(corpus, "left"), env, base / f"trial-{trial}-left.log")
        files_before = len(list(store_dir.glob("*.lance/data/*")))
        # the kill point: after a random number of committed batch writes (data files) plus a random instant,
        # so it lands anywhere from the first write to the final compaction
        target_files = files_before + rng.randint(1, N_IMAGES // BATCH)
        jitter = rng.uniform(0, 0.5)
        pid = server.start(ingest_args(corpus, victim), env, base / f"trial-{trial}.log")
        ended: dict = {}
        waiter = threading.Thread(target=lambda: ended.setdefault("status", server.wait(pid)), daemon=True)
        waiter.start()
        t0 = time.monotonic()
        while waiter.is_alive() and len(list(store_dir.glob("*.lance/data/*"))) < target_files:
            if time.monotonic() - t0 > RUN_LIMIT_S:
                break
            time.sleep(0.005)
        waiter.join(jitter)
        delay = time.monotonic() - t0
        killed = waiter.is_alive()
        if killed:
            os.kill(pid, signal.SIGKILL)
        waiter.join(60)
        assert not waiter.is_alive()
        status = ended["status"]
        if killed:  # it may still have finished on its own in the instant before the signal
            killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        else:
            assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status

        # the store opens cleanly and holds only complete documents of the reference set
        after_kill = snapshot(store_dir) if store_dir.exists() else {}
        assert set(after_kill) <= set(ref_docs), set(after_kill) - set(ref_docs)
        torn = [i for i, d in after_kill.items() if not same_document(d, ref_docs[i])]
        assert not torn, f"trial {trial}: documents differ from the reference after the kill: {torn[:5]}"

        out = run_to_end(server, ingest_args(corpus, victim), env, base / f"trial-{trial}-rerun.log")
        kept = sum(d["collection"] == victim for d in after_kill.values())
        assert f"skipped (already indexed) {kept}" in out, out[-3000:]
        if victim == "left":
            run_to_end(server, ingest_args(corpus, "right"), env, base / f"trial-{trial}-right.log")
        final = snapshot(store_dir)
        assert sorted(final) == sorted(ref_docs), f"trial {trial}: not the exact document set"
        differ = [i for i in final if not same_document(final[i], ref_docs[i])]
        assert not differ, f"trial {trial}: documents differ after the re-run: {differ[:5]}"
        results.append((trial, victim, round(delay, 2), killed, kept, target_files - files_before))
    with capsys.disabled():
        print(f"\nkill trials (reference run {total:.1f} s, table on disk after {first_write:.1f} s):")
        for trial, victim, delay, killed, kept, files in results:
            state = (f"SIGKILL of {victim:5s} at {delay:5.2f} s (after >= {files:2d} data files + jitter)" if killed
                     else f"{victim} finished before the kill point ({files} data files)")
            print(f"  trial {trial}: {state}, {kept:3d}/{N_IMAGES} of its documents survived, re-run: exact set of "
                  f"{2 * N_IMAGES} across both collections, store ok")
    assert len(results) == TRIALS

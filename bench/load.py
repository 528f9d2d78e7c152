"""Load test: concurrent clients against gunicorn on 127.0.0.1 over a synthetic lifelog.

    python bench/load.py                         # 200k images, 16 clients, 60 s, gunicorn -w 2
    python bench/load.py --preload               # the same with --preload (see "Fork hazards" below)
    python bench/load.py --quick                 # 2k images, 4 clients, 3 s (the test suite runs this)
    python bench/load.py --slow-sockets 4        # the same load with 4 slow clients open alongside
    python bench/load.py --n 1000000 --workers 4 --duration 120 --json load.json

The store is ``bench/search.py``'s synthetic lifelog (``build_store``: built once under ``--workdir`` and reused);
the app is the production entry point ``gunicorn -c python:lifeseeker.webui.gunicorn_conf
'lifeseeker.webui:create_app()'`` (gthread workers, 8 threads each, a read deadline per request) with the default CLIP
architecture (ViT-B-16, random weights: the real encoding cost without downloading weights) and the real
all-MiniLM-L6-v2. Each client loops over a fixed mix of ``GET /api/search`` requests (free text alone and with
filters: tag, weekday, part of day, date range, radius, full text, events off) and, one request in ten, ``GET
/api/image/<id>`` and ``GET /api/info``, one request at a time, a fresh connection each, for ``--duration`` seconds
after one warm-up request per client.

``--slow-sockets N`` opens N hostile connections for the whole measured period, in turn: one that sends nothing,
one that sends its request headers one byte every 0.5 s, one that sends a declared 1 MB body one byte every 0.5 s
(each reconnects when the server closes it), so the figures show whether slow clients delay ordinary ones.

Prints: requests, requests/s, latency p50 / p90 / p99 / max (ms, per request, client side), and errors (any status
other than 200, or a connection failure / timeout, by kind); the warm-up request of each client (before the clock
starts) is reported apart. Exit status 1 when there was any error, warm-up included.

Fork hazards (why ``--preload`` is not the default here): with ``--preload`` the master loads torch and opens the
LanceDB store, then forks the workers. (1) GNU OpenMP is not fork-safe: a worker whose master used an OpenMP
thread team hangs in its first parallel torch call (every search times out); ``OMP_NUM_THREADS=1`` avoids that.
(2) LanceDB calls its own fork support experimental: a worker forked with a table open in the master was seen to
die with SIGSEGV on its first request (200k store) or to hang on ``table.version``. Without ``--preload`` each
worker loads models and opens the store itself, after the fork.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# The request mix: (path, query parameters). Filters use values the synthetic lifelog holds (bench/search.py).
SEARCHES = [
    {"q": "coffee cup on a table", "limit": "50"},
    {"q": "laptop screen at work", "tag": "laptop", "limit": "20"},
    {"q": "walking on a street", "weekday": "Sat,Sun", "part": "afternoon"},
    {"q": "dinner plate", "date_from": "2019-03-01", "date_to": "2019-06-30", "limit": "100"},
    {"q": "bus stop", "near": "53.3861,-6.2566", "radius_km": "2", "limit": "30"},
    {"q": "menu", "text": "menu", "events": "0"},
    {"q": "a dog in the park", "country": "Ireland", "hour_from": "7", "hour_to": "12"},
    {"q": "", "tag": "passport", "limit": "10"},
]


def pct(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values`` by the nearest-rank method (a value that was measured)."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, int(round(q / 100 * len(s) + 0.5)) - 1))
    return s[k]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(store: Path, workdir: Path, workers: int, port: int, timeout_s: float,
                   preload: bool = False, threads_per_worker: int = 1) -> subprocess.Popen:
    """gunicorn (``--preload`` when ``preload``) serving ``store`` on 127.0.0.1:``port``; returns when ``/api/info``
    answers 200. ``threads_per_worker``: torch/OpenMP threads (``OMP_NUM_THREADS``); with ``--preload`` it must
    be 1, because GNU OpenMP is not fork-safe: a worker forked after the master used an OpenMP thread team hangs
    in its first parallel torch call.

    Raises:
        RuntimeError: gunicorn exited or did not answer within ``timeout_s`` seconds (its stderr tail attached).
    """
    env = dict(os.environ, LIFESEEKER_STORE=f"lance://{store}", LIFESEEKER_CLIP_MODEL="ViT-B-16",
               LIFESEEKER_CLIP_PRETRAINED="random", LIFESEEKER_CACHE=str(workdir / "cache"), PYTHONPATH=str(REPO),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               LIFESEEKER_VQA_MODEL="none", LIFESEEKER_RERANK="off", OMP_NUM_THREADS=str(threads_per_worker),
               LIFESEEKER_PRELOAD="1" if preload else "0")
    log = open(workdir / "gunicorn.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:lifeseeker.webui.gunicorn_conf",
                             "-w", str(workers), "-t", "120", "--backlog", "256", "-b", f"127.0.0.1:{port}",
                             "lifeseeker.webui:create_app()"],
                            env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/info", timeout=30) as r:
                if r.status == 200:
                    return proc
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            tail = (workdir / "gunicorn.log").read_bytes()[-3000:].decode(errors="replace")
            raise RuntimeError(f"gunicorn did not start (exit {proc.returncode}):\n{tail}")
        time.sleep(0.5)


def stop(proc: subprocess.Popen) -> None:
    """Stop gunicorn (SIGTERM to its own process group, then SIGKILL after 30 s)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, 15)
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait(10)
        except ProcessLookupError:
            pass


def client(base: str, ids: list[str], duration_s: float, seed: int, out: list, errors: Counter,
           lock: threading.Lock, request_timeout_s: float, start: threading.Barrier, warm: list,
           warm_errors: Counter) -> None:
    """One client: requests one after the other until ``duration_s`` has passed; appends latencies (s)."""
    urls = [f"{base}/api/search?{urllib.parse.urlencode(p)}" for p in SEARCHES]
    k = seed
    mine: list[float] = []
    local_errors: Counter = Counter()

    def one(url: str, timeout_s: float = request_timeout_s) -> None:
        t0 = time.perf_counter()
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as r:
                r.read()
                ok = r.status == 200
                kind = f"HTTP {r.status}"
        except urllib.error.HTTPError as exc:
            ok, kind = False, f"HTTP {exc.code}"
        except OSError as exc:  # refused, reset, timeout
            ok, kind = False, type(exc).__name__
        mine.append(time.perf_counter() - t0)
        if not ok:
            local_errors[kind] += 1

    # warm-up (first encodes, store snapshot; with threaded workers every client's first request shares one
    # worker's CPU): timed apart, errors reported apart, 5 x the request timeout
    one(urls[seed % len(urls)], 5 * request_timeout_s)
    with lock:
        warm.extend(mine)
        warm_errors.update({f"warm-up {k}": v for k, v in local_errors.items()})
    mine.clear()
    local_errors.clear()
    start.wait()  # every client warm: the measured period starts for all at once
    end = time.monotonic() + duration_s
    while time.monotonic() < end:
        if k % 10 == 9:
            one(f"{base}/api/image/{urllib.parse.quote(ids[k % len(ids)])}" if k % 20 == 9 else f"{base}/api/info")
        else:
            one(urls[k % len(urls)])
        k += 1
    with lock:
        out.extend(mine)
        errors.update(local_errors)


SLOW_KINDS = (b"", b"GET /api/info HTTP/1.1\r\nHost: bench\r\nX-Pad: " + b"a" * 4000,
              b"POST /api/search/image HTTP/1.1\r\nHost: bench\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 4000)


def slow_socket(port: int, kind: int, stop_at: float, stop: threading.Event, counts: Counter,
                lock: threading.Lock) -> None:
    """One slow client until ``stop`` is set or ``stop_at`` (monotonic) passes: ``SLOW_KINDS[kind % 3]`` sent one
    byte every 0.5 s (kind 0 sends nothing); reconnects whenever the server closes the connection. Counts
    connections made and closed by the server."""
    payload = SLOW_KINDS[kind % len(SLOW_KINDS)]
    while time.monotonic() < stop_at and not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                with lock:
                    counts["connections"] += 1
                s.settimeout(0.5)
                i = 0
                while time.monotonic() < stop_at and not stop.is_set():
                    if i < len(payload):
                        s.sendall(payload[i:i + 1])
                        i += 1
                    try:
                        if s.recv(4096) == b"":
                            with lock:
                                counts["closed by server"] += 1
                            break
                    except socket.timeout:
                        pass
        except OSError:
            with lock:
                counts["closed by server"] += 1
            time.sleep(0.2)


def run_load(base: str, ids: list[str], clients: int, duration_s: float, request_timeout_s: float,
             slow_sockets: int = 0) -> dict:
    """``clients`` threads for ``duration_s`` seconds (``slow_sockets`` slow clients alongside, opened before the
    warm-up); returns the figures (latencies in ms)."""
    slow_counts: Counter = Counter()
    slow_lock = threading.Lock()
    port = int(urllib.parse.urlsplit(base).port)
    slow_stop = time.monotonic() + duration_s + 120  # bounded: the slow clients end by themselves
    slow_end = threading.Event()
    slow_threads = [threading.Thread(target=slow_socket, args=(port, i, slow_stop, slow_end, slow_counts,
                                                               slow_lock)) for i in range(slow_sockets)]
    for t in slow_threads:
        t.start()
    latencies: list[float] = []
    errors: Counter = Counter()
    warm: list[float] = []
    warm_errors: Counter = Counter()
    lock = threading.Lock()
    started: list[float] = []
    start = threading.Barrier(clients + 1, action=lambda: started.append(time.monotonic()))
    threads = [threading.Thread(target=client, args=(base, ids, duration_s, i, latencies, errors, lock,
                                                     request_timeout_s, start, warm, warm_errors))
               for i in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    for t in threads:
        t.join()
    wall = time.monotonic() - started[0]
    slow_end.set()
    for t in slow_threads:
        t.join(10)
    ms = [x * 1000 for x in latencies]
    return {"clients": clients, "duration_s": round(wall, 2), "requests": len(ms),
            "requests_per_s": round(len(ms) / wall, 2) if wall else 0.0,
            "p50_ms": round(pct(ms, 50), 1), "p90_ms": round(pct(ms, 90), 1), "p99_ms": round(pct(ms, 99), 1),
            "max_ms": round(max(ms), 1) if ms else float("nan"),
            "mean_ms": round(statistics.fmean(ms), 1) if ms else float("nan"),
            "errors": sum(errors.values()), "errors_by_kind": dict(errors),
            "warmup_max_ms": round(max(warm) * 1000, 1) if warm else float("nan"),
            "warmup_errors": sum(warm_errors.values()), "warmup_errors_by_kind": dict(warm_errors),
            "slow_sockets": slow_sockets, "slow_socket_events": dict(slow_counts)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200_000, help="images in the synthetic store (default 200000)")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads per worker (OMP_NUM_THREADS; default 1; must be 1 with --preload)")
    ap.add_argument("--preload", action="store_true",
                    help="gunicorn --preload: models loaded once in the master (see Fork hazards)")
    ap.add_argument("--slow-sockets", type=int, default=0,
                    help="slow clients open alongside the load (idle, trickled headers, trickled body; default 0)")
    ap.add_argument("--timeout", type=float, default=60.0, help="per-request client timeout, s (default 60)")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "lifeseeker-bench",
                    help="where the store is built once and reused")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON here")
    ap.add_argument("--quick", action="store_true", help="2000 images, 4 clients, 3 s (for the test suite)")
    args = ap.parse_args(argv)
    if args.quick:
        args.n, args.clients, args.duration = min(args.n, 2000), min(args.clients, 4), min(args.duration, 3.0)
    for name in ("n", "clients", "workers"):
        if getattr(args, name) < 1:
            ap.error(f"--{name} must be at least 1")
    if not args.duration > 0:
        ap.error("--duration must be positive")
    if args.threads > 1 and args.preload:
        ap.error("--threads > 1 cannot go with --preload (OpenMP is not fork-safe; see start_gunicorn)")

    from bench.search import Lifelog, build_store

    args.workdir.mkdir(parents=True, exist_ok=True)
    store = args.workdir / f"store-{args.n}"
    t0 = time.perf_counter()
    built_s, _ = build_store(store, args.n)
    print(f"store: {store} ({args.n:,} images; {'built in %.0f s' % built_s if built_s else 'reused'})", flush=True)
    ids = [r["image_id"] for r in Lifelog(args.n).table(0, min(args.n, 500)).select(["image_id"]).to_pylist()]
    port = free_port()
    proc = start_gunicorn(store, args.workdir, args.workers, port, timeout_s=600, preload=args.preload,
                          threads_per_worker=args.threads)
    try:
        print(f"gunicorn -w {args.workers}{' --preload' if args.preload else ''} (OMP_NUM_THREADS={args.threads}) "
              f"on 127.0.0.1:{port} (ready after "
              f"{time.perf_counter() - t0:.0f} s); {args.clients} clients for {args.duration:g} s ...", flush=True)
        res = run_load(f"http://127.0.0.1:{port}", ids, args.clients, args.duration, args.timeout,
                       slow_sockets=args.slow_sockets)
    finally:
        stop(proc)
    res.update(n=args.n, workers=args.workers, preload=args.preload, threads=args.threads)
    if args.slow_sockets:
        print(f"slow       {args.slow_sockets} slow sockets alongside: {res['slow_socket_events']}")
    print(f"requests   {res['requests']} in {res['duration_s']} s")
    print(f"throughput {res['requests_per_s']} requests/s")
    print(f"latency    p50 {res['p50_ms']} ms   p90 {res['p90_ms']} ms   p99 {res['p99_ms']} ms   "
          f"max {res['max_ms']} ms")
    print(f"errors     {res['errors']}" + (f"  {res['errors_by_kind']}" if res["errors"] else ""))
    print(f"warm-up    one request per client before the clock: slowest {res['warmup_max_ms']} ms, errors "
          f"{res['warmup_errors']}" + (f"  {res['warmup_errors_by_kind']}" if res["warmup_errors"] else ""))
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))
    return 1 if res["errors"] or res["warmup_errors"] else 0


if __name__ == "__main__":
    sys.exit(main())

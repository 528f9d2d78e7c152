"""CLI start-up: wall time of ``lifeseeker`` commands run in fresh subprocesses, before and after a change, in one run.

    python bench/cli_startup.py --before main            # this checkout vs the tree of revision ``main``
    python bench/cli_startup.py --before 5bcd2c3 --runs 7
    python bench/cli_startup.py                          # this checkout alone

Each command runs ``--runs`` times as ``python -m lifeseeker.cli ...`` with the tree as working directory (so that
tree's ``lifeseeker`` package is imported), the two trees interleaved run by run so that the machine's load falls
on both alike. The "before" tree is ``git archive <rev>`` unpacked into a temporary folder. Every run uses a fresh
empty embedded store, ``HF_HUB_OFFLINE=1`` (nothing touches the network) and this checkout's interpreter; each
tree keeps one ``LIFESEEKER_CACHE`` across its runs, and the first run of each command per tree is not measured
(it fills what a user's first command leaves in that cache: a user's second command onward is measured; the
first one is printed apart, as "first run").

Commands: ``--help``, ``info``, ``parse``, ``eval-parse`` (tests/fixtures/lsc-topics/everyday.jsonl), ``dres
status`` without a DRES server configured (answers "not configured"), a usage error (``search --date-from nope``),
``search`` (loads the encoders in the process), and, for a tree that has it, ``search --server URL`` against a
``lifeseeker serve`` started once by this script on a free port over the same empty store and polled on
``/readyz`` until it is ready (its start-up is not part of the figure: the point is that a session of queries
pays the model load once). A "before" tree without ``--server`` shows ``-`` there.

Prints one markdown table: command, median seconds (min; the unmeasured first run) per tree, and after/before ratio of the medians; the
1-minute load average at start and end. Exit status 1 when a command's exit status differs from what it should be.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PARSE_TEXT = "eating avocado for breakfast on a Sunday in Dublin in May 2019"

# (label, argv after ``python -m lifeseeker.cli``, expected exit status); "{server}" is replaced by the URL.
COMMANDS: list[tuple[str, list[str], int]] = [
    ("--help", ["--help"], 0),
    ("info", ["info"], 0),
    ("parse", ["parse", PARSE_TEXT], 0),
    ("eval-parse", ["eval-parse", "tests/fixtures/lsc-topics/everyday.jsonl"], 0),
    ("dres status (not configured)", ["dres", "status"], 1),
    ("usage error", ["search", "--date-from", "nope", "x"], 2),
    ("search (in process)", ["search", "a street"], 0),
    ("search --server", ["search", "a street", "--server", "{server}"], 0),
]


def _env(work: Path, cache: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("LIFESEEKER_SERVER", None)
    env.update(LIFESEEKER_STORE=f"lance://{work / 'store'}", LIFESEEKER_CACHE=str(cache or work / "cache"),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONDONTWRITEBYTECODE="1")
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _has_server_option(tree: Path) -> bool:
    return "--server" in (tree / "lifeseeker" / "cli" / "search.py").read_text(encoding="utf-8")


def _start_server(tree: Path, work: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "lifeseeker.cli", "serve", "--port", str(port)], cwd=tree,
                            env=_env(work), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"lifeseeker serve exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2) as resp:
                if resp.status == 200:
                    return proc, url
        except OSError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("lifeseeker serve was not ready within 300 s")


def _run_once(tree: Path, argv: list[str], work: Path, cache: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    rc = subprocess.run([sys.executable, "-m", "lifeseeker.cli", *argv], cwd=tree, env=_env(work, cache),
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    return time.perf_counter() - t0, rc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", default=None, help="git revision to compare with (its tree via git archive)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--skip", default="", help="comma-separated labels of commands not to run (e.g. 'search (in process)')")
    args = ap.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    tmp = Path(tempfile.mkdtemp(prefix="cli-startup-"))
    trees: dict[str, Path] = {"after": REPO}
    if args.before:
        before = tmp / "before"
        before.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", args.before], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
        trees = {"before": before, "after": REPO}
    load0 = os.getloadavg()[0]
    servers: dict[str, tuple[subprocess.Popen, str]] = {}
    bad: list[str] = []
    times: dict[tuple[str, str], list[float]] = {}
    first: dict[tuple[str, str], float] = {}
    try:
        for name, tree in trees.items():
            if _has_server_option(tree):
                work = tmp / f"server-{name}"
                work.mkdir()
                servers[name] = _start_server(tree, work)
        for label, argv, want in COMMANDS:
            if label in skip:
                continue
            for i in range(args.runs + 1):
                for name, tree in trees.items():
                    if "{server}" in " ".join(argv):
                        if name not in servers:
                            continue
                        argv_run = [a.replace("{server}", servers[name][1]) for a in argv]
                    else:
                        argv_run = argv
                    work = tmp / f"run-{name}-{label.split()[0].strip('-')}-{i}"
                    work.mkdir()
                    dt, rc = _run_once(tree, argv_run, work, tmp / f"cache-{name}")
                    shutil.rmtree(work, ignore_errors=True)
                    if rc != want:
                        bad.append(f"{name} {label}: exit status {rc}, expected {want}")
                    if i == 0:
                        first[(name, label)] = dt
                    else:
                        times.setdefault((name, label), []).append(dt)
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
    load1 = os.getloadavg()[0]

    names = list(trees)
    head = "| command | " + " | ".join(f"{n} median s (min; first run)" for n in names)
    head += " | after/before |" if len(names) == 2 else " |"
    print(f"{args.runs} runs per command and tree; {os.cpu_count()} cores; 1-min load {load0:.1f} -> {load1:.1f}")
    print(head)
    print("|---" * (len(names) + 1 + (len(names) == 2)) + "|")
    for label, _, _ in COMMANDS:
        if label in skip:
            continue
        cells, med = [], {}
        for n in names:
            ts = times.get((n, label))
            if ts:
                med[n] = statistics.median(ts)
                cells.append(f"{med[n]:.2f} ({min(ts):.2f}; {first[(n, label)]:.2f})")
            else:
                cells.append("-")
        row = f"| {label} | " + " | ".join(cells)
        if len(names) == 2:
            if "before" in med and "after" in med:
                row += f" | {med['after'] / med['before']:.2f}"
            elif "after" in med and ("before", "search (in process)") in times:
                row += f" | {med['after'] / statistics.median(times[('before', 'search (in process)')]):.2f} " \
                       f"(vs before's in-process search)"
            else:
                row += " | -"
        print(row + " |")
    for line in bad:
        print("ERROR:", line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

"""Search benchmark: a synthetic lifelog at several sizes, store and end-to-end latency next to the numpy floor.

    python bench/search.py                      # N = 10k, 100k, 200k; writes BENCHMARKS.md
    python bench/search.py --million            # adds N = 1M (the store is built once under --workdir, reused)
    python bench/search.py --quick              # tiny N, few queries (the test suite runs this; writes
                                                # var/bench/BENCHMARKS-quick.md, never BENCHMARKS.md)

The synthetic lifelog (``lifelog_table``): one image per ~30 s during waking hours (07:00-23:00), the recorded
days spread evenly over 18 months (so 1M images fill ~520 days); images come in events (a few to ~80 minutes at
one place and activity); each event has a place (home, work, a cafe, a gym, a shop and two trips abroad, GPS jittered
~50 m) and an activity topic; vectors are unit vectors ``topic centre + 0.6 * event offset + 0.5 * noise`` in
512-d (IaT, ``clip_vec``) and 384-d (TaT, ``capmeta_vec``), the two fields sharing topic and event (so they
agree, as image and caption do); tags come from the topic, a rare tag ``passport`` marks ~0.5 % of images; OCR
words on ~20 % of images (``coffee`` on ~5 %; captions name two of the topic's tags, ``coffee`` among them for some
topics, so ~9 % of images match the ``text`` scenario: the report gives the passing count).

Scenarios (filters of ``engine/filters.py``): ``none``; ``selective`` = tag ``passport`` (~0.5 %); ``broad`` =
weekday Mon-Wed (~43 %); ``text`` = full-text ``coffee`` (~9 %); ``ocr`` = ``coffee`` in the OCR text alone (~5 %,
scattered). Each scenario runs with every query-vector shape (``VECTOR_SHAPES``): ``both`` vectors, ``tat-only``
(text-only mode), ``clip-only``, ``image`` (a stored image's own CLIP vector as the query) and ``feedback`` (Rocchio
of the query towards 3 images and away from 2), each against the floor computed for the same vectors.

Measured, contenders interleaved query by query in one process, medians of the per-query times:

* ``floor``: naive numpy over preloaded contiguous float32 matrices ``C`` (n, 512) and ``T`` (n, 384), the filter's
  row list given in advance (its cost excluded): ``s = w1 * C[rows] @ q1 + w2 * T[rows] @ q2`` (a missing query part
  left out), argpartition top-k, sort, products under 16M values on one BLAS thread as the store runs them. This is
  the memory-bandwidth floor of exact fused scoring;
* ``store``: ``LanceStore.search`` (filter compiled every query: its mask cache is cleared), top-k with documents;
* ``scoring`` (exact path): the store's fused scoring and top-k alone (``VectorSet.scores`` + ``top_k``), given
  the filter's rows as the floor is: the ratio the exact path is held to;
* ``e2e``: ``GET /api/search`` through the Flask test client with query encoding by open_clip ViT-B-16 with random
  weights (the default architecture, 512-d, same cost as real weights) and the real all-MiniLM-L6-v2 (384-d), and
  in text-only mode (an app without CLIP); each request split into query encoding, store search (``search`` +
  ``count``) and the rest (query parsing, events, response building): the ``outside`` share;
* recall@100 of the store's top-100 against the floor's exact top-100 (1.0 on the exact path);
* RSS of this process, on-disk bytes per document (table; vector and ANN cache), cold start (a fresh process opens
  the store and answers one query, files in the page cache), and for the largest N the memory of gunicorn with
  1 and 2 workers (no ``--preload``: LanceDB handles do not survive fork): summed RSS and PSS (PSS splits shared
  pages between the processes sharing them).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from lifeseeker.engine import filters as F  # noqa: E402
from lifeseeker.engine.store.base import VectorQuery  # noqa: E402
from lifeseeker.engine.timeparts import PARTS_OF_DAY, WEEKDAYS  # noqa: E402

D_CLIP, D_TEXT = 512, 384
WAKING = (7 * 3600, 23 * 3600)  # seconds of the day with images
CADENCE_S = 30
START = date(2019, 1, 1)
SPAN_DAYS = 548  # 18 months
LOAD_SECTION_MARK = "<!-- bench/load.py section: kept as it is when bench/search.py rewrites this file -->"
N_TOPICS = 300
# (semantic name, locality, city, region, country, lat, lon, share of events)
PLACES = [
    ("home", "Glasnevin", "Dublin", "Leinster", "Ireland", 53.3861, -6.2566, 0.40),
    ("work", "Dublin City University", "Dublin", "Leinster", "Ireland", 53.3850, -6.2570, 0.30),
    ("cafe", "Drumcondra", "Dublin", "Leinster", "Ireland", 53.3700, -6.2550, 0.08),
    ("gym", "Phibsborough", "Dublin", "Leinster", "Ireland", 53.3600, -6.2700, 0.06),
    ("shop", "Santry", "Dublin", "Leinster", "Ireland", 53.3950, -6.2400, 0.08),
    ("hotel", "Ciutat Vella", "Barcelona", "Catalonia", "Spain", 41.3851, 2.1734, 0.05),
    ("old town", "Arezzo", "Arezzo", "Tuscany", "Italy", 43.4670, 11.8800, 0.03),
]
TAGS = ["laptop", "screen", "keyboard", "cup", "coffee", "plate", "food", "car", "road", "tree", "sky", "building",
        "person", "book", "phone", "door", "window", "chair", "table", "bag", "bottle", "dog", "bus", "shelf",
        "sign", "television", "bed", "bicycle", "street", "light"]
OCR_WORDS = ["exit", "menu", "sale", "open", "dublin", "bus", "gate", "heinz", "beans", "tesco", "luas", "platform"]
SCENARIOS = {
    "none": ([], {}),
    "selective": ([F.Terms("tags", ("passport",))], {"tag": "passport"}),
    "broad": ([F.Weekdays(frozenset({"Mon", "Tue", "Wed"}))], {"weekday": "Mon,Tue,Wed"}),
    "text": ([F.TextMatch("coffee")], {"text": "coffee"}),
    "ocr": ([F.TextMatch("coffee", ("ocr_text",))], {"ocr": "coffee"}),
}
# the query-vector shapes a user's request reaches the store with (issue 20, item 1): a typed query with CLIP,
# text-only mode (no CLIP weights: TaT alone), CLIP alone, a query image (a CLIP image embedding, no text vector)
# and a Rocchio feedback vector (both fields moved towards marked images)
VECTOR_SHAPES = ("both", "tat-only", "clip-only", "image", "feedback")
QUERY_TEXTS = ["a red car parked on the street", "eating breakfast in the kitchen", "laptop screen at the office",
               "coffee cup on a table", "walking the dog in the park", "a bus stop in the rain",
               "reading a book on the sofa", "shopping in a supermarket", "old town street in italy",
               "hotel room in barcelona", "a sign with the word exit", "cooking dinner at home"]


# --- the synthetic lifelog -----------------------------------------------------------------------------------------


class Lifelog:
    """The structure of a synthetic lifelog of ``n`` images (seeded): times, events, places, topics; vectors and
    documents are produced in row chunks from it (``vectors``, ``table``), so 1M rows never need all Python objects
    at once."""

    def __init__(self, n: int, seed: int = 0):
        self.n, self.seed = n, seed
        rng = np.random.default_rng(seed)
        per_day = (WAKING[1] - WAKING[0]) // CADENCE_S
        days = int(np.ceil(n / per_day))
        day_idx = np.floor(np.arange(days) * (SPAN_DAYS / days)).astype(np.int64)  # recorded days, spread out
        i = np.arange(n)
        day = day_idx[i // per_day]
        sec = WAKING[0] + (i % per_day) * CADENCE_S + rng.integers(0, CADENCE_S // 2, n)
        epoch_day = (np.datetime64(START, "D") - np.datetime64("1970-01-01", "D")).astype(np.int64)
        self.seconds = (epoch_day + day) * 86400 + sec  # local wall clock, seconds since 1970
        # events: runs of geometric length (mean 40 images = 20 minutes)
        lengths = rng.geometric(1 / 40, size=n // 10 + 10)
        starts = np.cumsum(lengths)
        self.event = np.searchsorted(starts, i, side="right")
        n_events = int(self.event.max()) + 1
        share = np.array([p[-1] for p in PLACES])
        self.event_place = rng.choice(len(PLACES), size=n_events, p=share / share.sum())
        self.event_topic = (rng.zipf(1.3, size=n_events) - 1) % N_TOPICS
        self.n_events = n_events
        self.jitter = rng.normal(0, 0.0005, size=(n, 2))  # ~50 m
        self.rare = rng.random(n) < 0.005
        self.ocr_pick = rng.integers(-4 * len(OCR_WORDS), len(OCR_WORDS), size=(n, 2))  # < 0: no word
        self.coffee = rng.random(n) < 0.05
        topic_rng = np.random.default_rng(seed + 1)
        self.topic_tags = topic_rng.integers(0, len(TAGS), size=(N_TOPICS, 3))
        self.centres = {D_CLIP: _unit(topic_rng.standard_normal((N_TOPICS, D_CLIP), dtype=np.float32)),
                        D_TEXT: _unit(topic_rng.standard_normal((N_TOPICS, D_TEXT), dtype=np.float32))}

    def _offsets(self, d: int, events: np.ndarray) -> np.ndarray:
        """Unit event offsets for the given event numbers (seeded by event, so chunks agree)."""
        out = np.empty((len(events), d), dtype=np.float32)
        for j, e in enumerate(events):
            out[j] = np.random.default_rng((self.seed, d, int(e))).standard_normal(d, dtype=np.float32)
        return _unit(out)

    def vectors(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """(clip (m, 512), text (m, 384)) float32 unit vectors of rows ``start:stop``."""
        ev = self.event[start:stop]
        uniq, inv = np.unique(ev, return_inverse=True)
        rng = np.random.default_rng((self.seed, 7, start))
        out = []
        for d in (D_CLIP, D_TEXT):
            off = self._offsets(d, uniq)[inv]
            noise = _unit(rng.standard_normal((stop - start, d), dtype=np.float32))
            out.append(_unit(self.centres[d][self.event_topic[ev]] + 0.6 * off + 0.5 * noise))
        return out[0], out[1]

    def query(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Query vectors (clip (512,), text (384,)) near the ``k``-th sampled event (like a remembered moment)."""
        rng = np.random.default_rng((self.seed, 99, k))
        e = int(rng.integers(0, self.n_events))
        topic = self.event_topic[e]
        out = []
        for d in (D_CLIP, D_TEXT):
            v = self.centres[d][topic] + 0.6 * self._offsets(d, np.array([e]))[0] + 0.7 * _unit(
                rng.standard_normal((1, d), dtype=np.float32))[0]
            out.append(v / np.linalg.norm(v))
        return out[0], out[1]

    def table(self, start: int, stop: int) -> pa.Table:
        """Rows ``start:stop`` as an Arrow table in the store's columns."""
        m = stop - start
        secs = self.seconds[start:stop]
        ts = pa.array(secs.astype("datetime64[s]"), pa.timestamp("s"))
        days = secs // 86400
        hour = (secs % 86400) // 3600
        minute_of_day = (secs % 86400) // 60
        weekday = np.asarray(WEEKDAYS, dtype=object)[(days + 3) % 7]  # 1970-01-01 was a Thursday
        part_names = np.empty(24, dtype=object)
        for name, (a, b) in PARTS_OF_DAY.items():
            for h in range(24):
                if (a <= h < b) if a < b else (h >= a or h < b):
                    part_names[h] = name
        d64 = days.astype("datetime64[D]")
        years = d64.astype("datetime64[Y]").astype(int) + 1970
        months = d64.astype("datetime64[M]").astype(int) % 12 + 1
        ev = self.event[start:stop]
        place = self.event_place[ev]
        P = list(zip(*PLACES))
        lat = np.asarray(P[5])[place] + self.jitter[start:stop, 0]
        lon = np.asarray(P[6])[place] + self.jitter[start:stop, 1]
        topic = self.event_topic[ev]
        tag_idx = self.topic_tags[topic]
        tags = [[TAGS[t] for t in dict.fromkeys(row)] + (["passport"] if r else [])
                for row, r in zip(tag_idx.tolist(), self.rare[start:stop].tolist())]
        ocr = []
        for (a, b), c in zip(self.ocr_pick[start:stop].tolist(), self.coffee[start:stop].tolist()):
            words = [OCR_WORDS[w] for w in (a, b) if w >= 0] + (["coffee"] if c else [])
            ocr.append(" ".join(words).upper() or None)
        ids = [f"{t:%Y%m%d_%H%M%S}_{start + j:07d}" for j, t in
               enumerate(secs.astype("datetime64[s]").astype(datetime))]
        date_str = pc.strftime(ts, format="%Y-%m-%d")
        cities = np.asarray(P[2], dtype=object)[place]
        countries = np.asarray(P[4], dtype=object)[place]
        places = [[P[1][p], P[2][p], P[3][p], P[4][p]] for p in place.tolist()]
        captions = [f"a photo with {', '.join(t[:2])}" for t in tags]
        capmeta = [f"{c} # Time: {d} # Location: {ci}, {co}" for c, d, ci, co in
                   zip(captions, date_str.to_pylist(), cities.tolist(), countries.tolist())]
        clip, text = self.vectors(start, stop)
        models = pa.StructArray.from_arrays([pa.array(["ViT-B-16/random"] * m), pa.array(["all-MiniLM-L6-v2"] * m),
                                             pa.nulls(m, pa.string()), pa.nulls(m, pa.string())],
                                            names=["clip", "text", "ocr", "caption"])
        return pa.table({
            "image_id": ids, "collection": ["bench"] * m, "path": [f"{i}.jpg" for i in ids],
            "local_time": ts, "date": date_str, "year": pa.array(years, pa.int16()),
            "month": pa.array(months, pa.int8()), "weekday": weekday.tolist(), "hour": pa.array(hour, pa.int8()),
            "minute_of_day": pa.array(minute_of_day, pa.int16()), "part_of_day": part_names[hour].tolist(),
            "location": pa.StructArray.from_arrays([pa.array(lat), pa.array(lon)], names=["lat", "lon"]),
            "locality": np.asarray(P[1], dtype=object)[place].tolist(), "city": cities.tolist(),
            "region": np.asarray(P[3], dtype=object)[place].tolist(), "country": countries.tolist(),
            "semantic_name": np.asarray(P[0], dtype=object)[place].tolist(), "places": places, "tags": tags,
            "ocr_text": ocr, "caption": captions, "capmeta": capmeta,
            "clip_vec": pa.FixedSizeListArray.from_arrays(pa.array(clip.reshape(-1)), D_CLIP),
            "capmeta_vec": pa.FixedSizeListArray.from_arrays(pa.array(text.reshape(-1)), D_TEXT),
            "models": models,
        })


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def build_store(path: Path, n: int, seed: int = 0, chunk: int = 50_000) -> tuple[float, "Lifelog"]:
    """Create (or reuse, when it holds ``n`` rows) the store at ``path``; returns (seconds spent, Lifelog)."""
    from lifeseeker.engine.store.lance import LanceStore

    life = Lifelog(n, seed)
    if path.exists():
        store = LanceStore(f"lance://{path}")
        if store.row_count() == n:
            return 0.0, life
        shutil.rmtree(path)
    t0 = time.perf_counter()
    store = LanceStore(f"lance://{path}")
    store.ensure_schema({"clip_vec": D_CLIP, "capmeta_vec": D_TEXT})
    for at in range(0, n, chunk):
        store.append_arrow(life.table(at, min(n, at + chunk)))
    if n > chunk:
        store.optimize()
    store.close()
    return time.perf_counter() - t0, life


# --- measuring -----------------------------------------------------------------------------------------------------


def floor_search(C: np.ndarray, T: np.ndarray, q1: np.ndarray, q2: np.ndarray, w: F.Weights,
                 rows: np.ndarray | None, k: int) -> np.ndarray:
    """The naive numpy exact fused top-k (row numbers, best first) over the given rows; a query part that is None
    is left out (its term is 0)."""
    from contextlib import nullcontext

    from lifeseeker.engine.store.lance.vectors import BLAS_MIN_VALUES, single_thread_blas

    parts = [(w.iat, C, q1), (w.tat, T, q2)]
    s = 0
    for weight, M, q in parts:
        if q is not None:
            m = len(M) if rows is None else len(rows)
            # the store's BLAS policy (one thread for small products: OpenBLAS's threaded GEMV stalls on a busy
            # machine), so that the floor is the best naive numpy, not numpy's threading luck
            with single_thread_blas() if m * M.shape[1] < BLAS_MIN_VALUES else nullcontext():
                s = s + weight * ((M if rows is None else M[rows]) @ q)
    k = min(k, len(s))
    top = np.argpartition(-s, k - 1)[:k]
    top = top[np.argsort(-s[top], kind="stable")]
    return top if rows is None else rows[top]


def pct(values: list[float], q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


def rss_mb(pid: int | str = "self") -> tuple[float, float]:
    """(RSS, PSS) in MiB of a process from /proc (PSS: shared pages divided among their sharers)."""
    rss = pss = 0.0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1]) / 1024
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1]) / 1024
    except OSError:
        pass
    return rss, pss


def du(path: Path, exclude: str | None = None) -> int:
    total = 0
    for root, dirs, files in os.walk(path):
        if exclude and exclude in dirs:
            dirs.remove(exclude)
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def bench_models():
    """ViT-B-16 with random weights (the default architecture: 512-d, real cost) and the real MiniLM (384-d)."""
    from lifeseeker.models import Models
    from lifeseeker.models.clip import load_clip
    from lifeseeker.models.text import load_text_encoder

    clip = load_clip("ViT-B-16", "random", device="cpu")
    text = load_text_encoder("all-MiniLM-L6-v2")
    return Models(text=text, clip=clip, clip_dims=clip.dims)


def cold_start(path: Path, env: dict[str, str]) -> float:
    """Seconds for a fresh Python process to open the store and answer one unfiltered query (imports excluded)."""
    code = ("import time, numpy as np\n"
            "from lifeseeker.engine.store import open_store\n"
            "from lifeseeker.engine.store.base import VectorQuery\n"
            "t0 = time.perf_counter()\n"
            f"s = open_store('lance://{path}')\n"
            "rng = np.random.default_rng(0)\n"
            f"s.search(VectorQuery(rng.standard_normal({D_CLIP}), rng.standard_normal({D_TEXT})), limit=100)\n"
            "print(time.perf_counter() - t0)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO,
                         timeout=1800)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return float(out.stdout.strip().splitlines()[-1])


def shaped_query(shape: str, k: int, q: tuple[np.ndarray, np.ndarray], C: np.ndarray, T: np.ndarray
                 ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The (clip, tat) query vectors of ``VECTOR_SHAPES`` entry ``shape`` for the ``k``-th query ``q``: ``image`` =
    the CLIP vector of a stored image (seeded by ``k``), ``feedback`` = Rocchio (``engine/feedback.py``) of ``q``
    towards 3 stored images and away from 2."""
    from lifeseeker.engine.feedback import rocchio

    q1, q2 = q
    if shape == "both":
        return q1, q2
    if shape == "tat-only":
        return None, q2
    if shape == "clip-only":
        return q1, None
    rng = np.random.default_rng((17, k))
    picked = rng.choice(len(C), size=5, replace=False)
    if shape == "image":
        return np.array(C[picked[0]]), None
    rel, irr = picked[:3], picked[3:]
    return rocchio(q1, list(C[rel]), list(C[irr])), rocchio(q2, list(T[rel]), list(T[irr]))


def measure_path(store, snap, C, T, w, clauses, rows, exact_route: bool, queries) -> dict:
    """Floor, ``store.search`` and (exact route) the store's scoring alone, interleaved query by query (the first
    query warms up and is dropped); medians of per-query times and of per-query ratios, recall@100."""
    from lifeseeker.engine.store.lance import top_k

    vs = snap.vectors_set
    floor_t, store_t, scoring_t, recalls = [], [], [], []
    for q1, q2 in [queries[0]] + queries:
        snap.masks.clear()
        a = time.perf_counter()
        want = floor_search(C, T, q1, q2, w, rows, 100)
        b = time.perf_counter()
        hits = store.search(VectorQuery(q1, q2, w), clauses, limit=100)
        c = time.perf_counter()
        if exact_route:  # the store's exact fused scoring alone, given the rows as the floor is
            fq = vs.prepare(VectorQuery(q1, q2, w))
            top_k(vs.scores(fq, rows), 100, lambda p: snap.rank_of(p if rows is None else rows[p]))
            scoring_t.append(time.perf_counter() - c)
        floor_t.append(b - a)
        store_t.append(c - b)
        got = {h.image_id for h in hits}
        recalls.append(len(got & set(snap.ids_at(want))) / max(1, len(want)))
    floor_t, store_t, scoring_t, recalls = floor_t[1:], store_t[1:], scoring_t[1:], recalls[1:]
    return {"floor_p50_ms": 1000 * statistics.median(floor_t), "store_p50_ms": 1000 * statistics.median(store_t),
            "store_p95_ms": 1000 * pct(store_t, 0.95),
            "ratio_p50": statistics.median([s / f for s, f in zip(store_t, floor_t)]),
            "scoring_ratio_p50": (statistics.median([s / f for s, f in zip(scoring_t, floor_t)])
                                  if scoring_t else None),
            "recall100": statistics.mean(recalls), "recall100_min": min(recalls)}


def measure_e2e(app, store, snap, params: dict, n_e2e: int) -> dict:
    """``GET /api/search`` (``limit=100``, events on) through the app's test client, ``n_e2e`` queries after one
    warm-up, each split into query encoding (``SearchService.encode``), store search (``store.search`` +
    ``store.count``) and the rest (``outside``: parsing, events, JSON)."""
    from lifeseeker.engine.search import SearchService

    spent = {"encode": 0.0, "store": 0.0}

    def timed(fn, key):
        def wrapper(*a, **kw):
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                spent[key] += time.perf_counter() - t
        return wrapper

    saved = SearchService.encode, store.search, store.count
    SearchService.encode = timed(SearchService.encode, "encode")
    store.search, store.count = timed(store.search, "store"), timed(store.count, "store")
    client = app.test_client()
    times, enc, sto = [], [], []
    try:
        for k in range(n_e2e + 1):
            qs = {"q": QUERY_TEXTS[k % len(QUERY_TEXTS)], "limit": "100", **params}
            snap.masks.clear()
            spent.update(encode=0.0, store=0.0)
            a = time.perf_counter()
            resp = client.get("/api/search", query_string=qs)
            times.append(time.perf_counter() - a)
            enc.append(spent["encode"])
            sto.append(spent["store"])
            if resp.status_code != 200:
                raise RuntimeError(f"/api/search {qs}: {resp.status_code} {resp.get_data(as_text=True)[:300]}")
    finally:
        SearchService.encode = saved[0]
        del store.search, store.count  # the instance attributes: back to the class's methods
    times, enc, sto = times[1:], enc[1:], sto[1:]
    outside = [(t - e - s) / t for t, e, s in zip(times, enc, sto)]
    return {"p50_ms": 1000 * statistics.median(times), "p95_ms": 1000 * pct(times, 0.95),
            "encode_p50_ms": 1000 * statistics.median(enc), "store_p50_ms": 1000 * statistics.median(sto),
            "outside_p50_ms": 1000 * statistics.median([t - e - s for t, e, s in zip(times, enc, sto)]),
            "outside_share_p50": statistics.median(outside)}


def run_size(n: int, workdir: Path, n_queries: int, n_e2e: int, models, log) -> dict:
    from lifeseeker.engine.store.lance import LanceStore, top_k
    from lifeseeker.webui import create_app

    path = workdir / f"store-{n}"
    load_start = os.getloadavg()
    build_s, life = build_store(path, n)
    log(f"N={n}: store {'built in %.0fs' % build_s if build_s else 'reused'}")
    store = LanceStore(f"lance://{path}")
    t0 = time.perf_counter()
    store.prepare()  # snapshot (+ vector cache) and, past the ANN threshold, the ANN index
    prepare_s = time.perf_counter() - t0
    snap = store.snapshot()
    ann_used = bool(store.ann_min_docs) and n >= store.ann_min_docs
    log(f"N={n}: snapshot + indexes ready in {prepare_s:.1f}s (ANN {'on' if ann_used else 'off'})")
    t0 = time.perf_counter()
    for field in F.TextMatch("x").fields:  # the word indexes of the text scenario, built once per snapshot
        snap.postings(field)
    words_s = time.perf_counter() - t0
    log(f"N={n}: word indexes of {F.TextMatch('x').fields} built in {words_s:.1f}s")
    C = np.ascontiguousarray(snap.vectors_set.field("clip_vec"))
    T = np.ascontiguousarray(snap.vectors_set.field("capmeta_vec"))
    w = F.Weights()
    queries = [life.query(k) for k in range(n_queries)]
    out: dict = {"n": n, "build_s": build_s, "prepare_s": prepare_s, "words_s": words_s, "ann": ann_used,
                 "scenarios": {}}
    for name, (clauses, _) in SCENARIOS.items():
        rows = np.flatnonzero(store._mask(snap, clauses)) if clauses else None
        passing = n if rows is None else int(len(rows))
        exact_route = not (ann_used and passing >= store.ann_min_docs)
        per_shape = {}
        for shape in VECTOR_SHAPES:
            per_shape[shape] = s = measure_path(store, snap, C, T, w, clauses, rows, exact_route,
                                                [shaped_query(shape, k, q, C, T) for k, q in enumerate(queries)])
            s["passing"] = passing
            log(f"N={n} {name}/{shape}: floor {s['floor_p50_ms']:.1f} ms, store {s['store_p50_ms']:.1f} ms, "
                f"store/floor {s['ratio_p50']:.2f}, scoring/floor "
                f"{'-' if s['scoring_ratio_p50'] is None else '%.2f' % s['scoring_ratio_p50']}, "
                f"recall {s['recall100']:.3f}")
        out["scenarios"][name] = per_shape["both"]
        out.setdefault("paths", {})[name] = per_shape
    del C, T
    gc.collect()
    out["rss_mb"], out["pss_mb"] = rss_mb()
    # end to end, through the JSON API
    from lifeseeker.config import Settings

    out["e2e"], out["e2e_text_only"] = {}, {}
    for key, mods in (("e2e", models), ("e2e_text_only", replace(models, clip=None))):
        app = create_app(Settings(store=f"lance://{path}"), store=store, models=mods)
        for name, (_, params) in SCENARIOS.items():
            out[key][name] = e = measure_e2e(app, store, snap, params, n_e2e)
            log(f"N={n} {key} {name}: p50 {e['p50_ms']:.0f} ms (encode {e['encode_p50_ms']:.0f}, store "
                f"{e['store_p50_ms']:.0f}, outside {100 * e['outside_share_p50']:.0f} %)")
    table_bytes = du(path, exclude=".cache")
    cache_bytes = du(path / ".cache") if (path / ".cache").exists() else 0
    out["disk_table_b_per_doc"] = table_bytes / n
    out["disk_cache_b_per_doc"] = cache_bytes / n
    store.close()
    env = dict(os.environ)
    env.setdefault("PYTHONPATH", str(REPO))
    colds = [cold_start(path, env) for _ in range(3 if n_queries > 3 else 1)]
    out["cold_start_s"] = statistics.median(colds)
    out["load"] = [load_start[0], os.getloadavg()[0]]
    out["when"] = f"{datetime.now():%Y-%m-%d %H:%M}"
    log(f"N={n}: cold start {out['cold_start_s']:.2f}s, disk {out['disk_table_b_per_doc']:.0f} + "
        f"{out['disk_cache_b_per_doc']:.0f} B/doc, RSS {out['rss_mb']:.0f} MiB")
    return out


def first_requests(path: Path, n: int, log, repeats: int = 5) -> list[dict]:
    """For each scenario and the ``both`` / ``tat-only`` shapes: a fresh process-local store object runs
    ``LanceStore.warm()`` (what a start-up hook does before readiness), then the first search is timed against
    the median of ``repeats`` later ones (filters compiled every time: mask cache cleared). Issue 20 asks the
    first to be at most 3x a warm one."""
    from lifeseeker.engine.store.lance import LanceStore

    life = Lifelog(n)
    rows = []
    for shape in ("both", "tat-only"):
        store = LanceStore(f"lance://{path}")
        t0 = time.perf_counter()
        store.warm()
        warm_s = time.perf_counter() - t0
        for name, (clauses, _) in SCENARIOS.items():
            times = []
            for k in range(repeats + 1):
                q1, q2 = life.query(k)
                store.snapshot().masks.clear()
                t0 = time.perf_counter()
                store.search(VectorQuery(q1 if shape == "both" else None, q2, F.Weights()), clauses, limit=100)
                times.append(time.perf_counter() - t0)
            later = statistics.median(times[1:])
            rows.append({"n": n, "shape": shape, "scenario": name, "warm_s": warm_s, "first_ms": 1000 * times[0],
                         "later_ms": 1000 * later, "ratio": times[0] / later, "load": os.getloadavg()[0],
                         "when": f"{datetime.now():%Y-%m-%d %H:%M}"})
            log(f"first request N={n} {shape} {name}: {1000 * times[0]:.1f} ms, later {1000 * later:.1f} ms "
                f"(x{times[0] / later:.2f}; warm-up {warm_s:.1f}s)")
        store.close()
    return rows


def after_write(path: Path, n: int, added: int, log) -> dict:
    """Append ``added`` new images to the store of size ``n`` (it then holds n + added rows: the next run rebuilds
    it) and time, in a fresh store object as a serving process would: reloading the snapshot (scalar columns and
    vector matrix of the new version), bringing the ANN index up to date (extended from the previous version's),
    and the first query after the write."""
    from lifeseeker.engine.store.lance import LanceStore

    store = LanceStore(f"lance://{path}", ann_min_docs=1)
    store.prepare()  # the current version's index exists (made by the run before)
    life = Lifelog(n + added)
    t0 = time.perf_counter()
    store.append_arrow(life.table(n, n + added))
    write_s = time.perf_counter() - t0
    serving = LanceStore(f"lance://{path}", ann_min_docs=1)
    t0 = time.perf_counter()
    snap = serving.snapshot()
    reload_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ann = serving._ann(snap)  # None: a store too small to train the index (lance/ann.py MIN_TRAIN_ROWS) is exact
    ann_s = time.perf_counter() - t0
    ann_how = ann.how if ann is not None else "none (exact: too few rows to train)"
    q1, q2 = life.query(1)
    t0 = time.perf_counter()
    serving.search(VectorQuery(q1, q2, F.Weights()), limit=100)
    first_s = time.perf_counter() - t0
    out = {"n": n, "added": added, "write_s": write_s, "reload_s": reload_s, "ann_s": ann_s, "ann_how": ann_how,
           "first_query_ms": 1000 * first_s, "when": f"{datetime.now():%Y-%m-%d %H:%M}"}
    log(f"after a write of {added} rows to N={n}: reload {reload_s:.1f}s, ANN {ann_how} in {ann_s:.1f}s, "
        f"first query {1000 * first_s:.0f} ms")
    return out


def gunicorn_memory(path: Path, workers: int, log, preload: bool = False) -> dict:
    """Summed RSS and PSS (MiB) of a gunicorn master + ``workers`` serving ``path`` after each worker answered
    searches (concurrent requests so that every worker serves)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, LIFESEEKER_STORE=f"lance://{path}", LIFESEEKER_CLIP_MODEL="ViT-B-16",
               LIFESEEKER_CLIP_PRETRAINED="random", PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", OMP_NUM_THREADS="1")  # torch's OpenMP pool hangs in forked workers
    # --preload shares the models (and anything else the master loaded) copy-on-write; the store connects to
    # LanceDB lazily, in each worker. Either way the vectors and ANN indexes are shared through the page cache of
    # the memory-mapped files under <store>/.cache/.
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(workers), *(["--preload"] if preload else []),
                             "-t", "600", "-b",
                             f"127.0.0.1:{port}", "lifeseeker.webui:create_app()"], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/api/search?q=coffee+cup&limit=100"
        deadline = time.time() + 600
        while True:
            try:
                urllib.request.urlopen(url, timeout=600).read()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("gunicorn did not start: " + proc.stderr.read().decode()[-2000:])
                time.sleep(1)

        def hammer():
            for k in range(6):
                urllib.request.urlopen(url + f"&weekday=Mon,Tue&x={k}", timeout=600).read()

        threads = [threading.Thread(target=hammer) for _ in range(2 * workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        pids = [proc.pid] + [int(p) for p in
                             subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                            text=True).stdout.split()]
        rows = [rss_mb(p) for p in pids]
        return {"workers": workers, "preload": preload, "processes": len(pids), "rss_mb": sum(r for r, _ in rows),
                "pss_mb": sum(p for _, p in rows)}
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def ann_sweep(path: Path, n: int, log, n_queries: int = 20) -> list[dict]:
    """Recall@100 (vs exact) and latency of ANN candidates + exact rescoring for a grid of (candidates, lists
    probed) on the store of size ``n``: one row per setting (the table "ANN parameters" in BENCHMARKS.md)."""
    from lifeseeker.engine.store.lance import LanceStore

    store = LanceStore(f"lance://{path}", ann_min_docs=1)
    snap = store.snapshot()
    ann, vs = store._ann(snap), snap.vectors_set
    life = Lifelog(n)
    exact = []
    for k in range(1, n_queries + 1):
        fq = vs.prepare(VectorQuery(*life.query(k), F.Weights()))
        sc = vs.scores(fq)
        exact.append((fq, set(np.argpartition(-sc, 100)[:100].tolist())))
    nlist = ann.nlist
    rows = []
    for cands, probe in [(500, nlist // 16), (1000, nlist // 16), (500, nlist // 8), (1000, nlist // 8),
                         (2000, nlist // 8), (1000, nlist // 4)]:
        rec, times = [], []
        for fq, want in exact:
            a = time.perf_counter()
            cand = ann.candidates(fq, cands, probe)
            sc = vs.scores(fq, cand)
            got = cand[np.argsort(-sc)[:100]]
            times.append(time.perf_counter() - a)
            rec.append(len(set(got.tolist()) & want) / 100)
        rows.append({"n": n, "candidates": cands, "nprobe": probe, "nlist": nlist, "recall100": float(np.mean(rec)),
                     "recall100_min": min(rec), "p50_ms": 1000 * statistics.median(times),
                     "when": f"{datetime.now():%Y-%m-%d %H:%M}", "load": os.getloadavg()[0]})
        log(f"candidates {cands}, lists probed {probe}/{nlist}: recall@100 {np.mean(rec):.3f} "
            f"(min {min(rec):.2f}), p50 {1000 * statistics.median(times):.1f} ms")
    return rows


# --- report --------------------------------------------------------------------------------------------------------


def machine() -> dict:
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    except (OSError, StopIteration):
        mem = 0
    return {"cores": os.cpu_count(), "ram_gib": mem / 2**20, "cpu": model, "python": platform.python_version(),
            "numpy": np.__version__, "load": os.getloadavg()}


def write_report(path: Path, results: list[dict], gun: list[dict], start: dict, end_load, args,
                 extra: dict | None = None) -> None:
    """Write BENCHMARKS.md: tables from ``results`` (per N), ``gun`` (gunicorn memory) and ``extra``
    (``runs``: the commands merged into it, ``ann_sweep`` and ``after_write`` rows), and all of it as JSON."""
    import faiss

    L = []
    L.append("# Benchmarks\n")
    extra = extra or {}
    L.append(f"Written by `python bench/search.py {' '.join(sys.argv[1:])}` on {datetime.now():%Y-%m-%d %H:%M}.\n")
    if len(extra.get("runs", [])) > 1:
        L.append("Merged from these runs (`--merge`; 1-min load average at start and end):\n")
        for run in extra["runs"]:
            shown = run["args"] if len(run["args"]) <= 120 else run["args"][:117] + "..."
            L.append(f"- {run['when']}: `python bench/search.py {shown}` (load {run['load'][0]:.1f} -> "
                     f"{run['load'][1]:.1f})")
        L.append("")
    for note in extra.get("notes", []):
        L.append(f"**Note ({note.split(': ', 1)[0]}).** {note.split(': ', 1)[1]}\n")
    L.append(f"**Machine:** {start['cores']} cores ({start['cpu']}), {start['ram_gib']:.1f} GiB RAM, shared with "
             f"other developers' test runs; load average (1/5/15 min) at start "
             f"{'/'.join(f'{x:.2f}' for x in start['load'])}, at end {'/'.join(f'{x:.2f}' for x in end_load)}. "
             f"Python {start['python']}, numpy {start['numpy']}, faiss {faiss.__version__}. Timings on this machine "
             f"are noisy: compare within a row (the contenders ran interleaved, query by query, in one process), "
             f"not across runs.\n")
    L.append("Corpus, scenarios and what each column measures: see the docstring of `bench/search.py`. "
             "`floor` = naive numpy exact fused scoring over preloaded float32 matrices with the filter's rows "
             "given (the memory-bandwidth floor); `store` = `LanceStore.search(limit=100)` including filter "
             "compilation and fetching the 100 documents; `store/floor` = median over queries of store/floor; "
             "`scoring/floor` = the same for the store's exact fused scoring and top-k alone (`VectorSet.scores` + "
             "`top_k`), given the filter's rows as the floor is (exact path only); recall@100 "
             "= overlap of the store's top-100 with the exact top-100 (mean over queries; min in brackets). "
             f"{args.queries} queries per scenario for the store, {args.e2e} for the end-to-end API "
             "(ViT-B-16 random weights + real all-MiniLM-L6-v2 encode each query).\n")
    L.append("## Store search vs the numpy floor\n")
    L.append("| N | path | scenario | passing docs | floor p50 ms | store p50 ms | store p95 ms | store/floor | "
             "scoring/floor | recall@100 |")
    L.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        for name, s in r["scenarios"].items():
            route = "ANN+rescore" if r["ann"] and s["passing"] >= r.get("ann_min", 0) else "exact"
            scoring = s.get("scoring_ratio_p50")
            L.append(f"| {r['n']:,} | {route} | {name} | {s['passing']:,} | {s['floor_p50_ms']:.1f} | "
                     f"{s['store_p50_ms']:.1f} | {s['store_p95_ms']:.1f} | {s['ratio_p50']:.2f} | "
                     f"{'-' if scoring is None else f'{scoring:.2f}'} | {s['recall100']:.3f} "
                     f"({s['recall100_min']:.2f}) |")
    L.append("\nReading the ratios: the floor is given the filter's rows for free, while the store compiles the "
             "filter every query and fetches the 100 hit documents, so on small passing sets (`selective`, `text`) "
             "fixed costs dominate the ratio; `text` looks its word up in the snapshot's word index (built once "
             "per table version, time in the memory table below). Where many rows "
             "pass (`none`, `broad`) the store reads each row once from one fused `[clip | capmeta]` matrix and, "
             "from 30 % passing, scores every row and picks (no gather copy), which is why it can beat the naive "
             "floor. On this shared 2-core machine OpenBLAS's two-thread GEMV stalls on small inputs when the cores "
             "are busy (a 1024 x 896 block: 0.1 ms on one thread, ~40 ms on two), so the store computes products "
             "under ~18k rows with single-threaded `einsum`; the floor keeps numpy's defaults. ANN rows: candidates "
             "from one faiss IVF index over the fused rows (2*sqrt(n) lists, 8-bit codes, an eighth of the lists "
             "probed, x 1/selectivity under a filter; the query is `[0.7 q_clip | 0.3 q_tat]`, so the index ranks by "
             "the fused score itself), rescored exactly.\n")
    if any("paths" in r for r in results):
        L.append("\n## Every query-vector path vs its own floor\n")
        L.append("Each cell: `store/floor` (`scoring/floor` on the exact path), medians over queries, the floor "
                 "computed for the same query vectors (a missing part left out) and interleaved with the store. "
                 "`tat-only` is text-only mode (no CLIP weights), `image` a query image's CLIP vector, `feedback` "
                 "a Rocchio vector (both fields).\n")
        L.append("| N | scenario | passing docs | " + " | ".join(VECTOR_SHAPES) + " | min recall@100 |")
        L.append("|---|---|---:|" + "---:|" * (len(VECTOR_SHAPES) + 1))
        for r in results:
            for name, per in r.get("paths", {}).items():
                cells = []
                for shape in VECTOR_SHAPES:
                    c = per.get(shape)
                    if c is None:
                        cells.append("-")
                        continue
                    sc = c.get("scoring_ratio_p50")
                    cells.append(f"{c['ratio_p50']:.2f}" + ("" if sc is None else f" ({sc:.2f})"))
                rec = min(c["recall100_min"] for c in per.values())
                L.append(f"| {r['n']:,} | {name} | {next(iter(per.values()))['passing']:,} | " + " | ".join(cells)
                         + f" | {rec:.2f} |")
    if extra.get("ann_sweep"):
        sweep = extra["ann_sweep"]
        L.append(f"\n## ANN parameters (`--ann-sweep {sweep[0]['n']}`, {sweep[0]['when']}, 1-min load "
                 f"{sweep[0]['load']:.1f}; candidate search + exact rescoring only)\n")
        L.append("| candidates | lists probed | recall@100 mean (min) | p50 ms |")
        L.append("|---:|---:|---:|---:|")
        for r in sweep:
            L.append(f"| {r['candidates']} | {r['nprobe']} of {r['nlist']} | {r['recall100']:.3f} "
                     f"({r['recall100_min']:.2f}) | {r['p50_ms']:.1f} |")
    if extra.get("first_request"):
        L.append("\n## First requests after `LanceStore.warm()` (`--first-request N`)\n")
        L.append("A fresh store object runs `warm()` (snapshot, derived arrays, keyword and word indexes, ANN when "
                 "large: the start-up hook's work before readiness), then each scenario's first search is timed "
                 "against the median of 5 later ones (filters compiled each time).\n")
        L.append("| N | query | scenario | warm-up s | first ms | later p50 ms | first / later | measured at (load) |")
        L.append("|---:|---|---|---:|---:|---:|---:|---|")
        for r in extra["first_request"]:
            L.append(f"| {r['n']:,} | {r['shape']} | {r['scenario']} | {r['warm_s']:.1f} | {r['first_ms']:.1f} | "
                     f"{r['later_ms']:.1f} | {r['ratio']:.2f} | {r['when']} ({r['load']:.1f}) |")
    if extra.get("after_write"):
        L.append("\n## After a write (`--after-write N`: append new images, then a fresh store object serves)\n")
        L.append("| N | rows added | measured at | write s | snapshot reload s | ANN index | ANN s | first query ms |")
        L.append("|---:|---:|---|---:|---:|---|---:|---:|")
        for r in extra["after_write"]:
            L.append(f"| {r['n']:,} | {r['added']:,} | {r['when']} | {r['write_s']:.1f} | {r['reload_s']:.1f} | "
                     f"{r['ann_how']} | {r['ann_s']:.1f} | {r['first_query_ms']:.0f} |")
        L.append("\nThe reload reads the new version's scalar columns and vectors from LanceDB and writes their "
                 "cache files; `extended` = the previous version's index copied and only the new rows added "
                 "(`LanceStore._make_ann`).\n")
    L.append("\n## End to end: `GET /api/search?limit=100` (Flask test client, query encoding included)\n")
    L.append("Each cell: p50 / p95 ms, and the median share of a request spent outside query encoding and the "
             "store's `search` + `count` (parsing, events, response building). `text-only` = the app without "
             "CLIP weights.\n")
    L.append("| N | mode | " + " | ".join(f"{k} p50 / p95 ms (outside)" for k in SCENARIOS) + " |")
    L.append("|---|---|" + "---:|" * len(SCENARIOS))
    for r in results:
        for key, mode in (("e2e", "CLIP + TaT"), ("e2e_text_only", "text-only")):
            if key not in r:
                continue
            cells = []
            for k in SCENARIOS:
                e = r[key].get(k)
                cells.append("-" if e is None else f"{e['p50_ms']:.0f} / {e['p95_ms']:.0f}" + (
                    f" ({100 * e['outside_share_p50']:.0f} %)" if "outside_share_p50" in e else ""))
            L.append(f"| {r['n']:,} | {mode} | " + " | ".join(cells) + " |")
    L.append("\n## Memory, disk, start-up\n")
    L.append("| N | measured at | 1-min load start / end | bench process RSS MiB (PSS) | table B/doc | "
             "column + vector + ANN cache B/doc | snapshot + index load s | word index build s | cold start s | "
             "store build s |")
    L.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        built = f"{r['build_s']:.0f}" if r["build_s"] else "reused"
        load = "/".join(f"{x:.1f}" for x in r.get("load", []))
        L.append(f"| {r['n']:,} | {r.get('when', '')} | {load} | {r['rss_mb']:.0f} ({r['pss_mb']:.0f}) | "
                 f"{r['disk_table_b_per_doc']:.0f} | {r['disk_cache_b_per_doc']:.0f} | {r['prepare_s']:.1f} | "
                 f"{r.get('words_s', float('nan')):.1f} | {r['cold_start_s']:.2f} | {built} |")
    L.append("\nThe bench process RSS includes the floor's own copy of the vectors (freed before measuring) and the "
             "two models. Cold start = a new process opens the store and answers one query, with the store's files "
             "in the page cache (the cache of another machine would start colder).\n")
    if gun:
        L.append(f"### gunicorn workers, N = {gun[0]['n']:,}\n")
        L.append("| --preload | workers | processes | summed RSS MiB | summed PSS MiB |")
        L.append("|---|---:|---:|---:|---:|")
        for g in sorted(gun, key=lambda g: (g.get("preload", False), g["workers"])):
            L.append(f"| {'yes' if g.get('preload') else 'no'} | {g['workers']} | {g['processes']} | "
                     f"{g['rss_mb']:.0f} | {g['pss_mb']:.0f} |")
        L.append("\nRSS counts a shared page once per process that maps it; PSS divides it among them, so summed "
                 "PSS is the real memory cost. The scalar columns (Arrow IPC), the vector matrix and the ANN index "
                 "are memory-mapped files under `<store>/.cache/`: every worker maps the same pages. Each worker "
                 "still holds its own derived arrays (image ids, word indexes, encodings), and without `--preload` "
                 "its own models; with it the models are shared copy-on-write. Workers forked from "
                 "a master that had opened the LanceDB table crashed (segfault in LanceDB's tokio runtime) or hung "
                 "in `lancedb.connect`, so the store now connects lazily, in the worker; torch's OpenMP pool hung "
                 "in `encode_text` in forked workers unless `OMP_NUM_THREADS=1` (set here for all runs).\n")
    L += kept_sections(path)  # sections other benchmarks write (bench/cli_startup.py), kept as they are
    kept = ""  # the OCR section bench/ocr.py wrote (between its markers) survives a rewrite
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    start, end = "<!-- ocr: bench/ocr.py -->", "<!-- /ocr -->"
    if start in old and end in old:
        kept = start + old.split(start, 1)[1].split(end, 1)[0] + end + "\n\n"
    L.append(kept + "```json\n" + json.dumps({"results": results, "gunicorn": gun, **extra}, indent=1,
                                               default=float) + "\n```\n")
    if LOAD_SECTION_MARK in old:  # the load-test section (bench/load.py figures, written by hand) is kept as it is
        L.append(old[old.index(LOAD_SECTION_MARK):])
    path.write_text("\n".join(L), encoding="utf-8")


KEPT_SECTIONS = ("## CLI start-up",)


def kept_sections(path: Path) -> list[str]:
    """The sections of the existing report at ``path`` that other benchmark scripts own (``KEPT_SECTIONS``
    headings, each up to the next ``## `` heading or the JSON block), so rewriting the report keeps them."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8").split("```json\n", 1)[0]
    out = []
    for head in KEPT_SECTIONS:
        i = text.find("\n" + head)
        if i >= 0:
            j = text.find("\n## ", i + 1)
            out.append(text[i + 1:j if j >= 0 else len(text)].rstrip() + "\n")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000,200000", help="comma-separated N")
    ap.add_argument("--million", action="store_true", help="add N = 1,000,000")
    ap.add_argument("--quick", action="store_true", help="tiny N and few queries (a smoke run for the tests)")
    ap.add_argument("--queries", type=int, default=30)
    ap.add_argument("--e2e", type=int, default=5)
    ap.add_argument("--workdir", type=Path, default=REPO / "var" / "bench", help="stores are built here and reused")
    ap.add_argument("--out", type=Path, default=None,
                    help="report file (default BENCHMARKS.md in the repo; with --quick, <workdir>/BENCHMARKS-quick.md so "
                         "a smoke run never replaces the published figures)")
    ap.add_argument("--no-gunicorn", action="store_true", help="skip the gunicorn worker memory measurement")
    ap.add_argument("--gunicorn-only", type=int, metavar="N",
                    help="only measure gunicorn worker memory on the store of size N (merged into --out)")
    ap.add_argument("--preload", action="store_true", help="run gunicorn with --preload")
    ap.add_argument("--ann-sweep", type=int, metavar="N",
                    help="only the ANN parameter sweep on the store of size N (merged into --out)")
    ap.add_argument("--after-write", type=int, metavar="N",
                    help="only: append 1 %% new images to the store of size N and time the reload, the ANN update "
                         "and the first query (merged into --out; the store is rebuilt by the next run)")
    ap.add_argument("--note", action="append", default=[],
                    help="a paragraph about this run, kept in --out's notes (with --merge and --sizes '' it only "
                         "rewrites the report)")
    ap.add_argument("--first-request", type=int, metavar="N",
                    help="only: after LanceStore.warm() on the store of size N, time each scenario's first search "
                         "against later ones (merged into --out)")
    ap.add_argument("--merge", action="store_true",
                    help="keep the other sizes' rows (and the gunicorn rows, unless measured now) of --out")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.million:
        sizes.append(1_000_000)
    if args.quick:  # one tiny store (or the smallest --sizes given), a few queries, no gunicorn
        sizes = [min(sizes)] if args.sizes != ap.get_default("sizes") else [600]
        args.queries, args.e2e, args.no_gunicorn = 3, 2, True
    if args.out is None:
        args.out = args.workdir / "BENCHMARKS-quick.md" if args.quick else REPO / "BENCHMARKS.md"
    only = args.gunicorn_only or args.ann_sweep or args.after_write or args.first_request
    if only:
        args.merge = True
    start = machine()
    args.workdir.mkdir(parents=True, exist_ok=True)

    def log(msg: str) -> None:
        print(f"[{datetime.now():%H:%M:%S}] {msg}", flush=True)

    log(f"machine: {start}")
    results, gun, extra = [], [], {}
    if args.merge and args.out.exists():
        old = json.loads(args.out.read_text().split("```json\n", 1)[1].split("\n```", 1)[0])
        results = [r for r in old.pop("results") if only or r["n"] not in sizes]
        gun = old.pop("gunicorn", [])
        extra = old
    run = {"args": " ".join(sys.argv[1:] if argv is None else argv), "when": f"{datetime.now():%Y-%m-%d %H:%M}"}

    def report() -> None:
        earlier = [r for r in extra.get("runs", []) if (r["args"], r["when"]) != (run["args"], run["when"])]
        extra["runs"] = earlier + [dict(run, load=[start["load"][0], os.getloadavg()[0]])]
        write_report(args.out, results, gun, start, os.getloadavg(), args, extra)

    from lifeseeker.engine.store.lance import LanceStore

    if args.ann_sweep:
        extra["ann_sweep"] = ann_sweep(args.workdir / f"store-{args.ann_sweep}", args.ann_sweep, log)
    if args.first_request:
        n = args.first_request
        extra["first_request"] = [r for r in extra.get("first_request", []) if r["n"] != n] + first_requests(
            args.workdir / f"store-{n}", n, log)
    if args.after_write:
        n = args.after_write
        extra["after_write"] = [r for r in extra.get("after_write", []) if r["n"] != n] + [
            after_write(args.workdir / f"store-{n}", n, max(1, n // 100), log)]
    if args.note:
        extra["notes"] = extra.get("notes", []) + [f"{datetime.now():%Y-%m-%d %H:%M}: {t}" for t in args.note]
    if not only and sizes:
        models = bench_models()
        for n in sizes:
            r = run_size(n, args.workdir, args.queries, args.e2e, models, log)
            r["ann_min"] = LanceStore(f"lance://{args.workdir / f'store-{n}'}").ann_min_docs
            results = sorted([x for x in results if x["n"] != n] + [r], key=lambda r: r["n"])
            report()  # partial results survive
    if args.gunicorn_only or (not only and sizes and not args.no_gunicorn):
        n = args.gunicorn_only or max(sizes)
        gun = [g for g in gun if g.get("preload", False) != args.preload]
        for workers in (1, 2):
            g = gunicorn_memory(args.workdir / f"store-{n}", workers, log, preload=args.preload)
            g["n"] = n
            gun.append(g)
            log(f"gunicorn {workers} worker(s): RSS {g['rss_mb']:.0f} MiB, PSS {g['pss_mb']:.0f} MiB")
    report()
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Soft constraints: the boost formula, the embedded store's use of it, and soft versus hard on a synthetic lifelog."""

from __future__ import annotations

import math
from datetime import date, datetime

import numpy as np
import pytest

from lifeseeker.engine import filters as F
from lifeseeker.engine.query.parse import parse_query
from lifeseeker.engine.query.soft import (SoftDateRange, SoftHours, SoftMonths, SoftNear, SoftPlace, SoftWeekdays,
                                          day_number, soft_boost)
from lifeseeker.engine.store.base import VectorQuery
from lifeseeker.engine.timeparts import time_fields

from .reference import brute_force
from .synth import corpus


def _fields(**kw):
    return {k: np.asarray(v, dtype=np.float64) for k, v in kw.items()}


def test_date_range_full_inside_and_decays_outside():
    c = SoftDateRange(date(2019, 5, 1), date(2019, 5, 31))  # span 31 days -> scale 15.5 days
    days = [day_number(date(2019, 5, 1)), day_number(date(2019, 5, 31)), day_number(date(2019, 6, 15)),
            day_number(date(2019, 4, 30)), np.nan]
    b = soft_boost([c], _fields(day=days), 5)
    assert c.scale == 15.5
    np.testing.assert_allclose(b, [0.05, 0.05, 0.05 * math.exp(-15 / 15.5), 0.05 * math.exp(-1 / 15.5), 0.0])
    assert SoftDateRange(date(2019, 5, 1), date(2019, 5, 1)).scale == 3.0
    assert SoftDateRange(date(2015, 1, 1), date(2016, 12, 31)).scale == 60.0


def test_month_off_by_one_keeps_most_of_the_boost():
    b = soft_boost([SoftMonths((5,))], _fields(month=[5, 6, 4, 7, 11, 12, np.nan]), 7)
    w = 0.04
    np.testing.assert_allclose(b, [w, w * math.exp(-0.5), w * math.exp(-0.5), w * math.exp(-1), w * math.exp(-3),
                                   w * math.exp(-2.5), 0])
    assert b[1] / w > 0.6
    # cyclic: December is one month from January
    np.testing.assert_allclose(soft_boost([SoftMonths((1,))], _fields(month=[12]), 1), [w * math.exp(-0.5)])


def test_weekdays_cyclic():
    b = soft_boost([SoftWeekdays(("Sat", "Sun"))], _fields(weekday=[5, 6, 0, 4, 2, np.nan]), 6)
    w = 0.03
    np.testing.assert_allclose(b, [w, w, w * math.exp(-1), w * math.exp(-1), w * math.exp(-3), 0])


def test_hours_wrap_midnight():
    night = SoftHours(21 * 60, 29 * 60)  # 21:00 - 05:00
    t = [22 * 60, 2 * 60, 5 * 60 + 45, 20 * 60, 12 * 60, np.nan]
    b = soft_boost([night], _fields(minute_of_day=t), 6)
    w = 0.03
    np.testing.assert_allclose(b, [w, w, w * math.exp(-45 / 90), w * math.exp(-60 / 90), w * math.exp(-420 / 90), 0])


def test_places_and_near_and_sum():
    places = np.array([["Glasnevin", "Dublin", "Ireland"], None, ["Málaga", "Spain"]], dtype=object)
    c1 = SoftPlace("places", ("DUBLIN",))
    c2 = SoftPlace("places", ("malaga",))
    b = soft_boost([c1, c2], {"places": places}, 3)
    np.testing.assert_allclose(b, [0.05, 0, 0.05])
    near = SoftNear(53.35, -6.26, radius_km=1.0, scale_km=5.0)
    b = soft_boost([near], _fields(lat=[53.35, 53.35 + 6 / 111.2, np.nan], lon=[-6.26, -6.26, np.nan]), 3)
    np.testing.assert_allclose(b, [0.05, 0.05 * math.exp(-1), 0], rtol=1e-2)
    # precomputed membership wins over the field
    b = soft_boost([c1], {}, 2, matches={0: np.array([True, False])})
    np.testing.assert_allclose(b, [0.05, 0])


def test_bad_constraints_rejected():
    with pytest.raises(ValueError):
        SoftMonths((13,))
    with pytest.raises(ValueError):
        SoftWeekdays(("Funday",))
    with pytest.raises(ValueError):
        SoftHours(600, 600)
    with pytest.raises(ValueError):
        SoftDateRange(date(2019, 2, 1), date(2019, 1, 1))


# --- the embedded store ------------------------------------------------------------------------------------------


def _ref_boost(doc: dict, soft) -> float:
    """Naive per-document reference of the documented formula (written apart from soft_boost)."""
    total = 0.0
    for c in soft:
        if isinstance(c, SoftDateRange):
            if doc.get("date"):
                d = date.fromisoformat(doc["date"])
                dist = max(0, (c.start - d).days, (d - c.end).days)
                total += c.weight * math.exp(-dist / c.scale)
        elif isinstance(c, SoftMonths):
            if doc.get("month"):
                dist = min(min(abs(doc["month"] - m), 12 - abs(doc["month"] - m)) for m in c.months)
                total += c.weight * math.exp(-dist / c.scale)
        elif isinstance(c, SoftWeekdays):
            if doc.get("weekday"):
                k = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].index(doc["weekday"])
                dist = min(min((k - j) % 7, (j - k) % 7) for j in
                           [["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].index(x) for x in c.days])
                total += c.weight * math.exp(-dist / c.scale)
        elif isinstance(c, SoftHours):
            if doc.get("minute_of_day") is not None:
                t = doc["minute_of_day"]
                dist = min(max(0, c.start_min - u, u - c.end_min) for u in (t - 1440, t, t + 1440))
                total += c.weight * math.exp(-dist / c.scale)
        elif isinstance(c, SoftPlace):
            v = doc.get(c.field)
            vals = v if isinstance(v, list) else ([] if v is None else [v])
            import unicodedata

            def fold(s):
                return "".join(ch for ch in unicodedata.normalize("NFKD", s)
                               if not unicodedata.combining(ch)).casefold()
            if {fold(x) for x in vals} & {fold(x) for x in c.values}:
                total += c.weight
    return total


SOFTS = [
    [SoftDateRange(date(2019, 3, 10), date(2019, 3, 20))],
    [SoftMonths((4,)), SoftWeekdays(("Sat", "Sun"))],
    [SoftHours(21 * 60, 29 * 60), SoftPlace("places", ("Dublin",)), SoftPlace("country", ("SPAIN",))],
    [SoftDateRange(date(2019, 4, 1), date(2019, 4, 30), weight=0.5), SoftHours(8 * 60, 10 * 60, weight=0.3),
     SoftPlace("city", ("malaga",), weight=0.4)],
]


@pytest.fixture
def store_and_docs(tmp_path):
    from lifeseeker.engine.store import open_store

    store = open_store(f"lance://{tmp_path / 'soft'}")
    store.ensure_schema({"clip_vec": 16, "capmeta_vec": 8})
    docs = corpus(800, seed=3)
    store.upsert(docs)
    yield store, docs
    store.close()


@pytest.mark.parametrize("i", range(len(SOFTS)))
def test_store_equals_reference_with_soft(store_and_docs, i):
    store, docs = store_and_docs
    soft = SOFTS[i]
    rng = np.random.default_rng(i)
    qc, qt = rng.standard_normal(16), rng.standard_normal(8)
    w = F.Weights()
    for clauses in ([], [F.Terms("country", ("spain", "ireland"))]):
        base = dict(brute_force(docs, qc, qt, w, clauses, len(docs)))
        by_id = {d["image_id"]: d for d in docs}
        want = sorted(((s + _ref_boost(by_id[k], soft), k) for k, s in base.items()), key=lambda p: (-p[0], p[1]))
        got = store.search(VectorQuery(qc, qt, w), clauses, limit=30, soft=soft)
        assert [h.image_id for h in got] == [k for _, k in want[:30]]
        np.testing.assert_allclose([h.score for h in got], [s for s, _ in want[:30]], atol=1e-5)
        for h in got:  # iat/tat stay the raw cosines
            np.testing.assert_allclose(w.iat * h.iat + w.tat * h.tat, base[h.image_id], atol=1e-5)


def test_soft_keeps_a_misremembered_month_while_hard_drops_it(tmp_path):
    from lifeseeker.engine.store import open_store

    rng = np.random.default_rng(11)
    docs = corpus(3000, seed=11, d_clip=64, d_text=32, missing=0.0)  # 2019-03-01 .. 2019-04-29
    qc, qt = rng.standard_normal(64), rng.standard_normal(32)
    # The target: a red car on 2019-03-20 that the user remembers as "April".
    target = docs[0]
    t = datetime(2019, 3, 20, 14, 5)
    target.update({"local_time": t, **time_fields(t)})
    noise_c, noise_t = rng.standard_normal(64), rng.standard_normal(32)
    target["clip_vec"] = (qc / np.linalg.norm(qc) + 0.8 * noise_c / np.linalg.norm(noise_c)).astype(np.float32)
    target["capmeta_vec"] = (qt / np.linalg.norm(qt) + 0.8 * noise_t / np.linalg.norm(noise_t)).astype(np.float32)
    # Many April documents almost as close to the query, so April's boost really competes.
    for d in docs[1:200]:
        if d["month"] == 4:
            nc = rng.standard_normal(64)
            d["clip_vec"] = (qc / np.linalg.norm(qc) + 1.0 * nc / np.linalg.norm(nc)).astype(np.float32)
    store = open_store(f"lance://{tmp_path / 'lifelog'}")
    store.ensure_schema({"clip_vec": 64, "capmeta_vec": 32})
    store.upsert(docs)

    q = parse_query("a red car in April 2019")
    assert (q.date_from, q.date_to) == (date(2019, 4, 1), date(2019, 4, 30))
    assert q.visual == "a red car"
    vq = VectorQuery(qc, qt)

    soft_hits = store.search(vq, limit=10, soft=q.soft)
    assert target["image_id"] in [h.image_id for h in soft_hits]

    hard = [F.DateRange(q.date_from, q.date_to)]
    hard_hits = store.search(vq, hard, limit=10)
    assert len(hard_hits) == 10
    assert target["image_id"] not in [h.image_id for h in hard_hits]
    assert all("2019-04-01" <= h.doc["date"] <= "2019-04-30" for h in hard_hits)  # no result violates it
    # with both, the hard filter still holds and the boost only reorders
    both = store.search(vq, hard, limit=50, soft=q.soft)
    assert all(h.doc["month"] == 4 for h in both)

    # the boost moves April up: more April documents in the soft top 400 than in the plain top 400
    plain = store.search(vq, limit=400)
    soft400 = store.search(vq, limit=400, soft=q.soft)
    assert sum(h.doc["month"] == 4 for h in soft400) > sum(h.doc["month"] == 4 for h in plain) + 20

    # "in April" without a year: month boost, the March target (one month off) still in the top 10
    q2 = parse_query("a red car in April")
    assert q2.months == (4,)
    assert target["image_id"] in [h.image_id for h in store.search(vq, limit=10, soft=q2.soft)]
    store.close()


def test_parsed_soft_constraints():
    q = parse_query("dinner at home on a Saturday in May 2018 in Dublin")
    kinds = {type(c).__name__ for c in q.soft}
    assert kinds == {"SoftDateRange", "SoftWeekdays", "SoftHours", "SoftPlace"}
    assert SoftHours(17 * 60, 22 * 60) in q.soft
    assert SoftPlace("semantic_name", ("home",), weight=0.03) in q.soft
    assert SoftPlace("places", ("Dublin",)) in q.soft

"""Event grouping on a synthetic lifelog with known structure."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from lifeseeker.engine.events import EVENT_SUPPORT, group_events
from lifeseeker.engine.store.base import Hit


def hit(i, t, score, place="Glasnevin", collection="c"):
    doc = {"image_id": f"h{i:02d}", "collection": collection, "locality": place,
           "local_time": t}
    return Hit(f"h{i:02d}", score, score, 0.0, doc)


def test_boundaries_gap_day_place_and_top3():
    t0 = datetime(2019, 5, 2, 8, 0)
    hits = [
        # event A: breakfast, 5 frames 30 s apart at home
        *[hit(i, t0 + timedelta(seconds=30 * i), 0.50 + 0.01 * i) for i in range(5)],
        # 20 min later (> 15 min gap): event B
        hit(5, t0 + timedelta(minutes=22), 0.40), hit(6, t0 + timedelta(minutes=23), 0.41),
        # 1 min later but another place: event C
        hit(7, t0 + timedelta(minutes=24), 0.90, place="Drumcondra"),
        # next day at the same clock time: event D
        hit(8, t0 + timedelta(days=1), 0.30),
        # no time: its own event
        hit(9, None, 0.20),
    ]
    events = group_events(list(reversed(hits)))
    by_first = {e.event_id: e for e in events}
    assert [sorted(h.image_id for h in e.hits) for e in events] == [
        ["h07"], ["h00", "h01", "h02", "h03", "h04"], ["h05", "h06"], ["h08"], ["h09"]]
    a = by_first["h00"]
    assert [h.image_id for h in a.top] == ["h04", "h03", "h02"]
    assert a.score == pytest.approx(0.54 + EVENT_SUPPORT * (0.53 + 0.52) / 2)
    assert (a.start, a.end, a.duration_s) == (t0, t0 + timedelta(minutes=2), 120.0)
    assert by_first["h07"].place == "Drumcondra" and by_first["h07"].score == pytest.approx(0.90)


def test_gap_is_configurable_and_collections_never_merge():
    t0 = datetime(2020, 1, 1, 12)
    hits = [hit(0, t0, 0.5), hit(1, t0 + timedelta(minutes=20), 0.5), hit(2, t0 + timedelta(minutes=21), 0.5,
                                                                            collection="other")]
    assert len(group_events(hits, gap_minutes=15)) == 3
    assert sorted(len(e.hits) for e in group_events(hits, gap_minutes=30)) == [1, 2]
    with pytest.raises(ValueError):
        group_events(hits, gap_minutes=-1)

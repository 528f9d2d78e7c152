"""A synthetic lifelog with known moments for the question-answering tests (and the builder's own checks).

Every moment is a run of frames one minute apart, with a content sentence, a local time and a place; CapMeta is
built by the product's own ``capmeta()`` and embedded with the real MiniLM (text-only search: no CLIP vectors), so
a question embeds close to the moment it asks about. Known facts (the answers the tests expect):

* golden Buddha in a tunnel: Umong Temple, Chiang Mai, Thailand, Friday 2019-10-11 10:00-10:14 (14 minutes);
* barbecue in the garden at home: 2018-05-07, 2018-05-14, 2018-05-21 (18:00-18:20) and 2018-06-02: 3 in May;
* stone cottage with a for-sale sign: Sunday 2020-04-19 14:00-14:11 (11 minutes), county Sligo;
* car wheel repair: Howth Junction Business Centre, Monday 2015-03-02 10:00-10:10, then home from 10:40;
* airports in May 2019: Dublin Airport (twice), Frankfurt Airport, Istanbul Airport: 3 different;
* Spain: 2019-03-01..03 and 2019-07-10..11 (2 trips in 2019), and 2018-05-01;
* computer build at the university: 2015-03-10 and 2015-03-11 (2 days);
* background: office work at the university and bus rides on other days.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from lifeseeker.engine.timeparts import time_fields
from lifeseeker.ingest.enrich.capmeta import capmeta

# name -> (semantic_name, locality, city, region, country, lat, lon)
PLACES = {
    "temple": ("Umong Temple", "Suthep", "Chiang Mai", "Chiang Mai", "Thailand", 18.783, 98.952),
    "home": ("Home", "Clontarf", "Dublin", "Leinster", "Ireland", 53.364, -6.197),
    "dcu": ("Dublin City University", "Glasnevin", "Dublin", "Leinster", "Ireland", 53.385, -6.257),
    "cottage": (None, "Drumcliff", "Sligo", "Sligo", "Ireland", 54.326, -8.495),
    "garage": ("Howth Junction Business Centre", "Kilbarrack", "Dublin", "Leinster", "Ireland", 53.391, -6.152),
    "dub_airport": ("Dublin Airport", "Collinstown", "Dublin", "Leinster", "Ireland", 53.427, -6.244),
    "fra_airport": ("Frankfurt Airport", "Flughafen", "Frankfurt am Main", "Hesse", "Germany", 50.037, 8.562),
    "ist_airport": ("Istanbul Airport", "Arnavutkoy", "Istanbul", "Istanbul", "Turkey", 41.275, 28.752),
    "barcelona": (None, "Ciutat Vella", "Barcelona", "Catalonia", "Spain", 41.385, 2.173),
    "street": (None, "Drumcondra", "Dublin", "Leinster", "Ireland", 53.370, -6.258),
}

BUDDHA = "a small golden Buddha statue in a dark tunnel at a temple, people praying"
BBQ = "grilling sausages and burgers on a barbecue in the back garden"
COTTAGE = "an old stone cottage with a stone shed and a for sale sign"
REPAIR = "a mechanic repairing the front wheel of a car in a garage"
AIRPORT = "an airplane at the gate seen through the window of an airport terminal"
OFFICE = "a laptop screen and a keyboard on a desk in an office"
BUS = "riding on the upper deck of a bus along a city street"
PC_BUILD = "building a desktop computer, motherboard and cables on a table"
TAPAS = "tapas and a glass of wine on a restaurant table"
SOFA = "a television and a sofa in a living room"

# (content, place, start, minutes): one frame per minute from start to start + minutes (inclusive)
MOMENTS = [
    (BUDDHA, "temple", datetime(2019, 10, 11, 10, 0), 14),
    (BBQ, "home", datetime(2018, 5, 7, 18, 0), 20),
    (BBQ, "home", datetime(2018, 5, 14, 18, 0), 20),
    (BBQ, "home", datetime(2018, 5, 21, 18, 0), 20),
    (BBQ, "home", datetime(2018, 6, 2, 18, 0), 20),
    (COTTAGE, "cottage", datetime(2020, 4, 19, 14, 0), 11),
    (REPAIR, "garage", datetime(2015, 3, 2, 10, 0), 10),
    (SOFA, "home", datetime(2015, 3, 2, 10, 40), 10),
    (AIRPORT, "dub_airport", datetime(2019, 5, 3, 7, 0), 10),
    (AIRPORT, "fra_airport", datetime(2019, 5, 3, 12, 0), 10),
    (AIRPORT, "ist_airport", datetime(2019, 5, 20, 9, 0), 10),
    (AIRPORT, "dub_airport", datetime(2019, 5, 25, 16, 0), 10),
    (PC_BUILD, "dcu", datetime(2015, 3, 10, 11, 0), 15),
    (PC_BUILD, "dcu", datetime(2015, 3, 11, 11, 0), 15),
]
SPAIN_DAYS = ["2019-03-01", "2019-03-02", "2019-03-03", "2019-07-10", "2019-07-11", "2018-05-01"]
BACKGROUND_DAYS = ["2015-03-03", "2018-05-08", "2018-05-15", "2019-05-06", "2019-09-10", "2019-09-17",
                   "2019-10-14", "2020-04-20"]


def _doc(i: int, content: str, place: str, t: datetime) -> dict:
    sem, loc, city, region, country, lat, lon = PLACES[place]
    return {
        "image_id": f"q{i:04d}", "collection": "qa", "path": f"q{i:04d}.png", "local_time": t, **time_fields(t),
        "location": {"lat": lat, "lon": lon}, "semantic_name": sem, "locality": loc, "city": city,
        "region": region, "country": country, "places": [p for p in dict.fromkeys([loc, city, region, country])],
        "tags": [], "caption": content, "ocr_text": None,
        "capmeta": capmeta(content, t, [sem, loc, city, country]),
        "models": {"clip": None, "text": "all-MiniLM-L6-v2", "ocr": None, "caption": None},
    }


def lifelog_docs() -> list[dict]:
    """The documents (without vectors), in time order of their moments."""
    rows: list[tuple[str, str, datetime]] = []
    for content, place, start, minutes in MOMENTS:
        rows += [(content, place, start + timedelta(minutes=k)) for k in range(minutes + 1)]
    for day in SPAIN_DAYS:
        t0 = datetime.fromisoformat(day).replace(hour=13)
        rows += [(TAPAS, "barcelona", t0 + timedelta(minutes=k)) for k in range(0, 30, 10)]
    for day in BACKGROUND_DAYS:
        t0 = datetime.fromisoformat(day).replace(hour=9)
        rows += [(OFFICE, "dcu", t0 + timedelta(minutes=k)) for k in range(0, 40, 5)]
        rows += [(BUS, "street", t0.replace(hour=8) + timedelta(minutes=k)) for k in range(0, 20, 5)]
    return [_doc(i, c, p, t) for i, (c, p, t) in enumerate(rows)]


def build_lifelog(store, text_encoder, image_dir=None) -> list[dict]:
    """Write the synthetic lifelog into ``store`` with MiniLM CapMeta vectors (no CLIP vectors). With
    ``image_dir``, also write one small PNG per document (colour by moment) and register the collection there."""
    docs = lifelog_docs()
    vecs = text_encoder.encode_texts([d["capmeta"] for d in docs])
    for d, v in zip(docs, vecs):
        d["capmeta_vec"] = v
        d["clip_vec"] = None
    store.ensure_schema({"clip_vec": 0, "capmeta_vec": text_encoder.dims})
    store.upsert(docs)
    if image_dir is not None:
        from PIL import Image

        image_dir.mkdir(parents=True, exist_ok=True)
        palette = {c: (40 * i % 256, 90 * i % 256, 150 * i % 256) for i, c in enumerate(
            [BUDDHA, BBQ, COTTAGE, REPAIR, AIRPORT, OFFICE, BUS, PC_BUILD, TAPAS, SOFA])}
        for d in docs:
            Image.new("RGB", (48, 36), palette[d["caption"]]).save(image_dir / d["path"])
        store.set_collection("qa", str(image_dir))
    return docs


def text_only_models(text_encoder):
    """Models with the real MiniLM and no CLIP (text-only search over CapMeta)."""
    from lifeseeker.models import Models

    return Models(text=text_encoder, clip=None, clip_dims=0)


# --- the builder's own checks ----------------------------------------------------------------------------------------


def test_moments_have_the_documented_spans_and_places():
    docs = lifelog_docs()
    buddha = [d for d in docs if d["caption"] == BUDDHA]
    assert len(buddha) == 15
    assert buddha[-1]["local_time"] - buddha[0]["local_time"] == timedelta(minutes=14)
    assert {d["semantic_name"] for d in buddha} == {"Umong Temple"} and buddha[0]["weekday"] == "Fri"
    may_bbq_days = {d["date"] for d in docs if d["caption"] == BBQ and d["month"] == 5}
    assert may_bbq_days == {"2018-05-07", "2018-05-14", "2018-05-21"}
    assert len({d["image_id"] for d in docs}) == len(docs)


def test_capmeta_carries_content_time_and_place():
    d = lifelog_docs()[0]
    assert d["capmeta"] == ("a small golden Buddha statue in a dark tunnel at a temple, people praying # Time: "
                            "2019-10-11 10:00:00 (Friday, morning) # Location: Umong Temple, Suthep, Chiang Mai, "
                            "Thailand")


def test_the_question_embeds_closest_to_its_moment(minilm):
    docs = lifelog_docs()
    captions = sorted({d["caption"] for d in docs})
    q = minilm.encode_texts(["Where did I see a golden Buddha statue in a tunnel?"])[0]
    sims = minilm.encode_texts(captions) @ q
    assert captions[int(np.argmax(sims))] == BUDDHA
    with pytest.raises(KeyError):
        _doc(0, BUS, "nowhere", datetime(2020, 1, 1))

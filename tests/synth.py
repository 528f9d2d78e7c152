"""Small synthetic lifelogs built by the tests (random but seeded, so every value is known)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from lifeseeker.engine.timeparts import time_fields

PLACES = [  # (locality, city, region, country, lat, lon)
    ("Glasnevin", "Dublin", "Leinster", "Ireland", 53.3861, -6.2566),
    ("Ciutat Vella", "Barcelona", "Catalonia", "Spain", 41.3851, 2.1734),
    ("Arezzo", "Arezzo", "Tuscany", "Italy", 43.467, 11.88),
    ("Málaga", "Málaga", "Andalusia", "Spain", 36.7213, -4.4214),
]
TAGS = ["laptop", "cup", "car", "tree", "screen", "food", "book", "dog"]
WORDS = ["heinz", "beans", "coffee", "exit", "menu", "dublin", "bus", "gate", "sale", "open"]


def unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    v = rng.standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def corpus(n: int, seed: int = 0, d_clip: int = 16, d_text: int = 8, missing: float = 0.05) -> list[dict]:
    """``n`` documents with vectors, times over 60 days, places, tags and OCR words; ~``missing`` of the docs
    lack a clip_vec, a capmeta_vec, a time or a location."""
    rng = np.random.default_rng(seed)
    clip, text = unit(rng, n, d_clip), unit(rng, n, d_text)
    start = datetime(2019, 3, 1)
    docs = []
    for i in range(n):
        t = start + timedelta(seconds=int(rng.integers(0, 60 * 86400)))
        loc, city, region, country, lat, lon = PLACES[int(rng.integers(len(PLACES)))]
        doc = {
            "image_id": f"img{i:05d}", "collection": "synth", "path": f"{i:05d}.jpg",
            "local_time": t, **time_fields(t),
            "location": {"lat": lat + float(rng.normal(0, 0.01)), "lon": lon + float(rng.normal(0, 0.01))},
            "locality": loc, "city": city, "region": region, "country": country,
            "places": list(dict.fromkeys([loc, city, region, country])),
            "tags": sorted(set(rng.choice(TAGS, size=int(rng.integers(0, 3)), replace=False).tolist())),
            "ocr_text": " ".join(rng.choice(WORDS, size=2).tolist()).upper(),
            "capmeta": f"photo # Time: {t:%Y-%m-%d %H:%M:%S} # Location: {city}, {country}",
            "clip_vec": clip[i], "capmeta_vec": text[i],
            "models": {"clip": "synthetic", "text": "synthetic", "ocr": None, "caption": None},
        }
        r = rng.random()
        if r < missing:
            doc["clip_vec"] = None
        elif r < 2 * missing:
            doc["capmeta_vec"] = None
        elif r < 3 * missing:
            for k in ("local_time", "date", "year", "month", "weekday", "hour", "minute_of_day", "part_of_day"):
                doc[k] = None
        elif r < 4 * missing:
            for k in ("location", "locality", "city", "region", "country"):
                doc[k] = None
            doc["places"] = []
        docs.append(doc)
    return docs


def lance_store(path, docs=(), **options):
    """An embedded store at ``path`` (``LanceStore`` keyword ``options``) with the 16-d clip / 8-d capmeta schema
    of ``corpus``, holding ``docs`` (upserted in one batch when given)."""
    from lifeseeker.engine.store.lance import LanceStore

    store = LanceStore(f"lance://{path}", **options)
    store.ensure_schema({"clip_vec": 16, "capmeta_vec": 8})
    if docs:
        store.upsert(list(docs))
    return store

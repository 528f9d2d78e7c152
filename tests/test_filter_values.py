"""Typed filter values with apostrophes and values that match nothing (issue 16, item 12).

Before (main at b3807a8): ``city:L'Aquila`` became ``Terms("city", ("L",))`` and 0 hits, silently; a misspelt
``city:Dublni`` gave an empty page with no notice.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from lifeseeker.engine import filters as F
from lifeseeker.engine.query.keyvalue import extract_filters
from lifeseeker.engine.search import SearchRequest, SearchService
from lifeseeker.engine.store import open_store


def test_apostrophes_stay_in_unquoted_values():
    assert extract_filters("city:L'Aquila")[0] == [F.Terms("city", ("L'Aquila",))]
    assert extract_filters("place:Val-d'Isère skiing")[0] == [F.Terms("places", ("Val-d'Isère",))]
    assert extract_filters("city:'Dublin' walk")[0] == [F.Terms("city", ("Dublin",))]  # quoting still works
    assert extract_filters("city:Côte-d’Ivoire")[0] == [F.Terms("city", ("Côte-d’Ivoire",))]  # typographic


def _store(tmp_path, minilm):
    store = open_store(f"lance://{tmp_path / 'store'}")
    store.ensure_schema({"clip_vec": 0, "capmeta_vec": minilm.dims if hasattr(minilm, "dims") else 384})
    vec = np.ones(384, np.float32)
    store.upsert([
        {"image_id": "c/aquila.jpg", "collection": "c", "path": "aquila.jpg", "city": "L'Aquila",
         "country": "Italy", "places": ["L'Aquila", "Abruzzo", "Italy"], "capmeta": "a square",
         "local_time": datetime(2020, 5, 1, 10), "capmeta_vec": vec},
        {"image_id": "c/isere.jpg", "collection": "c", "path": "isere.jpg", "city": "Val-d'Isère",
         "country": "France", "places": ["Val-d'Isère", "France"], "capmeta": "snow",
         "local_time": datetime(2020, 2, 1, 10), "capmeta_vec": vec},
        {"image_id": "c/dublin.jpg", "collection": "c", "path": "dublin.jpg", "city": "Dublin",
         "country": "Ireland", "places": ["Dublin", "Ireland"], "capmeta": "a bridge",
         "local_time": datetime(2020, 3, 1, 10), "capmeta_vec": vec},
    ])
    return store


def test_typed_apostrophe_values_find_their_photos(tmp_path, minilm):
    store = _store(tmp_path, minilm)
    svc = SearchService(store, _text_only(minilm))
    r = svc.search(SearchRequest("city:L'Aquila", limit=10))
    assert [h.image_id for h in r.hits] == ["c/aquila.jpg"]  # main: 0 hits (city=["L"])
    r = svc.search(SearchRequest("place:Val-d'Isère", limit=10))
    assert [h.image_id for h in r.hits] == ["c/isere.jpg"]
    assert not any("no photo has" in n for n in r.notices)


def test_a_value_matching_nothing_gets_a_notice_with_close_values(tmp_path, minilm):
    store = _store(tmp_path, minilm)
    svc = SearchService(store, _text_only(minilm))
    r = svc.search(SearchRequest("city:Dublni", limit=10))
    assert r.hits == [] and any("city: no photo has 'Dublni'; did you mean Dublin?" == n for n in r.notices), \
        r.notices
    r = svc.search(SearchRequest("city:Dublin weekday:sat", limit=10))  # the value exists; the combination is empty
    assert r.hits == [] and not any("no photo has" in n for n in r.notices)


def _text_only(minilm):
    from lifeseeker.models import Models

    return Models(text=minilm, clip=None, tagger=None, clip_dims=0)


def test_a_value_of_a_field_without_facets_gets_the_notice_without_suggestions(tmp_path, minilm):
    store = _store(tmp_path, minilm)
    r = SearchService(store, _text_only(minilm)).search(SearchRequest("region:Narnia", limit=10))
    assert r.hits == [] and "region: no photo has 'Narnia'" in r.notices

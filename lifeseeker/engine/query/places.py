"""Places in a query: countries, cities and landmarks found in the gazetteer (gazetteer.py), as written.

A place name counts when it is written like one: capitalised (unless the whole text is lower case), not part of a
longer capitalised name ("Paris Hilton", "Steve Sheffield", "Sole restaurant"), not a short or shouted word ("TO",
"OR"); a common word that is also a place ("Nice", "Reading") at the start of a sentence or in lower-case text
only after a place preposition. Small places only right after a small-place preposition ("in Howth"). A city
implies its country. A place after the origin word ("flew home from China") is listed in ``places`` but
constrains nothing unless the sentence describes a route.
Landmarks stay in the visual text (CLIP knows what the Eiffel Tower looks like); other place names leave it.

Word tables come from the language module (lang_en.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..text import fold
from .gazetteer import WORD_RE, gazetteer, key_of
from .scan import Scan

__all__ = ["Places", "parse_places"]


@dataclass
class Places:
    """The places found in one text.

    Attributes:
        countries: normalised GeoNames country names (named, or implied by a city), in order of mention.
        cities: normalised names of the cities and landmarks that constrain the moment.
        aliases: other stored forms of those cities (``Frankfurt am Main``), for matching documents.
        places: every place name as written, including those that constrain nothing (an origin).
    """

    countries: list[str] = field(default_factory=list)
    cities: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)




def parse_places(ctx: Scan) -> Places:
    """Find the place names in ``ctx.t``, longest gazetteer match first, and take them.

    Returns:
        Places: see its attributes; landmarks are taken but stay in the visual text.
    """
    lang, t, raw = ctx.lang, ctx.t, ctx.raw
    gaz = gazetteer(lang)
    toks = [(m.start(), m.end(), m.group(0)) for m in WORD_RE.finditer(t)]
    all_lower = not any(c.isupper() for c in t)
    out = Places()
    # countries named anywhere disambiguate same-named cities ("Sligo, Ireland")
    named_countries = frozenset(
        g.country for k in {key_of(w) for _, _, w in toks}
        for g in gaz.big.get(k, ()) if g.kind == "country")

    def sentence_initial(i: int) -> bool:
        if i == 0:
            return True
        gap = t[toks[i - 1][1]:toks[i][0]]
        return bool(re.search(r"[.!?;:\n(\"]", gap))

    def adjacent(i: int, j: int) -> bool:
        return 0 <= i < len(toks) and 0 <= j < len(toks) and t[toks[i][1]:toks[j][0]] in (" ", "-")

    def capitalised(i: int) -> bool:
        return toks[i][2][:1].isupper()

    i = 0
    while i < len(toks):
        hit = None
        for n in range(min(gaz.max_words, len(toks) - i), 0, -1):
            j = i + n
            a, b = toks[i][0], toks[j - 1][1]
            if not ctx.free(a, b) or any(not adjacent(k, k + 1) for k in range(i, j - 1)):
                continue
            key = " ".join(fold(w).rstrip(".") for _, _, w in toks[i:j])
            if key in lang.GEO_TYPE_WORDS or key in lang.VENUE_NOUNS:
                continue  # "Airport" alone is no place
            prev = toks[i - 1][2].lower() if i > 0 and adjacent(i - 1, i) else ""
            prev_prep = prev in lang.PLACE_PREPOSITIONS
            small = prev in lang.SMALL_PLACE_PREPOSITIONS and capitalised(i) and not all_lower
            geo = gaz.lookup(key, small=small, countries=named_countries)
            if geo is None:
                continue
            hit = (j, geo, key, prev_prep)
            break
        if hit is None:
            i += 1
            continue
        j, geo, key, prev_prep = hit
        a, b = toks[i][0], toks[j - 1][1]
        surface = raw[a:b]
        ok = True
        if key in gaz.case_sensitive and surface != surface.upper():
            ok = False
        if key not in gaz.case_sensitive and geo.kind != "country" and (
                len(key.replace(" ", "")) <= 2 or (len(surface) > 1 and surface.isupper())):
            ok = False  # "TO" in "[1 TO 2]", "OR": shouting or syntax, not the town Tô
        common = key in lang.COMMON_WORD_PLACES
        if not all_lower and not capitalised(i):
            ok = False
        if common and (all_lower or sentence_initial(i)) and not prev_prep:
            ok = False
        if all_lower and not prev_prep and geo.kind == "city" and geo.population < lang.LOWERCASE_CITY_MIN_POPULATION:
            ok = False  # "what a beautiful sunset": a word, not Sunset (Canada)
        # Part of a longer capitalised name: "Paris Hilton", "Clayton Hotel" (but "Dublin Airport" is a place).
        if ok and not all_lower and j < len(toks) and adjacent(j - 1, j) and capitalised(j):
            run, k = [], j
            while k < len(toks) and adjacent(k - 1, k) and capitalised(k) and len(run) < 4:
                run.append(fold(toks[k][2]))
                k += 1
            nxt = gaz.lookup(key_of(toks[j][2]))
            if nxt is None and not any(w in lang.GEO_TYPE_WORDS for w in run):
                ok = False
        if ok and not all_lower and i > 0 and adjacent(i - 1, i) and capitalised(i - 1) \
                and not sentence_initial(i - 1) and gaz.lookup(key_of(toks[i - 1][2])) is None \
                and fold(toks[i - 1][2]) not in lang.PLACE_PREPOSITIONS:
            ok = False  # "Steve Sheffield": a person
        if ok and geo.small and j < len(toks) and adjacent(j - 1, j) and fold(toks[j][2]) in lang.VENUE_NOUNS:
            ok = False  # "Sole restaurant"
        if not ok:
            i += 1
            continue
        while j < len(toks) and adjacent(j - 1, j) and capitalised(j) and fold(toks[j][2]) in lang.GEO_TYPE_WORDS:
            j += 1  # "Frankfurt Airport" is one place name
        b = toks[j - 1][1]
        surface = raw[a:b]
        out.places.append(surface)
        constrains = True
        if i > 0 and adjacent(i - 1, i) and toks[i - 1][2].lower() == lang.ORIGIN_WORD:
            s0, s1 = ctx.sentence(a)
            constrains = bool(re.search(lang.ROUTE_CUES, t[s0:s1], re.I))  # "flew home from China": origin only
        if constrains:
            if geo.kind in ("city", "landmark") and geo.name not in out.cities:
                out.cities.append(geo.name)
                out.aliases.extend(x for x in geo.aliases if x not in out.aliases)
            if geo.country and geo.country not in out.countries:
                out.countries.append(geo.country)
        ctx.take(a, b, remove=(geo.kind != "landmark"))
        i = j
    return out


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
from .words import is_common_word

__all__ = ["Places", "parse_places"]


@dataclass
class Places:
    """The places found in one text.

    Attributes:
        countries: normalised GeoNames country names (named, or implied by a city), in order of mention.
        cities: normalised names of the cities and landmarks that constrain the moment.
        aliases: other stored forms of those cities (``Frankfurt am Main``), for matching documents.
        places: every place name as written, including those that constrain nothing (an origin, a destination).
        excluded: normalised names of negated places ("not in Dublin", "outside of Ireland").
    """

    countries: list[str] = field(default_factory=list)
    cities: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)



def parse_places(ctx: Scan) -> Places:
    """Find the place names in ``ctx.t``, longest gazetteer match first, and take them.

    Returns:
        Places: see its attributes; landmarks are taken but stay in the visual text.
    """
    lang, t, raw = ctx.lang, ctx.t, ctx.raw
    gaz = gazetteer(lang)
    out = Places()
    _regions(ctx, gaz, out)
    toks = [(m.start(), m.end(), m.group(0)) for m in WORD_RE.finditer(t)]
    all_lower = not any(c.isupper() for c in t)
    vocab = ctx.vocabulary
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
        why = f"gazetteer {geo.kind} {geo.name}" + (f" ({geo.country})" if geo.country != geo.name else "")
        reason = ""
        if key in gaz.case_sensitive and surface != surface.upper():
            ok = False
        if key not in gaz.case_sensitive and geo.kind not in ("country", "landmark") and (
                len(key.replace(" ", "")) <= 2 or (len(surface) > 1 and surface.isupper())):
            ok = False  # "TO" in "[1 TO 2]", "OR": shouting or syntax, not the town Tô
        common = key in lang.COMMON_WORD_PLACES
        of_geo = prev == "of" and i > 1 and fold(toks[i - 2][2]) in lang.GEO_OF_WORDS  # "the city of Cork"
        strong_prep = prev in lang.STRONG_PLACE_PREPOSITIONS or of_geo
        visited = vocab is not None and vocab.visited(surface)
        if not all_lower and not capitalised(i):
            ok = False
        if ok and common and (all_lower or sentence_initial(i) or prev == "of") and not strong_prep and not visited:
            ok, reason = False, "an ordinary word that is also a place name, without a place preposition"
        nxt_word = toks[j][2] if j < len(toks) and adjacent(j - 1, j) else ""
        if ok and geo.kind != "country" and not strong_prep and nxt_word and re.fullmatch(
                lang.PLACE_DISH_NOUNS, nxt_word, re.I):
            ok, reason = False, f"names a dish or a drink ({surface} {nxt_word})"
        if ok and geo.kind == "city" and j == i + 1 and sentence_initial(i) and not strong_prep and not visited \
                and geo.population < lang.BARE_COMMON_CITY_MIN_POPULATION:
            ok, reason = False, (f"a sentence-initial capital alone is no evidence (population {geo.population:,} < "
                                 f"{lang.BARE_COMMON_CITY_MIN_POPULATION:,})")
        if ok and geo.kind == "city" and j == i + 1 and is_common_word(key) and not strong_prep and not visited \
                and not (geo.country in named_countries and not sentence_initial(i)):
            nxt_word = toks[j][2] if j < len(toks) and adjacent(j - 1, j) else ""
            modifier = bool(nxt_word) and nxt_word.islower() and fold(nxt_word) not in lang.FUNCTION_WORDS
            if geo.population < lang.BARE_COMMON_CITY_MIN_POPULATION or modifier:
                ok = False
                reason = (f"a common English word without a place preposition (population {geo.population:,} < "
                          f"{lang.BARE_COMMON_CITY_MIN_POPULATION:,})" if not modifier else
                          f"a common English word used as a modifier ({surface} {nxt_word})")
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
            if reason:
                ctx.decide(a, b, None, f"not a place ({why}): {reason}")
            i += 1
            continue
        while j < len(toks) and adjacent(j - 1, j) and capitalised(j) and fold(toks[j][2]) in lang.GEO_TYPE_WORDS:
            j += 1  # "Frankfurt Airport" is one place name
        b = toks[j - 1][1]
        surface = raw[a:b]
        out.places.append(surface)
        constrains = True
        evidence = (f"after '{prev}'" if prev_prep or of_geo else "a known multi-word name" if j > i + 1 else
                    "in the lifelog's own places" if visited else "capitalised name")
        left = t[max(0, a - 40):a]
        if i > 0 and adjacent(i - 1, i) and toks[i - 1][2].lower() == lang.ORIGIN_WORD:
            s0, s1 = ctx.sentence(a)
            constrains = bool(re.search(lang.ROUTE_CUES, t[s0:s1], re.I))  # "flew home from China": origin only
            if not constrains:
                evidence = "an origin ('from' without a route): no constraint"
        neg = re.search(lang.PLACE_NEGATION_BEFORE, left, re.I)
        neg_at = None
        if neg:
            neg_at = a - len(left) + neg.start()
            while neg_at > 0 and t[neg_at - 1] == " ":
                neg_at -= 1
            if re.search(r"\bbut\s*$", t[:neg_at]):  # "(but not in Dublin)"
                neg_at = re.search(r"\bbut\s*$", t[:neg_at]).start()
            constrains = False
            name = geo.country if geo.kind == "region" else geo.name
            if name and name not in out.excluded:
                out.excluded.append(name)
            evidence = "negated: an exclusion"
        elif re.search(lang.PLACE_DESTINATION_BEFORE, left, re.I) and not re.search(
                r"\bfrom\s+[A-Z]", t[slice(*ctx.sentence(a))]):  # "from Dublin to London": a route, both count
            constrains = False
            evidence = "a destination (where the person is going): no constraint"
        ctx.decide(a, b, why, evidence)
        if constrains:
            if geo.kind in ("city", "landmark") and geo.name not in out.cities:
                out.cities.append(geo.name)
                out.aliases.extend(x for x in geo.aliases if x not in out.aliases)
            if geo.country and geo.country not in out.countries:
                out.countries.append(geo.country)
        # The CLIP text keeps a name whole: "a taxi to Daejeon station" is not "a taxi station"; a destination
        # (no constraint) keeps its words too. A negated place leaves with its negation ("(but not in Dublin)").
        nxt = fold(toks[j][2]) if j < len(toks) and adjacent(j - 1, j) else ""
        keep = geo.kind == "landmark" or nxt in lang.GEO_TYPE_WORDS or nxt in lang.VENUE_NOUNS or (
            not constrains and evidence.startswith("a destination"))
        ctx.take(a, b, remove=not keep)
        if neg_at is not None:
            ctx.remove.append((neg_at, a))
        i = j
    return out



def _regions(ctx: Scan, gaz, out: Places) -> None:
    """Continents and regions after a place preposition ("somewhere in Asia", "in the Nordic countries") -> the
    set of their countries (continent: the gazetteer countries' GeoNames continent code; region: ``lang.REGIONS``);
    taken so that no town of the same name is read. A negated one ("outside Europe") is excluded instead."""
    lang, t = ctx.lang, ctx.t
    names = sorted(list(lang.CONTINENTS) + list(lang.REGIONS), key=len, reverse=True)
    rx = re.compile(r"\b(" + "|".join(re.escape(n) for n in names) + r")\b", re.I)
    for m in rx.finditer(t):
        if not ctx.free(*m.span()):
            continue
        left = t[max(0, m.start() - 40):m.start()]
        key = m.group(1).lower()
        neg = re.search(lang.PLACE_NEGATION_BEFORE, left, re.I)
        if not neg and not re.search(lang.REGION_BEFORE, left, re.I):
            ctx.decide(*m.span(), None, "a continent or region name without a place preposition: left as text")
            continue
        members = gaz.continent(lang.CONTINENTS[key]) if key in lang.CONTINENTS else lang.REGIONS[key]
        out.places.append(ctx.raw[m.start():m.end()])
        if neg:
            out.excluded.extend(c for c in members if c not in out.excluded)
        else:
            out.countries.extend(c for c in members if c not in out.countries)
        ctx.decide(*m.span(), f"region: {len(members)} countries", "negated: an exclusion" if neg else
                   "a continent or region after a place preposition")
        ctx.take(*m.span())

"""Clock times and parts of day in a query -> local hour ranges ``[from, to)`` in minutes after midnight, values
past 1440 meaning the next morning ("night" = [21, 29] h; conventions of docs/lsc-format.md, "Part of
day"):

* a clock time means +-1 hour ("around 7am" = [6, 8) h), "before six am" = [0, 6) h, "after 5pm" = [17, 24) h,
  "between 2 and 4pm", "from 9:30 to 11am";
* parts of day and meals ("in the morning", "at lunch"); a part of day inside another keeps the narrower ("early
  on a Saturday morning" = [5, 8) h), overlapping ones merge ("evening ... Saturday night" = [17, 29) h);
* explicit clock times win over part-of-day words (parse.py uses :func:`parse_parts` only without a clock time).

Word tables come from the language module (lang_en.py).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from .scan import Scan

__all__ = ["parse_clock", "parse_parts", "merge_ranges"]


@lru_cache(maxsize=8)
def _patterns(lang) -> dict[str, Any]:
    """The clock-time expressions and the part-of-day patterns of language ``lang``, compiled once per language."""
    num = "|".join(lang.NUMBER_WORDS)
    clock = rf"(?:(?:[01]?\d|2[0-3])(?::[0-5]\d)?|{num})"
    mer = lang.CLOCK_MERIDIEM
    f = re.IGNORECASE
    return {
        "between": re.compile(rf"\b(?:{lang.CLOCK_BETWEEN[0]})\s+({clock})\s*({mer})?\s+(?:{lang.CLOCK_BETWEEN[1]})"
                              rf"\s+({clock})\s*({mer})?", f),
        "from_to": re.compile(rf"\b(?:{lang.CLOCK_FROM_TO[0]})?\s*({clock})\s*({mer})?\s*(?:{lang.CLOCK_FROM_TO[1]})"
                              rf"\s*({clock})\s*({mer})", f),
        "before": re.compile(rf"\b(?:{lang.CLOCK_BEFORE})\s+({clock}|{lang.MIDNIGHT}|{lang.NOON})\s*({mer})?", f),
        "after": re.compile(rf"\b(?:{lang.CLOCK_AFTER})\s+({clock}|{lang.MIDNIGHT}|{lang.NOON})\s*({mer})?", f),
        "at": re.compile(rf"(?:\b(?:{lang.CLOCK_AROUND})\s+)?\b({clock}|{lang.MIDNIGHT})\s*({mer})?"
                         rf"(?:\s+in\s+the\s+(morning|afternoon|evening|night))?", f),
        "parts": [(re.compile(rf"\b(?:{pat})\b", f), rng, kind) for pat, rng, kind in lang.PARTS_OF_DAY],
    }


def _clock_minutes(lang, raw: str, mer: str | None, daypart: str | None = None) -> int | None:
    """Minutes after midnight of a clock time ("7", "seven", "10:30", "midnight" = 1440) with its meridiem or the
    part of day after it ("7 in the evening"); None when it is no time (``13 pm``)."""
    raw = raw.lower().strip()
    if re.fullmatch(lang.MIDNIGHT, raw):
        return 24 * 60
    if re.fullmatch(lang.NOON, raw):
        return 12 * 60
    if raw in lang.NUMBER_WORDS:
        h, mi = lang.NUMBER_WORDS[raw], 0
    else:
        h, _, mm = raw.partition(":")
        h, mi = int(h), int(mm or 0)
    merid = (mer or "").lower().replace(".", "")
    if not merid and daypart:
        merid = lang.CLOCK_DAYPART_AFTER.get(daypart, "")
    if merid.startswith("p"):
        if not 1 <= h <= 12:
            return None
        h = h % 12 + 12
    elif merid.startswith("a"):
        if not 1 <= h <= 12:
            return None
        h = h % 12
    if not 0 <= h <= 23 or not 0 <= mi <= 59:
        return None
    return h * 60 + mi


def parse_clock(ctx: Scan) -> list[tuple[int, int]]:
    """Explicit clock times in ``ctx.t`` as minute ranges ``[from, to)`` (``to`` may pass 1440); takes them.

    Only explicit times count: a meridiem, minutes, midnight/noon, or a part of day after the number ("at 7" alone
    is no time). Ranges ("between 2 and 4pm") first, then before/after, then single times (+-1 hour).
    """
    lang, t, p = ctx.lang, ctx.t, _patterns(ctx.lang)
    out: list[tuple[int, int]] = []

    def explicit(raw: str, mer: str | None) -> bool:
        return bool(mer) or ":" in raw or bool(re.fullmatch(lang.MIDNIGHT, raw.strip(), re.I))

    for name in ("between", "from_to"):
        for m in p[name].finditer(t):
            if not ctx.free(*m.span()):
                continue
            a_raw, a_mer, b_raw, b_mer = m.group(1), m.group(2), m.group(3), m.group(4)
            if not (explicit(a_raw, a_mer) or explicit(b_raw, b_mer)):
                continue
            a = _clock_minutes(lang, a_raw, a_mer or b_mer)
            b = _clock_minutes(lang, b_raw, b_mer or a_mer)
            if a is None or b is None or a == b:
                continue
            if b < a:
                b += 1440
            out.append((a % 1440, a % 1440 + (b - a)))
            ctx.take(*m.span())
    for name in ("before", "after"):
        for m in p[name].finditer(t):
            if not ctx.free(*m.span()) or not explicit(m.group(1), m.group(2)) and not re.fullmatch(
                    lang.NOON, m.group(1), re.I):
                continue
            v = _clock_minutes(lang, m.group(1), m.group(2))
            if v is None:
                continue
            v = min(v, 1440)
            if name == "before" and v > 0:
                out.append((0, v))
            elif name == "after" and v < 1440:
                out.append((v, 1440))
            else:
                continue
            ctx.take(*m.span())
    for m in p["at"].finditer(t):
        if not ctx.free(*m.span()):
            continue
        raw, mer, daypart = m.group(1), m.group(2), m.group(3)
        if not (explicit(raw, mer) or daypart):
            continue
        if raw.isdigit() and not mer and not daypart:
            continue
        v = _clock_minutes(lang, raw, mer, daypart.lower() if daypart else None)
        if v is None:
            continue
        a = (v - 60) % 1440
        out.append((a, a + 120))
        ctx.take(*m.span())
    return out


def parse_parts(ctx: Scan) -> list[tuple[int, int]]:
    """Parts of day and meals in ``ctx.t`` as minute ranges ``[from, to)``; a range containing another is dropped.

    Negated ones ("not in the morning"), skipped meals and those in a later sentence ("Then in the evening ...")
    are taken without counting.
    """
    lang, t, p = ctx.lang, ctx.t, _patterns(ctx.lang)
    found: list[tuple[int, int]] = []
    for rx, (a, b), kind in p["parts"]:
        for m in rx.finditer(t):
            if not ctx.free(*m.span()):
                continue
            left = ctx.before(m.start())
            s0, _ = ctx.sentence(m.start())
            if re.search(lang.NEGATION_BEFORE, left, re.I):
                ctx.take(*m.span(), remove=False)
                continue
            if kind == "meal":
                after = t[m.end():m.end() + 40]
                why = ("a meal word used as the noun of an object" if re.match(
                    rf"\s*-?\s*{lang.MEAL_OBJECT_NOUNS}\b", after, re.I) else
                    "a meal that is the destination or already over" if re.search(lang.MEAL_SKIP_BEFORE, left, re.I)
                    else "a meal at a later moment" if (re.match(lang.MEAL_SKIP_AFTER, after, re.I) and not re.match(
                        r"\s*(?:where|when|what|which|who|how)\b", t[s0:], re.I))  # "Where did I have dinner after"
                    or re.search(lang.MEAL_LATER_BEFORE, left, re.I) else "")
                if why:
                    ctx.decide(*m.span(), None, f"no time: {why}")
                    ctx.take(*m.span(), remove=False)
                    continue
            if re.search(lang.LATER_SENTENCE_OPENERS, t[s0:m.start()], re.I):
                ctx.take(*m.span(), remove=False)
                continue
            found.append((a, b))
            ctx.decide(*m.span(), f"hours {a}-{b}", f"a {'part of day' if kind == 'part' else 'meal time'}")
            ctx.take(*m.span(), remove=(kind == "part"))
    # A range containing another is the vaguer statement of the same moment: keep the narrower.
    uniq = sorted(set(found))
    keep = [r for r in uniq if not any(o != r and r[0] <= o[0] and o[1] <= r[1] for o in uniq)]
    return [(a * 60, b * 60) for a, b in keep]


def merge_ranges(ranges: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Overlapping or touching ``[from, to)`` ranges merged, sorted by start."""
    out: list[list[int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return tuple((a, b) for a, b in out)

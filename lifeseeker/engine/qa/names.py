"""Names and texts read off the evidence frames (issue 19, item 4), and two-part colour answers (item 5).

**Names** ("what was the name of the pharmacy beside the salon", "which brand was next to Swatch", "what was the
number of the bus"): the visual match first — the frames of the question's search (fused score, the relevance
cut of ``evidence.relevant_hits``) inside the scope that carry OCR text — then, per frame, candidate lines of its
OCR text (reading order, one line per recognised text box):

1. the question names the kind of thing ("the name of the *pharmacy*") and a line contains that word: that line
   without the word ("BOOTS PHARMACY" -> "BOOTS");
2. else the question names an anchor ("next to *Swatch*", "beside the *salon*") found in a line: the lines next
   to it in reading order (before and after), not the anchor's own;
3. else every line that is not only words of the question.

"What number" keeps the candidates with a digit, as their digit-bearing words. Candidates are normalised (case
folded, spaces and punctuation removed: OCR often drops the space between words, "PETERMARK") and voted across
frames, each frame's candidates weighted by its score (``evidence.vote_answer``); the shown form is the most frequent
spelling of the winner.

**Colours of two objects** ("what colours were the bow and the socks"): one VQA pass per object ("what colour is
the bow?") over the evidence images of the question, each voted as a visual answer, joined in the order asked
("red and blue").
"""

from __future__ import annotations

import re
from collections import Counter

from ..store.base import Hit
from ..text import fold
from .context import Ctx
from .evidence import MIN_VOTE_WEIGHT, vote_answer
from .result import Answer
from .scope import Scope

_TARGET = re.compile(r"\bname\s+of\s+(?:the|that|this|a)\s+([a-z]+(?:\s+[a-z]+)??)(?=\s+(?:beside|besides|next|near|"
                     r"opposite|by|i|we|that|where|in|at|on|under|above)\b|\s*\?|$)", re.I)
_ANCHOR = re.compile(r"\b(?:next\s+to|beside|besides|near|opposite|by|beneath|under|above)\s+(?:the\s+|a\s+)?"
                     r"([\w'&-]+)", re.I)
_NUMBER = re.compile(r"\bnumber\b", re.I)
_QWORDS = set("what which was is the name of a an brand shop store number did i my we see saw next to beside "
              "near by there that this".split())


def key(text: str) -> str:
    """Vote key of a read name: folded, without spaces or punctuation (``"Peter Mark"`` -> ``"petermark"``)."""
    return re.sub(r"[\W_]+", "", fold(text))


def candidates(lines: list[str], target: str | None, anchor: str | None, number: bool,
               qwords: set[str]) -> list[str]:
    """The candidate names of one frame's OCR ``lines`` (module docstring, rules 1-3)."""
    lines = [ln.strip() for ln in lines if ln.strip()]
    out: list[str] = []
    if target:  # rule 1: the line naming the kind of thing, without the kind's words
        words = target.split()
        for i, ln in enumerate(lines):
            if key(words[-1]) not in key(ln):
                continue
            rest = ln
            for w in words:
                rest = re.sub(re.escape(w), " ", rest, flags=re.I)
            rest = re.sub(r"\s+", " ", rest).strip(" -:,.")
            if not rest and i > 0 and not (anchor and key(anchor) in key(lines[i - 1])):
                rest = lines[i - 1]  # the kind on a line of its own: the name is the line above it, same sign
            if rest:
                out.append(rest)
    if not out and anchor:
        ak = key(anchor)
        at = [i for i, ln in enumerate(lines) if ak in key(ln)]
        out = [lines[j] for i in at for j in (i - 1, i + 1) if 0 <= j < len(lines) and j not in at]
    if not out:
        out = [ln for ln in lines if not set(re.findall(r"\w+", ln.lower())) <= qwords]
        if anchor:
            out = [ln for ln in out if key(anchor) not in key(ln)]
    if number:
        out = [w for ln in out for w in ln.split() if re.search(r"\d", w)]
    return out


def answer_name(ctx: Ctx, scope: Scope) -> Answer:
    """A name, brand or number read off the evidence frames' OCR text (module docstring)."""
    from .visits import no_match

    from .visits import read_lifelog

    def inside(d):  # the venue narrows a name question, a semantic place ("the bus I took to work") does not
        return scope.in_time(d) and scope.in_region(d) and (not scope.venue or fold(d.get("semantic_name") or "")
                                                            == fold(scope.venue))

    ctx.fetch(ctx.cfg.limit, hard=False)
    ctx.hits = [h for h in ctx.hits if inside(h.doc)]
    if not ctx.hits:
        return no_match(ctx, scope)
    q = ctx.route.question or ctx.question
    t, a = _TARGET.search(q), _ANCHOR.search(q)
    target, anchor = (t.group(1) if t else None), (a.group(1) if a else None)
    rel = [h for h in ctx.relevant() if h.doc.get("ocr_text")]
    if anchor and not any(key(anchor) in key(h.doc["ocr_text"]) for h in rel):
        # the anchor is itself a name read off the frames ("next to Swatch"): the frames showing it are the match
        ak = key(anchor)
        rel = [Hit(d["image_id"], 1.0, 0.0, 1.0, d) for d in read_lifelog(ctx)
               if inside(d) and d.get("ocr_text") and ak in key(d["ocr_text"])] or rel
    if not rel:
        return ctx.none("no frame resembling the question has text to read")
    number = bool(_NUMBER.search(q)) and not target
    qwords = _QWORDS | set(re.findall(r"[a-z]+", q.lower()))
    items, spellings = [], Counter()
    events = ctx.events(rel)[:ctx.cfg.top_events]
    evs, ims = ctx.evidence(events, lambda d: None)
    for h in rel:
        for c in candidates(h.doc["ocr_text"].splitlines(), target, anchor, number, qwords):
            items.append((key(c), max(h.score, MIN_VOTE_WEIGHT)))
            spellings[(key(c), c)] += 1
    for im in ims:
        got = candidates((im.ocr_text or "").splitlines(), target, anchor, number, qwords)
        im.answer = got[0] if got else None
    winner, conf, votes = vote_answer(items)
    if winner is None:
        return ctx.result(None, None, 0.0, events=evs, images=ims, explanation="no candidate name in the OCR text",
                          rule="OCR lines of the matching frames")
    shown = max(((c, n) for (k, c), n in spellings.items() if k == winner), key=lambda p: (p[1], p[0]))[0]
    how = ("the line naming the " + target if target else "the lines next to " + anchor if anchor
           else "the numbers" if number else "the lines") + " in the OCR text of the matching frames"
    rule = (f"OCR names voted across {len(rel)} matching frames (score-weighted), normalised (case, spaces); "
            f"{how}")
    return ctx.result(shown, winner, conf, events=evs, images=ims, votes=votes, explanation=how, rule=rule)


def answer_colours(ctx: Ctx, scope: Scope, objects: tuple[str, ...]) -> Answer:
    """"What colours were the X and the Y": one VQA pass per object over the evidence images, joined in the order
    asked. Without a VQA model: no answer, a notice, the evidence images."""
    ctx.fetch(ctx.cfg.limit, hard=False)
    ctx.hits = [h for h in ctx.hits if scope.in_time(h.doc) and scope.in_region(h.doc)]
    rel = ctx.relevant()
    if not rel:
        return ctx.none("nothing in the lifelog resembles the question closely enough")
    evs, ims = ctx.evidence(ctx.events(rel)[:ctx.cfg.top_events], lambda d: None)
    rule = f"one VQA pass per object ({', '.join(objects)}) over {len(ims)} evidence images, joined in order"
    if ctx.svc.vqa is None:
        return ctx.result(None, None, 0.0, events=evs, images=ims, rule=rule,
                          explanation="two-part visual question: needs a VQA model",
                          notices=ctx.notices + [f"No VQA model is loaded ({ctx.svc.vqa_error or 'none'}); "
                                                 f"the evidence images are shown."])
    store, images, keep = ctx.svc.search.store, [], []
    for i, im in enumerate(ims):
        try:
            images.append(ctx.svc.image_loader(store, im.image_id))
            keep.append(i)
        except Exception:  # noqa: BLE001 - an unreadable file skips that image only
            continue
    parts, confs, all_votes = [], [], []
    for obj in objects:
        answers = ctx.svc.vqa.answer(images, f"what colour is the {obj}?") if images else []
        winner, conf, votes = vote_answer([(a.strip().lower(), max(ims[i].score, MIN_VOTE_WEIGHT))
                                           for i, a in zip(keep, answers)])
        parts.append(winner)
        confs.append(conf)
        all_votes += [(f"{obj}: {v}", w, n) for v, w, n in votes]
        for i, a in zip(keep, answers):
            ims[i].answer = f"{ims[i].answer + '; ' if ims[i].answer else ''}{obj}: {a}"
    if any(p is None for p in parts):
        return ctx.result(None, None, 0.0, events=evs, images=ims, rule=rule, explanation="VQA gave no answer")
    return ctx.result(" and ".join(parts), list(parts), min(confs), events=evs, images=ims, votes=all_votes,
                      rule=rule, explanation=f"VQA ({ctx.svc.vqa.name}) per object: "
                      + "; ".join(f"{o}: {p}" for o, p in zip(objects, parts)))


__all__ = ["key", "candidates", "answer_name", "answer_colours"]

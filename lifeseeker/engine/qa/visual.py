"""Visual answers: the VQA model (``models/vqa.py``) asked about the evidence images, its answers voted.

For OCR questions an image whose stored OCR text contains its VQA answer votes with ``1 + OCR_BONUS`` times its
weight, and every evidence image carries its OCR text. Images are read by ``QaService.image_loader``; an
unreadable one is skipped with a notice.
"""

from __future__ import annotations

import logging
from collections import Counter

from .context import Ctx
from .evidence import MIN_VOTE_WEIGHT, count_events, normalise_answer, vote_answer
from .result import Answer

log = logging.getLogger(__name__)

OCR_BONUS = 1.0  # extra vote weight (x score) for a VQA answer found in the image's own OCR text


def answer_visual(ctx: Ctx) -> Answer:
    """A visual question (objects, colours, text, things in view; also who / why / yes-no): BLIP VQA over the top
    images of the top events, score-weighted vote (OCR-confirmed answers count ``1 + OCR_BONUS`` times); with
    "the most", the answer of the most events. Without a VQA model: no answer, a notice, the evidence images."""
    rel = ctx.relevant()
    if not rel:
        return ctx.none("nothing in the lifelog resembles the question closely enough")
    if ctx.route.most:  # "most often": occasions, each answering once
        events = ctx.events(rel, ctx.cfg.visit_gap_minutes)[:ctx.cfg.most_events]
    else:
        events = ctx.events(rel)[:ctx.cfg.top_events]
    evs, ims = ctx.evidence(events, lambda d: None)
    if ctx.svc.vqa is None:
        why = ctx.svc.vqa_error or "none configured"
        return ctx.result(None, None, 0.0, events=evs, images=ims,
                          explanation="visual question: needs a VQA model",
                          notices=ctx.notices + [f"No VQA model is loaded, so visual questions (objects, "
                                                 f"colours, text, counting things in view) cannot be "
                                                 f"answered; the evidence images are shown. ({why})"])
    store = ctx.svc.search.store
    images, keep = [], []
    for i, im in enumerate(ims):
        try:
            images.append(ctx.svc.image_loader(store, im.image_id))
            keep.append(i)
        except Exception as exc:  # noqa: BLE001 - a missing or broken file skips that image only
            log.warning("QA: image %s not readable: %s", im.image_id, exc)
    notes = []
    if len(keep) < len(ims):
        notes.append(f"{len(ims) - len(keep)} evidence image(s) could not be read and were skipped.")
    answers = ctx.svc.vqa.answer(images, ctx.route.question) if images else []
    items = []
    for i, a in zip(keep, answers):
        ims[i].answer = a
        w = max(ims[i].score, MIN_VOTE_WEIGHT)
        key = normalise_answer(a)
        if ctx.route.kind == "ocr" and key and key in normalise_answer(ims[i].ocr_text or ""):
            w *= 1 + OCR_BONUS
        items.append((key, w))
    per_event: dict[str, list[tuple[str, float]]] = {}
    for i, item in zip(keep, items):
        per_event.setdefault(ims[i].event_id, []).append(item)
    for ev in evs:  # each event's own answer: the vote of its images
        ev.answer = vote_answer(per_event.get(ev.event_id, []))[0]
    if ctx.route.most:
        winner, conf, votes = count_events(evs)
    else:
        winner, conf, votes = vote_answer(items)
    if winner is None:
        return ctx.result(None, None, 0.0, events=evs, images=ims, explanation="VQA gave no answer",
                          notices=ctx.notices + notes)
    shown = Counter(a for i, a in zip(keep, answers) if normalise_answer(a) == winner).most_common(1)[0][0]
    how = (f"BLIP VQA ({ctx.svc.vqa.name}) on {len(answers)} images of the top {len(evs)} events, "
           + ("the answer of the most events (each event: score-weighted vote of its images)"
              if ctx.route.most else "score-weighted vote")
           + (", OCR-confirmed answers count double" if ctx.route.kind == "ocr" else ""))
    ans = ctx.result(shown, winner, conf, events=evs, images=ims, votes=votes, explanation=how)
    ans.notices = ans.notices + notes
    return ans


__all__ = ["OCR_BONUS", "answer_visual"]

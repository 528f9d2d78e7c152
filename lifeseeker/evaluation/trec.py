"""TREC run and qrels files, for trec_eval / ranx / ir_measures.

Format (trec_eval's README, "the TREC run format"): one line per retrieved document, six fields separated by one
space::

    <qid> Q0 <docno> <rank> <score> <run tag>

``rank`` starts at 1, ``score`` is the fused score with 6 decimals and decreases down the list (trec_eval ranks by
score, breaking ties by docno, and ignores the rank column). Qrels: ``<qid> 0 <docno> <relevance>`` with relevance 1
for each target image. Fields may not contain whitespace: an image id (a folder path may hold spaces) is written
with ``%`` as ``%25`` and whitespace percent-encoded (``my photos/a.jpg`` -> ``my%20photos/a.jpg``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable, Sequence, TextIO

from ..engine.store.base import Hit

if TYPE_CHECKING:
    from .harness import Searcher
    from .topics import Topic

_WS = re.compile(r"[%\s]")


def trec_token(value: str) -> str:
    """``value`` as one whitespace-free TREC field (``%`` and whitespace percent-encoded).

    Raises:
        ValueError: ``value`` is empty.
    """
    if not value:
        raise ValueError("empty qid, docno or run tag")
    return _WS.sub(lambda m: "%{:02X}".format(ord(m.group(0))) if ord(m.group(0)) < 256 else
                   "".join(f"%{b:02X}" for b in m.group(0).encode("utf-8")), value)


def run_lines(qid: str, hits: Sequence[Hit], tag: str) -> list[str]:
    """The run lines of one query: ``hits`` best first."""
    q, t = trec_token(qid), trec_token(tag)
    return [f"{q} Q0 {trec_token(h.image_id)} {rank} {h.score:.6f} {t}" for rank, h in enumerate(hits, 1)]


def qrels_lines(qid: str, docnos: Iterable[str]) -> list[str]:
    """The qrels lines of one query: each distinct ``docno`` relevant (1), in the order given."""
    q = trec_token(qid)
    return [f"{q} 0 {trec_token(d)} 1" for d in dict.fromkeys(docnos)]


def write_lines(out: TextIO, lines: Iterable[str]) -> int:
    """Write ``lines`` with ``\\n`` endings; returns how many."""
    n = 0
    for line in lines:
        out.write(line + "\n")
        n += 1
    return n


def export_run(topics: Sequence["Topic"], searcher: "Searcher", *, depth: int = 1000, tag: str = "lifeseeker",
               level: int | str = "final", store: object = None) -> tuple[list[str], list[str]]:
    """Search the topics and return ``(run lines, qrels lines)``.

    Args:
        topics: the topics (``topics.load_topics``); those without hint text are left out of the run, those
            without targets out of the qrels.
        searcher: ``(text, depth) -> hits`` or a SearchResponse (``harness.service_searcher``).
        depth: documents per query, 1-1000.
        tag: the run tag (last column).
        level: ``"final"`` (each topic's last hint, qid = topic id), a hint level ``N`` (qid = topic id; a topic
            with fewer hints uses its last), or ``"all"`` (every level, qid = ``<topic id>-h<N>``).
        store: when given, qrels name the stored documents that show each target (looked up by id or time);
            otherwise the target ids as written (time-only targets then have no docno).
    Raises:
        ValueError: bad ``depth`` or ``level``, or an empty tag.
    """
    from .harness import resolve_targets

    if not 1 <= depth <= 1000:
        raise ValueError(f"depth must be 1-1000, got {depth}")
    if not (level in ("final", "all") or (isinstance(level, int) and level >= 1)):
        raise ValueError(f"level must be 'final', 'all' or a hint level >= 1, got {level!r}")
    trec_token(tag)
    run: list[str] = []
    qrels: list[str] = []
    for topic in topics:
        if not topic.hints:
            continue
        if level == "all":
            queries = [(f"{topic.id}-h{n}", hint) for n, hint in enumerate(topic.hints, 1)]
        else:
            queries = [(topic.id, topic.hint(len(topic.hints) if level == "final" else int(level)))]
        targets = topic.targets()
        if store is not None and targets:
            resolve_targets(targets, store)
        docnos = [d for t in targets for d in (t.stored or t.raw)]
        for qid, hint in queries:
            out = searcher(hint, depth)
            run += run_lines(qid, list(getattr(out, "hits", out))[:depth], tag)
            qrels += qrels_lines(qid, docnos) if docnos else []
    return run, qrels

"""The topic evaluation harness: every hint level of every topic through the search, scored against its targets.

For each topic with targets and each hint level ``L = 1..len(hints)`` the hint text is searched (depth = the
largest k) and scored (``metrics.py``): rank of the first target, reciprocal rank, hit@k, recall@k, event rank and
event hit@k. Means per level are taken over the judged topics; a topic with fewer hints than ``L`` keeps its last
hint (as on the LSC screen, where the last hint stays shown), so every level averages the same topics. Topics
without targets (LSC'19's raw file) are listed as skipped. With a store, targets are looked up first
(``targets_in_store``): a target that is not in the store cannot be found, and ``skip_absent`` leaves such topics
out.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..engine.events import DEFAULT_GAP_MINUTES, Event, group_events
from ..engine.filters import Weights
from ..engine.store.base import Hit
from .metrics import event_rank, first_rank, hit_at, matched_targets, recall_at, reciprocal_rank
from .topics import Target, Topic, normalise_id

DEFAULT_KS = (1, 5, 10, 50)

# (hint text, depth) -> ranked hits best first, or an object with ``hits`` (and ``events``: a SearchResponse)
Searcher = Callable[[str, int], Any]


@dataclass
class LevelResult:
    """One hint level of one topic. ``hit``/``recall``/``event_hit`` are keyed by k."""

    level: int
    hint: str
    rank: int | None
    rr: float
    hit: dict[int, float]
    recall: dict[int, float]
    event_rank: int | None
    event_hit: dict[int, float]
    retrieved: int

    def to_json(self) -> dict[str, Any]:
        """JSON form: ``hit@k``, ``recall@k``, ``event_hit@k`` flattened."""
        out: dict[str, Any] = {"level": self.level, "hint": self.hint, "rank": self.rank, "rr": self.rr,
                               "event_rank": self.event_rank, "retrieved": self.retrieved}
        out.update({f"hit@{k}": v for k, v in self.hit.items()})
        out.update({f"recall@{k}": v for k, v in self.recall.items()})
        out.update({f"event_hit@{k}": v for k, v in self.event_hit.items()})
        return out


@dataclass
class TopicResult:
    """A topic's levels, or why it was skipped."""

    topic_id: str
    source: str | None
    n_targets: int
    targets_in_store: int | None = None
    levels: list[LevelResult] = field(default_factory=list)
    skipped: str | None = None

    def at(self, level: int) -> LevelResult:
        """The result shown at ``level`` (the last one past the last hint)."""
        return self.levels[min(level, len(self.levels)) - 1]

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"id": self.topic_id, "source": self.source, "n_targets": self.n_targets,
                "targets_in_store": self.targets_in_store, "skipped": self.skipped,
                "levels": [lv.to_json() for lv in self.levels]}


@dataclass
class LevelMean:
    """Means over the judged topics at one hint level; ``found`` = topics whose target was retrieved,
    ``mean_rank``/``median_rank`` over those."""

    level: int
    n: int
    hit: dict[int, float]
    recall: dict[int, float]
    mrr: float
    event_hit: dict[int, float]
    found: int
    mean_rank: float | None
    median_rank: float | None

    def to_json(self) -> dict[str, Any]:
        """JSON form, flattened like :meth:`LevelResult.to_json`."""
        out: dict[str, Any] = {"level": self.level, "topics": self.n, "mrr": self.mrr, "found": self.found,
                               "mean_rank": self.mean_rank, "median_rank": self.median_rank}
        out.update({f"hit@{k}": v for k, v in self.hit.items()})
        out.update({f"recall@{k}": v for k, v in self.recall.items()})
        out.update({f"event_hit@{k}": v for k, v in self.event_hit.items()})
        return out


@dataclass
class Report:
    """The harness output: per topic, and means per hint level."""

    ks: tuple[int, ...]
    depth: int
    topics: list[TopicResult]
    means: list[LevelMean]

    @property
    def judged(self) -> list[TopicResult]:
        """Topics that were scored."""
        return [t for t in self.topics if t.skipped is None]

    def to_json(self) -> dict[str, Any]:
        """The whole report as JSON-safe values."""
        return {"ks": list(self.ks), "depth": self.depth, "judged": len(self.judged),
                "skipped": [{"id": t.topic_id, "reason": t.skipped} for t in self.topics if t.skipped],
                "mean": [m.to_json() for m in self.means],
                "topics": [t.to_json() for t in self.topics]}

    def table(self) -> str:
        """A plain-text table: means per level, then each topic's first-target rank and [event rank] per level."""
        ks = self.ks
        lines = [f"{len(self.judged)} topics judged, {len(self.topics) - len(self.judged)} skipped; depth "
                 f"{self.depth}; a topic past its last hint keeps its last hint"]
        head = (["level", "n"] + [f"hit@{k}" for k in ks] + [f"R@{k}" for k in ks] + ["MRR"]
                + [f"ev@{k}" for k in ks] + ["found", "mean rank"])
        rows = []
        for m in self.means:
            rows.append([str(m.level), str(m.n)] + [f"{m.hit[k]:.3f}" for k in ks]
                        + [f"{m.recall[k]:.3f}" for k in ks] + [f"{m.mrr:.3f}"]
                        + [f"{m.event_hit[k]:.3f}" for k in ks]
                        + [str(m.found), "-" if m.mean_rank is None else f"{m.mean_rank:.1f}"])
        lines += _columns(head, rows)
        if self.judged:
            lines.append("")
            lines.append(f"per topic: rank of the first target at each hint level [rank of the first event "
                         f"containing one]; - = not in the top {self.depth}")
            width = max(len(t.topic_id) for t in self.judged)
            for t in self.judged:
                store = "" if t.targets_in_store is None else f", {t.targets_in_store} in store"
                cells = " ".join(f"{_r(lv.rank)}[{_r(lv.event_rank)}]" for lv in t.levels)
                lines.append(f"{t.topic_id:<{width}}  {t.n_targets} target(s){store}:  {cells}")
        for t in self.topics:
            if t.skipped:
                lines.append(f"skipped {t.topic_id}: {t.skipped}")
        if self.judged and all(t.targets_in_store == 0 for t in self.judged):
            lines.append("note: no target of any topic is in the store, so every score is 0 (are these topics for "
                         "this collection? --skip-absent leaves such topics out)")
        return "\n".join(lines)


def _r(rank: int | None) -> str:
    return "-" if rank is None else str(rank)


def _columns(head: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(c) for c in col) for col in zip(head, *rows)] if rows else [len(h) for h in head]
    fmt = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths))  # noqa: E731
    return [fmt(head)] + [fmt(r) for r in rows]


def resolve_targets(targets: Sequence[Target], store: Any) -> int:
    """Look the targets up in ``store``: ``get`` by id (a target found so takes the stored document's local
    time), else ``neighbours`` at the exact time. Fills ``Target.stored``; returns how many targets are in it."""
    found = 0
    for t in targets:
        docs = store.get(list(dict.fromkeys(t.raw))) if t.raw else []
        if not docs and t.time is not None:
            docs = store.neighbours(t.time, 0, 0, limit=50)
        for d in docs:
            t.stored.append(d["image_id"])
            t.ids.add(normalise_id(d["image_id"]))
            if t.raw and d.get("local_time") is not None:
                t.time = d["local_time"].replace(tzinfo=None, microsecond=0)
        found += bool(docs)
    return found


def evaluate_level(topic: Topic, level: int, targets: Sequence[Target], hits: Sequence[Hit],
                   ks: Sequence[int], gap_minutes: float = DEFAULT_GAP_MINUTES,
                   events: Sequence[Event] | None = None) -> LevelResult:
    """Score one ranked list (``hits``, best first) of ``topic`` at hint ``level``; ``events`` are the events the
    search service made of them (default: ``group_events(hits, gap_minutes)``)."""
    matches = matched_targets(hits, targets)
    rank = first_rank(matches)
    erank = event_rank(events if events else group_events(hits, gap_minutes), targets)
    return LevelResult(level, topic.hint(level), rank, reciprocal_rank(rank), {k: hit_at(rank, k) for k in ks},
                       {k: recall_at(matches, len(targets), k) for k in ks}, erank,
                       {k: hit_at(erank, k) for k in ks}, len(hits))


def run_topics(topics: Sequence[Topic], searcher: Searcher, ks: Sequence[int] = DEFAULT_KS, *, store: Any = None,
               skip_absent: bool = False, gap_minutes: float = DEFAULT_GAP_MINUTES,
               progress: Callable[[str], None] | None = None) -> Report:
    """Run every hint level of every topic through ``searcher`` and score it.

    Args:
        topics: the topics (``topics.load_topics``).
        searcher: ``(text, depth) -> hits`` or a SearchResponse (``service_searcher`` for the configured store
            and models); a response's own ``events`` are scored, else the hits are grouped here.
        ks: cut-offs; the search depth is ``max(ks)``.
        store: when given, targets are looked up in it first (``targets_in_store``).
        skip_absent: with a store, skip topics none of whose targets is in it.
        gap_minutes: event grouping gap (``engine.events.group_events``).
        progress: called with each topic id before it runs.
    Raises:
        ValueError: ``ks`` empty or holding a value outside 1..1000.
    """
    ks = tuple(sorted(set(int(k) for k in ks)))
    if not ks or ks[0] < 1 or ks[-1] > 1000:
        raise ValueError(f"k values must be 1-1000, got {list(ks)}")
    depth = ks[-1]
    results: list[TopicResult] = []
    for topic in topics:
        targets = topic.targets()
        res = TopicResult(topic.id, topic.source, len(targets))
        results.append(res)
        if not targets:
            res.skipped = "no targets"
            continue
        if not topic.hints:
            res.skipped = "no hint text"
            continue
        if store is not None:
            res.targets_in_store = resolve_targets(targets, store)
            if skip_absent and res.targets_in_store == 0:
                res.skipped = "no target in the store"
                continue
        if progress:
            progress(topic.id)
        for level, hint in enumerate(topic.hints, 1):
            out = searcher(hint, depth)
            hits = list(getattr(out, "hits", out))[:depth]
            res.levels.append(evaluate_level(topic, level, targets, hits, ks, gap_minutes,
                                             getattr(out, "events", None)))
    return Report(ks, depth, results, level_means(results, ks))


def level_means(results: Sequence[TopicResult], ks: Sequence[int]) -> list[LevelMean]:
    """Means per hint level over the judged topics (a topic past its last hint keeps its last level)."""
    judged = [r for r in results if r.skipped is None and r.levels]
    if not judged:
        return []
    out = []
    for level in range(1, max(len(r.levels) for r in judged) + 1):
        rows = [r.at(level) for r in judged]
        ranks = [lv.rank for lv in rows if lv.rank is not None]
        n = len(rows)
        out.append(LevelMean(
            level, n, {k: sum(lv.hit[k] for lv in rows) / n for k in ks},
            {k: sum(lv.recall[k] for lv in rows) / n for k in ks}, sum(lv.rr for lv in rows) / n,
            {k: sum(lv.event_hit[k] for lv in rows) / n for k in ks}, len(ranks),
            sum(ranks) / len(ranks) if ranks else None, float(statistics.median(ranks)) if ranks else None))
    return out


def service_searcher(service: Any, weights: Weights | None = None, parse: bool = False) -> Searcher:
    """A :data:`Searcher` over ``engine.search.SearchService`` (the configured store and models), returning its
    SearchResponse (hits and the events the page shows).

    Args:
        service: the SearchService.
        weights: fusion weights (default: SearchRequest's default 0.7 / 0.3).
        parse: let the service's query understanding parse the hint (``SearchRequest.understand``): its key:value
            filters become hard filters, its time/place constraints soft boosts and CLIP gets the visual
            remainder; otherwise the hint goes to both encoders as typed.
    """
    from ..engine.search import SearchRequest

    def search(text: str, depth: int) -> Any:
        kw: dict[str, Any] = {"text": text, "limit": depth, "understand": parse}
        if weights is not None:
            kw["weights"] = weights
        return service.search(SearchRequest(**kw))

    return search

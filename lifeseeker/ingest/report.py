"""What an ingest run did, and how it shows its progress: per-stage counters and busy time (``StageStats``), the
run's ``IngestReport`` (counts, failures with reasons, ``summary`` for the CLI) and the tqdm bars (``Bars``).

Filled in by ``pipeline.Ingestor`` and ``document.build_document``; nothing here reads images or the store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

from ..terminal import printable

STAGES = ("decode", "clip", "caption", "ocr", "capmeta", "tat", "write")


@dataclass
class StageStats:
    """Images through one stage and the seconds it was busy (decode: summed over worker threads)."""

    images: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Images per busy second (0 when nothing ran)."""
        return self.images / self.seconds if self.seconds > 0 else 0.0


@dataclass
class IngestReport:
    """What an ingest did. ``failed`` and ``notes`` hold ``(path, reason)`` pairs.

    Attributes:
        indexed: documents written (new ones and ``updated`` ones).
        updated: stored documents partially recomputed because a model changed.
        skipped: stored with the same models: nothing recomputed.
        out_of_shard: records left to other shards.
        inputs_changed: stored documents rebuilt because a provided value (CSV row, copies) or the file's
            size/mtime changed; changed_files: files whose bytes changed (recomputed from scratch).
        copies: files folded into another document as byte-identical copies.
        renamed: ``(old id, new id)`` of documents moved to a renamed file, or from an id an older version gave.
        vanished: ``collection/path`` of documents deleted because their file is gone; kept_missing: those kept
            (``--keep-missing``). deleted: documents deleted (vanished + the old ids of renames).
        stages: stage name -> StageStats (``STAGES``); ``wall_s`` the whole run.
    """

    seen: int = 0
    indexed: int = 0
    skipped: int = 0
    updated: int = 0
    out_of_shard: int = 0
    inputs_changed: int = 0
    changed_files: int = 0
    copies: int = 0
    deleted: int = 0
    renamed: list[tuple[str, str]] = field(default_factory=list)
    vanished: list[str] = field(default_factory=list)
    kept_missing: list[str] = field(default_factory=list)
    with_time: int = 0
    with_gps: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    no_time: list[str] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    stages: dict[str, StageStats] = field(default_factory=lambda: {s: StageStats() for s in STAGES})
    wall_s: float = 0.0
    device: str = ""

    def note_kinds(self) -> list[tuple[str, int]]:
        """``(kind, count)`` of ``notes``, most frequent first (ties: kind): a note's kind is its text with the
        quoted and numeric parts (values, file:line) replaced by ``…``."""
        counts: dict[str, int] = {}
        for _, note in self.notes:
            kind = note_kind(note)
            counts[kind] = counts.get(kind, 0) + 1
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    def summary(self, verbose: bool = False) -> str:
        """One paragraph for the CLI: counts, failures with reasons, notes per kind (and, ``verbose``, per file:
        path and reason), images/s per stage. File names and reasons have their control characters escaped
        (``terminal.printable``), so a file name cannot forge a line or send escape sequences."""
        lines = [f"seen {self.seen}, indexed {self.indexed}, skipped (already indexed) {self.skipped}, "
                 f"failed {len(self.failed)}"
                 + (f", updated (a model changed) {self.updated}" if self.updated else "")
                 + (f", left to other shards {self.out_of_shard}" if self.out_of_shard else ""),
                 f"of the indexed: {self.with_time} with a capture time, {self.with_gps} with GPS, "
                 f"{len(self.no_time)} without a capture time"]
        changes = [f"{n} {what}" for n, what in (
            (self.inputs_changed, "re-read (inputs changed)"), (self.changed_files, "re-computed (file changed)"),
            (self.copies, "byte-identical copies folded into one document"), (len(self.renamed), "renamed"),
            (len(self.vanished), "removed (file gone)"),
            (len(self.kept_missing), "kept although the file is gone (--keep-missing)")) if n]
        if changes:
            lines.append("re-scan: " + ", ".join(changes))
        lines += [f"  renamed: {printable(a)} -> {printable(b)}" for a, b in self.renamed[:20]]
        lines += [f"  removed: {printable(p)}" for p in self.vanished[:20]]
        lines += [f"  kept (missing): {printable(p)}" for p in self.kept_missing[:20]]
        lines += [f"  failed: {printable(p)}: {printable(r)}" for p, r in self.failed]
        if self.notes:
            lines.append(f"notes: {len(self.notes)} in {len({p for p, _ in self.notes})} files"
                         + ("" if verbose else " (-v lists them per file)"))
            lines += [f"  {n:5d} x {printable(kind)}" for kind, n in self.note_kinds()]
            if verbose:
                lines += [f"  note: {printable(p)}: {printable(r)}" for p, r in self.notes]
        ran = [(s, st) for s, st in self.stages.items() if st.images]
        if ran:
            total = self.indexed / self.wall_s if self.wall_s > 0 else 0.0
            lines.append(f"throughput {total:.1f} images/s over {self.wall_s:.1f} s"
                         + (f" on {self.device}" if self.device else "") + "; per stage (busy time): "
                         + ", ".join(f"{s} {st.rate:.1f}/s" for s, st in ran))
        return "\n".join(lines)


_VALUE = re.compile(r"'[^']*'|\"[^\"]*\"|\([^)]*\)|\S+\.csv:\d+|-?\d+(?:[.:\-]\d+)*(?:,\s*-?\d+(?:[.:]\d+)*)*")


def note_kind(note: str) -> str:
    """The kind of a per-file note: ``"GPS out of range: 95.0000, 6.2500"`` -> ``"GPS out of range: …"``."""
    return _VALUE.sub("…", note)


class Bars:
    """One tqdm bar for the run and one per stage (images through it, busy-time images/s in the postfix)."""

    def __init__(self, enabled: bool, total: int | None, stages: Sequence[str]):
        """``enabled`` False -> bars that draw nothing; ``total`` images of the run (None: unknown); ``stages``:
        the names of the stages that run (one bar each)."""
        from tqdm import tqdm

        self.enabled = enabled
        self.main = tqdm(total=total, unit="img", desc="ingest", disable=not enabled, smoothing=0.1, position=0)
        self.bars = {s: tqdm(total=total, unit="img", desc=f"  {s}", disable=not enabled, smoothing=0.1,
                             position=i + 1, leave=False) for i, s in enumerate(stages)}

    def stage(self, name: str, n: int, stats: StageStats) -> None:
        """``n`` more images through stage ``name``; its postfix shows ``stats.rate``."""
        bar = self.bars.get(name)
        if bar is not None and self.enabled:
            bar.update(n)
            bar.set_postfix_str(f"busy {stats.rate:.1f} img/s", refresh=False)

    def close(self) -> None:
        """Close every bar (the stage bars vanish, the run's bar stays)."""
        for bar in self.bars.values():
            bar.close()
        self.main.close()


__all__ = ["STAGES", "StageStats", "IngestReport", "Bars", "note_kind"]

"""Known-item topics with progressive hints and their targets, read from the LSC formats.

Formats (tests/fixtures/lsc-topics/README.md):

* **LSC'20 raw** (``lsc20-kis-raw.txt``): blocks separated by blank lines; a block opens with the topic number on a
  line of its own, then one line per hint (each hint repeats and extends the previous one), then one line per
  target image id (``B00003681_21I6X0_20180510_072838E``, ``b00000946_21i6bq_20150224_161907e``,
  ``20150224_161907e`` or ``20160921_064230_000``).
* **LSC'19 raw** (``lsc19-raw.txt``): one full description per topic ending in ``</Description>``, no numbers and
  no targets (topics are numbered 01, 02... in file order).
* **JSON lines** (``topics.jsonl``): ``{"id", "text", "truth_times": [ISO local times], "source"}``; also
  accepted: ``"hints": [...]`` (progressive) and ``"targets": [image ids]``.

A target is an image id or a local capture time. An id that carries a ``YYYYMMDD_HHMMSS`` stamp also gives its
time, so a target matches a hit by id, or by a hit's ``local_time`` equal to the target time to the second (the
LSC'20 ids name images of an older collection whose ids differ from today's: the time still finds them).
Ids that are the same image written twice (``b00000946_21i6bq_20150224_161907e`` and ``20150224_161907e``) are one
target; truth times equal to an id's time add nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".heic", ".heif", ".bmp", ".gif")
_TARGET_LINE = re.compile(r"[A-Za-z0-9_.\-/]*\d{8}_\d{6}[A-Za-z0-9_.\-]*")
_NUMBER_LINE = re.compile(r"\d{1,4}")


class TopicFormatError(ValueError):
    """A topic file cannot be read; the message names the file and the line."""


def normalise_id(image_id: str) -> str:
    """Comparable form of an image id: case-folded, ``/`` separators, image extension removed."""
    s = image_id.strip().replace("\\", "/").casefold()
    stem, dot, ext = s.rpartition(".")
    if dot and stem and "." + ext in IMAGE_SUFFIXES:
        s = stem
    return s


def time_from_id(image_id: str) -> datetime | None:
    """The capture time in an LSC image id (``..._YYYYMMDD_HHMMSS...``), or None (the ingest's own parser)."""
    from ..ingest.sources.lsc import time_from_name

    return time_from_name(image_id)


@dataclass
class Target:
    """One target image: any of ``ids`` (normalised), or its local ``time`` (naive, to the second)."""

    key: str
    ids: set[str] = field(default_factory=set)
    time: datetime | None = None
    raw: list[str] = field(default_factory=list)  # the ids as written (store lookups are case-sensitive)
    stored: list[str] = field(default_factory=list)  # ids of the store's documents showing it (resolve_targets)

    def matches(self, image_id: str, local_time: datetime | None) -> bool:
        """Does a hit with this id and local time show this target?"""
        hid = normalise_id(image_id)
        base = hid.rsplit("/", 1)[-1]
        for tid in self.ids:
            if hid == tid or ("/" not in tid and base == tid):
                return True
        return self.time is not None and local_time is not None and _naive(local_time) == self.time


@dataclass(frozen=True)
class Topic:
    """A known-item topic.

    Attributes:
        id: e.g. ``LSC20-66``.
        hints: progressive hints, shortest first (one for a topic without progression).
        target_ids: target image ids as written.
        target_times: target local capture times (naive).
        source: e.g. ``LSC20``.
    """

    id: str
    hints: tuple[str, ...]
    target_ids: tuple[str, ...] = ()
    target_times: tuple[datetime, ...] = ()
    source: str | None = None

    def hint(self, level: int) -> str:
        """The hint shown at ``level`` (1-based); past the last hint the last one stays shown."""
        if level < 1:
            raise ValueError(f"hint level starts at 1, got {level}")
        return self.hints[min(level, len(self.hints)) - 1]

    def targets(self) -> list[Target]:
        """The distinct targets (see the module docstring for what counts as one)."""
        out: list[Target] = []
        for raw in self.target_ids:
            tid = normalise_id(raw)
            if not tid:
                continue
            same = next((t for t in out if any(_same_image(tid, x) for x in t.ids)), None)
            if same is not None:
                same.ids.add(tid)
                same.raw.append(raw.strip())
                continue
            out.append(Target(tid, {tid}, time_from_id(tid), [raw.strip()]))
        for when in self.target_times:
            when = _naive(when)
            if not any(t.time == when for t in out):
                out.append(Target(when.isoformat(), set(), when))
        return out


def _same_image(a: str, b: str) -> bool:
    return a == b or a.endswith("_" + b) or b.endswith("_" + a)


def _naive(t: datetime) -> datetime:
    return t.replace(tzinfo=None, microsecond=0)


def parse_lsc_raw(text: str, source: str | None = None, name: str = "<text>") -> list[Topic]:
    """Topics from an LSC raw topic text (the LSC'20 numbered-block format or the LSC'19 ``</Description>``
    format, detected from the content). Ids become ``"<source>-<number>"`` (numbers zero-padded to 2 digits), or
    the bare number without a source.

    Raises:
        TopicFormatError: a block without a number, or text that is neither format.
    """
    lines = [ln.replace("\ufeff", "").strip() for ln in text.splitlines()]
    if any(ln.endswith("</Description>") for ln in lines):
        topics = []
        for ln in lines:
            if ln.endswith("</Description>"):
                desc = ln[: -len("</Description>")].strip()
                if desc:
                    num = f"{len(topics) + 1:02d}"
                    topics.append(Topic(f"{source}-{num}" if source else num, (desc,), source=source))
        return topics
    topics: list[Topic] = []
    block: list[tuple[int, str]] = []
    for lineno, ln in enumerate(lines + [""], 1):
        if ln:
            block.append((lineno, ln))
            continue
        if block:
            topics.append(_raw_block(block, source, name))
            block = []
    if not topics:
        raise TopicFormatError(f"{name}: no topics found (expected numbered blocks or </Description> lines)")
    return topics


def _raw_block(block: list[tuple[int, str]], source: str | None, name: str) -> Topic:
    lineno, first = block[0]
    if not _NUMBER_LINE.fullmatch(first):
        raise TopicFormatError(f"{name}:{lineno}: expected a topic number, got {first[:60]!r}")
    num = f"{int(first):02d}"
    hints, targets = [], []
    for ln_no, ln in block[1:]:
        if _TARGET_LINE.fullmatch(ln) and " " not in ln:
            targets.append(ln)
        elif targets:
            raise TopicFormatError(f"{name}:{ln_no}: hint text after the target ids of topic {num}")
        else:
            hints.append(ln)
    return Topic(f"{source}-{num}" if source else num, tuple(hints), tuple(dict.fromkeys(targets)), (), source)


def json_lines(text: str, name: str, error: type[Exception]) -> Iterator[tuple[int, Any]]:
    """``(line number, parsed value)`` of each non-blank line of a JSON-lines ``text``.

    Raises:
        error: a line that is not JSON, as ``"<name>:<line>: not JSON (...)"``.
    """
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield lineno, json.loads(line)
        except ValueError as exc:
            raise error(f"{name}:{lineno}: not JSON ({exc})") from None


def parse_jsonl(text: str, name: str = "<text>") -> list[Topic]:
    """Topics from JSON lines (``topics.jsonl`` shape, see the module docstring).

    Raises:
        TopicFormatError: a line that is not a JSON object, lacks ``id`` or text, or holds a bad time.
    """
    topics = []
    for lineno, rec in json_lines(text, name, TopicFormatError):
        if not isinstance(rec, dict) or not rec.get("id"):
            raise TopicFormatError(f"{name}:{lineno}: expected an object with an \"id\"")
        hints = rec.get("hints") or ([rec["text"]] if rec.get("text") else [])
        if not hints or not all(isinstance(h, str) and h.strip() for h in hints):
            raise TopicFormatError(f"{name}:{lineno}: topic {rec['id']!r} has no \"text\" or \"hints\"")
        times = []
        for raw in rec.get("truth_times") or ():
            try:
                times.append(_naive(datetime.fromisoformat(str(raw))))
            except ValueError:
                raise TopicFormatError(f"{name}:{lineno}: truth time {raw!r} is not ISO 8601") from None
        targets = tuple(str(t) for t in rec.get("targets") or ())
        topics.append(Topic(str(rec["id"]), tuple(h.strip() for h in hints), targets, tuple(times),
                            rec.get("source")))
    return topics


def load_topics(path: str | Path, source: str | None = None) -> list[Topic]:
    """Topics from a file: ``.jsonl``/``.json`` lines, else an LSC raw text. ``source`` defaults to ``LSCnn`` when
    the file name contains ``lscNN`` (e.g. ``lsc20-kis-raw.txt`` -> ``LSC20``).

    Raises:
        OSError: the file cannot be read.
        TopicFormatError: its content is not a topic format.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() in (".jsonl", ".json") or text.lstrip().startswith("{"):
        return parse_jsonl(text, path.name)
    if source is None:
        m = re.search(r"lsc(\d{2})", path.name, re.I)
        source = f"LSC{m.group(1)}" if m else None
    return parse_lsc_raw(text, source, path.name)


def merge_topics(groups: Iterable[Sequence[Topic]]) -> list[Topic]:
    """Several topic lists as one, the first occurrence of each id winning; later ones add targets and truth
    times to it and replace a single hint with a longer progression."""
    by_id: dict[str, Topic] = {}
    for topics in groups:
        for t in topics:
            old = by_id.get(t.id)
            if old is None:
                by_id[t.id] = t
                continue
            hints = t.hints if len(t.hints) > len(old.hints) else old.hints
            by_id[t.id] = Topic(old.id, hints, tuple(dict.fromkeys(old.target_ids + t.target_ids)),
                                tuple(dict.fromkeys(old.target_times + t.target_times)), old.source or t.source)
    return list(by_id.values())


def topic_json(t: Topic) -> dict[str, Any]:
    """A topic as JSON (the jsonl input shape with ``hints`` and ``targets``)."""
    return {"id": t.id, "source": t.source, "hints": list(t.hints), "targets": list(t.target_ids),
            "truth_times": [x.isoformat() for x in t.target_times]}

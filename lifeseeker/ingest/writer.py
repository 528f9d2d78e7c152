"""Write grouping for the ingest pipeline: built documents are accumulated and handed to the store in groups, so a
store write carries ``write_batch`` documents (default 500) instead of one compute batch (``--batch-size``, 16).

On Elasticsearch one ``upsert`` is one or more ``_bulk`` requests of at most the store's ``chunk_size`` (500,
``engine/store/elastic/bulk.py``): 16 documents per request meant 62,500 requests per 1M images (issue 15), 500
per request means 2,000. On the embedded Lance store one ``upsert`` is one commit (a data file and a table version),
so grouping also means fewer, larger fragments.

A group is written when it holds ``write_batch`` documents, or when ``write_flush_s`` seconds have passed since its
first unwritten document (checked each time a batch is added: a slow OCR/captioning run still writes regularly, and
a crash loses at most that window plus the batch in flight), and always at the end of the run, before the run's
deletes. The clock is injectable (``clock``: seconds, monotonic) so the time rule is tested without sleeping.
"""

from __future__ import annotations

import time
from typing import Callable

from ..engine.store.base import Doc

WRITE_BATCH = 500  # documents per store write (= ElasticStore's bulk chunk, engine/store/elastic/bulk.py)
WRITE_FLUSH_S = 30.0  # seconds an unwritten document may wait for its group to fill


class WriteGroups:
    """Documents waiting to be written, with the number of images each compute batch finished (for the run's
    progress bar, advanced when a batch's last document is written).

    Args:
        write_batch: documents per group (>= 1).
        flush_s: seconds after the first unwritten document at which a partial group is due (> 0).
        clock: seconds (monotonic); called once per :meth:`add` that brings documents.
    """

    def __init__(self, write_batch: int = WRITE_BATCH, flush_s: float = WRITE_FLUSH_S,
                 clock: Callable[[], float] = time.monotonic):
        if write_batch < 1:
            raise ValueError(f"write_batch must be >= 1, got {write_batch}")
        if not flush_s > 0:
            raise ValueError(f"write_flush_s must be > 0, got {flush_s}")
        self.write_batch, self.flush_s, self.clock = write_batch, flush_s, clock
        self.docs: list[Doc] = []
        self._marks: list[list[int]] = []  # [docs in self.docs up to the end of a batch, images of that batch]
        self._first: float | None = None  # clock() when the first unwritten document arrived
        self._now: float | None = None

    def __len__(self) -> int:
        return len(self.docs)

    def add(self, docs: list[Doc], n_images: int) -> None:
        """Queue ``docs``, the documents of one compute batch of ``n_images`` images (failed ones included)."""
        if not docs:
            return
        self._now = self.clock()
        if self._first is None:
            self._first = self._now
        self.docs.extend(docs)
        self._marks.append([len(self.docs), n_images])

    def due(self) -> bool:
        """Whether a group should be written now: ``write_batch`` documents wait, or the first of them has waited
        ``flush_s`` seconds (as of the last :meth:`add`)."""
        if not self.docs:
            return False
        return len(self.docs) >= self.write_batch or (self._now - self._first) >= self.flush_s

    def take(self) -> tuple[list[Doc], int]:
        """The next group: at most ``write_batch`` documents, oldest first, and the images of the batches it
        completes. The time window restarts at the next :meth:`add` when nothing is left."""
        k = min(self.write_batch, len(self.docs))
        group, self.docs = self.docs[:k], self.docs[k:]
        done = sum(n for end, n in self._marks if end <= k)
        self._marks = [[end - k, n] for end, n in self._marks if end > k]
        if not self.docs:
            self._first = None
        else:  # the rest keeps waiting from now: it is younger than the group just taken
            self._first = self._now
        return group, done


__all__ = ["WriteGroups", "WRITE_BATCH", "WRITE_FLUSH_S"]

"""Inverted indexes of the embedded store's snapshot: keyword columns (``KeywordIndex``: ``Terms`` filters, folded
facets, soft place matches) and words of text columns (``_Postings``: ``TextMatch``), both built with Arrow kernels
and one stable sort (``_invert``), once per snapshot.
"""

from __future__ import annotations

from functools import cached_property
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...text import fold, tokens


def _invert(keys: np.ndarray, n_keys: int, rows: np.ndarray | None = None, unique: bool = False
            ) -> tuple[np.ndarray, np.ndarray]:
    """Inverted lists from one key per posting: (int32 rows grouped by key, int64 starts of shape (n_keys + 1,)),
    the rows of key ``k`` being ``out[starts[k]:starts[k + 1]]``, in their input order (a stable sort).

    Args:
        keys: (m,) int key of each posting, 0..n_keys-1; -1 = no key (left out).
        n_keys: number of keys.
        rows: (m,) row of each posting, ascending (default: the posting's position).
        unique: keep each (key, row) pair once.
    """
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    out = order if rows is None else rows[order]
    if unique and len(keys):
        first = np.ones(len(keys), dtype=bool)
        first[1:] = (keys[1:] != keys[:-1]) | (out[1:] != out[:-1])
        keys, out = keys[first], out[first]
    starts = np.searchsorted(keys, np.arange(n_keys + 1)).astype(np.int64)
    return np.ascontiguousarray(out, dtype=np.int32), starts


class KeywordIndex:
    """A keyword column as an inverted index. The rows holding dictionary value ``c`` (or, for array fields, an
    element equal to it) are ``rows[starts[c]:starts[c + 1]]`` (int32; a row repeats when an array holds the value
    twice), so a filter tests each distinct value once and then touches only the matching rows.

    Args:
        col: the column (string, or list of strings for array fields; nulls allowed).
        n: rows in the snapshot.
        folding: normalise values with ``text.fold`` (the mapping's folding normalizer), else compare them as they
            are.
    Attributes:
        rows, starts: the inverted lists (int32 rows, int64 starts of shape (n_values + 1,)).
        normed: the normalised dictionary values; raw: the dictionary values as stored.
    """

    def __init__(self, col: pa.Array, n: int, folding: bool):
        self.n, self.folding = n, folding
        owner = None
        self.is_list = pa.types.is_list(col.type)
        if self.is_list:
            owner = np.asarray(pc.list_parent_indices(col), dtype=np.int32)
            col = pc.list_flatten(col)
        encoded = pc.dictionary_encode(col)
        codes = np.asarray(encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
        self.rows, self.starts = _invert(codes, len(encoded.dictionary), owner)
        self.raw = encoded.dictionary.to_pylist()
        self.normed = [self._norm(v) for v in self.raw]

    def _norm(self, value: str) -> str:
        return fold(value) if self.folding else str(value)

    @cached_property
    def codes_of(self) -> dict[str, list[int]]:
        """Normalised value -> the dictionary codes that normalise to it (one dictionary pass, once per index)."""
        out: dict[str, list[int]] = {}
        for c, v in enumerate(self.normed):
            out.setdefault(v, []).append(c)
        return out

    def rows_in(self, values: Sequence[str]) -> np.ndarray:
        """Sorted unique int64 rows whose value (or any element) normalises to one of ``values`` normalised: a
        dictionary lookup, then the matching inverted lists (cost proportional to the matching rows)."""
        codes = sorted({c for v in values for c in self.codes_of.get(self._norm(v), ())})
        parts = [self.rows[self.starts[c]:self.starts[c + 1]] for c in codes]
        if not parts:
            return np.zeros(0, dtype=np.int64)
        if len(parts) == 1 and not self.is_list:  # one value of a scalar field: already sorted, each row once
            return parts[0].astype(np.int64)
        return np.unique(np.concatenate(parts)).astype(np.int64, copy=False)

    def mask_in(self, values: Sequence[str]) -> np.ndarray:
        """(n,) bool: rows whose value (or any element) normalises to one of ``values`` normalised."""
        wanted = {self._norm(v) for v in values}
        mask = np.zeros(self.n, dtype=bool)
        for c, v in enumerate(self.normed):
            if v in wanted:
                mask[self.rows[self.starts[c]:self.starts[c + 1]]] = True
        return mask

    @cached_property
    def _facet_groups(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
        """(posting rows, code of each posting, group of each posting, repeat flag of each posting, group of each
        code, number of groups): the postings grouped by normalised value, a row's second posting in one group
        flagged as a repeat."""
        rows, starts, normed = self.rows, self.starts, self.normed
        groups: dict[str, int] = {}
        group_of_code = np.array([groups.setdefault(v, len(groups)) for v in normed], dtype=np.int64)
        posting_rows = rows[starts[0]:starts[-1]]
        code = np.repeat(np.arange(len(normed)), np.diff(starts))
        group = group_of_code[code]
        order = np.lexsort((posting_rows, group))  # (group, row) pairs in order: repeats sit side by side
        repeat = np.zeros(len(group), dtype=bool)
        same = (group[order][1:] == group[order][:-1]) & (posting_rows[order][1:] == posting_rows[order][:-1])
        repeat[order[1:][same]] = True
        return posting_rows, code, group, repeat, group_of_code, len(groups)

    def folded_counts(self, mask: np.ndarray) -> list[tuple[str, int]]:
        """Facet counts among rows passing ``mask`` ((n,) bool): one bucket per normalised value ("Spain", "SPAIN",
        "spain" are one when folding), counting documents (a row whose array holds two spellings of one value
        counts once), shown in its most frequent spelling among the passing rows (ties: the smallest). Unsorted
        ``(shown, count)`` pairs; the same buckets as Elasticsearch's ``terms`` aggregation on the folded
        keyword."""
        posting_rows, code, group, repeat, group_of_code, n_groups = self._facet_groups
        passing = mask[posting_rows]
        counts = np.bincount(group[passing & ~repeat], minlength=n_groups)
        per_code = np.bincount(code[passing], minlength=len(self.normed))
        shown: dict[int, tuple[int, str]] = {}
        for c in np.flatnonzero(per_code):
            g = int(group_of_code[c])
            best = shown.get(g)
            cand = (-int(per_code[c]), str(self.raw[c]))
            if best is None or cand < best:
                shown[g] = cand
        return [(spelling, int(counts[g])) for g, (_, spelling) in shown.items()]


class _Postings:
    """An inverted index of one text column: for each word, the sorted rows holding it.

    Words are made by ``text.tokens``, the function that splits a query (Elasticsearch's ``standard`` analyzer:
    UAX #29 word boundaries, lower-cased), so ``TextMatch`` is a dictionary lookup, not a scan, and agrees with
    Elasticsearch. Each distinct value of the column is tokenised once (Arrow ``dictionary_encode``), then the
    (row, word) pairs are gathered with numpy and inverted with one stable sort.

    Attributes:
        words: folded word -> word number.
        starts: (n_words + 1,) int64; rows of word w are ``row_ids[starts[w]:starts[w + 1]]``.
        row_ids: int32 row numbers, ascending within each word, each row once per word.
    """

    def __init__(self, words: dict[str, int], starts: np.ndarray, row_ids: np.ndarray):
        self.words, self.starts, self.row_ids = words, starts, row_ids

    @classmethod
    def build(cls, col: pa.Array) -> "_Postings":
        """Index ``col`` (string or large_string, nulls allowed)."""
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        encoded = pc.dictionary_encode(col)
        words: dict[str, int] = {}
        per_value = [sorted({words.setdefault(w, len(words)) for w in tokens(v)}) if v else []
                     for v in encoded.dictionary.to_pylist()]
        lens = np.array([len(p) for p in per_value] + [0], dtype=np.int64)  # last: null rows
        flat = np.array([w for p in per_value for w in p], dtype=np.int32)
        offs = np.concatenate([[0], np.cumsum(lens)])
        codes = np.asarray(encoded.indices.fill_null(len(per_value)).to_numpy(zero_copy_only=False), dtype=np.int64)
        row_lens = lens[codes]
        parents = np.repeat(np.arange(len(codes), dtype=np.int32), row_lens)
        total = int(row_lens.sum())
        # position of each pair inside its value's word list, plus that value's offset in ``flat``
        within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(row_lens) - row_lens, row_lens)
        word = flat[np.repeat(offs[codes], row_lens) + within] if total else np.zeros(0, dtype=np.int32)
        row_ids, starts = _invert(word, len(words), parents, unique=True)
        return cls(words, starts, row_ids)

    def rows(self, word: str) -> np.ndarray:
        """Sorted int32 rows holding ``word`` (already case-folded, as ``tokens()`` gives it)."""
        w = self.words.get(word)
        if w is None:
            return np.zeros(0, dtype=np.int32)
        return self.row_ids[self.starts[w]:self.starts[w + 1]]

"""The embedded store's snapshot: the word index behind full-text filters and the memory-mapped scalar columns.

The word index must give exactly the whole-word semantics of ``text.tokens`` (Elasticsearch's standard analyzer:
UAX #29 words, lower-cased per code point; the reference in ``tests/reference.py``); the scalar columns are read from one Arrow IPC file per table version, memory-mapped (so
workers share it), and never from a stale file of another table that reached the same version number.
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pyarrow as pa
import pytest

from lifeseeker.engine import filters as F
from lifeseeker.engine.store.base import VectorQuery
from lifeseeker.engine.store.lance import LanceStore, _Postings

from .reference import _words, passes
from .synth import corpus, lance_store

TEXTS = [
    "A cup of COFFEE, on the desk",        # 0
    "coffee-shop receipt #42",             # 1
    "cafeteria menu",                      # 2: 'cafe' is not a word here
    None,                                  # 3
    "",                                    # 4
    "snake_case words and 42nd street",    # 5: '_' joins (one word 'snake_case', as in Lucene), '42nd' is one word
    "STRASSE sign; Straße near Málaga",    # 6: lower case only: 'straße' and 'strasse' stay two words
    "ÉCOLE école ecole",                   # 7: accents are kept (the standard analyzer does not fold)
    "coffee coffee coffee",                # 8: one posting per row
    "東京 station",                         # 9: each ideograph is a word
    "İSTANBUL havalimanı; Iğdır",          # 10: per-code-point lower case: 'İ' -> 'i', so 'istanbul' is a word
    "Ἀθῆναι ᾷδω ǰournal",                  # 11
    "ﬁsh ﬃ ½",                             # 12: ligatures stay (no NFKC)
    "price 3.5, don't; foo_bar",           # 13: the three words stay whole
]


def reference_rows(texts: list[str | None], word: str) -> list[int]:
    """Rows holding ``word`` as a whole word: the semantics of tests/reference.py (standard-analyzer words)."""
    return [i for i, t in enumerate(texts) if word in _words(t or "")]


@pytest.mark.parametrize("query", ["coffee", "cup", "cafe", "cafeteria", "shop", "42", "42nd", "snake", "case",
                                   "strasse", "école", "ecole", "málaga", "東京", "station", "desk", "missing",
                                   "İSTANBUL", "istanbul", "stanbul", "IĞDIR", "Ἀθῆναι", "ᾷδω", "ǰournal",
                                   "journal", "fish", "ffi", "½", "snake_case", "3.5", "don't", "foo_bar", "foo"])
def test_word_index_matches_the_reference_semantics(query):
    index = _Postings.build(pa.array(TEXTS, pa.string()))
    for word in F.tokens(query):  # the query's words, as TextMatch looks them up
        assert index.rows(word).tolist() == reference_rows(TEXTS, word), (query, word)


@pytest.mark.parametrize("text", [t for t in TEXTS if t])
def test_every_text_matches_its_own_words(text):
    index = _Postings.build(pa.array(TEXTS, pa.string()))
    for word in F.tokens(text):
        assert TEXTS.index(text) in index.rows(word).tolist(), (text, word)


def test_word_index_rows_are_sorted_and_unique():
    index = _Postings.build(pa.array(TEXTS * 3, pa.large_string()))
    rows = index.rows("coffee")
    n = len(TEXTS)
    assert rows.tolist() == [0, 1, 8, n, n + 1, n + 8, 2 * n, 2 * n + 1, 2 * n + 8]
    assert rows.dtype == np.int32


def test_text_filter_counts_through_the_store_equal_the_reference(tmp_path):
    docs = corpus(300, seed=9, d_clip=16, d_text=8)
    docs[5]["ocr_text"] = "Straße EXIT_sign"
    docs[6]["ocr_text"] = "strasse"
    store = lance_store(tmp_path / "s", docs)
    for text in ["heinz", "coffee exit", "STRASSE", "exit sign", "dublin", "Málaga"]:
        clause = F.TextMatch(text)
        want = sum(passes(d, clause) for d in docs)
        assert store.count([clause]) == want, text
    assert store.count([F.TextMatch("strasse", ("ocr_text",))]) == 1  # 'straße' is another word (no folding)
    assert store.count([F.TextMatch("exit_sign", ("ocr_text",))]) == 1


def test_scalar_columns_are_memory_mapped_from_the_cache(tmp_path):
    docs = corpus(2000, seed=1, d_clip=16, d_text=8)
    a = lance_store(tmp_path / "s", docs)
    version = a.snapshot().version
    cached = tmp_path / "s" / ".cache" / f"scalars-v{version}.arrow"
    assert cached.exists()
    b = LanceStore(f"lance://{tmp_path / 's'}")  # another process's view of the store
    before = pa.total_allocated_bytes()
    snap = b.snapshot()
    table = snap.table
    # the columns live in the mapped file, not in Arrow's memory pool
    assert pa.total_allocated_bytes() - before < table.nbytes / 4
    assert table.num_rows == 2000 and all(c.num_chunks == 1 for c in table.columns)
    assert b.get(["img00123"])[0]["ocr_text"] == docs[123]["ocr_text"]
    assert b.count([F.Terms("country", ("Spain",))]) == sum(d["country"] == "Spain" for d in docs)


def test_a_recreated_table_at_the_same_version_does_not_read_stale_columns(tmp_path):
    docs = corpus(50, seed=2, d_clip=16, d_text=8)
    first = lance_store(tmp_path / "s", docs)
    v = first.snapshot().version
    first.close()
    shutil.rmtree(tmp_path / "s" / "lifelog.lance")  # the table dropped; .cache/ stays behind
    other = [dict(d, ocr_text="REPLACED") for d in docs]
    second = lance_store(tmp_path / "s", other)
    assert second.snapshot().version == v  # same version number, different table
    assert second.count([F.TextMatch("replaced")]) == 50


def test_keyword_index_folds_and_handles_arrays_nulls_and_repeats(tmp_path):
    docs = corpus(40, seed=3, d_clip=16, d_text=8)
    docs[0]["tags"] = ["Café", "café", "dog"]  # one value twice (after folding) in one array
    docs[1]["tags"] = None
    docs[2]["tags"] = []
    docs[3]["country"] = None
    docs[4]["country"] = "SPAIN"
    store = lance_store(tmp_path / "s", docs)
    snap = store.snapshot()
    cafe = snap.folded_in("tags", ["CAFE"])
    assert snap.ids[cafe].tolist() == ["img00000"]
    spain = {snap.ids[i] for i in np.flatnonzero(snap.folded_in("country", ["spain"]))}
    assert spain == {d["image_id"] for d in docs if (d["country"] or "").casefold() == "spain"}
    assert "img00004" in spain and "img00003" not in spain
    exact = snap.folded_in("country", ["Spain"], folding=False)
    assert set(snap.ids[exact]) == {d["image_id"] for d in docs if d["country"] == "Spain"}


def test_small_products_run_on_one_blas_thread_and_the_count_is_restored():
    import faiss  # noqa: F401 - brings its own OpenBLAS, which must be left alone

    from lifeseeker.engine.store.lance import _matvec, numpy_blas_libs, single_thread_blas

    libs = numpy_blas_libs()
    assert libs and all("numpy" in lib.filepath for lib in libs)  # numpy's wheel ships its BLAS
    before = [lib.get_num_threads() for lib in libs]
    with single_thread_blas():
        assert [lib.get_num_threads() for lib in libs] == [1] * len(libs)
    assert [lib.get_num_threads() for lib in libs] == before
    rng = np.random.default_rng(0)
    m, q = rng.standard_normal((300, 24)).astype(np.float32), rng.standard_normal(24).astype(np.float32)
    np.testing.assert_allclose(_matvec(m, q), m.astype(np.float64) @ q, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(_matvec(m[:, 8:], q[8:]), m[:, 8:].astype(np.float64) @ q[8:], rtol=1e-4, atol=1e-4)


def _write_part(path: str, part: int) -> int:
    """Child process: upsert this part's 200 documents in batches of 20; returns the number of failed batches."""
    docs = [dict(d, image_id=f"p{part}-{d['image_id']}") for d in corpus(200, seed=5, d_clip=16, d_text=8)]
    store = lance_store(path)
    failed = 0
    for at in range(0, len(docs), 20):
        try:
            store.upsert(docs[at:at + 20])
        except Exception:  # noqa: BLE001 - counted and asserted below
            failed += 1
    return failed


def test_two_processes_writing_one_store_at_once_lose_nothing(tmp_path):
    import multiprocessing as mp

    path = str(tmp_path / "s")
    with mp.get_context("spawn").Pool(2) as pool:  # as two ingest shards (--shard 1/2, 2/2) would
        failed = pool.starmap(_write_part, [(path, 1), (path, 2)])
    assert failed == [0, 0]
    store = LanceStore(f"lance://{path}")
    assert store.count() == 400
    assert store.count([F.Terms("country", ("Spain",))]) == 2 * sum(
        d["country"] == "Spain" for d in corpus(200, seed=5, d_clip=16, d_text=8))


def test_cache_files_cut_short_by_a_kill_are_rebuilt_not_errors(tmp_path):
    docs = corpus(300, seed=13, d_clip=16, d_text=8)
    store = lance_store(tmp_path / "s", docs)
    v = store.snapshot().version
    cache = tmp_path / "s" / ".cache"
    for name in (f"vectors-v{v}.json", f"scalars-v{v}.json"):
        (cache / name).write_text("")  # killed between creating the file and writing it
    (cache / f"scalars-v{v}.arrow").write_bytes(b"ARROW1")  # and a truncated column file
    other = LanceStore(f"lance://{tmp_path / 's'}")
    assert other.count([F.Terms("country", ("Spain",))]) == sum(d["country"] == "Spain" for d in docs)
    assert other.get(["img00042"])[0]["ocr_text"] == docs[42]["ocr_text"]
    assert json.loads((cache / f"vectors-v{v}.json").read_text())["n"] == 300  # written again, whole


def test_damaged_cache_files_with_valid_meta_still_give_right_answers(tmp_path):
    docs = corpus(300, seed=14, d_clip=16, d_text=8)
    store = lance_store(tmp_path / "s", docs)
    v = store.snapshot().version
    cache = tmp_path / "s" / ".cache"
    want = store.count([F.TextMatch("heinz")])
    for name, junk in ((f"scalars-v{v}.arrow", b"ARROW1 damaged"), (f"vectors-v{v}.npy", b"\x93NUMPY damaged")):
        (cache / "junk").write_bytes(junk)
        os.replace(cache / "junk", cache / name)  # a new file: the first store keeps mapping the old one
    other = LanceStore(f"lance://{tmp_path / 's'}")
    assert other.count([F.TextMatch("heinz")]) == want > 0
    np.testing.assert_allclose(other.get(["img00042"], with_vectors=True)[0]["capmeta_vec"],
                               docs[42]["capmeta_vec"], atol=1e-6)


def test_id_lookup_and_order_follow_python_string_order_without_python_id_strings(tmp_path):
    docs = corpus(60, seed=15, d_clip=16, d_text=8)
    names = ["b.jpg", "a.jpg", "Z.jpg", "é.jpg", "e.jpg", "ü/1.jpg", "日本.jpg", "a,b.jpg", "aa.jpg", "a.JPG"]
    for d, name in zip(docs, names):
        d["image_id"] = name
    store = lance_store(tmp_path / "s", docs)
    snap = store.snapshot()
    ids = [d["image_id"] for d in docs]
    for image_id in ids:
        assert snap.ids_at([snap.row_of(image_id)]) == [image_id]
    assert snap.row_of("missing.jpg") is None and snap.row_of("") is None
    assert snap.ids_at(snap.id_order) == sorted(ids)  # code point order, as Python sorts
    rows = np.arange(0, 60, 3)
    got = snap.rank_of(rows)
    assert [snap.ids_at([r])[0] for r in rows[np.argsort(got)]] == sorted(snap.ids_at(rows))
    # store operations never build the per-row Python id strings (~100 B per row per worker)
    store.get(["é.jpg", "a,b.jpg", "nope"])
    store.search(VectorQuery(docs[0]["clip_vec"], None), limit=10)
    store.neighbours(docs[0]["local_time"] or docs[1]["local_time"], 3600, 3600)
    assert "ids" not in snap.__dict__
    assert [d["image_id"] for d in store.get(["é.jpg", "a,b.jpg", "nope"])] == ["é.jpg", "a,b.jpg"]

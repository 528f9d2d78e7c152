"""``fold`` equals Elasticsearch's ``lowercase`` + ``asciifolding`` normalizer and ``tokens`` its ``standard``
analyzer, checked against Lucene's own source and tests (apache/lucene, Apache License 2.0; the expected values
below are copied from the files named, each test names its file)."""

from __future__ import annotations

import pytest

from lifeseeker.engine.asciifold import FOLD_TABLE
from lifeseeker.engine.text import fold, lower, tokens

# apache/lucene lucene/analysis/common/src/java/org/apache/lucene/analysis/miscellaneous/ASCIIFoldingFilter.java,
# foldToASCII: the first case groups of the switch, as written there (code point -> output).
LUCENE_GROUPS = {
    "A": [0x00C0, 0x00C1, 0x00C2, 0x00C3, 0x00C4, 0x00C5, 0x0100, 0x0102, 0x0104, 0x018F, 0x01CD, 0x01DE, 0x01E0,
          0x01FA, 0x0200, 0x0202, 0x0226, 0x023A, 0x1D00, 0x1E00, 0x1EA0, 0x1EA2, 0x1EA4, 0x1EA6, 0x1EA8, 0x1EAA,
          0x1EAC, 0x1EAE, 0x1EB0, 0x1EB2, 0x1EB4, 0x1EB6, 0x24B6, 0xFF21],
    "a": [0x00E0, 0x00E1, 0x00E2, 0x00E3, 0x00E4, 0x00E5, 0x0101, 0x0103, 0x0105, 0x01CE, 0x01DF, 0x01E1, 0x01FB,
          0x0201, 0x0203, 0x0227, 0x0250, 0x0259, 0x025A, 0x1D8F, 0x1D95, 0x1E01, 0x1E9A, 0x1EA1, 0x1EA3, 0x1EA5,
          0x1EA7, 0x1EA9, 0x1EAB, 0x1EAD, 0x1EAF, 0x1EB1, 0x1EB3, 0x1EB5, 0x1EB7, 0x2090, 0x2094, 0x24D0, 0x2C65,
          0x2C6F, 0xFF41],
    "AA": [0xA732], "AE": [0x00C6, 0x01E2, 0x01FC, 0x1D01], "AO": [0xA734], "AU": [0xA736], "AV": [0xA738, 0xA73A],
    "AY": [0xA73C], "(a)": [0x249C], "aa": [0xA733], "ae": [0x00E6, 0x01E3, 0x01FD, 0x1D02], "ao": [0xA735],
    "au": [0xA737], "av": [0xA739, 0xA73B],
}


def test_table_has_the_lucene_groups_exactly():
    for out, points in LUCENE_GROUPS.items():
        assert {cp: FOLD_TABLE[cp] for cp in points} == {cp: out for cp in points}, out
    # each group is complete: no other code point maps to these outputs
    for out in ("A", "a", "AE", "ae"):
        assert sorted(cp for cp, v in FOLD_TABLE.items() if v == out) == sorted(LUCENE_GROUPS[out]), out
    assert all(cp >= 0x80 and v.isascii() and 1 <= len(v) <= 4 for cp, v in FOLD_TABLE.items())


@pytest.mark.parametrize("raw,folded", [
    ("Tromsø", "tromso"), ("Łódź", "lodz"), ("Æble", "aeble"), ("Đakovo", "dakovo"), ("Straße", "strasse"),
    ("Málaga", "malaga"), ("Ⓐ", "a"), ("ꜲB", "aab"), ("⒜", "(a)"), ("東京", "東京"), ("İstanbul", "istanbul"),
    ("ΟΔΟΣ", "οδοσ"),  # Java lower-cases per code point: no final sigma
])
def test_fold_is_lowercase_then_asciifolding(raw, folded):
    # The issue's four letters (ø, ł, æ, đ) are where NFKD + casefold (the old fold) differed from Lucene:
    # NFKD leaves ø, ł, æ, đ unchanged because they have no decomposition.
    assert fold(raw) == folded


def test_lower_is_one_code_point_for_one():
    assert lower("İ") == "i" and len(lower("ǅungla")) == len("ǅungla")


# apache/lucene lucene/core/src/test/org/apache/lucene/analysis/standard/TestStandardAnalyzer.java
# (StandardTokenizer; expected tokens lower-cased here because the standard analyzer adds LowerCaseFilter).
LUCENE_TOKENS = [
    ("B2B", ["B2B"]), ("2B", ["2B"]),
    ("some-dashed-phrase", ["some", "dashed", "phrase"]), ("dogs,chase,cats", ["dogs", "chase", "cats"]),
    ("ac/dc", ["ac", "dc"]),
    ("O'Reilly", ["O'Reilly"]), ("you're", ["you're"]), ("she's", ["she's"]), ("Jim's", ["Jim's"]),
    ("don't", ["don't"]), ("O'Reilly's", ["O'Reilly's"]),
    ("21.35", ["21.35"]), ("R2D2 C3PO", ["R2D2", "C3PO"]), ("216.239.63.104", ["216.239.63.104"]),
    ("David has 5000 bones", ["David", "has", "5000", "bones"]),
    ("foo      bar .  FOO <> BAR", ["foo", "bar", "FOO", "BAR"]), ('"QUOTED" word', ["QUOTED", "word"]),
    ("안녕하세요 한글입니다", ["안녕하세요", "한글입니다"]),
    ("我是中国人。 １２３４ Ｔｅｓｔｓ ", ["我", "是", "中", "国", "人", "１２３４", "Ｔｅｓｔｓ"]),
    ("仮名遣い カタカナ", ["仮", "名", "遣", "い", "カタカナ"]),
    ("", []), (".", []), (" ", []),
    ("A:B", ["A:B"]), ("A::B", ["A", "B"]), ("1.2", ["1.2"]), ("A.B", ["A.B"]), ("1..2", ["1", "2"]),
    ("A..B", ["A", "B"]), ("1,2", ["1,2"]),
    ("moͤchte", ["moͤchte"]),
]


@pytest.mark.parametrize("text,want", LUCENE_TOKENS)
def test_tokens_follow_lucene_standard_tokenizer(text, want):
    assert tokens(text) == [lower(w) for w in want]


def test_the_three_cases_of_the_issue_are_one_word_each():
    # Elasticsearch's standard analyzer keeps these whole; the old Python split made 3 + 5, don + t, foo + bar.
    assert tokens("price 3.5 euro") == ["price", "3.5", "euro"]
    assert tokens("Don't walk") == ["don't", "walk"]
    assert tokens("foo_bar.txt") == ["foo_bar.txt"]
    assert tokens("foo_bar baz") == ["foo_bar", "baz"]

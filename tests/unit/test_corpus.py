"""Tests of the generated English-like corpus (entangle.data.corpus)."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest

from entangle.data.corpus import corpus_checksum, generate_corpus
from entangle.data.vocabulary import FUNCTION_WORDS

SIZES = {"train": 60_000, "validation": 8_000, "test": 8_000}
# corpus_checksum(generate_corpus(7, {"train": 2_000, "validation": 500, "test": 500})).
# Update it only when changing the generator on purpose (it changes every corpus downstream).
GOLDEN_CHECKSUM = "01835134b1ea512d0ac79fea23a7e26b0fe12f26f79b43a853e45300624a2752"


@pytest.fixture(scope="module")
def corpus() -> dict[str, list[str]]:
    return generate_corpus(0, SIZES)


@pytest.fixture(scope="module")
def big() -> list[list[str]]:
    """Tokenized documents of a larger train split, for the statistical tests."""
    return [doc.split() for doc in generate_corpus(1, {"train": 250_000})["train"]]


def n_words(docs: list[str]) -> int:
    return sum(len(d.split()) for d in docs)


def test_structure(corpus):
    assert list(corpus) == list(SIZES)
    for docs in corpus.values():
        assert docs and all(isinstance(d, str) and d for d in docs)


def test_deterministic(corpus):
    again = generate_corpus(0, SIZES)
    assert again == corpus
    assert corpus_checksum(again) == corpus_checksum(corpus)
    other = generate_corpus(1, SIZES)
    assert other["train"] != corpus["train"]
    assert corpus_checksum(other) != corpus_checksum(corpus)


def test_splits_independent(corpus):
    resized = generate_corpus(0, {"train": 20_000, "validation": 8_000, "test": 3_000})
    assert resized["validation"] == corpus["validation"]
    # a split is one stream: a shorter split is a prefix of a longer one, up to its last document
    short, long_ = resized["test"], corpus["test"]
    assert short[:-1] == long_[: len(short) - 1]
    # and splits are different streams
    assert set(corpus["validation"]).isdisjoint(corpus["test"])
    assert set(corpus["train"]).isdisjoint(corpus["validation"])


@pytest.mark.parametrize("target", [5_000, 50_000, 200_000])
def test_word_counts(target):
    docs = generate_corpus(3, {"train": target})["train"]
    assert abs(n_words(docs) - target) <= 0.1 * target


def test_word_counts_all_splits(corpus):
    for name, target in SIZES.items():
        assert abs(n_words(corpus[name]) - target) <= 0.1 * target


def test_english_like_surface(corpus):
    text = "".join(corpus["train"])
    tokens = Counter(text.split())
    for w in ("the", "The", "of", "and", "in", "to", "a", "was", "which", "by", "that", "with"):
        assert tokens[w] > 0, w
    assert tokens["the"] > tokens["The"] > 0
    top10 = {w for w, _ in tokens.most_common(10)}
    assert {"the", "of", ".", ","} <= top10
    for piece in (" @-@ ", " @,@ ", " @.@ ", " , ", " . ", " ( ", " ) ", " ; ", " : ", ' " '):
        assert piece in text, piece
    assert re.search(r" (1[89]\d\d|20[0-2]\d) ", text), "years"
    assert re.search(r" \d+ (km|m|%|kg|ft|mi) ", text), "numbers with units"
    assert re.search(r" \d{1,2} (January|February|March|April|May|June|July|August|September"
                     r"|October|November|December) \d{4} ", text), "dates"
    # capitalized proper nouns inside sentences
    assert re.search(r"[a-z,] [A-Z][a-z]+ ", text)


def test_headings(corpus):
    for doc in corpus["train"]:
        assert re.match(r" = [^=].* = \n", doc), doc[:80]
    lines = "".join(corpus["train"]).split("\n")
    assert sum(bool(re.fullmatch(r" = = [^=].* = = ", ln)) for ln in lines) > len(corpus["train"])
    # WikiText layout: paragraph lines start and end with a space
    assert all(ln.startswith(" ") and ln.endswith(" ") for ln in lines if ln)


def test_sentences_capitalized(corpus):
    tokens = "".join(corpus["validation"]).split()
    starts = [tokens[i + 1] for i, t in enumerate(tokens[:-1]) if t == "."]
    starts = [s for s in starts if s[0].isalpha()]
    assert starts and all(s[0].isupper() for s in starts)


def test_zipf_slope(big):
    counts = np.array(sorted(Counter(t for d in big for t in d).values(), reverse=True), float)
    assert len(counts) > 1000
    ranks = np.arange(1, len(counts) + 1)
    slope = np.polyfit(np.log(ranks[9:1000]), np.log(counts[9:1000]), 1)[0]
    assert -1.4 < slope < -0.7, slope


def test_topic_structure(big):
    """Content words are overdispersed across documents relative to one unigram distribution."""
    totals = Counter(t for d in big for t in d)
    content = [w for w, _ in totals.most_common()
               if w.isalpha() and w.islower() and w not in FUNCTION_WORDS][10:210]
    lengths = np.array([len(d) for d in big], float)
    per_doc = [Counter(d) for d in big]
    dispersion = []
    for w in content:
        observed = np.array([c[w] for c in per_doc], float)
        expected = totals[w] / lengths.sum() * lengths  # Poisson under a single unigram model
        dispersion.append(((observed - expected) ** 2 / expected).sum() / (len(big) - 1))
    # Poisson gives ~1 (sd ~0.1 here); topics give several times that
    assert np.median(dispersion) > 2.5, np.median(dispersion)


def test_checksum_stable():
    small = generate_corpus(7, {"train": 2_000, "validation": 500, "test": 500})
    digest = corpus_checksum(small)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert digest == corpus_checksum(generate_corpus(7, {"train": 2_000, "validation": 500,
                                                         "test": 500}))
    # order of the dict does not matter, content does
    assert corpus_checksum(dict(reversed(small.items()))) == digest
    changed = dict(small, test=small["test"][:-1])
    assert corpus_checksum(changed) != digest
    # pinned: the corpus must not change silently across runs, versions and platforms
    assert digest == GOLDEN_CHECKSUM

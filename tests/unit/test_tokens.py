"""Token categories for the token-pair tables (claim 27): fixed definitions on the paper's own tokens."""

import pytest

from entangle.tokens import (
    CATEGORIES,
    breakdown,
    dominated_share,
    is_case_variant,
    is_same_word,
    pair_token_categories,
    surface,
    token_category,
)


@pytest.mark.parametrize("token, category", [
    ("Ġthe", "function word"), ("ĠThe", "function word"), ("Ġof", "function word"), ("Ġand", "function word"),
    ("Ġwas", "function word"), ("Ġit", "function word"), ("▁the", "function word"), ("for", "function word"),
    ("Ġ6", "number"), ("Ġ19", "number"), ("Ġ2", "number"), ("3.5", "number"), ("1,000", "number"), ("Ġtwo", "number"),
    ("Ġ", "punctuation"), ("-", "punctuation"), ("@", "punctuation"), ("Ġ(", "punctuation"), ("Ġ@-@", "punctuation"),
    ("Ġ@,@", "punctuation"), ("Ġ.", "punctuation"), ("Ċ", "punctuation"), (",", "punctuation"),
    ("ĠD", "other"), ("ia", "other"), ("Ġvice", "other"), ("ed", "other"), ("Ġkm", "other"), ("Ġ3rd", "other"),
])
def test_token_category(token, category):
    assert token_category(token) == category


def test_surface_marks():
    assert surface("Ġthe") == " the" and surface("Ċ") == "\n" and surface("▁of") == " of"


def test_pairs():
    assert is_case_variant("Ġthe", "ĠThe") and is_case_variant("Ġa", "A")
    assert not is_case_variant("Ġthe", "the")  # only the space differs: same word, not a case variant
    assert is_same_word("Ġthe", "the") and is_same_word("Ġand", "Ġand")
    assert not is_case_variant("Ġ(", "Ġ(") and not is_case_variant("Ġ6", "Ġ7")
    assert pair_token_categories("Ġthe", "ĠThe") == ("case variant pair", "case variant pair")
    assert pair_token_categories("ĠD", "Ġthe") == ("other", "function word")


def test_breakdown_of_the_papers_neuron_5224_table():
    # NC-F5, neuron 5224 (CATALOG): the/The, D/the, G/of, A/was, O/a
    pairs = [("Ġthe", "ĠThe"), ("ĠD", "Ġthe"), ("ĠG", "Ġof"), ("ĠA", "Ġwas"), ("ĠO", "Ġa")]
    shares = breakdown(pairs)
    assert list(shares) == list(CATEGORIES)
    assert shares == {"case variant pair": 0.2, "function word": 0.5, "number": 0.0, "punctuation": 0.0, "other": 0.3}
    assert sum(shares.values()) == pytest.approx(1.0)
    assert dominated_share(shares) == pytest.approx(0.7)


def test_breakdown_of_nothing_is_nan():
    shares = breakdown([])
    assert all(v != v for v in shares.values())

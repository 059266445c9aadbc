"""Token categories for the token-pair tables (claim 27): fixed definitions on the paper's own tokens."""

import pytest

from entangle.tokens import (
    CATEGORIES,
    breakdown,
    dominated_share,
    is_case_variant,
    is_same_word,
    pair_token_categories,
    starts_word,
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
    assert token_category(token, "Ġ.") == category  # after punctuation, every token starts a word
    assert token_category(token, None) == category  # at the text's start


# (token, the token before it, starts a word): byte-level BPE of GPT-2 / GPT-NeoX / the trained tokenizer
# ("Ġ" marks a preceding space, "Ċ" a newline) and SentencePiece of Llama ("▁" marks a space)
GPT2_STYLE = [
    ("Ġin", "Ġbe", True), ("in", "Ġbe", False),  # "be in" vs "bein|g"
    ("a", "Ġpiz", False), ("be", "Ġmay", False), ("Ġthe", "Ġof", True), ("The", None, True),  # text start
    ("The", "Ċ", True), ("The", "ĊĊ", True), ("the", '"', True), ("the", "Ġ(", True),  # no "Ġ" after these
    ("'s", "ĠJohn", True), ("'t", "Ġdon", True),  # clitics are pieces of their own
    ("the", "Ġ19", False), ("the", "Ġ@-@", True),
]
LLAMA_STYLE = [
    ("▁in", "▁be", True), ("in", "▁be", False), ("a", "▁piz", False), ("be", "▁may", False),
    ("▁The", None, True), ("The", "<0x0A>", True), ("▁the", "▁of", True), ("▁", "▁of", True),
]


@pytest.mark.parametrize("token, previous, start", GPT2_STYLE + LLAMA_STYLE)
def test_starts_word(token, previous, start):
    assert starts_word(token, previous) is start


@pytest.mark.parametrize("token, previous, category", [
    # word-internal pieces that spell a function word or a number word are not function words or numbers
    ("in", "Ġbe", "other"), ("a", "Ġpiz", "other"), ("be", "Ġmay", "other"), ("one", "Ġsome", "other"),
    ("in", "▁be", "other"), ("a", "▁piz", "other"), ("be", "▁may", "other"), ("one", "▁some", "other"),
    ("Ġin", "Ġbe", "function word"), ("▁in", "▁be", "function word"), ("The", "Ċ", "function word"),
    ("The", "<0x0A>", "function word"), ("'s", "ĠJohn", "function word"), ("Ġone", "Ġat", "number"),
    ("9", "Ġ19", "number"), ("9", "▁1", "number"),  # digits glued to digits are still a number
    (",", "Ġbe", "punctuation"),
])
def test_word_internal_pieces_are_not_function_words(token, previous, category):
    assert token_category(token, previous) == category


def test_surface_marks():
    assert surface("Ġthe") == " the" and surface("Ċ") == "\n" and surface("▁of") == " of"


def test_pairs():
    assert is_case_variant("Ġthe", "ĠThe") and is_case_variant("Ġa", "A")
    assert not is_case_variant("Ġthe", "the")  # only the space differs: same word, not a case variant
    assert is_same_word("Ġthe", "the") and is_same_word("Ġand", "Ġand")
    assert not is_case_variant("Ġ(", "Ġ(") and not is_case_variant("Ġ6", "Ġ7")
    assert pair_token_categories("Ġthe", "ĠThe", "Ġof", "Ġ.") == ("case variant pair", "case variant pair")
    assert pair_token_categories("ĠD", "Ġthe", "Ġ.", "Ġof") == ("other", "function word")
    assert pair_token_categories("Ġin", "in", "Ġbe", "Ġbe") == ("function word", "other")


def test_breakdown_of_the_papers_neuron_5224_table():
    # NC-F5, neuron 5224 (NC Figure 5): the/The, D/the, G/of, A/was, O/a
    pairs = [("Ġthe", "ĠThe"), ("ĠD", "Ġthe"), ("ĠG", "Ġof"), ("ĠA", "Ġwas"), ("ĠO", "Ġa")]
    shares = breakdown([(a, b, "Ġ.", "Ġ.") for a, b in pairs])
    assert list(shares) == list(CATEGORIES)
    assert shares == {"case variant pair": 0.2, "function word": 0.5, "number": 0.0, "punctuation": 0.0, "other": 0.3}
    assert sum(shares.values()) == pytest.approx(1.0)
    assert dominated_share(shares) == pytest.approx(0.7)


def test_breakdown_of_nothing_is_nan():
    shares = breakdown([])
    assert all(v != v for v in shares.values())


def test_breakdown_counts_only_word_starts_as_function_words():
    # "Ġbe" "in" "g": the piece "in" continues the word; "Ġin" after "Ġbe" is the preposition
    shares = breakdown([("in", "Ġin", "Ġbe", "Ġbe"), ("a", "Ġa", "Ġpiz", "Ġis")])
    assert shares["function word"] == 0.5 and shares["other"] == 0.5
    with pytest.raises(ValueError, match=r"in context as \(T1, T2, PT1, PT2\)"):
        breakdown([("Ġthe", "Ġof")])

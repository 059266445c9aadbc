"""Token categories for the token-pair tables (NC-F3a, NC-F5; claim 27).

Tokens are raw vocabulary strings as tokenizers print them: byte-level BPE marks a leading space with
"Ġ" (GPT-2, Pythia, the zoo's tokenizer) and a newline with "Ċ"; SentencePiece marks a space with "▁".
`surface` turns those marks back into whitespace. Categories, fixed before looking at results:

- "function word": the token starts a word (`starts_word`) and its stripped, lower-cased surface is an
  English closed-class word (articles, determiners, prepositions, conjunctions, pronouns, auxiliaries
  and modals, common particles); a word-internal piece that spells one ("in" of "be|in|g") is not;
- "number": digits, optionally with "." or "," separators ("19", "3.5", "1,000"), or a token that
  starts a word and spells a cardinal number word ("one" ... "twenty", "hundred", "thousand",
  "million", "billion");
- "punctuation": no letter or digit at all, including whitespace-only tokens ("Ġ" alone) and
  WikiText's "@-@", "@,@", "@.@" separators (punctuation or segmentation tokens);
- "other": everything else (content words, sub-word pieces, single capital letters of names).

For a pair (T1, T2), "case variant pair" means the two surfaces differ only in letter case
(the/The, a/A; "Ġthe"/"the" differ only in the space and are a "same word" pair, not a case variant).
`breakdown` counts the tokens of a set of pairs with "case variant pair" taking precedence over the
token's own category, so each token is counted once.

Whether a token starts a word depends on the token before it in the text (`previous`, the raw token;
None or "" at the start of the text). Pairs are given in context as (T1, T2, PT1, PT2), PT the token
before T.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

CATEGORIES = ("case variant pair", "function word", "number", "punctuation", "other")
TOKEN_CATEGORIES = CATEGORIES[1:]

FUNCTION_WORDS = frozenset("""
a an the this that these those each every either neither some any no all both half several many much more most
few fewer less least other another such what which whose whatever whichever
of in to for with on at by from as into onto upon about above across after against along amid among around
before behind below beneath beside besides between beyond but despite down during except inside like near off
out outside over past per since than through throughout till toward towards under underneath unlike until up
via within without
and or nor so yet if because although though while whereas unless whether once when whenever where wherever
how why then also not only just too very there here
i me my mine myself you your yours yourself yourselves he him his himself she her hers herself it its itself
we us our ours ourselves they them their theirs themselves who whom one's
be am is are was were been being have has had having do does did done doing
will would shall should can could may might must ought
's 't 're 've 'll 'd 'm n't
""".split())

NUMBER_WORDS = frozenset("""
zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen
eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million billion
""".split())

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_MARKS = {"Ġ": " ", "Ċ": "\n", "ĉ": "\t", "▁": " "}


def surface(token: str) -> str:
    """The text a raw token stands for: byte-level and SentencePiece space/newline marks as whitespace."""
    return "".join(_MARKS.get(ch, ch) for ch in str(token))


def _word(token: str) -> str:
    return surface(token).strip()


def starts_word(token: str, previous: str | None) -> bool:
    """True if raw `token` begins a word of the text rather than continuing one.

    It does if its surface starts with whitespace (byte-level BPE's "Ġ"/"Ċ", SentencePiece's "▁") or
    with a character that is no letter or digit (punctuation, a clitic such as "'s"), if it opens the
    text (`previous` None or ""), or if the raw token before it ends with whitespace or punctuation:
    byte-level BPE marks only a preceding space, so a word after a newline, a quote or a bracket, or at
    the text's start, has no mark. A piece glued to a letter or digit ("in" after "Ġbe") does not.
    """
    text = surface(token)
    if not text or not text[0].isalnum() or not previous:
        return True
    before = surface(previous)
    return not before or not before[-1].isalnum()


def token_category(token: str, previous: str | None) -> str:
    """One of TOKEN_CATEGORIES for raw `token`, given the raw token before it (None at the text's start)."""
    word = _word(token)
    if not word or not any(ch.isalnum() for ch in word):
        return "punctuation"
    if _NUMBER.fullmatch(word):
        return "number"
    if not starts_word(token, previous):
        return "other"
    lower = word.lower()
    if lower in NUMBER_WORDS:
        return "number"
    if lower in FUNCTION_WORDS:
        return "function word"
    return "other"


def is_case_variant(t1: str, t2: str) -> bool:
    """True if the two tokens' surfaces (spaces stripped) differ only in letter case."""
    a, b = _word(t1), _word(t2)
    return a != b and a.lower() == b.lower() and any(ch.isalpha() for ch in a)


def is_same_word(t1: str, t2: str) -> bool:
    """True if the two tokens have the same surface once spaces are stripped (same token in two contexts)."""
    return _word(t1) == _word(t2)


def pair_token_categories(t1: str, t2: str, previous1: str | None, previous2: str | None) -> tuple[str, str]:
    """The category of each token of a pair, "case variant pair" first, else the token's own category
    (`previous1`, `previous2`: the raw tokens before T1 and T2 in the text)."""
    if is_case_variant(t1, t2):
        return "case variant pair", "case variant pair"
    return token_category(t1, previous1), token_category(t2, previous2)


def _in_context(pair) -> tuple:
    if len(pair) != 4:
        raise ValueError(f"a token pair must be given in context as (T1, T2, PT1, PT2), PT the raw token before T "
                         f"in the text (None at its start); got {pair!r}")
    return tuple(pair)


def breakdown(pairs) -> dict[str, float]:
    """Share of the tokens of `pairs` (iterable of (T1, T2, PT1, PT2)) in each of CATEGORIES (NaN for no pairs)."""
    counts = Counter()
    for pair in pairs:
        counts.update(pair_token_categories(*_in_context(pair)))
    total = sum(counts.values())
    return {c: (counts[c] / total if total else float("nan")) for c in CATEGORIES}


def dominated_share(shares: dict[str, float]) -> float:
    """Share of tokens that are case variants, function words, numbers or punctuation (claim 27)."""
    return 1.0 - shares["other"]


def dominated_tokens(pairs) -> np.ndarray:
    """Per pair (T1, T2, PT1, PT2), how many of its two tokens are case variants, function words, numbers or
    punctuation: int [P]."""
    return np.array([sum(c != "other" for c in pair_token_categories(*_in_context(p))) for p in pairs],
                    dtype=np.int64)


def enrichment(top_pairs, random_pairs):
    """Claim 27: share of `top_pairs`' tokens in the dominated categories over the same share among
    `random_pairs` (both iterables of (T1, T2, PT1, PT2)), with a 95% interval (the two sets of token
    pairs redrawn separately)."""
    from entangle.bootstrap import bootstrap_groups

    return bootstrap_groups(lambda a, b: a.mean() / b.mean() if b.mean() > 0 else np.nan,
                            [dominated_tokens(top_pairs), dominated_tokens(random_pairs)], unit="token pairs")

"""The generated corpus's vocabulary: real function words, syllable-built pseudo-words in
part-of-speech classes with their inflections, Zipf weights, and topics that reweight content words
(see `entangle.data.corpus` for how documents use them). Deterministic across Python versions: only
`random.random()` is used for draws (`Rng`).
"""

from __future__ import annotations

import hashlib
import random
from bisect import bisect
from itertools import accumulate

N_NOUNS, N_VERBS, N_ADJS, N_ADVS = 3000, 1200, 1000, 300
N_FIRST, N_SURNAMES, N_PLACES = 200, 600, 400
N_TOPICS, TOPIC_SIZE, TOPIC_BOOST, TOPIC_CAP = 60, 0.04, 40.0, 1.0

ONSETS = ("", "", "b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w",
          "b", "d", "l", "m", "n", "r", "s", "t", "br", "cr", "dr", "gr", "st", "tr", "sh", "ch",
          "th", "pl", "fl")
NUCLEI = ("a", "e", "i", "o", "u") * 3 + ("ai", "ea", "ou", "ee")
CODAS = ("",) * 8 + ("n", "r", "l", "s", "t", "m", "n", "r", "nd", "rt", "st", "ck", "ng")
SUFFIXES = {"noun": ("", "", "", "tion", "ment", "er", "ity", "ness", "ship"),
            "verb": ("", "", "", "ate", "ize", "en"),
            "adj": ("", "", "al", "ous", "ic", "ive", "ful", "ish", "y"),
            "place": ("", "ton", "ford", "burg", "ville", "ia", "port", "field", "stad", "mouth"),
            "name": ("", "", "a", "o", "son", "er", "in")}
FUNCTION_WORDS = frozenset(
    "the of and to a an in is was for that with as by on from at it its his her their which who "
    "be are were has have had been this these those many some several each also not or but "
    "he she they him them after during before under between through against near over within "
    "into about when while where there one two three first later most more than such other "
    "would could may only both".split())
DET_SG = ("the",) * 12 + ("a",) * 5 + ("its", "his", "her", "their", "this", "that", "each")
DET_PL = ("the",) * 10 + ("their", "these", "those", "many", "some", "several", "both", "other")
PREPS = ("of",) * 3 + ("in",) * 8 + ("to",) * 3 + ("for", "with", "on") * 2 + (
    "at", "from", "by", "as", "about", "into", "after", "during", "before", "under", "between",
    "through", "against", "near", "over", "within")
SECTIONS = ("History", "Background", "Early life", "Career", "Reception", "Description",
            "Geography", "Legacy", "Release", "Design", "Production", "Personal life",
            "Aftermath", "Route description", "Critical reception", "Later years")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
UNITS = ("km", "m", "%", "kg", "mi", "ft", "km2")
STOPS = frozenset((",", ".", ";", ":", "\"", ")"))
HYPHEN_PREFIXES = ("well", "long", "high", "short", "full", "late", "early", "non", "self")


class Rng(random.Random):
    """Mersenne Twister whose helpers use only ``random()``.

    Python guarantees ``seed(int)`` and ``random()`` across versions but not ``choice``,
    ``randint``, ``sample`` or the distributions, so those are re-implemented here with plain
    arithmetic (no libm calls), which keeps the corpus identical across versions and platforms.
    """

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def choice(self, seq):
        return seq[int(self.random() * len(seq))]

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.random()

    def sample(self, population, k: int) -> list:
        pool = list(population)
        for i in range(k):  # partial Fisher-Yates
            j = i + int(self.random() * (len(pool) - i))
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:k]

    def geometric_index(self, p_next: float, n: int) -> int:
        """0 with probability 1 - p_next, 1 with (1 - p_next) p_next, ...; capped at n - 1."""
        i = 0
        while i < n - 1 and self.random() < p_next:
            i += 1
        return i


def rng_for(seed: int, name: str) -> Rng:
    """A generator seeded from SHA-256 of (seed, name): stable across runs and platforms."""
    digest = hashlib.sha256(f"entangle-corpus:{seed}:{name}".encode()).digest()
    return Rng(int.from_bytes(digest[:16], "big"))


def _add_s(w: str) -> str:
    if w.endswith(("s", "x", "z", "ch", "sh")):
        return w + "es"
    if w.endswith("y") and w[-2:-1] not in "aeiou":
        return w[:-1] + "ies"
    return w + "s"


def _add_ed(w: str) -> str:
    if w.endswith("e"):
        return w + "d"
    if w.endswith("y") and w[-2:-1] not in "aeiou":
        return w[:-1] + "ied"
    return w + "ed"


def _add_ly(w: str) -> str:
    return w[:-1] + "ily" if w.endswith("y") else w + "ly"


def _pseudo_words(r: Rng, n: int, kind: str, taken: set[str]) -> list[str]:
    """n distinct pronounceable pseudo-words (1-3 syllables plus a class suffix).

    Returned roughly shortest first, so that the frequent (low-rank) words are short, as in
    real languages.
    """
    out: list[str] = []
    while len(out) < n:
        x = r.random()
        k = 1 + (x > 0.4) + (x > 0.9)
        w = "".join(r.choice(ONSETS) + r.choice(NUCLEI) + r.choice(CODAS) for _ in range(k))
        w += r.choice(SUFFIXES[kind])
        if 3 <= len(w) <= 12 and w not in taken:
            taken.add(w)
            out.append(w)
    return sorted(out, key=lambda w: len(w) + r.uniform(-2.5, 2.5))


class Table:
    """Weighted sampler over a list of items (bisect on cumulative weights)."""

    def __init__(self, items: list, weights: list[float]):
        self.items, self.cum = items, list(accumulate(weights))
        self.total = self.cum[-1]

    def draw(self, r: Rng):
        return self.items[bisect(self.cum, r.random() * self.total)]


def zipf(n: int) -> list[float]:
    return [1.0 / (i + 2.7) for i in range(n)]


def build_vocabulary(seed: int) -> dict:
    """Content classes, names and topic samplers: one language shared by all splits."""
    r = rng_for(seed, "vocab")
    taken = set(FUNCTION_WORDS)
    nouns = _pseudo_words(r, N_NOUNS, "noun", taken)
    verbs = _pseudo_words(r, N_VERBS, "verb", taken)
    adjs = _pseudo_words(r, N_ADJS, "adj", taken)
    advs = [_add_ly(a) for a in r.sample(adjs, N_ADVS)]
    lexicon = {"noun": [(w, _add_s(w)) for w in nouns],
               "verb": [(w, _add_s(w), _add_ed(w)) for w in verbs],
               "adj": adjs, "adv": advs}
    names = {k: [w.capitalize() for w in _pseudo_words(r, n, kind, taken)]
             for k, n, kind in (("first", N_FIRST, "name"), ("surname", N_SURNAMES, "name"),
                                ("place", N_PLACES, "place"))}
    base = {cls: zipf(len(items)) for cls, items in lexicon.items()}
    topics = []
    for _ in range(N_TOPICS):
        tables = {}
        for cls, items in lexicon.items():
            n = len(items)
            w = list(base[cls])
            for i in r.sample(range(n), max(5, int(TOPIC_SIZE * n))):
                # a random subset is boosted (Zipf survives on average), capped so that no
                # single word swamps a document (rank 0 has weight 0.37, a class ~7 in total)
                w[i] = max(w[i], min(w[i] * TOPIC_BOOST, TOPIC_CAP))
            tables[cls] = Table(items, w)
        topics.append(tables)
    return {"topics": topics, "names": {k: Table(v, zipf(len(v))) for k, v in names.items()}}

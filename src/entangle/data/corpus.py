"""Deterministic English-like corpus that stands in for WikiText-2 at the small scales.

The generator is a tiny probabilistic grammar over a Zipfian vocabulary:

* **Vocabulary** (shared by all splits, derived from ``(seed, "vocab")``): a fixed list of real
  English function words (determiners, prepositions, pronouns, auxiliaries, conjunctions) plus
  thousands of pseudo-words built from syllables, in part-of-speech classes with inflections:
  nouns (singular/plural), verbs (base/3rd person/past), adjectives and ``-ly`` adverbs.
  Capitalized pseudo-names make first names, surnames and places. Each class has Zipf weights
  ``1 / (rank + 2.7)``.
* **Topics**: each of ``N_TOPICS`` topics multiplies the weights of a random ``TOPIC_SIZE``
  fraction of every content class by ``TOPIC_BOOST`` (capped at ``TOPIC_CAP``). A document
  draws one topic and samples its content words from it, so context predicts words, while the
  corpus-wide frequencies stay Zipfian (every word is boosted in the same expected number of
  topics). It also draws a small
  cast of people and places that recur, and a tense (mostly past, as in Wikipedia).
* **Grammar**: sentences of noun phrases (determiners agreeing in number, adjectives,
  ``of``-phrases, relative clauses with which/that/who, coordination, numbers), verb phrases
  with subject-verb agreement (transitive, copular, passive, perfect), prepositional phrases,
  dates, years, counts, decimals and units, quotes, parentheses, semicolons and colons.
* **Layout**: WikiText-2 raw conventions: ``" = Title = "`` and ``" = = Section = = "`` heading
  lines, one paragraph per line, every token separated by spaces (``" , "``, ``" . "``),
  ``" @-@ "`` inside hyphenated words, ``" @,@ "`` in thousands, ``" @.@ "`` in decimals.

Splits are independent streams seeded from ``(seed, split name)`` via SHA-256 (never the salted
``hash()``), so resizing one split leaves the others unchanged. Word counts are whitespace tokens,
as in WikiText's published token counts. Only the standard library is used.
"""

from __future__ import annotations

import hashlib

from entangle.data.vocabulary import (DET_PL, DET_SG, HYPHEN_PREFIXES, MONTHS, PREPS, SECTIONS, STOPS, UNITS, Rng,
                                      build_vocabulary, rng_for)

__all__ = ["generate_corpus", "corpus_checksum", "SPLIT_ORDER"]

SPLIT_ORDER = ("train", "validation", "test")
class _Writer:
    """Writes one document: a topic, a cast of recurring names, a tense, then the grammar."""

    def __init__(self, r: Rng, vocab: dict):
        self.r, names = r, vocab["names"]
        self.t = r.choice(vocab["topics"])
        self.past = r.random() < 0.75
        self.people = [(names["first"].draw(r), names["surname"].draw(r))
                       for _ in range(r.randint(2, 5))]
        self.places = [names["place"].draw(r) for _ in range(r.randint(1, 4))]
        self.year = r.randint(1800, 2010)

    # ---- words -------------------------------------------------------------------------
    def noun(self, plural: bool) -> str:
        return self.t["noun"].draw(self.r)[plural]

    def adj(self) -> list[str]:
        r = self.r
        if r.random() < 0.06:
            return [r.choice(HYPHEN_PREFIXES), "@-@", self.t["verb"].draw(r)[2]]
        if r.random() < 0.04:
            return [self.noun(False), "@-@", self.t["adj"].draw(r)]
        return [self.t["adj"].draw(r)]

    def verb(self, plural: bool) -> str:
        forms = self.t["verb"].draw(self.r)
        return forms[2] if self.past else forms[0 if plural else 1]

    def be(self, plural: bool) -> str:
        return ("were" if plural else "was") if self.past else ("are" if plural else "is")

    def person(self) -> list[str]:
        r = self.r
        first, last = self.people[r.geometric_index(0.3, len(self.people))]
        return [first, last] if r.random() < 0.3 else [last]

    def place(self) -> str:
        return self.places[self.r.geometric_index(0.35, len(self.places))]

    # ---- numbers -----------------------------------------------------------------------
    def year_tok(self) -> str:
        r = self.r  # years cluster around the document's year (Irwin-Hall, sd 10)
        offset = int(20 * (r.random() + r.random() + r.random() - 1.5))
        return str(max(1800, min(2020, self.year + offset)))

    def count(self) -> list[str]:
        r = self.r
        if r.random() < 0.8:
            return [str(r.randint(2, 30) if r.random() < 0.6 else r.randint(2, 999))]
        return [str(r.randint(1, 300)), "@,@", f"{r.randint(0, 999):03d}"]

    def measure(self) -> list[str]:
        r = self.r
        num = ([str(r.randint(1, 99)), "@.@", str(r.randint(1, 9))] if r.random() < 0.5
               else self.count())
        return num + [r.choice(UNITS)]

    def date(self) -> list[str]:
        r = self.r
        if r.random() < 0.5:
            return [str(r.randint(1, 28)), r.choice(MONTHS), self.year_tok()]
        return [r.choice(MONTHS), str(r.randint(1, 28)), ",", self.year_tok()]

    # ---- phrases -----------------------------------------------------------------------
    def np(self, depth: int = 0, subject: bool = False) -> tuple[list[str], bool]:
        """A noun phrase and whether it is plural."""
        r, x = self.r, self.r.random()
        if x < 0.10:
            toks = self.person()
            y = r.random()
            if y < 0.08:
                toks = toks + ["(", "born", self.year_tok(), ")"]
            elif y < 0.16 and depth < 2:
                toks = toks + [",", "who", *self.vp(False, depth + 1), ","]
            return toks, False
        if x < 0.15:
            return [self.place()], False
        if x < 0.22 and depth == 0:
            pl = r.random() < 0.4
            if subject:
                return [("they" if pl else r.choice(("it", "he", "she")))], pl
            return [("them" if pl else r.choice(("it", "him", "her")))], pl
        if x < 0.26:
            return self.count() + [self.noun(True)], True
        plural = r.random() < 0.35
        det = r.choice(DET_PL if plural else DET_SG)
        toks = [] if plural and r.random() < 0.3 else [det]
        while r.random() < (0.45 if len(toks) < 2 else 0.15):
            toks += self.adj()
        toks.append(self.noun(plural))
        if toks[0] == "a" and toks[1][0] in "aeiou":
            toks[0] = "an"
        if depth < 2:
            y = r.random()
            if y < 0.18:
                toks += ["of"] + self.np(depth + 1)[0]
            elif y < 0.24:
                toks += [r.choice(("which", "that")), *self.vp(plural, depth + 1)]
            elif y < 0.28:
                toks += [",", "which", *self.vp(plural, depth + 1), ","]
            elif y < 0.32:
                toks += ["and"] + self.np(depth + 1)[0]
                plural = True
        return toks, plural

    def pp(self, depth: int = 1) -> list[str]:
        r, x = self.r, self.r.random()
        if x < 0.12:
            return ["in", self.year_tok()]
        if x < 0.17:
            return ["on", *self.date()]
        if x < 0.22:
            return ["in", self.place()]
        return [r.choice(PREPS)] + self.np(depth)[0]

    def vp(self, plural: bool, depth: int = 0) -> list[str]:
        r, x = self.r, self.r.random()
        if x < 0.50:
            toks = ([self.t["adv"].draw(r)] if r.random() < 0.1 else []) + [self.verb(plural)]
            toks += self.np(depth + 1)[0]
        elif x < 0.53:
            toks = [self.verb(plural)] + self.np(depth + 1)[0] + ["and", self.verb(plural)]
            toks += self.np(depth + 1)[0]
        elif x < 0.58:
            toks = [self.verb(plural), "to", self.t["verb"].draw(r)[0]] + self.np(depth + 1)[0]
        elif x < 0.68:
            toks = [self.be(plural), *self.adj()]
            if r.random() < 0.25:
                toks += ["and", *self.adj()]
        elif x < 0.77:
            toks = [self.be(plural), self.t["verb"].draw(r)[2], "by"] + self.np(depth + 1)[0]
        elif x < 0.87:
            toks = [self.be(plural), "a" if not plural else "the", self.noun(plural)]
            if not plural and toks[2][0] in "aeiou":
                toks[1] = "an"
            toks += ["of"] + self.np(depth + 1)[0]
        elif x < 0.93:
            toks = ["had" if self.past else ("have" if plural else "has"), "been",
                    self.t["verb"].draw(r)[2]]
        else:
            toks = [self.verb(plural), "about", *self.measure()]
            if r.random() < 0.3:
                toks += ["(", *self.measure(), ")"]
        if depth == 0 and r.random() < 0.45:
            toks += self.pp()
            if r.random() < 0.2:
                toks += self.pp()
        return toks

    def clause(self) -> list[str]:
        subj, plural = self.np(subject=True)
        return subj + self.vp(plural)

    def sentence(self) -> list[str]:
        r, x = self.r, self.r.random()
        if x < 0.15:
            toks = self.pp() + [","] + self.clause()
        elif x < 0.27:
            toks = self.clause() + [",", r.choice(("and", "but", "while")), *self.clause()]
        elif x < 0.33:
            toks = self.clause() + [";", *self.clause()]
        elif x < 0.37:
            toks = self.clause() + [":", *self.np(1)[0], ",", *self.np(1)[0], "and",
                                    *self.np(1)[0]]
        elif x < 0.41:
            said = "said" if self.past else "says"
            toks = self.person() + [said, "that", "\"", *self.clause(), "\""]
        else:
            toks = self.clause()
        toks[0] = toks[0][0].upper() + toks[0][1:]
        toks.append(".")
        # drop a comma that closes a relative clause right before other punctuation
        return [t for t, nxt in zip(toks, toks[1:] + [""]) if t != "," or nxt not in STOPS]

    def paragraph(self) -> list[str]:
        out: list[str] = []
        for _ in range(self.r.randint(2, 8)):
            out += self.sentence()
        return out

    def title(self) -> str:
        r, x = self.r, self.r.random()
        if x < 0.35:
            return " ".join(self.people[0])
        if x < 0.6:
            return self.places[0]
        if x < 0.8:
            return f"The {self.t['adj'].draw(r).capitalize()} {self.noun(False).capitalize()}"
        return f"{self.noun(False).capitalize()} of {self.places[0]}"


def _document(r: Rng, vocab: dict, budget: int) -> tuple[str, int]:
    """One WikiText-style document of at most about ``budget`` tokens (at least one paragraph)."""
    w = _Writer(r, vocab)
    lines = [f" = {w.title()} = ", " "]
    n, target = 4, min(budget, 200 + int(1800 * r.random() ** 2))
    sections = r.sample(SECTIONS, 6)
    while True:
        for _ in range(r.randint(1, 4)):
            p = w.paragraph()
            lines.append(" " + " ".join(p) + " ")
            n += len(p)
            if n >= target:
                return "\n".join(lines) + "\n", n
        head = sections.pop() if sections and r.random() < 0.7 else w.noun(True).capitalize()
        lines += [" ", f" = = {head} = = ", " "]
        n += 2 + len(head.split()) + 2


def _split(seed: int, name: str, n_words: int, vocab: dict) -> list[str]:
    r, docs, n = rng_for(seed, f"split:{name}"), [], 0
    while n < n_words:
        doc, k = _document(r, vocab, n_words - n)
        docs.append(doc)
        n += k
    return docs


def generate_corpus(seed: int, words: dict[str, int]) -> dict[str, list[str]]:
    """Generate ``{split: [document, ...]}`` with about ``words[split]`` whitespace tokens each.

    Deterministic from ``seed``; each split is an independent stream seeded by (seed, split).
    Joining a split's documents with ``""`` gives WikiText-2-raw-like text.
    """
    vocab = build_vocabulary(seed)
    return {name: _split(seed, name, int(n), vocab) for name, n in words.items()}


def corpus_checksum(corpus: dict[str, list[str]]) -> str:
    """SHA-256 over the splits (train, validation, test, then any others sorted by name)."""
    order = [s for s in SPLIT_ORDER if s in corpus] + sorted(set(corpus) - set(SPLIT_ORDER))
    h = hashlib.sha256()
    for name in order:
        h.update(f"\x1d{name}\x1d{len(corpus[name])}\x1d".encode())
        for doc in corpus[name]:
            h.update(doc.encode())
            h.update(b"\x1e")
    return h.hexdigest()

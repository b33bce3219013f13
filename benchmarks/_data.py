"""What benchmarks share: real article texts (the SemEval pairs beside the clone, ../shared),
synthetic articles, and stores filled with copies of them at any size."""
import contextlib
import copy
import datetime as dt
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

PAIRS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "semeval2022-train" / "pairs.jsonl"
DAY0 = dt.date(2021, 1, 1)  # the first day of a filled store
LANGS = ["en", "de", "fr", "ru", "es", "it", "pl", "tr"]


def overrides(items: list[str]) -> dict:
    """``--set section.key=value`` (a JSON value) items as ``load_settings`` overrides."""
    over: dict = {}
    for item in items:
        key, value = item.split("=", 1)
        section, name = key.split(".")
        over.setdefault(section, {})[name] = json.loads(value)
    return over


def articles(n: int, origin: str = "original"):
    """The first ``n`` distinct articles (id, lang, title, text) of the pairs file."""
    from storyline.model import Article

    seen, out = set(), []
    with open(PAIRS, encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            if r["origin"] != origin:
                continue
            for k, aid in zip((1, 2), r["pair_id"].split("_")):
                if aid not in seen and r[f"text{k}"].strip():
                    seen.add(aid)
                    out.append(Article(id=aid, title=r[f"title{k}"] or "", text=r[f"text{k}"], lang=r[f"lang{k}"]))
                    if len(out) >= n:
                        return out
    return out


def labelled_split(split: str, cache: str, settings, centres=None, with_chunks: bool = True):
    """A split's pairs that could be prepared, with their features, evidence and whether each
    pair is in one language (centres fitted on the split's articles unless given; without
    ``with_chunks``, the cheap model's features only)."""
    from storyline.compare import evidence
    from storyline.evaluate import fit_centres, pair_matrix, prepare_pairs, read_pairs

    pairs = read_pairs(str(PAIRS), split)
    ready = prepare_pairs(pairs, settings, cache, with_chunks=with_chunks)
    centres = centres or fit_centres(ready.values(), settings.embed["encoder"])
    keep, feats = pair_matrix(pairs, ready, centres)
    pairs = [pairs[i] for i in keep]
    preps = [(ready[p.a.content_hash], ready[p.b.content_hash]) for p in pairs]
    evs = [evidence(a.article, a.embedding, b.article, b.embedding, f, settings.compare["align_threshold"], centres)
           for (a, b), f in zip(preps, feats)]
    return pairs, feats, evs, [a.article.lang == b.article.lang for a, b in preps]


def groups(labels, ids):
    """The gold stories: connected components of the same-story pairs (``story_labels``) over
    ``ids``, each in the order of ``ids`` (an article in no such pair is a story of its own)."""
    parent = {i: i for i in ids}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for (a, b), same in labels.items():
        if same and a in parent and b in parent:
            parent[find(a)] = find(b)
    out = defaultdict(list)
    for i in ids:
        out[find(i)].append(i)
    return list(out.values())


class ScoredOnce:
    """A StoryIndex's ``compare`` that scores each pair once (``pipe.compare_many``) and reuses the
    score in every later run, so a tune reruns only the clustering. With ``compare`` (a compare
    section) set, each pair's relation is taken again under it: the scores do not depend on the
    relation's settings, the relation does."""

    def __init__(self, pipe):
        self.pipe, self.memo, self.compare = pipe, {}, None

    def __call__(self, a, others: list) -> list:
        todo = [o for o in others if (a.article.id, o.article.id) not in self.memo]
        for o, s in zip(todo, self.pipe.compare_many(a, todo) if todo else []):
            self.memo[(a.article.id, o.article.id)] = s
        out = [self.memo[(a.article.id, o.article.id)] for o in others]
        return out if self.compare is None else [self.relate(s) for s in out]

    def relate(self, s):
        """``s`` with its relation (and why "related") under ``self.compare``."""
        import dataclasses

        from storyline.compare import related_because, relation

        langs = s.evidence.languages
        rel = relation(s.scores, s.evidence, langs[0] == langs[1], self.compare)
        because = related_because(s.scores, s.evidence, self.compare) if rel == "related" else ""
        return dataclasses.replace(s, relation=rel, because=because)


def story_split(split: str, cache: str, settings):
    """A split as ``storyline eval stories`` clusters it: its pairs, its prepared articles by id
    (file order), the gold same-story labels, the articles' languages and a ``ScoredOnce`` compare."""
    from storyline.evaluate import articles_by_id, prepare_pairs, read_pairs, story_labels
    from storyline.pipeline import Pipeline
    from storyline.scorer import SCORERS

    scorer = SCORERS[settings.compare["scorer"]]()
    pairs = read_pairs(str(PAIRS), split)
    ready = prepare_pairs(pairs, settings, cache, with_chunks=scorer.uses_chunks and settings.compare["second"] != "never")
    arts = articles_by_id(pairs, ready)
    return (pairs, arts, story_labels(pairs), {k: v.article.lang for k, v in arts.items()},
            ScoredOnce(Pipeline(settings, scorer=scorer, chunk_encoder=False)))


def assign_all(arts: dict, compare, settings):
    """The articles assigned online in their order, as ``add`` assigns them: the StoryIndex."""
    from storyline.cluster import StoryIndex

    index = StoryIndex.from_settings(compare, settings, dim=next(iter(arts.values())).embedding.doc.shape[0])
    for prep in arts.values():
        index.assign(prep)
    return index


def synthetic(n: int = 600, pipeline=None) -> list:
    """(article, vectors) pairs of synthetic articles in 8 languages from 300 sources; the vectors
    are ``pipeline``'s (e.g. the hashed stand-in's: no model) or none (a store that ranks, not searches)."""
    from storyline.model import Article

    arts = [Article(id=f"p{i}", text=f"Text {i} about topic {i % 97}, in town {i % 13}. " * 4, title=f"Title {i}",
                    lang=LANGS[i % len(LANGS)], source=f"source{i % 300}.example") for i in range(n)]
    if pipeline is None:
        return [(a, {"none": None}) for a in arts]
    for a in arts:
        a.content_hash = None
        pipeline.bound(a)
    return [(p.article, {pipeline.encoder.name: p.embedding}) for p in pipeline.embed(arts)]


def scattered(i: int, n: int) -> dt.date:
    """Dates spread over two years with no order: one day in five, whatever the article's place."""
    return DAY0 + dt.timedelta(days=(i * 7919) % 730)


class Batched:
    """A write transaction that keeps the store's own statements and runs each as one executemany
    per chunk (in the order each statement was first seen, repeats dropped): a fill makes the
    rows the service makes, without a round trip per row. The next sequence number is counted
    here from the store's last; any other read first runs what is pending."""

    def __init__(self, db, last_seq: str):
        self.db, self.last_seq, self.seq, self.locked = db, last_seq, None, set()
        self.pending: dict[str, dict[tuple, None]] = {}

    def execute(self, sql: str, args=()):
        if sql == self.last_seq:
            if self.seq is None:
                self.flush()
                self.seq = self.db.execute(sql).fetchone()[0]
            self.seq += 1
            return _One(self.seq - 1)
        if sql.startswith("SELECT pg_advisory_xact_lock"):  # held to the commit: once is enough
            if sql not in self.locked:
                self.locked.add(sql)
                self.db.execute(sql, args)
            return _One(None)
        if sql.lstrip().upper().startswith("SELECT"):
            self.flush()
            return self.db.execute(sql, args)
        self.pending.setdefault(sql, {})[tuple(args)] = None
        return _One(None)

    def flush(self) -> None:
        for sql, rows in self.pending.items():
            if hasattr(self.db, "conn"):  # PostgreSQL's ? -> %s wrapper
                with self.db.conn.cursor() as cur:
                    cur.executemany(sql.replace("?", "%s"), list(rows))
            else:
                self.db.executemany(sql, list(rows))
        self.pending.clear()


class _One:
    def __init__(self, value):
        self.value = value

    def fetchone(self):
        return (self.value,)


def fill(path: str, n: int, pool: list, encoder: str = "", day=scattered) -> float:
    """Write ``n`` synthetic articles (copies of the pool under new ids and texts), five to a story
    dated ``day(first member's number, n)``, a thousand to a transaction (through the store's own
    statements, batched: ``Batched``); returns articles/s."""
    from tqdm import tqdm

    from storyline.cluster import story_id_for, summarise
    from storyline.pipeline import content_hash
    from storyline.store import open_store
    from storyline.store.removal import LAST_SEQ

    from storyline import vectors as stored  # the store imports its encode_embedding on each write

    encode, encoded = stored.encode_embedding, {}
    # a copy's vectors are its source's: each pool vector is encoded once, not once per copy (same bytes)
    stored.encode_embedding = lambda e: encoded[id(e)] if id(e) in encoded else encoded.setdefault(id(e), encode(e))
    store = open_store(path)
    t = time.perf_counter()
    src_dicts = [src.to_dict() for src, _ in pool]
    bar = tqdm(total=n, unit="art", desc=f"fill {n:,}", disable=not sys.stderr.isatty())
    for chunk in range(0, n, 1000):
        with store._tx() as tx:
            db = Batched(tx, LAST_SEQ)
            for start in range(chunk, min(chunk + 1000, n), 5):
                sid = story_id_for(f"c{start}")
                when = day(start, n).isoformat()
                group = []
                for i in range(start, min(start + 5, n)):
                    src, vectors = pool[i % len(pool)]
                    art = copy.copy(src)
                    art.id, art.text, art.published, art.event_date = f"c{i}", f"{src.text}\n\nCopy {i}.", when, None
                    art.content_hash = content_hash(art)
                    fields = {**src_dicts[i % len(pool)], "id": art.id, "text": art.text, "published": when,
                              "event_date": None, "content_hash": art.content_hash}
                    art.to_dict = fields.copy  # the copy's JSON from its source's, built once (asdict is slow)
                    group.append(art)
                    store._put_vectors(db, art.content_hash, vectors)
                    store._put_article(db, art)
                    store._set_member(db, art.id, sid, {"article_id": art.id, "story_id": sid, "new_story": i == start,
                                                        "best": None, "runner_up": None, "vetoed": [], "duplicate_of": None}, art)
                store._put_story(db, summarise(sid, group))
            db.flush()
        bar.update(min(1000, n - chunk))
    bar.close()
    store.close()
    stored.encode_embedding = encode
    return n / (time.perf_counter() - t)


@contextlib.contextmanager
def stores(name: str, sizes: list[int], pg_sizes: list[int], folder: str | None = None):
    """(backend, size, address) of the stores a benchmark fills: SQLite files ``name-N.db`` in
    ``folder`` (kept there, so a file found is used again; default a new temp dir) and new
    databases on a throwaway PostgreSQL cluster, stopped on leaving."""
    where = Path(folder or tempfile.mkdtemp(prefix=f"{name}-"))
    where.mkdir(parents=True, exist_ok=True)
    found = [("sqlite", n, str(where / f"{name}-{n}.db")) for n in sizes]
    pg = None
    try:
        if pg_sizes:
            sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
            from tests.pg import Postgres

            pg = Postgres()
            found += [("postgres", n, pg.create_db()) for n in pg_sizes]
        yield found
    finally:
        if pg is not None:
            pg.stop()

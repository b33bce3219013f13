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

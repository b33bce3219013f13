"""Signal extraction quality: precision/recall on a hand-labelled multilingual set, date false
positives, agreement of names between an article and its machine translation, and Pearson of
overlap scores with the gold SemEval dimensions.

    python benchmarks/signals.py [--split dev|test] [--cache PATH] [--gold-only]

The gold set's later rows carry a "kind": declined names, common words that are also place
names, titles and regions before names, patronymics, possessives; recall is printed per kind.
Places are keyed as the extractor keys them (countries, GeoNames cities): a region or US state
has no key and is not listed.
"""
import argparse
import datetime as dt
import json
from collections import Counter
from pathlib import Path

import numpy as np
import regex as re
from _data import PAIRS

from storyline.analyse.dates import date_signals
from storyline.fold import fold, plain
from storyline.analyse.names import name_signals
from storyline.analyse.places import resolve

GOLD = Path(__file__).with_name("signals_gold.jsonl")


def script(text: str) -> str:
    for name in ("Cyrillic", "Greek", "Arabic", "Han"):
        if re.search(rf"\p{{{name}}}", text):
            return name
    return "Latin"


def expected(row: dict) -> dict[str, set[str]]:
    named = {p for p in row["places"] if len(p) == 2 and p.isupper()}

    def place(p):
        if p in named:
            return p
        city, _ = resolve(p, named)  # an ambiguous city is the one in a country the sentence names
        return f"geonames:{city.geonameid}" if city else f"unresolved:{plain(p)}"  # as the extractor marks it

    return {"person": {"person:" + fold(p) for p in row["people"]}, "org": {"org:" + o for o in row["orgs"]},
            "place": {place(p) for p in row["places"]}, "date": set(row["dates"])}


def found(row: dict) -> dict[str, set[str]]:
    out = {t: set() for t in ("person", "org", "place", "date")}
    for s in name_signals(row["text"], row["lang"]):
        out[s.type].add(s.key)
    dates, _ = date_signals(row["text"], row["lang"], row.get("published"))
    out["date"] = {s.key for s in dates if not s.key.startswith("month:")}  # a month alone is not a date
    return out


def gold_set() -> None:
    rows = [json.loads(line) for line in GOLD.read_text("utf-8").splitlines() if line.strip()]
    tp, fp, fn = Counter(), Counter(), Counter()
    by_script, by_kind = Counter(), Counter()
    for row in rows:
        exp, got = expected(row), found(row)
        sc, kind = script(row["text"]), row.get("kind", "basic")
        by_script[sc] += 1
        by_kind[kind] += 1
        for t in exp:
            for k in (t, (sc, t), (kind, t)):
                tp[k] += len(exp[t] & got[t])
                fp[k] += len(got[t] - exp[t])
                fn[k] += len(exp[t] - got[t])
    langs = Counter(r["lang"] for r in rows)
    print(f"gold set: {len(rows)} sentences, {len(langs)} languages ({', '.join(sorted(langs))}), "
          f"scripts {dict(by_script)}")
    print(f"{'type':<8} {'precision':>9} {'recall':>7}   tp  fp  fn")
    for t in ("person", "org", "place", "date"):
        p = tp[t] / (tp[t] + fp[t]) if tp[t] + fp[t] else float("nan")
        r = tp[t] / (tp[t] + fn[t]) if tp[t] + fn[t] else float("nan")
        print(f"{t:<8} {p:9.3f} {r:7.3f}  {tp[t]:3d} {fp[t]:3d} {fn[t]:3d}")
    print(f"date false positives: {fp['date']} (in {len(rows)} sentences)")
    print("recall by script (person / org / place):")
    for sc in by_script:
        rs = []
        for t in ("person", "org", "place"):
            d = tp[(sc, t)] + fn[(sc, t)]
            rs.append(f"{tp[(sc, t)] / d:.2f}" if d else " -  ")
        print(f"  {sc:<9} {' / '.join(rs)}")
    print("by kind: sentences, then precision/recall of person, org, place:")
    for kind, n in by_kind.items():
        cells = []
        for t in ("person", "org", "place"):
            p, r = tp[(kind, t)] + fp[(kind, t)], tp[(kind, t)] + fn[(kind, t)]
            cells.append(f"{tp[(kind, t)] / p if p else float('nan'):.2f}/{tp[(kind, t)] / r if r else float('nan'):.2f}")
        print(f"  {kind:<12} {n:3d}  " + "  ".join(cells))


def overlaps(a, b) -> dict[str, float]:
    def jac(x, y):
        return len(x & y) / len(x | y) if x and y else 0.0

    time = jac(a.keys("date"), b.keys("date"))
    if a.event_date and b.event_date:
        gap = abs((dt.date.fromisoformat(a.event_date) - dt.date.fromisoformat(b.event_date)).days)
        time = 1 / (1 + gap / 7)
    return {"geography": jac(a.keys("place"), b.keys("place")),
            "entities": jac(a.keys("person", "org"), b.keys("person", "org")), "time": time}


def semeval(split: str, cache: str | None) -> None:
    from storyline.evaluate import prepare_pairs, read_pairs
    from storyline.settings import load_settings

    pairs = read_pairs(str(PAIRS), split)
    ready = prepare_pairs(pairs, load_settings(), cache, with_chunks=False)
    rows = [(p, overlaps(ready[p.a.content_hash].article, ready[p.b.content_hash].article))
            for p in pairs if p.a.content_hash in ready and p.b.content_hash in ready]
    print(f"SemEval {split}: {len(rows)} pairs; Pearson(overlap, gold) - negative is agreement (1 = very similar)")
    for dim in ("geography", "entities", "time"):
        x = np.array([o[dim] for _, o in rows])
        y = np.array([p.scores[dim] for p, _ in rows])
        print(f"  {dim:<10} r = {np.corrcoef(x, y)[0, 1]:+.3f}")
    known = sum(1 for p, _ in rows if ready[p.a.content_hash].article.event_date and ready[p.b.content_hash].article.event_date)
    print(f"  pairs with both event dates known: {known} ({known / len(rows):.0%})")


def translations(split: str) -> None:
    """People and places an article shares with its machine translation (SemEval's
    "machine-translated" pairs re-use an original pair's article in another language): a name
    found on both sides under one key is a name normalised across languages and scripts."""
    rows = [json.loads(line) for line in PAIRS.read_text("utf-8").splitlines()]
    originals = {r["base_pair_id"]: r for r in rows if r["split"] == split and r["origin"] == "original"}
    agree: dict[str, dict[str, list[float]]] = {}
    seen = set()
    for m in rows:
        o = originals.get(m["base_pair_id"])
        if m["split"] != split or m["origin"] == "original" or o is None:
            continue
        for k in ("1", "2"):
            src, dst = o[f"lang{k}"], m[f"lang{k}"]
            if src == dst or (o[f"text{k}"], dst) in seen:
                continue
            seen.add((o[f"text{k}"], dst))
            a, b = name_signals(o[f"text{k}"], src), name_signals(m[f"text{k}"], dst)
            for t in ("person", "place"):
                ka, kb = {x.key for x in a if x.type == t}, {x.key for x in b if x.type == t}
                if ka or kb:
                    agree.setdefault(f"{src}->{dst}", {}).setdefault(t, []).append(len(ka & kb) / len(ka | kb))
    print(f"article vs its machine translation ({split}): mean Jaccard of keys (n articles)")
    for pair, by_type in sorted(agree.items()):
        print(f"  {pair:<7}" + "".join(f"  {t} {np.mean(v):.3f} ({len(v)})" for t, v in by_type.items()))
    for t in ("person", "place"):
        print(f"  all {t}: {np.mean([x for d in agree.values() for x in d.get(t, [])]):.3f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="dev")
    ap.add_argument("--cache", default=None)
    ap.add_argument("--gold-only", action="store_true", help="only the hand-labelled set (seconds, no SemEval data)")
    args = ap.parse_args()
    gold_set()
    if PAIRS.exists() and not args.gold_only:
        translations(args.split)
        semeval(args.split, args.cache)

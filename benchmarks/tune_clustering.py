"""Choose cluster.link_max_overall on the dev split (never on test): F1 of "same story" per threshold.

    python benchmarks/tune_clustering.py [--cache PATH]
"""
import argparse

from _data import PAIRS

from storyline.evaluate import cluster_split, story_labels, story_scores
from storyline.settings import load_settings


def main(cache):
    for threshold in (2.0, 2.2, 2.4):
        settings = load_settings(cluster={"link_max_overall": threshold})
        pairs, arts, index = cluster_split(str(PAIRS), "dev", settings, cache)
        s = story_scores(index.story_of_, story_labels(pairs), {k: v.article.lang for k, v in arts.items()})
        print(f"link_max_overall {threshold}: P {s['precision']:.3f} R {s['recall']:.3f} F1 {s['f1']:.3f} "
              f"cross-language F1 {s['cross_language']['f1']:.3f} ({s['stories']} stories, {s['pairs']} labelled pairs)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", default=None)
    main(ap.parse_args().cache)

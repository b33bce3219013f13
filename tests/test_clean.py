from storyline.clean import Cleaner, Recurring
from storyline.read import read_paths

from .conftest import SEEDS

BOILERPLATE = ["Bbabo NET", "Notizia", "Download", "Search Trends", "Torna alle notizie", "bbabo.Net"]


def clean_in_order(cleaner, arts, seen=None):
    """Each article cleaned with what its source's earlier articles and itself show, then counted."""
    seen = Recurring() if seen is None else seen
    out = []
    for art in arts:
        art, keys = cleaner.clean(art, seen)
        seen.count(art, keys)
        out.append(art)
    return out


def cleaned():
    arts = [a for a in read_paths([str(SEEDS)])]
    raw = {a.id[:3]: a.text for a in arts}
    return raw, {a.id[:3]: a for a in clean_in_order(Cleaner(), arts)}


def test_seed_boilerplate_lines_are_gone():
    _, arts = cleaned()
    for art in arts.values():
        lines = [line.strip() for line in art.text.split("\n")]
        for junk in BOILERPLATE:
            assert junk not in lines, (art.id, junk)
            assert not any(line.startswith(junk) for line in lines), (art.id, junk)


def test_article_text_is_intact():
    raw, arts = cleaned()
    # Every body paragraph of the raw text (long lines, not repeated) survives cleaning.
    for key, art in arts.items():
        for line in raw[key].splitlines():
            line = line.strip()
            if len(line.split()) > 12 and raw[key].count(line) == 1:
                assert line in art.text or line.split("|", 1)[-1].strip() in art.text, (key, line[:60])


def test_titles_and_repeated_captions():
    _, arts = cleaned()
    assert arts["000"].title.startswith("Putin e Tokayev discutono")
    assert arts["000"].text.count("Putin e Tokayev discutono della situazione") == 1  # title repeated at the foot
    assert arts["003"].title.startswith("Putin calls Kazakhstan's January unrest")
    assert "CGTN" not in arts["003"].paragraphs  # byline under the title
    assert "shakes hands" not in arts["003"].text  # caption shown twice
    assert arts["001"].title.startswith("Der russische Präsident Wladimir Putin")  # opening words stand in
    assert arts["001"].paragraphs[0].startswith("Der russische Präsident")


def test_a_text_files_title_is_its_first_line_of_five_words_or_more():
    """As the README says: shorter head lines are a site's banner ("Bbabo NET", "Download"), so a
    headline of four words is taken for one; a title given beside the text is kept."""
    from storyline.model import Article

    body = "Cork, 16 September 2025 - Tram drivers in Cork walked off the job, halting 12 lines."
    five = Cleaner().transform(Article("a", "Tram drivers strike in Cork\n\n" + body))
    four = Cleaner().transform(Article("b", "Tram strike in Cork\n\n" + body))
    given = Cleaner().transform(Article("c", body, title="Tram strike in Cork"))
    assert (five.title, four.title, given.title) == ("Tram drivers strike in Cork", body, "Tram strike in Cork")
    assert "Tram strike in Cork" not in four.text


def test_lines_recurring_across_a_source_are_removed():
    from storyline.model import Article

    arts = [Article(id=str(i), source="site", text=f"Headline number {i} about things\nSubscribe to our newsletter today for more\n"
                    f"Body paragraph {i} with enough words to count as article text, and more words.")
            for i in range(4)]
    out = clean_in_order(Cleaner(recurring_min_articles=3), arts)
    assert ["Subscribe" in a.text for a in out] == [True, True, False, False]  # learnt from the third on
    assert all("Body paragraph" in a.text for a in out)


def test_what_a_source_showed_before_is_loaded_and_only_what_was_asked():
    """A later run starts from the counts kept (here a dict standing in for the store)."""
    from storyline.clean import line_key
    from storyline.model import Article

    kept, asked = {"site": (9, {line_key("Subscribe to our newsletter today for more"): 9})}, []

    def load(source, keys):
        asked.append((source, set(keys)))
        n, counts = kept.get(source, (0, {}))
        return n, {k: c for k, c in counts.items() if k in keys}

    seen = Recurring(load)
    art = Article(id="10", source="site", text="Headline about things\nSubscribe to our newsletter today for more\n"
                  "Body paragraph with enough words to count as article text, and more words.")
    (out,) = clean_in_order(Cleaner(), [art], seen)
    assert "Subscribe" not in out.text and "Body paragraph" in out.text
    source, keys = seen.take("10")  # what the store is to count with the article's commit, given once
    assert source == "site" and line_key("Subscribe to our newsletter today for more") in keys and seen.take("10") is None
    assert len(asked) == 1 and seen.articles["site"] == 10


def test_copies_of_one_article_are_not_each_others_boilerplate():
    """Syndicated copies posted together without a source: their lines recur, yet they are the article."""
    from storyline.model import Article

    body = "Putin and Tokayev met in Moscow on Thursday to discuss the situation in Kazakhstan after the unrest."
    arts = [Article(id=str(i), text=f"Putin meets Tokayev\n{body}\nUpdated at {10 + i}:00.") for i in range(4)]
    arts.append(Article(id="other", text="Another story\nA different article about football results in Madrid on Sunday."))
    out = clean_in_order(Cleaner(recurring_min_articles=3), arts)
    assert all(body in a.text for a in out[:4])

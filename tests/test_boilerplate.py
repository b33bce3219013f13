"""A source's boilerplate is learnt as its articles are stored: the same cleaned texts however the
input is chunked, and concurrent requests share nothing they change (stand-ins for the models)."""
import concurrent.futures as cf

import httpx

from storyline.model import Article

from .server import Server

SUBSCRIBE = "Subscribe to our newsletter today for more stories like this one"
FOLLOW = "Follow us on all of our social channels for the latest updates"
TOPICS = ["the harbour bridge", "the city budget", "the new tram line", "the river clean-up", "the school year",
          "the football club", "the winter storm", "the museum reopening"]


def site_articles(source: str = "site.example") -> list[dict]:
    return [{"id": f"{source}-{i}", "source": source, "lang": "en", "published": f"2025-03-{i + 1:02d}",
             "text": f"News about {topic}\n{SUBSCRIBE}\nThe council met on Monday to discuss {topic}, and members "
                     f"argued for hours about what it will cost and who is to pay for it in the end.\n{FOLLOW}"}
            for i, topic in enumerate(TOPICS)]


def stored_texts(sl, ids) -> dict[str, str]:
    return {i: sl.article(i).text for i in ids}


def test_cleaned_texts_do_not_depend_on_chunking(pipeline, tmp_path):
    from storyline.service import Storyline
    from storyline.store import open_store

    items = site_articles()
    ids = [a["id"] for a in items]
    texts = []
    for name, add in (("one-chunk", lambda sl: sl.add([Article(**a) for a in items], chunk=100)),
                      ("chunks-of-1", lambda sl: sl.add([Article(**a) for a in items], chunk=1)),
                      ("one-add-each", lambda sl: [sl.add([Article(**a)]) for a in items])):
        with Storyline(open_store(tmp_path / f"{name}.db"), pipeline.settings, pipeline) as sl:
            add(sl)
            texts.append(stored_texts(sl, ids))
    assert texts[0] == texts[1] == texts[2]
    # learnt from the source's articles so far, itself included: from the third on (recurring_min_articles = 3)
    assert [SUBSCRIBE in texts[0][i] for i in ids] == [True, True] + [False] * 6
    assert [FOLLOW in texts[0][i] for i in ids] == [True, True] + [False] * 6
    assert all("The council met on Monday" in t for t in texts[0].values())


def test_a_later_run_starts_from_what_the_store_counted(pipeline, tmp_path):
    from storyline.service import Storyline
    from storyline.store import open_store

    items = site_articles()
    with Storyline(open_store(tmp_path / "s.db"), pipeline.settings, pipeline) as sl:
        sl.add([Article(**a) for a in items[:4]])
    with Storyline(open_store(tmp_path / "s.db"), pipeline.settings, pipeline) as sl:
        sl.add([Article(**a) for a in items[4:]])
        assert SUBSCRIBE not in sl.article(items[4]["id"]).text
        assert sl.store.line_counts("site.example", [])[0] == 8


def test_compare_and_articles_run_concurrently_give_the_sequential_result(tmp_path):
    """/compare once refitted the one Cleaner an /articles was cleaning with: the boilerplate
    removed then depended on the timing. Now each request learns on its own."""
    auth = {"Authorization": "Bearer s3cret"}
    items = site_articles()
    other = [dict(a, id=f"x{i}", published=None) for i, a in enumerate(site_articles("other.example")[:2])]
    pair = {"a": other[0], "b": other[1]}

    def run(server, concurrent: bool):
        def post_all():
            for a in items:  # one request each: many cleanings for the comparisons to meet
                r = httpx.post(server.url + "/articles", json=a, headers=auth, timeout=120)
                assert r.status_code == 200, r.text

        def compare():
            r = httpx.post(server.url + "/compare", json=pair, timeout=120)
            assert r.status_code == 200, r.text
            return r.json()

        if concurrent:
            with cf.ThreadPoolExecutor(4) as pool:
                writer = pool.submit(post_all)
                scores = [f.result() for f in [pool.submit(compare) for _ in range(12)]]
                writer.result()
        else:
            post_all()
            scores = [compare()]
        return {a["id"]: httpx.get(server.url + f"/articles/{a['id']}").json()["text"] for a in items}, scores

    results = []
    for name, concurrent in (("sequential", False), ("concurrent", True)):
        srv = Server(tmp_path / f"{name}.db", token="s3cret", tmp=str(tmp_path))
        try:
            results.append(run(srv, concurrent))
        finally:
            srv.stop()
    (texts, (score,)), (texts_together, scores_together) = results
    assert texts_together == texts and SUBSCRIBE not in texts[items[-1]["id"]]
    assert all(s == score for s in scores_together)

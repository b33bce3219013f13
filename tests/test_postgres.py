"""Several processes on one PostgreSQL store: two servers, writers to both at once."""
import concurrent.futures as cf
import json

import httpx
import pytest

from storyline.read import read_paths
from storyline.service import Storyline
from storyline.store import open_store

from .conftest import SEEDS, open_test_store
from .server import Server

pytestmark = pytest.mark.slow
AUTH = {"Authorization": "Bearer s3cret"}


def _articles(n: int) -> list[dict]:
    texts = [p.read_text() for p in sorted(SEEDS.glob("*.txt"))]
    return [{"id": f"a{i:02d}", "text": texts[i % 5] + f"\n\nUpdate number {i} of the day."} for i in range(n)]


def test_two_servers_on_one_store_store_each_article_once_in_the_stories_of_their_order(postgres, pipeline, tmp_path):
    address = postgres.create_db()
    for name in ("one", "two"):  # each server its own index, as on two machines
        (tmp_path / name).mkdir()
    servers = [Server(address, token="s3cret", tmp=str(tmp_path / name)) for name in ("one", "two")]
    try:
        arts = _articles(12)

        def post(i: int) -> int:  # one article a request, alternating servers, four writers at once
            r = httpx.post(servers[i % 2].url + "/articles", json=arts[i], headers=AUTH, timeout=600)
            return r.status_code

        with cf.ThreadPoolExecutor(4) as pool:
            assert set(pool.map(post, range(len(arts)))) == {200}
        seen = [httpx.get(s.url + "/stories", timeout=60).json()["total"] for s in servers]
        assert seen[0] == seen[1]  # each server sees what the other wrote, without a restart
    finally:
        for s in servers:
            s.stop()
    store = open_test_store(address, tmp_path)
    order = [a.id for a in store.articles()]  # commit order: the order the writers took turns in
    assert sorted(order) == sorted(a["id"] for a in arts) and store.last_seq() == len(arts)
    assert len(store.membership()) == len(arts)
    shared = {frozenset(s.article_ids) for s in store.query_stories()[1]}
    # the same articles added one at a time, in that order, by one process on SQLite
    by_id = {a["id"]: a for a in arts}
    sequential = Storyline(open_store(tmp_path / "seq.db"), pipeline.settings, pipeline)
    for aid in order:
        path = tmp_path / f"{aid}.json"
        path.write_text(json.dumps(by_id[aid]))
        sequential.add(read_paths([str(path)]))
    assert shared == {frozenset(s.article_ids) for s in sequential.stories()}

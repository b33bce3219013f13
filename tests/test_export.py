"""Export: stories with their members as JSON lines, CSV and Parquet, from the CLI and streamed
over HTTP, on both backends; read back with json, csv and pyarrow."""
import csv
import io
import json
import sys

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from storyline import export
from storyline.cli import main
from storyline.cluster import summarise
from storyline.model import Article, Signal
from storyline.store import StoryFilter

from .conftest import open_test_store

STORIES = {  # story id -> its members: (id, lang, source, published, person)
    "s-kz": [("kz1", "de", "taz", "2024-03-10", "tokaev"), ("kz2", "ru", "tass", "2024-03-11", "tokaev"),
             ("kz3", "en", "bbc", "2024-03-11", "tokaev")],
    "s-fr": [("fr1", "fr", "lemonde", "2024-03-12", "macron")],
    "s-old": [("old1", "en", "bbc", "2024-01-02", "scholz"), ("old2", "de", "taz", "2024-01-03", "scholz")],
}


@pytest.fixture
def address(store_address, tmp_path):
    store = open_test_store(store_address, tmp_path)
    for sid, members in STORIES.items():
        arts = []
        for aid, lang, source, day, person in members:
            arts.append(Article(id=aid, text=f"text {aid}", title=f"{person} {aid}; \"quoted\", with commas", lang=lang,
                                source=source, published=day, content_hash=f"h-{aid}",
                                signals=[Signal("person", f"person:{person}", person.title())]))
            store.commit_assignment(arts[-1], sid, {"story_id": sid}, summarise(sid, arts))
    store.close()
    return store_address


def expected(address, tmp_path, where=StoryFilter(), limit=None):
    store = open_test_store(address, tmp_path)
    try:
        return [export.story_record(s) for s in store.query_stories(where, 0, limit)[1]]
    finally:
        store.close()


def flat(records):
    return [{k: v for k, v in r.items() if k != "members"} | m for r in records for m in r["members"]]


def read_back(fmt: str, data: bytes) -> list[dict]:
    """The rows an export holds, as JSON lines' records or the flat rows of CSV and Parquet."""
    if fmt == "jsonl":
        return [json.loads(line) for line in data.decode().splitlines()]
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(data.decode())))
        return [{k: (int(v) if k == "articles" else (v.split("; ") if v else []) if k in export.LISTS else v or None)
                 for k, v in r.items()} for r in rows]
    return pq.read_table(io.BytesIO(data)).to_pylist()


@pytest.mark.parametrize("fmt", export.FORMATS)
def test_cli_export_round_trips(address, tmp_path, fmt):
    out = tmp_path / f"stories.{fmt}"
    r = CliRunner().invoke(main, ["export", "--db", address, "--format", fmt, "--output", str(out)])
    assert r.exit_code == 0, r.output
    want = expected(address, tmp_path)
    assert [s["story_id"] for s in want] == ["s-fr", "s-kz", "s-old"]  # newest first
    assert {s["story_id"]: [m["article_id"] for m in s["members"]] for s in want} == {
        sid: [m[0] for m in ms] for sid, ms in STORIES.items()}
    got = read_back(fmt, out.read_bytes())
    assert got == (want if fmt == "jsonl" else flat(want))
    assert not (tmp_path / f"stories.{fmt}.part").exists()


@pytest.mark.parametrize("fmt", export.FORMATS)
def test_http_export_streams_with_the_stories_filters(address, tmp_path, fmt):
    from fastapi.testclient import TestClient

    from storyline.serve import create_app

    client = TestClient(create_app(address), base_url="http://127.0.0.1")
    r = client.get("/export", params={"format": fmt, "since": "2024-03-01"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(export.MEDIA_TYPES[fmt].split(";")[0])
    assert r.headers["content-disposition"] == f'attachment; filename="stories.{fmt}"'
    want = expected(address, tmp_path, StoryFilter(since="2024-03-01"))
    assert [s["story_id"] for s in want] == ["s-fr", "s-kz"]
    assert read_back(fmt, r.content) == (want if fmt == "jsonl" else flat(want))
    for params, ids in [({"lang": "ru"}, ["s-kz"]), ({"entity": "Tokajew"}, ["s-kz"]), ({"until": "2024-01-31"}, ["s-old"]),
                        ({"limit": 2}, ["s-fr", "s-kz"]), ({"q": "scholz"}, ["s-old"])]:
        r = client.get("/export", params={"format": "jsonl"} | params)
        assert [s["story_id"] for s in read_back("jsonl", r.content)] == ids, params
    r = client.get("/export", params={"format": "xml"})
    assert r.status_code == 422 and r.json()["detail"] == [
        {"field": "format", "problem": "must be one of jsonl, csv, parquet, got 'xml'"}]
    assert client.get("/export", params={"limit": 0}).status_code == 422


def test_cli_filters_bad_format_and_missing_pyarrow(address, tmp_path, monkeypatch):
    run = CliRunner().invoke
    r = run(main, ["export", "--db", address, "--lang", "de", "--until", "2024-03-10", "--limit", "1"])
    assert r.exit_code == 0, r.output
    assert [s["story_id"] for s in read_back("jsonl", r.stdout_bytes)] == ["s-kz"]
    r = run(main, ["export", "--db", address, "--entity", "Scholz", "--format", "csv"])
    assert {row["story_id"] for row in read_back("csv", r.stdout_bytes)} == {"s-old"}
    r = run(main, ["export", "--db", address, "--format", "xml"])
    assert (r.exit_code, r.output) == (2, "storyline: --format: must be one of jsonl, csv, parquet, got 'xml'\n")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if the extra were not installed
    out = tmp_path / "s.parquet"
    r = run(main, ["export", "--db", address, "--format", "parquet", "--output", str(out)])
    assert (r.exit_code, r.output) == (
        1, "storyline: Parquet needs pyarrow: pip install 'storyline[export]' (or use jsonl or csv)\n")
    assert not out.exists()


def test_pages_and_limits_are_kept_across_pages(address, tmp_path):
    store = open_test_store(address, tmp_path)
    try:
        assert [s.id for s in export.stories(store, page=1)] == ["s-fr", "s-kz", "s-old"]
        assert [s.id for s in export.stories(store, limit=2, page=1)] == ["s-fr", "s-kz"]
        assert list(export.stories(store, StoryFilter(lang="xx"))) == []
        empty = b"".join(export.chunks([], "parquet"))
        assert pq.read_table(io.BytesIO(empty)).num_rows == 0
        assert b"".join(export.chunks([], "csv")).decode().startswith("story_id,headline,articles,")
    finally:
        store.close()


def test_keyset_pages_read_what_one_offset_listing_reads(store_address, tmp_path):
    """Stories that tie on last seen and size (ids of mixed case and punctuation), undated ones
    and filters, read five at a time by the listing's key: the same stories in the same order,
    and the same bytes in each format, as the listing read whole."""
    store = open_test_store(store_address, tmp_path)
    try:
        arts: dict[str, list[Article]] = {}
        for i in range(23):
            sid = ["s", "S", "s-", "s_", "t"][i % 5] + str(i // 5)
            for j in range(1 + i % 3):
                aid = f"{sid}/{j}"
                arts.setdefault(sid, []).append(Article(
                    id=aid, text=f"text {aid}", title=f"title {aid}", lang=["de", "en"][(i + j) % 2], source=f"src{j}",
                    published=None if i % 7 == 0 else f"2024-03-{1 + i % 4:02d}", content_hash=f"h-{aid}"))
                store.commit_assignment(arts[sid][-1], sid, {"story_id": sid}, summarise(sid, arts[sid]))
        for where in (StoryFilter(), StoryFilter(lang="de"), StoryFilter(since="2024-03-02"), StoryFilter(query="title")):
            whole = store.query_stories(where)[1]
            assert len(whole) > 5, where
            for limit in (None, 5, 7):
                want = whole[:limit]
                got = list(export.stories(store, where, limit, page=5))
                assert [s.id for s in got] == [s.id for s in want], (where, limit)
                assert [export.story_record(s) for s in got] == [export.story_record(s) for s in want]
        whole = store.query_stories()[1]
        assert len(whole) == 23 and len({(s.last_seen, len(s.article_ids)) for s in whole}) < 23  # ties the id breaks
        for fmt in export.FORMATS:
            assert b"".join(export.chunks(export.stories(store, page=5), fmt)) == b"".join(export.chunks(whole, fmt)), fmt
    finally:
        store.close()

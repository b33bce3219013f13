"""Property tests of the readers: whatever the bytes, only InputError comes out, and good records survive."""
import csv
import io
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storyline.errors import InputError
from storyline.model import Article
from storyline.read import decode, parse_text

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
SUFFIXES = [".txt", ".json", ".jsonl", ".csv", ".html"]
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                           max_leaves=12)
good_records = st.builds(lambda t, i: {"id": f"g{i}", "text": f"Good article {t} with words."},
                         st.text(alphabet="abcdefgh ", max_size=20), st.integers(0, 10**6))


def parse_all(raw: bytes, suffix: str) -> list:
    """What the CLI does with one file's bytes; anything but InputError escaping is a bug."""
    try:
        return list(parse_text(decode(raw, "f" + suffix), suffix, "f", "f" + suffix))
    except InputError as err:
        return [err]


@SETTINGS
@given(st.binary(max_size=2000), st.sampled_from(SUFFIXES))
def test_arbitrary_bytes_give_articles_or_input_errors(raw, suffix):
    for item in parse_all(raw, suffix):
        assert isinstance(item, (Article, InputError))


@SETTINGS
@given(json_values)
def test_arbitrary_json_values_never_crash(value):
    for suffix in (".json", ".jsonl"):
        raw = json.dumps(value).encode()
        for item in parse_all(raw, suffix):
            assert isinstance(item, (Article, InputError))



@SETTINGS
@given(st.lists(st.one_of(good_records.map(lambda r: ("good", r)), json_values.map(lambda v: ("any", v))),
                min_size=1, max_size=12))
def test_every_good_record_of_a_mixed_jsonl_file_is_read(records):
    lines = [json.dumps(v) for _, v in records]
    lines.insert(len(lines) // 2, "{not json")
    items = parse_all("\n".join(lines).encode(), ".jsonl")
    got = {a.id for a in items if isinstance(a, Article)}
    assert {v["id"] for kind, v in records if kind == "good"} <= got
    assert any(isinstance(i, InputError) for i in items)


@SETTINGS
@given(st.lists(st.one_of(good_records.map(lambda r: ("good", r)), json_values.map(lambda v: ("any", v))),
                min_size=1, max_size=12))
def test_every_good_record_of_a_mixed_json_list_is_read(records):
    items = parse_all(json.dumps([v for _, v in records]).encode(), ".json")
    got = {a.id for a in items if isinstance(a, Article)}
    assert {v["id"] for kind, v in records if kind == "good"} <= got


cells = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=30)


@SETTINGS
@given(st.lists(st.one_of(good_records.map(lambda r: ("good", [r["id"], r["text"]])),
                          st.lists(cells, min_size=0, max_size=4).map(lambda r: ("any", r))), min_size=1, max_size=12))
def test_every_good_row_of_a_mixed_csv_file_is_read(rows):
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["id", "text"])
    for _, r in rows:
        w.writerow(r)
    items = parse_all(buf.getvalue().encode(), ".csv")
    assert all(isinstance(i, (Article, InputError)) for i in items)
    got = {a.id for a in items if isinstance(a, Article)}
    assert {r[0] for kind, r in rows if kind == "good"} <= got

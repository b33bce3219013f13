import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "examples" / "seeds"
SHARED = ROOT.parent / "shared"
PAIRS = SHARED / "data" / "semeval2022-train" / "pairs.jsonl"
NO_PAIRS = ("needs ../shared/data/semeval2022-train/pairs.jsonl beside the clone (the SemEval-2022 Task 8 "
            "pairs with their texts, which storyline does not ship)")


def need_pairs() -> None:
    """Skip, saying what is missing, where the SemEval pairs are not beside the clone."""
    if not PAIRS.exists():
        pytest.skip(NO_PAIRS)


def semeval_sample(n):
    """The first ``n`` distinct articles of the SemEval pairs."""
    from storyline.model import Article

    seen, out = set(), []
    with open(PAIRS, encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            for k, aid in zip((1, 2), r["pair_id"].split("_")):
                if aid not in seen and r[f"text{k}"].strip() and len(out) < n:
                    seen.add(aid)
                    out.append(Article(id=aid, title=r[f"title{k}"] or "", text=r[f"text{k}"], lang=r[f"lang{k}"]))
    return out


def seed(prefix: str) -> Path:
    return next(SEEDS.glob(f"{prefix}_*.txt"))


@pytest.fixture(scope="session")
def pipeline():
    """One pipeline (encoders and scorer loaded once) for the whole test session."""
    from storyline.pipeline import Pipeline

    return Pipeline()


@pytest.fixture(scope="session")
def seeds_prepared(pipeline):
    from storyline.read import read_paths

    prepared, bad = pipeline.prepare(list(read_paths([str(SEEDS)])))
    assert not bad
    return {p.article.id[:3]: p for p in prepared}


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL cluster for the session; skipped where no server is installed, unless
    STORYLINE_REQUIRE_POSTGRES is set (CI sets it: there a missing server is a failure)."""
    from .pg import Postgres, bindir

    if bindir() is None and not os.environ.get("STORYLINE_REQUIRE_POSTGRES"):
        pytest.skip("no PostgreSQL server installed")
    pg = Postgres()
    yield pg
    pg.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def store_address(request, tmp_path):
    """Each backend in turn: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "t.db")
    return request.getfixturevalue("postgres").create_db()


def open_test_store(address: str, tmp_path):
    from storyline.store import open_store

    return open_store(address, index_dir=str(tmp_path / "index"))


@pytest.fixture
def service(pipeline, store_address, tmp_path):
    from storyline.service import Storyline

    return Storyline(open_test_store(store_address, tmp_path), pipeline.settings, pipeline)


@pytest.fixture
def sqlite_service(pipeline, tmp_path):
    """For what only SQLite has: its file, its locks, its error messages."""
    from storyline.service import Storyline
    from storyline.store import open_store

    return Storyline(open_store(tmp_path / "t.db"), pipeline.settings, pipeline)

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
    """The first ``n`` distinct articles of the SemEval pairs (the test skips, saying so, without them)."""
    from storyline.model import Article

    need_pairs()

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


FAKES = ROOT / "tests" / "fakes.toml"
collect_ignore = ["without_models"]  # modules that hide the models, not tests


def fakes_config() -> str:
    """The stand-ins' settings, for a test that writes its own ``--config`` (which replaces
    STORYLINE_CONFIG for the process it starts)."""
    return "\n" + FAKES.read_text(encoding="utf-8")


def slow(request) -> bool:
    return request.node.get_closest_marker("slow") is not None


@pytest.fixture(autouse=True)
def models_or_fakes(request, monkeypatch):
    """Tests not marked slow run on the models' stand-ins (``tests/fakes.toml``: the hashed encoder
    and the cosine scorer), in this process and in the ones they start; slow tests on the models.
    Run them with the models made unimportable to check they need none:
    ``PYTHONPATH=tests/without_models pytest -m "not slow"``."""
    if not slow(request):
        monkeypatch.setenv("STORYLINE_CONFIG", str(FAKES))


@pytest.fixture(scope="session")
def model_pipeline():
    """One pipeline with the real encoders and scorer, loaded once for the session."""
    from storyline.pipeline import Pipeline
    from storyline.settings import load_settings

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("STORYLINE_CONFIG", raising=False)
        return Pipeline(load_settings())


@pytest.fixture(scope="session")
def fake_pipeline():
    from storyline.pipeline import Pipeline
    from storyline.settings import load_settings

    return Pipeline(load_settings(FAKES))


@pytest.fixture
def pipeline(request):
    """The models' pipeline for a slow test, the stand-ins' otherwise."""
    return request.getfixturevalue("model_pipeline" if slow(request) else "fake_pipeline")


_SEEDS_PREPARED: dict = {}


def prepared_seeds(pipeline) -> dict:
    """The seeds prepared once per pipeline (the models' or the stand-ins'), by id prefix."""
    from storyline.read import read_paths

    if id(pipeline) not in _SEEDS_PREPARED:
        prepared, bad = pipeline.prepare(list(read_paths([str(SEEDS)])))
        assert not bad
        _SEEDS_PREPARED[id(pipeline)] = {p.article.id[:3]: p for p in prepared}
    return _SEEDS_PREPARED[id(pipeline)]


@pytest.fixture
def seeds_prepared(pipeline):
    return prepared_seeds(pipeline)


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

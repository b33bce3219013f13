from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "examples" / "seeds"
SHARED = ROOT.parent / "shared"
PAIRS = SHARED / "data" / "semeval2022-train" / "pairs.jsonl"


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


@pytest.fixture
def service(pipeline, tmp_path):
    from storyline.service import Storyline
    from storyline.store import open_store

    return Storyline(open_store(tmp_path / "t.db"), pipeline.settings, pipeline)

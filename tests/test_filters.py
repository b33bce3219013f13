"""Story filters: every parameter checked (422 naming it), and names found in any spelling or script."""
import pytest

from storyline.model import Story
from storyline.store import StoryFilter

from .conftest import open_test_store


def _stories(store):
    store.replace_stories({}, [
        Story("s-kz", ["a1"], "Talks in Moscow", ["en"], people=["Kassym-Jomart Tokayev", "Vladimir Putin"],
              orgs=["CSTO"], places=["Moscow (RU)"], first_seen="2022-02-10", last_seen="2022-02-10"),
        Story("s-ua", ["a2"], "Kyiv", ["de"], people=["Wolodymyr Selenskyj"], first_seen="2022-03-01", last_seen="2022-03-02")])


@pytest.mark.parametrize("spelling, found", [("Tokayev", ["s-kz"]), ("Tokajew", ["s-kz"]), ("Токаев", ["s-kz"]),
                                             ("tokaïev", ["s-kz"]), ("Zelenskyy", ["s-ua"]), ("Зеленский", ["s-ua"]),
                                             ("CSTO", ["s-kz"]), ("Merkel", [])])
def test_an_entity_filter_folds_spellings_and_scripts_as_the_keys_do(store_address, tmp_path, spelling, found):
    store = open_test_store(store_address, tmp_path)
    try:
        _stories(store)
        total, page = store.query_stories(StoryFilter(key=spelling))
        assert [s.id for s in page] == found and total == len(found)
    finally:
        store.close()


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from fastapi.testclient import TestClient

    from storyline.serve import create_app

    path = tmp_path_factory.mktemp("filters") / "f.db"
    app = create_app(str(path))
    _stories(app.state.service.store)
    with TestClient(app) as c:
        yield c


@pytest.mark.parametrize("query, field", [("since=2026-99-01", "query.since"), ("until=yesterday", "query.until"),
                                          ("lang=german!", "query.lang"), ("until=0", "query.until"), ("entity=" + "x" * 201, "query.entity"),
                                          ("q=" + "x" * 201, "query.q"), ("limit=0", "query.limit"), ("offset=-1", "query.offset")])
def test_every_stories_parameter_is_checked(client, query, field):
    r = client.get("/stories?" + query)
    assert r.status_code == 422 and [e["field"] for e in r.json()["detail"]] == [field]


def test_good_parameters_filter(client):
    assert [s["id"] for s in client.get("/stories?entity=Токаев&since=2022-02-01&until=2022-02-28&lang=EN").json()["stories"]] == ["s-kz"]
    assert client.get("/stories/s-kz?lang=xx_1").status_code == 422


def test_the_cli_checks_dates_too(tmp_path):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "storyline.cli", "stories", "--since", "2026-99-01", "--db", str(tmp_path / "x.db")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "Invalid value for '--since'" in r.stderr and not (tmp_path / "x.db").exists()

"""Docs that cannot drift: every CLI command and HTTP route appears in the README."""
from storyline.cli import main
from storyline.serve import create_app

from .conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_every_cli_command_is_documented():
    names = []
    for name, cmd in main.commands.items():
        names += [f"{name} {sub}" for sub in getattr(cmd, "commands", {})] or [name]
    missing = [n for n in names if f"storyline {n}" not in README]
    assert not missing, missing


def test_every_http_route_is_documented(tmp_path):
    app = create_app(str(tmp_path / "d.db"))
    routes = {(m, r.path.replace(":path}", "}")) for r in app.routes if getattr(r, "include_in_schema", False) for m in r.methods if m != "HEAD"}
    missing = [f"{m} {p}" for m, p in routes if f"{m} {p}" not in README]
    assert not missing, missing

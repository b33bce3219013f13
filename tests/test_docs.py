"""Docs that cannot drift: every CLI command and HTTP route is documented, every command the docs
show is one the CLI accepts, and the tour's commands give the output the README shows."""
import os
import re
import shlex
import subprocess
import sys
import warnings

import click
import pytest

from storyline.cli import main
from storyline.serve import create_app

from .conftest import ROOT

README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
BLOCK = re.compile(r"```(console|bash)\n(.*?)```", re.S)


def _rest(ctx) -> list[str]:
    """The words a group left for its subcommand (click 8.2 names them args alone)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return [*ctx.protected_args, *ctx.args]


def _commands(path):
    """(command words, output lines shown after it, language) of each `storyline ...` line in a
    console or bash block; a console block's command starts with `$ `."""
    out = []
    for lang, body in BLOCK.findall(path.read_text()):
        for line in body.splitlines():
            line = line.split("  # ")[0].strip()
            if lang == "console" and not line.startswith("$ "):
                if out and out[-1][2] == "console":
                    out[-1][1].append(line)
                continue
            line = line.removeprefix("$ ")
            for part in line.split("&&"):
                words = shlex.split(part, comments=True)
                if words[:1] == ["storyline"]:
                    out.append((words, [], lang))
    return out


def test_every_cli_command_is_documented():
    text = (ROOT / "docs" / "cli.md").read_text()
    names = []
    for name, cmd in main.commands.items():
        names += [f"{name} {sub}" for sub in getattr(cmd, "commands", {})] or [name]
    missing = [n for n in names if f"storyline {n}" not in text]
    assert not missing, missing


def test_every_http_route_is_documented(tmp_path):
    text = (ROOT / "docs" / "api.md").read_text()
    app = create_app(str(tmp_path / "d.db"))
    routes = {(m, r.path.replace(":path}", "}")) for r in app.routes if getattr(r, "include_in_schema", False) for m in r.methods if m != "HEAD"}
    missing = [f"{m} {p}" for m, p in routes if f"{m} {p}" not in text]
    assert not missing, missing


def test_the_readme_is_a_front_door():
    text = README.read_text()
    assert len(text.encode()) <= 12_000
    fresh = [line for line in text.splitlines()[3:5]]
    assert fresh[0].endswith(".venv/bin/storyline cluster examples/seeds") and fresh[1].endswith(".venv/bin/python -m pytest")


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.name)
def test_every_command_shown_is_one_the_cli_accepts(path):
    """Each `storyline ...` line parses: the subcommand exists and takes the options shown."""
    for words, _, _ in _commands(path):
        args = words[1:]
        try:
            with main.make_context("storyline", list(args), resilient_parsing=False) as ctx:
                cmd, sub = main, _rest(ctx)
                while isinstance(cmd, click.Group) and sub:
                    cmd = cmd.get_command(ctx, sub[0])
                    assert cmd is not None, f"{path.name}: unknown command in {' '.join(words)}"
                    ctx = cmd.make_context(sub[0], sub[1:], parent=ctx, resilient_parsing=False)
                    sub = _rest(ctx) if isinstance(cmd, click.Group) else []
        except click.BadParameter as exc:  # a value the docs' machine would have, e.g. a file
            assert "does not exist" in exc.format_message(), f"{path.name}: {' '.join(words)}: {exc.format_message()}"
        except click.UsageError as exc:
            pytest.fail(f"{path.name}: {' '.join(words)}: {exc.format_message()}")


def test_relative_links_lead_to_files():
    for path in [README, *DOCS]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", path.read_text()):
            assert (path.parent / target).exists(), f"{path.name} links to {target}"


def _normal(line: str) -> str:
    return " ".join(line.split())


@pytest.mark.slow
def test_the_tour_and_the_cli_examples_print_what_the_docs_show(tmp_path):
    """The README's console commands, then docs/cli.md's, run in order in one directory: each
    line of output they show appears in what the command prints, in that order."""
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    env = {**os.environ, "STORYLINE_DB": str(tmp_path / "unused.db")}
    exe = [sys.executable, "-m", "storyline.cli"]
    ran = 0
    for path in (README, ROOT / "docs" / "cli.md"):
        for words, shown, lang in _commands(path):
            if lang != "console" or not shown:
                continue
            if words[1] == "serve":
                with subprocess.Popen(exe + words[1:] + ["--port", "0"], cwd=tmp_path, env=env, text=True,
                                      stderr=subprocess.PIPE, stdout=subprocess.DEVNULL) as proc:
                    printed = [proc.stderr.readline()]
                    proc.terminate()
                    proc.communicate(timeout=30)
                printed = [re.sub(r":\d+/", ":8000/", printed[0])]
            else:
                cmd = main.get_command(None, words[1])
                if any(o.name == "fmt" for o in cmd.params) and "--format" not in words:
                    words = words + ["--format", "table"]  # as on a terminal
                r = subprocess.run(exe + words[1:], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
                assert r.returncode == 0, (words, r.stderr)
                printed = (r.stdout + r.stderr).splitlines()
            got = iter(_normal(p) for p in printed)
            for want in (_normal(s) for s in shown if s.strip() not in ("", "...")):
                assert any(g == want for g in got), f"{path.name}: {' '.join(words)} did not print {want!r}:\n" + "\n".join(printed)
            ran += 1
    assert ran >= 6

"""Data flows down the stages: a module never imports one of a later stage (lazy imports count)."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "storyline"
LAYERS = [  # in the order the data flows; a module may import its own layer and those above it
    {"model", "vectors", "errors", "settings", "metrics", "logs", "fold", "stop", "lazy"},  # what every stage may
    # use: types and their bytes, errors, settings, counters, name keys, stopping, names imported on first use
    {"store"},  # keeps the types above; every stage may keep or look up through it, it imports none of them
    {"ingest"},
    {"read"},
    {"clean"},
    {"analyse"},
    {"embed"},
    {"compare", "scorer"},
    {"index"},
    {"cluster"},
    {"pipeline"},
    {"top", "alerts", "display", "atom"},  # ranking over the store; watchlist matching the service's commit asks, and
    # delivery; a story as a reader of one language sees it; Atom feeds out
    {"service"},
    {"monitor", "ops", "batch", "watch", "evaluate", "export"},
    {"cli", "serve", "access", "__main__"},
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def room(path: Path) -> str:
    """The stage a module belongs to: its package under storyline/, or its own name."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def imported_rooms(path: Path, package: Path = PACKAGE) -> set[str]:
    """The storyline rooms a module imports, anywhere in it."""
    here = path.relative_to(package).parent.parts
    out = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                base = list(here[:len(here) - node.level + 1])
                target = base + (node.module.split(".") if node.module else [])
                names = [target] if node.module else [base + [a.name] for a in node.names]
            elif node.module and node.module.split(".")[0] == "storyline":
                names = [node.module.split(".")[1:]]
            else:
                continue
        elif isinstance(node, ast.Import):
            names = [a.name.split(".")[1:] for a in node.names if a.name.split(".")[0] == "storyline"]
        else:
            continue
        out |= {n[0] for n in names if n}
    return out


def modules():
    return [p for p in sorted(PACKAGE.rglob("*.py")) if p.relative_to(PACKAGE).parts != ("__init__.py",)]


def test_every_module_has_a_stage():
    unplaced = sorted({room(p) for p in modules()} - RANK.keys())
    assert not unplaced, f"modules in no stage: {unplaced}; add them to LAYERS in tests/test_layers.py"


def test_no_stage_imports_a_later_one():
    wrong = []
    for path in modules():
        mine = room(path)
        for other in imported_rooms(path):
            if other in RANK and RANK[other] > RANK.get(mine, len(LAYERS)):
                wrong.append(f"{path.relative_to(PACKAGE)} ({mine}) imports {other}")
    assert not wrong, "; ".join(wrong)


def test_the_checker_sees_relative_lazy_and_absolute_imports(tmp_path):
    (tmp_path / "storyline" / "store").mkdir(parents=True)
    module = tmp_path / "storyline" / "store" / "base.py"
    module.write_text("from ..cluster import Catalog\nfrom . import sql\n"
                      "def f():\n    from ..service import Storyline\n    import storyline.pipeline\n")
    assert imported_rooms(module, tmp_path / "storyline") == {"cluster", "store", "service", "pipeline"}

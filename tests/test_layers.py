"""The library's layers hold: no module imports a higher layer or another module's private name.

Layers, lowest first (a module may import its own layer and those below it, never above):
errors, schema, formatting and sheets; data and scenario; the economics; the rules, the
model and the evaluator; the solver; the plan; the analyses built on plans; the faces that
draw and write them; the command line and the package's front door. Imports inside
functions count too, so a lazy import cannot hide a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "planner"
LAYERS = [
    {"errors", "schema", "formatting", "sheets", "readers"},
    {"data", "scenario", "generate", "docs"},
    {"deprivation", "procurement", "economics"},
    {"equity_rules", "evaluate", "model", "greedy", "equity"},
    {"solve"},
    {"plan", "parallel"},
    {
        "frontier",
        "batch",
        "uncertainty",
        "rollout",
        "costshare",
        "resolve",
        "explain_text",
        "explain",
        "equity_check",
    },
    {"plots", "report", "summary_html", "explain_output"},
    {"cli", "__init__"},
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def planner_imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(imported planner module, names taken from it, line) for every import in the file."""
    out = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] == "planner":
                target = parts[1] if len(parts) > 1 else "__init__"
                out.append((target, [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "planner":
                    out.append((parts[1] if len(parts) > 1 else "__init__", [], node.lineno))
    return out


def test_every_module_has_a_layer():
    names = {module_name(p) for p in modules()}
    assert names - set(LAYER) == set(), "place new modules in tests/test_layers.py LAYERS"
    assert set(LAYER) - names == set(), "LAYERS names a module that no longer exists"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_higher_layer_or_a_private_name(path):
    me = module_name(path)
    for target, names, line in planner_imports(path):
        if target == me:
            continue
        assert LAYER[target] <= LAYER[me], (
            f"planner/{path.relative_to(PACKAGE)}:{line} ({me}, layer {LAYER[me]}) imports "
            f"{target} (layer {LAYER[target]}), a higher layer"
        )
        private = [n for n in names if n.startswith("_") and n != "__version__"]
        assert not private, f"planner/{path.relative_to(PACKAGE)}:{line} imports {private}"


def test_the_check_catches_a_violation(tmp_path):
    """The checker itself: a lazy import of a higher layer and a private name are found."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "def f():\n    from planner.report import write_json\nfrom planner.model import _secret\n",
        encoding="utf-8",
    )
    found = planner_imports(bad)
    assert ("report", ["write_json"], 2) in found
    assert ("model", ["_secret"], 3) in found
    assert LAYER["report"] > LAYER["data"]


def test_readme_layout_names_every_module_and_no_other():
    text = (PACKAGE.parent / "README.md").read_text("utf-8")
    block = text.split("## Layout", 1)[1].split("```", 2)[1]
    listed = {
        w[:-3] for w in block.replace(";", " ").replace(":", " ").split() if w.endswith(".py")
    }
    listed |= {"schema"} if "schema/" in block else set()
    listed -= {"app", "bench"}  # the app and the benchmark script, outside the package
    on_disk = {module_name(p) for p in modules()} - {"__init__"}
    assert listed == on_disk

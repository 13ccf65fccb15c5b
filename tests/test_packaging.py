"""The package's declared dependencies: a lean core, extras that exist, minimums that hold.

The core (the library and the command line) installs without the app and cluster stacks;
the README's set-up command names only extras that exist; every declared minimum is met by
what is installed here, so a minimum is never lower than a version the tests have run with
unchecked; and Streamlit's minimum supports what the app calls.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
CORE = PROJECT["dependencies"]
EXTRAS = PROJECT["optional-dependencies"]

#: Only the app, a Dask cluster or Parquet output need these.
NOT_CORE = {"streamlit", "plotly", "dask", "distributed", "pyarrow"}
#: Streamlit versions giving ``width="stretch"`` (checked in each release's wheel):
#: st.dataframe from 1.49.0; st.plotly_chart from 1.51.0 (earlier ones pass ``width`` on as
#: a deprecated Plotly keyword argument, with a warning in the browser).
STREAMLIT_STRETCH = {"dataframe": (1, 49), "plotly_chart": (1, 51)}

REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")


def parse(requirement: str) -> tuple[str, set[str], dict[str, str]]:
    """``"dask[distributed]>=2024.1,<2027"`` -> ("dask", {"distributed"}, {">=": ..., "<": ...})."""
    match = REQUIREMENT.match(requirement.split(";")[0])
    assert match, requirement
    name, extras, spec = match.groups()
    extras = {e.strip() for e in extras.strip("[]").split(",")} if extras else set()
    bounds = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        op, version = re.match(r"(>=|<=|==|~=|!=|<|>)\s*(\S+)", part).groups()
        bounds[op] = version
    return normalise(name), extras, bounds


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def version_tuple(version: str) -> tuple[int, ...]:
    """The leading numbers of a version (``"2026.8.0"`` -> (2026, 8, 0); ``"1.9rc1"`` -> (1, 9))."""
    return tuple(int(n) for n in re.findall(r"\d+", version.split("+")[0].split("rc")[0])[:4])


def all_requirements() -> list[str]:
    reqs = list(CORE)
    for items in EXTRAS.values():
        reqs += [r for r in items if parse(r)[0] != normalise(PROJECT["name"])]
    return reqs


def test_core_needs_neither_the_app_nor_a_cluster():
    names = {parse(r)[0] for r in CORE}
    extras_of_core = set().union(*(parse(r)[1] for r in CORE))
    assert not names & NOT_CORE
    assert "distributed" not in extras_of_core  # no dask[distributed] sneaking in


@pytest.mark.parametrize(
    ("extra", "needs"),
    [
        ("app", {"streamlit", "plotly"}),
        ("dask", {"dask", "distributed"}),
        ("parquet", {"pyarrow"}),
    ],
)
def test_each_extra_brings_its_stack(extra, needs):
    assert needs <= {parse(r)[0] for r in EXTRAS[extra]}


def test_dev_installs_everything_the_app_and_tests_need():
    own = normalise(PROJECT["name"])
    dev = [parse(r) for r in EXTRAS["dev"]]
    pulled = set().union(*(extras for name, extras, _ in dev if name == own))
    assert {"app", "dask", "parquet"} <= pulled
    assert {"pytest", "ruff", "playwright"} <= {name for name, _, _ in dev}


def readme_install_extras() -> list[set[str]]:
    """The extras named by each ``pip install ... ".[...]"`` (or ``planner[...]``) in the README."""
    text = (ROOT / "README.md").read_text("utf-8")
    found = re.findall(r"pip install[^\n`]*?(?:\.|planner)\[([^\]]+)\]", text)
    return [{e.strip() for e in group.split(",")} for group in found]


def test_every_extra_the_readme_installs_exists():
    named = readme_install_extras()
    assert named, "the README gives no pip install command with extras"
    assert {"dev"} in named  # the set-up command: pip install -e ".[dev]"
    for extras in named:
        assert extras <= set(EXTRAS), f"README installs unknown extras {extras - set(EXTRAS)}"


@pytest.mark.parametrize("requirement", all_requirements())
def test_installed_versions_meet_the_declared_minimums(requirement):
    name, _, bounds = parse(requirement)
    try:
        installed = metadata.version(name)
    except metadata.PackageNotFoundError:
        pytest.fail(f"{name} is declared but not installed: run pip install -e '.[dev]'")
    have = version_tuple(installed)
    if ">=" in bounds:
        assert version_tuple(bounds[">="]) <= have, f"{name} {installed} is below {requirement}"
    if "<" in bounds:
        assert have < version_tuple(bounds["<"]), f"{name} {installed} is not below {requirement}"


def test_streamlit_minimum_supports_width_stretch():
    (minimum,) = [parse(r)[2][">="] for r in EXTRAS["app"] if parse(r)[0] == "streamlit"]
    assert version_tuple(minimum)[:2] >= max(STREAMLIT_STRETCH.values())
    calls = "\n".join(p.read_text("utf-8") for p in [ROOT / "app.py", *ROOT.glob("app_pages/*.py")])
    used = {
        element
        for element in STREAMLIT_STRETCH
        if re.search(rf"\.{element}\((?:[^()]|\([^()]*\))*width=\"stretch\"", calls)
    }
    assert used == set(STREAMLIT_STRETCH)  # still the calls this minimum was chosen for


CORE_ONLY = """
import sys
for name in sys.argv[2:]:
    sys.modules[name] = None  # as if not installed: importing it raises ImportError
from planner.cli import main
out = sys.argv[1]
assert main(["generate", "--out", out + "/data", "--icss", "1", "--trusts", "2"]) == 0
assert main(["validate", "--data", out + "/data"]) == 0
solve = ["solve", "--data", out + "/data", "--budget", "1m", "--quiet"]
assert main([*solve, "--json", out + "/plan.json", "--xlsx", out + "/plan.xlsx"]) == 0
assert main(["compare", "--data", out + "/data", "--budget", "1m", "--csv", out + "/cmp"]) == 0
"""


def test_the_command_line_runs_without_the_extras(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", CORE_ONLY, str(tmp_path), *sorted(NOT_CORE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "plan.json").is_file()

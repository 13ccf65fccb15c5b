"""The READMEs are true: generated tables up to date, every example runs as written."""

from __future__ import annotations

import re
import shlex

import pytest

from planner import cli, docs


def readme_blocks(root, lang):
    text = (root / "README.md").read_text("utf-8")
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def test_generated_tables_are_up_to_date(root):
    for path, text in docs.refreshed(root).items():
        assert path.read_text("utf-8") == text, f"run `python -m planner.docs` ({path.name})"


def test_readme_python_example_runs(root, monkeypatch, capsys):
    (code,) = readme_blocks(root, "python")
    monkeypatch.chdir(root)
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "optimal" in out or "gap_reached" in out
    assert "central" in out


def test_readme_commands_run_as_written(root, tmp_path, monkeypatch, capsys):
    """Each `planner ...` line of the README's command block exits 0 from a fresh folder."""
    (tmp_path / "data").symlink_to(root / "data")
    monkeypatch.chdir(tmp_path)
    commands = [
        line
        for block in readme_blocks(root, "sh")
        for line in block.splitlines()
        if line.startswith("planner ")
    ]
    assert len(commands) >= 10
    for line in commands:
        code = cli.main(shlex.split(line)[1:])
        err = capsys.readouterr().err
        assert code == 0, f"{line}: {err}"
    assert (tmp_path / "plan.json").exists()
    assert (tmp_path / "plan.xlsx").exists()
    assert (tmp_path / "out" / "comparison.csv").exists()
    assert (tmp_path / "my_ics" / "template.xlsx").exists()
    assert (tmp_path / "my_england" / "trusts.csv").exists()
    assert (tmp_path / "sweep.parquet").exists()
    assert len(list((tmp_path / "plans").glob("run-*.json"))) == 84
    assert (tmp_path / "psa.json").exists()


@pytest.mark.parametrize("name", ["README.md", "data/README.md"])
def test_readmes_say_figures_are_illustrative(root, name):
    text = (root / name).read_text("utf-8").lower()
    assert "illustrative" in text
    assert "fictional" in text


def test_readme_lists_the_exit_codes_of_the_cli(root):
    """The README's exit codes are the command's own (``planner --help`` prints the same)."""
    text = " ".join((root / "README.md").read_text("utf-8").split())
    listed = text.split("Exit codes: ", 1)[1].split(". ", 1)[0]
    expected = ", ".join(f"`{code}` {meaning}" for code, meaning in sorted(cli.EXIT_CODES.items()))
    assert listed == expected

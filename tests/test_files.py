"""Output files: never written through a planted link, with the user's umask.

A failed write names the user's file (not the temporary one) and leaves no temporary file.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from builders import run

from planner import sheets
from planner.cli import EXIT_FILE, EXIT_INPUT, main
from planner.schema import ALL_FILES, FILES

ROOT = Path(__file__).resolve().parents[1]
SECRET = "not yours to overwrite\n"


@pytest.fixture(scope="module")
def small_data(tmp_path_factory) -> Path:
    """A tiny generated dataset: quick to solve."""
    out = tmp_path_factory.mktemp("data") / "small"
    assert main(["generate", "--out", str(out), "--icss", "1", "--trusts", "2", "--seed", "3"]) == 0
    return out


def plant_link(at: Path, target: Path, content: str | None = SECRET) -> None:
    """Put a symbolic link at ``at`` pointing to ``target`` (created with ``content``)."""
    at.parent.mkdir(parents=True, exist_ok=True)
    if content is not None:
        target.write_text(content, encoding="utf-8")
    at.symlink_to(target)


def assert_refused(code: int, err: str, link: Path) -> None:
    assert code == EXIT_INPUT
    assert err.startswith("error: ")
    assert f"{link} is a symbolic link" in err
    assert "nothing was written" in err
    assert "remove it or choose another path" in err
    assert "Traceback" not in err


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --- symbolic links where an output goes ------------------------------------------------


def test_template_refuses_a_broken_link_and_creates_nothing(tmp_path, capsys):
    out, target = tmp_path / "tpl", tmp_path / "elsewhere.csv"
    plant_link(out / f"{FILES[0]}.csv", target, content=None)  # points at nothing yet
    code, _, err = run(capsys, "template", out)
    assert_refused(code, err, out / f"{FILES[0]}.csv")
    assert not target.exists()  # nothing was written through the link
    assert sorted(p.name for p in out.iterdir()) == [f"{FILES[0]}.csv"]


@pytest.mark.parametrize("overwrite", [False, True])
def test_generate_refuses_a_link_even_with_overwrite(tmp_path, capsys, overwrite):
    out, target = tmp_path / "gen", tmp_path / "victim.csv"
    plant_link(out / "trusts.csv", target, content=None if not overwrite else SECRET)
    args = ["generate", "--out", out, "--icss", "1", "--trusts", "2"]
    code, _, err = run(capsys, *args, *(["--overwrite"] if overwrite else []))
    assert_refused(code, err, out / "trusts.csv")
    if overwrite:
        assert target.read_text(encoding="utf-8") == SECRET
    else:
        assert not target.exists()
    assert sorted(p.name for p in out.iterdir()) == ["trusts.csv"]  # no other table written
    assert (out / "trusts.csv").is_symlink()


def test_solve_json_refuses_a_link(tmp_path, capsys, small_data):
    link, target = tmp_path / "plan.json", tmp_path / "victim.json"
    plant_link(link, target)
    code, _, err = run(
        capsys, "solve", "--data", small_data, "--budget", "1m", "--quiet", "--json", link
    )
    assert_refused(code, err, link)
    assert link.is_symlink()  # the link is not replaced either
    assert target.read_text(encoding="utf-8") == SECRET
    assert leftovers(tmp_path) == []


def test_solve_csv_refuses_a_link_in_the_folder(tmp_path, capsys, small_data):
    out, target = tmp_path / "csv", tmp_path / "victim.csv"
    plant_link(out / "adoptions.csv", target)
    code, _, err = run(
        capsys, "solve", "--data", small_data, "--budget", "1m", "--quiet", "--csv", out
    )
    assert_refused(code, err, out / "adoptions.csv")
    assert target.read_text(encoding="utf-8") == SECRET
    assert (out / "adoptions.csv").is_symlink()
    assert leftovers(out) == []


def test_explain_with_overwrite_refuses_a_link_before_writing_anything(tmp_path, capsys):
    """--overwrite replaces files, never links: a link among the pages stops it up front."""
    out = tmp_path / "why"
    target = tmp_path / "victim.csv"
    plant_link(out / "not_chosen.csv", target)  # the tables are written after the pages
    args = ["explain", "--data", ROOT / "data" / "default_ics", "--budget", "2m"]
    code, _, err = run(capsys, *args, "--trust", "RBH", "--out", out, "--overwrite")
    assert_refused(code, err, out / "not_chosen.csv")
    assert target.read_text(encoding="utf-8") == SECRET
    assert sorted(p.name for p in out.iterdir()) == ["not_chosen.csv"]  # no page, no table


@pytest.mark.parametrize(
    "write",
    [
        lambda p: sheets.write_text(p, "new\n"),
        lambda p: sheets.write_bytes(p, b"new\n"),
        lambda p: sheets.write_csv_frame(pd.DataFrame({"a": [1]}), p),
        lambda p: sheets.write_xlsx_sheets({"s": pd.DataFrame({"a": [1]})}, p),
    ],
    ids=["text", "bytes", "csv", "xlsx"],
)
def test_every_writer_refuses_a_link(tmp_path, write):
    link, target = tmp_path / "out.file", tmp_path / "victim.file"
    plant_link(link, target)
    with pytest.raises(FileExistsError, match="is a symbolic link") as caught:
        write(link)
    assert caught.value.errno is None  # a choice of path (exit code 2), not a failed write
    assert str(link) in str(caught.value)
    assert link.is_symlink()
    assert target.read_text(encoding="utf-8") == SECRET
    assert leftovers(tmp_path) == []


def test_rename_replaces_only_a_regular_file(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(FileExistsError, match="is not a regular file"):
        sheets.write_text(fifo, "x\n")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    with pytest.raises(FileExistsError, match="is a folder"):
        sheets.write_text(folder, "x\n")
    assert folder.is_dir()
    assert leftovers(tmp_path) == []


def test_refuse_existing_counts_a_broken_link(tmp_path):
    link = tmp_path / "a.csv"
    link.symlink_to(tmp_path / "missing.csv")
    with pytest.raises(FileExistsError, match="a.csv is a symbolic link"):
        sheets.refuse_existing([tmp_path / "b.csv", link])


# --- the user's umask -------------------------------------------------------------------

WRITE_WITH_UMASK = """
import os, sys
os.umask(int(sys.argv[1], 8))
from planner import sheets
from planner.cli import main
out = sys.argv[2]
assert main(["template", out + "/tpl"]) == 0
sheets.write_text(out + "/plan.json", "{}\\n")
sheets.write_xlsx_sheets({"s": __import__("pandas").DataFrame({"a": [1]})}, out + "/plan.xlsx")
"""


def test_new_files_get_the_mode_open_would_give(tmp_path):
    # umask 077 alone would pass with files always made 0600 (mkstemp): check several
    for umask, mode in [("022", 0o644), ("077", 0o600), ("002", 0o664)]:
        out = tmp_path / umask
        done = subprocess.run(
            [sys.executable, "-c", WRITE_WITH_UMASK, umask, str(out)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        written = [out / "plan.json", out / "plan.xlsx", *(out / "tpl").iterdir()]
        assert len(written) == len(ALL_FILES) + 3
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in written}
        assert modes == {p.name: mode for p in written}, umask


def test_a_replaced_file_keeps_its_mode(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text("old\n", encoding="utf-8")
    path.chmod(0o640)
    sheets.write_text(path, "new\n")
    assert path.read_text(encoding="utf-8") == "new\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


# --- errors name the user's file --------------------------------------------------------


def test_a_failed_write_names_the_target_and_removes_the_temporary_file(tmp_path):
    path = tmp_path / "plan.json"

    def disk_full(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            handle.write(b"half a fi")
        # what a full disk reports: the file being written, here the temporary one
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp))

    with pytest.raises(OSError, match="No space left on device") as caught:
        sheets.atomic_write(path, disk_full)
    assert caught.value.errno == errno.ENOSPC
    assert caught.value.filename == str(path)
    assert caught.value.filename2 is None
    assert list(tmp_path.iterdir()) == []

    # interrupted (Ctrl-C) part way: the old file stays, no temporary file is left
    path.write_text("old\n", encoding="utf-8")

    def interrupted(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sheets.atomic_write(path, interrupted)
    assert path.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]


def test_a_file_where_the_folder_should_be_names_the_output(tmp_path, capsys, small_data):
    (tmp_path / "results").write_text("a file, not a folder\n", encoding="utf-8")
    target = tmp_path / "results" / "plan.json"
    code, _, err = run(
        capsys, "solve", "--data", small_data, "--budget", "1m", "--quiet", "--json", target
    )
    assert code == EXIT_FILE
    assert err.startswith(f"error: could not write {target}: ")
    assert "is not a folder" in err
    assert "Traceback" not in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to a read-only folder")
def test_no_permission_names_the_target(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(PermissionError) as caught:
            sheets.write_text(folder / "plan.json", "{}\n")
        assert caught.value.filename == str(folder / "plan.json")
    finally:
        folder.chmod(0o700)

"""Faults never lose finished work: a run that breaks, a worker or a scheduler that dies.

Local runs break through an exception injected into one run; the cluster tests use the
loopback scheduler and workers of ``test_dask`` and end some of those processes mid-run
(only ones the fixture started, checked by parent process id). Jobs wait on a file, so a
kill always lands while they run, and every job gives up waiting after 20 s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from builders import run
from test_dask import cluster  # noqa: F401 - the loopback cluster fixture, reused

import planner.batch
import planner.uncertainty
from planner.errors import ScenarioError
from planner.parallel import run_jobs

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "data" / "default_ics"
OK_STATUSES = {"optimal", "gap_reached"}
BATCH = """\
base: {budget_gbp: 2m}
scenarios:
  first: {}
  broken: {}
  last: {equity_weight: 1}
models: [ics]
"""

_real_execute_run = planner.batch.execute_run
_real_run_sample = planner.uncertainty.run_sample


def break_the_broken_scenario(dataset, run):
    """execute_run, except that the scenario called ``broken`` hits a bug (a KeyError)."""
    if run.name == "broken":
        raise KeyError("no such column")
    return _real_execute_run(dataset, run)


def break_the_second_budget(dataset, run):
    """execute_run, except that run 1 hits a bug (module level: it goes to worker processes)."""
    if run.run_id == 1:
        raise KeyError("no such column")
    return _real_execute_run(dataset, run)


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


# --- local runs: one run raises, the rest are kept and written -----------------------------


def test_batch_keeps_every_row_when_one_run_raises(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(planner.batch, "execute_run", break_the_broken_scenario)
    batch, out = tmp_path / "batch.yaml", tmp_path / "runs.csv"
    batch.write_text(BATCH, encoding="utf-8")
    code, _, err = run(capsys, "batch", batch, "--data", DEFAULT, "--out", out, "--quiet")
    assert code == 5, err
    table = read_csv(out)
    assert list(table["scenario"]) == ["first", "broken", "last"]
    assert set(table["status"][[0, 2]]) <= OK_STATUSES
    assert table["benefit_gbp"][[0, 2]].notna().all()
    broken = table.iloc[1]
    assert broken["status"] == "failed"
    assert broken["reason"] == "unexpected KeyError: 'no such column'"
    assert broken["budget_gbp"] == 2e6  # the failed row still says which run it was
    assert "run 1 (broken, all, ics) failed: unexpected KeyError: 'no such column'" in err
    assert "1 of 3 runs failed" in err
    assert "Traceback" not in err


def test_sweep_keeps_every_row_when_one_run_raises(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(planner.batch, "execute_run", break_the_second_budget)
    out = tmp_path / "sweep.csv"
    code, _, err = run(
        capsys, "sweep", "--data", DEFAULT, "--budgets", "0.5m,1m,2m", "--out", out, "--quiet"
    )
    assert code == 5, err
    table = read_csv(out)
    assert list(table["budget_gbp"]) == [5e5, 1e6, 2e6]
    assert list(table["status"] == "failed") == [False, True, False]
    assert table["reason"][1] == "unexpected KeyError: 'no such column'"
    assert "1 of 3 runs failed" in err


def test_sweep_on_worker_processes_keeps_every_row_when_one_run_raises(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(planner.batch, "execute_run", break_the_second_budget)
    out = tmp_path / "sweep.csv"
    code, _, err = run(
        capsys,
        "sweep",
        "--data",
        DEFAULT,
        "--budgets",
        "0.5m,1m,2m",
        "--workers",
        "2",
        "--out",
        out,
        "--quiet",
    )
    assert code == 5, err
    table = read_csv(out)
    assert list(table["status"] == "failed") == [False, True, False]
    assert table["reason"][1] == "unexpected KeyError: 'no such column'"


def test_uncertainty_keeps_every_sample_when_one_raises(tmp_path, capsys, monkeypatch):
    def break_sample_2(dataset, job):
        if job.index == 2:
            raise KeyError("no such column")
        return _real_run_sample(dataset, job)

    monkeypatch.setattr(planner.uncertainty, "run_sample", break_sample_2)
    out, summary = tmp_path / "samples.csv", tmp_path / "summary.json"
    code, stdout, err = run(
        capsys,
        "uncertainty",
        "--data",
        DEFAULT,
        "--budget",
        "2m",
        "--samples",
        "4",
        "--out",
        out,
        "--summary",
        summary,
    )
    assert code == 5, err
    assert "4 samples (1 failed)" in stdout
    table = read_csv(out)
    assert list(table["sample"]) == [0, 1, 2, 3]
    assert list(table["status"] == "failed") == [False, False, True, False]
    assert table["reason"][2] == "unexpected KeyError: 'no such column'"
    assert table["benefit_gbp"].notna().sum() == 3
    assert "sample 2 failed: unexpected KeyError: 'no such column'" in err
    assert "Traceback" not in err
    assert summary.exists()


def test_run_jobs_without_on_error_still_raises(default_ics):
    """Callers that give no ``on_error`` (the break-even search) see the exception."""

    def job(dataset, item):
        raise KeyError(item)

    with pytest.raises(KeyError):
        run_jobs(job, default_ics, ["a"])
    rows = run_jobs(job, default_ics, ["a", "b"], on_error=lambda item, why: {"why": why})
    assert rows == [{"why": "unexpected KeyError: 'a'"}, {"why": "unexpected KeyError: 'b'"}]


# --- scenario names that collide as text ----------------------------------------------------


@pytest.mark.parametrize(
    ("names", "shown"),
    [("1: {}\n  '1': {}", "1 and '1'"), ("true: {}\n  'True': {}", "True and 'True'")],
)
def test_batch_scenario_names_that_collide_as_text_are_an_error(
    tmp_path, capsys, default_ics, names, shown
):
    batch = tmp_path / "clash.yaml"
    batch.write_text(f"scenarios:\n  {names}\n  other: {{}}\nmodels: [ics]\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        planner.batch.load_batch(batch, default_ics)
    (problem,) = caught.value.problems
    assert problem.file == "clash.yaml"
    assert shown in problem.problem
    code, _, err = run(capsys, "batch", batch, "--data", DEFAULT, "--quiet")
    assert code == 2
    assert f"error: clash.yaml column scenarios.{shown.split()[0]}: the scenarios {shown}" in err


# --- a real Dask cluster on loopback --------------------------------------------------------


def slow_job(folder: str, real, quick: int = 0, flaky: str = ""):
    """A job that notes which process started it, then waits for ``folder/go`` to exist.

    Runs below ``quick`` do not wait; the scenario named ``flaky`` raises an OSError the
    first time it runs (a fault that a retry cures). A closure, so Dask sends it by value.
    """

    def job(dataset, run):
        import os
        import time
        from pathlib import Path

        where = Path(folder)
        (where / f"started-{run.run_id}-{os.getpid()}-{time.monotonic_ns()}").touch()
        if run.name == flaky and not (where / "flaked").exists():
            (where / "flaked").touch()
            raise OSError("a network share went away for a moment")
        deadline = time.monotonic() + 20
        while run.run_id >= quick and not (where / "go").exists():
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        return real(dataset, run)

    return job


def own_child(address: str, on_scheduler: bool) -> dict[str, int]:
    """Process ids of the cluster's scheduler or workers, checked to be children of this test."""
    from distributed import Client

    with Client(address, timeout="30s") as client:
        pids = (
            {"scheduler": client.run_on_scheduler(os.getpid)}
            if on_scheduler
            else client.run(os.getpid)
        )
    for pid in pids.values():
        parent = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
        assert int(parent) == os.getpid(), "not a process this test session started"
    return pids


def wait_for(test, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not test():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# These two run in this order: the first leaves the cluster one worker short, the second
# ends its scheduler.


def test_dask_batch_survives_a_killed_worker_and_a_passing_fault(
    cluster,  # noqa: F811
    tmp_path,
    capsys,
    monkeypatch,
):
    workers = own_child(cluster, on_scheduler=False)
    assert len(workers) == 2
    gate = tmp_path / "gate"
    gate.mkdir()
    job = slow_job(str(gate), _real_execute_run, flaky="flaky")
    monkeypatch.setattr(planner.batch, "execute_run", job)
    batch, out = tmp_path / "batch.yaml", tmp_path / "runs.csv"
    batch.write_text(
        "base: {budget_gbp: 2m}\nscenarios: {steady: {}, flaky: {}, calm: {}, late: {}}\n"
        "models: [ics]\n",
        encoding="utf-8",
    )
    killed: list[int] = []

    def kill_a_busy_worker():
        """Once both workers have started a run, kill the one running run 0, then open up."""

        def starters() -> dict[int, int]:
            names = (p.name.split("-") for p in gate.glob("started-*"))
            return {int(run_id): int(pid) for _, run_id, pid, _ in names}

        try:
            wait_for(lambda: 0 in starters() and len(set(starters().values())) == 2)
            pid = starters()[0]
            assert pid in workers.values()
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        finally:
            (gate / "go").touch()

    killer = threading.Thread(target=kill_a_busy_worker, daemon=True)
    killer.start()
    code, _, err = run(
        capsys, "batch", batch, "--data", DEFAULT, "--scheduler", cluster, "--out", out, "--quiet"
    )
    killer.join(timeout=30)
    assert killed, "no worker was killed"
    assert code == 0, err
    table = read_csv(out)
    assert list(table["scenario"]) == ["steady", "flaky", "calm", "late"]
    assert set(table["status"]) <= OK_STATUSES  # every run came back, the flaky one retried
    assert (gate / "flaked").exists()
    starts = sorted(p.name for p in gate.glob("started-*"))
    assert len([s for s in starts if s.startswith("started-0-")]) == 2  # run 0 ran twice
    assert len([s for s in starts if s.startswith("started-1-")]) >= 2  # and the flaky one


DRIVER = """\
import os, signal, sys, time
from pathlib import Path

import planner.batch
import planner.cli
from test_faults import slow_job

folder, scheduler_pid, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
planner.batch.execute_run = slow_job(folder, planner.batch.execute_run, quick=2)


class KillTheSchedulerAfterTwo:
    # stands in for the progress bar: called as each run's row arrives
    def __init__(self, quiet, what):
        pass

    def __call__(self, done, total):
        if done == 2:
            os.kill(scheduler_pid, signal.SIGKILL)
            Path(folder, "killed-at").write_text(str(time.time()))

    def close(self):
        pass


planner.cli._ProgressBar = KillTheSchedulerAfterTwo
planner.cli.silence_solver_banner()
sys.exit(planner.cli.main(argv))
"""


def test_dask_batch_writes_finished_rows_when_the_scheduler_is_lost(
    cluster,  # noqa: F811
    tmp_path,
):
    (pid,) = own_child(cluster, on_scheduler=True).values()
    gate = tmp_path / "gate"
    gate.mkdir()
    batch, out = tmp_path / "batch.yaml", tmp_path / "runs.csv"
    scenarios = ", ".join(f"s{i}: {{}}" for i in range(6))
    batch.write_text(
        f"base: {{budget_gbp: 2m}}\nscenarios: {{{scenarios}}}\nmodels: [ics]\n", encoding="utf-8"
    )
    driver = tmp_path / "driver.py"
    driver.write_text(textwrap.dedent(DRIVER), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), str(ROOT)])}
    try:
        proc = subprocess.run(
            [sys.executable, str(driver), str(gate), str(pid), "batch", str(batch)]
            + ["--data", str(DEFAULT), "--scheduler", cluster, "--out", str(out), "--quiet"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=60,
        )
    finally:
        (gate / "go").touch()  # lets the workers' waiting jobs end
    ended = time.time()
    err = proc.stderr
    assert proc.returncode == 5, err
    assert "Traceback" not in err
    assert "ERROR" not in err
    lines = [line for line in err.splitlines() if "lost the Dask scheduler" in line]
    assert lines == [
        f"error: lost the Dask scheduler {cluster}: 2 of 6 runs finished and are written to "
        f"{out}; not finished (4): runs 2-5"
    ]
    assert "4 of 6 runs failed" in err
    table = read_csv(out)
    assert list(table["run_id"]) == list(range(6))
    assert set(table["status"][:2]) <= OK_STATUSES
    assert table["benefit_gbp"][:2].notna().all()
    assert list(table["status"][2:]) == ["failed"] * 4
    assert list(table["reason"][2:]) == ["not finished: scheduler lost"] * 4
    # the command ends soon after the loss, not after the client's 30 s reconnect timeout
    assert ended - float((gate / "killed-at").read_text()) < 15

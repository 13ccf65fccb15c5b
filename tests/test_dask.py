"""Runs on a real Dask cluster (scheduler and workers on loopback) match local runs exactly."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from builders import run, run_subprocess

from planner.batch import load_batch, run_table, sweep_runs
from planner.scenario import Scenario
from planner.uncertainty import run_psa

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "data" / "default_ics"
N_WORKERS = 2
BATCH = """\
base: {budget_gbp: 2m}
scenarios:
  baseline: {}
  equity: {equity_weight: 1}
  impossible: {coverage_floor: 0.9}
models: [local, ics, central]
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(procs: list[subprocess.Popen]) -> None:
    """Terminate, then kill after a timeout; every process has exited on return."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=15)


def executed(address: str) -> int:
    """Tasks the cluster's workers have run so far."""
    from distributed import Client

    with Client(address, timeout="30s") as client:
        counts = client.run(lambda dask_worker: dask_worker.state.executed_count)
    return sum(counts.values())


def _logs(paths: list[Path]) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}" for p in paths)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two single-threaded workers on 127.0.0.1; yields the address."""
    from distributed import Client

    tmp = tmp_path_factory.mktemp("dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = [tmp / "scheduler.log"] + [tmp / f"worker{i}.log" for i in range(N_WORKERS)]
    workers: list[subprocess.Popen] = []
    scheduler = None
    with contextlib.ExitStack() as files:
        outs = [files.enter_context(open(p, "w", encoding="utf-8")) for p in logs]
        try:
            scheduler = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "distributed.cli.dask_scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--dashboard-address",
                    "127.0.0.1:0",
                ],
                cwd=tmp,
                stdout=subprocess.DEVNULL,
                stderr=outs[0],
            )
            deadline = time.monotonic() + 30
            while True:
                assert scheduler.poll() is None, "scheduler exited\n" + _logs(logs[:1])
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, "no scheduler\n" + _logs(logs[:1])
                    time.sleep(0.1)
            for i in range(N_WORKERS):
                workers.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "distributed.cli.dask_worker",
                            address,
                            "--nworkers",
                            "1",
                            "--nthreads",
                            "1",
                            "--host",
                            "127.0.0.1",
                            "--dashboard-address",
                            "127.0.0.1:0",
                            "--no-nanny",
                            "--local-directory",
                            str(tmp / f"w{i}"),
                        ],
                        cwd=tmp,
                        stdout=subprocess.DEVNULL,
                        stderr=outs[1 + i],
                    )
                )
            with Client(address, timeout="30s") as client:
                try:
                    client.wait_for_workers(N_WORKERS, timeout=60)
                except TimeoutError:
                    pytest.fail("workers did not register\n" + _logs(logs))
                where = client.run(lambda: __import__("planner").__file__)
            assert len(where) == N_WORKERS
            assert all(Path(f).is_relative_to(ROOT) for f in where.values())
            yield address
        finally:
            _stop(workers)
            _stop([scheduler] if scheduler else [])
    assert all(p.returncode is not None for p in [*workers, scheduler])


def test_batch_on_the_cluster_matches_a_local_run(cluster, tmp_path, default_ics):
    batch = tmp_path / "batch.yaml"
    batch.write_text(BATCH, encoding="utf-8")
    runs = load_batch(batch, default_ics)
    assert len(runs) == 9
    ticks = []
    before = executed(cluster)
    remote, remote_plans = run_table(
        default_ics, runs, scheduler=cluster, progress=lambda d, t: ticks.append((d, t))
    )
    assert executed(cluster) - before == 9  # the runs really went to the workers
    local, local_plans = run_table(default_ics, runs, workers=1)
    pd.testing.assert_frame_equal(remote, local)
    assert remote_plans == local_plans == {}
    assert ticks == [(i, 9) for i in range(1, 10)]
    # failures travel back as rows, in run order
    assert list(remote["scenario"]) == ["baseline"] * 3 + ["equity"] * 3 + ["impossible"] * 3
    assert list(remote["status"])[6:] == ["infeasible"] * 3
    assert set(remote["status"][:6]) <= {"optimal", "gap_reached"}
    assert all("coverage floor 90%" in r for r in remote["reason"][6:])


def test_sweep_plans_on_the_cluster_match_a_local_run(cluster, default_ics):
    runs = sweep_runs(
        default_ics, Scenario(), models=["ics", "local"], budgets=[5e5, 1e6, 2e6], keep_plans=True
    )
    before = executed(cluster)
    remote, remote_plans = run_table(default_ics, runs, scheduler=cluster)
    assert executed(cluster) - before == 6
    local, local_plans = run_table(default_ics, runs)
    pd.testing.assert_frame_equal(remote, local)
    assert sorted(remote_plans) == list(range(6))
    assert remote_plans == local_plans
    assert list(remote["budget_gbp"]) == [5e5, 1e6, 2e6] * 2


def test_psa_on_the_cluster_matches_a_local_run(cluster, default_ics):
    scenario = Scenario(budget_gbp=2e6)
    before = executed(cluster)
    remote = run_psa(default_ics, scenario, 10, seed=7, scheduler=cluster)
    assert executed(cluster) - before == 10
    local = run_psa(default_ics, scenario, 10, seed=7, workers=1)
    pd.testing.assert_frame_equal(remote.samples, local.samples)
    pd.testing.assert_frame_equal(remote.adoption, local.adoption)
    assert remote.summary == local.summary
    assert list(remote.samples["sample"]) == list(range(10))
    assert remote.summary["failed"] == 0


def test_batch_cli_on_the_cluster_writes_the_local_files(cluster, tmp_path, capsys):
    batch = tmp_path / "batch.yaml"
    batch.write_text(BATCH.replace("  impossible: {coverage_floor: 0.9}\n", ""), encoding="utf-8")
    local_dir, remote_dir = tmp_path / "local", tmp_path / "remote"
    code, _, err = run(
        capsys,
        "batch",
        batch,
        "--data",
        DEFAULT,
        "--out",
        local_dir / "runs.csv",
        "--plans",
        local_dir / "plans",
        "--quiet",
    )
    assert code == 0, err
    before = executed(cluster)
    proc = run_subprocess(
        tmp_path,
        "batch",
        batch,
        "--data",
        DEFAULT,
        "--scheduler",
        cluster,
        "--out",
        remote_dir / "runs.csv",
        "--plans",
        remote_dir / "plans",
    )
    assert proc.returncode == 0, proc.stderr
    assert "baseline" in proc.stdout  # the summary
    assert executed(cluster) - before == 6
    local_csv = (local_dir / "runs.csv").read_bytes()
    assert (remote_dir / "runs.csv").read_bytes() == local_csv
    assert len(pd.read_csv(local_dir / "runs.csv")) == 6
    names = sorted(p.name for p in (local_dir / "plans").iterdir())
    assert names == [f"run-{i:05d}.json" for i in range(6)]
    assert sorted(p.name for p in (remote_dir / "plans").iterdir()) == names
    for name in names:
        remote_plan = (remote_dir / "plans" / name).read_bytes()
        assert remote_plan == (local_dir / "plans" / name).read_bytes()

"""Ctrl-C during a HiGHS solve stops the command line at once: one line, exit 130."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pulp
import pytest
from builders import run

import planner
from planner.solve import Status, run_solver

LONG = planner.Scenario(time_limit_s=60.0, mip_gap=0.0)

# The real command line, with SIGINT at its default (as in a terminal, whatever the test
# runner's) and a marker file written as HiGHS starts, so the signal lands inside a solve.
CHILD = """
import signal, sys, pathlib, pulp
signal.signal(signal.SIGINT, signal.default_int_handler)
marker = pathlib.Path(sys.argv.pop(1))
call_solver = pulp.HiGHS.callSolver

def marked(self, lp):
    marker.touch()
    return call_solver(self, lp)

pulp.HiGHS.callSolver = marked
from planner.cli import run
run()
"""


#: The one line the command line prints on Ctrl-C.
STOPPED = "stopped (Ctrl-C); files are written whole or not at all"


def ctrl_c(proc: subprocess.Popen, send) -> str:
    """Send Ctrl-C with ``send()``; check exit 130 within 10 s, no traceback; return stderr."""
    sent = time.monotonic()
    send()
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("Ctrl-C did not stop the command within 20 s")
    seconds = time.monotonic() - sent
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert seconds < 10, f"took {seconds:.1f} s from Ctrl-C to exit"
    return err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_during_a_solve_stops_it_with_one_line_and_exit_130(tmp_path, capsys, root):
    data = tmp_path / "data"
    code, _, err = run(
        capsys,
        "generate",
        "--out",
        data,
        "--icss",
        42,
        "--trusts",
        200,
        "--products",
        60,
        "--seed",
        2026,
    )
    assert code == 0, err
    marker = tmp_path / "solving"
    out_json = tmp_path / "plan.json"
    # one national MILP that HiGHS works on for over a minute at a zero gap
    args = ["solve", "--data", data, "--model", "central", "--budget", "50m", "--gap", "0"]
    args += ["--time-limit", "600", "--json", out_json]
    path = [str(root), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(marker), *map(str, args)],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            if proc.poll() is not None:
                pytest.fail(f"the command ended before solving: {proc.communicate()[1]}")
            if time.monotonic() > deadline:
                pytest.fail("the solve did not start within 120 s")
            time.sleep(0.05)
        time.sleep(1.0)  # well inside the solve
        assert proc.poll() is None, "the solve ended before the signal"
        err = ctrl_c(proc, lambda: proc.send_signal(signal.SIGINT))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert err.strip().splitlines() == [STOPPED]
    assert not out_json.exists()


def hard_knapsack(n: int = 150, m: int = 15) -> pulp.LpProblem:
    """A multi-dimensional knapsack HiGHS takes many seconds to prove optimal."""
    rng = np.random.default_rng(1)
    weights, values = rng.integers(20, 100, size=(m, n)), rng.integers(20, 100, size=n)
    prob = pulp.LpProblem("mkp", pulp.LpMaximize)
    x = prob.add_variable_dict("x", range(n), cat="Binary")
    prob.setObjective(pulp.LpAffineExpression([(x[i], float(values[i])) for i in range(n)]))
    for k in range(m):
        row = pulp.LpAffineExpression([(x[i], float(weights[k, i])) for i in range(n)])
        cap = float(weights[k].sum() // 2)
        prob.addConstraint(pulp.LpConstraint(row, pulp.LpConstraintLE, f"cap{k}", cap))
    return prob


def small_knapsack() -> pulp.LpProblem:
    return hard_knapsack(n=4, m=1)


@pytest.fixture
def default_sigint():
    """SIGINT at Python's default (KeyboardInterrupt), as in a terminal, then as it was."""
    before = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_in_a_main_thread_solve_stops_it_and_raises_keyboard_interrupt(
    default_sigint, monkeypatch
):
    solving = threading.Event()
    call_solver = pulp.HiGHS.callSolver

    def marked(self, lp):
        solving.set()
        return call_solver(self, lp)

    monkeypatch.setattr(pulp.HiGHS, "callSolver", marked)
    sent = []

    def ctrl_c():
        if not solving.wait(30):
            return
        time.sleep(0.5)  # inside the solve
        # only while the solve's own handler is in place: never a stray KeyboardInterrupt
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            sent.append(time.monotonic())
            os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=ctrl_c, daemon=True)
    thread.start()
    with pytest.raises(KeyboardInterrupt):
        run_solver(hard_knapsack(), LONG)
    stopped = time.monotonic()
    thread.join(5)
    assert sent, "no SIGINT was sent: the solve installed no handler or ended first"
    assert stopped - sent[0] < 3
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_main_thread_solve_puts_the_sigint_handler_back(default_sigint):
    assert run_solver(small_knapsack(), LONG).status == Status.OPTIMAL
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_solves_off_the_main_thread_or_with_sigint_taken_touch_no_signal(monkeypatch):
    """The app solves in worker threads; a host may ignore or handle SIGINT itself."""
    calls = []
    real = signal.signal
    monkeypatch.setattr(signal, "signal", lambda *a: calls.append(a) or real(*a))
    results = []
    thread = threading.Thread(
        target=lambda: results.append(run_solver(small_knapsack(), LONG).status)
    )
    thread.start()
    thread.join(60)
    assert results == [Status.OPTIMAL]
    before = signal.getsignal(signal.SIGINT)
    real(signal.SIGINT, signal.SIG_IGN)
    try:
        assert run_solver(small_knapsack(), LONG).status == Status.OPTIMAL
    finally:
        real(signal.SIGINT, before)
    assert calls == []


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_ctrl_c_in_a_terminal_stops_local_workers_with_one_line_and_exit_130(tmp_path, root):
    """A terminal sends SIGINT to the whole process group: workers included.

    The workers ignore it and the parent ends them, rather than waiting for every queued
    sample (which took over a minute) or printing their tracebacks.
    """
    out_csv = tmp_path / "samples.csv"
    args = ["uncertainty", "--data", root / "data" / "default_ics", "--budget", "2m"]
    args += ["--samples", "2000", "--workers", "2", "--out", out_csv]
    path = [str(root), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    child = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    child += "from planner.cli import run; run()"
    proc = subprocess.Popen(
        [sys.executable, "-c", child, *map(str, args)],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        # wait for both worker processes, then give them time to import and start solving
        deadline = time.monotonic() + 120
        while len(children(proc.pid)) < 2:
            if proc.poll() is not None:
                pytest.fail(f"the command ended before the signal: {proc.communicate()[1]}")
            if time.monotonic() > deadline:
                pytest.fail("the workers did not start within 120 s")
            time.sleep(0.1)
        time.sleep(6.0)
        assert proc.poll() is None, "the samples ended before the signal"
        err = ctrl_c(proc, lambda: os.killpg(proc.pid, signal.SIGINT))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert err.strip().splitlines() == [STOPPED]
    assert not out_csv.exists()


def test_a_mip_is_stopped_by_its_node_callbacks_and_an_lp_by_its_simplex_too(default_ics):
    """A MIP's run starts no simplex callback (Python at every few LP iterations)."""
    import highspy

    from planner.economics import build_options
    from planner.model import build_model
    from planner.solve import _interrupt_callbacks, highs_settings, load_highs

    options = build_options(default_ics, planner.Scenario(budget_gbp=2e6))
    built = build_model(options)
    load_highs(built.prob, highs_settings(options.scenario))
    kinds = _interrupt_callbacks(built.prob.solverModel)
    simplex = highspy.cb.HighsCallbackType.kCallbackSimplexInterrupt
    assert highspy.cb.HighsCallbackType.kCallbackMipInterrupt in kinds
    assert simplex not in kinds
    lp = highspy.Highs()
    lp.setOptionValue("output_flag", False)
    lp.addVar(0.0, 1.0)
    assert simplex in _interrupt_callbacks(lp)

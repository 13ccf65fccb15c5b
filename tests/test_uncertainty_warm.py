"""Uncertainty samples on a warm HiGHS model give the table of samples rebuilt from scratch.

``run_psa(..., warm=False)`` builds every sample's options and MILP anew (the path before
the warm models); the default edits one HiGHS model per worker in place. The tables are
compared exactly, floats included. The warm path has no arithmetic of its own: the draw's
money is :func:`planner.economics.option_money` (which ``build_options`` calls), the
coefficients :meth:`planner.model.Model.priced` (checked here against what ``build_model``
hands HiGHS), the scores :class:`planner.evaluate.PlanScorer` (which ``evaluate`` uses) and
the run :func:`planner.solve.run_highs` (which ``run_solver`` uses).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import threading
import time
from pathlib import Path

import highspy
import numpy as np
import pandas as pd
import pytest
from builders import make_dataset, random_instance, simple_scenario
from test_optimiser import tiny

import planner
import planner.model
import planner.uncertainty as unc
from planner.economics import build_options, option_money
from planner.errors import PlannerError
from planner.evaluate import PlanScorer, evaluate, group_sums
from planner.model import build_model
from planner.solve import highs_settings, load_highs, run_solver
from planner.uncertainty import NotWarm, ProductDraws, SampleJob, WarmPSA, run_psa, sample_dataset

SCENARIO = planner.Scenario(budget_gbp=2e6)
ROOT = Path(__file__).resolve().parents[1]


def assert_same(warm, rebuilt) -> None:
    """The two analyses agree exactly: every sample's figures, the adoption table, the summary."""
    pd.testing.assert_frame_equal(warm.samples, rebuilt.samples, check_exact=True)
    pd.testing.assert_frame_equal(warm.adoption, rebuilt.adoption, check_exact=True)
    assert warm.summary == rebuilt.summary


@pytest.fixture
def rebuilt_calls(monkeypatch):
    """Count the samples the warm path hands to the rebuilt path."""
    calls = []
    real = unc.rebuilt_sample

    def counted(dataset, job):
        calls.append(job.index)
        return real(dataset, job)

    monkeypatch.setattr(unc, "rebuilt_sample", counted)
    return calls


def test_default_ics_warm_table_is_the_rebuilt_table(default_ics, rebuilt_calls):
    warm = run_psa(default_ics, SCENARIO, 24, seed=7)
    assert rebuilt_calls == []  # every sample solved on the warm model
    rebuilt = run_psa(default_ics, SCENARIO, 24, seed=7, warm=False)
    assert len(rebuilt_calls) == 24
    assert_same(warm, rebuilt)
    assert set(warm.samples["status"]) <= {"optimal", "gap_reached"}


def test_default_ics_other_models_and_a_pool(default_ics, rebuilt_calls):
    for model in ("local", "central"):
        warm = run_psa(default_ics, SCENARIO, 8, seed=3, model=model)
        assert rebuilt_calls == []  # local: one part per trust, each edited in place
        assert_same(warm, run_psa(default_ics, SCENARIO, 8, seed=3, model=model, warm=False))
        rebuilt_calls.clear()
    pooled = run_psa(default_ics, SCENARIO, 12, seed=5, workers=2)
    assert_same(pooled, run_psa(default_ics, SCENARIO, 12, seed=5, warm=False))


def test_random_instances_warm_table_is_the_rebuilt_table(rebuilt_calls):
    tried = warm_samples = infeasible = 0
    for seed in range(30):
        dataset, scenario = random_instance(seed)
        scenario = scenario.replace(time_limit_s=30.0)
        try:
            rebuilt = run_psa(dataset, scenario, 6, seed=seed, price_spread=0.5, warm=False)
        except PlannerError:
            infeasible += 1  # no base-case plan: nothing to sample
            continue
        rebuilt_calls.clear()
        warm = run_psa(dataset, scenario, 6, seed=seed, price_spread=0.5)
        assert_same(warm, rebuilt)
        tried += 1
        warm_samples += 6 - len(rebuilt_calls)
    assert tried + infeasible == 30
    assert tried >= 15
    assert warm_samples >= 0.8 * 6 * tried  # the warm path, not the fallback, did the work


def lp_of(highs) -> dict:
    """A HiGHS model as plain numbers, its matrix as {(row, column): value}."""
    lp = highs.getLp()
    m = lp.a_matrix_
    start, index, value = list(m.start_), list(m.index_), list(m.value_)
    rowwise = m.format_ == highspy.MatrixFormat.kRowwise  # as built; HiGHS runs it colwise
    matrix = {}
    for outer in range(len(start) - 1):
        for k in range(start[outer], start[outer + 1]):
            key = (outer, index[k]) if rowwise else (index[k], outer)
            matrix[key] = value[k]
    return {
        "cost": list(lp.col_cost_),
        "col_bounds": (list(lp.col_lower_), list(lp.col_upper_)),
        "row_bounds": (list(lp.row_lower_), list(lp.row_upper_)),
        "integrality": [int(v) for v in lp.integrality_],
        "offset": lp.offset_,
        "matrix": matrix,
    }


def handed(model, scenario):
    """The HiGHS model of a built MILP, as ``run_solver`` hands it over (not run)."""
    load_highs(model.prob, highs_settings(scenario))
    return model.prob.solverModel


def cases():
    """The default ICS under each model and random instances (with tiered prices)."""
    default = planner.load_dataset(ROOT / "data" / "default_ics")
    out = [(default, SCENARIO, m) for m in ("ics", "local", "central")]
    return out + [(*random_instance(seed), None) for seed in range(12)]


def built_cases():
    """The :func:`cases` with options: (dataset, scenario, model, options, route)."""
    for dataset, scenario, model in cases():
        try:
            options = build_options(dataset, scenario, model)
        except PlannerError:
            continue  # no options under this model
        yield dataset, scenario, model, options, scenario.route(options.model)


def test_the_edited_model_is_the_rebuilt_model():
    """Coefficient for coefficient, what HiGHS is handed per sample is what a rebuild hands it."""
    checked = 0
    for dataset, scenario, model in cases():
        model = model or scenario.model
        try:
            warm = WarmPSA(dataset, scenario, model, 0.3)
        except (NotWarm, PlannerError):
            continue  # no options under this model, or no plan: nothing is edited
        checked += 1
        for index in range(4):
            priced = warm.priced(11, index, 0.3)
            assert priced is not None
            options = build_options(sample_dataset(dataset, 11, index, 0.3), scenario, model)
            for part, edit in zip(warm.parts, priced[1], strict=True):
                part.edit(*edit)
                units = list(part.model.options.budgets.index)
                cold = options if warm.single else options.for_units(units)
                assert lp_of(part.highs) == lp_of(handed(build_model(cold), scenario))
    assert checked >= 10


def test_priced_gives_the_built_coefficients_and_sees_a_change_of_shape():
    """Model.priced at the options' own figures is what build_model set, column by column."""
    for _, scenario, _, options, _ in built_cases():
        built = build_model(options)
        lp = lp_of(handed(built, scenario))
        objective, budget = built.priced(options.figures())
        columns, rows = built.priced_columns()
        assert [lp["cost"][v.index] for v in columns] == (-objective).tolist()
        for v, row, value in zip(columns, rows, budget.tolist(), strict=True):
            assert lp["matrix"].get((row.index, v.index), 0.0) == value
    # a tiered price whose tiers close up to one price is another shape: no coefficients
    options = build_options(tiny(), simple_scenario(budget_gbp=600.0), "ics")
    built = build_model(options)
    assert built.tier_vars  # priced by tiers at list prices
    figures = options.figures()
    assert built.priced(figures) is not None
    flat = {pc: np.full_like(p, p[0]) for pc, p in figures.prices.items()}
    assert built.priced(dataclasses.replace(figures, prices=flat)) is None
    # so is a fixed cost that becomes zero (PuLP leaves zeros out of a row)
    free = dataclasses.replace(figures, fixed_cost_gbp=np.zeros_like(figures.fixed_cost_gbp))
    assert built.priced(free) is None


def test_the_draws_money_is_the_money_of_the_sampled_dataset():
    """option_money under a draw gives the columns build_options gives the sampled dataset."""
    for dataset, scenario, model, options, route in built_cases():
        draws = ProductDraws(dataset)
        for index in range(3):
            money = option_money(options.basis, draws.draw(5, index, 0.4), scenario, route)
            cold = build_options(sample_dataset(dataset, 5, index, 0.4), scenario, model)
            for column, values in money.columns.items():
                assert np.array_equal(values, cold.table[column].to_numpy()), column
            assert np.array_equal(money.tier_prices, cold.tiers["price_per_study_gbp"].to_numpy())


def test_the_scorer_under_a_draw_is_the_evaluator_of_the_sampled_options():
    """PlanScorer at a draw's figures gives evaluate's figures on the options rebuilt for it."""
    rng = np.random.default_rng(3)
    scored = 0
    for dataset, scenario, model, options, route in built_cases():
        scorer = PlanScorer(options)
        draws = ProductDraws(dataset)
        for index in range(3):
            money = option_money(options.basis, draws.draw(9, index, 0.3), scenario, route)
            cold = build_options(sample_dataset(dataset, 9, index, 0.3), scenario, model)
            n = len(options.table)
            for mask in (np.ones(n, bool), rng.random(n) < 0.4, rng.random(n) < 0.7):
                got = scorer.score(mask, options.figures(money))
                ev = evaluate(cold, mask, check_rules=False)
                assert (got.benefit_gbp, got.cost_gbp) == (ev.benefit_gbp, ev.cost_gbp)
                assert got.unit_cost_gbp.tolist() == ev.units["cost_gbp"].tolist()
                scored += 1
    assert scored >= 30


@pytest.mark.parametrize("monotonic", [True, False])
def test_group_sums_are_pandas_groupby_sums(monotonic):
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(1, 14))
        values = rng.random(n) * 10 ** rng.uniform(0, 7, n)
        ids = rng.integers(0, 4, n)
        if monotonic:
            ids = np.sort(ids)
        want = pd.Series(values).groupby(ids).sum().reindex(range(4)).fillna(0.0)
        assert group_sums(values, ids, 4).tolist() == want.tolist()


def test_warm_models_set_the_options_run_solver_sets(default_ics):
    options = build_options(default_ics, SCENARIO)
    prob = build_model(options).prob
    run_solver(prob, SCENARIO)
    cold = prob.solverModel
    warm = WarmPSA(default_ics, SCENARIO, "ics", 0.2).parts[0].highs
    keys = ["mip_rel_gap", "mip_abs_gap", "threads", "random_seed", "time_limit", "presolve"]
    keys += ["output_flag", "parallel", "solver", "mip_heuristic_effort"]
    keys += ["mip_heuristic_run_root_reduced_cost"]
    for key in keys:
        assert warm.getOptionValue(key) == cold.getOptionValue(key), key


def test_a_draw_that_changes_the_model_shape_is_rebuilt(rebuilt_calls):
    """Tier prices within numpy.allclose are one price; a wide draw splits them into tiers."""
    trusts = [{"trust_code": "T1", "local_budget_gbp": 1000.0}]
    trusts.append({"trust_code": "T2", "local_budget_gbp": 1000.0})
    products = [
        {"product_code": "P1", "implementation_gbp": 300.0, "qalys_per_1000": 1.0},
        {"product_code": "P2", "implementation_gbp": 500.0, "use_case": "u2"},
    ]
    tiers = [
        {"product_code": "P1", "tier": 1, "min_studies_per_year": 0, "price_per_study_gbp": 1.2e-8},
        {"product_code": "P1", "tier": 2, "min_studies_per_year": 10, "price_per_study_gbp": 6e-9},
    ]
    dataset = make_dataset(trusts, products, tiers)
    scenario = planner.Scenario(budget_gbp=1200.0, model="ics")
    warm = run_psa(dataset, scenario, 30, seed=2, price_spread=0.9)
    assert 0 < len(rebuilt_calls) < 30  # some draws split the price into tiers
    assert_same(warm, run_psa(dataset, scenario, 30, seed=2, price_spread=0.9, warm=False))


def test_samples_without_a_plan_are_rebuilt_and_say_why(rebuilt_calls):
    """A lock the drawn prices make unaffordable: the rebuilt path words the reason."""
    trusts = [{"trust_code": "T1", "local_budget_gbp": 1000.0}]
    products = [{"product_code": "P1", "implementation_gbp": 1000.0}]
    dataset = make_dataset(trusts, products)
    lock = planner.Lock("T1", "P1", True)
    scenario = simple_scenario(budget_gbp=1050.0, locks=(lock,))  # costs at list price
    warm = run_psa(dataset, scenario, 20, seed=1, price_spread=0.2)
    failed = warm.samples["status"] == "failed"
    assert failed.any()
    assert not failed.all()
    assert sorted(rebuilt_calls) == list(warm.samples.loc[failed, "sample"])
    assert_same(warm, run_psa(dataset, scenario, 20, seed=1, price_spread=0.2, warm=False))


def test_a_shape_change_falls_back_sample_by_sample(default_ics, monkeypatch, rebuilt_calls):
    real = planner.model.Model.priced
    odd = {"index": 0}

    def every_other(self, figures):
        return None if odd["index"] % 2 else real(self, figures)

    real_run = WarmPSA.run

    def remembered(self, job):
        odd["index"] = job.index
        return real_run(self, job)

    monkeypatch.setattr(planner.model.Model, "priced", every_other)
    monkeypatch.setattr(WarmPSA, "run", remembered)
    warm = run_psa(default_ics, SCENARIO, 10, seed=4)
    monkeypatch.undo()
    assert rebuilt_calls == [1, 3, 5, 7, 9]
    assert_same(warm, run_psa(default_ics, SCENARIO, 10, seed=4, warm=False))


def test_a_run_leaves_no_warm_model_behind(default_ics):
    run_psa(default_ics, SCENARIO, 2, seed=1)
    assert getattr(WarmPSA._local, "entry", None) is None


def test_warm_models_are_per_thread(default_ics):
    job = SampleJob(0, 1, SCENARIO, "ics", 0.2, ())
    mine = WarmPSA.for_job(default_ics, job)
    assert WarmPSA.for_job(default_ics, job) is mine
    theirs = []
    thread = threading.Thread(target=lambda: theirs.append(WarmPSA.for_job(default_ics, job)))
    thread.start()
    thread.join(60)
    assert len(theirs) == 1
    assert theirs[0] is not None
    assert theirs[0] is not mine
    other = SampleJob(0, 1, SCENARIO.replace(budget_gbp=3e6), "ics", 0.2, ())
    assert WarmPSA.for_job(default_ics, other) is not mine
    WarmPSA.forget()


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_ctrl_c_stops_a_one_worker_run_on_warm_models(default_ics):
    """Warm runs stop on Ctrl-C as run_solver's do (both through run_highs), leaving nothing."""
    first_done = threading.Event()  # then the next sample runs on the warm model
    pressed = []

    def press():
        if first_done.wait(60):
            time.sleep(0.05)
            pressed.append(time.monotonic())
            os.kill(os.getpid(), signal.SIGINT)

    before = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        scenario = SCENARIO.replace(time_limit_s=60.0)
        threading.Thread(target=press, daemon=True).start()
        with pytest.raises(KeyboardInterrupt):
            run_psa(default_ics, scenario, 500, seed=1, progress=lambda *_: first_done.set())
        assert pressed
        assert time.monotonic() - pressed[0] < 3
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        assert WarmPSA._local.entry is None
    finally:
        signal.signal(signal.SIGINT, before)


def test_batch_bench_reports_the_floor_ratio_with_a_verdict():
    """The benchmark's floor section runs and checks its plans (its timings are not tested)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import batch_bench

    row = batch_bench.uncertainty_floor(samples=3, repeats=1)
    assert "error" not in row, row.get("error")
    assert row["same_plans"], row["wrong_plans"]
    assert row["target"] == 1.1
    assert row["met"] == (row["ratio"] <= 1.1)
    assert row["sample_ms"]["median"] > 0
    assert row["floor_ms"]["median"] > 0
    assert row["rebuilt_ms"]["median"] > 0

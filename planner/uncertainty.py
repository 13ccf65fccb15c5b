"""Probabilistic sensitivity analysis: re-optimise under sampled benefits and prices.

Distributions (per product, independently, one draw per sample shared by every trust):

- reporting minutes saved per study and QALYs per 1,000 studies: triangular on
  (low, central, high) from ``products.csv`` (a degenerate range is the constant);
- prices: one multiplier per product on its implementation cost, licence and every
  per-study tier price, uniform on [1 - price_spread, 1 + price_spread] (default +/-20%;
  the NAO found up to 2x variation between trusts for the same item, so this is modest).

Sample ``i`` draws from ``numpy.random.default_rng([seed, i])``, so the same seed gives the
same table whatever the number of workers and whatever order samples finish in.

How a sample is solved: a draw changes the options' figures, never which options exist, so
each worker builds the MILP once (per part a plan is solved in, as
:func:`planner.solve.solve_parts` splits it) and hands it to HiGHS, and per sample writes
the drawn objective and budget coefficients into that HiGHS model and runs it again from a
cleared state (:class:`WarmPSA`). Every figure comes from the package's one arithmetic:
the draw's money from :func:`planner.economics.option_money`, the coefficients from
:meth:`planner.model.Model.priced`, the run from :func:`planner.solve.run_highs`, the
scores from :class:`planner.evaluate.PlanScorer`. The edited model is the model a rebuild
would hand HiGHS, coefficient for coefficient, so HiGHS takes the same path to the same
plan and the table is the one rebuilding every sample gives. A sample whose draw would
change the model's shape (a tiered price collapsing to one price, a cost becoming zero), or
that ends without a plan, is rebuilt and solved from scratch (:func:`rebuilt_sample`),
which is also what ``run_psa(..., warm=False)`` does for every sample.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace

import highspy
import numpy as np
import pandas as pd
import pulp

from planner.data import Dataset
from planner.economics import Options, ProductFigures, build_options, option_money
from planner.errors import PlannerError
from planner.evaluate import PlanScorer, evaluate, over_budget, overspends, selection_mask
from planner.formatting import money, plural
from planner.model import build_model
from planner.parallel import Progress, run_jobs
from planner.scenario import Scenario
from planner.solve import (
    Status,
    combined_status,
    highs_settings,
    load_highs,
    plan_settings,
    run_highs,
    solve_options,
    solve_parts,
    time_left,
)


def _triangular(rng: np.random.Generator, low, mode, high) -> np.ndarray:
    low, mode, high = (np.asarray(v, dtype=float) for v in (low, mode, high))
    width = high - low
    safe = np.where(width > 0, width, 1.0)
    u = rng.random(len(low))
    cut = np.where(width > 0, (mode - low) / safe, 0.0)
    left = low + np.sqrt(u * safe * (mode - low))
    right = high - np.sqrt((1 - u) * safe * (high - mode))
    draw = np.where(u < cut, left, right)
    return np.where(width > 0, draw, mode)


#: The product columns a draw reads: the triangular ranges, (low, central, high).
RANGES = (
    ("minutes_saved_low", "minutes_saved_per_study", "minutes_saved_high"),
    ("qalys_per_1000_low", "qalys_per_1000", "qalys_per_1000_high"),
)


class ProductDraws:
    """The draws of a dataset's product figures (see the module docstring), read once."""

    def __init__(self, dataset: Dataset):
        products = dataset.products
        self.ranges = [[products[c].to_numpy(float) for c in cols] for cols in RANGES]
        self.figures = ProductFigures.of(dataset)
        self.tier_product = products.index.get_indexer(dataset.price_tiers["product_code"])

    def draw(self, seed: int, index: int, price_spread: float = 0.2) -> ProductFigures:
        """Sample ``index``'s product figures: drawn benefits, prices times a drawn multiplier."""
        rng = np.random.default_rng([seed, index])
        minutes = _triangular(rng, *self.ranges[0])
        qalys = _triangular(rng, *self.ranges[1])
        factor = rng.uniform(1 - price_spread, 1 + price_spread, len(minutes))
        f = self.figures
        return ProductFigures(
            qalys,
            minutes,
            f.implementation_gbp * factor,
            f.licence_gbp_per_year * factor,
            f.price_per_study_gbp * factor[self.tier_product],
        )


def sample_dataset(dataset: Dataset, seed: int, index: int, price_spread: float = 0.2) -> Dataset:
    """Return a copy of ``dataset`` with product benefits and prices drawn for sample ``index``."""
    drawn = ProductDraws(dataset).draw(seed, index, price_spread)
    p = dataset.products.copy()
    p["minutes_saved_per_study"] = drawn.minutes_saved_per_study
    p["qalys_per_1000"] = drawn.qalys_per_1000
    p["implementation_gbp"] = drawn.implementation_gbp
    p["licence_gbp_per_year"] = drawn.licence_gbp_per_year
    tiers = dataset.price_tiers.copy()
    tiers["price_per_study_gbp"] = drawn.price_per_study_gbp
    return replace(dataset, products=p, price_tiers=tiers)


@dataclass(frozen=True)
class SampleJob:
    """One PSA sample: re-optimise, and score the base-case plan, under drawn values.

    ``warm`` False rebuilds and solves the sample from scratch (:func:`rebuilt_sample`).
    """

    index: int
    seed: int
    scenario: Scenario
    model: str
    price_spread: float
    base_plan: tuple[tuple[str, str], ...]
    warm: bool = True


def run_sample(dataset: Dataset, job: SampleJob) -> dict:
    """Solve one sample; return its figures and the (trust, product) pairs it adopts.

    On this thread's warm models when it can (see the module docstring), else rebuilt: the
    same row either way.
    """
    if job.warm:
        warm = WarmPSA.for_job(dataset, job)
        row = warm.run(job) if warm is not None else None
        if row is not None:
            return row
    return rebuilt_sample(dataset, job)


def rebuilt_sample(dataset: Dataset, job: SampleJob) -> dict:
    """Solve one sample from scratch: sampled dataset, options, MILP, solve, evaluator."""
    data = sample_dataset(dataset, job.seed, job.index, job.price_spread)
    options = build_options(data, job.scenario, job.model)
    base = evaluate(options, list(job.base_plan))
    row = {
        "sample": job.index,
        "base_plan_benefit_gbp": base.benefit_gbp,
        "base_plan_cost_gbp": base.cost_gbp,
        "base_plan_within_budget": not bool(over_budget(base.units).any()),
    }
    try:
        result = solve_options(options)
    except PlannerError as exc:
        return {**row, "status": "failed", "reason": str(exc), "adoptions": []}
    ev = evaluate(options, result.mask, check_rules=False)
    return {
        **row,
        "status": result.status,
        "reason": "",
        "benefit_gbp": ev.benefit_gbp,
        "cost_gbp": ev.cost_gbp,
        "adoptions": sorted(zip(ev.adoptions["trust"], ev.adoptions["product"], strict=True)),
    }


# ---------------------------------------------------------------------------------------
# The warm path: one HiGHS model per worker and part, given each sample's coefficients


class NotWarm(Exception):
    """The scenario's MILP cannot be edited in place; every sample is rebuilt instead."""


class WarmPart:
    """The MILP of one part of a plan, handed to HiGHS once and given each sample's costs."""

    def __init__(self, part: Options, rows: np.ndarray):
        self.rows = rows  # the part's options among the whole table's rows
        self.model = build_model(part)
        if self.model.prob.sense != pulp.LpMaximize:
            raise NotWarm("not a maximisation")
        load_highs(self.model.prob, highs_settings(part.scenario, **plan_settings(part)))
        self.highs: highspy.Highs = self.model.prob.solverModel
        columns, rows_of = self.model.priced_columns()
        if any(r is None for r in rows_of):
            raise NotWarm("a priced column without a budget row")
        own = self.model.priced(part.figures())
        if own is None:
            raise NotWarm("the model's own figures do not price it")
        nonzero = np.flatnonzero(own[1] != 0)
        self.columns = np.array([v.index for v in columns], dtype=np.int32)
        self.entries = (
            nonzero,
            np.array([r.index for r in rows_of], dtype=np.int32)[nonzero].tolist(),
            self.columns[nonzero].tolist(),
        )
        self.x_columns = np.array([v.index for v in self.model.x], dtype=np.int64)
        self._check_built(*own)

    def _check_built(self, objective: np.ndarray, budget: np.ndarray) -> None:
        """Refuse to go warm unless the priced coefficients are the ones HiGHS was handed."""
        lp = self.highs.getLp()
        if not np.array_equal(np.asarray(lp.col_cost_)[self.columns], -objective):
            raise NotWarm("the objective differs from the built model")
        m = lp.a_matrix_
        start, index, value = list(m.start_), list(m.index_), list(m.value_)
        rowwise = m.format_ == highspy.MatrixFormat.kRowwise
        built = {}
        for outer in range(len(start) - 1):
            for k in range(start[outer], start[outer + 1]):
                built[(outer, index[k]) if rowwise else (index[k], outer)] = value[k]
        nonzero, rows, cols = self.entries
        for r, c, v in zip(rows, cols, budget[nonzero].tolist(), strict=True):
            if built.get((r, c)) != v:
                raise NotWarm("the budget rows differ from the built model")

    def edit(self, objective: np.ndarray, budget: np.ndarray) -> None:
        """Write one sample's coefficients into the HiGHS model."""
        # PuLP hands HiGHS the negated objective of a maximisation
        self.highs.changeColsCost(len(self.columns), self.columns, -objective)
        nonzero, rows, cols = self.entries
        for r, c, v in zip(rows, cols, budget[nonzero].tolist(), strict=True):
            self.highs.changeCoeff(r, c, v)

    def solve(self, time_limit_s: float):
        """Run the model from a cleared state; its run and, with a plan, the adoption mask."""
        self.highs.clearSolver()  # no basis or incumbent from the last sample: as from scratch
        run = run_highs(self.highs, time_limit_s=time_limit_s)
        if not run.has_plan or run.status == Status.EMPTY:
            return run, None
        return run, np.asarray(self.highs.getSolution().col_value)[self.x_columns] > 0.5


class WarmPSA:
    """The samples of one (dataset, scenario, model, price spread) on warm HiGHS models.

    Built once per worker thread (:meth:`for_job`); :meth:`run` gives a sample's row, or
    None when the sample must be rebuilt instead (its draw changes the model's shape, or
    the solve ends without a plan, whose reasons the rebuilt path words).
    """

    _local = threading.local()

    def __init__(self, dataset: Dataset, scenario: Scenario, model: str, price_spread: float):
        options = build_options(dataset, scenario, model)
        if options.basis is None:
            raise NotWarm("no basis to work the options' money out again")
        self.options = options
        self.scenario = scenario
        self.route = scenario.route(model)
        self.draws = ProductDraws(dataset)
        self.scorer = PlanScorer(options)
        self.budget = options.budgets.to_numpy(float)
        self.pairs = list(
            zip(options.table["trust"].tolist(), options.table["product"].tolist(), strict=True)
        )
        self._base: tuple = ((), np.zeros(len(options.table), dtype=bool))
        split = solve_parts(options)
        self.single = len(split) == 1 and split[0][1] is options
        self.parts: list[WarmPart] = []
        for group, part in split:
            if part.table.empty:
                raise NotWarm("a part with no options to decide")
            rows = np.arange(len(options.table)) if self.single else options.rows_of(group)
            self.parts.append(WarmPart(part, rows))

    @classmethod
    def for_job(cls, dataset: Dataset, job: SampleJob) -> WarmPSA | None:
        """This thread's warm models for ``job`` (built on first use), or None if none can be."""
        key = (job.scenario, job.model, job.price_spread)
        cached = getattr(cls._local, "entry", None)
        if cached is not None and cached[0] is dataset and cached[1] == key:
            return cached[2]
        try:
            warm = cls(dataset, job.scenario, job.model, job.price_spread)
        except (NotWarm, PlannerError):
            warm = None  # the rebuilt path solves (or words the error of) every sample
        cls._local.entry = (dataset, key, warm)
        return warm

    @classmethod
    def forget(cls) -> None:
        """Drop this thread's warm models (a run in this thread is over)."""
        cls._local.entry = None

    def base_mask(self, base_plan: tuple) -> np.ndarray:
        """The base-case plan as a mask over the options (kept for the next sample)."""
        if base_plan != self._base[0]:
            self._base = (base_plan, selection_mask(self.options, base_plan)[0])
        return self._base[1]

    def priced(self, seed: int, index: int, price_spread: float) -> tuple | None:
        """Sample ``index``'s option figures, and each part's coefficients under them.

        None when the draw cannot be edited in: a figure overflows (the rebuilt path words
        it) or the draw changes a part's shape (see :meth:`planner.model.Model.priced`).
        """
        drawn = self.draws.draw(seed, index, price_spread)
        money = option_money(self.options.basis, drawn, self.scenario, self.route)
        if not all(np.isfinite(v).all() for v in [*money.columns.values(), money.tier_prices]):
            return None
        figures = self.options.figures(money)
        edits = []
        for part in self.parts:
            priced = part.model.priced(figures if self.single else figures.take(part.rows))
            if priced is None:
                return None
            edits.append(priced)
        return figures, edits

    def run(self, job: SampleJob) -> dict | None:
        """Sample ``job.index`` on the warm models: its row, or None to rebuild it."""
        priced = self.priced(job.seed, job.index, job.price_spread)
        if priced is None:
            return None
        figures, edits = priced
        base = self.scorer.score(self.base_mask(job.base_plan), figures)
        row = {
            "sample": job.index,
            "base_plan_benefit_gbp": base.benefit_gbp,
            "base_plan_cost_gbp": base.cost_gbp,
            "base_plan_within_budget": not bool(overspends(base.unit_cost_gbp, self.budget).any()),
        }
        mask = np.zeros(len(self.pairs), dtype=bool)
        statuses = []
        deadline = time.perf_counter() + self.scenario.time_limit_s
        for part, (objective, budget) in zip(self.parts, edits, strict=True):
            part.edit(objective, budget)
            limit = self.scenario.time_limit_s if self.single else time_left(deadline)
            run, chosen = part.solve(limit)
            if chosen is None:
                return None
            mask[part.rows] = chosen
            statuses.append(run.status)
        status = statuses[0].value if self.single else combined_status(statuses)
        plan = self.scorer.score(mask, figures)
        return {
            **row,
            "status": status,
            "reason": "",
            "benefit_gbp": plan.benefit_gbp,
            "cost_gbp": plan.cost_gbp,
            "adoptions": sorted(self.pairs[i] for i in plan.rows.tolist()),
        }


def failed_sample(job: SampleJob, reason: str) -> dict:
    """The row of a sample that never came back, its figures missing.

    For example an unexpected error inside it, or a lost Dask scheduler (see
    :mod:`planner.parallel`).
    """
    return {"sample": job.index, "status": "failed", "reason": reason, "adoptions": []}


@dataclass
class PSAResult:
    """The outcome of a probabilistic sensitivity analysis.

    Attributes:
        samples: One row per sample: status, benefit_gbp and cost_gbp of the re-optimised
            plan, and the benefit and cost of the base-case plan under that sample.
        adoption: One row per (trust, product) ever chosen: the share of samples choosing it
            and whether the base-case plan has it.
        summary: Key figures: samples, failures, mean and 5th/50th/95th percentile benefit,
            expected benefit of the base-case plan, share of samples where it overspends.
    """

    samples: pd.DataFrame
    adoption: pd.DataFrame
    summary: dict


def run_psa(
    dataset: Dataset,
    scenario: Scenario,
    samples: int,
    *,
    seed: int = 2026,
    model: str | None = None,
    price_spread: float = 0.2,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Progress = None,
    warm: bool = True,
) -> PSAResult:
    """Sample, re-optimise and summarise (see the module docstring for the distributions).

    ``warm`` False rebuilds every sample's options and MILP from scratch instead of editing
    a warm HiGHS model (the same table, more slowly; kept to check the warm path against).

    Raises:
        PlannerError: If the base case itself has no plan.
    """
    model = model or scenario.model
    base_options = build_options(dataset, scenario, model)
    base_result = solve_options(base_options)
    base_ev = evaluate(base_options, base_result.mask, check_rules=False)
    base_plan = tuple(
        sorted(zip(base_ev.adoptions["trust"], base_ev.adoptions["product"], strict=True))
    )
    jobs = [
        SampleJob(i, seed, scenario, model, price_spread, base_plan, warm) for i in range(samples)
    ]
    try:
        rows = run_jobs(
            run_sample,
            dataset,
            jobs,
            workers=workers,
            scheduler=scheduler,
            progress=progress,
            on_error=failed_sample,
        )
    finally:
        WarmPSA.forget()  # samples run in this thread (one worker) leave no HiGHS model behind
    chosen: dict[tuple[str, str], int] = {}
    for r in rows:
        for pair in r["adoptions"]:
            chosen[tuple(pair)] = chosen.get(tuple(pair), 0) + 1
    ok = [r for r in rows if r["status"] != "failed"]
    n_ok = max(len(ok), 1)
    adoption = pd.DataFrame(
        [
            {"trust": t, "product": p, "probability": c / n_ok, "in_base_plan": (t, p) in base_plan}
            for (t, p), c in sorted(chosen.items())
        ],
        columns=["trust", "product", "probability", "in_base_plan"],
    )
    columns = ["sample", "base_plan_benefit_gbp", "base_plan_cost_gbp"]
    columns += ["base_plan_within_budget", "status", "reason", "benefit_gbp", "cost_gbp"]
    table = pd.DataFrame([{k: v for k, v in r.items() if k != "adoptions"} for r in rows])
    table = table.reindex(columns=columns + [c for c in table.columns if c not in columns])
    benefit = (
        table.loc[table["status"] != "failed", "benefit_gbp"] if len(ok) else pd.Series(dtype=float)
    )
    # a sample that never came back has no base-plan figures: judge on the others
    base_benefit = table["base_plan_benefit_gbp"].dropna().astype(float)
    within = table["base_plan_within_budget"].dropna().astype(bool)
    summary = {
        "samples": samples,
        "failed": samples - len(ok),
        "seed": seed,
        "model": model,
        "price_spread": price_spread,
        "base_case_benefit_gbp": base_ev.benefit_gbp,
        "mean_benefit_gbp": float(benefit.mean()) if len(benefit) else None,
        "p05_benefit_gbp": float(benefit.quantile(0.05)) if len(benefit) else None,
        "p50_benefit_gbp": float(benefit.quantile(0.5)) if len(benefit) else None,
        "p95_benefit_gbp": float(benefit.quantile(0.95)) if len(benefit) else None,
        "expected_base_plan_benefit_gbp": _stat(base_benefit, "mean"),
        "base_plan_p05_benefit_gbp": _stat(base_benefit, 0.05),
        "base_plan_p95_benefit_gbp": _stat(base_benefit, 0.95),
        "base_plan_overspend_share": float(1 - within.mean()) if len(within) else None,
    }
    return PSAResult(table, adoption, summary)


def _stat(values: pd.Series, which: str | float) -> float | None:
    """The mean (``"mean"``) or a quantile of ``values``; None when there are none."""
    if not len(values):
        return None
    return float(values.mean() if which == "mean" else values.quantile(which))


def ranges_text(summary: dict) -> str:
    """The spread of benefit in words, and why the base case may sit below it.

    The base case values every product at its central figure. When the ranges are skewed
    (the high value further above the central one than the low value below it, as for most
    products here), the average draw is worth more than the central values, so the base case
    can fall below the 5th percentile of the re-optimised plans without anything being wrong.
    """
    s = summary
    text = (
        f"90% of re-optimised plans are worth between {money(s['p05_benefit_gbp'])} and "
        f"{money(s['p95_benefit_gbp'])}; the base-case plan itself, kept fixed, is worth "
        f"between {money(s['base_plan_p05_benefit_gbp'])} and "
        f"{money(s['base_plan_p95_benefit_gbp'])} in the same draws "
        f"({plural(s['samples'], 'sample')}, {s['failed']} without a plan)."
    )
    p05 = s["p05_benefit_gbp"]
    if p05 is not None and s["base_case_benefit_gbp"] < p05:
        text += (
            f" The base case ({money(s['base_case_benefit_gbp'])}) is below that range because "
            "it values every product at its central figure, while the ranges reach further "
            "up than down: the average draw is worth more than the central values."
        )
    return text

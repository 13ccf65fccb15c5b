"""Probabilistic sensitivity analysis: re-optimise under sampled benefits and prices.

Distributions (per product, independently, one draw per sample shared by every trust):

- reporting minutes saved per study and QALYs per 1,000 studies: triangular on
  (low, central, high) from ``products.csv`` (a degenerate range is the constant);
- prices: one multiplier per product on its implementation cost, licence and every
  per-study tier price, uniform on [1 - price_spread, 1 + price_spread] (default +/-20%;
  the NAO found up to 2x variation between trusts for the same item, so this is modest).

Sample ``i`` draws from ``numpy.random.default_rng([seed, i])``, so the same seed gives the
same table whatever the number of workers and whatever order samples finish in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from planner.data import Dataset
from planner.economics import build_options
from planner.errors import PlannerError
from planner.evaluate import evaluate, over_budget
from planner.formatting import money, plural
from planner.parallel import Progress, run_jobs
from planner.scenario import Scenario
from planner.solve import solve_options


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


def sample_dataset(dataset: Dataset, seed: int, index: int, price_spread: float = 0.2) -> Dataset:
    """Return a copy of ``dataset`` with product benefits and prices drawn for sample ``index``."""
    rng = np.random.default_rng([seed, index])
    p = dataset.products.copy()
    p["minutes_saved_per_study"] = _triangular(
        rng, p["minutes_saved_low"], p["minutes_saved_per_study"], p["minutes_saved_high"]
    )
    p["qalys_per_1000"] = _triangular(
        rng, p["qalys_per_1000_low"], p["qalys_per_1000"], p["qalys_per_1000_high"]
    )
    factor = pd.Series(rng.uniform(1 - price_spread, 1 + price_spread, len(p)), index=p.index)
    p["implementation_gbp"] = p["implementation_gbp"] * factor
    p["licence_gbp_per_year"] = p["licence_gbp_per_year"] * factor
    tiers = dataset.price_tiers.copy()
    tiers["price_per_study_gbp"] = (
        tiers["price_per_study_gbp"] * tiers["product_code"].map(factor).to_numpy()
    )
    return replace(dataset, products=p, price_tiers=tiers)


@dataclass(frozen=True)
class SampleJob:
    """One PSA sample: re-optimise, and score the base-case plan, under drawn values."""

    index: int
    seed: int
    scenario: Scenario
    model: str
    price_spread: float
    base_plan: tuple[tuple[str, str], ...]


def run_sample(dataset: Dataset, job: SampleJob) -> dict:
    """Solve one sample; return its figures and the (trust, product) pairs it adopts."""
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
) -> PSAResult:
    """Sample, re-optimise and summarise (see the module docstring for the distributions).

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
    jobs = [SampleJob(i, seed, scenario, model, price_spread, base_plan) for i in range(samples)]
    rows = run_jobs(
        run_sample,
        dataset,
        jobs,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
        on_error=failed_sample,
    )
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

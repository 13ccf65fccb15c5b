"""Many planning runs at once: budget and equity sweeps, named scenarios x models x ICSs.

Every run is described by a :class:`Run` and executed by :func:`execute_run`, locally or
on a Dask cluster (:mod:`planner.parallel`). A failed run (infeasible scenario, solver
stopped without a plan, a lock naming a trust of another ICS, an unexpected error inside
it, a Dask scheduler lost before it came back) becomes a row with its status and reason;
the others carry on. Results are one tidy row per run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from planner.data import Dataset
from planner.errors import InfeasibleError, PlannerError, Problem, ScenarioError
from planner.parallel import Progress, run_jobs
from planner.plan import solve
from planner.scenario import MODELS, Scenario, from_dict, parse_money, read_settings_file
from planner.solve import has_plan


@dataclass(frozen=True)
class Run:
    """One planning run: a scenario, a model and the ICS it covers (None = all of them)."""

    run_id: int
    name: str
    model: str
    ics: str | None
    scenario: Scenario
    keep_plan: bool = False


def _run_row(run: Run) -> dict:
    """The columns that say which run a row is, whatever became of it."""
    return {
        "run_id": run.run_id,
        "scenario": run.name,
        "ics": run.ics or "all",
        "model": run.model,
        "budget_gbp": run.scenario.budget_gbp,
        "equity_weight": run.scenario.equity_weight,
        "coverage_floor": run.scenario.coverage_floor,
    }


def failed_row(run: Run, reason: str) -> dict:
    """The row of a run that ended without a plan for a reason outside the planner.

    For example an unexpected exception inside the run, or a Dask scheduler lost before
    the run came back (see :mod:`planner.parallel`).
    """
    return {**_run_row(run), "status": "failed", "reason": reason}


def execute_run(dataset: Dataset, run: Run) -> dict:
    """Solve one run; return its row (key figures, or status and reason if it failed).

    Expected failures (no plan meets the scenario, the solver stopped, bad input) become
    the row here; anything else is raised and :func:`run_table` turns it into a failed row.
    """
    row = _run_row(run)
    try:
        data = dataset.subset([run.ics]) if run.ics else dataset
        plan = solve(data, run.scenario, run.model, with_marginal=False)
    except InfeasibleError as exc:
        return {**row, "status": "infeasible", "reason": "; ".join(exc.reasons)}
    except PlannerError as exc:
        return {**row, "status": "failed", "reason": str(exc)}
    summary = plan.summary()
    summary.pop("model")
    summary["budget_gbp"] = plan.budget_gbp
    out = {**row, **summary, "reason": ""}
    if run.keep_plan:
        out["plan"] = plan.to_dict()
    return out


def run_table(
    dataset: Dataset,
    runs: Sequence[Run],
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Progress = None,
) -> tuple[pd.DataFrame, dict[int, dict]]:
    """Execute runs; return the tidy table (one row per run) and kept plans by run id.

    A run that fails in any way (no plan, an unexpected error inside it, its Dask scheduler
    lost) is a row with status ``failed`` or ``infeasible`` and a ``reason``; the other
    runs' rows are kept.

    Raises:
        ValueError: If there are no runs.
    """
    if not runs:
        raise ValueError("there are no runs to execute")
    rows = run_jobs(
        execute_run,
        dataset,
        runs,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
        on_error=failed_row,
    )
    plans = {r["run_id"]: r.pop("plan") for r in rows if "plan" in r}
    table = pd.DataFrame(rows)
    first = [
        "run_id",
        "scenario",
        "ics",
        "model",
        "status",
        "reason",
        "budget_gbp",
        "equity_weight",
        "coverage_floor",
    ]
    return table[first + [c for c in table.columns if c not in first]], plans


def ics_headroom(dataset: Dataset) -> pd.Series:
    """Each ICS's money by default: the sum of its trusts' local budgets."""
    return dataset.trusts.groupby("ics_code")["local_budget_gbp"].sum()


def sweep_runs(
    dataset: Dataset,
    scenario: Scenario,
    *,
    icss: Iterable[str | None] = (None,),
    models: Iterable[str] = ("ics",),
    budgets: Iterable[float] | None = None,
    budget_fractions: Iterable[float] | None = None,
    equity_weights: Iterable[float] | None = None,
    keep_plans: bool = False,
) -> list[Run]:
    """Runs of a budget sweep and/or an equity-weight sweep.

    Budgets are either absolute (``budgets``) or multiples of each ICS's default money
    (``budget_fractions``), which suits a sweep over ICSs of different sizes.
    """
    icss, models = list(icss), list(models)
    headroom = ics_headroom(dataset)
    weights = list(equity_weights) if equity_weights is not None else [scenario.equity_weight]
    runs = []
    for ics in icss:
        base_money = float(headroom[ics]) if ics else float(headroom.sum())
        if budgets is not None:
            amounts = [float(b) for b in budgets]
        elif budget_fractions is not None:
            amounts = [round(f * base_money, 2) for f in budget_fractions]
        else:
            amounts = [scenario.budget_gbp if scenario.budget_gbp is not None else base_money]
        for model in models:
            for budget in amounts:
                for w in weights:
                    s = scenario.replace(budget_gbp=budget, equity_weight=w)
                    runs.append(Run(len(runs), "sweep", model, ics, s, keep_plans))
    return runs


def parse_range(text: str, money: bool = False) -> list[float]:
    """Parse ``a,b,c`` or ``start:stop:count`` (evenly spaced, both ends included).

    Raises:
        ValueError: With a message saying how to write it.
    """

    def conv(value: str) -> float:
        try:
            return parse_money(value) if money else float(value)
        except ValueError:
            what = "an amount of money" if money else "a number"
            example = "0.5m:4m:25 or 1m,2m,3m" if money else "0:1:5 or 0,0.5,1"
            raise ValueError(f"{text!r}: {value!r} is not {what}; write e.g. {example}") from None

    text = str(text).strip()
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise ValueError(f"{text!r}: write start:stop:count, e.g. 0.5m:4m:25")
        if not parts[2].strip().isdigit():
            raise ValueError(f"{text!r}: the count {parts[2]!r} must be a whole number")
        start, stop, count = conv(parts[0]), conv(parts[1]), int(parts[2])
        if count < 1:
            raise ValueError(f"{text!r}: the count must be at least 1")
        if count == 1:
            return [start]
        return [start + (stop - start) * i / (count - 1) for i in range(count)]
    values = [conv(v) for v in text.split(",") if v.strip()]
    if not values:
        raise ValueError(f"{text!r}: give at least one value")
    return values


def load_batch(path: str | Path, dataset: Dataset, base: Scenario | None = None) -> list[Run]:
    """Read a batch file: named scenarios (overrides of a base) x models x ICSs.

    The file (YAML)::

        base: {budget_gbp: 2m}              # optional: settings for every scenario
        scenarios:                           # named overrides, Calliope style
          baseline: {}
          equity: {equity_weight: 1}
          slow_central: {procurement: {central: {lead_time_months: 24}}}
        models: [local, ics, central]        # optional, default all three
        icss: all                            # optional: all, a list of codes, or omit for
                                             # the whole dataset as one plan

    Raises:
        ScenarioError: Naming the file and the key for anything unknown or malformed.
    """
    path = Path(path)
    name = path.name
    try:
        data = read_settings_file(path) or {}  # size-capped YAML without aliases
    except FileNotFoundError:
        raise ScenarioError(
            [Problem(name, None, None, "file not found", "check the path")]
        ) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ScenarioError(
            [
                Problem(
                    name,
                    None,
                    None,
                    f"cannot be read ({type(exc).__name__})",
                    "write it as UTF-8 YAML",
                )
            ]
        ) from None
    problems: list[Problem] = []
    if not isinstance(data, dict):
        raise ScenarioError(
            [Problem(name, None, None, "must be a table", "see the README's batch example")]
        )
    unknown = set(data) - {"base", "scenarios", "models", "icss"}
    for key in sorted(unknown):
        problems.append(
            Problem(name, None, key, "unknown key", "use base, scenarios, models and icss")
        )
    scenarios = data.get("scenarios")
    if not isinstance(scenarios, dict) or not scenarios:
        problems.append(
            Problem(
                name,
                None,
                "scenarios",
                "must name at least one scenario",
                "e.g. scenarios: {baseline: {}}",
            )
        )
        scenarios = {}
    models = data.get("models", list(MODELS))
    if isinstance(models, str):
        models = [models]
    if not isinstance(models, list) or not models:
        problems.append(
            Problem(
                name,
                None,
                "models",
                "must be a non-empty list of models",
                "e.g. models: [local, ics, central]",
            )
        )
        models = []
    for m in models:
        if m not in MODELS:
            problems.append(
                Problem(name, None, "models", f"unknown model {m!r}", "use " + ", ".join(MODELS))
            )
    icss_spec = data.get("icss")
    if icss_spec == "all":
        icss: list[str | None] = list(dataset.icss.index)
    elif icss_spec is None:
        icss = [None]
    elif isinstance(icss_spec, list) and icss_spec:
        icss = [str(c) for c in icss_spec]
        for c in icss:
            if c not in dataset.icss.index:
                problems.append(
                    Problem(
                        name, None, "icss", f"unknown ICS {c!r}", "use codes from icss.csv, or all"
                    )
                )
    else:
        problems.append(
            Problem(name, None, "icss", "must be all or a list of ICS codes", "e.g. icss: all")
        )
        icss = [None]
    base_data = (base or Scenario()).to_dict()
    overrides = data.get("base") or {}
    if not isinstance(overrides, dict):
        problems.append(Problem(name, None, "base", "must be a table of settings", "see README"))
        overrides = {}
    built: dict[str, Scenario] = {}
    # runs and outputs know a scenario by its name as text, so YAML's 1 and '1' would merge
    first_of: dict[str, object] = {}
    for scen_name, changes in scenarios.items():
        text = str(scen_name)
        if text in first_of:
            problems.append(
                Problem(
                    name,
                    None,
                    f"scenarios.{text}",
                    f"the scenarios {first_of[text]!r} and {scen_name!r} have the same name "
                    f"{text!r} once written as text",
                    "give every scenario a different name",
                )
            )
            continue
        first_of[text] = scen_name
        if changes is not None and not isinstance(changes, dict):
            problems.append(
                Problem(
                    name,
                    None,
                    f"scenarios.{scen_name}",
                    "must be a table of settings",
                    "e.g. {equity_weight: 1}",
                )
            )
            continue
        try:
            merged = _merge(_merge(base_data, overrides), changes or {})
            built[str(scen_name)] = from_dict(merged, source=f"{name} scenarios.{scen_name}")
        except ScenarioError as exc:
            problems += exc.problems
    if problems:
        raise ScenarioError(problems)
    runs = []
    for scen_name, scenario in built.items():
        for model in models:
            for ics in icss:
                runs.append(Run(len(runs), scen_name, model, ics, scenario))
    return runs


def _merge(base: dict, changes: dict) -> dict:
    """Deep-merge ``changes`` into a copy of ``base`` (nested tables merge key by key)."""
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """A short summary per scenario and model: runs, failures and how far the plans range.

    The runs of a group are alternatives (other budgets, weights or ICSs), so their figures
    are never added: each of benefit and cost gets its least, median and greatest value over
    the runs with a plan (``benefit_min_gbp``, ``benefit_median_gbp``, ``benefit_max_gbp``,
    and the same for ``cost``), missing where no run has a plan.
    """
    keys = ["scenario", "model"]
    ok = has_plan(table["status"])
    g = table.assign(ok=ok).groupby(keys, sort=False)
    out = pd.DataFrame({"runs": g.size(), "failed": g["ok"].apply(lambda s: int((~s).sum()))})
    planned = table[ok].groupby(keys, sort=False)
    for figure in ("benefit", "cost"):
        column = f"{figure}_gbp"
        for stat in ("min", "median", "max"):
            values = planned[column].agg(stat) if column in table else pd.Series(dtype=float)
            out[f"{figure}_{stat}_gbp"] = values.reindex(out.index).astype(float)
    return out.reset_index()

"""planner: which AI imaging products each NHS trust should adopt, and how to buy them.

Typical use::

    import planner

    data = planner.load_dataset("data/default_ics")
    plan = planner.solve(data, planner.Scenario(budget_gbp=2_000_000, model="ics"))
    plan.adoptions            # who adopts what, with cost and benefit
    plans, table = planner.compare(data, planner.Scenario(budget_gbp=2_000_000))
"""

from planner.costshare import CostShare, share_costs
from planner.data import Dataset, load_dataset, write_template
from planner.economics import Options, build_options
from planner.equity_check import Finding, equity_findings
from planner.errors import (
    DataError,
    InfeasibleError,
    InputError,
    PlannerError,
    Problem,
    ScenarioError,
    SolverError,
)
from planner.evaluate import Evaluation, evaluate
from planner.plan import Plan, compare, solve
from planner.scenario import Lock, Route, Scenario, load_scenario, parse_money

__all__ = [
    "CostShare",
    "DataError",
    "Dataset",
    "Evaluation",
    "Finding",
    "InfeasibleError",
    "InputError",
    "Lock",
    "Options",
    "Plan",
    "PlannerError",
    "Problem",
    "Route",
    "Scenario",
    "ScenarioError",
    "SolverError",
    "build_options",
    "compare",
    "equity_findings",
    "evaluate",
    "load_dataset",
    "load_scenario",
    "parse_money",
    "share_costs",
    "solve",
    "write_template",
]

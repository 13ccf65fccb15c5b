"""planner: which AI imaging products each NHS trust should adopt, and how to buy them.

Typical use::

    import planner

    data = planner.load_dataset("data/default_ics")
    plan = planner.solve(data, planner.Scenario(budget_gbp=2_000_000, model="ics"))
    plan.adoptions            # who adopts what, with cost and benefit
    plans, table = planner.compare(data, planner.Scenario(budget_gbp=2_000_000))

The public names load on first use (PEP 562), so ``import planner`` and ``planner --help``
do not pay for pandas, PuLP and HiGHS until something needs them.
"""

from __future__ import annotations

import importlib
import sys
import types

#: Each public name and the module of the package that defines it.
_EXPORTS = {
    "CostShare": "costshare",
    "share_costs": "costshare",
    "Dataset": "data",
    "load_dataset": "data",
    "write_template": "data",
    "Options": "economics",
    "build_options": "economics",
    "Finding": "equity_check",
    "equity_findings": "equity_check",
    "DataError": "errors",
    "InfeasibleError": "errors",
    "InputError": "errors",
    "PlannerError": "errors",
    "Problem": "errors",
    "ScenarioError": "errors",
    "SolverError": "errors",
    "Evaluation": "evaluate",
    "evaluate": "evaluate",
    "Plan": "plan",
    "compare": "plan",
    "marginal_value": "plan",
    "marginal_between": "plan",
    "solve": "plan",
    "Lock": "scenario",
    "Route": "scenario",
    "Scenario": "scenario",
    "load_scenario": "scenario",
    "parse_money": "scenario",
}

__all__ = sorted(_EXPORTS)


def _submodules() -> set[str]:
    import pkgutil

    return {m.name for m in pkgutil.iter_modules(__path__)}


def __getattr__(name: str):
    """Import a public name's module (or a submodule) the first time it is asked for."""
    module = _EXPORTS.get(name)
    if module is not None:
        value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        globals()[name] = value
        return value
    if not name.startswith("_") and name in _submodules():  # planner.data, planner.rollout
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | _submodules())


class _Package(types.ModuleType):
    """The package: a submodule never hides the public name it shares (``solve``, ``evaluate``).

    Importing ``planner.solve`` (the solver runner) binds it on the package; ``planner.solve``
    stays the function, as it was when the package imported everything up front.
    """

    def __setattr__(self, name: str, value) -> None:
        if name in _EXPORTS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

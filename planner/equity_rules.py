"""The scenario's fairness rules as linear rules over trusts, shared by every model.

Three kinds of rule, each written once here and read by the single-period MILP
(:mod:`planner.model`), the rollout MILP, the evaluator and the infeasibility diagnosis:

- **coverage floors** (``coverage_floor`` with ``floor_applies_to``): ``all`` binds every
  trust's coverage; ``core20`` binds the coverage delivered to the Core20 people of each
  ICS, its trusts' coverage weighted by their Core20 population
  (``core20_share x population``), so it bites in a 1-trust ICS as in England;
  ``core20_trusts`` binds every trust whose Core20 share is above
  ``core20_trust_threshold``;
- **Core20 parity** (``core20_parity``): the Core20 people of each ICS get at least the
  ICS's population-weighted average coverage;
- **minimum adoptions** (``min_adoptions_per_trust``): every trust adopts at least that
  many new products, or as many as it can.

A coverage rule reads ``sum_t a[t] coverage[t] >= rhs`` with
``coverage[t] = (existing[t] + sum_p s[t,p] x[t,p]) / addressable[t]``; trusts with nothing
to address take no part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.economics import Options

#: Slack allowed when checking a coverage rule (a share, so 1e-6 is a millionth of a point).
COVERAGE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class CoverageRule:
    """One linear rule ``sum_t coefs[t] coverage[t] >= rhs``.

    Attributes:
        name: Constraint name, e.g. ``core20_floor[QNA]``.
        kind: ``floor``, ``core20_floor`` or ``core20_parity``.
        scope: The trust or ICS code the rule is about.
        coefs: Coefficient of each trust's coverage.
        rhs: The least value the weighted coverage may take.
        label: What a message calls the scope (``Name (CODE)``; the code if not given).
    """

    name: str
    kind: str
    scope: str
    coefs: dict
    rhs: float
    label: str = ""

    def value(self, coverage: pd.Series) -> float:
        """The rule's left-hand side for per-trust coverage shares."""
        return float(sum(a * float(coverage[t]) for t, a in self.coefs.items()))

    def linear(self, options: Options) -> tuple[dict, float]:
        """Per-study coefficient of each trust's new studies, and the constant from existing.

        ``sum_t (a[t] / addressable[t]) sum_p s[t,p] x[t,p] >= rhs - constant``.
        """
        tr = options.trusts
        per_study = {t: a / float(tr.at[t, "addressable_studies"]) for t, a in self.coefs.items()}
        constant = sum(per_study[t] * float(tr.at[t, "existing_studies"]) for t in self.coefs)
        return per_study, constant

    def row(self, options: Options) -> tuple[dict, float]:
        """The rule as an MILP row in studies: per-study coefficients and right-hand side.

        :meth:`linear` scaled by the rule's addressable studies, so that the solver's
        feasibility tolerance (about 1e-6 of a row) is a few studies' worth, far inside the
        evaluator's tolerance on coverage shares (:data:`COVERAGE_TOLERANCE`).
        """
        per_study, constant = self.linear(options)
        scale = float(options.trusts.loc[list(self.coefs), "addressable_studies"].sum())
        return {t: c * scale for t, c in per_study.items()}, (self.rhs - constant) * scale

    def broken(self, coverage: pd.Series) -> str | None:
        """Say in words how a plan breaks the rule, or None if it holds."""
        v = self.value(coverage)
        if v >= self.rhs - COVERAGE_TOLERANCE:
            return None
        who = self.label or self.scope
        if self.kind == "floor":
            return f"{who} covers {v:.1%} of its studies, under the floor {self.rhs:.0%}"
        if self.kind == "core20_floor":
            return (
                f"the Core20 people of {who} get {v:.1%} coverage, under the floor {self.rhs:.0%}"
            )
        return (
            f"the Core20 people of {who} get {-v:.1%} less coverage than the ICS's "
            "people on average"
        )


def _addressed(trusts: pd.DataFrame) -> pd.DataFrame:
    return trusts[trusts["addressable_studies"] > 0]


def coverage_rules(options: Options) -> list[CoverageRule]:
    """Every coverage rule of the scenario over the trusts of ``options``."""
    sc = options.scenario
    names = options.names
    rules: list[CoverageRule] = []
    if sc.coverage_floor <= 0 and not sc.core20_parity:
        return rules
    t = _addressed(options.trusts)
    if sc.coverage_floor > 0:
        if sc.floor_applies_to == "core20":
            for ics, g in t.groupby("ics", sort=True):
                c = g["core20_population"]
                if c.sum() > 0:
                    coefs = (c / c.sum()).to_dict()
                    rules.append(
                        CoverageRule(
                            f"core20_floor[{ics}]",
                            "core20_floor",
                            ics,
                            coefs,
                            sc.coverage_floor,
                            names.ics_label(ics),
                        )
                    )
        else:
            if sc.floor_applies_to == "core20_trusts":
                share = t["core20_population"] / t["population"]
                t_floor = t[share > sc.core20_trust_threshold]
            else:
                t_floor = t
            for tc in t_floor.index:
                rules.append(
                    CoverageRule(
                        f"floor[{tc}]",
                        "floor",
                        tc,
                        {tc: 1.0},
                        sc.coverage_floor,
                        names.trust_label(tc),
                    )
                )
    if sc.core20_parity:
        for ics, g in t.groupby("ics", sort=True):
            c, p = g["core20_population"], g["population"]
            if c.sum() <= 0 or p.sum() <= 0:
                continue
            a = c / c.sum() - p / p.sum()
            if np.abs(a.to_numpy()).max() > 1e-12:
                rules.append(
                    CoverageRule(
                        f"core20_parity[{ics}]",
                        "core20_parity",
                        ics,
                        a.to_dict(),
                        0.0,
                        names.ics_label(ics),
                    )
                )
    return rules


def adoption_targets(options: Options, least: int | None = None) -> pd.Series:
    """New adoptions each trust must make under ``min_adoptions_per_trust`` (0 = none).

    A trust is asked for no more than its IT capacity and the number of use cases it can
    still buy for: options not locked out whose prerequisite it holds or can buy. ``least``
    overrides the scenario's number (``adoption_targets(options, 1) > 0`` are the trusts
    that could adopt something).
    """
    n = options.scenario.min_adoptions_per_trust if least is None else least
    if n <= 0:
        return pd.Series(0, index=options.trusts.index, dtype=int)
    buyable = options.buyable_use_cases()
    cap = options.trusts["it_capacity"].astype(int)
    return np.minimum(np.minimum(buyable, cap), n).astype(int)


def unit_groups(options: Options) -> list[list[str]]:
    """Buying units that must be solved together (a rule, a shared tier or a maximin term).

    Without a maximin term, units share a constraint only through a coverage rule over
    trusts of several units (a Core20 floor over an ICS of locally buying trusts), or
    through a purchase group that spans several of them (a national price tier called off
    from trusts' or ICSs' own budgets: the tier the group reaches prices every unit's
    purchase); every other unit can be solved on its own.
    """
    units = [str(u) for u in options.budgets.index]
    if options.scenario.maximin_weight_gbp > 0:
        return [units]
    parent = {u: u for u in units}

    def root(u):
        while parent[u] != u:
            parent[u] = parent[parent[u]]
            u = parent[u]
        return u

    unit_of = options.trusts["unit"]
    linked_sets = [{str(unit_of[t]) for t in rule.coefs} for rule in coverage_rules(options)]
    holders: dict = {}
    for u, g in zip(unit_of.tolist(), options.trusts["tier_unit"].tolist(), strict=True):
        holders.setdefault(g, set()).add(str(u))
    linked_sets += holders.values()
    for linked_set in linked_sets:
        linked = sorted(linked_set)
        for u in linked[1:]:
            parent[root(u)] = root(linked[0])
    groups: dict = {}
    for u in units:
        groups.setdefault(root(u), []).append(u)
    return list(groups.values())


def has_rules(options: Options) -> bool:
    """Whether the scenario sets any fairness rule (so an empty unit still needs checking)."""
    sc = options.scenario
    return sc.coverage_floor > 0 or sc.core20_parity or sc.min_adoptions_per_trust > 0

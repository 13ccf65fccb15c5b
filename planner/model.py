"""Build the mixed-integer programme (MILP) of one planning run; building never solves.

Notation: options i = (trust t, product p) from :mod:`planner.economics`; ``x[i]`` binary
adoption; ``y[t]`` binary platform purchase; for a buying unit u and product p with tiered
prices, ``z[u,p,k]`` binary tier choice and ``w[u,p,k]`` the studies a year bought at tier k;
``m`` the lowest trust coverage. Each ``define_*`` function adds one family of constraints,
named ``family[key]``, and states its maths in its docstring; its optional ``table`` argument
is the build's :class:`TableRows` (the table's columns and row groups, read once), read anew
when not given.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import numpy as np
import pandas as pd
import pulp

from planner.economics import COST_TIE_BREAK, OptionFigures, Options, tier_index
from planner.equity_rules import adoption_targets, coverage_rules
from planner.errors import InfeasibleError, Problem, ScenarioError


@dataclass
class Model:
    """A built MILP and the handles needed to read a solution back or edit its figures.

    ``budget_rows`` holds each buying unit's budget row (when budgets are imposed), so a
    model handed to HiGHS can be given other costs in place (see :meth:`priced`).
    """

    prob: pulp.LpProblem
    options: Options
    x: list
    platform: dict = field(default_factory=dict)
    tier_vars: dict = field(default_factory=dict)
    min_coverage: pulp.LpVariable | None = None
    cost: pulp.LpAffineExpression | None = None
    unit_cost: dict = field(default_factory=dict)
    budget_rows: dict = field(default_factory=dict)

    def priced_columns(self) -> tuple[list, list]:
        """The columns :meth:`priced` gives figures for, and each one's budget row.

        The adoption binaries ``x`` in table order, then the tier volumes ``w`` of each
        purchase priced by tiers, by (buying unit, product) and tier.
        """
        layout = self._pricing()
        return layout[0], layout[1]

    def priced(self, figures: OptionFigures) -> tuple[np.ndarray, np.ndarray] | None:
        """The objective and budget coefficients of :meth:`priced_columns` under ``figures``.

        ``figures`` are other figures of the same options (see
        :class:`planner.economics.OptionFigures`); given the options' own, these are the
        coefficients :func:`build_model` set. An option's budget coefficient is its fixed
        cost plus, where its purchase has one price, its per-study cost; a tier volume's is
        its price (:func:`study_costs`); the objective is :func:`objective_coefficient`.

        Returns:
            (objective, budget) per column; None when the figures give a MILP of another
            shape: a purchase priced by tiers here and at one price there (or the other
            way), or a budget coefficient zero in one and not the other (PuLP leaves zeros
            out of a row).
        """
        columns, _, purchases, built_nonzero = self._pricing()
        if built_nonzero is False:  # a shared tier by per-holder volumes: rebuilt instead
            return None
        studies = self.options.table["studies_per_year"].to_numpy(float)
        arrays = self.options.tier_arrays()
        per_study = np.zeros(len(self.x))
        tiered = []
        for (_, product), rows, factor, by_tiers, discounts in purchases:
            got = study_costs(studies[rows], arrays[product][1], figures.prices[product], factor)
            if got.one_price == by_tiers:
                return None
            if discounts is not None:  # a tier shared by several holders (define_shared_tiers)
                costs = got.coefficients
                steps = costs[:-1] - costs[1:]
                if (steps < 0).any():
                    return None
                per_study[rows] = costs[0] * studies[rows]
                s = studies[[i for i, _ in discounts]]
                tiered.append(-steps[[k - 1 for _, k in discounts]] * s)
            elif by_tiers:
                tiered.append(got.coefficients)
            else:
                per_study[rows] = got.coefficients
        x_cost = figures.fixed_cost_gbp + per_study
        objective = [objective_coefficient(figures.weighted_benefit_gbp, x_cost)]
        objective += [objective_coefficient(0.0, c) for c in tiered]
        budget = np.concatenate([x_cost, *tiered])
        if built_nonzero is not None and not np.array_equal(budget != 0, built_nonzero):
            return None
        return np.concatenate(objective), budget

    def _pricing(self) -> tuple:
        """Columns, budget rows, purchases and the built budget row's non-zeros (built once)."""
        if getattr(self, "_layout", None) is None:
            options = self.options
            factors = options.table["study_factor"].to_numpy()
            rows = self.budget_rows
            table = TableRows(options)
            columns = list(self.x)
            budget_rows = [rows.get(unit) for unit in table.unit]
            purchases, shared = [], False
            for key, members in table.by_purchase.items():
                holders = {table.unit[i] for i in members}
                members = np.asarray(members)
                by_tiers = key in self.tier_vars
                factor = float(factors[members[0]])
                if by_tiers and len(holders) > 1:
                    # a tier shared by several money holders (see define_shared_tiers): its
                    # discount columns u[i,k], each in its option's holder's budget
                    discounts = list(self.tier_vars[key][1])
                    purchases.append((key, members, factor, by_tiers, discounts))
                    columns += list(self.tier_vars[key][1].values())
                    if discounts and isinstance(discounts[0][0], str):  # per-holder volumes
                        budget_rows += [None] * len(discounts)
                        shared = True
                    else:
                        budget_rows += [rows.get(table.unit[i]) for i, _ in discounts]
                    continue
                purchases.append((key, members, factor, by_tiers, None))
                if by_tiers:
                    volumes = self.tier_vars[key][1]
                    columns += [volumes[k] for k in sorted(volumes)]
                    budget_rows += [rows.get(holders.pop())] * len(volumes)
            self._layout = (columns, budget_rows, purchases, None)
            if shared:
                self._layout = (columns, budget_rows, purchases, False)
                return self._layout
            own = self.priced(options.figures())
            nonzero = None if own is None else own[1] != 0
            self._layout = (columns, budget_rows, purchases, nonzero)
        return self._layout


def affine(pairs) -> pulp.LpAffineExpression:
    """Sum (variable, coefficient) pairs into one expression.

    PuLP's constructor keeps only the last coefficient of a repeated variable, so repeats
    are added up here.
    """
    expr = pulp.LpAffineExpression()  # a dict of variable -> coefficient
    get = expr.get
    for var, coef in pairs:
        expr[var] = get(var, 0.0) + coef
    return expr


def add_row(prob: pulp.LpProblem, expr, sense: int, rhs: float, name: str) -> pulp.LpConstraint:
    """Add the row ``expr sense rhs`` named ``name`` (names are unique within a model)."""
    row = pulp.LpConstraint(expr, sense, name, rhs)
    prob.addConstraint(row)
    return row


def _grouped(keys) -> dict[object, list[int]]:
    """Row positions of each key: keys sorted, rows ascending (``groupby(sort=True).indices``)."""
    groups: dict = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    return {key: groups[key] for key in sorted(groups)}


class TableRows:
    """The options table's columns as plain lists, and its row groups, read once per build.

    A pandas group-by on string columns costs more than the few rows it groups on a planning
    table, so the model reads each column it needs once and groups rows with dicts: the same
    groups in the same order as ``table.groupby(..., sort=True).indices``. Rows are positions
    (the table has a range index).
    """

    def __init__(self, options: Options) -> None:
        t = options.table
        self.table = t
        self.trust: list[str] = t["trust"].tolist()
        self.product: list[str] = t["product"].tolist()
        self.unit: list[str] = t["unit"].tolist()
        self.tier_unit: list[str] = t["tier_unit"].tolist()
        self.studies: np.ndarray = t["studies_per_year"].to_numpy()

    @cached_property
    def by_trust(self) -> dict[str, list[int]]:
        """Rows of each trust."""
        return _grouped(self.trust)

    @cached_property
    def by_trust_use_case(self) -> dict[tuple[str, str], list[int]]:
        """Rows of each (trust, use case)."""
        return _grouped(zip(self.trust, self.table["use_case"].tolist(), strict=True))

    @cached_property
    def by_purchase(self) -> dict[tuple[str, str], list[int]]:
        """Rows of each purchase (purchase group, product): studies that reach a tier together.

        The group is the buying unit unless the route buys by another grouping.
        """
        return _grouped(zip(self.tier_unit, self.product, strict=True))


def table_rows(options: Options, rows: TableRows | None = None) -> TableRows:
    """``rows`` if given and of this table (one build shares them), else ``options`` read anew."""
    return rows if rows is not None and rows.table is options.table else TableRows(options)


def trust_column(options: Options, column: str) -> dict:
    """One column of ``options.trusts`` as a dict by trust code."""
    return dict(zip(options.trusts.index.tolist(), options.trusts[column].tolist(), strict=True))


def lock_rows(options: Options) -> tuple[list[int], list[int]]:
    """Return option rows forced in and forced out by the scenario's locks.

    Raises:
        ScenarioError: If a lock names a trust or product that is not in the dataset.
        InfeasibleError: If a lock forces in a product that cannot be bought here.
    """
    index = options.option_index()
    known_trusts = set(options.setup.unit_of_trust.index)  # every trust of the dataset
    trusts = set(options.trusts.index)  # the trusts planned here (one buying unit or all)
    products = set(options.tiers["product_code"])
    forced_in, forced_out, problems, reasons = [], [], [], []
    for i, lock in enumerate(options.scenario.locks):
        if lock.trust not in known_trusts:
            problems.append(
                Problem(
                    "scenario",
                    None,
                    f"locks[{i}].trust",
                    f"unknown trust {lock.trust!r}",
                    "use a trust code of the data",
                )
            )
            continue
        if lock.product not in products:
            problems.append(
                Problem(
                    "scenario",
                    None,
                    f"locks[{i}].product",
                    f"unknown product {lock.product!r}",
                    "use a product code of the catalogue",
                )
            )
            continue
        if lock.trust not in trusts:
            continue
        key = (lock.trust, lock.product)
        if key in index:
            (forced_in if lock.adopt else forced_out).append(index[key])
        elif lock.adopt and key not in options.existing:
            reasons.append(
                f"lock forces {options.names.product_label(lock.product)} at "
                f"{options.names.trust_label(lock.trust)}, but it cannot be bought there "
                f"under the {options.model} model (off the framework, no studies, its use "
                "case is already covered, or its contract would be signed after the horizon)"
            )
    if problems:
        raise ScenarioError(problems)
    if reasons:
        raise InfeasibleError(reasons)
    both = set(forced_in) & set(forced_out)
    if both:
        i = sorted(both)[0]
        r = options.table.iloc[i]
        names = options.names
        raise InfeasibleError(
            [
                f"{names.product_label(r['product'])} at {names.trust_label(r['trust'])} is "
                "locked both in and out"
            ]
        )
    return forced_in, forced_out


def define_adoption(prob: pulp.LpProblem, options: Options) -> list:
    """Adoption binaries ``x[i] in {0, 1}``; locks fix ``x[i] = 1`` (in) or ``0`` (out)."""
    forced_in, forced_out = lock_rows(options)
    x = prob.add_variable_dict("x", range(len(options.table)), cat="Binary")
    x = [x[i] for i in range(len(options.table))]
    for i in forced_in:
        x[i].lowBound = 1
    for i in forced_out:
        x[i].upBound = 0
    return x


def adoption_terms(x) -> list[list[tuple]]:
    """Per option row, the (variable, coefficient) pairs that sum to 1 when it is adopted.

    In this model one binary ``x[i]``; the rollout passes the signing binaries of every
    year instead, so the fairness rows below serve both models.
    """
    return [[(v, 1.0)] for v in x]


def define_use_case(prob, options: Options, adopted, table: TableRows | None = None) -> None:
    """At most one product per use case per trust: ``sum_{p in use case} x[t,p] <= 1``.

    ``adopted[i]`` stands for ``x[i]`` (see :func:`adoption_terms`).
    """
    for (tc, uc), rows in table_rows(options, table).by_trust_use_case.items():
        if len(rows) > 1:
            pairs = [pair for i in rows for pair in adopted[i]]
            add_row(prob, affine(pairs), pulp.LpConstraintLE, 1, f"use_case[{tc},{uc}]")


def define_capacity(prob, options: Options, adopted, table: TableRows | None = None) -> None:
    """IT integration capacity: ``sum_p x[t,p] <= it_capacity[t]``.

    ``adopted[i]`` stands for ``x[i]`` (see :func:`adoption_terms`).
    """
    cap = trust_column(options, "it_capacity")
    for tc, rows in table_rows(options, table).by_trust.items():
        if len(rows) > cap[tc]:
            pairs = [pair for i in rows for pair in adopted[i]]
            add_row(prob, affine(pairs), pulp.LpConstraintLE, float(cap[tc]), f"capacity[{tc}]")


def platform_rows(options: Options) -> pd.DataFrame:
    """Options whose product needs a deployment platform at a trust that has none."""
    t = options.table
    has = t["trust"].map(options.trusts["has_platform"]).astype(bool)
    return t[t["needs_platform"].astype(bool) & ~has]


def define_platform(prob, options: Options, x, table: TableRows | None = None) -> dict:
    """Deployment platform: ``x[t,p] <= y[t]`` for products that need it, at trusts without one.

    The rows of :func:`platform_rows`, in table order.
    """
    table = table_rows(options, table)
    has = trust_column(options, "has_platform")
    needs = options.table["needs_platform"].tolist()
    # a trust missing from ``options.trusts`` counts as having one, as NaN.astype(bool) does
    need = [i for i, tc in enumerate(table.trust) if needs[i] and not bool(has.get(tc, True))]
    trusts = sorted({table.trust[i] for i in need})
    y = prob.add_variable_dict("platform", trusts, cat="Binary") if trusts else {}
    for i in need:
        tc = table.trust[i]
        add_row(
            prob,
            affine([(x[i], 1), (y[tc], -1)]),
            pulp.LpConstraintLE,
            0,
            f"platform[{tc},{table.product[i]}]",
        )
    return y


def define_prerequisites(prob, options: Options, x, table: TableRows | None = None) -> None:
    """Prerequisites: ``x[t,p] <= x[t,q]`` where p needs q; ``x[t,p] = 0`` if q cannot be had.

    A prerequisite already in use at the trust is met without a constraint.
    """
    index = options.option_index()
    table = table_rows(options, table)
    pres = options.table["prerequisite"].tolist()
    for i, (tc, pc, pre) in enumerate(zip(table.trust, table.product, pres, strict=True)):
        if not pre or (tc, pre) in options.existing:
            continue
        j = index.get((tc, pre))
        if j is None:
            x[i].upBound = 0
        else:
            add_row(
                prob,
                affine([(x[i], 1), (x[j], -1)]),
                pulp.LpConstraintLE,
                0,
                f"prerequisite[{tc},{pc}]",
            )


def _all_close(values: np.ndarray, first: float) -> bool:
    """``np.allclose(values, first)`` (its default tolerances), without its overhead."""
    if not np.isfinite(values).all() or not np.isfinite(first):
        return bool(np.allclose(values, first))
    first = float(first)
    scale = 1e-5 * abs(first)
    return all(abs(v - first) <= 1e-8 + scale for v in values.tolist())


class StudyCosts(NamedTuple):
    """The per-study cost of one all-units purchase, as the MILP prices it.

    Attributes:
        potential: Studies a year of all its options together.
        reach: Tiers that volume reaches (1: the first only).
        one_price: Whether one price serves: one tier reached, or their prices all close.
        coefficients: With one price, ``price_0 s_i f`` per option i (on ``x[i]``); else
            ``price_k f`` per reachable tier k (on the tier's volume ``w[k]``).
    """

    potential: float
    reach: int
    one_price: bool
    coefficients: np.ndarray


def study_costs(studies, mins, prices, factor: float) -> StudyCosts:
    """How one purchase is priced in the MILP: see :class:`StudyCosts` and :func:`add_tier_batch`.

    ``studies`` are the options' studies a year, ``mins`` and ``prices`` the product's tiers
    and ``factor`` the present value of one study a year.
    """
    studies = np.asarray(studies, dtype=float)
    potential = float(studies.sum())
    reach = int(tier_index(mins, potential)) + 1  # tiers the whole potential volume reaches
    if reach <= 1 or _all_close(prices[:reach], prices[0]):
        return StudyCosts(potential, reach, True, float(prices[0]) * studies * factor)
    return StudyCosts(potential, reach, False, np.asarray(prices[:reach], dtype=float) * factor)


def add_tier_batch(prob, key: str, xs: list, studies, mins, prices, factor: float):
    """Add one all-units tiered purchase of the options ``xs``; return its per-study cost.

    ``sum_k w[k] = sum_i s[i] x[i]``, ``min_k z[k] <= w[k] <= next_k z[k]``,
    ``sum_k z[k] <= 1``; the cost is ``factor sum_k price_k w[k]``. Tiers the whole
    potential volume cannot reach are left out; one reachable price needs no tier variables
    (:func:`study_costs`).

    Returns:
        The (variable, coefficient) pairs of the cost, and the tier variables (z, w) or None.
    """
    studies = np.asarray(studies, dtype=float)
    potential, reach, one_price, costs = study_costs(studies, mins, prices, factor)
    if one_price:
        return list(zip(xs, costs.tolist(), strict=True)), None
    ks = list(range(reach))
    z = prob.add_variable_dict(f"tier[{key}]", ks, cat="Binary")
    w = prob.add_variable_dict(f"volume[{key}]", ks, lowBound=0)
    link = [(w[k], 1) for k in ks] + [(v, -s) for v, s in zip(xs, studies, strict=True)]
    add_row(prob, affine(link), pulp.LpConstraintEQ, 0, f"tier_volume[{key}]")
    add_row(prob, affine((z[k], 1) for k in ks), pulp.LpConstraintLE, 1, f"tier_choice[{key}]")
    pairs = []
    for k in ks:
        upper = float(mins[k + 1]) if k + 1 < reach else potential
        if mins[k] > 0:
            add_row(
                prob,
                affine([(w[k], 1), (z[k], -float(mins[k]))]),
                pulp.LpConstraintGE,
                0,
                f"tier_min[{key},{k + 1}]",
            )
        add_row(
            prob,
            affine([(w[k], 1), (z[k], -upper)]),
            pulp.LpConstraintLE,
            0,
            f"tier_max[{key},{k + 1}]",
        )
        pairs.append((w[k], float(costs[k])))
    return pairs, (z, w)


def define_tiers(prob, options: Options, x, table: TableRows | None = None) -> tuple[dict, dict]:
    """All-units volume discount per purchase (group g, product p), with tier binaries.

    With V[g,p] = sum_t s[t,p] x[t,p] the pooled studies a year of the trusts of purchase
    group g: ``sum_k w[g,p,k] = V[g,p]``, ``min_k z[g,p,k] <= w[g,p,k] <= next_k z[g,p,k]``,
    ``sum_k z[g,p,k] <= 1``; the per-study cost is ``f_p sum_k price_k w[g,p,k]`` (f_p: the
    present-value factor of a study a year from go-live), charged to the buying unit. Where
    the group's trusts hold money in several buying units, see :func:`define_shared_tiers`.
    Products with one price are linear.

    Returns:
        Per buying unit, the per-study cost expression pairs; per purchase, the tier
        variables.
    """
    table = table_rows(options, table)
    arrays = options.tier_arrays()
    cost_pairs: dict = defaultdict(list)
    tier_vars: dict = {}
    all_factors = options.table["study_factor"].to_numpy()
    all_studies = table.studies
    units = table.unit
    for (group, pc), rows in table.by_purchase.items():
        _, mins, prices = arrays[pc]
        holders = _grouped(units[i] for i in rows)
        factor = float(all_factors[rows[0]])
        if len(holders) > 1:
            by_holder = {u: [rows[j] for j in js] for u, js in holders.items()}
            tier = define_shared_tiers(
                prob, f"{group},{pc}", x, by_holder, all_studies, mins, prices, factor, cost_pairs
            )
        else:
            pairs, tier = add_tier_batch(
                prob, f"{group},{pc}", [x[i] for i in rows], all_studies[rows], mins, prices, factor
            )
            cost_pairs[units[rows[0]]] += pairs
        if tier is not None:
            tier_vars[(group, pc)] = tier
    return cost_pairs, tier_vars


def define_shared_tiers(
    prob, key: str, x, by_holder: dict, studies, mins, prices, factor: float, cost_pairs: dict
):
    """One all-units purchase whose tier is shared by several money holders (call-off).

    The trusts of purchase group g reach a tier together, but each buying unit (money
    holder) b pays for its own studies from its own budget, at the price of the tier the
    group's pooled studies ``V = sum_i s[i] x[i]`` reach. With prices that fall tier by tier
    (``d_k = price_{k-1} - price_k >= 0``) the price is ``price_0 - sum_{k>=1} d_k z[k]``,
    ``z[k]`` binary "tier k reached":

    - ``V >= min_k z[k]`` (a tier's discount only once its volume is reached);
    - per option i and tier k >= 1, ``u[i,k] <= x[i]`` and ``u[i,k] <= z[k]``, ``u >= 0``:
      ``u[i,k] = x[i] z[k]``, the option bought with tier k's discount;

    and holder b pays ``f sum_{i in b} s[i] (price_0 x[i] - sum_k d_k u[i,k])``. The
    objective takes every discount it may (``d_k >= 0``), so each holder pays the price of
    the highest tier reached, as one buyer of the whole group would: exact for all-units
    prices. (Per-holder volumes per tier, as :func:`add_tier_batch` has for one holder, are
    exact too, but their LP relaxation prices studies at a tier chosen a small fraction;
    HiGHS did not close the gap of England's framework route in a minute with them.) Where a
    price rises from one tier to the next, that formulation is used instead
    (:func:`_shared_tier_volumes`). With one reachable price it is linear (``price_0 s[i] f``
    on each ``x[i]``).

    Appends each holder's cost pairs to ``cost_pairs[b]``; returns the tier variables
    ``(z, u)`` or None.
    """
    rows = [i for members in by_holder.values() for i in members]
    potential, reach, one_price, costs = study_costs(studies[rows], mins, prices, factor)
    if one_price:
        coefficient = dict(zip(rows, costs.tolist(), strict=True))
        for b, members in by_holder.items():
            cost_pairs[b] += [(x[i], coefficient[i]) for i in members]
        return None
    steps = [float(costs[k - 1] - costs[k]) for k in range(1, reach)]
    if min(steps) < 0:
        return _shared_tier_volumes(
            prob, key, x, by_holder, studies, mins, costs, potential, cost_pairs
        )
    ks = list(range(1, reach))
    z = prob.add_variable_dict(f"tier[{key}]", ks, cat="Binary")
    volume = [(x[i], float(studies[i])) for i in rows]
    for k in ks:
        add_row(
            prob,
            affine([*volume, (z[k], -float(mins[k]))]),
            pulp.LpConstraintGE,
            0,
            f"tier_min[{key},{k + 1}]",
        )
    u = {}
    for b, members in by_holder.items():
        for i in members:
            s_i = float(studies[i])
            cost_pairs[b].append((x[i], float(costs[0]) * s_i))
            at = prob.add_variable_dict(f"discount[{key},{i}]", ks, lowBound=0)
            for k in ks:
                u[(i, k)] = at[k]
                cost_pairs[b].append((at[k], -steps[k - 1] * s_i))
                add_row(
                    prob,
                    affine([(at[k], 1), (x[i], -1)]),
                    pulp.LpConstraintLE,
                    0,
                    f"discount_bought[{key},{i},{k + 1}]",
                )
                add_row(
                    prob,
                    affine([(at[k], 1), (z[k], -1)]),
                    pulp.LpConstraintLE,
                    0,
                    f"discount_reached[{key},{i},{k + 1}]",
                )
    return z, u


def _shared_tier_volumes(prob, key, x, by_holder, studies, mins, costs, potential, cost_pairs):
    """:func:`define_shared_tiers` with per-holder volumes, for prices that rise with a tier.

    Per holder b and tier k, ``w[b,k] >= 0`` its studies bought at tier k:
    ``sum_k w[b,k] = sum_{i in b} s[i] x[i]``, ``sum_k z[k] <= 1``, ``min_k z[k] <=
    sum_b w[b,k] <= next_k z[k]`` and ``w[b,k] <= S_b z[k]`` (S_b: the holder's studies
    were it to buy every option); holder b pays ``f sum_k price_k w[b,k]``.
    """
    reach = len(costs)
    ks = list(range(reach))
    z = prob.add_variable_dict(f"tier[{key}]", ks, cat="Binary")
    w = {}
    for n, (b, members) in enumerate(by_holder.items()):
        own = prob.add_variable_dict(f"volume[{key},{n}]", ks, lowBound=0)
        link = [(own[k], 1) for k in ks] + [(x[i], -float(studies[i])) for i in members]
        add_row(prob, affine(link), pulp.LpConstraintEQ, 0, f"tier_volume[{key},{b}]")
        most = float(sum(studies[i] for i in members))
        for k in ks:
            w[(b, k)] = own[k]
            cost_pairs[b].append((own[k], float(costs[k])))
            add_row(
                prob,
                affine([(own[k], 1), (z[k], -most)]),
                pulp.LpConstraintLE,
                0,
                f"tier_share[{key},{b},{k + 1}]",
            )
    add_row(prob, affine((z[k], 1) for k in ks), pulp.LpConstraintLE, 1, f"tier_choice[{key}]")
    for k in ks:
        pooled = [(w[(b, k)], 1) for b in by_holder]
        upper = float(mins[k + 1]) if k + 1 < reach else potential
        if mins[k] > 0:
            add_row(
                prob,
                affine([*pooled, (z[k], -float(mins[k]))]),
                pulp.LpConstraintGE,
                0,
                f"tier_min[{key},{k + 1}]",
            )
        add_row(
            prob,
            affine([*pooled, (z[k], -upper)]),
            pulp.LpConstraintLE,
            0,
            f"tier_max[{key},{k + 1}]",
        )
    return z, w


def define_budget(
    prob,
    options: Options,
    x,
    y,
    study_cost: dict,
    budgets: pd.Series | None,
    table: TableRows | None = None,
):
    """Budget per buying unit: fixed costs + per-study costs + platforms <= budget[u].

    With ``budgets=None`` no budget is imposed (used to find the least money a scenario
    needs).

    Returns:
        The cost expression of each unit, and its budget row (none without budgets).
    """
    table = table_rows(options, table)
    fixed = options.table["fixed_cost_gbp"].tolist()
    pairs: dict = defaultdict(list)
    for i, (unit, c) in enumerate(zip(table.unit, fixed, strict=True)):
        pairs[unit].append((x[i], float(c)))
    for unit, more in study_cost.items():
        pairs[unit] += more
    if y:
        unit_of = trust_column(options, "unit")
        platform_gbp = trust_column(options, "platform_gbp")
        for tc, var in y.items():
            pairs[unit_of[tc]].append((var, float(platform_gbp[tc])))
    exprs, rows = {}, {}
    for unit in options.budgets.index:
        expr = affine(pairs.get(unit, []))
        exprs[unit] = expr
        if budgets is not None:
            rhs = float(budgets[unit])
            rows[unit] = add_row(prob, expr, pulp.LpConstraintLE, rhs, f"budget[{unit}]")
    return exprs, rows


def coverage_terms(options: Options, x, trust: str, rows) -> tuple[list, float, float]:
    """Covered studies of a trust as expression pairs, plus its existing and addressable studies."""
    s = options.table["studies_per_year"].to_numpy()
    tr = options.trusts.loc[trust]
    return (
        [(x[i], float(s[i])) for i in rows],
        float(tr["existing_studies"]),
        float(tr["addressable_studies"]),
    )


def define_coverage_rules(prob, options: Options, adopted, table: TableRows | None = None) -> None:
    """Coverage floors and Core20 parity (see :mod:`planner.equity_rules`).

    Each rule ``sum_t a[t] coverage[t] >= rhs`` becomes
    ``sum_t (a[t] / addressable[t]) sum_p s[t,p] x[t,p] >= rhs - sum_t a[t] existing[t] /
    addressable[t]``, multiplied through by the rule's addressable studies (so the row is in
    studies, like the other rows); a per-trust floor is the special case ``a[t] = 1``.
    ``adopted[i]`` stands for ``x[i]`` (see :func:`adoption_terms`).
    """
    rules = coverage_rules(options)
    if not rules:
        return
    table = table_rows(options, table)
    groups = table.by_trust
    s = table.studies
    for rule in rules:
        per_study, rhs = rule.row(options)
        pairs = [
            (v, c * coef * float(s[i]))
            for t, coef in per_study.items()
            for i in groups.get(t, [])
            for v, c in adopted[i]
        ]
        add_row(prob, affine(pairs), pulp.LpConstraintGE, rhs, rule.name)


def define_min_adoptions(prob, options: Options, adopted, table: TableRows | None = None) -> None:
    """Minimum new adoptions: ``sum_p x[t,p] >= target[t]`` (see ``adoption_targets``).

    ``adopted[i]`` stands for ``x[i]`` (see :func:`adoption_terms`).
    """
    if options.scenario.min_adoptions_per_trust <= 0:
        return  # no targets (adoption_targets gives 0 for every trust)
    groups = table_rows(options, table).by_trust
    for tc, n in adoption_targets(options).items():
        if n > 0:
            pairs = [pair for i in groups.get(tc, []) for pair in adopted[i]]
            add_row(prob, affine(pairs), pulp.LpConstraintGE, float(n), f"min_adoptions[{tc}]")


def define_maximin(prob, options: Options, x, table: TableRows | None = None):
    """Lowest coverage ``m <= (existing[t] + sum_p s[t,p] x[t,p]) / addressable[t]`` for all t."""
    if options.scenario.maximin_weight_gbp <= 0:
        return None
    m = prob.add_variable("min_coverage", 0, 1)
    table = table_rows(options, table)
    groups = table.by_trust
    s = table.studies
    existing_of = trust_column(options, "existing_studies")
    addressable_of = trust_column(options, "addressable_studies")
    for tc in options.trusts.index.tolist():
        # as coverage_terms, read from dicts
        pairs = [(x[i], float(s[i])) for i in groups.get(tc, [])]
        existing, addressable = float(existing_of[tc]), float(addressable_of[tc])
        if addressable <= 0:
            continue
        expr = affine([(v, c / addressable) for v, c in pairs] + [(m, -1)])
        add_row(prob, expr, pulp.LpConstraintGE, -existing / addressable, f"maximin[{tc}]")
    return m


def build_model(
    options: Options, budgets: pd.Series | None = "scenario", minimise_cost: bool = False
) -> Model:
    """Build the MILP for ``options``.

    Args:
        options: The options table.
        budgets: Budget per buying unit; ``"scenario"`` uses ``options.budgets``; ``None``
            imposes no budget.
        minimise_cost: Minimise total cost instead of maximising benefit (used to find the
            least money that meets the locks and floors).

    Objective (maximised): ``sum_i weight[t] benefit[i] x[i] + maximin_weight * m
    - 1e-6 * cost`` (the last term only breaks ties in favour of the cheaper plan).
    """
    if isinstance(budgets, str):
        budgets = options.budgets
    sense = pulp.LpMinimize if minimise_cost else pulp.LpMaximize
    prob = pulp.LpProblem("adoption_plan", sense)
    table = TableRows(options)
    x = define_adoption(prob, options)
    adopted = adoption_terms(x)
    define_use_case(prob, options, adopted, table)
    define_capacity(prob, options, adopted, table)
    y = define_platform(prob, options, x, table)
    define_prerequisites(prob, options, x, table)
    study_cost, tier_vars = define_tiers(prob, options, x, table)
    unit_cost, budget_rows = define_budget(prob, options, x, y, study_cost, budgets, table)
    define_coverage_rules(prob, options, adopted, table)
    define_min_adoptions(prob, options, adopted, table)
    m = None if minimise_cost else define_maximin(prob, options, x, table)
    cost = affine(pair for expr in unit_cost.values() for pair in expr.items())
    if minimise_cost:
        prob.setObjective(affine(cost.items()))
    else:
        w = options.table["weighted_benefit_gbp"].tolist()
        pairs = [(v, objective_coefficient(float(w[i]), cost.get(v, 0.0))) for i, v in enumerate(x)]
        adoption = set(x)
        pairs += [(v, objective_coefficient(0.0, c)) for v, c in cost.items() if v not in adoption]
        if m is not None:
            pairs.append((m, options.scenario.maximin_weight_gbp))
        prob.setObjective(affine(pairs))
    return Model(prob, options, x, y, tier_vars, m, cost, unit_cost, budget_rows)


def objective_coefficient(weighted_benefit_gbp, cost_gbp):
    """A column's coefficient in the plan's objective (maximised), numbers or arrays.

    Its weighted benefit less :data:`COST_TIE_BREAK` times its cost coefficient: among plans
    of equal benefit the cheaper wins.
    """
    return weighted_benefit_gbp + (-COST_TIE_BREAK) * cost_gbp

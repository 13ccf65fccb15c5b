"""Present-value cost and benefit of every (trust, product) option under one procurement model.

The result is the *options table*: one row per (trust, product) a trust could adopt, with
its studies, benefit, fixed costs and the factor that turns a per-study price into a present
value. The optimiser, the evaluator and the greedy baseline all read this one table, so they
share one arithmetic.

Timing (monthly, discounted at the scenario rate): the contract is signed after the route's
lead time; licence and platform running costs are paid from then to the end of the horizon;
implementation and platform set-up are paid at signature; studies are read, paid for per
study and yield benefit from go-live (signature plus the product's implementation months).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planner.data import Dataset
from planner.deprivation import (
    SHARE_COLUMNS,
    core20_population,
    equity_weights,
    population_mix,
    trust_quintile,
)
from planner.errors import Problem, ScenarioError
from planner.formatting import Names
from planner.procurement import BuyingSetup, buying_setup, unit_names
from planner.scenario import Scenario
from planner.schema import MODALITY_COLUMN

#: Objective tie-break: among plans of equal benefit prefer the cheaper (pounds per pound).
COST_TIE_BREAK = 1e-6
#: Studies a year by which a pooled volume may fall short of a tier threshold and reach it.
TIER_TOLERANCE = 1e-9


def tier_index(thresholds, volume) -> np.ndarray:
    """Index of the all-units tier a pooled volume reaches (0 = the first tier).

    The highest tier whose threshold the volume meets prices every study. ``thresholds``
    are a product's ascending minimum studies a year (the last axis); ``volume`` broadcasts
    against the other axes, so one call serves a single purchase, a product's tiers in the
    MILP or every coalition of a cost-sharing game.
    """
    volume = np.asarray(volume, dtype=float)[..., None]
    reached = volume + TIER_TOLERANCE >= np.asarray(thresholds, dtype=float)
    return np.maximum(reached.sum(axis=-1) - 1, 0)


def ramped_annuity(start_months, ramp_months: float, horizon_years: int, rate: float):
    """Present value of £1 a year, paid monthly from ``start_months`` to the horizon's end.

    The flow ramps up linearly from 0 to full over ``ramp_months`` (0: full from the
    start). Partial months count pro rata; nothing is paid once the horizon has passed.
    """
    start = np.atleast_1d(np.asarray(start_months, dtype=float))
    months = np.arange(1, 12 * horizon_years + 1, dtype=float)
    discount = (1.0 + rate) ** (-months / 12.0)
    elapsed = months[None, :] - start[:, None]
    if ramp_months > 0:
        # average level over month m: integral of min(t / ramp, 1) over (m-1, m] after start
        def level_integral(t):
            t = np.clip(t, 0.0, None)
            return np.where(t <= ramp_months, t * t / (2 * ramp_months), t - ramp_months / 2)

        level = level_integral(elapsed) - level_integral(elapsed - 1.0)
    else:
        level = np.clip(elapsed, 0.0, 1.0)
    return (level * discount[None, :]).sum(axis=1) / 12.0


def annuity_from(start_months, horizon_years: int, rate: float) -> np.ndarray:
    """Present value of £1 a year paid monthly from ``start_months`` to the horizon's end."""
    return ramped_annuity(start_months, 0.0, horizon_years, rate)


def discount_at(months, rate: float) -> np.ndarray:
    """Discount factor of a payment made ``months`` from now."""
    return (1.0 + rate) ** (-np.asarray(months, dtype=float) / 12.0)


@dataclass(frozen=True)
class ContractValues:
    """Present values of contracts signed at one moment, per option.

    Attributes:
        go_live_months: Months from now to go-live (signature plus implementation).
        implementation_gbp: Implementation, paid at signature.
        licence_gbp: Licence, paid monthly from signature to the horizon's end.
        study_factor: Present value of one study a year from go-live to the horizon's end.
    """

    go_live_months: np.ndarray
    implementation_gbp: np.ndarray
    licence_gbp: np.ndarray
    study_factor: np.ndarray


def contract_costs(
    implementation_price, licence_per_year, signed_months, scenario
) -> tuple[np.ndarray, np.ndarray]:
    """Present values of contracts signed at ``signed_months`` from now: (implementation, licence).

    Implementation is paid at signature, the licence monthly from signature to the horizon's
    end.
    """
    rate, horizon = scenario.discount_rate, scenario.horizon_years
    return (
        np.asarray(implementation_price, dtype=float) * float(discount_at(signed_months, rate)),
        np.asarray(licence_per_year, dtype=float)
        * float(annuity_from(signed_months, horizon, rate)[0]),
    )


def contract_values(
    implementation_price, licence_per_year, implementation_months, signed_months, scenario
) -> ContractValues:
    """Present values of signing at ``signed_months`` from now (the route's lead time included).

    The one cost timing of the package: the single-period options sign at the route's lead
    time; the rollout signs the same contracts a whole number of years later.
    """
    go_live, study_factor = contract_timing(implementation_months, signed_months, scenario)
    implementation, licence = contract_costs(
        implementation_price, licence_per_year, signed_months, scenario
    )
    return ContractValues(go_live, implementation, licence, study_factor)


def contract_timing(
    implementation_months, signed_months, scenario
) -> tuple[np.ndarray, np.ndarray]:
    """Months to go-live of contracts signed at ``signed_months`` from now, and a study factor.

    The study factor is the present value of one study a year from go-live to the horizon's
    end.
    """
    go_live = signed_months + np.asarray(implementation_months, dtype=float)
    return go_live, annuity_from(go_live, scenario.horizon_years, scenario.discount_rate)


def platform_value(scenario: Scenario, route, signed_months: float) -> float:
    """Present value of a trust's imaging AI platform bought at ``signed_months`` from now.

    Set-up is paid at signature, running costs monthly to the horizon's end; the route pays
    its share of both.
    """
    rate = scenario.discount_rate
    return (
        scenario.platform_setup_gbp * float(discount_at(signed_months, rate))
        + scenario.platform_gbp_per_year
        * float(annuity_from(signed_months, scenario.horizon_years, rate)[0])
    ) * route.platform_share


def coverage_share(covered, addressable):
    """Share of addressable studies read by AI: ``covered / addressable``.

    The one coverage formula of the package. Works on numbers, arrays and Series (a Series
    keeps its index); where nothing is addressable the share is NaN, not zero, so a trust
    with no studies neither drags a minimum down nor counts as covered.
    """
    num = np.asarray(covered, dtype=float)
    den = np.asarray(addressable, dtype=float)
    out = np.divide(num, den, out=np.full(np.broadcast(num, den).shape, np.nan), where=den > 0)
    if isinstance(addressable, pd.Series):
        return pd.Series(out, index=addressable.index)
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class ProductFigures:
    """The product figures the options' money is worked out from.

    They are the figures a draw of the uncertainty analysis varies. Per product in the
    products table's order, except ``price_per_study_gbp``: the list price of each row of
    the price tiers table.
    """

    qalys_per_1000: np.ndarray
    minutes_saved_per_study: np.ndarray
    implementation_gbp: np.ndarray
    licence_gbp_per_year: np.ndarray
    price_per_study_gbp: np.ndarray

    @classmethod
    def of(cls, dataset: Dataset) -> ProductFigures:
        """The dataset's own figures."""
        p = dataset.products
        return cls(
            p["qalys_per_1000"].to_numpy(float),
            p["minutes_saved_per_study"].to_numpy(float),
            p["implementation_gbp"].to_numpy(float),
            p["licence_gbp_per_year"].to_numpy(float),
            dataset.price_tiers["price_per_study_gbp"].to_numpy(float),
        )


@dataclass(frozen=True)
class OptionBasis:
    """What each option's money is worked out from besides the product figures.

    Per option row: ``product`` (its position in the products table), ``studies_per_year``,
    ``study_factor`` (present value of one study a year from go-live), the trust's
    ``vacancy_rate`` and ``equity_weight``; ``tier_codes`` is the product code of each row
    of the price tiers table.
    """

    product: np.ndarray
    studies_per_year: np.ndarray
    study_factor: np.ndarray
    vacancy_rate: np.ndarray
    equity_weight: np.ndarray
    tier_codes: np.ndarray

    def take(self, rows) -> OptionBasis:
        """The basis of some option rows only."""
        return OptionBasis(
            self.product[rows],
            self.studies_per_year[rows],
            self.study_factor[rows],
            self.vacancy_rate[rows],
            self.equity_weight[rows],
            self.tier_codes,
        )


@dataclass(frozen=True)
class OptionMoney:
    """The options' money under some product figures (see :func:`option_money`).

    Attributes:
        columns: Per option row, the options table's columns of that name: health_gbp,
            time_gbp, benefit_gbp, annual_benefit_gbp, weighted_benefit_gbp,
            implementation_price_gbp, licence_price_gbp, implementation_gbp, licence_gbp,
            fixed_cost_gbp.
        tier_prices: Per row of the price tiers table, the price per study after the
            route's discount depth.
    """

    columns: dict[str, np.ndarray]
    tier_prices: np.ndarray


@dataclass(frozen=True)
class OptionFigures:
    """The figures of the options that a plan's score and the MILP's objective and budget read.

    ``benefit_gbp``, ``weighted_benefit_gbp`` and ``fixed_cost_gbp`` per option row, and
    ``prices``: per product, its price per study by tier (as :meth:`Options.tier_arrays`).
    """

    benefit_gbp: np.ndarray
    weighted_benefit_gbp: np.ndarray
    fixed_cost_gbp: np.ndarray
    prices: dict[str, np.ndarray]

    def take(self, rows) -> OptionFigures:
        """The figures of some option rows only (as :meth:`Options.for_units` takes them)."""
        return OptionFigures(
            self.benefit_gbp[rows],
            self.weighted_benefit_gbp[rows],
            self.fixed_cost_gbp[rows],
            self.prices,
        )


@dataclass
class Options:
    """Everything the optimiser and the evaluator need, for one dataset, scenario and model.

    Attributes:
        model: The procurement model.
        table: One row per (trust, product) option (see module docstring for columns).
        trusts: One row per trust: ics, unit, population, imd_score, imd_quintile,
            core20_share, core20_population, the population mix across national IMD
            quintiles (imd_q1_share .. imd_q5_share, as used), equity_weight, it_capacity,
            addressable and existing-covered studies, platform cost.
        tiers: Effective price tiers per product: product_code, tier, min_studies_per_year,
            price_per_study_gbp (after the route's discount depth).
        budgets: Budget per buying unit.
        setup: The buying setup.
        existing: (trust, product) pairs already in use.
        scenario: The scenario the table was built from.
        names: Names of the trusts, products and ICSs, for messages.
        basis: What the money columns of :attr:`table` were worked out from, so that
            :func:`option_money` can work them out again under other product figures
            (:func:`build_options` sets it; None elsewhere).
    """

    model: str
    table: pd.DataFrame
    trusts: pd.DataFrame
    tiers: pd.DataFrame
    budgets: pd.Series
    setup: BuyingSetup
    existing: frozenset
    scenario: Scenario
    names: Names = field(default_factory=Names)
    basis: OptionBasis | None = None

    def tier_arrays(self) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per product: (tier numbers, minimum studies a year, price per study), by tier."""
        if not hasattr(self, "_tier_arrays"):
            tier = self.by_product(self.tiers["tier"].to_numpy())
            mins = self.by_product(self.tiers["min_studies_per_year"].to_numpy(float))
            price = self.by_product(self.tiers["price_per_study_gbp"].to_numpy(float))
            self._tier_arrays = {code: (tier[code], mins[code], price[code]) for code in tier}
        return self._tier_arrays

    def by_product(self, values: np.ndarray) -> dict[str, np.ndarray]:
        """Values given per row of :attr:`tiers`, split by product (rows kept in table order)."""
        order, spans = self._tiers_by_product()
        values = np.asarray(values)[order]
        return {code: values[a:b] for code, a, b in spans}

    def _tiers_by_product(self) -> tuple[np.ndarray, list]:
        """The order of :attr:`tiers` by product, and each product's span in it (built once)."""
        if not hasattr(self, "_tier_split"):
            codes = self.tiers["product_code"].to_numpy(dtype=object)
            order = np.argsort(codes, kind="stable")  # by product, rows in table order
            codes = codes[order]
            cuts = np.flatnonzero(codes[1:] != codes[:-1]) + 1 if len(codes) else []
            starts = np.r_[0, cuts].astype(int)
            ends = np.r_[cuts, len(codes)].astype(int)
            spans = [(codes[a], a, b) for a, b in zip(starts, ends, strict=True) if b > a]
            self._tier_split = (order, spans)
        return self._tier_split

    def figures(self, money: OptionMoney | None = None) -> OptionFigures:
        """The options' figures: the table's own, or those of ``money`` (same rows)."""
        if money is None:
            t = self.table
            return OptionFigures(
                t["benefit_gbp"].to_numpy(),
                t["weighted_benefit_gbp"].to_numpy(),
                t["fixed_cost_gbp"].to_numpy(),
                {code: a[2] for code, a in self.tier_arrays().items()},
            )
        c = money.columns
        return OptionFigures(
            c["benefit_gbp"],
            c["weighted_benefit_gbp"],
            c["fixed_cost_gbp"],
            self.by_product(money.tier_prices),
        )

    def standalone_cost(self) -> np.ndarray:
        """Cost of each option bought on its own: fixed costs plus its studies at tier 1."""
        t = self.table
        first = np.array([self.tier_arrays()[p][2][0] for p in t["product"]], dtype=float)
        per_study = first * t["studies_per_year"].to_numpy() * t["study_factor"].to_numpy()
        return t["fixed_cost_gbp"].to_numpy() + per_study

    def buyable_use_cases(self) -> pd.Series:
        """Use cases each trust can still buy for (built once).

        Options not locked out whose prerequisite the trust holds, or can buy and is not
        locked out of.
        """
        if not hasattr(self, "_buyable"):
            t = self.table
            out = {(lk.trust, lk.product) for lk in self.scenario.locks if not lk.adopt}
            index = self.option_index()

            def can(tc: str, pc: str, pre: str) -> bool:
                if (tc, pc) in out:
                    return False
                if not pre or (tc, pre) in self.existing:
                    return True
                return (tc, pre) in index and (tc, pre) not in out

            pairs = zip(t["trust"], t["product"], t["prerequisite"], strict=True)
            ok = np.array([can(*k) for k in pairs], dtype=bool)
            counts = t[ok].groupby("trust")["use_case"].nunique()
            self._buyable = counts.reindex(self.trusts.index).fillna(0).astype(int)
        return self._buyable

    def option_index(self) -> dict[tuple[str, str], int]:
        """Map (trust, product) to row position in :attr:`table` (built once)."""
        if not hasattr(self, "_option_index"):
            pairs = zip(self.table["trust"].tolist(), self.table["product"].tolist(), strict=True)
            self._option_index = {k: i for i, k in enumerate(pairs)}
        return self._option_index

    def unit_rows(self) -> dict:
        """Map each buying unit to the positions of its rows in :attr:`table` (built once)."""
        if not hasattr(self, "_unit_rows"):
            self._unit_rows = (
                pd.Series(np.arange(len(self.table))).groupby(self.table["unit"].to_numpy()).indices
            )
        return self._unit_rows

    def rows_of(self, units) -> np.ndarray:
        """Positions of the rows of some buying units in :attr:`table`, in table order."""
        by_unit = self.unit_rows()
        parts = [by_unit[u] for u in units if u in by_unit]
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=int)

    def for_units(self, units) -> Options:
        """Return the options of some buying units only (rows renumbered from 0).

        Buying units share no constraint, so without a maximin term the plan of each unit
        can be found on its own and the plans put together.
        """
        units = list(units)
        table = self.table.take(self.rows_of(units)).reset_index(drop=True)
        trusts = self.trusts[self.trusts["unit"].isin(units).to_numpy()]
        kept = set(trusts.index)
        part = Options(
            self.model,
            table,
            trusts,
            self.tiers,
            self.budgets[self.budgets.index.isin(units)],
            self.setup,
            frozenset(k for k in self.existing if k[0] in kept),
            self.scenario,
            self.names,
            None if self.basis is None else self.basis.take(self.rows_of(units)),
        )
        part._tier_arrays = self.tier_arrays()
        part._tier_split = self._tiers_by_product()
        return part


def per_study_value(qalys_per_1000, minutes_saved_per_study, scenario: Scenario, vacancy):
    """Pounds of health gain and of radiologist time per study read (two arrays).

    ``vacancy`` is the radiologist vacancy rate of the trust reading the studies.
    """
    health = np.asarray(qalys_per_1000) / 1000.0 * scenario.qaly_value_gbp
    hour = scenario.radiologist_hour_gbp * (1.0 + scenario.vacancy_premium * vacancy)
    time = np.asarray(minutes_saved_per_study) / 60.0 * hour
    return health, time


def route_prices(list_prices: np.ndarray, tier_codes: np.ndarray, route) -> np.ndarray:
    """Each tier's price per study after the route's discount depth.

    A depth of 1 keeps the list tiers; 0 prices every tier at its product's first tier (no
    volume discount). Rows are the price tiers table's, sorted by product then tier.
    """
    first = list_prices[_group_starts(tier_codes)]
    return first - route.volume_discount_depth * (first - list_prices)


def option_money(
    basis: OptionBasis, figures: ProductFigures, scenario: Scenario, route
) -> OptionMoney:
    """The options' money: present-value benefit and costs, and the route's tier prices.

    The one arithmetic of the options' money: :func:`build_options` writes it into the
    options table, and the uncertainty analysis works it out again per draw of the product
    figures (see :mod:`planner.uncertainty`). Benefit is studies a year times the value of
    a study (health gain at the QALY value plus radiologist time) times the study factor;
    the fixed cost is the route's share of implementation (at signature) and licence (from
    signature to the horizon's end), signed after the route's lead time.
    """
    p = basis.product
    implementation_price = figures.implementation_gbp[p] * route.implementation_share
    licence_price = figures.licence_gbp_per_year[p] * route.licence_share
    implementation, licence = contract_costs(
        implementation_price, licence_price, float(route.lead_time_months), scenario
    )
    health_ps, time_ps = per_study_value(
        figures.qalys_per_1000[p], figures.minutes_saved_per_study[p], scenario, basis.vacancy_rate
    )
    studies, factor = basis.studies_per_year, basis.study_factor
    health = studies * health_ps * factor
    time_value = studies * time_ps * factor
    benefit = health + time_value
    columns = {
        "health_gbp": health,
        "time_gbp": time_value,
        "implementation_gbp": implementation,
        "licence_gbp": licence,
        "implementation_price_gbp": implementation_price,
        "licence_price_gbp": licence_price,
        "benefit_gbp": benefit,
        "annual_benefit_gbp": studies * (health_ps + time_ps),
        "weighted_benefit_gbp": benefit * basis.equity_weight,
        "fixed_cost_gbp": implementation + licence,
    }
    return OptionMoney(columns, route_prices(figures.price_per_study_gbp, basis.tier_codes, route))


#: The settings behind each computed figure: named when a figure is not a finite number.
_FIGURE_SETTINGS = {
    "equity_weight": (
        "the equity weights",
        ("inequality_aversion", "qale_least_deprived_years", "qale_gap_years"),
    ),
    "health_gbp": ("the health benefit", ("qaly_value_gbp", "horizon_years", "discount_rate")),
    "time_gbp": (
        "the value of radiologist time",
        ("radiologist_hour_gbp", "vacancy_premium", "horizon_years", "discount_rate"),
    ),
    "implementation_gbp": ("the implementation cost", ("discount_rate",)),
    "licence_gbp": ("the licence cost", ("horizon_years", "discount_rate")),
    "platform_gbp": (
        "the platform cost",
        ("platform_setup_gbp", "platform_gbp_per_year", "horizon_years", "discount_rate"),
    ),
}


def check_finite(figures: dict[str, np.ndarray], scenario: Scenario) -> None:
    """Refuse figures that overflowed (inf or nan), naming the settings they come from.

    The scenario's bounds keep every figure finite for valid data; this is the backstop, so
    an overflow is reported as the setting behind it, never as a solver failure.

    Raises:
        ScenarioError: One problem per figure that is not finite.
    """
    problems = []
    for column, values in figures.items():
        if np.isfinite(np.asarray(values, dtype=float)).all():
            continue
        what, names = _FIGURE_SETTINGS[column]
        given = ", ".join(f"{n} = {getattr(scenario, n):g}" for n in names)
        problems.append(
            Problem(
                "scenario",
                None,
                names[0],
                f"{what} is too large to compute with {given}",
                "give smaller values of these settings",
            )
        )
    if problems:
        raise ScenarioError(problems)


def _plain(values: np.ndarray):
    """A numpy column as is; text as a pandas object column, not an Arrow string column."""
    if values.dtype == object:
        return pd.Series(values, dtype=object, copy=False)
    return values


def _group_starts(codes: np.ndarray) -> np.ndarray:
    """Position of the first row of each row's run of equal codes (rows sorted by code)."""
    n = len(codes)
    starts = np.ones(n, dtype=bool)
    if n > 1:
        starts[1:] = codes[1:] != codes[:-1]
    return np.maximum.accumulate(np.where(starts, np.arange(n), 0))


def _addressable(by_pair: np.ndarray, use_case: np.ndarray) -> np.ndarray:
    """Studies a year of each trust (row) that AI could read.

    Per use case, its largest product's studies; summed over use cases in name order by a
    pandas group sum, as a ``groupby`` over the options would (the same float sums).
    """
    cases = sorted(set(use_case.tolist()))
    if not cases:
        return np.zeros(by_pair.shape[0])
    largest = np.column_stack([by_pair[:, use_case == uc].max(axis=1) for uc in cases])
    trust = np.repeat(np.arange(by_pair.shape[0]), len(cases))
    return pd.Series(largest.ravel()).groupby(trust).sum().to_numpy()


#: The options table's columns, in order (see the module docstring).
TABLE_COLUMNS = (
    "trust",
    "product",
    "ics",
    "unit",
    "tier_unit",
    "use_case",
    "modality",
    "studies_per_year",
    "go_live_months",
    "health_gbp",
    "time_gbp",
    "equity_weight",
    "implementation_gbp",
    "licence_gbp",
    "study_factor",
    "implementation_price_gbp",
    "licence_price_gbp",
    "implementation_months",
    "needs_platform",
    "prerequisite",
    "benefit_gbp",
    "annual_benefit_gbp",
    "weighted_benefit_gbp",
    "fixed_cost_gbp",
)


def build_options(dataset: Dataset, scenario: Scenario, model: str | None = None) -> Options:
    """Build the options table for ``model`` (default: the scenario's model)."""
    model = model or scenario.model
    route = scenario.route(model)
    setup = buying_setup(dataset, scenario, model)
    trusts = dataset.trusts
    products = dataset.products

    # every (trust, product) pair, in trust then product order, by position (ti, pi)
    n_t, n_p = len(trusts), len(products)
    ti = np.repeat(np.arange(n_t), n_p)
    pi = np.tile(np.arange(n_p), n_t)
    tcodes = trusts.index.to_numpy()[ti]
    pcodes = products.index.to_numpy()[pi]
    modality = products["modality"].to_numpy()
    volume = np.zeros((n_t, n_p))
    for name, col in MODALITY_COLUMN.items():
        of_modality = modality == name
        volume[:, of_modality] = trusts[col].to_numpy()[:, None]
    by_pair = volume * products["applicable_share"].to_numpy()[None, :]
    studies = by_pair.ravel()

    use_case = products["use_case"].to_numpy()
    use_case_of = dict(zip(products.index, use_case, strict=True))
    existing = set(
        zip(dataset.deployments["trust_code"], dataset.deployments["product_code"], strict=True)
    )
    existing_uc = {(tc, use_case_of[pc]) for tc, pc in existing}
    # coverage counts against the full catalogue, so it is comparable across models
    addressable = pd.Series(_addressable(by_pair, use_case), index=trusts.index)
    covered_existing = pd.Series(0.0, index=trusts.index)
    t_pos = {tc: i for i, tc in enumerate(trusts.index)}
    p_pos = {pc: i for i, pc in enumerate(products.index)}
    for tc, pc in sorted(existing):  # sorted: float sums must not depend on set order
        covered_existing[tc] += float(by_pair[t_pos[tc], p_pos[pc]])

    lead = float(route.lead_time_months)
    implementation_months = products["implementation_months"].to_numpy().astype(float)[pi]
    go_live, study_factor = contract_timing(implementation_months, lead, scenario)
    mix = population_mix(trusts, scenario)
    quintile = trust_quintile(trusts, scenario)
    weight = equity_weights(mix, scenario)

    keep = np.array(
        [(tc, uc) not in existing_uc for tc, uc in zip(tcodes, use_case[pi], strict=True)],
        dtype=bool,
    )
    if route.framework_only:
        keep &= products["framework"].to_numpy().astype(bool)[pi]
    keep &= studies > 0
    if lead >= 12 * scenario.horizon_years:  # the contract would be signed after the horizon
        keep[:] = False

    pair_weight = weight.to_numpy()[ti]
    basis = OptionBasis(
        pi,
        studies,
        study_factor,
        trusts["vacancy_rate"].to_numpy()[ti],
        pair_weight,
        dataset.price_tiers["product_code"].to_numpy(),
    ).take(keep)
    money = option_money(basis, ProductFigures.of(dataset), scenario, route)
    kept = {
        "trust": tcodes,
        "product": pcodes,
        "ics": trusts["ics_code"].to_numpy()[ti],
        "unit": setup.unit_of_trust.to_numpy()[ti],
        "tier_unit": setup.tier_unit_of_trust.to_numpy()[ti],
        "use_case": use_case[pi],
        "modality": modality[pi],
        "studies_per_year": studies,
        "go_live_months": go_live,
        "equity_weight": pair_weight,
        "study_factor": study_factor,
        "implementation_months": implementation_months,
        "needs_platform": products["needs_platform"].to_numpy().astype(bool)[pi],
        "prerequisite": products["prerequisite"].fillna("").to_numpy()[pi],
    }
    kept = {k: np.broadcast_to(v, keep.shape)[keep] for k, v in kept.items()}
    columns = {**kept, **money.columns}
    # text columns stay numpy objects: the optimiser, the evaluator and the plan tables read
    # them as plain Python strings many times a solve (pandas' Arrow strings convert on each)
    table = pd.DataFrame({k: _plain(columns[k]) for k in TABLE_COLUMNS})

    platform_cost = platform_value(scenario, route, lead)
    check_finite(
        {
            **{c: table[c].to_numpy() for c in _FIGURE_SETTINGS if c in table},
            "equity_weight": weight.to_numpy(),
            "platform_gbp": np.array([platform_cost]),
        },
        scenario,
    )
    trust_frame = pd.DataFrame(
        {
            "ics": trusts["ics_code"],
            "unit": setup.unit_of_trust,
            "tier_unit": setup.tier_unit_of_trust,
            "population": trusts["population"].astype(float),
            "imd_score": trusts["imd_score"],
            "imd_quintile": quintile,
            "core20_share": trusts["core20_share"].astype(float),
            "core20_population": core20_population(trusts, mix, scenario),
            **{col: mix[q] for q, col in zip(mix.columns, SHARE_COLUMNS, strict=True)},
            "equity_weight": weight,
            "it_capacity": trusts["it_capacity"].astype(int),
            "addressable_studies": addressable.reindex(trusts.index).fillna(0.0),
            "existing_studies": covered_existing,
            "has_platform": trusts["has_platform"].astype(bool),
            "platform_gbp": np.where(trusts["has_platform"], 0.0, platform_cost),
        }
    )
    trust_frame.index.name = "trust"

    tiers = dataset.price_tiers.copy()
    tiers["price_per_study_gbp"] = money.tier_prices
    return Options(
        model,
        table,
        trust_frame,
        tiers,
        setup.budgets,
        setup,
        frozenset(existing),
        scenario,
        unit_names(dataset),
        basis,
    )

"""Fair cost sharing in a pooled deal: who pays what of a plan's pooled cost.

A pooled plan (the ``ics`` model) buys for several trusts at once: their pooled studies
reach cheaper all-units price tiers, and the route's shared project teams, licences and
platform cut the fixed costs (``implementation_share``, ``licence_share``,
``platform_share``). :func:`share_costs` splits each pool's cost among its trusts by several
rules and checks each split against what going alone would cost each trust.

**The pool.** A pool is a buying unit (money holder) of the plan: each ICS under ``ics`` and
``central``, each imaging network under ``network``, the nation under ``central_pot`` (one
national pool, the trusts its players), each trust under ``local`` and ``framework`` (a pool
of one, so every rule gives the trust its own cost). The plan's adoptions are fixed; only the
bill is shared. Where a route's price tiers are reached by a wider purchase group than the
pool (``framework``, ``central``: national tiers), the studies the rest of the group buys in
the plan count towards the tier every pooled coalition reaches.

**The game.** The players of a pool are its trusts that adopt something. The cost ``c(S)`` of
a coalition ``S`` is what buying exactly ``S``'s adoptions (and the deployment platforms its
trusts need) would cost as one buyer:

- per product, every study is priced at the all-units tier that ``S``'s pooled studies a
  year reach;
- a coalition of two or more buying trusts (or the whole pool, whatever its size, as the
  planner prices it) pays the fixed costs and platforms at the plan route's shares and
  realises its volume discount depth; a trust alone pays them at the ``local`` route's shares
  and prices (its stand-alone cost);
- ``c(empty) = 0``.

A trust that buys nothing brings no contract to a pool, so it is not a player: it cannot turn
a lone buyer into a "pool" and be credited with the saving. It is a null player whose
Shapley share is 0 (the population rule still charges it; the stand-alone test then flags
it). The grand coalition's cost equals the pool's cost in the plan, as scored by
:func:`planner.evaluate.evaluate` (checked on every call).

**Timing.** Every coalition, stand-alone trusts included, is costed with the plan route's
timing (its lead time, hence the same go-live months and months of licence and studies), so
coalitions differ only in prices and shares. The stand-alone test then compares the cost of
the *same* products over the *same* months. Costing a trust alone at the ``local`` route's
shorter lead time would also buy it more months of service (and benefit), which makes going
alone look dearer for a reason that is not a price. :func:`standalone_scenario` is the
scenario whose ``local`` options give these stand-alone costs.

**The rules.** For each pool, the pooled cost ``c(N)`` is split

- ``shapley``: each trust's Shapley value, its average marginal cost over every order in
  which the trusts could join, ``phi_i = sum_{S not containing i} |S|! (n-|S|-1)! / n! x
  (c(S + i) - c(S))``: exact (all ``2^n`` coalitions) for up to :data:`EXACT_MAX_TRUSTS`
  buying trusts, otherwise estimated from random joining orders (see below);
- ``benefit``: in proportion to each trust's present-value benefit in the plan (by
  population if the pool has no benefit);
- ``population``: in proportion to catchment population, over all the pool's trusts;
- ``own_adoptions``: what the plan itself charges each trust: its own adoptions at the pooled
  tier and shares, and its platform (the evaluator's per-trust cost), for reference.

**The stand-alone test.** For every rule and trust: ``stand_alone_gbp`` is ``c({t})`` (the
trust's own adoptions bought alone under the ``local`` route's terms; 0 for a trust that buys
nothing; in a pool with a single buying trust, which the plan prices on the pooled terms, it
is still the cost alone, not ``c(N)``), ``saving_gbp = stand_alone_gbp - share_gbp``, and
``pays_more_than_alone`` flags a share above the stand-alone cost by more than
:data:`TOLERANCE_GBP`. Passing it is necessary for a split to be stable (no trust would
rather leave), not sufficient (that is the core: every coalition, not just each trust alone,
must pay no more than ``c(S)``).

**Sampling and its error.** Beyond :data:`EXACT_MAX_TRUSTS` players the Shapley value is the
mean of the trusts' marginal costs over random joining orders (``numpy.random.default_rng``
seeded by ``seed`` and the pool's code, so a pool's figures do not depend on the other pools),
drawn in antithetic pairs (an order and its reverse: a trust that joins early in one joins
late in the other, which trims the variance a little: 5 to 10% off the standard errors on a
generated 13-trust pool). Each order's marginal costs sum to ``c(N)`` exactly, so
the estimated shares do too. Each share is reported with its standard error (the standard
deviation of the pair means over the square root of the number of pairs); the stand-alone
flag is read on the estimate, so a share within a few standard errors of the stand-alone cost
is a close call.

**Departments.** Each adoption's cost in the plan (with its trust's platform cost spread over
the trust's adoptions that need the platform, in proportion to their benefit) is split
between radiology, which buys it, and the departments where its benefit lands, by the
product's ``downstream_share``: costs follow benefits, so ``radiology = cost x (1 -
downstream_share)`` and ``downstream = cost x downstream_share``.
"""

from __future__ import annotations

import dataclasses
import math
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from planner.data import Dataset
from planner.economics import Options, build_options, tier_index
from planner.errors import PlannerError
from planner.formatting import plural, pounds
from planner.plan import Plan, clean
from planner.scenario import Scenario
from planner.sheets import write_csv_frame, write_xlsx_sheets

#: Largest number of buying trusts in a pool whose Shapley value is computed exactly.
EXACT_MAX_TRUSTS = 12
#: Exact enumeration is refused above this many players (2^20 coalitions).
MAX_EXACT_LIMIT = 20
#: A share above the stand-alone cost by more than this (pounds) is flagged.
TOLERANCE_GBP = 0.5
#: The rules, in display order.
RULES = ("shapley", "benefit", "population", "own_adoptions")
RULE_NAMES = {
    "shapley": "Shapley value",
    "benefit": "By benefit",
    "population": "By population",
    "own_adoptions": "Own adoptions (as planned)",
}
_BATCH = 16384  # coalitions costed at once


@dataclass(frozen=True)
class PoolGame:
    """The pooled purchasing game of one pool: the data :func:`coalition_cost` needs.

    Players are the pool's trusts that adopt something, in code order; products are those
    any player adopts. Money is present value in pounds.

    Attributes:
        pool: The buying unit (an ICS code under ``ics``).
        model: The plan's procurement model (whose route a pool buys under).
        players: Codes of the trusts that adopt something.
        others: Codes of the pool's trusts that adopt nothing (null players).
        products: Codes of the products adopted in the pool.
        studies: Studies a year, players x products (0 where not adopted).
        weighted_studies: Studies a year times the study present-value factor.
        fixed_pooled: Per player: implementation, licences and platform at the pooled
            route's shares.
        fixed_alone: The same at the ``local`` route's shares.
        thresholds: Per product, the tiers' minimum studies a year (padded with infinity).
        prices_pooled: Per product and tier, the price per study under the pooled route.
        prices_alone: The same under the ``local`` route.
        outside: Per product, studies a year the plan buys in the pool's purchase group
            outside the pool (other money holders calling off the same tier: ``framework``
            and ``central``); they count towards the tier a pooled coalition reaches.
    """

    pool: str
    model: str
    players: tuple[str, ...]
    others: tuple[str, ...]
    products: tuple[str, ...]
    studies: np.ndarray
    weighted_studies: np.ndarray
    fixed_pooled: np.ndarray
    fixed_alone: np.ndarray
    thresholds: np.ndarray
    prices_pooled: np.ndarray
    prices_alone: np.ndarray
    outside: np.ndarray | None = None

    @property
    def n(self) -> int:
        """Number of players."""
        return len(self.players)

    def costs(self, members: np.ndarray) -> np.ndarray:
        """Return ``c(S)`` for a batch of coalitions.

        Args:
            members: Boolean array, coalitions x players.

        Returns:
            The cost of each coalition (0 for the empty one).
        """
        members = np.asarray(members, dtype=bool).reshape(-1, self.n)
        out = np.empty(len(members))
        for start in range(0, len(members), _BATCH):
            out[start : start + _BATCH] = self._costs(members[start : start + _BATCH])
        return out

    def _costs(self, members: np.ndarray) -> np.ndarray:
        m = members.astype(float)
        size = members.sum(axis=1)
        pooled = (size >= 2) | (size == self.n)
        volume = m @ self.studies
        if self.outside is not None:  # the rest of the purchase group, bought as planned
            volume = volume + np.where(pooled[:, None], self.outside[None, :], 0.0)
        weighted = m @ self.weighted_studies
        k = tier_index(self.thresholds, volume)  # all-units tier of each pooled purchase
        cols = np.arange(len(self.products))[None, :]
        price = np.where(pooled[:, None], self.prices_pooled[cols, k], self.prices_alone[cols, k])
        fixed = np.where(pooled, m @ self.fixed_pooled, m @ self.fixed_alone)
        cost = (price * weighted).sum(axis=1) + fixed
        return np.where(size > 0, cost, 0.0)

    def mask(self, trusts: Iterable[str]) -> np.ndarray:
        """Return the coalition of ``trusts`` as a boolean vector over the players.

        Trusts of the pool that adopt nothing are accepted and ignored (they add no cost).

        Raises:
            KeyError: If a code is not a trust of this pool.
        """
        out = np.zeros(self.n, dtype=bool)
        position = {t: i for i, t in enumerate(self.players)}
        for t in trusts:
            if t in position:
                out[position[t]] = True
            elif t not in self.others:
                raise KeyError(f"{t} is not a trust of pool {self.pool}")
        return out


def coalition_cost(game: PoolGame, trusts: Iterable[str]) -> float:
    """Return ``c(S)``: the cost of buying exactly the adoptions of ``trusts`` together.

    Args:
        game: The pool's game (from :func:`pool_games`).
        trusts: Trust codes of the coalition.

    Returns:
        Present-value cost in pounds: the pooled route's terms for two or more buying trusts
        (or the whole pool), the ``local`` route's terms for one, 0 for none.
    """
    return float(game.costs(game.mask(trusts)[None, :])[0])


def stand_alone_cost(game: PoolGame, trust: str) -> float:
    """Return what ``trust`` would pay for its own adoptions bought alone (``local`` terms).

    This is ``c({trust})`` whenever the pool has two or more buying trusts; a pool with one
    buying trust still buys on the pooled route's terms in the plan, and this is the cost it
    would have had alone. 0 for a trust that adopts nothing.
    """
    m = game.mask([trust])
    if not m.any():
        return 0.0
    i = int(np.flatnonzero(m)[0])
    k = tier_index(game.thresholds, game.studies[i])
    price = game.prices_alone[np.arange(len(game.products)), k]
    return float((price * game.weighted_studies[i]).sum() + game.fixed_alone[i])


def standalone_scenario(scenario: Scenario, model: str | None = None) -> Scenario:
    """Return the scenario whose ``local`` options price a trust going alone.

    The ``local`` route keeps its shares and discount depth but takes the pooled route's lead
    time (so the same months of service are costed) and is not restricted to framework
    products (so every product the pool bought can be priced alone).
    """
    pooled = scenario.route(model)
    local = dataclasses.replace(
        scenario.route("local"), lead_time_months=pooled.lead_time_months, framework_only=False
    )
    return scenario.replace(procurement={**scenario.procurement, "local": local})


def _tier_matrix(options: Options, products: list[str]) -> tuple[np.ndarray, np.ndarray]:
    arrays = options.tier_arrays()
    depth = max((len(arrays[p][1]) for p in products), default=1)
    thresholds = np.full((len(products), depth), np.inf)
    prices = np.zeros((len(products), depth))
    for j, p in enumerate(products):
        _, mins, price = arrays[p]
        thresholds[j, : len(mins)] = mins
        prices[j, : len(price)] = price
        prices[j, len(price) :] = price[-1]
    return thresholds, prices


def pool_games(dataset: Dataset, plan: Plan) -> dict[str, PoolGame]:
    """Build the pooled purchasing game of every pool (buying unit) of ``plan``.

    Args:
        dataset: The dataset the plan was solved on.
        plan: The plan (any model; see the module docstring for what a pool is).

    Returns:
        The games keyed by pool code, in code order.

    Raises:
        PlannerError: If an adoption of the plan is not an option of ``dataset``.
    """
    model = plan.model
    pooled = build_options(dataset, plan.scenario, model)
    alone = build_options(dataset, standalone_scenario(plan.scenario, model), "local")
    idx_p, idx_a = pooled.option_index(), alone.option_index()
    pairs = list(zip(plan.adoptions["trust"], plan.adoptions["product"], strict=True))
    missing = [f"{p} at {t}" for t, p in pairs if (t, p) not in idx_p or (t, p) not in idx_a]
    if missing:
        raise PlannerError(
            "the plan does not belong to this dataset: "
            + ", ".join(missing[:5])
            + " not options under its model"
        )
    tp, ta = pooled.table, alone.table
    rows_p = np.array([idx_p[k] for k in pairs], dtype=int)
    rows_a = np.array([idx_a[k] for k in pairs], dtype=int)
    chosen = pd.DataFrame(
        {
            "trust": [t for t, _ in pairs],
            "product": [p for _, p in pairs],
            "studies": tp["studies_per_year"].to_numpy()[rows_p],
            "weighted": (tp["studies_per_year"] * tp["study_factor"]).to_numpy()[rows_p],
            "fixed_pooled": tp["fixed_cost_gbp"].to_numpy()[rows_p],
            "fixed_alone": ta["fixed_cost_gbp"].to_numpy()[rows_a],
            "needs_platform": tp["needs_platform"].to_numpy()[rows_p],
        }
    )
    games = {}
    unit_of = pooled.trusts["unit"]
    group_of = pooled.trusts["tier_unit"]
    chosen["group"] = chosen["trust"].map(group_of).to_numpy()
    for pool in sorted(unit_of.unique(), key=str):
        trusts = sorted(unit_of.index[unit_of == pool], key=str)
        groups = set(group_of[trusts].tolist())
        if len(groups) > 1:
            raise PlannerError(
                f"cost sharing needs each pool to reach price tiers as one: buying unit {pool} "
                f"of the {model} route spans {len(groups)} purchase groups"
            )
        mine = chosen[chosen["trust"].isin(trusts)]
        players = sorted(mine["trust"].unique(), key=str)
        products = sorted(mine["product"].unique(), key=str)
        pi = {t: i for i, t in enumerate(players)}
        pj = {p: j for j, p in enumerate(products)}
        studies = np.zeros((len(players), len(products)))
        weighted = np.zeros_like(studies)
        fixed_pooled = np.zeros(len(players))
        fixed_alone = np.zeros(len(players))
        for r in mine.itertuples(index=False):
            i, j = pi[r.trust], pj[r.product]
            studies[i, j] = r.studies
            weighted[i, j] = r.weighted
            fixed_pooled[i] += r.fixed_pooled
            fixed_alone[i] += r.fixed_alone
        needs = set(mine.loc[mine["needs_platform"], "trust"])
        for t in needs:
            fixed_pooled[pi[t]] += float(pooled.trusts.at[t, "platform_gbp"])
            fixed_alone[pi[t]] += float(alone.trusts.at[t, "platform_gbp"])
        thresholds, prices_pooled = _tier_matrix(pooled, products)
        _, prices_alone = _tier_matrix(alone, products)
        rest = chosen[(chosen["group"] == groups.pop()) & ~chosen["trust"].isin(trusts)]
        by_product = rest.groupby("product")["studies"].sum()
        outside = np.array([float(by_product.get(p, 0.0)) for p in products])
        games[str(pool)] = PoolGame(
            pool=str(pool),
            model=model,
            players=tuple(str(t) for t in players),
            others=tuple(str(t) for t in trusts if t not in pi),
            products=tuple(str(p) for p in products),
            studies=studies,
            weighted_studies=weighted,
            fixed_pooled=fixed_pooled,
            fixed_alone=fixed_alone,
            thresholds=thresholds,
            prices_pooled=prices_pooled,
            prices_alone=prices_alone,
            outside=outside if outside.any() else None,
        )
    return games


def shapley_exact(game: PoolGame) -> np.ndarray:
    """Return each player's exact Shapley value, enumerating all ``2^n`` coalitions.

    Raises:
        ValueError: If the game has more than :data:`MAX_EXACT_LIMIT` players.
    """
    n = game.n
    if n == 0:
        return np.zeros(0)
    if n > MAX_EXACT_LIMIT:
        raise ValueError(
            f"exact Shapley values of {n} trusts need 2^{n} coalitions; "
            f"at most {MAX_EXACT_LIMIT} trusts are enumerated"
        )
    codes = np.arange(2**n)
    members = ((codes[:, None] >> np.arange(n)[None, :]) & 1).astype(bool)
    cost = game.costs(members)
    size = members.sum(axis=1)
    weight = np.array(
        [math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n) for s in range(n)]
    )
    phi = np.empty(n)
    for i in range(n):
        without = codes[~members[:, i]]
        phi[i] = float((weight[size[without]] * (cost[without | (1 << i)] - cost[without])).sum())
    return phi


def shapley_sampled(
    game: PoolGame, permutations: int = 2000, seed: int = 2026
) -> tuple[np.ndarray, np.ndarray, int]:
    """Estimate each player's Shapley value from random joining orders (antithetic pairs).

    Args:
        game: The pool's game.
        permutations: Number of joining orders (rounded up to an even number: each random
            order is used with its reverse).
        seed: Seed; the pool's code is mixed in, so each pool has its own stream.

    Returns:
        The estimated shares (summing to ``c(N)``), their standard errors, and the number of
        orders used.
    """
    n = game.n
    pairs = max(int(math.ceil(permutations / 2)), 2)
    if n == 0:
        return np.zeros(0), np.zeros(0), 2 * pairs
    rng = np.random.default_rng([int(seed), zlib.crc32(game.pool.encode("utf-8"))])
    orders = np.argsort(rng.random((pairs, n)), axis=1)
    pair_sum = np.zeros((pairs, n))
    steps = np.arange(n)
    for order_set in (orders, orders[:, ::-1]):
        chunk = max(1, _BATCH // n)
        for start in range(0, pairs, chunk):
            block = order_set[start : start + chunk]
            rank = np.argsort(block, axis=1)  # position at which each player joins
            prefix = rank[:, None, :] <= steps[None, :, None]  # orders x steps x players
            cost = game.costs(prefix.reshape(-1, n)).reshape(len(block), n)
            marginal_at_step = np.diff(cost, axis=1, prepend=0.0)
            pair_sum[start : start + chunk] += np.take_along_axis(marginal_at_step, rank, axis=1)
    pair_mean = pair_sum / 2.0
    estimate = pair_mean.mean(axis=0)
    error = pair_mean.std(axis=0, ddof=1) / math.sqrt(pairs)
    return estimate, error, 2 * pairs


@dataclass
class CostShare:
    """How each pool's cost is shared among its trusts, and between departments.

    Attributes:
        model: The plan's procurement model.
        by_trust: One row per (pool, trust, rule): pool, ics, trust, trust_name, rule,
            buys (whether the trust adopts anything), share_gbp, share_of_pool,
            standard_error_gbp (of sampled Shapley shares; 0 otherwise), stand_alone_gbp,
            saving_gbp, saving_share, pays_more_than_alone.
        pools: One row per pool: trusts, buying_trusts, adoptions, pooled_cost_gbp,
            stand_alone_total_gbp, pooling_saving_gbp, shapley_method (exact, sampled or
            none), permutations, max_standard_error_gbp, and per rule the number of trusts
            that pay more than alone.
        departments: One row per adoption: its cost in the plan, its share of the trust's
            platform, the total, downstream_share, radiology_gbp and downstream_gbp.
        department_totals: One row per trust: cost_gbp, radiology_gbp, downstream_gbp,
            downstream_share.
        summary: Key figures: pooled cost, methods, largest standard error, flags per rule,
            the overall department split.
        timings: Wall-clock seconds per pool (kept out of :meth:`to_dict`).
    """

    model: str
    by_trust: pd.DataFrame
    pools: pd.DataFrame
    departments: pd.DataFrame
    department_totals: pd.DataFrame
    summary: dict
    timings: dict = field(default_factory=dict)

    def wide(self) -> pd.DataFrame:
        """Return one row per trust: each rule's share, the stand-alone cost and the flags."""
        b = self.by_trust
        keys = ["pool", "ics", "trust", "trust_name"]
        share = b.pivot(index=keys, columns="rule", values="share_gbp")
        flags = b.pivot(index=keys, columns="rule", values="pays_more_than_alone")
        out = pd.DataFrame(index=share.index)
        for rule in RULES:
            out[f"{rule}_gbp"] = share[rule]
        se = b[b["rule"] == "shapley"].set_index(keys)["standard_error_gbp"]
        out["shapley_standard_error_gbp"] = se
        alone = b[b["rule"] == "shapley"].set_index(keys)["stand_alone_gbp"]
        out["stand_alone_gbp"] = alone
        for rule in RULES:
            out[f"{rule}_pays_more"] = flags[rule].astype(bool)
        return out.reset_index().sort_values(["pool", "trust"]).reset_index(drop=True)

    def sheets(self) -> dict[str, pd.DataFrame]:
        """Return the tables to export, by sheet name."""
        return {
            "cost_share_pools": self.pools,
            "cost_share": self.by_trust,
            "cost_share_departments": self.departments,
            "cost_share_department_totals": self.department_totals,
        }

    def to_dict(self) -> dict:
        """Return the cost sharing as plain JSON-safe data (no wall-clock times)."""
        return clean(
            {
                "model": self.model,
                "summary": self.summary,
                "pools": self.pools.to_dict(orient="records"),
                "by_trust": self.by_trust.to_dict(orient="records"),
                "departments": self.departments.to_dict(orient="records"),
                "department_totals": self.department_totals.to_dict(orient="records"),
            }
        )

    def write_csv(self, out_dir: str | Path) -> list[Path]:
        """Write each table as a CSV file in ``out_dir`` (formula-like text neutralised)."""
        written = []
        for name, frame in self.sheets().items():
            path = Path(out_dir) / f"{name}.csv"
            write_csv_frame(frame, path)
            written.append(path)
        return written

    def write_xlsx(self, path: str | Path) -> None:
        """Write the tables as sheets of one workbook (formula-like text neutralised)."""
        write_xlsx_sheets(self.sheets(), path)


def _shares(weights: pd.Series, total: float) -> pd.Series:
    s = float(weights.sum())
    if s <= 0:
        return pd.Series(total / max(len(weights), 1), index=weights.index)
    return weights / s * total


def _departments(dataset: Dataset, plan: Plan, unit_of: pd.Series) -> pd.DataFrame:
    a = plan.adoptions
    products = dataset.products
    ev_trusts = plan.evaluation.trusts
    needs = a["product"].map(products["needs_platform"]).astype(bool).to_numpy()
    platform = np.zeros(len(a))
    for t, rows in a.groupby("trust").groups.items():
        pos = a.index.get_indexer(rows)
        pos = pos[needs[pos]]
        cost = float(ev_trusts.at[t, "platform_cost_gbp"]) if t in ev_trusts.index else 0.0
        if cost == 0.0 or len(pos) == 0:
            continue
        benefit = a["benefit_gbp"].to_numpy()[pos].clip(min=0)
        w = benefit / benefit.sum() if benefit.sum() > 0 else np.full(len(pos), 1 / len(pos))
        platform[pos] = cost * w
    share = a["product"].map(products["downstream_share"]).astype(float).to_numpy()
    total = a["cost_gbp"].to_numpy(float) + platform
    out = pd.DataFrame(
        {
            "pool": a["trust"].map(unit_of).astype(str).to_numpy(),
            "ics": a["ics"].to_numpy(),
            "trust": a["trust"].to_numpy(),
            "trust_name": a["trust_name"].to_numpy(),
            "product": a["product"].to_numpy(),
            "product_name": a["product_name"].to_numpy(),
            "use_case": a["use_case"].to_numpy(),
            "cost_gbp": a["cost_gbp"].to_numpy(float),
            "platform_gbp": platform,
            "total_gbp": total,
            "downstream_share": share,
            "radiology_gbp": total * (1.0 - share),
            "downstream_gbp": total * share,
        }
    )
    return out.sort_values(["pool", "trust", "product"]).reset_index(drop=True)


def share_costs(
    dataset: Dataset,
    plan: Plan,
    *,
    permutations: int = 2000,
    seed: int = 2026,
    exact_up_to: int = EXACT_MAX_TRUSTS,
) -> CostShare:
    """Split each pool's cost in ``plan`` among its trusts and between departments.

    Args:
        dataset: The dataset the plan was solved on.
        plan: A plan from :func:`planner.solve` (the ``ics`` model is the pooled deal; see
            the module docstring for ``central`` and ``local``).
        permutations: Joining orders sampled for pools with more than ``exact_up_to``
            buying trusts.
        seed: Seed of the sampling.
        exact_up_to: Largest number of buying trusts whose Shapley value is enumerated
            exactly (at most :data:`MAX_EXACT_LIMIT`).

    Returns:
        The cost sharing (see :class:`CostShare`).

    Raises:
        ValueError: If ``exact_up_to`` exceeds :data:`MAX_EXACT_LIMIT` or ``permutations``
            is below 2.
        PlannerError: If the plan does not belong to the dataset, or the game's pooled cost
            disagrees with the plan's (an internal check).
    """
    if exact_up_to > MAX_EXACT_LIMIT:
        raise ValueError(f"exact_up_to must be at most {MAX_EXACT_LIMIT}, got {exact_up_to}")
    if permutations < 2:
        raise ValueError(f"permutations must be at least 2, got {permutations}")
    games = pool_games(dataset, plan)
    ev_trusts = plan.evaluation.trusts
    unit_of = ev_trusts["unit"]
    unit_cost = ev_trusts.groupby("unit")["cost_gbp"].sum()
    names = dataset.trusts["trust_name"]
    rows, pool_rows, timings = [], [], {}
    for pool, game in games.items():
        started = time.perf_counter()
        trusts = sorted(unit_of.index[unit_of == pool], key=str)
        everyone = game.mask(game.players)
        pooled_cost = float(game.costs(everyone[None, :])[0]) if game.n else 0.0
        planned = float(unit_cost.get(pool, 0.0))
        if abs(pooled_cost - planned) > 1e-6 * max(1.0, abs(planned)) + 1e-3:
            raise PlannerError(
                f"internal check failed: pool {pool} costs £{pooled_cost:,.2f} in the game "
                f"but £{planned:,.2f} in the plan"
            )
        if game.n == 0:
            phi, se, method, used = np.zeros(0), np.zeros(0), "none", 0
        elif game.n <= exact_up_to:
            phi, se, method, used = shapley_exact(game), np.zeros(game.n), "exact", 0
        else:
            phi, se, used = shapley_sampled(game, permutations, seed)
            method = "sampled"
        position = {t: i for i, t in enumerate(game.players)}
        shapley = pd.Series(
            [phi[position[t]] if t in position else 0.0 for t in trusts], index=trusts
        )
        errors = pd.Series([se[position[t]] if t in position else 0.0 for t in trusts], trusts)
        alone = pd.Series([stand_alone_cost(game, t) for t in trusts], index=trusts)
        pop = ev_trusts.loc[trusts, "population"].astype(float)
        benefit = ev_trusts.loc[trusts, "benefit_gbp"].astype(float)
        by_rule = {
            "shapley": shapley,
            "benefit": _shares(benefit, pooled_cost)
            if benefit.sum() > 0
            else _shares(pop, pooled_cost),
            "population": _shares(pop, pooled_cost),
            "own_adoptions": ev_trusts.loc[trusts, "cost_gbp"].astype(float),
        }
        flags = {}
        for rule in RULES:
            share = by_rule[rule]
            pays_more = share - alone > TOLERANCE_GBP
            flags[rule] = int(pays_more.sum())
            for t in trusts:
                saving = float(alone[t] - share[t])
                rows.append(
                    {
                        "pool": pool,
                        "ics": str(ev_trusts.at[t, "ics"]),
                        "trust": t,
                        "trust_name": names.get(t, t),
                        "rule": rule,
                        "buys": t in position,
                        "share_gbp": float(share[t]),
                        "share_of_pool": float(share[t]) / pooled_cost if pooled_cost else 0.0,
                        "standard_error_gbp": float(errors[t]) if rule == "shapley" else 0.0,
                        "stand_alone_gbp": float(alone[t]),
                        "saving_gbp": saving,
                        "saving_share": saving / float(alone[t]) if alone[t] > 0 else np.nan,
                        "pays_more_than_alone": bool(pays_more[t]),
                    }
                )
        pool_rows.append(
            {
                "pool": pool,
                "trusts": len(trusts),
                "buying_trusts": game.n,
                "adoptions": int((game.studies > 0).sum()),
                "pooled_cost_gbp": pooled_cost,
                "stand_alone_total_gbp": float(alone.sum()),
                "pooling_saving_gbp": float(alone.sum()) - pooled_cost,
                "shapley_method": method,
                "permutations": used,
                "max_standard_error_gbp": float(se.max()) if len(se) else 0.0,
                **{f"{rule}_pays_more": flags[rule] for rule in RULES},
            }
        )
        timings[pool] = time.perf_counter() - started
    by_trust = pd.DataFrame(rows)
    if len(by_trust):
        by_trust["rule"] = pd.Categorical(by_trust["rule"], categories=RULES, ordered=True)
        by_trust = by_trust.sort_values(["pool", "trust", "rule"]).reset_index(drop=True)
        by_trust["rule"] = by_trust["rule"].astype(str)
    pools = pd.DataFrame(pool_rows)
    departments = _departments(dataset, plan, unit_of)
    totals = (
        departments.groupby("trust")[["total_gbp", "radiology_gbp", "downstream_gbp"]]
        .sum()
        .reindex(ev_trusts.index, fill_value=0.0)
        .rename(columns={"total_gbp": "cost_gbp"})
    )
    totals.insert(0, "trust_name", names.reindex(totals.index).to_numpy())
    totals.insert(0, "ics", ev_trusts["ics"].astype(str).to_numpy())
    totals.insert(0, "pool", unit_of.astype(str).to_numpy())
    totals["downstream_share"] = totals["downstream_gbp"] / totals["cost_gbp"].where(
        totals["cost_gbp"] > 0
    )
    totals.index.name = "trust"
    totals = totals.reset_index().sort_values(["pool", "trust"]).reset_index(drop=True)
    sampled = pools[pools["shapley_method"] == "sampled"] if len(pools) else pools
    summary = {
        "model": plan.model,
        "pooled_cost_gbp": float(pools["pooled_cost_gbp"].sum()) if len(pools) else 0.0,
        "stand_alone_total_gbp": float(pools["stand_alone_total_gbp"].sum()) if len(pools) else 0.0,
        "pools": len(pools),
        "methods": dict(zip(pools.get("pool", []), pools.get("shapley_method", []), strict=True)),
        "exact_up_to": exact_up_to,
        "permutations": int(sampled["permutations"].max()) if len(sampled) else 0,
        "seed": seed,
        "max_standard_error_gbp": float(pools["max_standard_error_gbp"].max())
        if len(pools)
        else 0.0,
        "pays_more_than_alone": {
            rule: int(pools[f"{rule}_pays_more"].sum()) if len(pools) else 0 for rule in RULES
        },
        "radiology_gbp": float(departments["radiology_gbp"].sum()),
        "downstream_gbp": float(departments["downstream_gbp"].sum()),
    }
    return CostShare(plan.model, by_trust, pools, departments, totals, summary, timings)


def shapley_method_text(methods: dict, max_standard_error_gbp: float | None) -> str:
    """How the Shapley values were found, in one sentence (exact, or sampled and how well).

    Args:
        methods: ``exact`` or ``sampled`` per pool (the summary's ``methods``).
        max_standard_error_gbp: The largest standard error of a sampled share.
    """
    sampled = sorted(p for p, m in methods.items() if m != "exact")
    if not methods:
        return "No pooled deal to share."
    if not sampled:
        where = "the pool" if len(methods) == 1 else f"all {plural(len(methods), 'pool')}"
        return f"Shapley values are exact for {where} (every group of trusts costed)."
    return (
        f"Shapley values are estimated by sampling orders of joining for "
        f"{plural(len(sampled), 'pool')} of {len(methods)} (too many trusts to cost every "
        f"group); the largest standard error of a share is {pounds(max_standard_error_gbp)}."
    )

"""The greedy "order of buy" baseline: take options by benefit per pound while money lasts.

This is how portfolio decision tools often rank investments, and the reference the optimiser
must equal or beat on every instance. Costs are exact (the tier each buying unit reaches and
the platform when first needed), so the greedy plan is feasible for budget, capacity, use
cases, prerequisites and locks; it does not try to meet coverage floors.
"""

from __future__ import annotations

import numpy as np

from planner.economics import Options
from planner.evaluate import tier_price
from planner.model import lock_rows


def greedy_order(options: Options) -> np.ndarray:
    """Option rows by weighted benefit per pound of stand-alone cost, best first.

    Stand-alone cost is the fixed cost plus the option's studies at its tier-1 price; ties
    are broken by trust then product code so the order is reproducible.
    """
    t = options.table
    cost = options.standalone_cost()
    ratio = t["weighted_benefit_gbp"].to_numpy() / np.maximum(cost, 1e-9)
    return np.lexsort((t["product"].to_numpy(), t["trust"].to_numpy(), -ratio))


def greedy_plan(options: Options) -> np.ndarray:
    """Return the greedy plan as a boolean mask over the options table."""
    t = options.table
    n = len(t)
    forced_in, forced_out = lock_rows(options)
    excluded = np.zeros(n, dtype=bool)
    excluded[forced_out] = True
    chosen = np.zeros(n, dtype=bool)
    trusts = options.trusts
    unit_cost = {u: 0.0 for u in options.budgets.index}
    volume: dict = {}
    count = {tc: 0 for tc in trusts.index}
    use_cases: set = set()
    have = set(options.existing)
    platform = {tc for tc in trusts.index if trusts.at[tc, "has_platform"]}
    # plain dicts: the loop below looks these up once per option and pass
    capacity = trusts["it_capacity"].to_dict()
    platform_gbp = trusts["platform_gbp"].astype(float).to_dict()
    budgets = options.budgets.astype(float).to_dict()

    trust = t["trust"].to_numpy()
    product = t["product"].to_numpy()
    unit = t["unit"].to_numpy()
    tier_unit = t["tier_unit"].to_numpy()
    held: dict = {}  # per purchase (group, product): studies bought by each buying unit
    use_case = t["use_case"].to_numpy()
    studies = t["studies_per_year"].to_numpy()
    factor = t["study_factor"].to_numpy()
    fixed = t["fixed_cost_gbp"].to_numpy()
    needs = t["needs_platform"].to_numpy()
    pre = t["prerequisite"].to_numpy()
    value = t["weighted_benefit_gbp"].to_numpy()

    def price(p, v):
        return tier_price(options, p, v)[1] if v > 0 else 0.0

    def delta(i):
        """What taking option i adds to its buying unit's spend.

        The tier its purchase group's pooled volume reaches prices the unit's own studies of
        the purchase (the group may span several units: a national tier called off locally).
        """
        key = (tier_unit[i], product[i])
        v = volume.get(key, 0.0)
        own = held.get(key, {}).get(unit[i], 0.0)
        p, s, f = product[i], studies[i], factor[i]
        d = fixed[i] + price(p, v + s) * (own + s) * f - price(p, v) * own * f
        if needs[i] and trust[i] not in platform:
            d += platform_gbp[trust[i]]
        return d

    def take(i):
        key = (tier_unit[i], product[i])
        v = volume.get(key, 0.0)
        shares = held.setdefault(key, {})
        step = price(product[i], v + studies[i]) - price(product[i], v)
        for other, own in shares.items():  # a new tier reprices the other units' studies
            if other != unit[i]:
                unit_cost[other] += step * own * factor[i]
        unit_cost[unit[i]] += delta(i)
        volume[key] = v + studies[i]
        shares[unit[i]] = shares.get(unit[i], 0.0) + studies[i]
        count[trust[i]] += 1
        use_cases.add((trust[i], use_case[i]))
        have.add((trust[i], product[i]))
        if needs[i]:
            platform.add(trust[i])
        chosen[i] = True

    for i in sorted(forced_in, key=lambda i: (pre[i] != "", trust[i], product[i])):
        take(i)
    order = [i for i in greedy_order(options) if value[i] > 0 and not excluded[i]]
    added = True
    while added:  # repeat so a product whose prerequisite came later still gets its turn
        added = False
        for i in order:
            if chosen[i] or (trust[i], use_case[i]) in use_cases:
                continue
            if count[trust[i]] >= capacity[trust[i]]:
                continue
            if pre[i] and (trust[i], pre[i]) not in have:
                continue
            if unit_cost[unit[i]] + delta(i) <= budgets[unit[i]] + 1e-6:
                take(i)
                added = True
    return chosen

"""Build small datasets in code for tests, through the same validation as files on disk."""

from __future__ import annotations

import dataclasses
import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np

from planner.data import parse_tables
from planner.evaluate import evaluate
from planner.scenario import Route, Scenario
from planner.schema import FILES, columns

TRUST_DEFAULTS = {
    "ics_code": "Q1",
    "population": 100000,
    "imd_score": 20.0,
    "core20_share": 0.2,
    "xray_per_year": 1000,
    "ct_per_year": 0,
    "mri_per_year": 0,
    "mammography_per_year": 0,
    "vacancy_rate": 0.0,
    "has_platform": "yes",
    "it_capacity": 5,
    "local_budget_gbp": 100.0,
}
PRODUCT_DEFAULTS = {
    "modality": "xray",
    "applicable_share": 1.0,
    "implementation_gbp": 0.0,
    "licence_gbp_per_year": 0.0,
    "needs_platform": "no",
    "framework": "yes",
    "evidence": "",
    "regulatory": "",
    "minutes_saved_per_study": 0.0,
    "minutes_saved_low": 0.0,
    "minutes_saved_high": 0.0,
    "qalys_per_1000": 1.0,
    "qalys_per_1000_low": 0.5,
    "qalys_per_1000_high": 1.5,
    "downstream_share": 0.5,
    "implementation_months": 0,
    "prerequisite": "",
}


def _text(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    return "" if v is None else str(v)


def make_dataset(
    trusts, products, tiers=None, deployments=(), icss=None, networks=None, regions=None
):
    """Return a validated Dataset from lists of dicts (missing columns take test defaults).

    ``networks`` and ``regions`` are the optional name tables (left out when None); the
    trusts give their ``network_code`` and ``region_code``.
    """
    icss = icss or [{"ics_code": "Q1", "ics_name": "Test ICS", "region": "Test"}]
    trusts = [{**TRUST_DEFAULTS, "trust_name": f"Trust {t['trust_code']}", **t} for t in trusts]
    products = [
        {
            **PRODUCT_DEFAULTS,
            "product_name": f"Product {p['product_code']}",
            "use_case": p.get("use_case", "u1"),
            **p,
        }
        for p in products
    ]
    if tiers is None:
        tiers = []
    priced = {t["product_code"] for t in tiers}
    tiers = list(tiers) + [
        {
            "product_code": p["product_code"],
            "tier": 1,
            "min_studies_per_year": 0,
            "price_per_study_gbp": 0,
        }
        for p in products
        if p["product_code"] not in priced
    ]
    tables = {
        "icss": icss,
        "trusts": trusts,
        "products": products,
        "price_tiers": tiers,
        "deployments": list(deployments),
    }
    if networks is not None:
        tables["networks"] = list(networks)
    if regions is not None:
        tables["regions"] = list(regions)
    raw = {}
    for name in tables:
        cols = [c.column for c in columns(name)]
        raw[name] = [cols] + [[_text(r.get(c)) for c in cols] for r in tables[name]]
    return parse_tables(raw, {n: f"{n}.csv" for n in FILES}, "test")


def simple_scenario(**changes) -> Scenario:
    """A scenario whose arithmetic is done by hand: one year, no discounting, no delays.

    A study then yields qalys_per_1000 / 1000 x qaly_value pounds, and every route pays full
    fixed costs with no lead time, so all models share prices and timing.
    """
    flat = {f.name: getattr(Route(lead_time_months=0.0), f.name) for f in FLAT_FIELDS}
    base = Scenario(
        horizon_years=1,
        discount_rate=0.0,
        qaly_value_gbp=1000.0,
        radiologist_hour_gbp=0.0,
        platform_setup_gbp=0.0,
        platform_gbp_per_year=0.0,
        marginal_step_gbp=0.0,
        mip_gap=0.0,
        procurement={
            name: dataclasses.replace(route, **flat)
            for name, route in Scenario().procurement.items()
        },
        local_budget_split="population",
    )
    return base.replace(**changes) if changes else base


#: What a flat route sets (no lead time, full shares and discounts, the whole catalogue); each
#: route keeps who buys together, who holds the money and how it is split.
FLAT_FIELDS = tuple(
    f
    for f in dataclasses.fields(Route)
    if f.name not in ("buys_together", "holds_money", "money_split")
)


def random_instance(seed: int):
    """A small random dataset and scenario, small enough to enumerate every plan."""
    rng = np.random.default_rng(seed)
    n_trusts = int(rng.integers(2, 4))
    n_ics = int(rng.integers(1, min(n_trusts, 2) + 1))
    icss = [{"ics_code": f"Q{i}", "ics_name": f"ICS {i}", "region": "R"} for i in range(n_ics)]
    trusts = []
    for i in range(n_trusts):
        trusts.append(
            {
                "trust_code": f"T{i}",
                "ics_code": f"Q{i % n_ics}",
                "population": int(rng.integers(50, 500)) * 1000,
                "imd_score": float(np.round(rng.uniform(5, 45), 1)),
                "xray_per_year": int(rng.integers(500, 5000)),
                "ct_per_year": int(rng.integers(0, 3000)),
                "vacancy_rate": float(np.round(rng.uniform(0, 0.4), 2)),
                "has_platform": bool(rng.random() < 0.4),
                "it_capacity": int(rng.integers(1, 4)),
                "local_budget_gbp": float(rng.integers(1, 20)) * 1000,
            }
        )
    n_products = int(rng.integers(3, 6))
    use_cases = ["u1", "u2", "u3"]
    products, tiers = [], []
    for j in range(n_products):
        code = f"P{j}"
        uc = use_cases[j % 3] if j < 3 else str(rng.choice(use_cases))
        prereq = ""
        if j >= 3 and rng.random() < 0.4:
            candidates = [
                p["product_code"] for p in products if p["use_case"] != uc and not p["prerequisite"]
            ]
            prereq = str(rng.choice(candidates)) if candidates else ""
        products.append(
            {
                "product_code": code,
                "use_case": uc,
                "modality": str(rng.choice(["xray", "ct"])),
                "applicable_share": float(np.round(rng.uniform(0.2, 1.0), 2)),
                "implementation_gbp": float(rng.integers(0, 8)) * 500,
                "licence_gbp_per_year": float(rng.integers(0, 4)) * 500,
                "needs_platform": bool(rng.random() < 0.5),
                "framework": bool(rng.random() < 0.8),
                "minutes_saved_per_study": float(np.round(rng.uniform(0, 3), 2)),
                "minutes_saved_low": 0.0,
                "minutes_saved_high": 5.0,
                "qalys_per_1000": float(np.round(rng.uniform(0, 2), 2)),
                "qalys_per_1000_low": 0.0,
                "qalys_per_1000_high": 3.0,
                "implementation_months": float(rng.integers(0, 6)),
                "prerequisite": prereq,
            }
        )
        price = float(np.round(rng.uniform(0.2, 2.0), 2))
        threshold = 0.0
        for k in range(int(rng.integers(1, 4))):
            tiers.append(
                {
                    "product_code": code,
                    "tier": k + 1,
                    "min_studies_per_year": threshold,
                    "price_per_study_gbp": price,
                }
            )
            threshold += float(rng.integers(500, 3000))
            price = float(np.round(price * rng.uniform(0.6, 0.95), 3))
    # imaging networks (which may cross ICS borders) and regions, from a stream of their own
    # so the rest of each instance is what it was before they were added
    place = np.random.default_rng([seed, 1])
    n_networks = int(place.integers(1, n_trusts + 1))
    for t in trusts:
        t["network_code"] = f"N{int(place.integers(0, n_networks))}"
        t["region_code"] = f"Y{int(place.integers(0, 2))}"
    networks = [
        {"network_code": c, "network_name": f"Network {c}"}
        for c in sorted({t["network_code"] for t in trusts})
    ]
    regions = [{"region_code": f"Y{r}", "region_name": f"Region {r}"} for r in range(2)]
    dataset = make_dataset(trusts, products, tiers, icss=icss, networks=networks, regions=regions)
    scenario = Scenario(
        model=str(rng.choice(["local", "ics", "central"])),
        budget_gbp=float(rng.integers(3, 30)) * 1000,
        horizon_years=int(rng.integers(1, 4)),
        equity_weight=float(rng.choice([0.0, 0.0, 0.5, 1.0])),
        maximin_weight_gbp=float(rng.choice([0.0, 0.0, 5000.0])),
        coverage_floor=float(rng.choice([0.0, 0.0, 0.0, 0.1])),
        platform_setup_gbp=float(rng.integers(0, 4)) * 1000,
        platform_gbp_per_year=float(rng.integers(0, 3)) * 300,
        marginal_step_gbp=0.0,
        mip_gap=0.0,
        local_budget_split=str(rng.choice(["headroom", "population"])),
    )
    return dataset, scenario


def enumerate_best(options):
    """Best objective over every plan the evaluator calls feasible.

    Plans take at most one product per use case per trust and respect IT capacity by
    construction; the evaluator checks the rest and scores them. Two bounds only skip plans
    that cannot win: fixed costs alone over the total budget, or a benefit (plus the largest
    maximin term) below the best feasible score found so far.
    """
    t = options.table
    weighted = t["weighted_benefit_gbp"].to_numpy()
    fixed = t["fixed_cost_gbp"].to_numpy()
    total_budget = float(options.budgets.sum())
    per_trust = []
    for tc in options.trusts.index:
        rows = t.index[t["trust"] == tc]
        by_uc = {}
        for i in rows:
            by_uc.setdefault(t.at[i, "use_case"], []).append(i)
        cap = int(options.trusts.at[tc, "it_capacity"])
        combos = [
            tuple(i for i in pick if i is not None)
            for pick in itertools.product(*[[None, *v] for v in by_uc.values()])
        ]
        per_trust.append([c for c in combos if len(c) <= cap])
    plans = []
    for choice in itertools.product(*per_trust):
        rows = [i for combo in choice for i in combo]
        if fixed[rows].sum() <= total_budget + 1:
            plans.append(rows)
    plans.sort(key=lambda rows: -weighted[rows].sum())
    ceiling = options.scenario.maximin_weight_gbp
    best, best_plan = -np.inf, None
    for rows in plans:
        if weighted[rows].sum() + ceiling < best:
            break
        mask = np.zeros(len(t), dtype=bool)
        mask[rows] = True
        ev = evaluate(options, mask)
        if ev.feasible and ev.objective > best:
            best, best_plan = ev.objective, mask
    return best, best_plan, len(plans)


def tiny(two_icss: bool = False):
    """Two trusts of 1,000 X-rays a year; three products over two use cases.

    With ``two_icss`` trust B is in a second ICS (Q2), so under ``ics`` each trust buys alone.

    P1 (use case u1): 1 QALY per 1,000 studies, £100 implementation, £0.50 a study, or
    £0.25 a study once a buyer reaches 2,000 studies a year. P2 (u1): 0.8 QALYs per 1,000,
    £300 licence. P3 (u2): reads half the X-rays, 1 QALY per 1,000, £200 licence.
    With £1 per QALY-per-1,000 (qaly_value 1000), benefit = studies x QALYs per 1,000.
    """
    trusts = [{"trust_code": "A"}, {"trust_code": "B", "ics_code": "Q2" if two_icss else "Q1"}]
    icss = [{"ics_code": "Q1", "ics_name": "Test ICS", "region": "Test"}]
    if two_icss:
        icss.append({"ics_code": "Q2", "ics_name": "Second ICS", "region": "Test"})
    products = [
        {"product_code": "P1", "use_case": "u1", "implementation_gbp": 100},
        {
            "product_code": "P2",
            "use_case": "u1",
            "qalys_per_1000": 0.8,
            "licence_gbp_per_year": 300,
        },
        {
            "product_code": "P3",
            "use_case": "u2",
            "applicable_share": 0.5,
            "licence_gbp_per_year": 200,
        },
    ]
    tiers = [
        {"product_code": "P1", "tier": 1, "min_studies_per_year": 0, "price_per_study_gbp": 0.5},
        {
            "product_code": "P1",
            "tier": 2,
            "min_studies_per_year": 2000,
            "price_per_study_gbp": 0.25,
        },
        {"product_code": "P2", "tier": 1, "min_studies_per_year": 0, "price_per_study_gbp": 0},
        {"product_code": "P3", "tier": 1, "min_studies_per_year": 0, "price_per_study_gbp": 0},
    ]
    return make_dataset(trusts, products, tiers, icss=icss)


def run(capsys, *args) -> tuple[int, str, str]:
    """Run the ``planner`` command in-process; return (exit code, stdout, stderr)."""
    from planner.cli import main

    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_subprocess(cwd: Path, *args) -> subprocess.CompletedProcess:
    """Run ``python -m planner.cli`` as a real process."""
    return subprocess.run(
        [sys.executable, "-m", "planner.cli", *[str(a) for a in args]],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )

"""Explanations: reasons, displacements, break-even prices (re-solve confirms), HTML pages.

Covers the value of more money and the per-trust summaries too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from builders import make_dataset, simple_scenario

import planner
from planner.economics import build_options
from planner.explain import REASON_CODES, explain_plan, rebate_options
from planner.solve import solve_options
from planner.summary_html import trust_summary_html, write_trust_summaries

FAST = {"with_greedy": False, "with_marginal": False}


@pytest.fixture(autouse=True)
def _cold_cache():
    """Each test counts its own re-solves: none is served from an earlier test's."""
    from planner.resolve import clear_cache

    clear_cache()


def adopted(dataset, scenario, r, factor) -> set:
    """Re-solve through the normal path with the trust's prices for the product at ``factor``.

    ``r`` is a row of ``not_chosen``. Returns the (trust, product) pairs adopted.
    """
    options = build_options(dataset, scenario)
    cut = rebate_options(options, r["trust"], r["product"], (1.0 - factor) * r["cost_gbp"])
    res = solve_options(cut)
    t = cut.table[res.mask]
    return set(zip(t["trust"], t["product"], strict=True))


def chosen(dataset, scenario, r, factor) -> bool:
    return (r["trust"], r["product"]) in adopted(dataset, scenario, r, factor)


def row(frame, trust, product):
    hit = frame[(frame["trust"] == trust) & (frame["product"] == product)]
    assert len(hit) == 1, f"no single row for {product} at {trust}"
    return hit.iloc[0]


# ---------------------------------------------------------------------------------------
# the default ICS


@pytest.fixture(scope="module")
def ics(default_ics):
    """The default ICS under the ICS model with £2m, explained for two trusts (bounded)."""
    scenario = planner.Scenario(budget_gbp=2e6)
    plan = planner.solve(default_ics, scenario, "ics", with_marginal=True)
    explanation = explain_plan(default_ics, scenario, plan, trusts=["RBH", "RWY"], max_resolves=25)
    return default_ics, scenario, plan, explanation


def test_break_even_prices_make_the_product_chosen_on_the_default_ics(ics):
    """The issue's done-when: applying a break-even price and re-solving adopts the product."""
    data, scenario, _, ex = ics
    nc = ex.not_chosen
    found = nc[nc["confirmed"]]
    assert len(found) >= 5
    assert found["search"].eq("found by a least-cost re-solve and confirmed").all()
    for _, r in found.head(5).iterrows():
        f = r["break_even_price_factor"]
        assert 0 < f < 1
        assert not chosen(data, scenario, r, 1.0)  # today's price: not chosen
        assert chosen(data, scenario, r, f * 0.999)  # just below the break-even: chosen
        assert not chosen(data, scenario, r, min(f * 1.01, 1.0))  # just above: not chosen
        # the break-even price in pounds: today's prices (after the ICS shares) times f
        cat = data.products.loc[r["product"]]
        route = scenario.route("ics")
        assert r["break_even_implementation_gbp"] == pytest.approx(
            cat["implementation_gbp"] * route.implementation_share * f
        )
        assert r["break_even_licence_gbp_per_year"] == pytest.approx(
            cat["licence_gbp_per_year"] * route.licence_share * f
        )
        assert r["break_even_cost_gbp"] == pytest.approx(r["cost_gbp"] * f)
        assert r["price_cut_pct"] == pytest.approx(100 * (1 - f))
        assert f"{100 * (1 - f):.0f}%" in r["break_even"]


def test_default_ics_rows_reasons_and_limits(ics):
    data, _, plan, ex = ics
    nc, ad = ex.not_chosen, ex.adoptions
    # only the trusts asked for, every catalogue pair accounted for exactly once
    assert set(nc["trust"]) | set(ad["trust"]) <= {"RBH", "RWY"}
    assert set(ex.explained) == {"RBH", "RWY"}
    dep = data.deployments
    in_use = set(zip(dep["trust_code"], dep["product_code"], strict=True))
    for tc in ("RBH", "RWY"):
        listed = set(nc.loc[nc["trust"] == tc, "product"]) | set(
            ad.loc[ad["trust"] == tc, "product"]
        )
        expected = {p for p in data.products.index if (tc, p) not in in_use}
        assert listed == expected
    assert set(nc["reason_code"]) <= set(REASON_CODES)
    assert nc["reason"].str.len().gt(0).all()
    rbh = nc[nc["trust"] == "RBH"]
    assert (rbh["reason_code"] != "capacity").all()  # RBH adopts nothing: capacity is free
    # a prerequisite the trust does not have is named as the reason
    prf = row(nc, "RBH", "PRF-CRV")
    assert prf["reason_code"] == "prerequisite"
    assert "LVO-CRV" in prf["reason"]
    # the limit on re-solves is respected and reported
    assert ex.resolves <= 25
    skipped = nc["search"].str.startswith("skipped")
    assert skipped.any()
    assert any("max_resolves" in n for n in ex.notes)
    assert nc.loc[skipped, "break_even_price_factor"].isna().all()
    # adoptions: benefit per pound as in the plan, a reason, and what they displaced
    for r in ad.itertuples(index=False):
        p = row(plan.adoptions, r.trust, r.product)
        assert r.benefit_per_gbp == pytest.approx(p["benefit_gbp"] / p["cost_gbp"])
        assert r.fits_because
        assert r.displaced.startswith("without it: ")
        assert r.benefit_change_gbp <= 1e-6 * plan.benefit_gbp  # the plan was (near) optimal
        assert r.radiologist_hours_per_year > 0
    lvo = row(ad, "RWY", "LVO-CRV")
    assert "prerequisite of PRF-CRV" in lvo["fits_because"]
    assert "RWY:PRF-CRV" in lvo["also_dropped"]  # forbidding LVO-CRV drops its dependant
    # the value of the next £100k comes from the plan's own marginal re-solve
    bv = ex.budget_value
    assert bv["source"] == "plan.marginal"
    assert bv["step_gbp"] == 100_000
    assert bv["extra_benefit_gbp"] == pytest.approx(plan.marginal["extra_benefit_gbp"])
    assert bv["buys"]  # and the re-solve says what it buys
    assert "£100k" in bv["text"]


def test_summary_html_of_the_default_ics(ics):
    data, _, plan, ex = ics
    page = trust_summary_html(data, plan, ex, "RWY")
    assert page.startswith("<!DOCTYPE html>")
    assert "Wyreside University Hospitals NHS Trust" in page
    assert "@page { size: A4" in page
    assert "Cerevon Stroke LVO" in page  # what the trust gets
    assert "month 11" in page  # when it goes live
    assert "How to read this" in page
    assert "£25,000 per QALY" in page
    assert "Brackenholt and Coldmoor Hospitals NHS Trust" in page  # the ICS comparison
    _assert_self_contained(page)
    with pytest.raises(ValueError, match="not explained"):
        trust_summary_html(data, plan, ex, "RNV")
    with pytest.raises(ValueError, match="not in the plan"):
        trust_summary_html(data, plan, ex, "NOPE")


# ---------------------------------------------------------------------------------------
# small hand-built instances


def one_trust(products, tiers=None, deployments=(), **trust):
    return make_dataset([{"trust_code": "A", **trust}], products, tiers, deployments)


def test_break_even_of_a_known_threshold():
    """£2,000 to implement, £1,000 of money: the product is chosen at half price or less."""
    data = one_trust([{"product_code": "P", "implementation_gbp": 2000}])
    scenario = simple_scenario(budget_gbp=1000.0)
    plan = planner.solve(data, scenario)
    assert plan.adoptions.empty
    ex = explain_plan(data, scenario, plan)
    r = row(ex.not_chosen, "A", "P")
    assert r["reason_code"] == "budget"
    assert r["reason"].startswith("budget: ")
    assert r["cost_gbp"] == pytest.approx(2000)
    assert r["break_even_price_factor"] == pytest.approx(0.5, abs=1e-6)  # exactly half price
    assert r["confirmed"]
    assert r["break_even_implementation_gbp"] == pytest.approx(1000)
    assert (
        r["break_even"] == "chosen if its prices for this trust fall by more than 50% "
        "(implementation £1,000)"
    )
    assert chosen(data, scenario, r, 0.499)
    assert not chosen(data, scenario, r, 0.51)
    # no marginal value in the plan (step 0): the next £100k is found by re-solving
    bv = ex.budget_value
    assert plan.marginal is None
    assert bv["source"] == "re-solve"
    assert bv["step_gbp"] == 100_000
    assert bv["extra_benefit_gbp"] == pytest.approx(1000.0)  # 1,000 studies x 1 QALY/1,000
    assert bv["benefit_per_gbp"] == pytest.approx(0.01)
    assert bv["buys"] == ["A:P"]


def test_rebate_options_changes_one_option_only():
    data = make_dataset(
        [{"trust_code": "A"}, {"trust_code": "B"}],
        [{"product_code": "P", "implementation_gbp": 100}],
    )
    options = build_options(data, simple_scenario(budget_gbp=10.0))
    cut = rebate_options(options, "A", "P", 60.0)
    fixed = dict(zip(cut.table["trust"], cut.table["fixed_cost_gbp"], strict=True))
    assert fixed == {"A": 40.0, "B": 100.0}
    assert options.table["fixed_cost_gbp"].tolist() == [100.0, 100.0]  # untouched
    with pytest.raises(ValueError, match="not an option"):
        rebate_options(options, "A", "ZZ", 1.0)
    with pytest.raises(ValueError, match="finite"):
        rebate_options(options, "A", "P", float("nan"))


def test_a_pooled_volume_tier_is_a_reason_to_fit():
    """Each trust alone stays in tier 1; together the ICS reaches the cheaper tier 2."""
    tiers = [
        {"product_code": "P", "tier": 1, "min_studies_per_year": 0, "price_per_study_gbp": 1.0},
        {"product_code": "P", "tier": 2, "min_studies_per_year": 1000, "price_per_study_gbp": 0.5},
    ]
    data = make_dataset(
        [{"trust_code": "A", "xray_per_year": 600}, {"trust_code": "B", "xray_per_year": 600}],
        [{"product_code": "P"}],
        tiers,
    )
    scenario = simple_scenario(budget_gbp=1000.0)
    plan = planner.solve(data, scenario, "ics")
    assert sorted(plan.adoptions["trust"]) == ["A", "B"]
    ex = explain_plan(data, scenario, plan)
    for tc in ("A", "B"):
        a = row(ex.adoptions, tc, "P")
        assert "reaches a cheaper volume tier (tier 2, £0.50 a study)" in a["fits_because"]
        assert a["radiologist_hours_per_year"] == 0  # no minutes saved in this instance
        assert a["qalys_over_horizon"] == pytest.approx(600 * 1.0 / 1000)  # one year live


def capacity_of_one():
    """One trust with IT capacity 1 and two products for two use cases, P1 the better."""
    return one_trust(
        [
            {
                "product_code": "P1",
                "use_case": "u1",
                "qalys_per_1000": 2.0,
                "qalys_per_1000_high": 3,
            },
            {"product_code": "P2", "use_case": "u2", "qalys_per_1000": 1.0},
        ],
        it_capacity=1,
    )


def test_capacity_is_the_reason_for_the_second_product():
    """IT capacity 1: the better product takes the place; the other is out even if free."""
    data = capacity_of_one()
    scenario = simple_scenario(budget_gbp=10_000.0)
    plan = planner.solve(data, scenario)
    assert list(plan.adoptions["product"]) == ["P1"]
    ex = explain_plan(data, scenario, plan)
    r = row(ex.not_chosen, "A", "P2")
    assert r["reason_code"] == "capacity"
    assert r["reason"] == "IT capacity full (1 of 1)"
    assert r["search"] == "not chosen even free"
    assert np.isnan(r["break_even_price_factor"])
    assert r["break_even"] == "not chosen even if free"
    # forbidding P1 frees the place for P2
    a = row(ex.adoptions, "A", "P1")
    assert a["displaced_by"] == ["A:P2"]
    assert a["benefit_change_gbp"] == pytest.approx(-1000.0)


def test_one_product_per_use_case_and_what_was_displaced():
    """Two free products for one use case: the better is taken; without it, the other."""
    data = one_trust(
        [
            {"product_code": "P1", "qalys_per_1000": 1.0},
            {"product_code": "P2", "qalys_per_1000": 0.8},
        ]
    )
    scenario = simple_scenario(budget_gbp=1000.0)
    plan = planner.solve(data, scenario)
    ex = explain_plan(data, scenario, plan)
    r = row(ex.not_chosen, "A", "P2")
    assert r["reason_code"] == "use_case"
    assert r["reason"] == "use case already covered by Product P1 (P1)"
    assert r["search"] == "not chosen even free"  # P2 brings less even at no cost
    a = row(ex.adoptions, "A", "P1")
    assert a["displaced_by"] == ["A:P2"]
    assert a["also_dropped"] == []
    assert a["benefit_change_gbp"] == pytest.approx(-200.0)
    assert a["displaced"] == "without it: Trust A takes Product P2 instead; benefit -£200"
    assert "best benefit per £" in a["fits_because"] or "most benefit" in a["fits_because"]


def test_use_case_swap_has_a_break_even_price():
    """P2 brings more than P1 but costs too much: at a lower price it replaces P1."""
    data = one_trust(
        [
            {"product_code": "P1", "qalys_per_1000": 1.0},
            {"product_code": "P2", "qalys_per_1000": 1.5, "implementation_gbp": 4000},
        ]
    )
    scenario = simple_scenario(budget_gbp=1000.0)
    plan = planner.solve(data, scenario)
    assert list(plan.adoptions["product"]) == ["P1"]
    ex = explain_plan(data, scenario, plan)
    r = row(ex.not_chosen, "A", "P2")
    assert r["reason_code"] == "use_case"
    f = r["break_even_price_factor"]
    assert f == pytest.approx(0.25, abs=1e-6)  # £1,000 of £4,000
    assert adopted(data, scenario, r, f * 0.999) == {("A", "P2")}  # P2 replaces P1
    assert adopted(data, scenario, r, f * 1.01) == {("A", "P1")}


def test_prerequisites_missing_or_unavailable():
    """Q needs R (not adopted: too dear); S needs M, an MRI product the trust cannot use."""
    data = one_trust(
        [
            {"product_code": "R", "use_case": "u1", "licence_gbp_per_year": 5000},
            {"product_code": "Q", "use_case": "u2", "prerequisite": "R"},
            {"product_code": "M", "use_case": "u3", "modality": "mri"},
            {"product_code": "S", "use_case": "u4", "prerequisite": "M"},
        ]
    )
    scenario = simple_scenario(budget_gbp=1000.0)
    plan = planner.solve(data, scenario)
    assert plan.adoptions.empty
    ex = explain_plan(data, scenario, plan)
    q = row(ex.not_chosen, "A", "Q")
    assert q["reason_code"] == "prerequisite"
    assert q["reason"] == "needs prerequisite R which the trust does not have"
    assert q["search"] == "not chosen even free"  # R stays too dear whatever Q costs
    s = row(ex.not_chosen, "A", "S")
    assert s["reason_code"] == "prerequisite_unavailable"
    assert "needs prerequisite M" in s["reason"]
    assert s["search"].startswith("not searched")
    m = row(ex.not_chosen, "A", "M")
    assert m["reason_code"] == "no_studies"
    # R itself: a price cut makes it (and Q with it) worth buying
    r = row(ex.not_chosen, "A", "R")
    assert r["reason_code"] == "budget"
    assert r["break_even_price_factor"] == pytest.approx(0.2, abs=1e-6)  # £1,000 of £5,000
    assert {("A", "R"), ("A", "Q")} <= adopted(data, scenario, r, 0.2 * 0.999)


def test_framework_locks_and_deployments():
    data = make_dataset(
        [{"trust_code": "A"}, {"trust_code": "B"}],
        [
            {"product_code": "F", "use_case": "u1"},
            {"product_code": "N", "use_case": "u2", "framework": "no"},
            {"product_code": "L", "use_case": "u3"},
            {"product_code": "K", "use_case": "u4"},
        ],
        deployments=[{"trust_code": "B", "product_code": "F"}],
    )
    scenario = simple_scenario(
        budget_gbp=1000.0,
        locks=[
            {"trust": "A", "product": "L", "adopt": False},
            {"trust": "A", "product": "K", "adopt": True},
        ],
    ).with_overrides({"procurement.central.framework_only": True})
    plan = planner.solve(data, scenario, "central")
    ex = explain_plan(data, scenario, plan)
    nc = ex.not_chosen
    assert row(nc, "A", "N")["reason"] == "not on the national framework"
    assert row(nc, "A", "L")["reason_code"] == "locked_out"
    assert not ((nc["trust"] == "B") & (nc["product"] == "F")).any()  # already in use
    k = row(ex.adoptions, "A", "K")
    assert "locked in by the scenario" in k["fits_because"]
    assert k["displaced"].startswith("locked in")
    assert np.isnan(k["benefit_change_gbp"])
    # a model under which the plan's adoptions cannot be bought is refused
    ics_plan = planner.solve(data, scenario.replace(locks=()), "ics", **FAST)
    assert "N" in set(ics_plan.adoptions["product"])
    with pytest.raises(ValueError, match="does not match"):
        explain_plan(data, scenario, ics_plan, model="central")


def test_switches_and_bad_arguments():
    data = one_trust([{"product_code": "P", "implementation_gbp": 2000}])
    scenario = simple_scenario(budget_gbp=1000.0)
    plan = planner.solve(data, scenario)
    ex = explain_plan(data, scenario, plan, break_even=False, displaced=False)
    assert ex.resolves == 1  # the value of more money only
    assert row(ex.not_chosen, "A", "P")["search"] == ""
    assert len(ex.notes) == 2
    none = explain_plan(data, scenario, plan, max_resolves=0)
    assert none.resolves == 0
    assert row(none.not_chosen, "A", "P")["search"] == "skipped: max_resolves reached"
    assert none.budget_value["extra_benefit_gbp"] is None
    with pytest.raises(ValueError, match="tolerance"):
        explain_plan(data, scenario, plan, tolerance=0)
    with pytest.raises(ValueError, match="workers"):
        explain_plan(data, scenario, plan, workers=2, max_resolves=10)
    with pytest.raises(ValueError, match="unknown trust"):
        explain_plan(data, scenario, plan, trusts=["ZZ"])
    tables = ex.tables()
    assert set(tables) == {"adoptions", "not_chosen", "trusts", "budget_value"}
    assert len(tables["budget_value"]) == 1


def test_two_workers_give_the_same_table():
    data = make_dataset(
        [{"trust_code": "A"}, {"trust_code": "B", "xray_per_year": 3000}],
        [
            {"product_code": "P", "implementation_gbp": 1500},
            {"product_code": "Q", "use_case": "u2", "implementation_gbp": 2500},
        ],
    )
    scenario = simple_scenario(budget_gbp=1000.0)
    plan = planner.solve(data, scenario)
    from planner.resolve import clear_cache

    one = explain_plan(data, scenario, plan, displaced=False, workers=1)
    clear_cache()  # or the second explanation is served from the first's re-solves
    two = explain_plan(data, scenario, plan, displaced=False, workers=2)
    assert one.resolves == two.resolves
    cols = ["trust", "product", "reason", "break_even_price_factor", "search"]
    assert one.not_chosen[cols].equals(two.not_chosen[cols])
    assert one.not_chosen["break_even_price_factor"].notna().sum() >= 3


def test_break_even_prices_do_not_depend_on_the_hash_seed(tmp_path):
    """The same data give the same explanation in any process.

    Python orders a set of strings differently in each process; a float sum over such a
    set once made the break-even prices differ in their last digits from run to run.
    """
    root = Path(__file__).resolve().parents[1]
    args = ["explain", "--data", root / "data" / "default_ics", "--budget", "2m"]
    args += ["--trust", "RBH", "--max-resolves", "12", "--quiet"]
    outputs = []
    for seed in ("1", "2", "3"):
        out = tmp_path / seed
        proc = subprocess.run(
            [sys.executable, "-m", "planner.cli", *map(str, args), "--out", str(out)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        outputs.append((out / "not_chosen.csv").read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]


# ---------------------------------------------------------------------------------------
# HTML


def _assert_self_contained(page: str) -> None:
    lower = page.lower()
    for bad in ("<script", "http://", "https://", "src=", "href=", "<link", "@import", "url("):
        assert bad not in lower, bad
    assert lower.count("<html") == 1
    assert lower.rstrip().endswith("</html>")


NASTY = "St <b>Mary</b> & <script>alert(1)</script> Trust"


@pytest.fixture(scope="module")
def nasty():
    data = make_dataset(
        [{"trust_code": "A", "trust_name": NASTY}, {"trust_code": "B"}],
        [
            {"product_code": "P", "product_name": "Scan <i>fast</i> & co"},
            {"product_code": "Q", "use_case": "u2", "implementation_gbp": 5000},
        ],
        icss=[{"ics_code": "Q1", "ics_name": "North & <South>", "region": "R"}],
    )
    scenario = simple_scenario(budget_gbp=1000.0)
    plan = planner.solve(data, scenario)
    return data, plan, explain_plan(data, scenario, plan)


def test_summary_html_escapes_data_text(nasty):
    data, plan, ex = nasty
    page = trust_summary_html(data, plan, ex, "A")
    assert "St &lt;b&gt;Mary&lt;/b&gt; &amp; &lt;script&gt;alert(1)&lt;/script&gt; Trust" in page
    assert "Scan &lt;i&gt;fast&lt;/i&gt; &amp; co" in page
    assert "North &amp; &lt;South&gt;" in page
    assert "<b>Mary" not in page
    assert "<i>fast" not in page
    _assert_self_contained(page)
    # every tag in the page is one the template writes
    tags = set(re.findall(r"<\s*([a-zA-Z0-9!]+)", page))
    assert tags <= {
        "!DOCTYPE",
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "h1",
        "h2",
        "p",
        "span",
        "strong",
        "table",
        "col",
        "tr",
        "th",
        "td",
        "br",
    }


SCRIPT = "<script>alert(1)</script> & Co"


def test_summary_html_escapes_a_script_wherever_a_name_is_printed():
    """Trust, ICS and product names pass through the template's autoescape in every place."""
    data = make_dataset(
        [{"trust_code": "A", "trust_name": SCRIPT}, {"trust_code": "B"}],
        [
            {"product_code": "P", "product_name": SCRIPT},
            {
                "product_code": "Q",
                "use_case": "u2",
                "implementation_gbp": 5000,
                "product_name": f"{SCRIPT} Q",
            },
        ],
        icss=[{"ics_code": "Q1", "ics_name": SCRIPT, "region": "R"}],
    )
    scenario = simple_scenario(budget_gbp=1000.0)
    plan = planner.solve(data, scenario)
    ex = explain_plan(data, scenario, plan)
    safe = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co"
    # rows_shown=0: the product not chosen is listed in a line under the table, not a row
    pages = {rows: trust_summary_html(data, plan, ex, "A", rows_shown=rows) for rows in (None, 0)}
    for page in pages.values():
        assert "<script" not in page.lower()
        assert SCRIPT not in page
        assert f"<title>AI imaging plan: {safe}</title>" in page
        assert f"<h1>{safe}</h1>" in page
        assert f"Trust A &middot; {safe} &middot; AI imaging" in page  # the ICS name
        assert f"<strong>1 new AI tool</strong>: {safe}." in page  # the product adopted
        assert f"<td>{safe}</td>" in page  # the ICS comparison
        _assert_self_contained(page)
    assert f"<td>{safe} Q<br>" in pages[None]  # the table of products not chosen
    assert f"(the price cut needed): {safe} Q (-" in pages[0]
    other = trust_summary_html(data, plan, ex, "B")
    assert f"<td>{safe}</td>" in other
    assert "<script" not in other.lower()


def test_summary_template_ships_in_the_package_autoescaped_and_strict():
    from importlib.resources import files

    import jinja2

    from planner import summary_html

    folder = files("planner") / "templates"
    assert (folder / summary_html.TEMPLATE).is_file()
    assert (folder / "trust_summary.css").is_file()
    env = summary_html.ENVIRONMENT
    template = env.get_template(summary_html.TEMPLATE)  # found through the package's loader
    assert Path(template.filename).resolve() == Path(str(folder / summary_html.TEMPLATE)).resolve()
    assert env.autoescape is True
    assert env.undefined is jinja2.StrictUndefined
    with pytest.raises(jinja2.UndefinedError):
        template.render()  # a missing value is an error, never a blank on the page
    source = (folder / summary_html.TEMPLATE).read_text("utf-8")
    assert not re.search(r"\|\s*safe\b|Markup", source)  # nothing bypasses the escaping


def test_write_trust_summaries_refuses_to_overwrite(nasty, tmp_path):
    data, plan, ex = nasty
    out = tmp_path / "pages"
    paths = write_trust_summaries(data, plan, ex, out)
    assert [p.name for p in paths] == ["A.html", "B.html"]
    assert all(p.read_text(encoding="utf-8").startswith("<!DOCTYPE html>") for p in paths)
    (out / "A.html").write_text("mine", encoding="utf-8")
    (out / "B.html").unlink()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_trust_summaries(data, plan, ex, out)
    assert (out / "A.html").read_text(encoding="utf-8") == "mine"  # untouched
    assert not (out / "B.html").exists()  # nothing written when one file is in the way
    again = write_trust_summaries(data, plan, ex, out, overwrite=True)
    assert (out / "A.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in out.iterdir()) == ["A.html", "B.html"]  # no temp files
    assert again == paths
    only = write_trust_summaries(data, plan, ex, tmp_path / "one", trusts=["B"])
    assert [p.name for p in only] == ["B.html"]


# ---------------------------------------------------------------------------------------
# shortcuts (issue 12): the same results as the full method, in less time


def _same_explanations(full, fast) -> None:
    """Every table and figure of two explanations agree (the full method's to the digit)."""
    import pandas as pd

    for name in ("adoptions", "not_chosen", "trusts"):
        pd.testing.assert_frame_equal(
            getattr(full, name), getattr(fast, name), check_exact=False, rtol=1e-12, atol=1e-9
        )
    assert full.budget_value == fast.budget_value
    assert full.explained == fast.explained


def test_shortcuts_and_threads_give_the_full_methods_results():
    """Bounds, the cache, shared least-cost models and 2 threads change no result.

    Small random instances (all three models, equity rules, tiers, platforms,
    prerequisites), each explained by the full method (one worker, every least-cost and
    confirming solve made) and with the shortcuts on 2 worker threads.
    """
    from builders import random_instance

    from planner.errors import InfeasibleError
    from planner.resolve import clear_cache

    used = {"settled_by_bound": 0, "confirmed_by_bound": 0}
    compared, no_plan = 0, []
    for seed in range(16):
        data, scenario = random_instance(seed)
        scenario = scenario.replace(marginal_step_gbp=1000.0)
        try:
            plan = planner.solve(data, scenario, **FAST)
        except InfeasibleError:  # a random scenario no plan meets: nothing to explain
            no_plan.append(seed)
            continue
        clear_cache()
        full = explain_plan(data, scenario, plan, workers=1, shortcuts=False)
        fast = explain_plan(data, scenario, plan, workers=2, shortcuts=True)
        _same_explanations(full, fast)
        assert fast.resolves <= full.resolves
        assert fast.resolves + sum(fast.shortcuts.values()) >= full.resolves
        for key in used:
            used[key] += fast.shortcuts[key]
        compared += 1
    assert compared + len(no_plan) == 16
    assert compared >= 8
    assert used["confirmed_by_bound"] > 0  # the shortcuts were taken, not just switched on


def test_a_bound_settles_not_chosen_even_free_as_the_least_cost_solve_does():
    """No price makes the second product chosen: a bound says so without the MILP.

    IT capacity 1, or one product per use case: the least cost's relaxation is already
    infeasible, so no MILP is solved for it, and the row reads as the full method's.
    """
    capacity = capacity_of_one()
    use_case = one_trust(
        [
            {"product_code": "P1", "qalys_per_1000": 1.0},
            {"product_code": "P2", "qalys_per_1000": 0.8},
        ]
    )
    for data in (capacity, use_case):
        scenario = simple_scenario(budget_gbp=10_000.0)
        plan = planner.solve(data, scenario, **FAST)
        full = explain_plan(data, scenario, plan, workers=1, shortcuts=False)
        fast = explain_plan(data, scenario, plan, workers=1, shortcuts=True)
        _same_explanations(full, fast)
        assert row(fast.not_chosen, "A", "P2")["search"] == "not chosen even free"
        assert fast.shortcuts["settled_by_bound"] == 1
        assert fast.resolves == full.resolves - 1


def test_a_trust_explained_again_is_served_from_the_cache():
    from planner.resolve import clear_cache

    data = make_dataset(
        [{"trust_code": "A"}, {"trust_code": "B", "xray_per_year": 3000}],
        [
            {"product_code": "P", "implementation_gbp": 1500},
            {"product_code": "Q", "use_case": "u2", "implementation_gbp": 2500},
        ],
    )
    scenario = simple_scenario(budget_gbp=1000.0, marginal_step_gbp=500.0)
    plan = planner.solve(data, scenario, **FAST)
    clear_cache()
    first = explain_plan(data, scenario, plan, trusts=["A"])
    assert first.resolves > 0
    again = explain_plan(data, scenario, plan, trusts=["A"])
    assert again.resolves == 0  # every re-solve was made before, in this process
    assert again.shortcuts["cached"] > 0
    _same_explanations(first, again)
    # the other trust shares the value of more money (one re-solve fewer than cold)
    other = explain_plan(data, scenario, plan, trusts=["B"])
    clear_cache()
    cold = explain_plan(data, scenario, plan, trusts=["B"])
    assert other.resolves == cold.resolves - 1
    _same_explanations(other, cold)
    # the cache is keyed on the data's contents: a changed price is solved anew
    dearer = make_dataset(
        [{"trust_code": "A"}, {"trust_code": "B", "xray_per_year": 3000}],
        [
            {"product_code": "P", "implementation_gbp": 1600},
            {"product_code": "Q", "use_case": "u2", "implementation_gbp": 2500},
        ],
    )
    plan2 = planner.solve(dearer, scenario, **FAST)
    changed = explain_plan(dearer, scenario, plan2, trusts=["A"])
    assert changed.shortcuts["cached"] == 0
    assert row(changed.not_chosen, "A", "P")["cost_gbp"] == pytest.approx(1600)
    clear_cache()


def test_the_plans_bound_is_used_only_for_the_plans_own_scenario():
    from planner.resolve import plan_upper_bound

    data = one_trust([{"product_code": "P", "implementation_gbp": 2000}])
    scenario = simple_scenario(budget_gbp=1000.0)
    plan = planner.solve(data, scenario, **FAST)
    options = build_options(data, plan.scenario, plan.model)
    bound = plan_upper_bound(options, set(), plan, True, plan.scenario, plan.model)
    assert bound == pytest.approx(plan.bound)
    other = plan.scenario.replace(budget_gbp=5000.0)
    assert plan_upper_bound(options, set(), plan, True, other, plan.model) is None
    assert plan_upper_bound(options, set(), plan, True, plan.scenario, "central") is None


def test_results_that_may_be_time_outs_are_not_kept():
    """No plan (maybe a time-out) or an undecided search is solved again when asked again."""
    from planner.resolve import Resolver

    data = one_trust([{"product_code": "P"}])
    resolver = Resolver(data, simple_scenario(), "local", None, cache=True)
    calls = []

    def compute(value):
        return lambda: (calls.append(value) or value, 1)

    for value in (None, {"status": "undecided: the solver stopped"}, {"status": "found"}):
        for _ in range(2):
            assert resolver.cached(("test", str(value)), compute(value)) == value
    assert len(calls) == 5  # the found result was reused once
    assert resolver.count == 5
    assert resolver.cache_hits == 1

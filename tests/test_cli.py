"""The ``planner`` command line: solve, compare, exports, options, infeasibility, templates."""

from __future__ import annotations

import argparse
import copy
import csv
import errno
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from builders import make_dataset, run, run_subprocess

from planner import cli, report
from planner.cli import main
from planner.economics import annuity_from, discount_at
from planner.errors import PlannerError, SolverError
from planner.formatting import pounds, status_text
from planner.plan import solve
from planner.scenario import Scenario
from planner.schema import ALL_FILES, FILES, columns

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "data" / "default_ics"
ENGLAND = ROOT / "data" / "england"
PRODUCTS = pd.read_csv(DEFAULT / "products.csv").set_index("product_code")
TRUSTS = pd.read_csv(DEFAULT / "trusts.csv").set_index("trust_code")
FORMULA_START = ("=", "+", "-", "@")
PLAN_SHEETS = {"summary", "adoptions", "trusts", "icss", "buying_units", "equity"}


def solve_json(tmp: Path, *args, name: str = "plan.json") -> dict:
    """Solve the default ICS with 2m and extra options; return the JSON plan."""
    path = tmp / name
    code = main(
        ["solve", "--data", str(DEFAULT), "--budget", "2m", "--quiet", "--json", str(path)]
        + [str(a) for a in args]
    )
    assert code == 0
    return json.loads(path.read_text(encoding="utf-8"))


def pairs(plan: dict) -> set[tuple[str, str]]:
    return {(a["trust"], a["product"]) for a in plan["adoptions"]}


def platform_cost(plan: dict) -> float:
    """Present value of one trust's deployment platform under the plan's route, by hand."""
    sc = plan["scenario"]
    route = sc["procurement"][plan["model"]]
    lead = route["lead_time_months"]
    setup = sc["platform_setup_gbp"] * float(discount_at(lead, sc["discount_rate"]))
    running = sc["platform_gbp_per_year"] * float(
        annuity_from(lead, sc["horizon_years"], sc["discount_rate"])[0]
    )
    return (setup + running) * route["platform_share"]


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> dict:
    """The default ICS plan with 2m (ICS model), solved once for the module."""
    return solve_json(tmp_path_factory.mktemp("base"))


@pytest.fixture(scope="module")
def compared(tmp_path_factory) -> tuple[Path, dict]:
    """One ``compare`` run writing JSON, CSV and XLSX."""
    out = tmp_path_factory.mktemp("compare")
    code = main(
        [
            "compare",
            "--data",
            str(DEFAULT),
            "--budget",
            "2m",
            "--quiet",
            "--json",
            str(out / "plans.json"),
            "--csv",
            str(out / "csv"),
            "--xlsx",
            str(out / "plans.xlsx"),
        ]
    )
    assert code == 0
    return out, json.loads((out / "plans.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------
# solve and its JSON plan


def test_solve_writes_the_plan_json(tmp_path, capsys):
    path = tmp_path / "plan.json"
    code, out, err = run(capsys, "solve", "--data", DEFAULT, "--budget", "2m", "--json", path)
    assert (code, err) == (0, "")
    assert out.startswith("model ics: ")
    assert "budget £2,000,000" in out
    plan = json.loads(path.read_text(encoding="utf-8"))
    # the status in words, as the app says it; never a solver code such as gap_reached
    assert out.splitlines()[0] == f"model ics: {status_text(plan['status'], plan['gap'])}"
    assert "_" not in out.splitlines()[0]
    for key in (
        "model",
        "status",
        "gap",
        "budget_gbp",
        "cost_gbp",
        "benefit_gbp",
        "objective",
        "adoptions",
        "trusts",
        "equity",
        "greedy",
    ):
        assert key in plan, key
    assert plan["model"] == "ics"
    assert plan["status"] in ("optimal", "gap_reached")
    assert 0 <= plan["gap"] <= plan["scenario"]["mip_gap"]
    assert plan["budget_gbp"] == 2_000_000
    assert 0 < plan["cost_gbp"] <= plan["budget_gbp"]
    assert plan["benefit_gbp"] > plan["cost_gbp"]
    assert isinstance(plan["adoptions"], list)
    assert plan["adoptions"]
    for a in plan["adoptions"]:
        assert {"trust", "product", "cost_gbp", "benefit_gbp"} <= set(a)
        assert a["trust"] in TRUSTS.index
        assert a["product"] in PRODUCTS.index
    assert len(pairs(plan)) == len(plan["adoptions"])
    assert isinstance(plan["trusts"], list)
    assert {t["trust"] for t in plan["trusts"]} == set(TRUSTS.index)
    for t in plan["trusts"]:
        assert {"trust", "ics", "cost_gbp", "benefit_gbp", "coverage"} <= set(t)
        assert t["ics"] == "QNA"
        assert 0 <= t["coverage"] <= 1
    assert isinstance(plan["equity"], dict)
    assert plan["equity"]["trusts_with_new_adoptions"] == len(
        {a["trust"] for a in plan["adoptions"]}
    )
    assert {"benefit_gbp", "cost_gbp"} <= set(plan["greedy"])
    assert plan["greedy"]["cost_gbp"] <= plan["budget_gbp"]
    assert plan["greedy"]["benefit_gbp"] <= plan["benefit_gbp"] + 1e-6
    assert plan["base_case"] is None  # no equity setting is on
    assert "timings" not in plan


def _assert_costs_add_up(plan: dict) -> int:
    """cost_gbp = sum of adoption costs + one platform per trust that buys one."""
    per_platform = platform_cost(plan)
    bought = [t["trust"] for t in plan["trusts"] if t["platform_bought"]]
    adoption_cost = sum(a["cost_gbp"] for a in plan["adoptions"])
    assert adoption_cost + len(bought) * per_platform == pytest.approx(plan["cost_gbp"], abs=1e-3)
    assert sum(t["cost_gbp"] for t in plan["trusts"]) == pytest.approx(plan["cost_gbp"], abs=1e-3)
    for t in plan["trusts"]:
        own = sum(a["cost_gbp"] for a in plan["adoptions"] if a["trust"] == t["trust"])
        extra = per_platform if t["platform_bought"] else 0.0
        assert t["cost_gbp"] == pytest.approx(own + extra, abs=1e-3)
    return len(bought)


def test_costs_add_up_without_platforms(base):
    assert _assert_costs_add_up(base) == 0


def test_costs_add_up_with_a_platform(tmp_path):
    # RBH has no platform; LNC-ORV needs one, so locking it in buys RBH a platform
    assert TRUSTS.loc["RBH", "has_platform"] != "yes"
    assert PRODUCTS.loc["LNC-ORV", "needs_platform"] == "yes"
    plan = solve_json(tmp_path, "--lock", "RBH:LNC-ORV")
    assert ("RBH", "LNC-ORV") in pairs(plan)
    assert _assert_costs_add_up(plan) >= 1
    assert plan["cost_gbp"] <= plan["budget_gbp"]


def test_solve_is_deterministic_in_process_and_in_a_subprocess(tmp_path, base):
    args = ["solve", "--data", str(DEFAULT), "--budget", "2m", "--quiet", "--json"]
    one, two, three = tmp_path / "1.json", tmp_path / "2.json", tmp_path / "3.json"
    assert main(args + [str(one)]) == 0
    assert main(args + [str(two)]) == 0
    proc = run_subprocess(tmp_path, *args, three)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert one.read_bytes() == two.read_bytes() == three.read_bytes()
    assert json.loads(one.read_text(encoding="utf-8")) == base


def test_timings_are_only_written_when_asked(tmp_path):
    plan = solve_json(tmp_path, "--timings")
    assert set(plan["timings"]) == {"build_seconds", "solve_seconds"}


def test_json_to_stdout_is_clean_json_despite_the_solver_banner(tmp_path, base):
    proc = run_subprocess(tmp_path, "solve", "--data", DEFAULT, "--budget", "2m", "--json", "-")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert json.loads(proc.stdout) == base
    assert proc.stderr.startswith("model ics: ")  # the summary goes to stderr instead


def test_compare_json_to_stdout(capsys, compared):
    _, plans = compared
    code, out, err = run(capsys, "compare", "--data", DEFAULT, "--budget", "2m", "--json", "-")
    assert code == 0
    assert json.loads(out) == plans
    assert [line.split(":")[0] for line in err.splitlines() if line.startswith("model")] == [
        "model local",
        "model ics",
        "model central",
    ]


# ---------------------------------------------------------------------------------------
# compare


def test_compare_json_holds_three_plans_on_the_same_money(compared, base):
    _, data = compared
    assert list(data) == ["plans"]
    plans = data["plans"]
    assert [p["model"] for p in plans] == ["local", "ics", "central"]
    assert {p["budget_gbp"] for p in plans} == {2_000_000}
    for p in plans:
        assert p["cost_gbp"] <= p["budget_gbp"]
        _assert_costs_add_up(p)
    assert plans[1] == base
    units = {p["model"]: [u["buying_unit"] for u in p["buying_units"]] for p in plans}
    assert units["local"] == sorted(TRUSTS.index)
    assert units["ics"] == ["QNA"]
    assert len(units["central"]) == 1


def test_compare_csv_and_xlsx_match_the_json(compared):
    out, data = compared
    plans = data["plans"]
    table = pd.read_csv(out / "csv" / "comparison.csv")
    assert table["model"].tolist() == ["local", "ics", "central"]
    for row, plan in zip(table.itertuples(), plans, strict=True):
        assert row.cost_gbp == pytest.approx(plan["cost_gbp"], abs=1e-3)
        assert row.benefit_gbp == pytest.approx(plan["benefit_gbp"], abs=1e-3)
        assert row.adoptions == len(plan["adoptions"])
        adoptions = pd.read_csv(out / "csv" / f"{plan['model']}_adoptions.csv")
        assert len(adoptions) == len(plan["adoptions"])
    wb = openpyxl.load_workbook(out / "plans.xlsx", read_only=True)
    expected = {"comparison"} | {f"{p['model']}_{s}" for p in plans for s in PLAN_SHEETS}
    assert set(wb.sheetnames) == expected
    for plan in plans:
        rows = list(wb[f"{plan['model']}_adoptions"].iter_rows(values_only=True))
        assert len(rows) - 1 == len(plan["adoptions"])
    wb.close()


# ---------------------------------------------------------------------------------------
# CSV and Excel exports of one plan


def test_solve_csv_and_xlsx_match_the_json(tmp_path, capsys):
    code, _, err = run(
        capsys,
        "solve",
        "--data",
        DEFAULT,
        "--budget",
        "2m",
        "--json",
        tmp_path / "plan.json",
        "--csv",
        tmp_path / "csv",
        "--xlsx",
        tmp_path / "plan.xlsx",
    )
    assert (code, err) == (0, "")
    plan = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    assert {p.name for p in (tmp_path / "csv").iterdir()} == {f"{s}.csv" for s in PLAN_SHEETS}
    adoptions = pd.read_csv(tmp_path / "csv" / "adoptions.csv")
    assert len(adoptions) == len(plan["adoptions"])
    assert set(zip(adoptions["trust"], adoptions["product"], strict=True)) == pairs(plan)
    assert adoptions["cost_gbp"].sum() == pytest.approx(
        sum(a["cost_gbp"] for a in plan["adoptions"]), abs=1e-3
    )
    summary = pd.read_csv(tmp_path / "csv" / "summary.csv")
    assert len(summary) == 1
    assert summary.loc[0, "cost_gbp"] == pytest.approx(plan["cost_gbp"], abs=1e-3)
    assert summary.loc[0, "adoptions"] == len(plan["adoptions"])
    trusts = pd.read_csv(tmp_path / "csv" / "trusts.csv")
    assert trusts["cost_gbp"].sum() == pytest.approx(plan["cost_gbp"], abs=1e-3)

    wb = openpyxl.load_workbook(tmp_path / "plan.xlsx", read_only=True)
    assert set(wb.sheetnames) == PLAN_SHEETS
    rows = list(wb["adoptions"].iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert len(body) == len(plan["adoptions"])
    cost = header.index("cost_gbp")
    assert sum(r[cost] for r in body) == pytest.approx(plan["cost_gbp"], abs=1e-3)
    srows = list(wb["summary"].iter_rows(values_only=True))
    assert dict(zip(srows[0], srows[1], strict=True))["cost_gbp"] == pytest.approx(
        plan["cost_gbp"], abs=1e-3
    )
    wb.close()


# ---------------------------------------------------------------------------------------
# formula injection


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Northvale NHS Trust", "Northvale NHS Trust"),
        ("a=b", "a=b"),
        ("", ""),
        (-1, -1),
        (-2.5, -2.5),
        (None, None),
    ],
)
def test_safe_cell(value, expected):
    assert report.safe_cell(value) == expected


def test_safe_frame_neutralises_text_and_keeps_numbers():
    frame = pd.DataFrame({"name": ["=1+1", "ok", "-x"], "=col": [-1.5, 2.0, -3.0]})
    safe = report.safe_frame(frame)
    assert list(safe.columns) == ["name", "'=col"]
    assert safe["name"].tolist() == ["'=1+1", "ok", "'-x"]
    assert safe["'=col"].tolist() == [-1.5, 2.0, -3.0]
    assert pd.api.types.is_float_dtype(safe["'=col"])
    assert frame["name"].tolist() == ["=1+1", "ok", "-x"]  # the input is left alone


PAYLOADS = ["=cmd|' /C calc'!A0", "+1", "-1", "@SUM(1)"]


@pytest.fixture(scope="module")
def hostile_plan(default_ics):
    plan = solve(default_ics, Scenario(budget_gbp=2_000_000.0))
    adoptions = plan.adoptions.copy()
    n = len(PAYLOADS)
    assert len(adoptions) >= n
    adoptions.loc[: n - 1, "trust_name"] = PAYLOADS
    adoptions.loc[: n - 1, "product_name"] = list(reversed(PAYLOADS))
    adoptions.loc[0, "benefit_per_gbp"] = -1.0
    plan.adoptions = adoptions
    return plan


def test_exported_csv_has_no_formula_cells(tmp_path, hostile_plan):
    report.write_plan_csv(hostile_plan, tmp_path)
    with (tmp_path / "adoptions.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    for row in body:
        for cell in row:
            if cell.startswith(FORMULA_START):
                float(cell)  # only a number may start with '-' (or '+')
    names = [r[header.index("trust_name")] for r in body[: len(PAYLOADS)]]
    assert names == ["'" + p for p in PAYLOADS]
    products = [r[header.index("product_name")] for r in body[: len(PAYLOADS)]]
    assert products == ["'" + p for p in reversed(PAYLOADS)]
    assert float(body[0][header.index("benefit_per_gbp")]) == -1.0
    assert len(body) == len(hostile_plan.adoptions)


def test_exported_xlsx_has_no_formula_cells(tmp_path, hostile_plan):
    path = tmp_path / "plan.xlsx"
    report.write_plan_xlsx(hostile_plan, path)
    wb = openpyxl.load_workbook(path)  # not read-only: data_type tells formulas apart
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(FORMULA_START), cell.value
    ws = wb["adoptions"]
    header = [c.value for c in ws[1]]
    names = [ws.cell(row=i + 2, column=header.index("trust_name") + 1).value for i in range(4)]
    assert names == ["'" + p for p in PAYLOADS]
    ratio = ws.cell(row=2, column=header.index("benefit_per_gbp") + 1)
    assert ratio.value == -1.0
    assert ratio.data_type == "n"
    assert ws.max_row - 1 == len(hostile_plan.adoptions)


def test_plan_solved_without_greedy_can_be_exported(tmp_path, default_ics):
    plan = solve(
        default_ics,
        Scenario(budget_gbp=2_000_000.0),
        with_greedy=False,
        with_base_case=False,
        with_marginal=False,
    )
    report.write_plan_csv(plan, tmp_path)
    assert (tmp_path / "summary.csv").exists()


# ---------------------------------------------------------------------------------------
# options


@pytest.mark.parametrize("model", ["local", "ics", "central"])
def test_model_option(tmp_path, compared, model):
    plan = solve_json(tmp_path, "--model", model)
    assert plan["model"] == model
    assert plan["scenario"]["model"] == model
    _, data = compared
    from_compare = copy.deepcopy(next(p for p in data["plans"] if p["model"] == model))
    # compare keeps the scenario's own model setting; everything else is the same plan
    plan["scenario"].pop("model")
    from_compare["scenario"].pop("model")
    assert plan == from_compare
    if model == "central":
        assert all(PRODUCTS.loc[pc, "framework"] == "yes" for _, pc in pairs(plan))


def test_equity_weight_reports_the_benefit_given_up(tmp_path, base):
    plan = solve_json(tmp_path, "--equity-weight", "1")
    assert plan["scenario"]["equity_weight"] == 1.0
    bc = plan["base_case"]
    assert bc is not None
    assert bc["benefit_given_up_for_equity_gbp"] >= 0
    assert bc["benefit_given_up_for_equity_gbp"] == pytest.approx(
        bc["benefit_gbp"] - plan["benefit_gbp"], abs=1e-3
    )
    assert bc["benefit_gbp"] == pytest.approx(base["benefit_gbp"], rel=2e-4)
    assert plan["weighted_benefit_gbp"] != pytest.approx(plan["benefit_gbp"])


def test_coverage_floor_lifts_every_trust(tmp_path, base):
    floor = 0.05
    assert min(t["coverage"] for t in base["trusts"]) < floor  # the floor has work to do
    plan = solve_json(tmp_path, "--coverage-floor", "5%")
    assert plan["scenario"]["coverage_floor"] == pytest.approx(floor)
    assert min(t["coverage"] for t in plan["trusts"]) >= floor - 1e-6
    assert plan["equity"]["min_coverage"] >= floor - 1e-6
    assert plan["base_case"]["benefit_given_up_for_equity_gbp"] >= 0
    assert plan["cost_gbp"] <= plan["budget_gbp"]


def test_lock_and_exclude(tmp_path, base):
    lock, exclude = ("RBH", "LNC-ORV"), ("RNV", "BRS-MMR")
    assert lock not in pairs(base)
    assert exclude in pairs(base)
    plan = solve_json(tmp_path, "--lock", ":".join(lock), "--exclude", ":".join(exclude))
    assert lock in pairs(plan)
    assert exclude not in pairs(plan)
    assert plan["scenario"]["locks"] == [
        {"trust": "RBH", "product": "LNC-ORV", "adopt": True},
        {"trust": "RNV", "product": "BRS-MMR", "adopt": False},
    ]
    assert plan["benefit_gbp"] <= base["benefit_gbp"] * (1 + 2e-4)


def test_ics_option_plans_one_ics_of_england(tmp_path):
    england = pd.read_csv(ENGLAND / "trusts.csv")
    code = sorted(pd.read_csv(ENGLAND / "icss.csv")["ics_code"])[0]
    expected = set(england.loc[england["ics_code"] == code, "trust_code"])
    assert 0 < len(expected) < len(england)
    path = tmp_path / "plan.json"
    args = ["solve", "--data", ENGLAND, "--ics", code, "--budget", "2m", "--quiet"]
    assert main([str(a) for a in [*args, "--json", path]]) == 0
    plan = json.loads(path.read_text(encoding="utf-8"))
    assert {t["trust"] for t in plan["trusts"]} == expected
    assert {t["ics"] for t in plan["trusts"]} == {code}
    assert {a["trust"] for a in plan["adoptions"]} <= expected
    assert plan["budget_gbp"] == 2_000_000
    assert plan["cost_gbp"] <= plan["budget_gbp"]


def test_set_lead_time_moves_the_central_go_live(tmp_path, compared):
    _, data = compared
    before = next(p for p in data["plans"] if p["model"] == "central")
    assert before["scenario"]["procurement"]["central"]["lead_time_months"] == 14
    for a in before["adoptions"]:
        impl = PRODUCTS.loc[a["product"], "implementation_months"]
        assert a["go_live_months"] == pytest.approx(14 + impl)
    plan = solve_json(
        tmp_path, "--model", "central", "--set", "procurement.central.lead_time_months=18"
    )
    assert plan["scenario"]["procurement"]["central"]["lead_time_months"] == 18
    assert plan["adoptions"]
    for a in plan["adoptions"]:
        impl = PRODUCTS.loc[a["product"], "implementation_months"]
        assert a["go_live_months"] == pytest.approx(18 + impl)
    assert plan["scenario"]["procurement"]["ics"] == before["scenario"]["procurement"]["ics"]


@pytest.mark.parametrize(
    ("filename", "text"),
    [
        (
            "scenario.yaml",
            "model: central\nbudget_gbp: 1.5m\nhorizon_years: 4\n"
            "procurement:\n  central:\n    lead_time_months: 10\n",
        ),
        (
            "scenario.toml",
            'model = "central"\nbudget_gbp = "1.5m"\nhorizon_years = 4\n\n'
            "[procurement.central]\nlead_time_months = 10\n",
        ),
    ],
    ids=["yaml", "toml"],
)
def test_scenario_file(tmp_path, capsys, filename, text):
    path = tmp_path / filename
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "plan.json"
    code, stdout, err = run(capsys, "solve", "--data", DEFAULT, "--scenario", path, "--json", out)
    assert (code, err) == (0, "")
    assert stdout.startswith("model central: ")
    plan = json.loads(out.read_text(encoding="utf-8"))
    assert plan["model"] == "central"
    assert plan["budget_gbp"] == 1_500_000
    assert plan["scenario"]["horizon_years"] == 4
    assert plan["scenario"]["procurement"]["central"]["lead_time_months"] == 10
    assert plan["scenario"]["procurement"]["central"]["platform_share"] == 0.5  # default kept
    for a in plan["adoptions"]:
        impl = PRODUCTS.loc[a["product"], "implementation_months"]
        assert a["go_live_months"] == pytest.approx(10 + impl)
    # the command line wins over the file
    code, _, _ = run(
        capsys, "solve", "--data", DEFAULT, "--scenario", path, "--budget", "1m", "--json", out
    )
    assert code == 0
    assert json.loads(out.read_text(encoding="utf-8"))["budget_gbp"] == 1_000_000


# ---------------------------------------------------------------------------------------
# infeasible scenarios


def _infeasible_lines(code: int, out: str, err: str) -> list[str]:
    assert code == 3, err
    assert out == ""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines
    assert all(line.startswith("infeasible: ") for line in lines), err
    return lines


def test_locks_that_cost_more_than_the_budget(capsys):
    code, out, err = run(
        capsys,
        "solve",
        "--data",
        DEFAULT,
        "--budget",
        "10k",
        "--lock",
        "RNV:BRS-MMR",
        "--lock",
        "RAS:BRS-MMR",
        "--lock",
        "RNV:LNC-PLM",
    )
    lines = _infeasible_lines(code, out, err)
    assert len(lines) == 1
    assert "locks alone cost at least" in lines[0]
    assert "budget £10,000" in lines[0]


def test_coverage_floor_that_capacity_cannot_reach(capsys):
    code, out, err = run(
        capsys, "solve", "--data", DEFAULT, "--budget", "2m", "--coverage-floor", "1.0"
    )
    lines = _infeasible_lines(code, out, err)
    # each trust by name, with its code to find it in the data
    named = {
        tc for tc in TRUSTS.index for line in lines
        if f"{TRUSTS.loc[tc, 'trust_name']} ({tc}) can cover" in line
    }  # fmt: skip
    assert named
    assert all("coverage floor 100%" in line for line in lines)
    rbh = next(line for line in lines if "(RBH) can cover" in line)
    assert f"IT capacity {TRUSTS.loc['RBH', 'it_capacity']}" in rbh


def test_two_locks_in_one_use_case(capsys):
    assert PRODUCTS.loc["LNC-PLM", "use_case"] == PRODUCTS.loc["LNC-ORV", "use_case"]
    code, out, err = run(
        capsys,
        "solve",
        "--data",
        DEFAULT,
        "--budget",
        "2m",
        "--lock",
        "RNV:LNC-PLM",
        "--lock",
        "RNV:LNC-ORV",
    )
    lines = _infeasible_lines(code, out, err)
    assert lines == [
        "infeasible: locks force 2 products for lung nodules on CT at "
        "Northvale Teaching Hospitals NHS Foundation Trust (RNV)"
    ]


def test_infeasible_as_a_subprocess(tmp_path):
    proc = run_subprocess(
        tmp_path,
        "solve",
        "--data",
        DEFAULT,
        "--budget",
        "2m",
        "--lock",
        "RNV:LNC-PLM",
        "--exclude",
        "RNV:LNC-PLM",
    )
    lines = _infeasible_lines(proc.returncode, proc.stdout, proc.stderr)
    assert any("RNV" in line and "LNC-PLM" in line for line in lines)


# ---------------------------------------------------------------------------------------
# validate, template, generate


def test_validate_accepts_the_default_ics(capsys):
    code, out, err = run(capsys, "validate", "--data", DEFAULT)
    assert (code, err) == (0, "")
    n = {name: len(pd.read_csv(DEFAULT / f"{name}.csv")) for name in FILES}
    assert out.strip() == (
        f"{DEFAULT}: valid ({n['icss']} ICSs, {n['trusts']} trusts, {n['products']} products, "
        f"{n['price_tiers']} price tiers, {n['deployments']} existing deployments)"
    )


def test_template_writes_files_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "tpl"
    code, stdout, err = run(capsys, "template", out)
    assert (code, err) == (0, "")
    assert stdout.strip() == f"wrote 8 template files to {out}"
    names = {f"{n}.csv" for n in ALL_FILES} | {"template.xlsx"}
    assert {p.name for p in out.iterdir()} == names
    for name in FILES:
        with (out / f"{name}.csv").open(newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        assert rows == [[c.column for c in columns(name)]]
    wb = openpyxl.load_workbook(out / "template.xlsx", read_only=True)
    assert set(wb.sheetnames) == set(ALL_FILES) | {"dictionary"}
    header = next(wb["trusts"].iter_rows(values_only=True))
    assert list(header) == [c.column for c in columns("trusts")]
    wb.close()

    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()}
    code, stdout, err = run(capsys, "template", out)
    assert code == 2
    assert stdout == ""
    assert err.startswith("error: ")
    assert "already exists" in err
    assert "Traceback" not in err
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()}
    assert after == before


def test_empty_template_fails_validation_file_by_file(tmp_path, capsys):
    out = tmp_path / "tpl"
    assert main(["template", str(out)]) == 0
    capsys.readouterr()
    code, _, err = run(capsys, "validate", "--data", out)
    assert code == 2
    lines = err.strip().splitlines()
    assert sorted(lines) == sorted(
        f"error: {n}.csv: has no data rows; add at least one row" for n in FILES[:4]
    )


def test_generate_writes_a_dataset_that_validates(tmp_path, capsys):
    out = tmp_path / "gen"
    code, stdout, err = run(
        capsys, "generate", "--out", out, "--icss", "3", "--trusts", "7", "--seed", "1"
    )
    assert (code, err) == (0, "")
    assert "3 ICSs, 7 trusts" in stdout
    assert {p.name for p in out.iterdir()} == {f"{n}.csv" for n in ALL_FILES}
    code, stdout, err = run(capsys, "validate", "--data", out)
    assert (code, err) == (0, "")
    assert "valid (3 ICSs, 7 trusts" in stdout
    # same seed, same bytes; an existing folder is not overwritten
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    code, _, err = run(
        capsys, "generate", "--out", out, "--icss", "3", "--trusts", "7", "--seed", "1"
    )
    assert code == 2
    assert err.startswith("error: ")
    again = tmp_path / "again"
    assert (
        main(["generate", "--out", str(again), "--icss", "3", "--trusts", "7", "--seed", "1"]) == 0
    )
    assert {p.name: p.read_bytes() for p in again.iterdir()} == first


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--icss", "5", "--trusts", "2"], "--trusts must be at least --icss"),
        (["--icss", "0", "--trusts", "2"], "--icss must be at least 1"),
        (["--icss", "1", "--trusts", "9"], "8 * n_ics"),
        (["--icss", "2", "--trusts", "3", "--products", "0"], "--products must be at least 1"),
    ],
)
def test_generate_refuses_impossible_sizes(tmp_path, capsys, args, words):
    out = tmp_path / "gen"
    code, stdout, err = run(capsys, "generate", "--out", out, *args)
    assert code == 2
    assert stdout == ""
    assert err.startswith("error: ")
    assert words in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_generate_impossible_sizes_as_a_subprocess(tmp_path):
    out = tmp_path / "gen"
    proc = run_subprocess(tmp_path, "generate", "--out", out, "--icss", "5", "--trusts", "2")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ")
    assert not out.exists()


def test_rollout_command_writes_schedule_and_curves(tmp_path, capsys):
    out, curve = tmp_path / "rollout.csv", tmp_path / "curve.csv"
    code, stdout, err = run(
        capsys,
        "rollout",
        "--data",
        DEFAULT,
        "--budget",
        "2m",
        "--years",
        "3",
        "--out",
        out,
        "--curve",
        curve,
    )
    assert code == 0, err
    assert stdout.count("model ") == 3
    schedule = pd.read_csv(out)
    assert set(schedule["model"]) == {"local", "ics", "central"}
    assert schedule["start_year"].between(1, 3).all()
    curves = pd.read_csv(curve)
    assert set(curves["model"]) == {"local", "ics", "central"}
    code, _, err = run(capsys, "rollout", "--data", DEFAULT, "--years", "9")
    assert code == 2
    assert "--years" in err


def test_solve_writes_cost_shares(tmp_path, capsys):
    out = tmp_path / "shares"
    code, _, err = run(
        capsys, "solve", "--data", DEFAULT, "--budget", "2m", "--quiet", "--cost-share", out
    )
    assert code == 0, err
    shares = pd.read_csv(out / "cost_share.csv")
    pools = pd.read_csv(out / "cost_share_pools.csv")
    shapley = shares[shares["rule"] == "shapley"]
    assert shapley["share_gbp"].sum() == pytest.approx(pools["pooled_cost_gbp"].sum(), rel=1e-9)


def test_explain_refuses_a_cap_on_re_solves_shared_between_threads(tmp_path, capsys):
    out = tmp_path / "why"
    args = ["explain", "--data", DEFAULT, "--budget", "2m", "--out", out, "--max-resolves", "5"]
    code, _, err = run(capsys, *args, "--workers", "2")
    assert code == 2
    assert "--max-resolves needs --workers 1" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_explain_command_writes_tables_and_a_page_per_trust(tmp_path, capsys):
    out = tmp_path / "why"
    args = ["explain", "--data", DEFAULT, "--budget", "2m", "--trust", "RBH", "--out", out]
    code, stdout, err = run(capsys, *args)
    assert code == 0, err
    assert "re-solves" in stdout
    page = (out / "trusts" / "RBH.html").read_text("utf-8")
    assert "Brackenholt" in page
    assert "<script" not in page
    not_chosen = pd.read_csv(out / "not_chosen.csv")
    assert (not_chosen["trust"] == "RBH").all()
    written = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    (out / "trusts" / "RBH.html").unlink()  # only the tables are there now
    code, _, err = run(capsys, *args)  # nothing is overwritten, tables included
    assert code == 2
    assert "already exists" in err
    assert "--overwrite" in err
    assert not (out / "trusts" / "RBH.html").exists()
    for path, data in written.items():
        if path.suffix == ".csv":
            assert path.read_bytes() == data
    code, _, err = run(capsys, *args, "--overwrite")
    assert code == 0, err
    assert (out / "trusts" / "RBH.html").exists()
    code, _, err = run(capsys, "explain", "--data", DEFAULT, "--trust", "XXX", "--out", out)
    assert code == 2


# ---------------------------------------------------------------------------------------
# conventions: --version, --help, start-up, exit codes of files and errors

HEAVY = ("pandas", "numpy", "pulp", "highspy")
PROBE = """
import json, sys
from planner.cli import main
try:
    code = main(json.loads(sys.argv[1]))
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "heavy": sorted(set(%r) & set(sys.modules))}))
"""


def test_version_prints_the_package_version(capsys):
    version = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr() == (f"planner {version}\n", "")


def test_help_lists_every_command_and_the_exit_codes(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    parser = cli.build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    helps = {c.dest: c.help for c in commands._choices_actions}
    assert set(helps) == set(cli.COMMANDS)
    for name, text in helps.items():
        assert any(line.split() == [name, *text.split()] for line in lines), name
    assert "--version" in out
    epilog = lines[lines.index("exit codes:") + 1 :]
    codes = [line.split()[0] for line in epilog if re.match(r"\s+\d\s", line)]
    assert codes == ["0", "1", "2", "3", "4", "5", "6"]
    text = " ".join(" ".join(epilog).split())
    for meaning in ("success", "bad input", "no plan meets", "solver failed", "could not be read"):
        assert meaning in text
    for code, meaning in cli.EXIT_CODES.items():
        assert f"{code} {meaning}" in text


@pytest.mark.parametrize("argv", [[], ["--help"], ["--version"], ["solve", "--help"]])
def test_help_and_version_do_not_load_the_solver_or_pandas(tmp_path, argv):
    proc = subprocess.run(
        [sys.executable, "-c", PROBE % (HEAVY,), json.dumps(argv)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result == {"code": 2 if argv == [] else 0, "heavy": []}, proc.stderr


def test_help_import_profile_has_no_solver_or_pandas(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "planner.cli", "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "planner" in imported  # the profile is really there
    assert imported & set(HEAVY) == set()


def test_import_planner_is_lazy_and_keeps_its_public_names(tmp_path):
    """``import planner`` is cheap; names load on use, and a submodule never hides one."""
    code = f"""
import sys
import planner
heavy_after_import = sorted(set({HEAVY!r}) & set(sys.modules))
names = dir(planner)
assert {{"data", "rollout", "solve"}} <= set(names), names
assert planner.data.load_upload and planner.rollout.RolloutSettings  # submodules, on use
import planner.solve, planner.evaluate  # submodules named like the public functions
from planner.solve import has_plan
from planner import Scenario, solve
import planner.plan, planner.evaluate as ev
assert solve is planner.solve is planner.plan.solve, planner.solve
assert ev is planner.evaluate is sys.modules["planner.evaluate"].evaluate
assert Scenario is sys.modules["planner.scenario"].Scenario
from planner import *
print(heavy_after_import, set(planner.__all__) <= set(names), callable(evaluate))
"""
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["[]", "True", "True"]
    import planner

    assert planner.__all__ == sorted(planner.__all__)
    assert {"solve", "compare", "Scenario", "load_dataset", "PlannerError"} <= set(planner.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        planner.nonsense  # noqa: B018


def test_an_output_under_a_file_cannot_be_written(tmp_path, capsys):
    """A folder that is a file is an operating-system refusal (exit 6), not bad input."""
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder", encoding="utf-8")
    code, out, err = run(capsys, "template", blocker / "sub")
    assert (code, out) == (6, "")
    assert err == f"error: could not write {blocker / 'sub'}: Not a directory\n"
    proc = run_subprocess(
        tmp_path, "solve", "--data", DEFAULT, "--budget", "2m", "--quiet", "--json",
        "afile/out/plan.json",
    )  # fmt: skip
    assert (proc.returncode, proc.stdout) == (6, "")
    assert proc.stderr == "error: could not write afile/out/plan.json: afile/out is not a folder\n"


class FullDisk:
    """The ``os`` module, except that the disk is full when a written file is moved in place."""

    def __getattr__(self, name):
        return getattr(os, name)

    def replace(self, src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_names_the_file_it_could_not_write(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("planner.sheets.os", FullDisk())
    target = tmp_path / "plan.json"
    code, out, err = run(
        capsys, "solve", "--data", DEFAULT, "--budget", "2m", "--quiet", "--json", target
    )
    assert (code, out) == (6, "")
    assert err == f"error: could not write {target}: No space left on device\n"
    assert list(tmp_path.iterdir()) == []  # no half-written or temporary file left


def test_an_input_that_cannot_be_read(tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(DEFAULT, data)
    (data / "trusts.csv").unlink()
    (data / "trusts.csv").mkdir()
    code, out, err = run(capsys, "validate", "--data", data)
    assert (code, out) == (6, "")
    assert err == f"error: could not read {data / 'trusts.csv'}: Is a directory\n"
    folder = tmp_path / "scenario.yaml"
    folder.mkdir()
    code, out, err = run(capsys, "solve", "--data", DEFAULT, "--scenario", folder)
    assert (code, out) == (6, "")
    assert err == f"error: could not read {folder}: Is a directory\n"


def test_refusing_to_overwrite_stays_bad_input(tmp_path, capsys):
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "icss.csv").write_text("mine", encoding="utf-8")
    code, _, err = run(capsys, "template", tmp_path / "tpl")
    assert code == 2
    assert err.startswith(f"error: {tmp_path / 'tpl' / 'icss.csv'} already exists")


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (PlannerError("the plan does not belong to this dataset"), 1, "error: the plan does"),
        (SolverError("HiGHS stopped without a plan", "no_plan"), 4, "solver error: HiGHS stopped"),
        (RuntimeError("boom"), 1, "internal error: RuntimeError: boom (rerun with PLANNER_DEBUG"),
    ],
)
def test_only_a_solver_failure_is_a_solver_error(capsys, monkeypatch, error, code, message):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.delenv("PLANNER_DEBUG", raising=False)
    monkeypatch.setattr("planner.plan.solve", fail)
    got, out, err = run(capsys, "solve", "--data", DEFAULT, "--budget", "2m")
    assert (got, out) == (code, "")
    assert err.startswith(message)
    assert len(err.splitlines()) == 1


def test_solve_explain_writes_the_explanation_and_the_pages(tmp_path, capsys):
    """``solve --explain DIR`` used to be accepted and do nothing."""
    data = tmp_path / "data"
    data.mkdir()
    small = make_dataset(
        [{"trust_code": "A"}, {"trust_code": "B", "xray_per_year": 3000}],
        [
            {"product_code": "P", "implementation_gbp": 1500},
            {"product_code": "Q", "use_case": "u2", "implementation_gbp": 2500},
        ],
    )
    for name, frame in small.tables().items():
        frame.to_csv(data / f"{name}.csv", index=False)
    out = tmp_path / "why"
    code, stdout, err = run(capsys, "solve", "--data", data, "--budget", "3000", "--explain", out)
    assert code == 0, err
    assert f"wrote the explanation and a page per trust to {out}" in stdout
    assert len(pd.read_csv(out / "not_chosen.csv")) >= 1
    assert sorted(p.name for p in (out / "trusts").iterdir()) == ["A.html", "B.html"]


def test_ctrl_c_between_solves_ends_with_one_line_and_exit_130(capsys, monkeypatch):
    """A KeyboardInterrupt reaching the command line is one line and exit 130."""
    import planner.cli as cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setitem(
        cli.COMMANDS, "validate", cli.COMMANDS["validate"]._replace(run=interrupted)
    )
    code, out, err = run(capsys, "validate", "--data", DEFAULT)
    assert code == 130
    assert err.strip().splitlines() == ["stopped (Ctrl-C); files are written whole or not at all"]


def test_what_more_money_buys_is_asked_for_with_marginal(tmp_path, capsys):
    """The next £100k costs one more solve: printed and in the JSON only with --marginal."""
    plain, asked = tmp_path / "plain.json", tmp_path / "asked.json"
    code, out, _ = run(capsys, "solve", "--data", DEFAULT, "--budget", "2m", "--json", plain)
    assert code == 0
    assert "of budget adds" not in out
    assert json.loads(plain.read_text())["marginal"] == {"computed": False}
    args = ["solve", "--data", DEFAULT, "--budget", "2m", "--marginal", "--json", asked]
    code, out, _ = run(capsys, *args)
    assert code == 0
    block = json.loads(asked.read_text())["marginal"]
    assert block["computed"] is True
    assert f"next £100,000 of budget adds {pounds(block['extra_benefit_gbp'])} of benefit" in out
    code, out, _ = run(capsys, "compare", "--data", DEFAULT, "--budget", "2m", "--marginal")
    assert (code, out.count("of budget adds")) == (0, 3)

"""Every page of the Streamlit app through AppTest: widgets by key, figures from Plotly specs."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from streamlit import dataframe_util
from streamlit.testing.v1 import AppTest

from planner.formatting import USE_CASE_NAMES

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")


def run_page(page: str | None = None, **widgets) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    for key, value in widgets.items():
        widget = at.slider(key=key) if key in SLIDERS else at.radio(key=key)
        widget.set_value(value)
    if widgets:
        at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


SLIDERS = {"budget_gbp", "equity_weight", "coverage_floor", "frontier_points"}


def spec(at: AppTest, key: str) -> dict:
    for chart in at.get("plotly_chart"):
        if chart.proto.id and key in chart.proto.id:
            return json.loads(chart.proto.spec)
    raise AssertionError(f"no chart {key}")


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def scoped(widgets, name: str):
    """The one widget kept per dataset and ICS under ``name`` (its key is ``name:...``)."""
    (found,) = [w for w in widgets if w.key and w.key.startswith(name + ":")]
    return found


def table(at: AppTest, *columns: str):
    """The one table on the page whose columns include all of ``columns``."""
    (found,) = [d for d in at.dataframe if set(columns) <= set(d.value.columns)]
    return found


def shown(element) -> pd.DataFrame:
    """A table as the user reads it: the formatted text of every cell."""
    display = element.proto.arrow_data.styler.display_values
    assert display, "the table is not formatted"
    return dataframe_util.convert_arrow_bytes_to_pandas_df(display).astype(str)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def heatmap(at: AppTest) -> dict:
    (fig,) = [c for c in charts(at) if c["data"][0]["type"] == "heatmap"]
    return fig


# --- Plan -----------------------------------------------------------------------------


def test_switching_the_dataset_names_an_ics_of_the_new_dataset():
    """Both shipped datasets have an ICS coded QNA; the sidebar must name the new one."""
    import planner
    from app_pages.shared import SHIPPED

    at = run_page()
    default, england = (str(p) for p in SHIPPED.values())
    assert scoped(at.selectbox, "ics").key == f"ics:{default}"
    at.selectbox(key="dataset").set_value(england).run()
    assert not at.exception
    ics = scoped(at.selectbox, "ics")
    assert ics.key == f"ics:{england}"  # a fresh widget, not the default ICS's
    names = planner.load_dataset(england).icss["ics_name"]
    assert ics.options[ics.index] == names[ics.value]
    at.selectbox(key="dataset").set_value(default).run()
    ics = scoped(at.selectbox, "ics")
    assert ics.options[ics.index] == "Northvale and Ashby ICS"


def test_plan_page_key_figures_heatmap_and_bars():
    at = run_page()
    m = metrics(at)
    assert set(m) >= {
        "Spend",
        "Benefit",
        "Trusts with new AI",
        "Lowest trust coverage",
        "Given up for equity",
    }
    assert m["Spend"].startswith("£")
    assert m["Benefit"].endswith("m")
    fig = heatmap(at)
    z = fig["data"][0]["z"]
    assert any(1.0 in row for row in z)  # adoptions drawn
    assert any(0.5 in row for row in z)  # existing deployments drawn
    assert all("NHS" not in y for y in fig["data"][0]["y"])  # short trust names, not codes
    bars = [c for c in charts(at) if c["data"][0]["type"] == "bar"]
    assert bars
    names = {t["name"] for t in bars[0]["data"]}
    assert any(n == "national IMD fifth 5 (most deprived, Core20)" for n in names)
    assert len(at.get("download_button")) == 3
    assert len(charts(at)) == 2  # the blank chart that preloads Plotly is gone


def test_the_first_run_sends_a_chart_before_it_imports_or_solves(monkeypatch):
    """A new session's first run sends a blank chart before anything else it shows.

    Its browser starts loading Plotly while the server imports and solves; the blank chart is
    taken away before the page runs, and later runs send none.
    """
    from streamlit.delta_generator import DeltaGenerator

    import app_pages.shared

    sent = []
    real_enqueue, real_dataset = DeltaGenerator._enqueue, app_pages.shared.dataset_for

    def enqueue(self, delta_type, element_proto, *args, **kwargs):
        if delta_type == "plotly_chart":
            traces = json.loads(element_proto.spec)["data"]
            sent.append(("chart", traces[0]["type"] if traces else "blank"))
        return real_enqueue(self, delta_type, element_proto, *args, **kwargs)

    def dataset(source):
        sent.append(("data", source))
        return real_dataset(source)

    monkeypatch.setattr(DeltaGenerator, "_enqueue", enqueue)
    monkeypatch.setattr(app_pages.shared, "dataset_for", dataset)
    at = run_page()
    assert sent[0] == ("chart", "blank")  # before any data is read
    assert [what for kind, what in sent if kind == "chart"] == ["blank", "heatmap", "bar"]
    assert len(charts(at)) == 2  # the heatmap and the bars: the blank chart is gone
    sent.clear()
    at.slider(key="budget_gbp").set_value(2.1).run()
    assert [what for kind, what in sent if kind == "chart"] == ["heatmap", "bar"]


def test_budget_changes_the_plan():
    at = run_page()
    before, z_before = metrics(at)["Benefit"], heatmap(at)["data"][0]["z"]
    at.slider(key="budget_gbp").set_value(0.5).run()
    assert not at.exception
    assert metrics(at)["Benefit"] != before
    assert heatmap(at)["data"][0]["z"] != z_before
    spend = metrics(at)["Spend"]
    assert spend.endswith("k")
    assert float(spend.strip("£k").replace(",", "")) <= 500


def test_equity_weight_reports_benefit_given_up():
    at = run_page(equity_weight=1.0)
    assert metrics(at)["Given up for equity"] != "£0"


def test_infeasible_scenario_keeps_the_last_valid_plan():
    at = run_page()
    at.slider(key="budget_gbp").set_value(0.1).run()
    at.slider(key="coverage_floor").set_value(0.6).run()
    assert not at.exception
    assert any("No plan meets this scenario" in e.value for e in at.error)
    assert any("last valid plan" in w.value for w in at.warning)
    assert metrics(at)["Spend"]  # the previous plan is still shown
    assert heatmap(at)


def test_model_choice_changes_the_plan():
    pooled = heatmap(run_page())["data"][0]["z"]
    local = heatmap(run_page(model="local"))["data"][0]["z"]
    assert pooled != local


# --- Compare --------------------------------------------------------------------------


def test_compare_page_has_three_models_side_by_side():
    at = run_page("app_pages/compare.py")
    figs = charts(at)
    assert len(figs) == 4
    grouped = figs[0]
    assert [t["name"] for t in grouped["data"]][:2] == ["Spend", "Benefit (optimised)"]
    assert grouped["data"][0]["x"] == ["Local (each trust)", "ICS pooled", "Central (NHSE)"]
    quintiles = figs[1]
    assert {t["name"] for t in quintiles["data"]} == {
        "Local (each trust)",
        "ICS pooled",
        "Central (NHSE)",
    }
    alone = figs[2]["data"][0]
    assert len(alone["y"]) == 2
    curves = figs[3]["data"]
    assert all(c["y"][0] == 0 for c in curves)  # nothing is live at month 0
    assert "does the most good" in at.markdown[0].value or any(
        "does the most good" in md.value for md in at.markdown
    )


def test_compare_page_shows_the_models_that_solve_and_why_one_does_not():
    """A lock only the local model cannot afford leaves the ICS and central plans in view."""
    at = run_page()
    scoped(at.multiselect, "locks_in").set_value([("RBH", "BRS-MMR")]).run()
    at.switch_page("app_pages/compare.py").run()
    assert not at.exception
    assert not at.error
    (warning,) = at.warning
    assert warning.value.startswith("**Local (each trust)** has no plan:")
    # names, not codes, in the reason
    assert "Brackenholt and Coldmoor Hospitals NHS Trust (RBH)" in warning.value, warning.value
    grouped = charts(at)[0]
    assert grouped["data"][0]["x"] == ["ICS pooled", "Central (NHSE)"]
    statuses = shown(table(at, "Way of buying", "Status"))
    assert list(statuses["Way of buying"]) == ["Local (each trust)", "ICS pooled", "Central (NHSE)"]
    assert statuses["Status"].tolist()[0] == "no plan meets the scenario"
    assert statuses["Status"].tolist()[1].startswith("optimal")
    assert statuses.loc[0, "Benefit"] == "-"


def test_compare_page_compares_the_routes_the_user_picks():
    """Networks, framework call-offs and central with fair shares, by their names."""
    at = run_page("app_pages/compare.py")
    at.multiselect(key="compare_routes").set_value(["local", "network", "framework"]).run()
    assert not at.exception
    grouped = charts(at)[0]
    assert grouped["data"][0]["x"] == [
        "Local (each trust)",
        "Imaging network",
        "Framework call-off",
    ]
    shown_table = shown(table(at, "Way of buying", "Benefit"))
    assert list(shown_table["Way of buying"]) == [
        "Local (each trust)",
        "Imaging network",
        "Framework call-off",
    ]
    assert all(b.startswith("£") for b in shown_table["Benefit"])
    # the price of going alone is set against every other route shown
    alone = charts(at)[2]["data"][0]
    assert alone["x"] == ["against Imaging network", "against Framework call-off"]
    at.multiselect(key="compare_routes").set_value([]).run()
    assert any("Choose at least one way of buying" in i.value for i in at.info)


# --- Frontier -------------------------------------------------------------------------


def test_frontier_page_budget_and_equity_curves():
    at = run_page("app_pages/frontier.py")
    budget_fig, equity_fig = charts(at)
    opt, greedy = budget_fig["data"][:2]
    assert opt["name"] == "Optimiser"
    assert greedy["name"] == "Greedy order of buy"
    assert all(o >= g - 1e-6 for o, g in zip(opt["y"], greedy["y"], strict=True))
    assert opt["y"] == sorted(opt["y"])  # more money never buys less
    assert 2_000_000 in opt["x"]  # the current budget is on the curve
    assert any(s.get("type") == "line" for s in budget_fig["layout"].get("shapes", []))
    assert len(equity_fig["data"][0]["x"]) == 5  # five equity weights


# --- Data -----------------------------------------------------------------------------


def zipped(folder: Path, change=None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.glob("*.csv")):
            text = path.read_text("utf-8")
            if change and path.name == change[0]:
                text = change[1](text)
            archive.writestr(path.name, text)
    return buffer.getvalue()


def test_data_page_tables_and_templates():
    at = run_page("app_pages/data.py")
    assert {b.label for b in at.get("download_button")} >= {
        "Template workbook (.xlsx)",
        "Template CSV files (.zip)",
    }
    assert len(at.dataframe) >= 6  # five tables and the dictionary
    assert at.get("file_uploader")
    assert "Default ICS" in at.caption[0].value


def test_a_valid_upload_becomes_the_data_in_use():
    from app_pages import shared

    source = shared.add_upload("mine.zip", zipped(ROOT / "data" / "default_ics"))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.session_state["sources"] = [*at.session_state["sources"], source]
    at.session_state["pending_source"] = source
    at.run()
    assert not at.exception
    assert at.selectbox(key="dataset").value == source
    assert metrics(at)["Benefit"].startswith("£")
    at.switch_page("app_pages/data.py").run()
    assert "Uploaded: mine.zip" in at.caption[0].value


def test_uploaded_zip_is_validated_and_problems_listed():
    from app_pages import shared

    good = zipped(ROOT / "data" / "default_ics")
    source = shared.add_upload("mine.zip", good)
    assert source.startswith("upload:")
    assert len(shared.dataset_for(source).trusts) == 8
    bad = zipped(
        ROOT / "data" / "default_ics",
        ("trusts.csv", lambda t: t.replace(",420000,", ",-420000,", 1)),
    )
    import planner

    with pytest.raises(planner.DataError) as err:
        shared.add_upload("bad.zip", bad)
    (problem,) = err.value.problems
    assert (problem.file, problem.column) == ("trusts.csv", "population")


def test_the_upload_store_is_bounded_and_keyed_by_content():
    """Every session's uploads share one store: it holds the most recent few, once each."""
    from app_pages import shared

    store = shared.UploadStore(limit=2)
    store.put("a", "A")
    store.put("b", "B")
    assert store.get("a") == "A"  # used: now the most recent
    store.put("c", "C")
    assert store.get("b") is None  # the least recently used went
    assert (store.get("a"), store.get("c")) == ("A", "C")
    content = zipped(ROOT / "data" / "default_ics")
    one, two = shared.add_upload("one.zip", content), shared.add_upload("two.zip", content)
    assert one != two  # each keeps its file name for its label...
    assert shared.dataset_for(one) is shared.dataset_for(two)  # ...but is held once
    assert shared.is_held(one)
    assert not shared.is_held("upload:0000000000000000:gone.zip")


def test_an_upload_the_server_let_go_is_said_and_the_shipped_data_used():
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    gone = "upload:0000000000000000:mine.zip"
    at.session_state["sources"] = [*at.session_state["sources"], gone]
    at.session_state["pending_source"] = gone
    at.run()
    assert not at.exception
    (warning,) = at.sidebar.warning
    assert warning.value.startswith("Uploaded: mine.zip is no longer held by the server")
    assert gone not in at.session_state["sources"]
    assert metrics(at)["Benefit"].startswith("£")


# --- About ----------------------------------------------------------------------------


def test_about_page_states_assumptions_and_sources():
    at = run_page("app_pages/about.py")
    text = " ".join(md.value for md in at.markdown)
    assert "illustrative" in text
    assert "fictional" in text
    assert "QALY" in text
    assert "3.5%" in text
    (settings,) = at.table
    rows = settings.value
    assert rows.loc["discount_rate", "Default"] == "3.5%"
    assert rows.loc["qaly_value_gbp", "Default"] == "£25,000"
    assert rows.loc["procurement.central.framework_only", "Default"] == "yes"
    assert rows.loc["budget_gbp", "Default"] == "sum of the trusts' local budgets"
    from planner.scenario import settings_table

    whole = {r["setting"]: r["description"] for r in settings_table()}
    assert rows["Description"].to_dict() == whole  # every description whole


def test_locks_force_products_in_and_out():
    at = run_page()
    scoped(at.multiselect, "locks_in").set_value([("RBH", "FRX-OST")]).run()
    assert not at.exception
    scoped(at.multiselect, "locks_out").set_value([("RNV", "LVO-STV")]).run()
    assert not at.exception
    ctx = at.session_state["ctx"]
    assert {(lk.trust, lk.product, lk.adopt) for lk in ctx.scenario.locks} == {
        ("RBH", "FRX-OST", True),
        ("RNV", "LVO-STV", False),
    }
    fig = heatmap(at)
    rows, cols = fig["data"][0]["y"], fig["data"][0]["x"]
    z = fig["data"][0]["z"]
    r = next(i for i, y in enumerate(rows) if y.startswith("Brackenholt"))
    c = next(i for i, x in enumerate(cols) if x.startswith("Ostrix Fracture"))
    assert z[r][c] == 1.0
    # the locks follow the user to another page and back
    at.switch_page("app_pages/compare.py").run()
    at.switch_page("app_pages/plan.py").run()
    assert len(at.session_state["ctx"].scenario.locks) == 2


# --- Uncertainty ----------------------------------------------------------------------


def test_uncertainty_page_runs_on_request_and_shows_results():
    at = run_page("app_pages/uncertainty.py")
    assert not at.get("plotly_chart")  # nothing is sampled until asked
    at.number_input(key="psa_samples").set_value(20)
    at.toggle(key="psa_run").set_value(True).run()
    assert not at.exception
    heat, hist = charts(at)
    z = heat["data"][0]["z"]
    assert all(0.0 <= v <= 1.0 for row in z for v in row)
    assert any(v > 0 for row in z for v in row)
    assert [t["type"] for t in hist["data"]] == ["histogram", "histogram"]
    assert len(hist["data"][0]["x"]) == 20
    assert metrics(at)["Base-case benefit"].startswith("£")
    text = " ".join(md.value for md in at.markdown)
    assert "the base-case plan itself, kept fixed, is worth between £" in text
    # on the shipped ICS the base case sits below the 5th percentile: the page says why
    assert "is below that range because it values every product at its central figure" in text


def test_frontier_page_with_infeasible_points_shows_messages_not_errors():
    at = run_page(coverage_floor=0.6)
    at.switch_page("app_pages/frontier.py").run()
    assert not at.exception
    assert any("No equity weight gives a plan" in w.value for w in at.warning)
    figs = charts(at)
    assert len(figs) == 1  # the budget frontier, drawn from its feasible points only


def test_tables_show_pounds_and_percentages():
    import planner
    from app_pages.shared import styled

    plan = planner.solve(
        planner.load_dataset(ROOT / "data" / "default_ics"),
        planner.Scenario(budget_gbp=2e6),
        with_marginal=False,
    )
    html = styled(
        plan.trusts, {"trust_name": "Trust", "cost_gbp": "Cost", "coverage": "Coverage"}
    ).to_html()
    assert "£" in html
    assert "%" in html
    assert re.search(r"£\d{1,3}(,\d{3})+", html)  # thousands separators


# --- Rollout --------------------------------------------------------------------------


def test_rollout_page_timeline_and_curves():
    at = run_page("app_pages/rollout.py")
    curves, gantt = charts(at)
    assert {t["name"] for t in curves["data"]} == {
        "Local (each trust)",
        "ICS pooled",
        "Central (NHSE)",
    }
    for trace in curves["data"]:
        assert trace["y"][0] == 0
        assert trace["y"] == sorted(trace["y"])  # cumulative benefit never falls
    assert [t["name"] for t in gantt["data"]] == ["Contract to go-live", "Live"]
    assert len(gantt["data"][0]["y"]) > 0
    # the table is present value, the curve is not: both say so
    summary = shown(table(at, "Way of buying", "Live in year 1"))
    assert {"Benefit (present value)", "Committed (present value)"} <= set(summary.columns)
    assert "undiscounted" in curves["layout"]["title"]["text"]
    assert "undiscounted" in curves["layout"]["yaxis"]["title"]["text"]
    assert any("present value" in c.value and "undiscounted" in c.value for c in at.caption)
    (late,) = at.info
    assert "signed in the last decision year (year 5)" in late.value
    assert "months on average before the 5-year horizon ends" in late.value
    at.slider(key="rollout_years").set_value(1).run()
    assert not at.exception
    one_year = charts(at)[1]
    assert all(base == 0 for base in one_year["data"][0]["base"])  # all signed in year 1


# --- Cost sharing ---------------------------------------------------------------------


def test_cost_sharing_page_splits_the_pooled_cost():
    at = run_page("app_pages/costshare.py")
    m = metrics(at)
    pooled = float(m["Pooled cost"].strip("£").replace(",", ""))
    alone = float(m["Trusts alone would pay"].strip("£").replace(",", ""))
    assert alone > pooled  # pooling saves money on the default ICS
    (fig,) = charts(at)
    shapley = next(t for t in fig["data"] if t["name"].lower().startswith("shapley"))
    assert sum(shapley["y"]) == pytest.approx(pooled, abs=2)  # the shares add up
    assert any("population" in w.value for w in at.warning)  # the stand-alone test flags


# --- Why this plan --------------------------------------------------------------------


def test_explain_page_shows_reasons_and_the_trust_summary():
    at = run_page()
    at.switch_page("app_pages/explain.py").run()
    assert not at.exception
    assert scoped(at.selectbox, "explain_trust").value == "RAS"  # the first trust
    adoptions = shown(table(at, "Why it fits"))
    not_chosen = shown(table(at, "Why not"))
    assert "Product" in adoptions.columns  # names, not codes
    assert "trust" not in not_chosen.columns
    assert not_chosen["Why not"].str.len().min() > 0
    assert not_chosen["Use case"].isin(USE_CASE_NAMES.values()).all()
    # a price cut is in percent points: 23.0%, never 2301.6%
    cuts = not_chosen["Price cut to be chosen"]
    figures = cuts[cuts != "-"].str.rstrip("%").astype(float)
    assert len(figures) > 0
    assert figures.between(0, 100).all(), cuts.tolist()
    raw = table(at, "Why not").value["Price cut to be chosen"].dropna()
    assert [f"{v:.1f}%" for v in raw] == cuts[cuts != "-"].tolist()
    # every other column is one click away
    assert "Break even price factor" in table(at, "Reason code").value.columns
    assert "More money" in at.markdown[0].value
    more = at.markdown[0].value  # names, not codes: "Brackenholt ... adds Ostrix ..."
    assert not re.search(r"\b[A-Z]{3}\b adds|\b[A-Z]{3}-[A-Z]{3}\b", more), more
    labels = {b.label for b in at.get("download_button")}
    assert "Download the trust's one-page summary (HTML)" in labels


# --- Equity in front of the user -------------------------------------------------------


def table_with(at: AppTest, column: str):
    """The one table on the page with a column of this label."""
    (table,) = [d.value for d in at.dataframe if column in d.value.columns]
    return table


def _default_plan(**changes):
    import planner
    from app_pages.shared import DEFAULTS

    data = planner.load_dataset(ROOT / "data" / "default_ics")
    scenario = DEFAULTS.replace(budget_gbp=2_000_000, **changes)
    return data, planner.solve(data, scenario)


def test_plan_page_names_the_trust_left_out_and_the_price_of_including_it():
    from planner.equity_check import equity_findings

    at = run_page()
    warnings = [w.value for w in at.warning]
    data, plan = _default_plan()
    expected = [f.sentence for f in equity_findings(data, plan)]
    assert warnings == expected
    left = warnings[0]
    assert left.startswith("Brackenholt and Coldmoor Hospitals NHS Trust gets no new AI tool")
    assert re.search(r"Giving every trust at least one would give up £\d+k of benefit \(\d", left)
    gap = warnings[1]
    assert re.match(r"The most deprived fifth of the population gets \d+\.\d% coverage", gap)


def test_plan_page_says_local_weights_cannot_move_money():
    at = run_page(model="local", equity_weight=1.0)
    notes = [i.value for i in at.info]
    assert any("equity weights cannot move money between trusts" in n for n in notes)
    assert metrics(at)["Given up for equity"] == "£0"


def test_compare_headline_names_the_most_and_least_equitable_way_of_buying():
    at = run_page("app_pages/compare.py")
    text = " ".join(md.value for md in at.markdown)
    assert "does the most good" in text
    match = re.search(
        r"\*\*([^*]+)\*\* is the most equitable: it gives the most deprived fifth "
        r"(\d+\.\d)% coverage, against (\d+\.\d)% under \*\*([^*]+)\*\*, the least "
        r"equitable",
        text,
    )
    assert match, text
    fair, unfair = float(match.group(2)), float(match.group(3))
    assert fair > unfair
    table = table_with(at, "Core20 people's coverage")
    by_model = table.set_index("Way of buying")["Core20 people's coverage"]
    assert round(100 * by_model[match.group(1)], 1) == fair
    assert round(100 * by_model[match.group(4)], 1) == unfair


def test_frontier_page_labels_each_weight_and_marks_unbeaten_points():
    at = run_page("app_pages/frontier.py")
    table = table_with(at, "Not beaten")
    assert table["Equity weight w"].tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert set(table["Not beaten"]) <= {"yes", "no"}
    assert "yes" in set(table["Not beaten"])
    fig = spec(at, "equity_frontier")
    labels = sorted(t for trace in fig["data"] for t in trace.get("text") or [])
    assert labels == sorted(["w=0", "w=0.25", "w=0.5", "w=0.75", "w=1"] * 2)
    assert any("can fall as well as rise" in c.value for c in at.caption)


# --- Plain words on every page ---------------------------------------------------------

PAGES = (
    "app_pages/plan.py",
    "app_pages/compare.py",
    "app_pages/frontier.py",
    "app_pages/rollout.py",
    "app_pages/costshare.py",
    "app_pages/explain.py",
    "app_pages/uncertainty.py",
    "app_pages/data.py",
    "app_pages/about.py",
)
#: What must never reach a reader: Python's words, solver codes, raw containers.
UNREADABLE = re.compile(
    r"\bNone\b|\bnan\b|\bNaN\b|gap_reached|\btime_limit\b|\{'|\[\]|"
    r"\b\w+(Error|Exception)\b|BadZipFile|Traceback"
)


def page_text(at: AppTest) -> list[str]:
    """Every piece of text the page shows, tables as their formatted cells."""
    texts = [
        e.value
        for kind in ("title", "header", "subheader", "markdown", "caption")
        for e in at.get(kind)
    ]
    texts += [e.value for kind in ("info", "warning", "error", "success") for e in at.get(kind)]
    texts += [f"{m.label}: {m.value}" for m in at.metric]
    for element in at.table:
        frame = element.value.astype(str)
        texts += list(frame.columns) + frame.to_numpy().ravel().tolist()
    for element in at.dataframe:
        if element.proto.arrow_data.styler.display_values:
            frame = shown(element)
        else:
            frame = element.value.astype(str)
        texts += list(frame.columns) + frame.to_numpy().ravel().tolist()
    return [str(t) for t in texts]


@pytest.mark.parametrize("path", PAGES)
def test_no_page_shows_python_or_solver_words(path):
    at = run_page(path)
    if path.endswith("uncertainty.py"):
        at.number_input(key="psa_samples").set_value(20)
        at.toggle(key="psa_run").set_value(True).run()
    assert not at.exception
    bad = [t for t in page_text(at) if UNREADABLE.search(t)]
    assert not bad, bad[:10]
    for chart in charts(at):  # every axis says what it measures, with its unit
        layout = chart["layout"]
        assert (layout.get("title") or {}).get("text"), "a chart without a title"
        for name, axis in layout.items():
            if name.startswith(("xaxis", "yaxis")) and axis.get("visible", True):
                title = (axis.get("title") or {}).get("text")
                assert title, f"{layout['title']['text']}: {name} has no title"
                assert not UNREADABLE.search(title)

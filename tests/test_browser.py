"""The Streamlit app in a real browser: headless Chromium driven by Playwright.

Streamlit runs as a subprocess on a free local port; Debian's ``/usr/bin/chromium`` is
the browser (Playwright never downloads one of its own). Outside CI the tests skip when the
browser or the ``playwright`` package is missing; in CI (``CI=true``) that is a failure.
Screenshots of every page and the slider timings go to ``screenshots/`` (git-ignored).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    expect = sync_playwright = None
    PlaywrightTimeout = TimeoutError

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
SHOTS = ROOT / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 2600}
BUDGET = "Budget over the horizon (£m, present value)"
HANG_GUARD_MS = 30_000  # only against hangs; timings are recorded, never asserted
#: What issue 12 aims for (recorded next to the timings; never asserted).
TARGET_FIRST_PLAN_S = 3.0
TARGET_SLIDER_TO_REDRAW_S = 0.3
#: Timings gathered by the fixtures and tests, written to screenshots/timings.json at the end.
TIMINGS: dict = {}
PAGES = ("Plan", "Compare", "Frontier", "Data", "About")  # at least these
#: Most empty space a Plan chart may keep between its outermost labels and its edge (pixels).
MARGIN_SLACK_PX = 40

# Streamlit marks the app root with the script state; elements from an unfinished run are
# marked stale.
IDLE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const status = document.querySelector('[data-testid="stStatusWidget"]');
  return app !== null && app.getAttribute('data-test-script-state') === 'notRunning'
    && document.querySelector('[data-stale="true"]') === null
    && (status === null || status.offsetParent === null);
}"""
# Every Plotly chart has drawn its SVG, and every heatmap has drawn its image.
CHARTS_DRAWN_JS = """(minimum) => {
  const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
  return charts.length >= minimum && charts.every(c => c.querySelector('.main-svg'))
    && [...document.querySelectorAll('.heatmaplayer')].every(h => h.querySelector('image'));
}"""
#: The Plan page's key figures, by label.
PLAN_METRICS = (
    "Spend",
    "Benefit",
    "Trusts with new AI",
    "Lowest trust coverage",
    "Given up for equity",
)
# Every key figure of the Plan page is shown with its value (each is drawn on its own, and
# the charts can be drawn before them).
METRICS_SHOWN_JS = f"""() => {{
  const shown = [...document.querySelectorAll('[data-testid="stMetric"]')]
    .filter(m => m.querySelector('[data-testid="stMetricValue"]')?.innerText.trim())
    .map(m => m.querySelector('[data-testid="stMetricLabel"]')?.innerText.trim());
  return {json.dumps(list(PLAN_METRICS))}.every(label => shown.includes(label));
}}"""
# The Plan page's first plan on screen: its key figures shown and its two charts drawn, the
# heatmap's image included.
FIRST_PLAN_JS = f"""() =>
  document.querySelector('[data-testid="stPlotlyChart"] .heatmaplayer image') !== null
  && ({CHARTS_DRAWN_JS})(2) && ({METRICS_SHOWN_JS})()"""
# The Plan page's "Benefit" figure and the heatmap's drawn image (its PNG data URL).
PLAN_STATE_JS = """() => {
  const metric = [...document.querySelectorAll('[data-testid="stMetric"]')].find(
    m => m.querySelector('[data-testid="stMetricLabel"]')?.innerText.trim() === 'Benefit');
  const image = document.querySelector('[data-testid="stPlotlyChart"] .heatmaplayer image');
  const href = image && (image.getAttribute('href')
    || image.getAttributeNS('http://www.w3.org/1999/xlink', 'href'));
  return {
    benefit: metric ? metric.querySelector('[data-testid="stMetricValue"]').innerText : null,
    heatmap: href || null,
  };
}"""
CHANGED_JS = f"""(before) => {{
  const now = ({PLAN_STATE_JS})();
  return now.benefit !== null && now.heatmap !== null
    && now.benefit !== before.benefit && now.heatmap !== before.heatmap
    && now.heatmap.startsWith('data:image/');
}}"""
# Counts changes of the script state from now on, so a wait cannot mistake the idle page
# before a rerun for the idle page after it.
WATCH_RUNS_JS = """() => {
  window.__stRuns = 0;
  if (!window.__stRunObserver) {
    window.__stRunObserver = new MutationObserver(rs => { window.__stRuns += rs.length; });
    window.__stRunObserver.observe(document.documentElement,
      {attributes: true, subtree: true, attributeFilter: ['data-test-script-state']});
  }
}"""
RAN_JS = f"() => window.__stRuns > 0 && ({IDLE_JS})()"
STATE_JS = """() => ({
  runs: window.__stRuns,
  script: document.querySelector('[data-testid="stApp"]')?.getAttribute('data-test-script-state'),
  stale: document.querySelectorAll('[data-stale="true"]').length,
  status: !!document.querySelector('[data-testid="stStatusWidget"]')?.offsetParent,
})"""


def _require(ok: bool, why: str) -> None:
    """Skip when the browser stack is missing, except in CI where that is a failure."""
    if ok:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{why}: browser tests must run in CI (.ci/run installs it)", pytrace=False)
    pytest.skip(why)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""


@pytest.fixture(scope="module")
def browser():
    _require(sync_playwright is not None, "the playwright package is not installed")
    _require(Path(CHROMIUM).exists(), f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _first_plan(browser, url: str, started: float) -> dict:
    """Open the app once, as its first visitor, and time the first plan drawn.

    Seconds from starting the server: healthy, page loaded, the plan's figures drawn (both
    charts and the heatmap's image), and the whole first script run finished.
    """
    marks = {"healthy_s": time.perf_counter() - started}
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(url)
        marks["page_loaded_s"] = time.perf_counter() - started
        page.wait_for_function(FIRST_PLAN_JS, polling="raf")
        marks["first_plan_s"] = time.perf_counter() - started
        wait_idle(page)
        marks["first_run_finished_s"] = time.perf_counter() - started
    except PlaywrightTimeout as exc:  # recorded, never asserted: the tests go on regardless
        marks["not_finished"] = f"{exc}".splitlines()[0]
        marks["page_state"] = page.evaluate(STATE_JS)
    finally:
        context.close()
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in marks.items()}


@contextlib.contextmanager
def _serve(app: str, log_path: Path, env: dict | None = None):
    """Serve ``app`` with Streamlit on a free loopback port until the block ends.

    Yields the address and the ``time.perf_counter()`` at which the server was started, once
    it answers its health check.
    """
    port = _free_port()
    cmd = [
        sys.executable, "-m", "streamlit", "run", app,
        "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false",
        "--server.headless", "true",
        "--server.port", str(port),
        # no "File change. Rerun" prompt (never idle) when a source file is saved mid-run
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "w") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"streamlit exited ({proc.returncode}):\n{_tail(log_path)}")
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                        if r.read().decode().strip() == "ok":
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"streamlit not healthy after 60 s:\n{_tail(log_path)}")
                time.sleep(0.02)  # finely: the time to healthy is part of the first plan's
            yield url, started
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def app_url(browser, tmp_path_factory):
    """The app's address; its first plan is timed from the server's start (see _first_plan)."""
    TIMINGS["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    try:
        with _serve(APP, log_path) as (url, started):
            TIMINGS["first_load"] = _first_plan(browser, url, started)
            yield url
    finally:
        _write_timings()


def _write_timings() -> None:
    """Write what was timed to screenshots/timings.json, each figure next to its target."""
    first = TIMINGS.get("first_load")
    if not first:
        return
    slider_moves = dict(TIMINGS.get("slider", {}))
    moves_what = slider_moves.pop("what", None)
    out = {
        "what": "first_plan_s: seconds from starting the Streamlit server to the first "
        "visitor's Plan page with both figures drawn (the heatmap's image included) and its "
        "key figures shown, on the default ICS; slider moves: key press on the budget slider "
        "until the Benefit figure shows a new value and the heatmap has drawn a new image "
        "('idle': until the whole script run has finished). Recorded, never asserted.",
        "first_plan_s": first.get("first_plan_s"),
        "target_first_plan_s": TARGET_FIRST_PLAN_S,
        "first_load": first,
        **({"moves_what": moves_what} if moves_what else {}),
        **slider_moves,
        **({"floor": TIMINGS["floor"]} if "floor" in TIMINGS else {}),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_at_start": TIMINGS.get("load_average_at_start"),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
    }
    SHOTS.mkdir(exist_ok=True)
    (SHOTS / "timings.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")


def wait_idle(page) -> None:
    """Wait until the script run has finished and nothing on the page is stale."""
    page.wait_for_function(IDLE_JS)


def wait_charts(page, minimum: int = 0) -> None:
    """Wait until at least ``minimum`` Plotly charts exist and every chart is drawn."""
    page.wait_for_function(CHARTS_DRAWN_JS, arg=minimum)


def wait_plan(page) -> None:
    """Wait until the Plan page has run, its heatmap and bar chart drawn, its figures shown."""
    # While a rerun replaces the plan, the old heatmap and the new one can both be attached.
    page.locator('[data-testid="stPlotlyChart"] .heatmaplayer image').first.wait_for(
        state="attached"
    )
    wait_idle(page)
    wait_charts(page, 2)
    page.wait_for_function(METRICS_SHOWN_JS)


def rerun(page, key: str) -> None:
    """Press a key on the focused widget and wait for the script run it causes to finish."""
    page.evaluate(WATCH_RUNS_JS)
    page.keyboard.press(key)
    page.wait_for_function(RAN_JS, timeout=HANG_GUARD_MS)


def plan_state(page) -> dict:
    return page.evaluate(PLAN_STATE_JS)


def no_exception(page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)
    assert "Traceback" not in page.get_by_test_id("stMain").inner_text()


def go_to(page, link: str) -> None:
    """Open a page through the sidebar navigation and wait until it has rendered."""
    nav = page.get_by_test_id("stSidebarNav").get_by_role("link", name=link, exact=True)
    if nav.get_attribute("aria-current") != "page":
        wait_idle(page)  # a click during a rerun can be dropped
        page.evaluate(WATCH_RUNS_JS)
        nav.click()
        try:  # the click starts a run within seconds, unless it was lost
            page.wait_for_function("() => window.__stRuns > 0", timeout=20_000)
        except PlaywrightTimeout:
            nav.click()  # the click was lost (no run started): click once more
        # a page that solves many plans (the frontier) takes a while on a busy machine
        page.wait_for_function(RAN_JS, timeout=120_000)
    expect(nav).to_have_attribute("aria-current", "page")
    wait_idle(page)
    wait_charts(page)


def slider(page, name: str):
    # Streamlit's range input is labelled by its label and its tick values: not exact.
    return page.get_by_test_id("stSidebar").get_by_role("slider", name=name)


def slider_value(page, name: str) -> float:
    return float(slider(page, name).get_attribute("aria-valuetext"))


def download(page, button: str) -> bytes:
    with page.expect_download() as info:
        page.get_by_role("button", name=button, exact=True).click()
    data = Path(info.value.path()).read_bytes()
    wait_idle(page)  # a download button click reruns the script
    return data


@pytest.fixture
def page(browser, app_url):
    """A fresh browser session (so a fresh Streamlit session) on the Plan page."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    pg.goto(app_url)
    wait_plan(pg)
    yield pg
    context.close()


def test_plan_page_shows_title_key_figures_and_heatmap(page):
    expect(page).to_have_title("ICS AI imaging planner")
    expect(page.get_by_role("heading", level=1, name="Plan", exact=True)).to_be_visible()
    labels = page.get_by_test_id("stMetricLabel").all_inner_texts()
    for label in PLAN_METRICS:
        assert label in [x.strip() for x in labels]
    state = plan_state(page)
    assert state["benefit"].startswith("£")
    assert state["heatmap"].startswith("data:image/png")
    heatmap = page.get_by_test_id("stPlotlyChart").first
    expect(heatmap.locator(".heatmaplayer image")).to_have_count(1)
    expect(heatmap.locator(".main-svg").first).to_be_visible()
    expect(heatmap).to_contain_text("Who adopts what")
    no_exception(page)


# Each Plan chart: the margins asked for, the margins drawn, and where its labels landed.
FIGURE_BOXES_JS = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
  .map(c => {
    const gd = c.querySelector('.js-plotly-plot'), svg = gd.querySelector('.main-svg');
    const box = e => {
      const r = e.getBoundingClientRect();
      return [r.left, r.top, r.right, r.bottom];
    };
    const labels = [...gd.querySelectorAll('[class$="tick"] text, .xtitle, .ytitle, '
      + '.x2title, .y2title, .legendtext, .legendtitletext')].filter(t => t.textContent);
    return {
      asked: gd.layout.margin, drawn: gd._fullLayout._size, figure: box(svg),
      labels: labels.map(t => [t.textContent, box(t)]),
    };
  })"""


def test_plan_figures_hold_their_labels_and_are_drawn_once(page):
    """The Plan page's charts come with margins that hold their labels (planner.plots).

    Plotly widens a margin that is too narrow (automargin) by drawing the chart again; drawn
    with the margins asked for, each chart is drawn once. Every tick label, axis title and
    legend entry is inside the chart, with no wide empty band beside the labels.
    """
    figures = page.evaluate(FIGURE_BOXES_JS)
    assert len(figures) == 2
    for fig in figures:
        for side in ("l", "r", "b", "t"):
            assert fig["drawn"][side] == fig["asked"][side], (side, fig["drawn"], fig["asked"])
        left, top, right, bottom = fig["figure"]
        boxes = [b for _, b in fig["labels"]]
        assert len(boxes) > 10
        for text, (x0, y0, x1, y1) in fig["labels"]:
            assert left <= x0, text
            assert x1 <= right, text
            assert top <= y0, text
            assert y1 <= bottom, text
        # the outermost labels end near the edges the margins were made for
        assert min(b[0] for b in boxes) - left < MARGIN_SLACK_PX
        assert bottom - max(b[3] for b in boxes) < MARGIN_SLACK_PX
        if fig["asked"]["r"] > 50:  # a legend on the right
            assert right - max(b[2] for b in boxes) < MARGIN_SLACK_PX
    no_exception(page)


def test_plan_page_names_the_trust_left_out_and_the_cost_of_including_it(page):
    """On the default ICS at £2m the most deprived trust gets nothing; the page says so."""
    import planner
    from app_pages.shared import DEFAULTS
    from planner.equity_check import equity_findings

    data = planner.load_dataset(ROOT / "data" / "default_ics")
    plan = planner.solve(data, DEFAULTS.replace(budget_gbp=2_000_000))
    (expected,) = [f.sentence for f in equity_findings(data, plan) if f.kind == "left_out"]
    alert = page.get_by_test_id("stAlert").filter(has_text="gets no new AI tool")
    expect(alert).to_have_count(1, timeout=HANG_GUARD_MS)
    text = alert.inner_text().strip()
    assert text == expected
    assert text.startswith("Brackenholt and Coldmoor Hospitals NHS Trust gets no new AI tool")
    assert re.search(r"Giving every trust at least one would give up £\d+k of benefit", text)
    alert.scroll_into_view_if_needed()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "plan_equity.png"))
    no_exception(page)


def _slider_moves(page, key: str, moves: int) -> tuple[list[float], list[float]]:
    """Press ``key`` on the budget slider ``moves`` times; seconds to redraw and to idle."""
    budget = slider(page, BUDGET)
    to_redraw, to_idle = [], []
    for _ in range(moves):
        before = plan_state(page)
        value = slider_value(page, BUDGET)
        budget.focus()
        start = time.perf_counter()
        page.keyboard.press(key)
        page.wait_for_function(CHANGED_JS, arg=before, polling="raf", timeout=HANG_GUARD_MS)
        to_redraw.append(time.perf_counter() - start)
        page.wait_for_function(IDLE_JS, polling="raf", timeout=HANG_GUARD_MS)
        to_idle.append(time.perf_counter() - start)
        after = plan_state(page)
        assert after["benefit"] != before["benefit"]
        assert after["heatmap"] != before["heatmap"]
        step = 0.1 if key == "ArrowRight" else -0.1
        assert slider_value(page, BUDGET) == pytest.approx(value + step)
    return to_redraw, to_idle


def _summary(what: str, to_redraw: list[float], to_idle: list[float]) -> dict:
    return {
        "what": what,
        "moves": len(to_redraw),
        "slider_to_redraw_s": [round(t, 3) for t in to_redraw],
        "median_slider_to_redraw_s": round(statistics.median(to_redraw), 3),
        "slider_to_idle_s": [round(t, 3) for t in to_idle],
        "median_slider_to_idle_s": round(statistics.median(to_idle), 3),
    }


def test_budget_slider_changes_the_plan_and_redraws(page):
    """Each arrow key on the budget slider re-plans; time from key press to redraw.

    Three kinds of move, in this order from the default £2m: down to budgets never solved
    (a solve in the critical path), back up to those budgets (plans already solved), then up
    beyond £2m, where the page has already solved each next £0.1m as "what the next £100k
    would buy". The headline figure is the last kind, the move the page was timed on before.
    """
    moves = 6
    cold = _slider_moves(page, "ArrowLeft", moves)
    revisit = _slider_moves(page, "ArrowRight", moves)
    step_up = _slider_moves(page, "ArrowRight", moves)
    no_exception(page)
    timings = {
        **_summary(
            "budget slider ArrowRight (+£0.1m) above £2m: each new budget is the one the "
            "page valued as 'the next £100k' after the last plan",
            *step_up,
        ),
        "target_median_slider_to_redraw_s": TARGET_SLIDER_TO_REDRAW_S,
        "new_budget_moves": _summary(
            "budget slider ArrowLeft (-£0.1m) below £2m: budgets never solved before", *cold
        ),
        "revisit_moves": _summary(
            "budget slider ArrowRight (+£0.1m) back to £2m: budgets solved a moment ago",
            *revisit,
        ),
    }
    TIMINGS["slider"] = timings
    first = TIMINGS.get("first_load", {})
    print(
        f"\nfirst plan on screen {first.get('first_plan_s')} s from server start "
        f"(target {TARGET_FIRST_PLAN_S} s): {first}"
        f"\nslider -> redraw median {timings['median_slider_to_redraw_s']} s over "
        f"{timings['moves']} moves up (target {TARGET_SLIDER_TO_REDRAW_S} s) {step_up[0]}"
        f"\n  to budgets never solved: median "
        f"{timings['new_budget_moves']['median_slider_to_redraw_s']} s {cold[0]}"
        f"\n  back to budgets just solved: median "
        f"{timings['revisit_moves']['median_slider_to_redraw_s']} s {revisit[0]}"
        f"\nload average {os.getloadavg()} on {os.cpu_count()} CPUs"
    )


def test_download_plan_json_and_csv(page):
    budget_gbp = round(slider_value(page, BUDGET) * 1e6)
    plan = json.loads(download(page, "Download plan (JSON)"))
    assert plan["model"] in ("local", "ics", "central")
    assert plan["budget_gbp"] == budget_gbp
    assert plan["cost_gbp"] <= plan["budget_gbp"]
    adoptions = plan["adoptions"]
    assert adoptions
    for row in adoptions:
        assert {"trust", "product", "cost_gbp", "benefit_gbp"} <= set(row)
        assert row["cost_gbp"] >= 0
    assert sum(r["cost_gbp"] for r in adoptions) <= plan["budget_gbp"] + 1
    # the file carries what the next budget step buys, as the page says it
    from app_pages.shared import gbp

    marginal = plan["marginal"]
    assert marginal["computed"] is True
    sentence = (
        f"The next {gbp(marginal['step_gbp'])} would add "
        f"{gbp(marginal['extra_benefit_gbp'])} of benefit."
    )
    assert sentence in page.get_by_test_id("stMain").inner_text()

    text = download(page, "Download plan (CSV)").decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert set(rows[0]) == set(adoptions[0])
    assert len(rows) == len(adoptions)
    assert {(r["trust"], r["product"]) for r in rows} == {
        (r["trust"], r["product"]) for r in adoptions
    }


def _bad_population_zip(path: Path) -> Path:
    """The shipped CSV files, zipped, with one trust's population made negative."""
    with zipfile.ZipFile(path, "w") as archive:
        for table in sorted((ROOT / "data" / "default_ics").glob("*.csv")):
            text = table.read_text()
            if table.name == "trusts.csv":
                lines = text.splitlines()
                header = lines[0].split(",")
                cells = lines[1].split(",")
                cells[header.index("population")] = "-5"
                lines[1] = ",".join(cells)
                text = "\n".join(lines) + "\n"
            archive.writestr(table.name, text)
    return path


def _zip_bomb(path: Path) -> Path:
    """A zip of about 150 KB whose trusts.csv unpacks to 49 MB of short cells."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for table in sorted((ROOT / "data" / "default_ics").glob("*.csv")):
            data = table.read_bytes()
            if table.name == "trusts.csv":
                data += b"x," * (49 * 1024 * 1024 // 2)
            archive.writestr(table.name, data)
    return path


def test_bad_uploads_show_readable_errors_and_keep_the_data(page, tmp_path):
    benefit = plan_state(page)["benefit"]
    go_to(page, "Data")
    fake = tmp_path / "not_a_workbook.xlsx"
    fake.write_text("this is plain text, not an Excel workbook\n")
    bad_zip = _bad_population_zip(tmp_path / "bad_population.zip")
    wrong_kind = tmp_path / "trusts.csv"  # a file of a kind that is not taken
    wrong_kind.write_text("trust_code\n")
    bomb = _zip_bomb(tmp_path / "bomb.zip")
    uploader = page.get_by_test_id("stFileUploader").locator('input[type="file"]')

    for upload in (fake, bad_zip, wrong_kind, bomb):
        uploader.set_input_files(upload)
        alert = page.get_by_test_id("stAlert").filter(has_text=f"{upload.name} was not loaded")
        alert.wait_for()
        wait_idle(page)
        no_exception(page)
        expect(
            page.get_by_test_id("stAlert").filter(has_text="nothing was changed")
        ).to_be_visible()
        # The problems table is a data grid drawn on a canvas; its accessibility table (in
        # the DOM, not visible) holds the cells. Wait for the row naming the problem.
        wanted = {
            fake: [upload.name],
            bad_zip: ["trusts.csv", "population"],
            wrong_kind: ["trusts.csv", "is neither an .xlsx workbook nor a .zip"],
            bomb: ["bomb.zip", "unpacks to 49 MB (at most 40 MB)"],
        }[upload]
        row = page.get_by_test_id("stDataFrame").locator("tbody tr")
        for cell in wanted:
            row = row.filter(has=page.locator("td", has_text=re.compile(rf"^{re.escape(cell)}$")))
        expect(row.first).to_be_attached(timeout=15_000)

    go_to(page, "Plan")
    wait_plan(page)
    no_exception(page)
    dataset = page.get_by_test_id("stSidebar").get_by_role("combobox", name="Dataset")
    expect(dataset).to_have_value("Default ICS (illustrative)")
    assert plan_state(page)["benefit"] == benefit


def test_infeasible_scenario_shows_a_message_and_the_last_valid_plan(page):
    budget = slider(page, BUDGET)
    budget.focus()
    rerun(page, "Home")
    for _ in range(5):
        rerun(page, "ArrowRight")
    expect(budget).to_have_attribute("aria-valuetext", "0.50")
    wait_plan(page)
    small = plan_state(page)

    slider(page, "Coverage floor").focus()
    rerun(page, "End")
    expect(slider(page, "Coverage floor")).to_have_attribute("aria-valuetext", "0.60")
    expect(
        page.get_by_test_id("stAlert").filter(has_text="No plan meets this scenario")
    ).to_be_visible()
    expect(
        page.get_by_test_id("stAlert").filter(has_text="Showing the last valid plan")
    ).to_be_visible()
    wait_plan(page)
    no_exception(page)
    assert plan_state(page)["benefit"] == small["benefit"]


def test_every_page_renders_and_is_screenshotted(page):
    links = page.get_by_test_id("stSidebarNav").get_by_role("link").all_inner_texts()
    links = [x.strip() for x in links]
    assert set(PAGES) <= set(links), links
    SHOTS.mkdir(exist_ok=True)
    for link in links:
        try:
            go_to(page, link)
        except PlaywrightTimeout as exc:  # say which page did not finish, and in what state
            state = page.evaluate(STATE_JS)
            raise AssertionError(f"page {link!r} did not finish rendering: {state}") from exc
        if link == "Plan":
            wait_plan(page)
        if link == "Uncertainty":  # run a small analysis so the results are in the picture
            page.get_by_label("Samples").fill("20")
            page.keyboard.press("Enter")
            wait_idle(page)
            page.evaluate(WATCH_RUNS_JS)
            page.get_by_test_id("stCheckbox").get_by_text("Run the analysis").click()
            page.wait_for_function(RAN_JS)
            wait_idle(page)
            wait_charts(page, 2)
        # the page title (the "Why this plan" page also embeds a trust summary with its own h1)
        expect(page.get_by_role("heading", level=1).first).to_be_visible()
        no_exception(page)
        page.wait_for_timeout(300)  # let the data grids paint their canvases
        page.screenshot(path=str(SHOTS / f"{link.lower()}.png"), full_page=True)
        bad = [t for t in visible_text(page) if UNREADABLE.search(t)]
        assert not bad, f"{link}: {bad[:10]}"


#: What must never reach a reader: Python's words, solver codes, raw containers.
UNREADABLE = re.compile(
    r"\bNone\b|\bnan\b|\bNaN\b|gap_reached|\btime_limit\b|\{'|"
    r"\b\w+(Error|Exception)\b|BadZipFile|Traceback"
)


def visible_text(page) -> list[str]:
    """The text of the page: main area and sidebar, and every cell of every data grid.

    A data grid draws on a canvas; its cells are in an accessibility table in the DOM.
    """
    texts = page.get_by_test_id("stMain").inner_text().splitlines()
    texts += page.get_by_test_id("stSidebar").inner_text().splitlines()
    texts += page.locator(
        '[data-testid="stDataFrame"] td, [data-testid="stDataFrame"] th'
    ).all_text_contents()
    return [t.strip() for t in texts if t.strip()]


def test_switching_the_dataset_names_an_ics_of_the_new_dataset(page):
    """Both shipped datasets have an ICS coded QNA: the sidebar must not keep the old name."""
    import planner
    from app_pages.shared import SHIPPED

    sidebar = page.get_by_test_id("stSidebar")
    ics = sidebar.get_by_role("combobox", name="ICS")
    expect(ics).to_have_value("Northvale and Ashby ICS")
    sidebar.get_by_role("combobox", name="Dataset").click()
    page.get_by_role("option", name="England-scale (synthetic)").click()
    wait_idle(page)
    england = planner.load_dataset(SHIPPED["England-scale (synthetic)"])
    names = set(england.icss["ics_name"])
    expect(ics).not_to_have_value("Northvale and Ashby ICS", timeout=HANG_GUARD_MS)
    assert ics.input_value() in names
    wait_plan(page)
    no_exception(page)


def test_the_floor_is_streamlit_and_plotly_alone(browser, app_url, tmp_path):
    """The Plan page's figures served with no planner work, timed as the app is.

    ``benchmarks/floor_app.py`` shows the default plan's two charts (written here as JSON),
    the five key figures and the budget slider, and nothing else: its first plan and slider
    steps are what Streamlit and Plotly cost in Chromium on this machine, the floor under the
    app's timings. Recorded next to them (``floor`` in the timings file), never asserted.
    """
    import planner
    from app_pages.shared import DEFAULTS, SHIPPED
    from planner import plots

    dataset = planner.load_dataset(SHIPPED["Default ICS (illustrative)"])
    data = dataset.subset([dataset.icss.index[0]])
    plan = planner.solve(data, DEFAULTS)
    figures = tmp_path / "figures"
    figures.mkdir()
    (figures / "heatmap.json").write_text(plots.plan_heatmap(plan, data).to_json())
    (figures / "bars.json").write_text(plots.trust_bars(plan).to_json())
    env = {"PLANNER_FLOOR_FIGURES": str(figures)}
    with _serve(str(ROOT / "benchmarks" / "floor_app.py"), tmp_path / "floor.log", env) as (
        url,
        started,
    ):
        first = _first_plan(browser, url, started)
        assert "first_plan_s" in first, first
        context = browser.new_context(viewport=VIEWPORT)
        try:
            pg = context.new_page()
            pg.set_default_timeout(60_000)
            pg.goto(url)
            wait_plan(pg)
            steps = _slider_moves(pg, "ArrowRight", 6)
            no_exception(pg)
        finally:
            context.close()
    TIMINGS["floor"] = {
        **_summary("budget slider ArrowRight (+£0.1m)", *steps),
        "what": "benchmarks/floor_app.py: the Plan page's title, key figures, two charts and "
        "budget slider with no planner work, timed as the app is",
        "first_plan_s": first.get("first_plan_s"),
        "first_load": first,
    }

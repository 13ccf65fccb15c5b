"""About page: what the tool does, its assumptions and their sources."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from planner.formatting import setting_text
from planner.scenario import settings_table

st.title("About this planner")
st.markdown("""
**What it does.** Given a pooled budget, the planner chooses which nationally approved AI
imaging products (chest X-ray triage, lung-nodule CT, stroke CT, fracture X-ray, breast
screening, prostate MRI, ...) each trust in an Integrated Care System should adopt, to
maximise projected benefit and fair access. It solves a mixed-integer programme (PuLP and
HiGHS) and shows a greedy benefit-per-pound order of buy beside every optimum.

**How benefit is counted.** Health gain from earlier or more accurate diagnosis, valued at
£25,000 a QALY (NICE's £20,000 to £30,000 range), plus consultant radiologist time released,
valued at £110 an hour and more where posts are vacant (released time displaces outsourcing
and locums). Costs and benefits are present values over five years at 3.5% (HM Treasury
Green Book). Benefit starts only at go-live, so slow procurement costs benefit.

**Ways of buying.** *Local*: each trust alone, with its own share of the money, its own
volume tier, full integration and platform costs, fastest. *ICS pooled*: one pot per ICS,
the tier set by pooled volume, shared costs, slower. *Central*: NHS England buys from a
national framework (framework products only), deepest tiers, the most shared costs, the
longest lead time. Each rule's parameters are scenario settings, since the evidence that
volume buys lower prices in the NHS is mixed.

**Fairness, judged against England.** How deprived a trust's people are is measured
against the whole of England, not against the other trusts in the file, so a trust counts
the same in its ICS's plan as in the national plan. England's neighbourhoods are split into
five equal fifths by the Index of Multiple Deprivation (IMD); the most deprived fifth is the
*Core20*. A hospital serves people from several fifths, so each trust carries the share of
its people in each fifth (where the data lack it, the trust is placed in the national fifth
of its average IMD score). Optional equity weights follow distributional cost-effectiveness
analysis: at full weight a pound of benefit to someone in the most deprived fifth counts
about six times one in the least deprived fifth (Atkinson inequality aversion 10.95 for
England), and a trust's benefit is weighted by the mix of its people. A coverage floor can
bind every trust, the Core20 people of the ICS as a whole (so it works in a one-trust ICS),
or every trust with more than a fifth of its people in the Core20. The Plan page names any
trust left with no new AI tool, or a most deprived fifth that gets less than the least, and
what fixing it would cost. The unweighted plan is always solved too, and the benefit given
up for equity is shown. Under local buying, weights cannot move money between trusts.

**Data.** All shipped figures are **illustrative** and all names **fictional**, with
realistic magnitudes from public sources (NICE guidance, RCR workforce census, NHS England
imaging statistics, the AI Diagnostic Fund evaluation); `data/README.md` gives the source or
assumption behind every range. There is no patient-level data.
""")
st.subheader("Settings and their sources")
st.caption(
    "Every setting can be changed in a scenario file (YAML or TOML) or on the command line "
    "with --set name=value; the name is what to write there."
)
settings = pd.DataFrame(settings_table())
settings["default"] = [
    setting_text(n, v) for n, v in zip(settings["setting"], settings["default"], strict=True)
]
# a static table: every description is shown whole, wrapped, not cut at the cell's edge
st.table(settings.rename(columns=str.capitalize).set_index("Setting"))

"""Data page: the loaded tables, the templates, and uploading your own dataset."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import planner
from app_pages.shared import add_upload, data_table, dataset_for, show_error, source_label
from planner.data import template_files
from planner.schema import dictionary

state = st.session_state
ctx = state["ctx"]
st.title("Data")
st.caption(
    f"Loaded: **{source_label(ctx.source)}**. Shipped figures are illustrative; "
    "names are fictional."
)

st.subheader("Use your own data")
st.markdown(
    "Upload one Excel workbook with the five sheets, or a zip of the five CSV files "
    "(`icss`, `trusts`, `products`, `price_tiers`, `deployments`). Start from the "
    "templates; the data dictionary below says what each column holds."
)
files = template_files()
c1, c2 = st.columns(2)
c1.download_button(
    "Template workbook (.xlsx)",
    files["template.xlsx"],
    file_name="planner_template.xlsx",
    key="template_xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)
c2.download_button(
    "Template CSV files (.zip)",
    files["templates.zip"],
    file_name="planner_templates.zip",
    mime="application/zip",
    key="template_zip",
)
# any kind of file is taken, so one of the wrong kind gets a message saying what to upload
upload = st.file_uploader(
    "Upload a dataset",
    key="upload",
    help="An Excel workbook (.xlsx) with the five sheets, or a .zip of the five CSV files",
)
if upload is not None:
    try:
        source = add_upload(upload.name, upload.getvalue())
    except planner.DataError as exc:
        st.error(f"{upload.name} was not loaded; the data in use is unchanged.")
        show_error(exc)
    else:
        if source not in state["sources"]:
            state["sources"].append(source)
        if source != ctx.source:
            state["pending_source"] = source
            st.rerun()
        st.success(f"{upload.name} is valid and in use.")

st.subheader("Loaded tables")
whole = dataset_for(ctx.source)
for name, frame in whole.tables().items():
    with st.expander(f"{name} ({len(frame)} rows)", expanded=name == "trusts"):
        st.dataframe(data_table(frame), hide_index=True, width="stretch", key=f"table_{name}")

with st.expander("Data dictionary"):
    st.dataframe(
        data_table(pd.DataFrame([dict(c.__dict__) for c in dictionary()])),
        hide_index=True,
        width="stretch",
        key="dictionary",
    )

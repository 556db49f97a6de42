"""civeval: the Streamlit entry point (`streamlit run app.py`). Page config and navigation only."""

import streamlit as st

from civeval.ui.navigation import APP_ICON, APP_TITLE, current_role, pages_for

st.set_page_config(page_title=APP_TITLE, page_icon=APP_ICON, layout="wide")
st.navigation(pages_for(current_role())).run()

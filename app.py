"""civeval: the Streamlit entry point (`streamlit run app.py`). Log-in, then the pages this user's role may see."""

import streamlit as st

from civeval.ui import navigation, session

st.set_page_config(page_title=navigation.APP_TITLE, page_icon=navigation.APP_ICON, layout="wide")
actor = session.signed_in()
navigation.sidebar(actor)
st.navigation(navigation.pages_for(actor), expanded=True).run()

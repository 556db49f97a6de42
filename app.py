"""civeval: the Streamlit entry point (`streamlit run app.py`). Log-in, then the pages this user's role may see.
An unexpected error in a page shows a Chinese message with an id; its traceback goes to the log (civeval.logs)."""

import streamlit as st

from civeval import logs
from civeval.ui import common, navigation, session

logs.configure()
st.set_page_config(page_title=navigation.APP_TITLE, page_icon=navigation.APP_ICON, layout="wide")
page = None
try:
    actor = session.signed_in()
    navigation.sidebar(actor)
    page = st.navigation(navigation.pages_for(actor), expanded=True)
    page.run()
except Exception as e:  # st.stop() and st.rerun() are BaseExceptions and pass through
    common.failure(e, what=f"打开“{page.title}”页面" if page is not None else "打开页面")

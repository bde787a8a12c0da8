"""densevis app: page navigation only. Run with `streamlit run app.py`."""

import streamlit as st

from app_pages import pages, state

st.set_page_config(page_title="densevis: see inside DenseNet", page_icon="🧱", layout="wide")
state.initialise()  # read the URL before any page switch clears it
page_list = pages.all_pages()
navigation = st.navigation(list(page_list.values()))
pages.remember(navigation)
st.session_state["_current"] = state.sidebar()
pages.follow_url(page_list, navigation)  # a page named in the URL, once per session
navigation.run()

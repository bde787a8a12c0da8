"""The app's entry script: page navigation only. `streamlit run` runs this file (through
the repository's thin `app.py`, or directly from an installed package via `densevis app`)."""

import streamlit as st

from densevis.app import pages, state


def run() -> None:
    """Build the navigation and run the chosen page (one Streamlit script run)."""
    st.set_page_config(page_title="densevis: see inside DenseNet", page_icon="🧱",
                       layout="wide")
    state.initialise()  # read the URL before any page switch clears it
    page_list = pages.all_pages()
    navigation = st.navigation(list(page_list.values()))
    pages.remember(navigation)
    st.session_state["_current"] = state.sidebar()
    pages.follow_url(page_list, navigation)  # a page named in the URL, once per session
    navigation.run()


if __name__ == "__main__":  # Streamlit runs scripts as __main__
    run()

"""The app's entry script: page navigation only. `streamlit run` runs this file (through
the repository's thin `app.py`, or directly from an installed package via `densevis app`)."""

import streamlit as st

from densevis.app import pages, sidebar


def run() -> None:
    """Build the navigation and the sidebar, then run the chosen page (one script run)."""
    st.set_page_config(page_title="densevis: see inside DenseNet", page_icon="🧱",
                       layout="wide")
    navigation = st.navigation(pages.session_pages())
    sidebar.sidebar()
    navigation.run()


if __name__ == "__main__":  # Streamlit runs scripts as __main__
    run()

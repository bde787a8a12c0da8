"""The page list. Each page is a file of this package that Streamlit runs as a script, at its
own URL path (/diagram, /compare, ...); the Overview answers at / and at /overview."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

HERE = Path(__file__).resolve().parent
PAGES = (
    ("Overview", "overview", ":material/home:"),
    ("Diagram", "diagram", ":material/account_tree:"),
    ("Connectivity", "connectivity", ":material/grid_on:"),
    ("Channels", "channels", ":material/show_chart:"),
    ("Layers", "layers", ":material/table_rows:"),
    ("Compare", "compare", ":material/compare_arrows:"),
    ("Latency", "latency", ":material/timer:"),
    ("Weights", "weights", ":material/fitness_center:"),
    ("Export", "export", ":material/download:"),
)


def all_pages() -> list[st.Page]:
    """The menu's pages in order, then a hidden twin that serves the Overview at /overview
    (the default page itself answers at /)."""
    menu = [st.Page(HERE / f"{slug}.py", title=title, icon=icon, default=slug == "overview",
                    url_path="home" if slug == "overview" else slug)
            for title, slug, icon in PAGES]
    return [*menu, st.Page(HERE / "overview.py", title="Overview", url_path="overview",
                           visibility="hidden")]


def session_pages() -> list[st.Page]:
    """all_pages(), made once per session: making a page resolves its file's path on disk
    (8% of a cached Overview's rerun under load). Not shared between sessions: st.navigation
    marks the page it returns as the one this run may call."""
    if "_pages" not in st.session_state:
        st.session_state["_pages"] = all_pages()
    return st.session_state["_pages"]

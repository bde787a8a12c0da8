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

"""The page list, and opening the page named in the URL (?page=...)."""

from __future__ import annotations

import streamlit as st

from app_pages import (
    channels,
    compare,
    connectivity,
    diagram,
    export,
    latency,
    layers,
    overview,
    weights,
)

_PAGES = (
    (overview.render, "Overview", "overview", ":material/home:"),
    (diagram.render, "Diagram", "diagram", ":material/account_tree:"),
    (connectivity.render, "Connectivity", "connectivity", ":material/grid_on:"),
    (channels.render, "Channels", "channels", ":material/show_chart:"),
    (layers.render, "Layers", "layers", ":material/table_rows:"),
    (compare.render, "Compare", "compare", ":material/compare_arrows:"),
    (latency.render, "Latency", "latency", ":material/timer:"),
    (weights.render, "Weights", "weights", ":material/fitness_center:"),
    (export.render, "Export", "export", ":material/download:"),
)


def _page_objects() -> dict[str, st.Page]:
    return {
        slug: st.Page(func, title=title, url_path=slug, icon=icon, default=slug == "overview")
        for func, title, slug, icon in _PAGES
    }


def all_pages() -> dict[str, st.Page]:
    """Page slug -> page, in menu order."""
    return _page_objects()


def follow_url(objects: dict[str, st.Page], navigation: st.Page) -> None:
    """On a session's first run, open the page the URL names; afterwards remember the page."""
    wanted = st.query_params.get("page")
    if not st.session_state.get("_followed_url"):
        st.session_state["_followed_url"] = True
        if wanted in objects and objects[wanted].url_path != navigation.url_path:
            st.session_state["_page"] = wanted
            st.switch_page(objects[wanted])
    slug = navigation.url_path or "overview"
    st.session_state["_page"] = slug

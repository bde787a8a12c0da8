"""The page list, and opening the page named in the URL (?page=...)."""

from __future__ import annotations

import importlib
from collections.abc import Callable

import streamlit as st

_PAGES = (
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


def _lazy(slug: str) -> Callable[[], None]:
    """A page function that imports its module only when the page is opened."""

    def render() -> None:
        importlib.import_module(f"app_pages.{slug}").render()

    render.__name__ = slug
    return render


def _page_objects() -> dict[str, st.Page]:
    return {
        slug: st.Page(_lazy(slug), title=title, url_path=slug, icon=icon,
                      default=slug == "overview")
        for title, slug, icon in _PAGES
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


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
        importlib.import_module(f"densevis.app.{slug}").render()

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


def remember(navigation: st.Page) -> None:
    """Note the page being shown, for the URL the sidebar writes."""
    st.session_state["_page"] = navigation.url_path or "overview"


def follow_url(objects: dict[str, st.Page], navigation: st.Page) -> None:
    """Once per session, open the page the URL named when the session started (?page=...).
    Called after the sidebar's widgets are drawn, so a page switch keeps their values."""
    if st.session_state.get("_followed_url"):
        return
    st.session_state["_followed_url"] = True
    wanted = st.session_state.get("_wanted_page")
    if wanted in objects and objects[wanted].url_path != navigation.url_path:
        st.session_state["_page"] = wanted
        st.switch_page(objects[wanted])

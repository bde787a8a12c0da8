"""Small display helpers shared by the pages: SVG with pan and zoom, cached renders."""

from __future__ import annotations

import base64

import plotly.graph_objects as go
import streamlit as st

from densevis.app.cache import ByteCache
from densevis.app.text import plain
from densevis.app.traces import Source, trace_of
from densevis.errors import DenseVisError
from densevis.render.theme import get_theme

_PAN_ZOOM = """
<div id="box" style="width:100%;height:{height}px;overflow:hidden;border:1px solid #8884;
 border-radius:6px;background:{background};color:{foreground};cursor:grab;
 position:relative">
 <img id="svg" src="data:image/svg+xml;base64,{data}" alt="{alt}"
  style="transform-origin:0 0;user-select:none;-webkit-user-drag:none;max-width:none">
 <div style="position:absolute;right:8px;top:6px;font:12px sans-serif;opacity:.7">
  scroll to zoom · drag to pan · double-click to fit</div>
</div>
<script>
const box = document.getElementById('box'), img = document.getElementById('svg');
let scale = 1, x = 0, y = 0, drag = null;
function apply() {{ img.style.transform = `translate(${{x}}px,${{y}}px) scale(${{scale}})`; }}
function fit() {{
  const w = img.naturalWidth || img.width, h = img.naturalHeight || img.height;
  scale = Math.min(box.clientWidth / w, box.clientHeight / h, 1.5);
  x = (box.clientWidth - w * scale) / 2; y = (box.clientHeight - h * scale) / 2; apply();
}}
img.onload = fit; if (img.complete) fit();
box.addEventListener('wheel', e => {{
  e.preventDefault();
  const r = box.getBoundingClientRect(), px = e.clientX - r.left, py = e.clientY - r.top;
  const f = Math.exp(-e.deltaY * 0.0015);
  x = px - (px - x) * f; y = py - (py - y) * f; scale *= f; apply();
}}, {{passive: false}});
box.addEventListener('mousedown', e => {{ drag = [e.clientX - x, e.clientY - y];
  box.style.cursor = 'grabbing'; }});
window.addEventListener('mouseup', () => {{ drag = null; box.style.cursor = 'grab'; }});
window.addEventListener('mousemove', e => {{ if (drag) {{ x = e.clientX - drag[0];
  y = e.clientY - drag[1]; apply(); }} }});
box.addEventListener('dblclick', fit);
</script>
"""

# Large integer columns with thousands separators in every table.
NUMBER_COLUMNS = {name: st.column_config.NumberColumn(format="localized")
                  for name in ("params", "MACs", "FLOPs", "activation bytes")}

SVGS: ByteCache[bytes] = ByteCache(256 * 2**20, 1024, len)  # diagrams, server-wide: bytes rule


def show_svg(svg: bytes, height: int = 520, theme: str = "light", alt: str = "diagram") -> None:
    """An SVG in a pan-and-zoom frame (the drawing itself stays vector)."""
    look = get_theme(theme)  # frame, hint and figure share the theme's colours
    html = _PAN_ZOOM.format(height=height, data=base64.b64encode(svg).decode("ascii"),
                            background=look.backdrop, foreground=look.muted, alt=alt)
    st.iframe(html, height=height + 8, alt=alt)


def show_figure(figure: go.Figure, key: str | None = None) -> None:
    st.plotly_chart(figure, width="stretch", key=key, theme=None)


def render_diagram(config: Source, device: str, view: str, block: int = 1,
                   layer: int = 1, **options: object) -> bytes | None:
    """SVG bytes of a view (cached for the server by config and options), or None after
    showing why not."""
    from densevis.render.diagrams import DiagramOptions, diagram
    from densevis.render.export import diagram_bytes

    try:
        choice = DiagramOptions(**options)  # type: ignore[arg-type]
        return SVGS.get((config, device, view, block, layer, choice), lambda: diagram_bytes(
            diagram(trace_of(config, device), view, block=block, layer=layer, options=choice),
            "svg"))
    except DenseVisError as problem:
        st.error(plain(problem))
        return None

"""The diagram canvas: a Streamlit components-v2 component (inline HTML, CSS and JS, no build
step) that shows a layout's SVG inline, with tooltips, click to drill down or select, the
selection's inputs and consumers highlighted in the browser, breadcrumbs, zoom buttons, wheel
zoom and drag pan. It sends one trigger, ``action``, back to Python:
``{"kind": "block", "block": b}`` (open a block), ``{"kind": "select", "id": name or None}``,
``{"kind": "layer", "block": b, "position": l}`` (open a dense layer) and
``{"kind": "go", "view": v, "block": b, "layer": l}`` (a breadcrumb)."""

from __future__ import annotations

import sys
import threading
from typing import Any

import streamlit as st

from densevis.app.cache import ByteCache

Drawing = tuple[str, str, list[tuple[str, str]]]  # inline SVG, why simplified, colour legend
# The drawings shown, for the whole server (here, not in the page file Streamlit re-executes).
DRAWINGS: ByteCache[Drawing] = ByteCache(128 * 2**20, 32, lambda made: sys.getsizeof(made[0]))
DRAWING_AHEAD = threading.Lock()  # held by the one thread drawing views ahead of a click

CSS = """
.dv-root { font: 13px var(--st-font, sans-serif); position: relative;
  color: var(--st-text-color, inherit); }
.dv-bar { display: flex; align-items: center; gap: 8px; margin-bottom: 6px; flex-wrap: wrap; }
.dv-crumbs { font-size: 15px; white-space: nowrap; }
.dv-crumbs a { color: var(--st-primary-color, #ff4b4b); cursor: pointer; text-decoration: none; }
.dv-crumbs a:hover { text-decoration: underline; }
.dv-crumbs .sep { opacity: .6; margin: 0 6px; }
.dv-bar button { min-width: 34px; height: 30px; border-radius: 6px; cursor: pointer;
  border: 1px solid #8886; background: var(--st-background-color, transparent);
  color: inherit; font-size: 14px; }
.dv-bar button:hover { border-color: var(--st-primary-color, #ff4b4b); }
.dv-hint { flex: 1; opacity: .7; font-size: 12px; text-align: right; overflow: hidden;
  white-space: nowrap; text-overflow: ellipsis; }
.dv-view { position: relative; overflow: hidden; border: 1px solid #8885; border-radius: 6px;
  background: var(--bg); cursor: grab; touch-action: none; }
.dv-view.dragging { cursor: grabbing; }
.dv-stage { position: absolute; left: 0; top: 0; transform-origin: 0 0; }
.dv-stage svg { display: block; user-select: none; }
.dv-stage .node.block, .dv-stage .node.dense-layer, .dv-stage .node.source { cursor: pointer; }
.dv-stage .node.block:hover rect, .dv-stage .node.dense-layer:hover rect { stroke-width: 3.5; }
.dv-stage .edge { pointer-events: none; }
.dv-stage .hit { visibility: hidden; stroke: #000; stroke-width: 8; fill: none;
  pointer-events: stroke; }  /* hovered, never painted */
.dv-stage .edge.hover { stroke-width: 3.5; }
.sel .edge.link:not(.on), .sel .edge.output-link:not(.on), .sel .edge.bundle:not(.on) {
  stroke: var(--dim); stroke-width: .6; }
.sel .edge.on { stroke-width: 2.4; }
.sel .node.input rect { fill: var(--input); }
.sel .node.consumer rect { fill: var(--consumer); }
.sel .node.focus rect { stroke: var(--focus); stroke-width: 4.5; }
.sel .node:not(.input):not(.consumer):not(.focus) { opacity: .45; }
.dv-tip { position: absolute; z-index: 5; pointer-events: none; max-width: 440px;
  padding: 5px 9px; border-radius: 5px; background: #1f2328ee; color: #fff; font-size: 13px;
  box-shadow: 0 2px 6px #0004; }
"""

JS = r"""
const MIN_TEXT_PX = 12;  // opening zoom keeps node text at least this big (when it can)

function build(parent) {
  const root = document.createElement("div");
  root.className = "dv-root";
  root.innerHTML = `<div class="dv-bar"><nav class="dv-crumbs" aria-label="breadcrumbs"></nav>
    <span class="dv-hint"></span>
    <button data-zoom="in" title="zoom in">+</button>
    <button data-zoom="out" title="zoom out">−</button>
    <button data-zoom="fit" title="fit the whole view">fit</button>
    <button data-zoom="one" title="actual size">1:1</button></div>
    <div class="dv-view"><div class="dv-stage"></div></div><div class="dv-tip" hidden></div>`;
  parent.appendChild(root);
  root.z = { s: 1, x: 0, y: 0 };
  wire(root);
  return root;
}

function view(root) { return root.querySelector(".dv-view"); }
function stage(root) { return root.querySelector(".dv-stage"); }
function apply(root) {
  const z = root.z;
  stage(root).style.transform = `translate(${z.x}px,${z.y}px) scale(${z.s})`;
  root.dataset.scale = z.s.toFixed(4);
}
function size(root) {
  const svg = stage(root).firstElementChild;
  return svg ? [svg.width.baseVal.value, svg.height.baseVal.value] : [1, 1];
}
function clamp(root) {  // keep the drawing on screen; centre it when it is smaller
  const z = root.z, [w, h] = size(root), v = view(root);
  const vw = v.clientWidth, vh = v.clientHeight;
  z.x = w * z.s <= vw ? (vw - w * z.s) / 2 : Math.min(0, Math.max(vw - w * z.s, z.x));
  z.y = h * z.s <= vh ? (vh - h * z.s) / 2 : Math.min(0, Math.max(vh - h * z.s, z.y));
}
function zoomAt(root, factor, px, py) {
  const z = root.z, s = Math.min(4, Math.max(0.02, z.s * factor));
  z.x = px - (px - z.x) * (s / z.s); z.y = py - (py - z.y) * (s / z.s); z.s = s;
  clamp(root); apply(root);
}
function fit(root) {
  const [w, h] = size(root), v = view(root);
  root.z.s = Math.min(v.clientWidth / w, v.clientHeight / h, 1.5);
  clamp(root); apply(root);
}
function centre(root, node) {  // the drawing's point under a node's centre, in stage px
  const svg = stage(root).firstElementChild, box = svg.viewBox.baseVal;
  const r = node.querySelector("rect");
  return [r.x.baseVal.value + r.width.baseVal.value / 2 - box.x,
          r.y.baseVal.value + r.height.baseVal.value / 2 - box.y];
}
function opening(root, focusId) {
  // fit when the text stays readable; else readable text, scrolled to the focus or the start
  const svg = stage(root).firstElementChild, v = view(root), [w, h] = size(root);
  const font = parseFloat(svg.dataset.font || "13");
  const fitScale = Math.min(v.clientWidth / w, v.clientHeight / h, 1.5);
  if (fitScale * font >= MIN_TEXT_PX) { root.z.s = fitScale; clamp(root); apply(root); return; }
  root.z.s = MIN_TEXT_PX / font;
  const target = (focusId && root.nodes.get(focusId)) ||
    svg.querySelector(".node.dense-layer") || svg.querySelector(".node");
  const [cx, cy] = centre(root, target);
  const across = focusId ? 0.5 : 0.2;
  root.z.x = v.clientWidth * across - cx * root.z.s;
  root.z.y = v.clientHeight * (focusId ? 0.5 : 0.75) - cy * root.z.s;
  clamp(root); apply(root);
}

function load(root, data) {
  const started = performance.now();
  view(root).style.height = `${data.height}px`;
  root.style.setProperty("--bg", data.background);
  stage(root).innerHTML = data.svg;
  const svg = stage(root).firstElementChild, list = [...svg.querySelectorAll("g.node")];
  root.list = list;
  root.nodes = new Map(list.map((g) => [g.id, g])); root.ins = new Map(); root.outs = new Map();
  for (const p of svg.querySelectorAll("path.link, path.output-link, path.bundle")) {
    p.from = list[+p.dataset.s]; p.to = list[+p.dataset.t];  // data-s, data-t: node indices
    (root.ins.get(p.to.id) || root.ins.set(p.to.id, []).get(p.to.id)).push(p);
    (root.outs.get(p.from.id) || root.outs.set(p.from.id, []).get(p.from.id)).push(p);
  }
  root.dataset.key = data.key;
  root.dataset.loads = String(+(root.dataset.loads || 0) + 1);
  root.focusId = undefined;
  opening(root, data.focus);
  root.dataset.loadStart = started.toFixed(0);  // for benchmarks/bench_diagram.py
  root.dataset.loadMs = (performance.now() - started).toFixed(0);
  // hover targets once the drawing is on screen: they do not hold up its first paint
  requestAnimationFrame(() => setTimeout(() => {
    root.dataset.paintedMs = (performance.now() - started).toFixed(0); addHits(svg);
  }, 0));
}

function addHits(svg) {  // wide transparent twins of the edges: easy to hover, same tooltip
  const hits = document.createElementNS("http://www.w3.org/2000/svg", "g");
  hits.setAttribute("class", "hits");
  for (const p of svg.querySelectorAll("path.edge[data-tip]")) {
    const hit = document.createElementNS("http://www.w3.org/2000/svg", "path");
    hit.setAttribute("d", p.getAttribute("d"));
    hit.setAttribute("class", "hit");
    hit.edge = p;
    hits.appendChild(hit);
  }
  svg.insertBefore(hits, svg.querySelector("g.nodes"));
}

function edgeTip(root, p) {  // an empty data-tip: "A → B: C" from the edge's two ends
  if (p.dataset.tip) return p.dataset.tip;
  const from = root.list[+p.dataset.s].dataset, to = root.list[+p.dataset.t].dataset;
  return `${from.from} → ${to.to}: ${from.carries}`;
}

function focus(root, id) {
  if (root.focusId === id) return;
  const svg = stage(root).firstElementChild;
  for (const el of svg.querySelectorAll(".on, .input, .consumer, .focus"))
    el.classList.remove("on", "input", "consumer", "focus");
  root.focusId = id;
  const node = id && root.nodes.get(id);
  svg.classList.toggle("sel", !!node);
  if (!node) return;
  node.classList.add("focus");
  for (const p of root.ins.get(id) || []) {
    p.classList.add("on"); p.from.classList.add("input");
  }
  for (const p of root.outs.get(id) || []) {
    p.classList.add("on"); p.to.classList.add("consumer");
  }
}

function crumbs(root, items) {
  const nav = root.querySelector(".dv-crumbs");
  nav.innerHTML = "";
  items.forEach((item, i) => {
    if (i) { const sep = document.createElement("span"); sep.className = "sep";
             sep.textContent = "›"; nav.appendChild(sep); }
    const el = document.createElement(i < items.length - 1 ? "a" : "span");
    el.textContent = item.label;
    if (i < items.length - 1) el.onclick = () => send(root, { kind: "go", ...item.go });
    nav.appendChild(el);
  });
}

function send(root, action) { root.api.setTriggerValue("action", action); }

function wire(root) {
  const v = () => view(root), tip = root.querySelector(".dv-tip");
  let drag = null, moved = false;
  root.querySelector(".dv-bar").addEventListener("click", (e) => {
    const kind = e.target.dataset && e.target.dataset.zoom;
    if (!kind) return;
    const w = v().clientWidth / 2, h = v().clientHeight / 2;
    if (kind === "in") zoomAt(root, 1.25, w, h);
    else if (kind === "out") zoomAt(root, 0.8, w, h);
    else if (kind === "fit") fit(root);
    else zoomAt(root, 1 / root.z.s, w, h);
  });
  root.addEventListener("wheel", (e) => {
    if (!v().contains(e.target)) return;
    e.preventDefault();
    const r = v().getBoundingClientRect();
    zoomAt(root, Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });
  root.addEventListener("pointerdown", (e) => {
    if (!v().contains(e.target) || e.button !== 0) return;
    drag = [e.clientX, e.clientY, root.z.x, root.z.y]; moved = false;
  });
  window.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const dx = e.clientX - drag[0], dy = e.clientY - drag[1];
    if (!moved && Math.hypot(dx, dy) < 4) return;
    moved = true; v().classList.add("dragging");
    root.z.x = drag[2] + dx; root.z.y = drag[3] + dy; clamp(root); apply(root);
  });
  window.addEventListener("pointerup", () => { drag = null; v().classList.remove("dragging"); });
  root.addEventListener("click", (e) => {
    if (moved) { moved = false; return; }
    if (!stage(root).contains(e.target) || e.target.edge) return;
    const node = e.target.closest("g.node"), kind = root.dataset.view;
    if (node && node.classList.contains("block") && node.dataset.block)
      send(root, { kind: "block", block: +node.dataset.block });
    else if (node && node.classList.contains("dense-layer")) {
      focus(root, node.id); send(root, { kind: "select", id: node.id });
    } else if (node && node.classList.contains("source") && +node.dataset.position > 0)
      send(root, { kind: "layer", block: +node.dataset.block, position: +node.dataset.position });
    else if (!node && kind !== "layer") {
      focus(root, null); send(root, { kind: "select", id: null });
    }
  });
  root.addEventListener("dblclick", (e) => {
    const node = e.target.closest && e.target.closest("g.node.dense-layer");
    if (!node) return;
    send(root, { kind: "layer", block: +node.dataset.block, position: +node.dataset.position });
  });
  root.addEventListener("mouseover", (e) => {
    if (e.target.edge) e.target.edge.classList.add("hover");
    const el = !e.target.edge && e.target.closest && e.target.closest("[data-tip]");
    const text = e.target.edge ? edgeTip(root, e.target.edge) : el && el.dataset.tip;
    if (!text) { tip.hidden = true; return; }
    tip.textContent = text; tip.hidden = false;
  });
  root.addEventListener("mousemove", (e) => {
    if (tip.hidden) return;
    const r = root.getBoundingClientRect();
    tip.style.left = `${Math.min(e.clientX - r.left + 14, r.width - 300)}px`;
    tip.style.top = `${e.clientY - r.top + 16}px`;
  });
  root.addEventListener("mouseout", (e) => {
    if (e.target.edge) e.target.edge.classList.remove("hover");
  });
  root.addEventListener("mouseleave", () => { tip.hidden = true; });
}

export default function (component) {
  const { data, parentElement } = component;
  const root = parentElement.querySelector(".dv-root") || build(parentElement);
  root.api = component;
  root.dataset.view = data.view;
  root.querySelector(".dv-hint").textContent = data.hint;
  if (root.dataset.key !== data.key) load(root, data);
  crumbs(root, data.crumbs);
  focus(root, data.focus || null);
}
"""

_canvas = st.components.v2.component("densevis.diagram_canvas", css=CSS, js=JS)


def canvas(data: dict[str, Any], key: str, on_action: Any) -> Any:
    """Mount the canvas; ``on_action`` runs when the user clicks something that matters."""
    return _canvas(data=data, key=key, on_action_change=on_action, height="content")

// The pipeline graph as SVG: jobs and resources as boxes (each a link to its page, with a button
// that opens its actions), edges as curves. Pan and zoom change one transform attribute directly
// (no re-render): wheel, drag, the buttons, and the keyboard (arrows, + and -, 0 to fit) when the
// graph has focus; a node reached by Tab is scrolled into view.
import { useEffect, useRef } from "preact/hooks";
import type { Graph, GraphJob, Resource } from "../api";
import { href } from "../router";
import type { Layout, PlacedEdge } from "./layout";
import { fits, jobId, resourceId, type GraphEdge } from "./model";

interface View {
  x: number;
  y: number;
  k: number;
}

// SVG attributes keep their case: `tabIndex` would not make an SVG element focusable
const focusable = { tabindex: "0" } as Record<string, string>;
const MIN_ZOOM = 0.15;
const MAX_ZOOM = 2.5;

export function jobStatus(j: GraphJob): string {
  return j.latest_build?.status ?? "none";
}

/** How a resource's check stands, in words. */
export function resourceState(r: Resource): string {
  if (r.checking) return "checking";
  if (r.check_error) return "check failed";
  if (r.pinned_version_id !== null) return "pinned";
  return "ok";
}

function curve(points: { x: number; y: number }[]): string {
  let d = `M${points[0].x},${points[0].y}`;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1];
    const b = points[i];
    const dx = (b.x - a.x) / 2;
    d += `C${a.x + dx},${a.y} ${b.x - dx},${b.y} ${b.x},${b.y}`;
  }
  return d;
}

function Edge({ route, edge }: { route: PlacedEdge; edge: GraphEdge }) {
  return (
    <path class={`gedge gedge-${edge.kind}`} d={curve(route.points)} marker-end="url(#arrow)">
      <title>{`${edge.label} (${edge.kind === "put" ? "put" : edge.kind === "trigger" ? "triggers" : "no trigger"})`}</title>
    </path>
  );
}

/** Wheel, drag, keys and focus on the graph; returns what removes them. */
function attachGestures(el: SVGSVGElement, view: { current: View }, apply: () => void,
  zoomAt: (factor: number, cx?: number, cy?: number) => void, fit: () => void,
  reveal: (node: Element | null | undefined) => void): () => void {
  const wheel = (e: WheelEvent) => {
    e.preventDefault();
    const r = el.getBoundingClientRect();
    zoomAt(Math.exp(-e.deltaY * (e.deltaMode ? 0.05 : 0.0015)), e.clientX - r.left, e.clientY - r.top);
  };
  let drag: { id: number; x: number; y: number; moved: boolean } | null = null;
  const down = (e: PointerEvent) => {
    if (e.button !== 0) return;
    drag = { id: e.pointerId, x: e.clientX, y: e.clientY, moved: false };
  };
  const move = (e: PointerEvent) => {
    if (!drag || drag.id !== e.pointerId) return;
    const dx = e.clientX - drag.x;
    const dy = e.clientY - drag.y;
    if (!drag.moved && Math.hypot(dx, dy) < 4) return;
    if (!drag.moved) el.setPointerCapture(e.pointerId);
    drag.moved = true;
    view.current.x += dx;
    view.current.y += dy;
    drag.x = e.clientX;
    drag.y = e.clientY;
    apply();
  };
  const up = (e: PointerEvent) => {
    if (!drag || drag.id !== e.pointerId) return;
    if (drag.moved) {
      // the click that ends a drag does not follow the link under the pointer
      el.addEventListener("click", (c) => (c.preventDefault(), c.stopPropagation()), { capture: true, once: true });
      setTimeout(() => (drag = null), 0);
    } else drag = null;
  };
  const keys = (e: KeyboardEvent) => {
    if (e.target !== el) return;
    const step = 60;
    const moves: Record<string, [number, number]> = {
      ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step],
    };
    if (moves[e.key]) {
      view.current.x += moves[e.key][0];
      view.current.y += moves[e.key][1];
      apply();
    } else if (e.key === "+" || e.key === "=") zoomAt(1.25);
    else if (e.key === "-") zoomAt(0.8);
    else if (e.key === "0") fit();
    else return;
    e.preventDefault();
  };
  const focus = (e: FocusEvent) => reveal((e.target as Element).closest?.("[data-node]"));
  const listeners: [string, (e: any) => void][] = [
    ["wheel", wheel], ["pointerdown", down], ["pointermove", move], ["pointerup", up],
    ["pointercancel", up], ["keydown", keys], ["focusin", focus],
  ];
  // none is passive: the wheel zooms the graph and the keys pan it instead of scrolling the page
  for (const [type, f] of listeners) el.addEventListener(type, f, { passive: false });
  return () => {
    for (const [type, f] of listeners) el.removeEventListener(type, f);
  };
}

/** Pan and zoom of the graph in `svg`, applied to `stage`'s transform without re-rendering. */
function usePanZoom(layout: Layout, selected: string | null) {
  const svg = useRef<SVGSVGElement>(null);
  const stage = useRef<SVGGElement>(null);
  const view = useRef<View>({ x: 0, y: 0, k: 1 });

  const apply = () => {
    const v = view.current;
    stage.current?.setAttribute("transform", `translate(${v.x},${v.y}) scale(${v.k})`);
  };
  const zoomAt = (factor: number, cx?: number, cy?: number) => {
    const el = svg.current;
    if (!el) return;
    const v = view.current;
    const px = cx ?? el.clientWidth / 2;
    const py = cy ?? el.clientHeight / 2;
    const k = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, v.k * factor));
    v.x = px - ((px - v.x) * k) / v.k;
    v.y = py - ((py - v.y) * k) / v.k;
    v.k = k;
    apply();
  };
  const fit = () => {
    const el = svg.current;
    if (!el) return;
    const pad = 16;
    const w = Math.max(1, layout.width);
    const h = Math.max(1, layout.height);
    // never so small that names cannot be read: a big graph starts at its first columns
    const k = Math.min(1, Math.max(0.45, Math.min((el.clientWidth - 2 * pad) / w, (el.clientHeight - 2 * pad) / h)));
    view.current = { k, x: pad, y: Math.max(pad, (el.clientHeight - h * k) / 2) };
    apply();
  };

  /** Pans so that `node` is in view, when it is not. */
  const reveal = (node: Element | null | undefined) => {
    const el = svg.current;
    if (!node || !el) return;
    const b = node.getBoundingClientRect();
    const r = el.getBoundingClientRect();
    if (b.left >= r.left && b.right <= r.right && b.top >= r.top && b.bottom <= r.bottom) return;
    view.current.x += r.left + r.width / 2 - (b.left + b.width / 2);
    view.current.y += r.top + r.height / 2 - (b.top + b.height / 2);
    apply();
  };

  useEffect(fit, [layout]);
  // the panel beside the graph narrows it: keep the chosen box in sight
  useEffect(() => {
    if (selected) reveal(svg.current?.querySelector(`[data-node="${CSS.escape(selected)}"]`));
  }, [selected]);

  useEffect(() => attachGestures(svg.current!, view, apply, zoomAt, fit, reveal), []);

  return { svg, stage, zoomAt, fit };
}

export function GraphView(props: {
  graph: Graph;
  layout: Layout;
  edges: GraphEdge[];
  selected: string | null;
  onSelect: (id: string) => void;
}) {
  const { graph, layout } = props;
  const { svg, stage, zoomAt, fit } = usePanZoom(layout, props.selected);
  const pos = new Map(layout.nodes.map((n) => [n.id, n]));
  const edgeOf = new Map(props.edges.map((e) => [e.from + "\n" + e.to, e]));

  const select = (id: string) => (e: Event) => {
    e.preventDefault();
    props.onSelect(id);
  };
  const selectKey = (id: string) => (e: KeyboardEvent) => {
    if (e.key === "Enter" || e.key === " ") select(id)(e);
  };

  // The link's name starts with its visible text (what a voice user says), then the kind, the
  // full name when the box cuts it, and whether it runs.
  const box = (id: string, kind: string, cls: string, link: string, title: string, line2: string,
    state: Record<string, string>, extra = "") => {
    const n = pos.get(id);
    if (!n) return null;
    const shown = fits(title, n.width);
    const shown2 = fits(line2, n.width, 16);
    const label = `${shown} ${shown2}, ${kind}${shown !== title ? " " + title : ""}${extra}`;
    const x = n.x - n.width / 2;
    const y = n.y - n.height / 2;
    return (
      <g class={`gnode gnode-${kind} ${cls}${props.selected === id ? " selected" : ""}`} data-node={id}
        transform={`translate(${x},${y})`}>
        <title>{title}</title>
        <a href={link} aria-label={label}>
          <rect class="gbox" width={n.width} height={n.height} rx={kind === "resource" ? 20 : 6} />
          <text class="gname" x={12} y={19}>{shown}</text>{" "}
          <text class="gstate" x={12} y={36} {...state}>{shown2}</text>
          {cls.includes(" running") && <circle class="grun" cx={n.width - 12} cy={35} r={4.5} />}
        </a>
        <g class="gmore" role="button" {...focusable} aria-label={`Actions for ${title}`}
          aria-expanded={props.selected === id} onClick={select(id)} onKeyDown={selectKey(id)}>
          <rect x={n.width - 26} y={4} width={22} height={22} rx={4} />
          <text x={n.width - 15} y={20} text-anchor="middle" aria-hidden="true">⋯</text>
        </g>
      </g>
    );
  };

  const p = graph.name;
  return (
    <div class="graph-wrap">
      <div class="graph-tools" role="group" aria-label="Zoom">
        <button type="button" onClick={() => zoomAt(1.25)} aria-label="Zoom in">+</button>
        <button type="button" onClick={() => zoomAt(0.8)} aria-label="Zoom out">−</button>
        <button type="button" onClick={fit}>Fit</button>
      </div>
      <svg ref={svg} class="graph" {...focusable} role="group"
        style={{ height: `min(72vh, ${Math.max(240, Math.round(layout.height) + 64)}px)` }}
        aria-label={`Graph of ${p}: drag or use the arrow keys to move, the wheel or + and - to zoom, 0 to fit`}>
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M0,0L10,5L0,10z" class="garrow" />
          </marker>
        </defs>
        <g ref={stage}>
          <g class="gedges">
            {layout.edges.map((route) => {
              const edge = edgeOf.get(route.from + "\n" + route.to);
              return edge && <Edge key={route.from + "\n" + route.to} route={route} edge={edge} />;
            })}
          </g>
          {graph.resources.map((r) => {
            const state = resourceState(r);
            return box(resourceId(r.canonical), "resource", `rstate-${state.replace(" ", "-")}`,
              href("pipelines", p, "resources", r.canonical), r.name, `${r.type} · ${state}`,
              { "data-state": state });
          })}
          {graph.jobs.map((j) => {
            const status = jobStatus(j);
            const running = j.running > 0 || status === "started";
            const marks = (j.paused ? " · paused" : "") + (j.running > 1 ? ` · ${j.running} running` : "");
            return box(jobId(j.name), "job",
              `status-${status}${running ? " running" : ""}${j.paused ? " paused" : ""}`,
              href("pipelines", p, "jobs", j.name), j.name, status + marks, { "data-status": status },
              running ? ", running" : "");
          })}
        </g>
      </svg>
    </div>
  );
}

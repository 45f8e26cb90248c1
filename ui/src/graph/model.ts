// From the node's graph (jobs with their gets and puts, resources) to boxes and edges to lay out.
// Edges, in the direction things flow:
//   resource → job  a get without `passed` (solid when it triggers the job, dashed otherwise);
//   job → job       a get with `passed`: each upstream job to the job, named by the resource
//                   (drawn directly rather than through the resource: with long `passed` chains a
//                   resource drawn once would pull every edge back to it and tangle the graph);
//   job → resource  a put.
import type { Graph } from "../api";
import { layout, type Layout } from "./layout";

export type EdgeKind = "trigger" | "get" | "put";

export interface GraphEdge {
  from: string;
  to: string;
  kind: EdgeKind;
  /** The resources (step names) the edge stands for, for its tooltip. */
  label: string;
}

export const jobId = (name: string) => "job:" + name;
export const resourceId = (canonical: string) => "res:" + canonical;

export const NODE_HEIGHT = 46;
const CHAR = 7.4; // mean width of a 13 px system-font character

/** A box's width for its longest line, within bounds (longer names are cut with an ellipsis). */
export function nodeWidth(...lines: string[]): number {
  const longest = Math.max(...lines.map((l) => l.length));
  return Math.round(Math.min(240, Math.max(120, longest * CHAR + 30)));
}

/** The most characters a line of a box `width` wide shows. */
export function fits(text: string, width: number, room = 30): string {
  const max = Math.floor((width - room) / CHAR);
  return text.length <= max ? text : text.slice(0, Math.max(1, max - 1)) + "…";
}

export function graphEdges(g: Graph): GraphEdge[] {
  const edges = new Map<string, GraphEdge>();
  const add = (from: string, to: string, kind: EdgeKind, label: string) => {
    const key = from + "\n" + to;
    const had = edges.get(key);
    if (!had) edges.set(key, { from, to, kind, label });
    else {
      if (!had.label.split(", ").includes(label)) had.label += ", " + label;
      if (kind === "trigger") had.kind = kind; // a triggering get wins over a plain one
    }
  };
  const known = new Set(g.jobs.map((j) => j.name));
  for (const job of g.jobs) {
    for (const get of job.gets) {
      const kind: EdgeKind = get.trigger ? "trigger" : "get";
      const upstream = get.passed.filter((p) => known.has(p));
      if (!upstream.length) add(resourceId(get.resource), jobId(job.name), kind, get.name);
      for (const p of upstream) add(jobId(p), jobId(job.name), kind, get.name);
    }
    for (const put of job.puts) add(jobId(job.name), resourceId(put.resource), "put", put.name);
  }
  return [...edges.values()];
}

/** Boxes for every job and resource, the edges, and where they all go. */
export function layoutGraph(g: Graph): { layout: Layout; edges: GraphEdge[] } {
  const nodes = [
    ...g.resources.map((r) => ({ id: resourceId(r.canonical), width: nodeWidth(r.name, r.type + " · check failed"), height: NODE_HEIGHT })),
    ...g.jobs.map((j) => ({ id: jobId(j.name), width: nodeWidth(j.name, "waiting_for_approval"), height: NODE_HEIGHT })),
  ];
  const edges = graphEdges(g);
  return { layout: layout(nodes, edges, { layerGap: 70, nodeGap: 18 }), edges };
}

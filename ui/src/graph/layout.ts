// A layered (Sugiyama-style) layout for the pipeline graph, left to right. A pure function, no
// DOM: nodes with sizes and directed edges in, positions and edge routes out.
//   1. cycles are broken by reversing the back edges of a depth-first search (a job that gets and
//      puts the same resource makes one);
//   2. layers by longest path from the sources; a source (a resource) then moves right next to
//      the first layer that uses it, so it sits beside its consumers rather than in column 0;
//   3. edges longer than one layer get a dummy node per layer crossed, so they bend around nodes;
//   4. the order within each layer comes from a few barycenter sweeps (down and up), keeping the
//      order with the fewest crossings;
//   5. vertical positions: each node wants the mean of its neighbours' positions; the nearest
//      placement that keeps the order and the gaps is found by pooling adjacent violators,
//      sweeping a few times in both directions.
// Everything is linear or n·log n per sweep, so 250 jobs and their resources lay out in a few
// milliseconds.

/** A node to place; width and height in the units the drawing uses. */
export interface LayoutNode {
  id: string;
  width: number;
  height: number;
}

/** A directed edge between two node ids. */
export interface LayoutEdge {
  from: string;
  to: string;
}

export interface LayoutOptions {
  /** Horizontal gap between layers. */
  layerGap?: number;
  /** Vertical gap between nodes of a layer. */
  nodeGap?: number;
  /** Ordering sweeps (each is one down and one up pass). */
  sweeps?: number;
}

/** Where a node goes: its centre, and its layer (column). */
export interface PlacedNode {
  id: string;
  x: number;
  y: number;
  width: number;
  height: number;
  layer: number;
}

/** An edge's route: from the right side of `from` to the left side of `to`, through the bends. */
export interface PlacedEdge {
  from: string;
  to: string;
  points: { x: number; y: number }[];
  /** True when the edge goes against the layer order (it closed a cycle). */
  reversed: boolean;
}

export interface Layout {
  nodes: PlacedNode[];
  edges: PlacedEdge[];
  width: number;
  height: number;
}

interface Vertex {
  width: number;
  height: number;
  layer: number;
  order: number;
  y: number;
  up: number[]; // neighbours in the previous layer
  down: number[]; // neighbours in the next layer
}

/** Lays out the graph; unknown ids in edges and self-loops are ignored, duplicate edges merged. */
export function layout(nodes: LayoutNode[], edges: LayoutEdge[], options: LayoutOptions = {}): Layout {
  const layerGap = options.layerGap ?? 80;
  const nodeGap = options.nodeGap ?? 24;
  const sweeps = options.sweeps ?? 4;
  const n = nodes.length;
  const index = new Map<string, number>();
  nodes.forEach((node, i) => index.set(node.id, i));

  const pairs: [number, number][] = [];
  const seen = new Set<string>();
  for (const e of edges) {
    const a = index.get(e.from);
    const b = index.get(e.to);
    if (a === undefined || b === undefined || a === b) continue;
    const key = a + ">" + b;
    if (seen.has(key)) continue;
    seen.add(key);
    pairs.push([a, b]);
  }
  const reversed = breakCycles(n, pairs);
  const dag = pairs.map(([a, b], i) => (reversed[i] ? [b, a] : [a, b]) as [number, number]);
  const layerOf = assignLayers(n, dag);

  // Vertices: the real nodes, then a dummy per layer crossed by a long edge.
  const vs: Vertex[] = nodes.map((node, i) => ({
    width: node.width, height: node.height, layer: layerOf[i], order: 0, y: 0, up: [], down: [],
  }));
  const chains: number[][] = dag.map(([a, b]) => {
    const chain = [a];
    for (let l = layerOf[a] + 1; l < layerOf[b]; l++) {
      vs.push({ width: 0, height: 0, layer: l, order: 0, y: 0, up: [], down: [] });
      chain.push(vs.length - 1);
    }
    chain.push(b);
    for (let k = 1; k < chain.length; k++) {
      vs[chain[k - 1]].down.push(chain[k]);
      vs[chain[k]].up.push(chain[k - 1]);
    }
    return chain;
  });

  const layers = orderLayers(vs, sweeps);
  const layerX = placeLayers(vs, layers, layerGap);
  placeVertically(vs, layers, nodeGap);

  let top = Infinity;
  let bottom = -Infinity;
  for (const v of vs) {
    top = Math.min(top, v.y - v.height / 2);
    bottom = Math.max(bottom, v.y + v.height / 2);
  }
  if (!vs.length) top = bottom = 0;
  const shift = -top;
  const placed: PlacedNode[] = nodes.map((node, i) => ({
    id: node.id, x: layerX[vs[i].layer], y: vs[i].y + shift, width: node.width,
    height: node.height, layer: vs[i].layer,
  }));
  const routes: PlacedEdge[] = chains.map((chain, i) => {
    const pts = chain.map((v, k) => {
      const x = layerX[vs[v].layer];
      const half = vs[v].width / 2;
      // leave from the right side, arrive at the left side (in the drawing's direction)
      const dx = k === 0 ? half : k === chain.length - 1 ? -half : 0;
      return { x: x + dx, y: vs[v].y + shift };
    });
    if (reversed[i]) pts.reverse();
    return { from: nodes[pairs[i][0]].id, to: nodes[pairs[i][1]].id, points: pts, reversed: reversed[i] };
  });
  const lastLayer = layers.length - 1;
  const width = lastLayer < 0 ? 0 : layerX[lastLayer] + layerWidth(vs, layers[lastLayer]) / 2;
  return { nodes: placed, edges: routes, width, height: bottom - top };
}

/** Marks the edges to reverse so the graph has no cycle: the back edges of a DFS. */
function breakCycles(n: number, pairs: [number, number][]): boolean[] {
  const out: number[][] = Array.from({ length: n }, () => []);
  pairs.forEach(([a], i) => out[a].push(i));
  const state = new Uint8Array(n); // 0 unseen, 1 on the stack, 2 done
  const reversed = pairs.map(() => false);
  for (let root = 0; root < n; root++) {
    if (state[root]) continue;
    const stack: [number, number][] = [[root, 0]];
    state[root] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [v, k] = top;
      if (k >= out[v].length) {
        state[v] = 2;
        stack.pop();
        continue;
      }
      top[1]++;
      const e = out[v][k];
      const w = pairs[e][1];
      if (state[w] === 1) reversed[e] = true;
      else if (state[w] === 0) {
        state[w] = 1;
        stack.push([w, 0]);
      }
    }
  }
  return reversed;
}

/** Longest-path layers; then every source moves to just before its nearest successor. */
function assignLayers(n: number, dag: [number, number][]): number[] {
  const out: number[][] = Array.from({ length: n }, () => []);
  const indegree = new Array<number>(n).fill(0);
  for (const [a, b] of dag) {
    out[a].push(b);
    indegree[b]++;
  }
  const layer = new Array<number>(n).fill(0);
  const queue: number[] = [];
  for (let v = 0; v < n; v++) if (!indegree[v]) queue.push(v);
  const left = indegree.slice();
  for (let q = 0; q < queue.length; q++) {
    const v = queue[q];
    for (const w of out[v]) {
      layer[w] = Math.max(layer[w], layer[v] + 1);
      if (--left[w] === 0) queue.push(w);
    }
  }
  for (let v = 0; v < n; v++) {
    if (indegree[v] || !out[v].length) continue;
    layer[v] = Math.max(0, Math.min(...out[v].map((w) => layer[w])) - 1);
  }
  return layer;
}

/** The vertices of each layer in order, after the barycenter sweeps. */
function orderLayers(vs: Vertex[], sweeps: number): number[][] {
  const depth = vs.reduce((m, v) => Math.max(m, v.layer + 1), 0);
  const layers: number[][] = Array.from({ length: depth }, () => []);
  // Initial order: breadth-first from the first layer, so connected vertices start close.
  const placed = new Uint8Array(vs.length);
  const visit = (v: number) => {
    const queue = [v];
    placed[v] = 1;
    for (let q = 0; q < queue.length; q++) {
      const u = queue[q];
      layers[vs[u].layer].push(u);
      for (const w of [...vs[u].down, ...vs[u].up])
        if (!placed[w]) {
          placed[w] = 1;
          queue.push(w);
        }
    }
  };
  for (let v = 0; v < vs.length; v++) if (!placed[v]) visit(v);
  const renumber = () => layers.forEach((l) => l.forEach((v, i) => (vs[v].order = i)));
  renumber();

  let best = layers.map((l) => l.slice());
  let bestCrossings = totalCrossings(vs, layers);
  const key = new Float64Array(vs.length);
  for (let s = 0; s < sweeps && bestCrossings > 0; s++) {
    for (let l = 1; l < depth; l++) sortByBarycenter(vs, layers[l], "up", key);
    for (let l = depth - 2; l >= 0; l--) sortByBarycenter(vs, layers[l], "down", key);
    const c = totalCrossings(vs, layers);
    if (c < bestCrossings) {
      bestCrossings = c;
      best = layers.map((l) => l.slice());
    }
  }
  best.forEach((l, i) => (layers[i] = l));
  renumber();
  return layers;
}

function sortByBarycenter(vs: Vertex[], layer: number[], side: "up" | "down", key: Float64Array): void {
  for (const v of layer) {
    const nb = vs[v][side];
    let sum = 0;
    for (const w of nb) sum += vs[w].order;
    // a vertex with no neighbours on that side keeps its place; ties keep their order
    key[v] = (nb.length ? sum / nb.length : vs[v].order) + vs[v].order * 1e-9;
  }
  layer.sort((a, b) => key[a] - key[b]);
  for (let i = 0; i < layer.length; i++) vs[layer[i]].order = i;
}

/** Crossings between every pair of adjacent layers (accumulator tree, E·log V per pair). */
function totalCrossings(vs: Vertex[], layers: number[][]): number {
  let total = 0;
  const south: number[] = [];
  for (let l = 0; l + 1 < layers.length; l++) {
    south.length = 0;
    for (const v of layers[l]) {
      const down = vs[v].down;
      if (down.length === 1) south.push(vs[down[0]].order);
      else if (down.length > 1) south.push(...down.map((w) => vs[w].order).sort((a, b) => a - b));
    }
    const size = layers[l + 1].length;
    let first = 1;
    while (first < size) first *= 2;
    const tree = new Int32Array(2 * first - 1);
    for (const end of south) {
      let i = end + first - 1;
      tree[i]++;
      while (i > 0) {
        if (i % 2) total += tree[i + 1];
        i = (i - 1) >> 1;
        tree[i]++;
      }
    }
  }
  return total;
}

function layerWidth(vs: Vertex[], layer: number[]): number {
  return layer.reduce((m, v) => Math.max(m, vs[v].width), 0);
}

/** The centre x of each layer: layers are as wide as their widest node. */
function placeLayers(vs: Vertex[], layers: number[][], gap: number): number[] {
  const xs: number[] = [];
  let x = 0;
  for (const layer of layers) {
    const w = layerWidth(vs, layer);
    xs.push(x + w / 2);
    x += w + gap;
  }
  return xs;
}

function placeVertically(vs: Vertex[], layers: number[][], gap: number): void {
  // a dummy is thin: it needs only a little room between the nodes it passes
  const extent = (v: number) => (vs[v].height || 6) / 2;
  for (const layer of layers) {
    let y = 0;
    for (const v of layer) {
      vs[v].y = y + extent(v);
      y += 2 * extent(v) + gap;
    }
  }
  for (let pass = 0; pass < 4; pass++) {
    for (let l = 1; l < layers.length; l++) settle(vs, layers[l], "up", extent, gap);
    for (let l = layers.length - 2; l >= 0; l--) settle(vs, layers[l], "down", extent, gap);
  }
}

/** Moves a layer's vertices towards their neighbours' mean y, keeping order and gaps: the
 *  least-squares placement under "each at least the gap below the previous", by pooling
 *  adjacent violators. */
function settle(vs: Vertex[], layer: number[], side: "up" | "down",
  extent: (v: number) => number, gap: number): void {
  if (!layer.length) return;
  // offsets[i]: where vertex i sits relative to the first when packed tight
  const offsets: number[] = [0];
  for (let i = 1; i < layer.length; i++)
    offsets.push(offsets[i - 1] + extent(layer[i - 1]) + gap + extent(layer[i]));
  // each vertex wants y; as a block member it wants the block start at y - offset
  const blocks: { start: number; weight: number; first: number; sum: number }[] = [];
  layer.forEach((v, i) => {
    const nb = vs[v][side];
    let sum = 0;
    for (const w of nb) sum += vs[w].y;
    const want = nb.length ? sum / nb.length : vs[v].y;
    const weight = nb.length ? 1 : 0.1; // the unconnected ones yield
    let block = { start: want - offsets[i], weight, first: i, sum: (want - offsets[i]) * weight };
    while (blocks.length) {
      const prev = blocks[blocks.length - 1];
      // the previous block ends where this one may start at the earliest: offsets keep the gap
      if (prev.start <= block.start) break;
      blocks.pop();
      const sum = prev.sum + block.sum;
      const w = prev.weight + block.weight;
      block = { start: sum / w, weight: w, first: prev.first, sum };
    }
    blocks.push(block);
  });
  for (let b = 0; b < blocks.length; b++) {
    const end = b + 1 < blocks.length ? blocks[b + 1].first : layer.length;
    for (let i = blocks[b].first; i < end; i++) vs[layer[i]].y = blocks[b].start + offsets[i];
  }
}

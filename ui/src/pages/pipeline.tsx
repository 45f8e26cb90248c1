// The pipeline page: the graph of jobs and resources, live from the pipeline's event stream,
// the actions of the selected node beside it, and the same jobs and resources as a list below
// (the way in on a phone and for screen readers).
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, can, path, stream, type Build, type Graph, type Resource } from "../api";
import { Action, ErrorBox, Loading, Page, Status } from "../common";
import { applyBuild, useCoalesce } from "../graph/live";
import { jobId, layoutGraph, resourceId } from "../graph/model";
import { NodePanel } from "../graph/panel";
import { GraphView, jobStatus, resourceState } from "../graph/view";
import { href, type Params } from "../router";
import { useSession } from "../session";

type Update = (g: Graph) => Graph;

const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;

/** What the layout depends on: the boxes and the edges, not the statuses. */
function shapeOf(g: Graph): string {
  return JSON.stringify([g.jobs.map((j) => [j.name, j.gets, j.puts]), g.resources.map((r) => [r.canonical, r.name, r.type])]);
}

function onBuild(b: Build, started: Set<number>): Update {
  return (g) => {
    const jobs = g.jobs.map((j) => (j.name === b.job ? applyBuild(j, b, started) : j));
    return jobs.some((j, i) => j !== g.jobs[i]) ? { ...g, jobs } : g;
  };
}

function onJob(name: string, paused: boolean): Update {
  return (g) => ({ ...g, jobs: g.jobs.map((j) => (j.name === name ? { ...j, paused } : j)) });
}

function onResource(r: Resource): Update {
  return (g) => ({ ...g, resources: g.resources.map((x) => (x.canonical === r.canonical ? r : x)) });
}

function Lists({ graph, onSelect }: { graph: Graph; onSelect: (id: string) => void }) {
  const p = graph.name;
  return (
    <div class="graph-lists">
      <h2>Jobs</h2>
      <ul class="node-list">
        {graph.jobs.map((j) => (
          <li key={j.name}>
            <a href={href("pipelines", p, "jobs", j.name)}>{j.name}</a> <Status status={jobStatus(j)} />
            {j.paused && <span class="badge">paused</span>}
            {j.running > 0 && <span class="muted">{j.running} running</span>}
            <button type="button" class="plain small" aria-label={`Actions for ${j.name}`}
              onClick={() => onSelect(jobId(j.name))}>⋯</button>
          </li>
        ))}
      </ul>
      <h2>Resources</h2>
      <ul class="node-list">
        {graph.resources.map((r) => (
          <li key={r.canonical}>
            <a href={href("pipelines", p, "resources", r.canonical)}>{r.name}</a>{" "}
            <span class="muted">{r.type}</span> <span data-state={resourceState(r)}>{resourceState(r)}</span>
            <button type="button" class="plain small" aria-label={`Actions for ${r.name}`}
              onClick={() => onSelect(resourceId(r.canonical))}>⋯</button>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function PipelinePage({ params }: { params: Params }) {
  const p = params.p;
  const session = useSession();
  const [graph, setGraph] = useState<Graph | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [gone, setGone] = useState(false);
  const [selected, setSelected] = useState<string | null>(null);
  // the layout changes only with the pipeline's shape (a fetch), never with a status
  const [shape, setShape] = useState<Graph | null>(null);
  const shapeKey = useRef("");
  const pending = useRef<Update[]>([]);
  const started = useRef(new Set<number>());

  const fetchGraph = () =>
    api.get<{ graph: Graph }>(path("pipelines", p, "graph")).then(
      (r) => {
        pending.current = [];
        started.current = new Set();
        setGraph(r.graph);
        const key = shapeOf(r.graph);
        if (key !== shapeKey.current) {
          shapeKey.current = key;
          setShape(r.graph);
        }
        setError(null);
      },
      (e) => setError(e),
    );
  const flush = useCoalesce(() => {
    const updates = pending.current;
    pending.current = [];
    setGraph((g) => (g ? updates.reduce((x, u) => u(x), g) : g));
  }, 200);
  const refetch = useCoalesce(fetchGraph, 500);

  useEffect(() => {
    fetchGraph();
    const push = (u: Update) => {
      pending.current.push(u);
      flush();
    };
    return stream(path("events") + "?pipeline=" + encodeURIComponent(p), (type, data) => {
      if (type === "build" && data.pipeline === p) push(onBuild(data, started.current));
      else if (type === "job" && data.pipeline === p) push(onJob(data.name, data.paused));
      else if (type === "resource" && data.pipeline === p) push(onResource(data.resource));
      else if (type === "pipeline" && data.name === p) {
        if (data.action === "deleted") setGone(true);
        else if (data.action === "set") refetch();
        else push((g) => ({ ...g, paused: data.paused }));
      }
    }, ["build", "pipeline", "job", "resource"], refetch); // (re)connected: fetch what may have been missed
  }, [p]);

  const laid = useMemo(() => (shape ? layoutGraph(shape) : null), [shape]);
  const ready = graph !== null && laid !== null;
  const actions = graph && can(session, "write") && (graph.paused ? (
    <Action label="Unpause" run={() => api.post(path("pipelines", p, "unpause")).then(() => setGraph((g) => g && { ...g, paused: false }))} />
  ) : (
    <Action label="Pause" run={() => api.post(path("pipelines", p, "pause")).then(() => setGraph((g) => g && { ...g, paused: true }))} />
  ));
  return (
    <section data-page="pipeline" aria-busy={ready ? "false" : "true"}>
      <Page title={p} actions={actions}
        sub={graph && (
          <>
            {count(graph.jobs.length, "job")} · {count(graph.resources.length, "resource")}
            {graph.paused && <> · <span class="badge" data-paused="true">paused</span></>}
          </>
        )}>
        {gone && <p class="error" role="alert">This pipeline was deleted.</p>}
        <ErrorBox error={error} />
        {!ready && !error && <Loading />}
        {ready && (
          <>
            <div class={`graph-area${selected ? " with-panel" : ""}`}>
              <GraphView graph={graph} layout={laid.layout} edges={laid.edges} selected={selected}
                onSelect={setSelected} />
              {selected && (
                <NodePanel graph={graph} selected={selected} onClose={() => setSelected(null)}
                  onChange={(c) => setGraph((g) => g && c(g))} />
              )}
            </div>
            <p class="muted legend">
              Solid edges trigger the job, dashed ones only give it the version; an edge between two
              jobs is a <code>passed</code> constraint.
            </p>
            <Lists graph={graph} onSelect={setSelected} />
          </>
        )}
      </Page>
    </section>
  );
}

// The dashboard: every pipeline with its jobs' latest status as chips, what runs now, and the
// queue's figures, from one request; then live from the node's event stream. An event changes
// only its pipeline's object, and each pipeline row re-renders only when its object changed, so
// a burst of events costs a few small renders a second. Chips are plain links, no component.
import { Component } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, path, stream, type Build, type Dashboard } from "../api";
import { ErrorBox, Loading, Page, Status } from "../common";
import { applyBuild, useCoalesce } from "../graph/live";
import { href, type Params } from "../router";

type Pipeline = Dashboard["pipelines"][number];
type Update = (d: Dashboard) => Dashboard;

function updatePipeline(name: string, f: (p: Pipeline) => Pipeline): Update {
  return (d) => {
    const pipelines = d.pipelines.map((p) => (p.name === name ? f(p) : p));
    return pipelines.some((p, i) => p !== d.pipelines[i]) ? { ...d, pipelines } : d;
  };
}

function onBuild(b: Build, started: Set<number>): Update {
  return updatePipeline(b.pipeline, (p) => {
    const jobs = p.jobs.map((j) => (j.name === b.job ? applyBuild(j, b, started) : j));
    return jobs.some((j, i) => j !== p.jobs[i]) ? { ...p, jobs } : p;
  });
}

/** One pipeline: re-rendered only when its object changes. */
class PipelineRow extends Component<{ p: Pipeline }> {
  shouldComponentUpdate(next: { p: Pipeline }) {
    return next.p !== this.props.p;
  }
  render({ p }: { p: Pipeline }) {
    return (
      <li class="dash-pipeline" data-pipeline={p.name}>
        <div class="dash-head">
          <a class="dash-name" href={href("pipelines", p.name)}>{p.name}</a>
          {p.paused && <span class="badge" data-paused="true">paused</span>}
        </div>
        <div class="chips">
          {p.jobs.map((j) => {
            const s = j.latest_build?.status ?? "none";
            return (
              <a key={j.name} class={`chip status-${s}${j.paused ? " paused" : ""}`}
                href={href("pipelines", p.name, "jobs", j.name)} data-job={j.name}>
                {j.name} <span class="chip-status" data-status={s}>{s}{j.paused ? " · paused" : ""}</span>
              </a>
            );
          })}
        </div>
      </li>
    );
  }
}

function RunningNow({ data }: { data: Dashboard }) {
  const running: Build[] = [];
  for (const p of data.pipelines)
    for (const j of p.jobs) if (j.latest_build?.status === "started") running.push(j.latest_build);
  return (
    <section aria-labelledby="running-now">
      <h2 id="running-now">Running now</h2>
      {running.length === 0 ? <p class="muted">Nothing is running.</p> : (
        <ul class="running-list">
          {running.map((b) => (
            <li key={b.id}>
              <a href={href("pipelines", b.pipeline, "jobs", b.job, "builds", b.number)}>
                {b.pipeline} / {b.job} #{b.number}
              </a>{" "}
              <Status status={b.status} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function DashboardPage({ params }: { params: Params }) {
  void params;
  const [data, setData] = useState<Dashboard | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [filter, setFilter] = useState("");
  const pending = useRef<Update[]>([]);
  const started = useRef(new Set<number>());

  const fetchAll = () =>
    api.get<Dashboard>(path("dashboard")).then(
      (d) => {
        pending.current = [];
        started.current = new Set();
        setData(d);
        setError(null);
      },
      (e) => setError(e),
    );
  const flush = useCoalesce(() => {
    const updates = pending.current;
    pending.current = [];
    setData((d) => (d ? updates.reduce((x, u) => u(x), d) : d));
  }, 250);
  // the queue's figures are not in the events: fetched again at most every 10 s while builds move
  const refresh = useCoalesce(fetchAll, 10000);
  const refetchSoon = useCoalesce(fetchAll, 500);

  useEffect(() => {
    fetchAll();
    const push = (u: Update) => {
      pending.current.push(u);
      flush();
    };
    return stream(path("events"), (type, x) => {
      if (type === "build") {
        push(onBuild(x, started.current));
        refresh();
      } else if (type === "job") push(updatePipeline(x.pipeline, (p) => ({
        ...p, jobs: p.jobs.map((j) => (j.name === x.name ? { ...j, paused: x.paused } : j)),
      })));
      else if (type === "pipeline") {
        if (x.action === "paused" || x.action === "unpaused") push(updatePipeline(x.name, (p) => ({ ...p, paused: x.paused })));
        else refetchSoon(); // set or deleted: the list itself changed
      }
    }, ["build", "pipeline", "job"], refetchSoon); // (re)connected: fetch what may have been missed
  }, []);

  const needle = filter.trim().toLowerCase();
  const shown = data ? (needle ? data.pipelines.filter((p) => p.name.toLowerCase().includes(needle)) : data.pipelines) : [];
  return (
    <section data-page="dashboard" aria-busy={data ? "false" : "true"}>
      <Page title="Dashboard" sub={data && (
        <span class="dash-figures">
          <a href="/queue"><strong data-figure="in_flight">{data.in_flight}</strong> in flight</a> ·{" "}
          <a href="/queue"><strong data-figure="queued">{data.queued}</strong> queued</a> ·{" "}
          {data.pipelines.length} {data.pipelines.length === 1 ? "pipeline" : "pipelines"}
        </span>
      )}>
        <ErrorBox error={error} />
        {!data && !error && <Loading />}
        {data && (
          <>
            <RunningNow data={data} />
            <h2>Pipelines</h2>
            {data.pipelines.length === 0 ? (
              <p class="muted">No pipeline yet.</p>
            ) : (
              <>
                <div class="dash-filter">
                  <label for="dash-filter">Filter pipelines</label>
                  <input id="dash-filter" type="search" value={filter}
                    onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
                  {needle && <span class="muted" role="status">{shown.length} of {data.pipelines.length}</span>}
                </div>
                <ul class="dash-list">
                  {shown.map((p) => <PipelineRow key={p.name} p={p} />)}
                </ul>
              </>
            )}
          </>
        )}
      </Page>
    </section>
  );
}

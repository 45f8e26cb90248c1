// A job: its builds newest first (live from the pipeline's event stream), paging to older
// ones, the trigger form and pause/unpause.
import { useEffect, useState } from "preact/hooks";
import { api, can, path, stream, type Build, type JobInput } from "../api";
import { Action, ErrorBox, Loading, Page, Status, Time, formatDuration, useData } from "../common";
import { href, navigate, type Params } from "../router";
import { useSession } from "../session";
import { TriggerForm } from "../trigger-form";
import { triggerWords } from "../words";

interface Job {
  name: string;
  paused: boolean;
  inputs?: JobInput[];
}

/** Builds shown per page; "Older builds" asks the node for this many more. The API has no
 *  offset: each page is a request with a larger `limit`. */
export const pageSize = 25;

/** Puts a build into a newest-first list: replaces the one with its id or inserts it in order. */
export function upsertBuild(list: Build[], b: Build): Build[] {
  const at = list.findIndex((x) => x.id === b.id);
  if (at >= 0) return list.map((x, i) => (i === at ? b : x));
  return [...list, b].sort((x, y) => y.id - x.id);
}

export function Breadcrumb(props: { pipeline: string; job?: string }) {
  return (
    <nav aria-label="Breadcrumb" class="breadcrumb">
      <a href={href("pipelines", props.pipeline)}>{props.pipeline}</a>
      {props.job !== undefined && (
        <>
          <span aria-hidden="true"> / </span>
          <a href={href("pipelines", props.pipeline, "jobs", props.job)}>{props.job}</a>
        </>
      )}
    </nav>
  );
}

function BuildTable(props: { pipeline: string; job: string; builds: Build[] }) {
  const { pipeline: p, job: j } = props;
  return (
    <div class="table-wrap">
      <table class="builds">
        <thead>
          <tr><th scope="col">Build</th><th scope="col">Status</th><th scope="col">Trigger</th>
            <th scope="col">Created</th><th scope="col">Started</th><th scope="col">Duration</th></tr>
        </thead>
        <tbody>
          {props.builds.map((b) => (
            <tr key={b.id} data-build={b.number}>
              <td><a href={href("pipelines", p, "jobs", j, "builds", b.number)}>#{b.number}</a></td>
              <td><Status status={b.status} /></td>
              <td>{triggerWords(b.trigger)}</td>
              <td><Time at={b.created_at} /></td>
              <td><Time at={b.started_at} /></td>
              <td>{b.status === "started" ? <span class="muted">running</span> : formatDuration(b.duration_ms)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function PauseButton(props: { pipeline: string; job: Job; set: (paused: boolean) => void }) {
  const verb = props.job.paused ? "unpause" : "pause";
  return (
    <Action label={props.job.paused ? "Unpause" : "Pause"} run={async () => {
      const r = await api.post<{ job: Job }>(path("pipelines", props.pipeline, "jobs", props.job.name, verb));
      props.set(r.job.paused);
    }} />
  );
}

export function JobPage({ params }: { params: Params }) {
  const { p, j } = params;
  const session = useSession();
  const [limit, setLimit] = useState(pageSize);
  const job = useData(() => api.get<{ job: Job }>(path("pipelines", p, "jobs", j)).then((r) => r.job), [p, j]);
  const builds = useData(
    () => api.get<{ builds: Build[] }>(path("pipelines", p, "jobs", j, "builds") + `?limit=${limit}`)
      .then((r) => r.builds),
    [p, j, limit],
  );
  const [more, setMore] = useState(false);
  useEffect(() => setMore(false), [builds.data]);

  useEffect(() => {
    return stream(
      path("events") + "?pipeline=" + encodeURIComponent(p),
      (type, data) => {
        if (type === "build" && data.pipeline === p && data.job === j)
          builds.setData((list) => (list ? upsertBuild(list, data as Build) : list));
        else if (type === "job" && data.pipeline === p && data.name === j)
          job.setData((cur) => (cur ? { ...cur, paused: data.paused } : cur));
      },
      ["build", "job"],
      () => {
        // refetch on every (re)connect: an event missed meanwhile is never permanent
        job.reload();
        builds.reload();
      },
    );
  }, [p, j]);

  const ready = job.data !== null && builds.data !== null;
  const canWrite = can(session, "write");
  const list = builds.data ?? [];
  return (
    <section data-page="job" aria-busy={ready ? "false" : "true"}>
      <Breadcrumb pipeline={p} />
      <Page
        title={j}
        sub={job.data?.paused ? <span class="status status-paused" data-status="paused">paused</span> : null}
        actions={
          canWrite && job.data && (
            <>
              {(job.data.inputs ?? []).length === 0 && (
                <TriggerForm pipeline={p} job={j} inputs={[]}
                  onDone={(b) => navigate(href("pipelines", p, "jobs", j, "builds", b.number))} />
              )}
              <PauseButton pipeline={p} job={job.data}
                set={(paused) => job.setData((c) => (c ? { ...c, paused } : c))} />
            </>
          )
        }
      >
        <ErrorBox error={job.error ?? builds.error} />
        {canWrite && job.data && (job.data.inputs ?? []).length > 0 && (
          <details class="trigger-panel" open>
            <summary>Trigger with inputs</summary>
            <TriggerForm pipeline={p} job={j} inputs={job.data.inputs!}
              onDone={(b) => navigate(href("pipelines", p, "jobs", j, "builds", b.number))} />
          </details>
        )}
        <h2>Builds</h2>
        {!ready && !job.error && !builds.error && <Loading />}
        {ready && list.length === 0 && <p class="muted">No builds yet.</p>}
        {list.length > 0 && <BuildTable pipeline={p} job={j} builds={list} />}
        {builds.data && builds.data.length >= limit && (
          <p>
            <button type="button" disabled={more} onClick={() => { setMore(true); setLimit((l) => l + pageSize); }}>
              Older builds
            </button>
          </p>
        )}
      </Page>
    </section>
  );
}

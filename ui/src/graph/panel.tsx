// What can be done with one node of the graph: a job (trigger with its inputs, pause/unpause) or
// a resource (check now, pin a version, unpin). Buttons the role does not allow are not shown;
// the node refuses them anyway.
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import { api, can, path, type Graph, type GraphJob, type Resource, type Version } from "../api";
import { Action, ErrorBox, Status, Time, useData } from "../common";
import { href } from "../router";
import { useSession } from "../session";
import { newerResource } from "../status";
import { TriggerForm } from "../trigger-form";
import { resourceState } from "./view";

/** Applies what an action's answer says at once (the event that follows says it again). */
export type Change = (g: Graph) => Graph;
type OnChange = (c: Change) => void;

const setJobPaused = (name: string, paused: boolean): Change => (g) =>
  ({ ...g, jobs: g.jobs.map((j) => (j.name === name ? { ...j, paused } : j)) });
const setResource = (r: Resource): Change => (g) =>
  ({ ...g, resources: g.resources.map((x) => (x.canonical === r.canonical && newerResource(x, r) ? r : x)) });

function versionText(v: Version): string {
  return Object.entries(v.version).map(([k, x]) => `${k}: ${x}`).join(", ");
}

function JobPanel({ pipeline, job, onChange }: { pipeline: string; job: GraphJob; onChange: OnChange }) {
  const pause = (verb: "pause" | "unpause") => () =>
    api.post(path("pipelines", pipeline, "jobs", job.name, verb)).then(() => onChange(setJobPaused(job.name, verb === "pause")));
  const session = useSession();
  const b = job.latest_build;
  return (
    <>
      <p>
        <Status status={b?.status ?? "none"} />{" "}
        {b && <a href={href("pipelines", pipeline, "jobs", job.name, "builds", b.number)}>Build {b.number}</a>}{" "}
        {job.running > 0 && <span class="muted">{job.running} running</span>}
        {job.paused && <span class="badge">paused</span>}
      </p>
      {can(session, "write") && (
        <>
          <div class="actions">
            {job.paused ? (
              <Action label="Unpause" run={pause("unpause")} />
            ) : (
              <Action label="Pause" run={pause("pause")} />
            )}
          </div>
          <h3>Trigger</h3>
          {job.paused && <p class="muted">A paused job cannot be triggered.</p>}
          <TriggerForm key={job.name} pipeline={pipeline} job={job.name} inputs={job.inputs} disabled={job.paused} />
        </>
      )}
    </>
  );
}

function PinForm({ pipeline, resource, act }: { pipeline: string; resource: Resource; act: (verb: string, body?: unknown) => () => Promise<unknown> }) {
  const [chosen, setChosen] = useState<string | null>(null);
  const versions = useData(
    () => api.get<{ versions: Version[] }>(path("pipelines", pipeline, "resources", resource.canonical, "versions") + "?limit=50"),
    [pipeline, resource.canonical, resource.pinned_version_id],
  );
  const id = `pin-${resource.canonical.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  const list = versions.data?.versions ?? [];
  return (
    <div class="pin-form">
      <ErrorBox error={versions.error} />
      {versions.data && !list.length && <p class="muted">No versions yet: nothing to pin.</p>}
      {list.length > 0 && (
        <>
          <label for={id}>Version to pin</label>
          <div class="actions">
            <select id={id} value={chosen ?? String(resource.pinned_version_id ?? list[0].id)}
              onChange={(e) => setChosen((e.target as HTMLSelectElement).value)}>
              {list.map((v) => <option value={String(v.id)}>#{v.id} {versionText(v)}</option>)}
            </select>
            <Action label="Pin" run={() => act("pin", { version_id: Number(chosen ?? resource.pinned_version_id ?? list[0].id) })()} />
          </div>
        </>
      )}
    </div>
  );
}

function ResourcePanel({ pipeline, resource, onChange }: { pipeline: string; resource: Resource; onChange: OnChange }) {
  const session = useSession();
  const r = resource;
  const act = (verb: string, body?: unknown) => () =>
    api.post<{ resource: Resource }>(path("pipelines", pipeline, "resources", r.canonical, verb), body)
      .then((a) => a?.resource && onChange(setResource(a.resource)));
  return (
    <>
      <p>
        <span class="muted">{r.type}</span> · <span data-state={resourceState(r)}>{resourceState(r)}</span>
        {r.last_check_at && <> · checked <Time at={r.last_check_at} /></>}
        {r.pinned_version_id !== null && <> · pinned to version #{r.pinned_version_id}</>}
      </p>
      {r.check_error && <pre class="error check-error">{r.check_error}</pre>}
      {can(session, "write") && (
        <>
          <div class="actions">
            <Action label="Check now" disabled={r.checking} run={act("check")} />
            {r.pinned_version_id !== null && <Action label="Unpin" run={act("unpin")} />}
          </div>
          <PinForm pipeline={pipeline} resource={r} act={act} />
        </>
      )}
    </>
  );
}

/** The panel of the selected node (`job:NAME` or `res:CANONICAL`); focus moves into it. */
export function NodePanel({ graph, selected, onClose, onChange }: {
  graph: Graph; selected: string; onClose: () => void; onChange: OnChange;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  useLayoutEffect(() => heading.current?.focus(), [selected]);
  const p = graph.name;
  const job = selected.startsWith("job:") ? graph.jobs.find((j) => "job:" + j.name === selected) : undefined;
  const res = selected.startsWith("res:") ? graph.resources.find((r) => "res:" + r.canonical === selected) : undefined;
  if (!job && !res) return null;
  const name = job ? job.name : res!.name;
  const link = job ? href("pipelines", p, "jobs", job.name) : href("pipelines", p, "resources", res!.canonical);
  return (
    <aside class="node-panel card" aria-label={`${job ? "Job" : "Resource"} ${name}`}
      onKeyDown={(e) => e.key === "Escape" && onClose()}>
      <div class="node-panel-head">
        <h2 ref={heading} tabIndex={-1}>
          <span class="muted">{job ? "job" : "resource"}</span> <a href={link}>{name}</a>
        </h2>
        <button type="button" class="plain" onClick={onClose}>Close</button>
      </div>
      {job && <JobPanel pipeline={p} job={job} onChange={onChange} />}
      {res && <ResourcePanel pipeline={p} resource={res} onChange={onChange} />}
    </aside>
  );
}

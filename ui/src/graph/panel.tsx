// What can be done with one node of the graph: a job (trigger with its inputs, pause/unpause) or
// a resource (check now, pin a version, unpin). Buttons the role does not allow are not shown;
// the node refuses them anyway.
import { useLayoutEffect, useRef } from "preact/hooks";
import { api, can, path, type Graph, type GraphJob, type Resource, type Version } from "../api";
import { Action, ErrorBox, Status, Time, useData } from "../common";
import { href } from "../router";
import { useSession } from "../session";
import { TriggerForm } from "./trigger-form";
import { resourceState } from "./view";

function versionText(v: Version): string {
  return Object.entries(v.version).map(([k, x]) => `${k}: ${x}`).join(", ");
}

function JobPanel({ pipeline, job }: { pipeline: string; job: GraphJob }) {
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
              <Action label="Unpause" run={() => api.post(path("pipelines", pipeline, "jobs", job.name, "unpause"))} />
            ) : (
              <Action label="Pause" run={() => api.post(path("pipelines", pipeline, "jobs", job.name, "pause"))} />
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

function PinForm({ pipeline, resource }: { pipeline: string; resource: Resource }) {
  const select = useRef<HTMLSelectElement>(null);
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
            <select id={id} ref={select} value={String(resource.pinned_version_id ?? list[0].id)}>
              {list.map((v) => <option value={String(v.id)}>#{v.id} {versionText(v)}</option>)}
            </select>
            <Action label="Pin" run={() => api.post(path("pipelines", pipeline, "resources", resource.canonical, "pin"),
              { version_id: Number(select.current!.value) })} />
          </div>
        </>
      )}
    </div>
  );
}

function ResourcePanel({ pipeline, resource }: { pipeline: string; resource: Resource }) {
  const session = useSession();
  const r = resource;
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
            <Action label="Check now" disabled={r.checking}
              run={() => api.post(path("pipelines", pipeline, "resources", r.canonical, "check"))} />
            {r.pinned_version_id !== null && (
              <Action label="Unpin" run={() => api.post(path("pipelines", pipeline, "resources", r.canonical, "unpin"))} />
            )}
          </div>
          <PinForm pipeline={pipeline} resource={r} />
        </>
      )}
    </>
  );
}

/** The panel of the selected node (`job:NAME` or `res:CANONICAL`); focus moves into it. */
export function NodePanel({ graph, selected, onClose }: { graph: Graph; selected: string; onClose: () => void }) {
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
      {job && <JobPanel pipeline={p} job={job} />}
      {res && <ResourcePanel pipeline={p} resource={res} />}
    </aside>
  );
}

// The execution queue: what runs (and on which worker), what waits and why in the node's own
// words, and what waits for approval. Live: every build event refetches /queue, at most one
// fetch per 500 ms however many builds change at once.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, path, stream, type Build } from "../api";
import { ErrorBox, Loading, Page, Status, Time } from "../common";
import { href, type Params } from "../router";
import { throttled } from "../timing";

/** GET /queue's answer. */
export interface Queue {
  max_in_flight: number;
  in_flight: number;
  max_queue_size: number;
  queued: number;
  started: Build[];
  pending: { position: number; build: Build; blocked_by: string }[];
  waiting: { build: Build; blocked_by: string }[];
}

/** Why a build waits: each kind of `blocked_by` the node gives, explained. */
const reasons: [string, string][] = [
  ["paused", "its job or pipeline is paused: unpause it"],
  ["serial, group:<key>, serial_group:<name>", "a build of the same pipeline, group or serial group runs or waits before it"],
  ["job_concurrency", "its job already runs as many builds as its concurrency allows"],
  ["max_in_flight", "the node's --max-in-flight builds all hold a slot"],
  ["no worker", "no worker is connected"],
  ["no worker for queue jobs", "the connected workers take only checks"],
  ["no worker with tags [...]", "no connected worker has all of the job's tags"],
  ["workers draining", "the workers that could run it are stopping"],
  ["workers busy", "every build slot of the workers is taken"],
  ["dispatched, not accepted yet", "it has its slot and is on its way to a worker"],
  ["restoring, node stopping", "the node is loading its store, or stopping"],
  ["approval", "it waits at its job's approval gate"],
];

/** /queue lists builds in short; the running and approval-waiting ones come in full from
 *  /builds (their worker, start time and approvals so far). */
export async function loadQueue(): Promise<Queue> {
  const [q, full] = await Promise.all([
    api.get<Queue>(path("queue")),
    api.get<{ builds: Build[] }>(path("builds") + "?status=started,waiting_for_approval&limit=0"),
  ]);
  const byId = new Map(full.builds.map((b) => [b.id, b]));
  const fill = (b: Build) => ({ ...b, ...byId.get(b.id) });
  return {
    ...q,
    started: q.started.map(fill),
    waiting: q.waiting.map((e) => ({ ...e, build: fill(e.build) })),
  };
}

function BuildLink({ b }: { b: Build }) {
  return (
    <a href={href("pipelines", b.pipeline, "jobs", b.job, "builds", b.number)}>
      {b.pipeline} / {b.job} #{b.number}
    </a>
  );
}

export function QueuePage({ params }: { params: Params }) {
  void params;
  const [queue, setQueue] = useState<Queue | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const seq = useRef(0);

  useEffect(() => {
    const fetchQueue = () => {
      const n = ++seq.current;
      loadQueue().then(
        (q) => n === seq.current && (setQueue(q), setError(null)),
        (e) => n === seq.current && setError(e),
      );
    };
    const refetch = throttled(fetchQueue, 500);
    fetchQueue();
    const close = stream(path("events"), () => refetch.call(), ["build"], () => refetch.call());
    return () => {
      close();
      refetch.cancel();
    };
  }, []);

  return (
    <section data-page="queue" aria-busy={queue ? "false" : "true"}>
      <Page title="Queue">
        <ErrorBox error={error} />
        {!queue && !error && <Loading />}
        {queue && (
          <>
            <dl class="props queue-kv">
              <dt>Running</dt>
              <dd data-figure="in_flight">{queue.in_flight} / {queue.max_in_flight}</dd>
              <dt>Queued</dt>
              <dd data-figure="queued">{queue.queued} / {queue.max_queue_size}</dd>
              <dt>Waiting for approval</dt>
              <dd data-figure="waiting">{queue.waiting.length}</dd>
            </dl>

            <h2 id="started-h">Running ({queue.started.length})</h2>
            {queue.started.length === 0 ? <p class="muted">Nothing runs.</p> : (
              <div class="table-wrap">
                <table aria-labelledby="started-h">
                  <thead><tr><th scope="col">Build</th><th scope="col">Status</th><th scope="col">Worker</th><th scope="col">Started</th></tr></thead>
                  <tbody>
                    {queue.started.map((b) => (
                      <tr key={b.id}>
                        <td><BuildLink b={b} /></td>
                        <td><Status status={b.status} /></td>
                        <td>{b.worker ?? <span class="muted">—</span>}</td>
                        <td><Time at={b.started_at} /></td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}

            <h2 id="pending-h">Pending ({queue.pending.length})</h2>
            {queue.pending.length === 0 ? <p class="muted">Nothing waits for a slot.</p> : (
              <div class="table-wrap">
                <table aria-labelledby="pending-h">
                  <thead><tr><th scope="col">Position</th><th scope="col">Build</th><th scope="col">Waiting for</th><th scope="col">Created</th></tr></thead>
                  <tbody>
                    {queue.pending.map((e) => (
                      <tr key={e.build.id}>
                        <td>{e.position}</td>
                        <td><BuildLink b={e.build} /></td>
                        <td class="blocked-by" data-blocked-by={e.blocked_by}>{e.blocked_by}</td>
                        <td><Time at={e.build.created_at} /></td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}

            <h2 id="waiting-h">Waiting for approval ({queue.waiting.length})</h2>
            {queue.waiting.length === 0 ? <p class="muted">No build waits for approval.</p> : (
              <div class="table-wrap">
                <table aria-labelledby="waiting-h">
                  <thead><tr><th scope="col">Build</th><th scope="col">Approvals</th><th scope="col">Created</th></tr></thead>
                  <tbody>
                    {queue.waiting.map((e) => (
                      <tr key={e.build.id}>
                        <td><BuildLink b={e.build} /></td>
                        <td>
                          {(e.build.approvals ?? []).filter((a) => a.action === "approved").length} of{" "}
                          {e.build.approvals_required ?? "?"}
                        </td>
                        <td><Time at={e.build.created_at} /></td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}

            <details class="reasons">
              <summary>What the reasons mean</summary>
              <dl>
                {reasons.map(([k, v]) => (
                  <div key={k}>
                    <dt><code>{k}</code></dt>
                    <dd>{v}</dd>
                  </div>
                ))}
              </dl>
            </details>
          </>
        )}
      </Page>
    </section>
  );
}

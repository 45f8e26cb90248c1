// The workers: status, slots, tags, queues, the builds each runs, last heartbeat; admins forget
// stale ones. Workers send no events, so the page refreshes every 10 s while it is visible.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, can, path, type Build } from "../api";
import { Action, ErrorBox, Loading, Page, Status, Time } from "../common";
import { href, type Params } from "../router";
import { useSession } from "../session";

/** One worker, as GET /workers lists it (`partitions` with Kafka workers only). */
interface Worker {
  name: string;
  kind: string;
  tags: string[];
  queues: string[];
  concurrency: number;
  running: number;
  status: string;
  last_heartbeat_at: string | null;
  partitions?: number;
}

interface Workers {
  workers: Worker[];
  dropped_messages?: number;
  broker?: { reachable: boolean; last_event_ms_ago?: number };
}

const refreshEvery = 10_000;

function List({ items }: { items: string[] }) {
  if (items.length === 0) return <span class="muted">—</span>;
  return <span class="tag-list">{items.map((t) => <code key={t} class="tag">{t}</code>)}</span>;
}

export function WorkersPage({ params }: { params: Params }) {
  void params;
  const session = useSession();
  const [data, setData] = useState<Workers | null>(null);
  const [running, setRunning] = useState<Map<string, Build[]>>(new Map());
  const [error, setError] = useState<Error | null>(null);
  const seq = useRef(0);

  const refresh = async () => {
    const n = ++seq.current;
    try {
      const [w, q] = await Promise.all([
        api.get<Workers>(path("workers")),
        api.get<{ builds: Build[] }>(path("builds") + "?status=started&limit=0")
          .catch(() => ({ builds: [] as Build[] })),
      ]);
      if (n !== seq.current) return;
      const byWorker = new Map<string, Build[]>();
      for (const b of q.builds)
        if (b.worker) byWorker.set(b.worker, [...(byWorker.get(b.worker) ?? []), b]);
      setData(w);
      setRunning(byWorker);
      setError(null);
    } catch (e) {
      if (n === seq.current) setError(e as Error);
    }
  };

  useEffect(() => {
    refresh();
    const timer = setInterval(() => {
      if (!document.hidden) refresh();
    }, refreshEvery);
    const onVisible = () => !document.hidden && refresh();
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      clearInterval(timer);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, []);

  const admin = can(session, "admin");
  const withPartitions = data?.workers.some((w) => w.partitions !== undefined) ?? false;
  return (
    <section data-page="workers" aria-busy={data ? "false" : "true"}>
      <Page title="Workers" sub="Refreshed every 10 s while this page is open.">
        <ErrorBox error={error} />
        {!data && !error && <Loading />}
        {data && data.broker && (
          <p>
            Kafka broker:{" "}
            {data.broker.reachable ? <Status status="reachable" /> : <Status status="unreachable" />}
            {data.dropped_messages ? <> · {data.dropped_messages} worker messages dropped</> : null}
          </p>
        )}
        {data && data.workers.length === 0 && <p class="muted">No worker is connected.</p>}
        {data && data.workers.length > 0 && (
          <div class="table-wrap">
            <table class="workers">
              <thead>
                <tr>
                  <th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Status</th>
                  <th scope="col">Slots</th><th scope="col">Running builds</th>
                  <th scope="col">Tags</th><th scope="col">Queues</th>
                  {withPartitions && <th scope="col">Partitions</th>}
                  <th scope="col">Last heartbeat</th>
                  {admin && <th scope="col"><span class="sr-only">Actions</span></th>}
                </tr>
              </thead>
              <tbody>
                {data.workers.map((w) => (
                  <tr key={w.name} data-worker={w.name}>
                    <th scope="row" class="mono">{w.name}</th>
                    <td data-label="Kind">{w.kind}</td>
                    <td data-label="Status"><Status status={w.status} /></td>
                    <td data-label="Slots" data-slots>{w.running} / {w.concurrency}</td>
                    <td data-label="Running">
                      {(running.get(w.name) ?? []).map((b) => (
                        <div key={b.id}>
                          <a href={href("pipelines", b.pipeline, "jobs", b.job, "builds", b.number)}>
                            {b.pipeline} / {b.job} #{b.number}
                          </a>
                        </div>
                      ))}
                    </td>
                    <td data-label="Tags"><List items={w.tags} /></td>
                    <td data-label="Queues"><List items={w.queues} /></td>
                    {withPartitions && <td data-label="Partitions">{w.partitions ?? ""}</td>}
                    <td data-label="Heartbeat"><Time at={w.last_heartbeat_at} /></td>
                    {admin && (
                      <td>
                        {w.status === "stale" && (
                          <Action label="Forget" kind="danger"
                            confirm={`Forget worker ${w.name}? It is listed again if it sends a heartbeat.`}
                            run={async () => {
                              await api.del(path("workers", w.name));
                              await refresh();
                            }} />
                        )}
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Page>
    </section>
  );
}

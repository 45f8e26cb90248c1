// A resource: its check state and error, its versions newest first with pin / unpin and
// trigger-with-version, check now, and for admins the webhook URL. Live from the pipeline's event
// stream (`resource` events: check started or finished, pin, unpin, new version).
import { useEffect, useRef, useState } from "preact/hooks";
import { api, can, path, stream, type Build, type Resource } from "../api";
import { Action, ErrorBox, Loading, Page, Time } from "../common";
import { href, type Params } from "../router";
import { useSession } from "../session";
import { newerResource } from "../status";

/** One version of a resource, as GET .../versions lists them. */
interface Version {
  id: number;
  version: Record<string, string>;
  created_at: string;
}

const pageSize = 50;

/** A time that may be ahead of now ("in 40 s") or behind it ("3 min ago"). */
function When({ at }: { at: string | null }) {
  if (!at) return <span class="muted">—</span>;
  const d = new Date(at);
  const ahead = Math.round((d.getTime() - Date.now()) / 1000);
  if (ahead <= 1) return <Time at={at} />;
  const text = ahead < 60 ? `in ${ahead} s` : ahead < 3600 ? `in ${Math.floor(ahead / 60)} min`
    : ahead < 86400 ? `in ${Math.floor(ahead / 3600)} h` : d.toLocaleString();
  return <time dateTime={at} title={d.toLocaleString()}>{text}</time>;
}

function VersionText({ version }: { version: Record<string, string> }) {
  return (
    <span class="version-kv">
      {Object.entries(version).map(([k, v]) => (
        <span key={k}>
          <span class="muted">{k}:</span> <code>{v}</code>
        </span>
      ))}
    </span>
  );
}

function Webhook({ resource, api: rc, onChange }: { resource: Resource; api: string[]; onChange: (r: Resource) => void }) {
  const [copied, setCopied] = useState(false);
  const url = resource.webhook_token
    ? `${location.origin}/api/v1/webhooks/${encodeURIComponent(resource.webhook_token)}` : "";
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(url);
    } catch {
      // no clipboard (an insecure origin): select the text so the user can copy it
      const el = document.getElementById("webhook-url") as HTMLInputElement | null;
      el?.select();
    }
    setCopied(true);
  };
  return (
    <section aria-labelledby="webhook-h">
      <h2 id="webhook-h">Webhook</h2>
      <p class="muted">
        A <code>POST</code> to this URL checks the resource now; anyone holding it can do that, so
        treat it as a secret.
      </p>
      <div class="webhook-row">
        {url ? (
          <>
            <label class="sr-only" for="webhook-url">Webhook URL</label>
            <input id="webhook-url" class="mono" readOnly value={url} size={60}
              onFocus={(e) => (e.target as HTMLInputElement).select()} />
            <button type="button" onClick={copy}>Copy</button>
            <span aria-live="polite" class="muted">{copied ? "Copied" : ""}</span>
          </>
        ) : (
          <span class="muted">No webhook token yet.</span>
        )}
        <Action label="New webhook token"
          confirm={url ? "The current webhook URL stops working. Make a new one?" : undefined}
          run={async () => {
            const r = await api.post<{ resource: Resource }>(path(...rc, "webhook-token"));
            setCopied(false);
            onChange(r.resource);
          }} />
      </div>
    </section>
  );
}

export function ResourcePage({ params }: { params: Params }) {
  const session = useSession();
  const p = params.p;
  const [resource, setResource] = useState<Resource | null>(null);
  const [versions, setVersions] = useState<Version[] | null>(null);
  const [limit, setLimit] = useState(pageSize);
  const [error, setError] = useState<Error | null>(null);
  const [triggered, setTriggered] = useState<Build[] | null>(null);
  // the API path of this resource: its canonical name once known (the URL may hold the bare name)
  const rc = ["pipelines", p, "resources", resource?.canonical ?? params.r];

  // what the event handler and refreshes read, current at every render
  const seen = useRef<{ canonical?: string; top?: number; limit: number }>({ limit });
  seen.current = { canonical: resource?.canonical, top: versions?.[0]?.id, limit };

  const loadResource = async () => {
    const { resources } = await api.get<{ resources: Resource[] }>(path("pipelines", p, "resources"));
    const byCanonical = resources.find((x) => x.canonical === params.r);
    const byName = resources.filter((x) => x.name === params.r);
    const found = byCanonical ?? (byName.length === 1 ? byName[0] : undefined);
    if (!found) throw new Error(`resource "${params.r}" not found in pipeline "${p}"`);
    setResource(found);
    return found;
  };
  const loadVersions = async (canonical: string, n: number) => {
    const { versions } = await api.get<{ versions: Version[] }>(
      path("pipelines", p, "resources", canonical, "versions") + `?limit=${n}`);
    setVersions(versions);
  };
  const refresh = () =>
    loadResource().then((r) => loadVersions(r.canonical, seen.current.limit))
      .then(() => setError(null), setError);


  useEffect(() => {
    refresh();
    // every (re)connect refetches once, so an event missed meanwhile is never permanent
    return stream(path("events") + "?pipeline=" + encodeURIComponent(p), (type, data) => {
      if (type !== "resource" || data?.pipeline !== p || !data.resource) return;
      const r = data.resource as Resource & { latest_version?: { id: number } | null };
      if (r.canonical !== seen.current.canonical) return;
      // an event may leave out what only some roles see (the webhook token): keep what we have
      setResource((cur) => (cur ? { ...cur, ...r } : r));
      const latest = (data.latest_version ?? r.latest_version) as { id: number } | null | undefined;
      if (latest && latest.id !== seen.current.top)
        loadVersions(r.canonical, seen.current.limit).catch(setError);
    }, ["resource"], () => refresh());
  }, [p, params.r]);

  const busy = resource === null || versions === null;
  const write = can(session, "write");
  const pinned = resource?.pinned_version_id ?? null;
  const onResource = (r: Resource) => setResource((shown) => (!shown || newerResource(shown, r) ? r : shown));

  return (
    <section data-page="resource" aria-busy={busy ? "true" : "false"}>
      <Page
        title={resource?.canonical ?? params.r}
        sub={<>resource of <a href={href("pipelines", p)}>{p}</a></>}
        actions={resource && write && (
          <>
            {pinned !== null && (
              <Action label="Unpin" run={async () =>
                onResource((await api.post<{ resource: Resource }>(path(...rc, "unpin"))).resource)} />
            )}
            <Action label="Check now" kind="primary" disabled={resource.checking} run={async () =>
              onResource((await api.post<{ resource: Resource }>(path(...rc, "check"))).resource)} />
          </>
        )}
      >
        <ErrorBox error={error} />
        {!resource && !error && <Loading />}
        {resource && (
          <>
            <dl class="props">
              <dt>Type</dt>
              <dd><code>{resource.type}</code></dd>
              <dt>Check interval</dt>
              <dd>{resource.check_interval ?? <span class="muted">none (checked on demand)</span>}</dd>
              <dt>Last check</dt>
              <dd><When at={resource.last_check_at} /></dd>
              <dt>Next check</dt>
              <dd><When at={resource.next_check_at} /></dd>
              <dt>State</dt>
              <dd aria-live="polite">
                {resource.checking ? (
                  <span class="status status-started running-pulse" data-status="checking">checking</span>
                ) : resource.check_error ? (
                  <span class="status status-errored" data-status="check_failed">check failed</span>
                ) : (
                  <span class="status status-succeeded" data-status="ok">ok</span>
                )}
              </dd>
              <dt>Pinned</dt>
              <dd>{pinned === null ? <span class="muted">no</span> : <>version #{pinned}</>}</dd>
            </dl>
            {resource.check_error && (
              <section aria-labelledby="check-error-h">
                <h2 id="check-error-h">Check error</h2>
                <pre class="check-output">{resource.check_error}</pre>
              </section>
            )}
          </>
        )}
        {triggered?.length === 0 && <p role="status">No job was triggered.</p>}
        {triggered && triggered.length > 0 && (
          <p role="status">
            Triggered{" "}
            {triggered.map((b, i) => (
              <span key={b.id}>
                {i > 0 && ", "}
                <a href={href("pipelines", b.pipeline, "jobs", b.job, "builds", b.number)}>
                  {b.job} #{b.number}
                </a>
              </span>
            ))}
            .
          </p>
        )}
        {resource && versions && (
          <section aria-labelledby="versions-h">
            <h2 id="versions-h">Versions</h2>
            {versions.length === 0 ? (
              <p class="muted">No versions yet.</p>
            ) : (
              <div class="table-wrap">
                <table class="versions">
                  <thead>
                    <tr><th scope="col">#</th><th scope="col">Version</th><th scope="col">Found</th>
                      {write && <th scope="col"><span class="sr-only">Actions</span></th>}</tr>
                  </thead>
                  <tbody>
                    {versions.map((v) => (
                      <tr key={v.id} class={v.id === pinned ? "pinned" : undefined} data-version-id={v.id}>
                        <td>{v.id}{v.id === pinned && <> <span class="pin-badge">pinned</span></>}</td>
                        <td><VersionText version={v.version} /></td>
                        <td><Time at={v.created_at} /></td>
                        {write && (
                          <td class="row-actions"><div>
                            {v.id !== pinned && (
                              <Action label="Pin" run={async () => onResource((await api.post<{ resource: Resource }>(
                                path(...rc, "pin"), { version_id: v.id })).resource)} />
                            )}
                            <Action label="Trigger with this version" run={async () =>
                              setTriggered((await api.post<{ builds: Build[] }>(
                                path(...rc, "versions", v.id, "trigger"))).builds)} />
                          </div></td>
                        )}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            {versions.length >= limit && (
              <button type="button" onClick={() => {
                const n = limit + pageSize;
                setLimit(n);
                loadVersions(resource.canonical, n).catch(setError);
              }}>Show more versions</button>
            )}
          </section>
        )}
        {resource && can(session, "admin") && <Webhook resource={resource} api={rc} onChange={onResource} />}
      </Page>
    </section>
  );
}

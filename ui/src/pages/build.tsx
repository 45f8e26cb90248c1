// A build: what it is (status, trigger, worker, times, versions, approvals, why it waits), what
// a user may do with it, and its steps with their logs, streamed live from the build's own event
// stream from the first line.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, can, path, type Build } from "../api";
import { Action, ErrorBox, Loading, Page, Status, Time, formatDuration } from "../common";
import { followBuild } from "../log/follow";
import { searchLines } from "../log/lines";
import { BuildSteps, openByDefault, planNodeFor, type StepNode } from "../log/steps";
import { LogView } from "../log/view";
import { href, navigate, useLocation, type Params } from "../router";
import { useSession } from "../session";
import { newerStatus } from "../status";
import { blockedByWords, isFinished, triggerWords } from "../words";
import { Breadcrumb } from "./job";

type Focus = { key: string; line: number; seq: number } | null;

function stepDuration(n: StepNode): string {
  if (!n.started_at || !n.finished_at) return "";
  return formatDuration(new Date(n.finished_at).getTime() - new Date(n.started_at).getTime());
}

/** What a step row says of itself: its kind and name in words. */
function stepTitle(n: StepNode): { kind: string; name: string } {
  if (n.type === "service") {
    const at = n.name.lastIndexOf(":");
    return { kind: "service", name: at > 0 ? `${n.name.slice(0, at)} · ${n.name.slice(at + 1)}` : n.name };
  }
  if (n.type === "hook") {
    const at = n.name.lastIndexOf(":");
    return { kind: "hook", name: at > 0 ? n.name.slice(at + 1) : n.name };
  }
  if (n.type === "else_if") return { kind: "else if", name: n.name };
  if (n.type === "else") return { kind: "else", name: "" };
  if (n.type === "in_parallel") return { kind: "in_parallel", name: "" };
  return { kind: n.type, name: n.name };
}

function isBranch(n: StepNode, parent: StepNode | null): boolean {
  return parent?.type === "if" && ["if", "else_if", "else"].includes(n.type);
}

/** The chain of nodes from a top-level step down to the one with `key`. */
function pathTo(nodes: StepNode[], key: string): StepNode[] | null {
  for (const n of nodes) {
    if (n.key === key) return [n];
    const below = pathTo([...n.children, ...n.hooks], key);
    if (below) return [n, ...below];
  }
  return null;
}

function VersionText({ version }: { version: unknown }) {
  if (version && typeof version === "object")
    return (
      <>
        {Object.entries(version as Record<string, unknown>).map(([k, v]) => (
          <code key={k} class="kv">{k}={String(v)}</code>
        ))}
      </>
    );
  return <code>{JSON.stringify(version)}</code>;
}

/** The build's event stream: the build as it is now, and its steps with their logs. Events are
 *  batched into one render per animation frame, so a burst of output costs one paint. */
function useBuildStream(p: string, j: string, n: string) {
  const [build, setBuild] = useState<Build | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const steps = useRef(new BuildSteps());
  const [version, setVersion] = useState(0);
  const frame = useRef(0);
  useEffect(() => {
    const bump = () => {
      if (frame.current) return;
      frame.current = requestAnimationFrame(() => {
        frame.current = 0;
        setVersion((v) => v + 1);
      });
    };
    const stop = followBuild(path("pipelines", p, "jobs", j, "builds", n, "events"), {
      reset() {
        steps.current = new BuildSteps();
        bump();
      },
      event(type, data, live) {
        const s = steps.current;
        if (type === "build" || type === "end") setBuild(data as Build);
        else if (type === "step") s.step(data);
        else if (type === "log") s.log(String(data.step), String(data.chunk ?? ""), live ? Date.now() : null);
        else if (type === "attempt") s.attempt(Number(data.attempt), String(data.marker ?? ""));
        bump();
      },
      failed(status, message) {
        setError(new Error(status === 404 ? `No build ${n} of job ${j} in pipeline ${p}.` : message));
      },
    });
    return () => {
      stop();
      cancelAnimationFrame(frame.current);
      frame.current = 0;
    };
  }, [p, j, n]);
  return { build, setBuild, error, steps: steps.current, version };
}

/** Why a build waits is only in GET of that build: asked at every status change, and every 10 s
 *  while it waits (a worker may come or go without the build changing). */
function useBlockedBy(buildUrl: string, status: string): string | null {
  const [blockedBy, setBlockedBy] = useState<string | null>(null);
  useEffect(() => {
    if (status !== "pending" && status !== "waiting_for_approval") {
      setBlockedBy(null);
      return;
    }
    const ask = () =>
      api.get<{ build: Build }>(buildUrl).then((r) => setBlockedBy(r.build.blocked_by ?? null), () => {});
    ask();
    const t = setInterval(ask, 10000);
    return () => clearInterval(t);
  }, [status, buildUrl]);
  return blockedBy;
}

/** The resolved plan (chosen versions, branch conditions), made once the build has its versions. */
function usePlan(buildUrl: string, status: string): any {
  const [plan, setPlan] = useState<any>(null);
  const planned = status !== "" && status !== "waiting_for_approval" && status !== "pending";
  useEffect(() => {
    if (!planned) return;
    api.get<{ plan: any }>(buildUrl + "/plan").then((r) => setPlan(r.plan), () => setPlan(null));
  }, [planned, buildUrl]);
  return plan;
}

/** Search in every step's log: the matches, the current one, and moving between them. */
function useLogSearch(steps: BuildSteps, version: number, reveal: (key: string, line: number) => void) {
  const [typed, setTyped] = useState("");
  const [query, setQuery] = useState("");
  const [at, setAt] = useState(-1);
  useEffect(() => {
    const t = setTimeout(() => setQuery(typed.trim()), 150);
    return () => clearTimeout(t);
  }, [typed]);
  useEffect(() => setAt(-1), [query]);
  const matches = useMemo(() => {
    if (!query) return [];
    const out: { key: string; line: number }[] = [];
    for (const node of steps.all()) for (const line of searchLines(node.log, query)) out.push({ key: node.key, line });
    return out;
  }, [query, steps, query ? version : 0]);
  const go = (delta: number) => {
    if (matches.length === 0) return;
    const next = at < 0 ? (delta > 0 ? 0 : matches.length - 1) : (at + delta + matches.length) % matches.length;
    setAt(next);
    reveal(matches[next].key, matches[next].line);
  };
  return { typed, setTyped, query, matches, at, go };
}

function SearchBar({ search }: { search: ReturnType<typeof useLogSearch> }) {
  const { typed, setTyped, query, matches, at, go } = search;
  const count = !query ? "" : matches.length === 0 ? "no match"
    : at >= 0 ? `${at + 1} of ${matches.length}` : `${matches.length} ${matches.length === 1 ? "match" : "matches"}`;
  return (
    <form class="log-search" role="search" onSubmit={(e) => { e.preventDefault(); go(1); }}>
      <label for="log-search">Search log</label>
      <input id="log-search" type="search" value={typed}
        onInput={(e) => setTyped((e.target as HTMLInputElement).value)}
        onKeyDown={(e) => { if (e.key === "Enter" && e.shiftKey) { e.preventDefault(); go(-1); } }} />
      <button type="button" onClick={() => go(-1)} disabled={matches.length === 0}>Previous match</button>
      <button type="submit" disabled={matches.length === 0}>Next match</button>
      <span class="match-count" aria-live="polite">{count}</span>
    </form>
  );
}

/** What every step row needs from the page. */
interface TreeContext {
  isOpen: (n: StepNode) => boolean;
  toggle: (n: StepNode, open: boolean) => void;
  plan: any;
  query: string;
  focus: Focus;
}

function StepItem({ node, parent, ctx }: { node: StepNode; parent: StepNode | null; ctx: TreeContext }) {
  const shown = ctx.isOpen(node);
  const { kind, name } = stepTitle(node);
  const branch = isBranch(node, parent);
  const condition = branch ? planNodeFor(ctx.plan, node.id)?.condition : undefined;
  const bodyId = `step-body-${node.key}`;
  const hasLog = node.log.length > 0;
  const list = (nodes: StepNode[]) => (
    <ul class="steps">{nodes.map((c) => <StepItem key={c.key} node={c} parent={node} ctx={ctx} />)}</ul>
  );
  return (
    <li class={`step step-${node.type}`} data-step={node.key}>
      <div class="step-head">
        <button type="button" class="step-toggle" aria-expanded={shown ? "true" : "false"} aria-controls={bodyId}
          onClick={() => ctx.toggle(node, !shown)}>
          <span class="caret" aria-hidden="true">{shown ? "▾" : "▸"}</span>
          <span class="step-kind">{kind}</span> <span class="step-name">{name}</span>
        </button>
        {branch && condition ? <code class="condition">{condition}</code> : null}
        {branch && node.status === "skipped" ? <span class="muted">not taken</span> : null}
        {branch && node.status !== "skipped" && node.status !== "started" ? <span class="muted">taken</span> : null}
        <Status status={node.status} />
        <span class="muted step-time">{stepDuration(node)}</span>
      </div>
      {shown && (
        <div class="step-body" id={bodyId}>
          {hasLog && (
            <LogView log={node.log} version={node.log.version} stepKey={node.key} label={`Log of ${kind} ${name}`.trim()}
              query={ctx.query} active={ctx.focus?.key === node.key ? ctx.focus.line : -1} focusSeq={ctx.focus?.seq ?? 0}
              follow={node.status === "started"} />
          )}
          {!hasLog && node.children.length === 0 && node.hooks.length === 0 && (
            <p class="muted no-output">{node.status === "started" ? "Waiting for output…" : "No output."}</p>
          )}
          {node.children.length > 0 && list(node.children)}
          {node.hooks.length > 0 && list(node.hooks)}
        </div>
      )}
    </li>
  );
}

/** Every attempt's steps and job hooks; earlier attempts folded under their marker. */
function StepTree({ steps, ctx }: { steps: BuildSteps; ctx: TreeContext }) {
  const many = steps.attempts.length > 1;
  return (
    <>
      {steps.attempts.map((a, i) => {
        const list = (
          <>
            {a.steps.length > 0 && (
              <ul class="steps">{a.steps.map((s) => <StepItem key={s.key} node={s} parent={null} ctx={ctx} />)}</ul>
            )}
            {a.jobHooks.length > 0 && (
              <>
                <h3 class="hooks-head">Job hooks</h3>
                <ul class="steps">{a.jobHooks.map((s) => <StepItem key={s.key} node={s} parent={null} ctx={ctx} />)}</ul>
              </>
            )}
          </>
        );
        const marker = a.marker ?? `attempt ${a.attempt}`;
        if (!many) return <div key={i}>{list}</div>;
        if (i < steps.attempts.length - 1)
          return (
            <details key={i} class="attempt">
              <summary class="attempt-marker">{marker}</summary>
              {list}
            </details>
          );
        return (
          <div key={i} class="attempt">
            <p class="attempt-marker">{marker}</p>
            {list}
          </div>
        );
      })}
    </>
  );
}

/** The actions the build's status and the user's role allow. */
function BuildActions(props: { build: Build; act: (verb: string, body?: unknown) => () => Promise<void>; reject: () => void }) {
  const session = useSession();
  const { build, act } = props;
  const canWrite = can(session, "write");
  const canMaintain = can(session, "maintain");
  return (
    <>
      {canWrite && !isFinished(build.status) && <Action label="Cancel" kind="danger" run={act("cancel")} />}
      {canWrite && isFinished(build.status) && <Action label="Retry" run={act("retry")} />}
      {canMaintain && build.status === "waiting_for_approval" && (
        <>
          <Action label="Approve" kind="primary" run={act("approve", {})} />
          <button type="button" class="danger" onClick={props.reject}>Reject</button>
        </>
      )}
      {canMaintain && build.status === "failed" && <Action label="Mark as warning" run={act("warning")} />}
    </>
  );
}

export function BuildPage({ params }: { params: Params }) {
  const { p, j, n } = params;
  const loc = useLocation();
  const buildUrl = path("pipelines", p, "jobs", j, "builds", n);
  const { build, setBuild, error, steps, version } = useBuildStream(p, j, n);
  const status = build?.status ?? "";
  const blockedBy = useBlockedBy(buildUrl, status);
  const plan = usePlan(buildUrl, status);
  const [open, setOpen] = useState<Record<string, boolean>>({});
  const autoOpened = useRef(new Set<string>());
  const [focus, setFocus] = useState<Focus>(null);
  const [rejecting, setRejecting] = useState(false);

  const isOpen = (node: StepNode) => {
    if (open[node.key] !== undefined) return open[node.key];
    if (node.children.length > 0 || node.type === "in_parallel" || node.type === "if") return true;
    // a step open because it ran stays open when it ends
    if (openByDefault(node)) autoOpened.current.add(node.key);
    return autoOpened.current.has(node.key);
  };
  const reveal = (key: string, line: number) => {
    const chain = steps.attempts.map((a) => pathTo([...a.steps, ...a.jobHooks], key)).find(Boolean);
    if (!chain) return false;
    setOpen((o) => ({ ...o, ...Object.fromEntries(chain.map((c) => [c.key, true])) }));
    setFocus((f) => ({ key, line, seq: (f?.seq ?? 0) + 1 }));
    return true;
  };
  const search = useLogSearch(steps, version, reveal);

  // a line link (#step-<key>-L<n>): open its step and show the line, once the line has arrived
  const applied = useRef("");
  useEffect(() => {
    const m = /^#step-(.+)-L(\d+)$/.exec(decodeURIComponent(loc.hash));
    if (!m || applied.current === loc.hash) return;
    const node = steps.find(m[1]);
    const line = Number(m[2]) - 1;
    if (!node || line >= node.log.length) return;
    if (reveal(m[1], line)) applied.current = loc.hash;
  }, [loc.hash, version]);

  const act = (verb: string, body?: unknown) => async () => {
    const r = await api.post<{ build: Build }>(`${buildUrl}/${verb}`, body);
    if (verb === "retry") navigate(href("pipelines", p, "jobs", j, "builds", r.build.number));
    // the stream may already have moved the build on (an approved build can finish before the
    // approval's answer arrives): an answer never takes the build back to an earlier status
    else setBuild((b) => (!b || newerStatus(b.status, r.build.status) ? r.build : b));
  };
  const ctx: TreeContext = {
    isOpen, toggle: (node, o) => setOpen((s) => ({ ...s, [node.key]: o })), plan, query: search.query, focus,
  };

  return (
    <section data-page="build" aria-busy={build || error ? "false" : "true"}>
      <Breadcrumb pipeline={p} job={j} />
      <Page
        title={`Build ${n}`}
        sub={build && (
          <span class="build-status" aria-live="polite">
            <Status status={build.status} />
            {build.reason && <span class="reason"> {build.reason}</span>}
          </span>
        )}
        actions={build && !rejecting && <BuildActions build={build} act={act} reject={() => setRejecting(true)} />}
      >
        <ErrorBox error={error} />
        {!build && !error && <Loading />}
        {build && rejecting && build.status === "waiting_for_approval" && (
          <RejectForm run={async (message) => { await act("reject", { message })(); setRejecting(false); }}
            back={() => setRejecting(false)} />
        )}
        {build && <BuildFacts build={build} blockedBy={blockedBy} plan={plan} />}
        {build && (
          <>
            <div class="steps-head">
              <h2>Steps</h2>
              <SearchBar search={search} />
            </div>
            {steps.all().length === 0 && (
              <p class="muted">{isFinished(build.status) ? "No steps ran." : "No step has started yet."}</p>
            )}
            <StepTree steps={steps} ctx={ctx} />
          </>
        )}
      </Page>
    </section>
  );
}

function RejectForm(props: { run: (message: string) => Promise<void>; back: () => void }) {
  const [message, setMessage] = useState("");
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form class="card reject-form" onSubmit={async (e) => {
      e.preventDefault();
      setBusy(true);
      setError(null);
      try {
        await props.run(message);
      } catch (err) {
        setError(err as Error);
      } finally {
        setBusy(false);
      }
    }}>
      <label for="reject-message">Why is it rejected?</label>
      <textarea id="reject-message" required maxLength={4096} rows={2} value={message}
        onInput={(e) => setMessage((e.target as HTMLTextAreaElement).value)} />
      <div class="actions">
        <button type="submit" class="danger" disabled={busy || message.trim() === ""}>Reject</button>
        <button type="button" onClick={props.back}>Back</button>
      </div>
      <ErrorBox error={error} />
    </form>
  );
}

function BuildFacts({ build, blockedBy, plan }: { build: Build; blockedBy: string | null; plan: any }) {
  const versions = Array.isArray(build.inputs) ? (build.inputs as any[]) : [];
  const inputs = Object.entries((plan?.env ?? {}) as Record<string, string>)
    .filter(([k]) => k.startsWith("INPUT_"))
    .map(([k, v]) => [k.slice(6), v]);
  const waiting = build.status === "waiting_for_approval";
  return (
    <>
      <dl class="facts">
        <dt>Triggered</dt><dd>{triggerWords(build.trigger)}</dd>
        {blockedBy && (build.status === "pending" || waiting) && (
          <><dt>Waiting</dt><dd class="blocked-by">{blockedByWords(blockedBy)}</dd></>
        )}
        <dt>Worker</dt><dd>{build.worker ?? <span class="muted">none yet</span>}</dd>
        <dt>Created</dt><dd><Time at={build.created_at} /></dd>
        {build.started_at && <><dt>Started</dt><dd><Time at={build.started_at} /></dd></>}
        {build.finished_at && <><dt>Finished</dt><dd><Time at={build.finished_at} /></dd></>}
        <dt>Duration</dt>
        <dd>{build.duration_ms !== null ? formatDuration(build.duration_ms) : build.status === "started" ? "running" : "—"}</dd>
        {build.attempt > 1 && <><dt>Attempt</dt><dd>{build.attempt}</dd></>}
        {build.concurrency_group && <><dt>Concurrency group</dt><dd>{build.concurrency_group}</dd></>}
        {build.approvals_required > 0 && (
          <>
            <dt>Approvals</dt>
            <dd class="approvals">
              {build.approvals.filter((a) => a.action === "approved").length} of {build.approvals_required}
              {build.approvals.length > 0 && (
                <ul>
                  {build.approvals.map((a, i) => (
                    <li key={i}>
                      <strong>{a.username}</strong> {a.action} <Time at={a.created_at} />
                      {a.message && <>: “{a.message}”</>}
                    </li>
                  ))}
                </ul>
              )}
            </dd>
          </>
        )}
      </dl>
      {versions.length > 0 && (
        <>
          <h2>Versions</h2>
          <div class="table-wrap">
            <table class="versions">
              <thead><tr><th scope="col">Get</th><th scope="col">Resource</th><th scope="col">Version</th></tr></thead>
              <tbody>
                {versions.map((v, i) => (
                  <tr key={i}>
                    <td>{v.name}</td>
                    <td><a href={href("pipelines", build.pipeline, "resources", v.resource)}>{v.resource}</a></td>
                    <td><VersionText version={v.version} /> <span class="muted">#{v.version_id}</span></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      {inputs.length > 0 && (
        <>
          <h2>Inputs</h2>
          <dl class="facts">{inputs.map(([k, v]) => <><dt key={`k${k}`}>{k}</dt><dd key={`v${k}`}><code>{v}</code></dd></>)}</dl>
        </>
      )}
    </>
  );
}

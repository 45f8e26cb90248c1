// Set a pipeline from the browser (admins): a name (existing pipelines offered and loadable), the
// HCL in a plain textarea with a line-number gutter (typed, pasted or uploaded), variables as
// key/value rows, live validation as the text changes (offline: no sources are fetched), then
// Save. Diagnostics are listed beside the text as `line:col message`; choosing one puts the
// cursor there.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, ApiError, can, path } from "../api";
import { ErrorBox, Page } from "../common";
import { href, navigate, useLocation, type Params } from "../router";
import { useSession } from "../session";

interface Diagnostic {
  line: number;
  column: number;
  message: string;
}

/** A variable row; `json` rows came from a pipeline whose value is not a string and are sent as
 *  the JSON they hold. */
interface VarRow {
  key: string;
  value: string;
  json: boolean;
}

type Check =
  | { state: "none" }
  | { state: "checking" }
  | { state: "valid"; notes: Diagnostic[] }
  | { state: "invalid"; diagnostics: Diagnostic[] }
  | { state: "error"; message: string };

const validateDelayMs = 400;

function rowsOf(vars: Record<string, unknown> | null | undefined): VarRow[] {
  return Object.entries(vars ?? {}).map(([key, v]) =>
    typeof v === "string" ? { key, value: v, json: false } : { key, value: JSON.stringify(v), json: true });
}

/** The rows as the API's `vars` object, or the reason they cannot be. */
function varsOf(rows: VarRow[]): Record<string, unknown> | string {
  const out: Record<string, unknown> = {};
  for (const r of rows) {
    const key = r.key.trim();
    if (!key) continue;
    if (key in out) return `variable "${key}" is given twice`;
    if (r.json) {
      try {
        out[key] = JSON.parse(r.value);
      } catch {
        return `variable "${key}" is not valid JSON`;
      }
    } else out[key] = r.value;
  }
  return out;
}

/** The offset in `text` of 1-based `line` and `column` (clamped to the text). */
function offsetOf(text: string, line: number, column: number): number {
  let at = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf("\n", at);
    if (nl < 0) return text.length;
    at = nl + 1;
  }
  const end = text.indexOf("\n", at);
  const lineEnd = end < 0 ? text.length : end;
  return Math.min(at + Math.max(column - 1, 0), lineEnd);
}

function Editor(props: {
  text: string;
  onText: (t: string) => void;
  diagnostics: Diagnostic[];
  area: { current: HTMLTextAreaElement | null };
}) {
  const gutter = useRef<HTMLDivElement>(null);
  const count = useMemo(() => props.text.split("\n").length, [props.text]);
  const bad = useMemo(() => new Set(props.diagnostics.map((d) => d.line)), [props.diagnostics]);
  const sync = () => {
    if (gutter.current && props.area.current) gutter.current.scrollTop = props.area.current.scrollTop;
  };
  useEffect(sync, [props.text]);
  const numbers = [];
  for (let i = 1; i <= count; i++)
    numbers.push(<div key={i} class={bad.has(i) ? "bad" : undefined}>{i}</div>);
  return (
    <div class="editor">
      <div class="gutter" ref={gutter} aria-hidden="true">{numbers}</div>
      <textarea
        id="config"
        ref={props.area}
        wrap="off"
        spellcheck={false}
        autoCapitalize="off"
        autoComplete="off"
        value={props.text}
        aria-describedby="check-status"
        aria-invalid={props.diagnostics.length > 0 ? "true" : undefined}
        onInput={(e) => props.onText((e.target as HTMLTextAreaElement).value)}
        onScroll={sync}
      />
    </div>
  );
}

function Variables({ rows, onRows }: { rows: VarRow[]; onRows: (r: VarRow[]) => void }) {
  const set = (i: number, change: Partial<VarRow>) =>
    onRows(rows.map((r, j) => (j === i ? { ...r, ...change } : r)));
  return (
    <fieldset class="vars">
      <legend>Variables</legend>
      {rows.length === 0 && <p class="muted">None. Values fill <code>var.NAME</code> in the pipeline.</p>}
      {rows.map((r, i) => (
        <div class="var-row" key={i}>
          <label for={`var-key-${i}`} class="sr-only">Name of variable {i + 1}</label>
          <input id={`var-key-${i}`} placeholder="name" value={r.key} class="mono"
            onInput={(e) => set(i, { key: (e.target as HTMLInputElement).value })} />
          <label for={`var-value-${i}`} class="sr-only">Value of variable {i + 1}{r.json ? " (JSON)" : ""}</label>
          <input id={`var-value-${i}`} placeholder={r.json ? "JSON value" : "value"} value={r.value} class="mono"
            onInput={(e) => set(i, { value: (e.target as HTMLInputElement).value })} />
          {r.json && <span class="muted">JSON</span>}
          <button type="button" aria-label={`Remove variable ${r.key || i + 1}`}
            onClick={() => onRows(rows.filter((_, j) => j !== i))}>Remove</button>
        </div>
      ))}
      <button type="button" onClick={() => onRows([...rows, { key: "", value: "", json: false }])}>
        Add variable
      </button>
    </fieldset>
  );
}

function Diagnostics({ check, onPick }: { check: Check; onPick: (d: Diagnostic) => void }) {
  return (
    <aside class="diagnostics" aria-labelledby="check-status">
      <p id="check-status" class={`check check-${check.state}`} role="status">
        {check.state === "none" && "Type or paste a pipeline to check it."}
        {check.state === "checking" && "Checking…"}
        {check.state === "valid" && (check.notes.length ? `Valid, with ${check.notes.length === 1 ? "a note" : `${check.notes.length} notes`}:` : "Valid.")}
        {check.state === "invalid" &&
          `${check.diagnostics.length} problem${check.diagnostics.length === 1 ? "" : "s"}:`}
        {check.state === "error" && `Could not check: ${check.message}`}
      </p>
      {(check.state === "invalid" || (check.state === "valid" && check.notes.length > 0)) && (
        <ul>
          {(check.state === "invalid" ? check.diagnostics : check.notes).map((d, i) => (
            <li key={i} data-diagnostic={check.state === "invalid" ? "" : undefined} data-note={check.state === "valid" ? "" : undefined}>
              <button type="button" class="link" onClick={() => onPick(d)}
                title="Put the cursor there">
                <span class="mono">{d.line}:{d.column}</span>
              </button>{" "}
              <span class="diag-message">{d.message}</span>
            </li>
          ))}
        </ul>
      )}
    </aside>
  );
}

function SetPipelineForm() {
  const loc = useLocation();
  const [pipelines, setPipelines] = useState<string[] | null>(null);
  const [name, setName] = useState(loc.search.get("pipeline") ?? "");
  const [text, setText] = useState("");
  const [rows, setRows] = useState<VarRow[]>([]);
  const [check, setCheck] = useState<Check>({ state: "none" });
  const [error, setError] = useState<Error | null>(null);
  const [loading, setLoading] = useState(false);
  const [saving, setSaving] = useState(false);
  const area = useRef<HTMLTextAreaElement | null>(null);
  const seq = useRef(0);

  const load = async (p: string) => {
    setLoading(true);
    setError(null);
    try {
      const { pipeline } = await api.get<{ pipeline: { config: string; vars: Record<string, unknown> } }>(
        path("pipelines", p));
      setText(pipeline.config);
      setRows(rowsOf(pipeline.vars));
    } catch (e) {
      setError(e as Error);
    } finally {
      setLoading(false);
    }
  };

  useEffect(() => {
    api.get<{ pipelines: { name: string }[] }>(path("pipelines")).then(
      (r) => setPipelines(r.pipelines.map((x) => x.name)),
      (e) => (setPipelines([]), setError(e)),
    );
    if (name) load(name);
  }, []);

  const validate = async (offline: boolean) => {
    const n = ++seq.current;
    const vars = varsOf(rows);
    if (typeof vars === "string") return setCheck({ state: "error", message: vars });
    if (!text.trim()) return setCheck({ state: "none" });
    setCheck({ state: "checking" });
    try {
      const r = await api.post<{ notes?: Diagnostic[] }>(path("validate"),
        { config: text, vars, offline, name: name.trim() || undefined });
      if (n === seq.current) setCheck({ state: "valid", notes: r?.notes ?? [] });
    } catch (e) {
      if (n !== seq.current) return;
      if (e instanceof ApiError && e.status === 422)
        setCheck({ state: "invalid", diagnostics: e.diagnostics.length ? e.diagnostics : [{ line: 1, column: 1, message: e.message }] });
      else setCheck({ state: "error", message: (e as Error).message });
    }
  };

  // live validation: once typing pauses
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => {
    timer.current = setTimeout(() => validate(true), validateDelayMs);
    return () => clearTimeout(timer.current);
  }, [text, rows]);

  const pick = (d: Diagnostic) => {
    const el = area.current;
    if (!el) return;
    const at = offsetOf(text, d.line, d.column);
    el.focus();
    el.setSelectionRange(at, at);
    const lineHeight = parseFloat(getComputedStyle(el).lineHeight) || 20;
    el.scrollTop = Math.max(0, (d.line - 1) * lineHeight - el.clientHeight / 3);
  };

  const save = async (e: Event) => {
    e.preventDefault();
    const vars = varsOf(rows);
    if (typeof vars === "string") return setError(new Error(vars));
    // the save's own answer is the check: a pending live check must not replace it
    clearTimeout(timer.current);
    seq.current++;
    setSaving(true);
    setError(null);
    try {
      await api.put(path("pipelines", name.trim()), { config: text, vars });
      navigate(href("pipelines", name.trim()));
    } catch (x) {
      if (x instanceof ApiError && x.status === 422 && x.diagnostics.length) {
        setCheck({ state: "invalid", diagnostics: x.diagnostics });
      } else setError(x as Error);
    } finally {
      setSaving(false);
    }
  };

  const upload = async (e: Event) => {
    const input = e.target as HTMLInputElement;
    const file = input.files?.[0];
    if (!file) return;
    if (file.size > 4 << 20) return setError(new Error(`${file.name} is larger than 4 MiB`));
    setText(await file.text());
    if (!name.trim()) setName(file.name.replace(/\.[^.]*$/, ""));
    input.value = "";
  };

  const existing = pipelines?.includes(name.trim()) ?? false;
  const diagnostics = check.state === "invalid" ? check.diagnostics : [];
  return (
    <section data-page="set-pipeline" aria-busy={pipelines === null || loading ? "true" : "false"}>
      <Page title="Set a pipeline">
        <form class="set-pipeline" onSubmit={save}>
          <div class="name-row">
            <div>
              <label for="pipeline-name">Pipeline name</label>
              <input id="pipeline-name" list="pipeline-names" required value={name} size={30}
                autoComplete="off"
                onInput={(e) => setName((e.target as HTMLInputElement).value)}
                onChange={(e) => {
                  const v = (e.target as HTMLInputElement).value.trim();
                  if (!text.trim() && pipelines?.includes(v)) load(v);
                }} />
              <datalist id="pipeline-names">
                {(pipelines ?? []).map((p) => <option key={p} value={p} />)}
              </datalist>
            </div>
            {existing && (
              <button type="button" disabled={loading} onClick={() => {
                if (text.trim() && !window.confirm(`Replace the text in the editor with ${name.trim()}'s configuration?`))
                  return;
                load(name.trim());
              }}>
                Load current configuration
              </button>
            )}
            <div>
              <label for="upload">Upload HCL file</label>
              <input id="upload" type="file" accept=".hcl,.txt,text/plain" onChange={upload} />
            </div>
          </div>
          <label for="config">Configuration (HCL)</label>
          <div class="editor-grid">
            <Editor text={text} onText={setText} diagnostics={diagnostics} area={area} />
            <Diagnostics check={check} onPick={pick} />
          </div>
          <Variables rows={rows} onRows={setRows} />
          <ErrorBox error={error} />
          <div class="actions">
            <button type="button" onClick={() => validate(false)}>Validate</button>
            <button type="submit" class="primary" disabled={saving || !name.trim() || !text.trim()}>
              Save
            </button>
            {existing && <span class="muted">Saving replaces the pipeline <a href={href("pipelines", name.trim())}>{name.trim()}</a>.</span>}
          </div>
        </form>
      </Page>
    </section>
  );
}

export function SetPipelinePage({ params }: { params: Params }) {
  void params;
  const session = useSession();
  if (!can(session, "admin"))
    return (
      <section data-page="set-pipeline" aria-busy="false">
        <Page title="Set a pipeline">
          <p>Setting a pipeline needs the admin role; you are signed in as {session?.role ?? "nobody"}.</p>
        </Page>
      </section>
    );
  return <SetPipelineForm />;
}

// The form that triggers a job: one field per declared input (types and options from the
// pipeline, defaults filled in), then "Trigger". A job without inputs is just the button.
import { useState } from "preact/hooks";
import { api, path, type Build, type JobInput } from "./api";
import { href } from "./router";

type Value = string | boolean | string[];

function initial(input: JobInput): Value {
  const d = input.default;
  if (input.type === "bool") return d === true || d === "true";
  if (input.multiple) {
    if (Array.isArray(d)) return d.map(String);
    return d === null || d === "" ? [] : String(d).split(",").map((s) => s.trim());
  }
  return d === null ? "" : String(d);
}

/** What the API takes for one field, or undefined to leave it out (the default applies).
 *  Numbers go as typed: the node says which forms it takes (`1e3` is refused, not read as 1000). */
function toApi(input: JobInput, v: Value): unknown {
  if (input.type === "bool") return v as boolean;
  if (Array.isArray(v)) return v.length ? v : undefined;
  const text = String(v).trim();
  if (text === "") return undefined;
  if (input.multiple) return text.split(",").map((s) => s.trim()).filter(Boolean);
  return text;
}

function Field(props: { id: string; input: JobInput; value: Value; set: (v: Value) => void }) {
  const { id, input, value, set } = props;
  const label = (
    <>
      {input.name}
      {input.required && <span class="muted"> (required)</span>}
    </>
  );
  const help = input.description ? <div class="muted field-help" id={`${id}-help`}>{input.description}</div> : null;
  const describedBy = input.description ? `${id}-help` : undefined;
  if (input.type === "bool")
    return (
      <div class="field">
        <label class="check">
          <input type="checkbox" id={id} checked={value as boolean} aria-describedby={describedBy}
            onChange={(e) => set((e.target as HTMLInputElement).checked)} /> {label}
        </label>
        {help}
      </div>
    );
  if (input.options && input.multiple) {
    const chosen = value as string[];
    return (
      <fieldset class="field">
        <legend>{label}</legend>
        {input.options.map((o) => (
          <label class="check" key={String(o)}>
            <input type="checkbox" checked={chosen.includes(String(o))}
              onChange={(e) => {
                const on = (e.target as HTMLInputElement).checked;
                set(on ? [...chosen, String(o)] : chosen.filter((c) => c !== String(o)));
              }} /> {String(o)}
          </label>
        ))}
        {help}
      </fieldset>
    );
  }
  if (input.options)
    return (
      <div class="field">
        <label for={id}>{label}</label>
        <select id={id} value={value as string} required={input.required} aria-describedby={describedBy}
          onChange={(e) => set((e.target as HTMLSelectElement).value)}>
          {!input.required && input.default === null && <option value="">(default)</option>}
          {input.options.map((o) => <option key={String(o)} value={String(o)}>{String(o)}</option>)}
        </select>
        {help}
      </div>
    );
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input id={id} type={(input.type === "number" && !input.multiple ? "number" : "text") as "text"}
        step={input.type === "number" ? "any" : undefined} value={value as string} required={input.required} aria-describedby={describedBy}
        placeholder={input.multiple ? "comma-separated" : undefined}
        onInput={(e) => set((e.target as HTMLInputElement).value)} />
      {help}
    </div>
  );
}

/** Triggers `job` of `pipeline` with the values of its `inputs`; `onDone` gets the new build
 *  (without it, the form links to the build it made). */
export function TriggerForm(props: {
  pipeline: string;
  job: string;
  inputs: JobInput[];
  onDone?: (build: Build) => void;
  disabled?: boolean;
}) {
  const { pipeline, job, inputs } = props;
  const [values, setValues] = useState<Record<string, Value>>(() =>
    Object.fromEntries(inputs.map((i) => [i.name, initial(i)])));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const [made, setMade] = useState<Build | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const empty = inputs.find((i) => i.required && Array.isArray(values[i.name]) && !(values[i.name] as string[]).length);
    if (empty) {
      setError(new Error(`input "${empty.name}" is required`));
      return;
    }
    setBusy(true);
    setError(null);
    setMade(null);
    try {
      const body: Record<string, unknown> = {};
      for (const i of inputs) {
        const v = toApi(i, values[i.name] ?? initial(i));
        if (v !== undefined) body[i.name] = v;
      }
      const res = await api.post<{ build: Build }>(path("pipelines", pipeline, "jobs", job, "trigger"),
        inputs.length ? { inputs: body } : undefined);
      if (props.onDone) props.onDone(res.build);
      else setMade(res.build);
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  const base = `trigger-${job.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  return (
    <form class={inputs.length ? "job-trigger card" : "job-trigger"} onSubmit={submit}
      aria-label={`Trigger ${job}`}>
      {inputs.map((i, n) => (
        <Field key={i.name} id={`${base}-${n}`} input={i} value={values[i.name] ?? initial(i)}
          set={(v) => setValues((s) => ({ ...s, [i.name]: v }))} />
      ))}
      <div class="trigger-submit">
        <button type="submit" class="primary" disabled={busy || props.disabled}>Trigger</button>
        {made && (
          <span role="status">
            <a href={href("pipelines", pipeline, "jobs", job, "builds", made.number)}>Build {made.number}</a> created
          </span>
        )}
        {error && <span class="error" role="alert">{error.message}</span>}
      </div>
    </form>
  );
}

// The form that triggers a job, made from its declared inputs: string → text, number → number,
// bool → checkbox, `options` → select (`multiple` → multi-select), `multiple` without options →
// a comma-separated text. Defaults are filled in; inputs without a default are required. What
// the node refuses (400, naming the input) is shown next to the form.
import { useState } from "preact/hooks";
import { api, path, type Build, type JobInput } from "../api";
import { href } from "../router";

type Value = string | boolean | string[];

function initial(input: JobInput): Value {
  const d = input.default;
  if (input.type === "bool" && !input.multiple) return d === true || d === "true";
  if (input.multiple && input.options) return Array.isArray(d) ? d.map(String) : d === null ? [] : String(d).split(",").map((s) => s.trim());
  if (Array.isArray(d)) return d.join(",");
  return d === null ? "" : String(d);
}

/** The body's value for an input, or undefined to leave it out (the node then uses the default). */
function wire(input: JobInput, v: Value): unknown {
  if (typeof v === "boolean") return v;
  if (Array.isArray(v)) return v.length || input.required ? v : undefined;
  return v === "" && !input.required ? undefined : v;
}

function Field({ input, id, value, set }: { input: JobInput; id: string; value: Value; set: (v: Value) => void }) {
  const described = input.description ? id + "-about" : undefined;
  const common = { id, name: input.name, "aria-describedby": described };
  let control;
  if (typeof value === "boolean") {
    control = <input type="checkbox" {...common} checked={value} onChange={(e) => set((e.target as HTMLInputElement).checked)} />;
  } else if (input.options && Array.isArray(value)) {
    control = (
      <select multiple {...common} required={input.required} size={Math.min(6, input.options.length)}
        onChange={(e) => set([...(e.target as HTMLSelectElement).selectedOptions].map((o) => o.value))}>
        {input.options.map((o) => <option value={String(o)} selected={value.includes(String(o))}>{String(o)}</option>)}
      </select>
    );
  } else if (input.options) {
    control = (
      <select {...common} required={input.required} value={value as string}
        onChange={(e) => set((e.target as HTMLSelectElement).value)}>
        {(input.required && value === "") && <option value="">Choose…</option>}
        {input.options.map((o) => <option value={String(o)}>{String(o)}</option>)}
      </select>
    );
  } else {
    const onInput = (e: Event) => set((e.target as HTMLInputElement).value);
    control = input.type === "number" && !input.multiple ? (
      <input {...common} type="number" step="any" required={input.required} value={value as string} onInput={onInput} />
    ) : (
      <input {...common} type="text" required={input.required} value={value as string} onInput={onInput}
        placeholder={input.multiple ? "comma-separated" : undefined} />
    );
  }
  return (
    <div class={`field${typeof value === "boolean" ? " field-check" : ""}`}>
      <label for={id}>{input.name}{input.required ? " (required)" : ""}</label>
      {control}
      {input.description && <div id={described} class="muted hint">{input.description}</div>}
    </div>
  );
}

export function TriggerForm(props: { pipeline: string; job: string; inputs: JobInput[]; disabled?: boolean }) {
  const { pipeline, job, inputs } = props;
  const [values, setValues] = useState<Value[]>(() => inputs.map(initial));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [made, setMade] = useState<Build | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const empty = inputs.findIndex((inp, i) => inp.required && Array.isArray(values[i]) && !(values[i] as string[]).length);
    if (empty >= 0) {
      setError(`input "${inputs[empty].name}" is required`);
      (form.elements.namedItem(inputs[empty].name) as HTMLElement | null)?.focus();
      return;
    }
    const body: Record<string, unknown> = {};
    inputs.forEach((inp, i) => {
      const w = wire(inp, values[i]);
      if (w !== undefined) body[inp.name] = w;
    });
    setBusy(true);
    setError(null);
    setMade(null);
    try {
      const r = await api.post<{ build: Build }>(path("pipelines", pipeline, "jobs", job, "trigger"),
        inputs.length ? { inputs: body } : undefined);
      setMade(r.build);
    } catch (x) {
      setError((x as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const base = `trigger-${job.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  return (
    <form class="trigger-form" onSubmit={submit} aria-label={`Trigger ${job}`}>
      {inputs.map((inp, i) => (
        <Field key={inp.name} input={inp} id={`${base}-${i}`} value={values[i]}
          set={(v) => setValues((old) => old.map((o, k) => (k === i ? v : o)))} />
      ))}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy || props.disabled}>Trigger</button>
        {made && (
          <span role="status">
            <a href={href("pipelines", pipeline, "jobs", job, "builds", made.number)}>Build {made.number}</a>{" "}
            created
          </span>
        )}
      </div>
      {error && <p class="error" role="alert">{error}</p>}
    </form>
  );
}

// Small pieces every page uses: loading data, showing a status, a time, an error, an action.
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError } from "./api";

/** Data from `load`, reloaded when `deps` change or `reload()` is called. */
export function useData<T>(load: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (d) => live && (setData(d), setError(null)),
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, reload, setData };
}

/** A build or step status as text with its colour; `data-status` carries the raw value. */
export function Status({ status }: { status: string }) {
  return (
    <span class={`status status-${status}`} data-status={status}>
      {status}
    </span>
  );
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "";
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** A time shown relative to now, with the exact time on hover and for screen readers. */
export function Time({ at }: { at: string | null | undefined }) {
  if (!at) return null;
  const d = new Date(at);
  const ago = Math.round((Date.now() - d.getTime()) / 1000);
  const text =
    ago < 5 ? "just now" : ago < 60 ? `${ago} s ago` : ago < 3600 ? `${Math.floor(ago / 60)} min ago`
      : ago < 86400 ? `${Math.floor(ago / 3600)} h ago` : d.toLocaleString();
  return (
    <time dateTime={at} title={d.toLocaleString()}>
      {text}
    </time>
  );
}

export function ErrorBox({ error }: { error: Error | null }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {error.message}
    </p>
  );
}

export function Loading() {
  return <p class="muted" aria-live="polite">Loading…</p>;
}

/** A page: its one h1, optional actions beside it, then the content. */
export function Page(props: { title: ComponentChildren; actions?: ComponentChildren; children?: ComponentChildren; sub?: ComponentChildren }) {
  useEffect(() => {
    const t = typeof props.title === "string" ? props.title : "";
    document.title = t ? `${t} · pikoci-node` : "pikoci-node";
  }, [props.title]);
  return (
    <>
      <div class="page-head">
        <div>
          <h1>{props.title}</h1>
          {props.sub && <div class="sub">{props.sub}</div>}
        </div>
        {props.actions && <div class="actions">{props.actions}</div>}
      </div>
      {props.children}
    </>
  );
}

/** A button that runs an async action, disables itself meanwhile and shows the error. */
export function Action(props: {
  label: string;
  run: () => Promise<unknown>;
  kind?: "primary" | "danger" | "plain";
  disabled?: boolean;
  confirm?: string;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const click = async () => {
    if (props.confirm && !window.confirm(props.confirm)) return;
    setBusy(true);
    setError(null);
    try {
      await props.run();
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="action">
      <button type="button" class={props.kind ?? "plain"} disabled={busy || props.disabled} onClick={click}>
        {props.label}
      </button>
      {error && (
        <span class="error" role="alert">
          {error.message}
        </span>
      )}
    </span>
  );
}

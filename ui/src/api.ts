// The one way pages talk to the node: JSON over /api/v1 with the session cookie, the CSRF
// header on writes, and Server-Sent Events for live data. Pages never build URLs by hand: they
// pass names through `path`, which percent-encodes each segment as the API expects.

/** A build summary, as every build route returns it. */
export interface Build {
  id: number;
  pipeline: string;
  job: string;
  number: string;
  status: string;
  reason: string | null;
  trigger: { type: string; resource?: string; version_id?: number; build?: string; user?: string };
  attempt: number;
  worker: string | null;
  concurrency_group: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  inputs: unknown;
  approvals_required: number;
  approvals: { username: string; action: string; message: string | null; created_at: string }[];
  blocked_by?: string;
}

/** One declared input of a job (the trigger form is made from these). */
export interface JobInput {
  name: string;
  type: "string" | "number" | "bool";
  options: (string | number | boolean)[] | null;
  default: string | number | boolean | null;
  required: boolean;
  multiple: boolean;
  description: string | null;
}

/** A resource, as the resource routes return it. */
export interface Resource {
  canonical: string;
  type: string;
  name: string;
  check_interval: string | null;
  checking: boolean;
  last_check_at: string | null;
  next_check_at: string | null;
  check_error: string | null;
  pinned_version_id: number | null;
  webhook_token: string | null;
}

export type Role = "read" | "write" | "maintain" | "admin";
const ranks: Record<Role, number> = { read: 0, write: 1, maintain: 2, admin: 3 };

/** The signed-in user, from GET /session. */
export interface Session {
  username: string;
  role: Role;
  csrf_token: string;
  expires_at: string;
}

/** Whether the session's role includes `needed` (read < write < maintain < admin). */
export function can(session: Session | null, needed: Role): boolean {
  return session !== null && ranks[session.role] >= ranks[needed];
}

/** An answer that was not 2xx: the node's error code and message, and diagnostics if any. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly diagnostics: { line: number; column: number; message: string }[] = [],
  ) {
    super(message);
  }
}

/** `/api/v1` plus the segments, each percent-encoded: path("pipelines", "My P") */
export function path(...segments: (string | number)[]): string {
  return "/api/v1/" + segments.map((s) => encodeURIComponent(String(s))).join("/");
}

let csrf = "";
let onUnauthenticated: () => void = () => {};

/** Called when any request answers 401 (the session ended): the app shows the login page. */
export function whenUnauthenticated(f: () => void): void {
  onUnauthenticated = f;
}

async function request<T>(method: string, url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrf;
  const res = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    throw new ApiError(res.status, "bad_answer", `the node answered ${res.status} with no JSON`);
  }
  if (!res.ok) {
    const err = json?.error ?? {};
    if (res.status === 401 && !url.endsWith("/session")) onUnauthenticated();
    throw new ApiError(res.status, err.code ?? "error", err.message ?? res.statusText,
      json?.diagnostics ?? err.diagnostics ?? []);
  }
  return json as T;
}

export const api = {
  get: <T>(url: string) => request<T>("GET", url),
  post: <T>(url: string, body?: unknown) => request<T>("POST", url, body),
  put: <T>(url: string, body?: unknown) => request<T>("PUT", url, body),
  del: <T>(url: string) => request<T>("DELETE", url),
};

/** The current session, or null when signed out. */
export async function currentSession(): Promise<Session | null> {
  try {
    const s = await api.get<Session>(path("session"));
    csrf = s.csrf_token;
    return s;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

export async function logIn(username: string, password: string): Promise<Session> {
  const s = await api.post<Session>(path("session"), { username, password });
  csrf = s.csrf_token;
  return s;
}

export async function logOut(): Promise<void> {
  await api.del(path("session"));
  csrf = "";
}

/** A live event stream; `on` gets each event's type and parsed data. Returns a closer. The
 *  browser reconnects by itself after a network error; `onOpen` runs on every (re)connect so a
 *  page can refresh what it may have missed. */
export function stream(
  url: string,
  on: (type: string, data: any) => void,
  types: string[],
  onOpen?: () => void,
): () => void {
  const source = new EventSource(url, { withCredentials: true });
  for (const t of types)
    source.addEventListener(t, (e) => {
      try {
        on(t, JSON.parse((e as MessageEvent).data));
      } catch {
        /* a malformed event is skipped; the next refresh shows the truth */
      }
    });
  if (onOpen) source.addEventListener("open", onOpen);
  return () => source.close();
}

// --- pipeline graph and dashboard (pages/pipeline.tsx, pages/dashboard.tsx) ---

/** A job as the graph shows it: its latest build, how many builds run, what it gets and puts. */
export interface GraphJob {
  name: string;
  paused: boolean;
  latest_build: Build | null;
  running: number;
  inputs: JobInput[];
  gets: { resource: string; name: string; passed: string[]; trigger: boolean }[];
  puts: { resource: string; name: string }[];
}

/** GET /pipelines/{p}/graph */
export interface Graph {
  name: string;
  paused: boolean;
  jobs: GraphJob[];
  resources: Resource[];
}

/** A resource version, as GET .../versions lists them. */
export interface Version {
  id: number;
  version: Record<string, string>;
  created_at: string;
}

/** GET /dashboard: every pipeline with its jobs' latest builds, and the queue's figures. */
export interface Dashboard {
  pipelines: {
    name: string;
    paused: boolean;
    jobs: { name: string; paused: boolean; latest_build: Build | null; running: number }[];
  }[];
  in_flight: number;
  queued: number;
}

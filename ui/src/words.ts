// Builds described in words: why a build exists and why it waits.
import type { Build } from "./api";

/** "manual by alice", "new version of git.repo", "retry of #3", ... */
export function triggerWords(t: Build["trigger"] | null | undefined): string {
  if (!t) return "";
  const v = t.version_id !== undefined ? ` (version ${t.version_id})` : "";
  const by = t.user ? `, by ${t.user}` : "";
  switch (t.type) {
    case "manual":
      return `manual${by}`;
    case "resource":
      return `new version of ${t.resource ?? "a resource"}${v}`;
    case "passed":
      return `passed upstream: ${t.resource ?? "a resource"}${v}`;
    case "version":
      return `triggered with version ${t.version_id ?? "?"} of ${t.resource ?? "a resource"}${by}`;
    case "retry":
      return `retry of #${t.build ?? "?"}${by}`;
    default:
      return t.type;
  }
}

/** Why a pending or waiting build waits, in words (the node's `blocked_by`). */
export function blockedByWords(b: string | null | undefined): string {
  if (!b) return "";
  if (b === "approval") return "waiting for approval";
  if (b === "no worker") return "no worker is connected";
  if (b.startsWith("no worker with tags")) return `no worker has the tags it needs (${b.slice(20)})`;
  if (b === "workers busy") return "every worker slot is busy";
  if (b === "max_in_flight") return "the node already runs as many builds as it may (max_in_flight)";
  if (b === "paused") return "the pipeline or the job is paused";
  if (b === "job_concurrency") return "the job already runs as many builds as its concurrency allows";
  if (b === "serial") return "another build of this pipeline runs first (serial mode)";
  if (b.startsWith("serial_group:")) return `another build of serial group ${b.slice(13)} runs`;
  if (b.startsWith("group:")) return `another build of concurrency group ${b.slice(6)} runs first`;
  if (b === "dispatched, not accepted yet") return "sent to a worker, not accepted yet";
  return b;
}

/** Build statuses that are over. */
export function isFinished(status: string): boolean {
  return !["waiting_for_approval", "pending", "started"].includes(status);
}

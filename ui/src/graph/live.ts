// Live updates shared by the dashboard and the pipeline page: applying a `build` event to a job
// and coalescing bursts of events into a few renders per second.
import { useEffect, useRef } from "preact/hooks";
import type { Build } from "../api";

const finals = new Set(["succeeded", "failed", "errored", "cancelled", "skipped", "warning"]);

export function isFinal(status: string): boolean {
  return finals.has(status);
}

/** What a job shows that a build event changes. */
export interface LiveJob {
  latest_build: Build | null;
  running?: number;
}

/** The job after `b` (one of its builds) changed status, or the same object when nothing shows
 *  it. `started` remembers the builds seen starting since the page's data was fetched, so a
 *  build's end is counted off `running` once: a build that ends without us having seen it start
 *  had started before the fetch and was in the fetched count. */
export function applyBuild<J extends LiveJob>(job: J, b: Build, started: Set<number>): J {
  let running = job.running;
  if (running !== undefined) {
    if (b.status === "started" && !started.has(b.id)) {
      started.add(b.id);
      running++;
    } else if (isFinal(b.status) && b.started_at) {
      if (started.delete(b.id) || !started.has(-b.id)) running = Math.max(0, running - 1);
      started.add(-b.id); // counted off once
    }
  }
  const latest = job.latest_build;
  const newer = !latest || b.id >= latest.id;
  if (!newer && running === job.running) return job;
  return { ...job, latest_build: newer ? b : latest, running };
}

/** Calls `flush` at most once per `ms` after `schedule()` (trailing), never while idle. */
export function useCoalesce(flush: () => void, ms: number): () => void {
  const timer = useRef<number | null>(null);
  const latest = useRef(flush);
  latest.current = flush;
  useEffect(() => () => {
    if (timer.current !== null) clearTimeout(timer.current);
  }, []);
  return useRef(() => {
    if (timer.current !== null) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      latest.current();
    }, ms) as unknown as number;
  }).current;
}

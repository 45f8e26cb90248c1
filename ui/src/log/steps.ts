// A build's steps as its event stream describes them: `step` events create and update steps
// (nested by `parent`), `log` events add output, `attempt` events open a new attempt whose steps
// reuse the ids of the one before. Step hooks (ids "<owner>:h<i>") are shown under their step.
import { LogLines } from "./lines";

export interface StepEvent {
  id: string;
  parent: string;
  type: string;
  name: string;
  job_hook: boolean;
  status: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface StepNode extends StepEvent {
  /** Unique in the page, used in line links: the id, prefixed with "a<N>." in earlier attempts. */
  key: string;
  children: StepNode[];
  hooks: StepNode[];
  log: LogLines;
}

export interface Attempt {
  attempt: number;
  marker: string | null;
  steps: StepNode[];
  jobHooks: StepNode[];
  byId: Map<string, StepNode>;
}

export class BuildSteps {
  readonly attempts: Attempt[] = [{ attempt: 1, marker: null, steps: [], jobHooks: [], byId: new Map() }];
  /** Bumped on every change. */
  version = 0;

  get current(): Attempt {
    return this.attempts[this.attempts.length - 1];
  }

  attempt(n: number, marker: string): void {
    const cur = this.current;
    if (cur.steps.length === 0 && cur.jobHooks.length === 0) {
      cur.attempt = n;
      cur.marker = marker;
    } else {
      this.attempts.push({ attempt: n, marker, steps: [], jobHooks: [], byId: new Map() });
    }
    this.rekey();
    this.version++;
  }

  step(e: StepEvent): void {
    const group = this.current;
    const known = group.byId.get(e.id);
    if (known) {
      Object.assign(known, { status: e.status, started_at: e.started_at, finished_at: e.finished_at });
    } else {
      const node: StepNode = { ...e, key: e.id, children: [], hooks: [], log: new LogLines() };
      group.byId.set(e.id, node);
      const owner = /^(.*):h\d+$/.exec(e.id)?.[1];
      const parent = e.parent ? group.byId.get(e.parent) : undefined;
      if (e.job_hook) group.jobHooks.push(node);
      else if (parent) parent.children.push(node);
      else if (owner !== undefined && group.byId.has(owner)) group.byId.get(owner)!.hooks.push(node);
      else group.steps.push(node);
      this.rekey();
    }
    this.version++;
  }

  log(stepId: string, chunk: string, time: number | null): void {
    const node = this.current.byId.get(stepId);
    if (!node) return;
    node.log.append(chunk, time);
    this.version++;
  }

  /** Finds a step by its key (as in a line link). */
  find(key: string): StepNode | undefined {
    for (const a of this.attempts)
      for (const n of a.byId.values()) if (n.key === key) return n;
    return undefined;
  }

  /** Every step in display order (attempts, steps depth-first with their hooks, job hooks). */
  all(): StepNode[] {
    const out: StepNode[] = [];
    const walk = (ns: StepNode[]) => {
      for (const n of ns) {
        out.push(n);
        walk(n.children);
        walk(n.hooks);
      }
    };
    for (const a of this.attempts) {
      walk(a.steps);
      walk(a.jobHooks);
    }
    return out;
  }

  private rekey(): void {
    const last = this.attempts.length - 1;
    this.attempts.forEach((a, i) => {
      for (const n of a.byId.values()) n.key = i === last ? n.id : `a${a.attempt}.${n.id}`;
    });
  }
}

/** Whether a step's own row should start open: it failed or errored, or it runs now. */
export function openByDefault(n: StepNode): boolean {
  return n.status === "failed" || n.status === "errored" || n.status === "started";
}

/** The node of a resolved build plan (GET .../plan) that step `id` ran: ids are positions
 *  ("2" the third step, "2.1" its second child or branch, "1.0.0" the first step of a chain's
 *  first branch). Services and hooks ("s0:start", "0:h1") have none. */
export function planNodeFor(plan: any, id: string): any | null {
  if (!plan || !Array.isArray(plan.steps) || !/^\d+(\.\d+)*$/.test(id)) return null;
  const parts = id.split(".").map(Number);
  let node: any = plan.steps[parts[0]];
  for (let i = 1; node && i < parts.length; i++) {
    if (Array.isArray(node.branches) && node.branches.length > 0 && node.kind === "if")
      node = node.branches[parts[i]];
    else if ("condition" in node && Array.isArray(node.steps)) node = node.steps[parts[i]];
    else if (Array.isArray(node.children)) node = node.children[parts[i]];
    else return null;
  }
  return node ?? null;
}

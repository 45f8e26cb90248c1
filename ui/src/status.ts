// Where a build is in its life, for deciding which of two views of it is the newer.

/** How far a status is along a build's life: waiting, pending, started, finished. */
function stage(status: string): number {
  const order = ["waiting_for_approval", "pending", "started"];
  const i = order.indexOf(status);
  return i < 0 ? order.length : i;
}

/** Whether an action's answer (`answer`) is news for a build shown as `shown`: a later stage,
 *  the same unfinished stage (its approvals may have grown), or a failed build marked warning. */
export function newerStatus(shown: string, answer: string): boolean {
  const done = stage("succeeded");
  if (stage(shown) < done) return stage(answer) >= stage(shown);
  return shown === "failed" && answer === "warning";
}

/** The fields of a resource that tell how recent a view of it is. */
export interface CheckState {
  checking: boolean;
  last_check_at: string | null;
}

/** Whether an action's answer is news for a resource shown as `shown`: not when it says a check
 *  is running and the page already saw a later check finish (the check ended before the
 *  answer to "Check now" arrived). */
export function newerResource(shown: CheckState, answer: CheckState): boolean {
  return !(answer.checking && !shown.checking && (shown.last_check_at ?? "") > (answer.last_check_at ?? ""));
}

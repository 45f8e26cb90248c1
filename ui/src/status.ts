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

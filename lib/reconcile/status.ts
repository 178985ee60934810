import { Condition, FlinkDeploymentStatus } from "../api/status";

/** The reference operator's lifecycle, derived from status in its order of precedence. */
export function lifecycleState(status: FlinkDeploymentStatus, lastSpecSuspended: boolean, lastStable: boolean): NonNullable<FlinkDeploymentStatus["lifecycleState"]> {
  const rs = status.reconciliationStatus;
  if (!rs?.lastReconciledSpec) return status.error ? "FAILED" : "CREATED";
  if (rs.state === "UPGRADING") return "UPGRADING";
  if (rs.state === "ROLLING_BACK") return "ROLLING_BACK";
  if (lastSpecSuspended) return "SUSPENDED";
  if (status.jobStatus?.state === "FAILED") return "FAILED";
  if (status.jobManagerDeploymentStatus === "ERROR" || status.jobManagerDeploymentStatus === "MISSING") {
    if (status.error && /manual restore required|HA metadata not available/i.test(status.error)) return "FAILED";
  }
  if (rs.state === "ROLLED_BACK") return "ROLLED_BACK";
  return lastStable ? "STABLE" : "DEPLOYED";
}

/**
 * Sets a condition, keeping lastTransitionTime when the status does not change, so "since when" stays true.
 * Returns the new list; the input is not modified.
 */
export function setCondition(conditions: Condition[] | undefined, next: Omit<Condition, "lastTransitionTime">, now: Date): Condition[] {
  const list = conditions ?? [];
  const prev = list.find(c => c.type === next.type);
  const lastTransitionTime = prev && prev.status === next.status ? prev.lastTransitionTime : now.toISOString();
  return [...list.filter(c => c.type !== next.type), { ...next, lastTransitionTime }];
}

import { Condition, FlinkDeploymentStatus } from "../api/status";

/** The reference operator's lifecycle, derived from status in its order of precedence. */
export function lifecycleState(
  status: FlinkDeploymentStatus,
  lastSpecSuspended: boolean,
  lastStable: boolean,
): NonNullable<FlinkDeploymentStatus["lifecycleState"]> {
  const rs = status.reconciliationStatus;
  if (!rs?.lastReconciledSpec) return status.error ? "FAILED" : "CREATED";
  if (rs.state === "UPGRADING") return "UPGRADING";
  if (rs.state === "ROLLING_BACK") return "ROLLING_BACK";
  if (lastSpecSuspended) return "SUSPENDED";
  if (status.jobStatus?.state === "FAILED") return "FAILED";
  if (
    status.jobManagerDeploymentStatus === "ERROR" ||
    status.jobManagerDeploymentStatus === "MISSING"
  ) {
    if (status.error && /manual restore required|HA metadata not available/i.test(status.error))
      return "FAILED";
  }
  if (rs.state === "ROLLED_BACK") return "ROLLED_BACK";
  return lastStable ? "STABLE" : "DEPLOYED";
}

/**
 * Sets a condition, keeping lastTransitionTime when the status does not change, so "since when" stays true.
 * Returns the new list; the input is not modified.
 */
export function setCondition(
  conditions: Condition[] | undefined,
  next: Omit<Condition, "lastTransitionTime">,
  now: Date,
): Condition[] {
  const list = conditions ?? [];
  const prev = list.find(c => c.type === next.type);
  const lastTransitionTime =
    prev && prev.status === next.status ? prev.lastTransitionTime : now.toISOString();
  return [...list.filter(c => c.type !== next.type), { ...next, lastTransitionTime }];
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === "object" && !Array.isArray(v);

/**
 * The JSON merge patch (RFC 7386) that turns `before` into `after`. A field left out of a merge patch is kept,
 * so a field that went away (an error that was fixed, say) must be sent as null. Lists are replaced whole.
 */
export function mergePatch(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const [b, a] = [before[key], after[key]];
    if (a === undefined) {
      if (b !== undefined) patch[key] = null;
    } else if (isPlainObject(a) && isPlainObject(b)) {
      const nested = mergePatch(b, a);
      if (Object.keys(nested).length) patch[key] = nested;
    } else if (JSON.stringify(a) !== JSON.stringify(b)) {
      patch[key] = a;
    }
  }
  return patch;
}

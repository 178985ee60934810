import { parseReconciledSpec } from "../api/reconciled-spec";
import { FlinkDeploymentSpec } from "../api/spec";
import { Condition, FlinkDeploymentStatus, Operation } from "../api/status";
import { isStable, rolledBackMessage } from "./rollback";

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

/** Why a FlinkDeployment is blocked: what the Ready condition then says. */
export interface Blocked {
  reason: string;
  message: string;
}

export const STEP_TEXT: Record<Operation["step"], string> = {
  "session-jobs": "stopping the session's jobs in their upgrade modes",
  savepoint: "stopping the job with a savepoint",
  "stop-cluster": "deleting the cluster's workloads and waiting for its pods to go",
  "clear-ha": "clearing Flink's HA data",
  cancel: "cancelling the job and waiting for it to end",
};

function operationReadiness(op: Operation): Blocked {
  return {
    reason:
      op.kind === "suspend" ? "Suspending" : op.kind === "rollback" ? "RollingBack" : "Upgrading",
    message: `${op.kind} of job ${op.jobId ?? "(none)"} (${op.upgradeMode}): ${STEP_TEXT[op.step]}${op.restorePath ? `; state kept in ${op.restorePath}` : ""}`,
  };
}

/** The Ready condition's reason and message; `observed`: why the JobManager is not ready, as observed. */
function readiness(
  status: FlinkDeploymentStatus,
  blocked: Blocked | undefined,
  ready: boolean,
  observed: string | undefined,
) {
  const rs = status.reconciliationStatus;
  if (blocked) return blocked;
  if (rs?.operation) return operationReadiness(rs.operation);
  if (ready && rs?.state === "ROLLED_BACK")
    return { reason: "RolledBack", message: rolledBackMessage(status) };
  if (ready)
    return { reason: "Ready", message: "the JobManager is ready and runs the current spec" };
  if (!rs) return { reason: "Pending", message: "nothing deployed yet" };
  if (status.jobManagerDeploymentStatus === "ERROR")
    return { reason: "JobManagerError", message: observed ?? "the JobManager failed" };
  if (rs.state === "UPGRADING") return { reason: "Upgrading", message: "applying the new spec" };
  const reason =
    status.jobManagerDeploymentStatus === "MISSING" ? "JobManagerMissing" : "Deploying";
  return { reason, message: observed ?? "waiting for the JobManager" };
}

/** Conditions, lastStableSpec and lifecycleState from what the pass did and saw; `spec`: the target spec. */
export function finishStatus(
  status: FlinkDeploymentStatus,
  spec: FlinkDeploymentSpec | undefined,
  blocked: Blocked | undefined,
  observed: string | undefined,
  now: Date,
) {
  const rs = status.reconciliationStatus;
  const ready =
    !blocked &&
    status.jobManagerDeploymentStatus === "READY" &&
    (rs?.state === "DEPLOYED" || rs?.state === "ROLLED_BACK");
  const lastSpec = parseReconciledSpec<FlinkDeploymentSpec>(rs?.lastReconciledSpec)?.spec;
  const suspended = lastSpec?.job?.state === "suspended";
  // An application is stable only once its job runs (isStable), a session once its JobManager is ready. As the
  // reference has it, a suspended spec is stable once its stop is done, so no rollback goes back past a suspend.
  if (rs?.state === "DEPLOYED" && (suspended || (ready && isStable(spec, status))))
    rs.lastStableSpec = rs.lastReconciledSpec;
  const prev = status.conditions?.find(c => c.type === "Ready");
  const { reason, message: why } = readiness(status, blocked, ready, observed);
  // A fixed "since" rather than a running duration: status must not change between passes that saw nothing new.
  const stuck =
    !ready && prev?.status === "False" && prev.reason === reason && prev.lastTransitionTime;
  const message = stuck ? `${why} (since ${prev.lastTransitionTime})` : why;
  status.conditions = setCondition(
    status.conditions,
    {
      type: "Ready",
      status: ready ? "True" : "False",
      reason,
      message,
      observedGeneration: status.observedGeneration,
    },
    now,
  );
  const running = spec?.job ? status.jobStatus?.state === "RUNNING" : ready;
  const runningReason = spec?.job
    ? status.jobStatus?.state
      ? `Job${status.jobStatus.state}`
      : "JobStatusUnknown"
    : reason;
  status.conditions = setCondition(
    status.conditions,
    {
      type: "Running",
      status: running ? "True" : spec?.job && !status.jobStatus?.state ? "Unknown" : "False",
      reason: runningReason,
      message: spec?.job
        ? `job ${status.jobStatus?.jobId ?? ""} ${status.jobStatus?.state ?? "not observed yet"}`.trim()
        : message,
      observedGeneration: status.observedGeneration,
    },
    now,
  );
  status.lifecycleState = lifecycleState(
    status,
    suspended,
    !!rs?.lastStableSpec && rs.lastStableSpec === rs.lastReconciledSpec,
  );
}

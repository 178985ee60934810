import { parseReconciledSpec } from "../api/reconciled-spec";
import { FlinkDeploymentSpec } from "../api/spec";
import type { FlinkDeploymentStatus, Operation } from "../api/status";

/**
 * `kubernetes.operator.deployment.rollback.enabled`, as pure decisions: an upgrade that is not stable within
 * `deployment.readiness.timeout` of its deploy goes back to lastStableSpec. The stop that does it is an
 * operation like any other (operation.ts); its end deploys lastStableSpec (lifecycle.ts deployedSpec) and
 * leaves the resource ROLLED_BACK until the next spec change.
 */

/**
 * Stable as the reference has it: the JobManager is ready and the job, if any, runs, or finished on its own (a
 * bounded job; its JobManager stays up, execution.shutdown-on-application-finish is false).
 */
export const isStable = (spec: FlinkDeploymentSpec | undefined, status: FlinkDeploymentStatus) =>
  status.jobManagerDeploymentStatus === "READY" &&
  (!spec?.job || status.jobStatus?.state === "RUNNING" || status.jobStatus?.state === "FINISHED");

/** Why the deployed generation is to be rolled back now, or undefined. */
export function rollbackDue(input: {
  spec: FlinkDeploymentSpec;
  status: FlinkDeploymentStatus;
  enabled: boolean;
  timeoutMs: number;
  now: Date;
}): string | undefined {
  const { spec, status } = input;
  const rs = status.reconciliationStatus;
  if (!input.enabled || !rs || rs.operation || rs.state !== "DEPLOYED") return undefined;
  if (!rs.lastStableSpec || rs.lastStableSpec === rs.lastReconciledSpec) return undefined;
  const stable = parseReconciledSpec<FlinkDeploymentSpec>(rs.lastStableSpec);
  if (!stable || spec.job?.state === "suspended" || stable.spec.job?.state === "suspended")
    return undefined;
  if (isStable(spec, status)) return undefined;
  const since = rs.reconciliationTimestamp ?? input.now.getTime();
  if (input.now.getTime() - since <= input.timeoutMs) return undefined;
  const generation = parseReconciledSpec(rs.lastReconciledSpec)?.generation;
  const seen = spec.job
    ? `JobManager ${status.jobManagerDeploymentStatus ?? "not seen"}, job ${status.jobStatus?.state ?? "not seen"}`
    : `JobManager ${status.jobManagerDeploymentStatus ?? "not seen"}`;
  return `generation ${generation} is not stable ${Math.round(input.timeoutMs / 1000)} s after its deploy (kubernetes.operator.deployment.readiness.timeout; ${seen}${status.error ? `: ${status.error}` : ""}); rolling back to generation ${stable.generation}`;
}

/**
 * The stop of the unstable cluster. No savepoint can be taken from a job that does not run, so its state is
 * taken from Flink's HA metadata when a checkpoint is recorded there; otherwise (rollback needs HA, and HA
 * records every completed checkpoint) the new job never completed one, and its state is still what its deploy
 * restored.
 */
export function rollbackOperation(
  spec: FlinkDeploymentSpec,
  status: FlinkDeploymentStatus,
  haCheckpoint: boolean,
  now: Date,
): Operation {
  const base = {
    kind: "rollback" as const,
    // A session cluster takes its session jobs along.
    step: spec.job ? ("stop-cluster" as const) : ("session-jobs" as const),
    jobId: status.jobStatus?.jobId,
    startedAt: now.getTime(),
  };
  if (!spec.job || (spec.job.upgradeMode ?? "stateless") === "stateless")
    return { ...base, upgradeMode: "stateless" };
  if (haCheckpoint) return { ...base, upgradeMode: "last-state" };
  const restore = status.reconciliationStatus?.restore;
  if (!restore?.path || restore.upgradeMode === "stateless")
    return {
      ...base,
      upgradeMode: restore?.upgradeMode === "last-state" ? "last-state" : "stateless",
    };
  return { ...base, upgradeMode: "savepoint", restorePath: restore.path };
}

/** What the Ready condition says of a rolled-back resource. */
export function rolledBackMessage(status: FlinkDeploymentStatus): string {
  const rs = status.reconciliationStatus;
  const failed = parseReconciledSpec(rs?.lastReconciledSpec)?.generation;
  const stable = parseReconciledSpec(rs?.lastStableSpec)?.generation;
  return `rolled back to generation ${stable}: generation ${failed} did not become stable; change the spec to try again`;
}

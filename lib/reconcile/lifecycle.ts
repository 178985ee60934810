import { randomBytes } from "node:crypto";
import type { KubernetesObject } from "@kubernetes/client-node";
import {
  parseReconciledSpec,
  serializeReconciledSpec,
  type ReconciledSpec,
} from "../api/reconciled-spec";
import type { FlinkDeploymentSpec, JobSpec } from "../api/spec";
import type {
  FlinkDeploymentStatus,
  JobStatus,
  Operation,
  Restore,
  Savepoint,
} from "../api/status";
import { classifySpecChange, type SpecChange } from "./changes";

/**
 * The job lifecycle's decisions, as pure functions of the last reconciled spec, the new spec and what was
 * observed. The reconciler (deployment.ts, operation.ts) carries them out one step at a time, writing each to
 * status before it runs.
 */

export const newJobId = () => randomBytes(16).toString("hex");

type UpgradeMode = Operation["upgradeMode"];

const suspended = (s: FlinkDeploymentSpec | undefined) => s?.job?.state === "suspended";

/** A rollback is under way or done: the cluster runs (or is to run) lastStableSpec, not lastReconciledSpec. */
export const rolledBack = (status: FlinkDeploymentStatus) =>
  ["ROLLING_BACK", "ROLLED_BACK"].includes(status.reconciliationStatus?.state ?? "") &&
  !!status.reconciliationStatus?.lastStableSpec;

const lastStable = (status: FlinkDeploymentStatus) =>
  parseReconciledSpec<FlinkDeploymentSpec>(status.reconciliationStatus?.lastStableSpec);

/** The spec the cluster is built from: the last reconciled one, or the last stable one after a rollback. */
export const deployedSpec = (status: FlinkDeploymentStatus) =>
  rolledBack(status)
    ? lastStable(status)
    : parseReconciledSpec<FlinkDeploymentSpec>(status.reconciliationStatus?.lastReconciledSpec);

/** The changes that stop the running cluster; the others are recorded or applied in place. */
const STOPS: readonly (SpecChange | "first")[] = ["redeploy", "savepoint-redeploy", "suspend"];

/**
 * How the running job is stopped: the new spec's upgrade mode, except that a new savepointRedeployNonce throws
 * the state away (the job starts from initialSavepointPath) and a Flink version change cannot resume from HA
 * metadata, so last-state becomes a savepoint there (as the reference does).
 */
export function stopMode(
  change: SpecChange | "first",
  last: FlinkDeploymentSpec,
  next: FlinkDeploymentSpec,
): UpgradeMode {
  if (!next.job || change === "savepoint-redeploy") return "stateless";
  const mode = next.job.upgradeMode ?? "stateless";
  if (mode === "last-state" && last.flinkVersion !== next.flinkVersion) return "savepoint";
  return mode;
}

/**
 * The first step of a stop of the running cluster: a session cluster first has its session jobs stop in their own
 * upgrade modes (they run in it, the session controller cannot see their state); a savepoint stop of an
 * application job takes the savepoint; else the cluster goes.
 */
export function firstClusterStep(
  upgradeMode: UpgradeMode,
  target: FlinkDeploymentSpec,
): Operation["step"] {
  if (!target.job) return "session-jobs";
  return upgradeMode === "savepoint" ? "savepoint" : "stop-cluster";
}

/** Where a job deployed now (not after a stop) starts: a first deploy, a resume, a savepoint redeploy. */
export function restoreForDeploy(
  change: SpecChange | "first",
  next: FlinkDeploymentSpec,
  status: FlinkDeploymentStatus,
): Restore {
  const initial = next.job?.initialSavepointPath;
  if ((change === "first" || change === "savepoint-redeploy") && initial)
    return { upgradeMode: "initial", path: initial };
  if (change === "resume")
    return status.reconciliationStatus?.restore ?? { upgradeMode: "stateless" };
  return { upgradeMode: "stateless" };
}

export interface Accepted {
  change: SpecChange | "first";
  status: FlinkDeploymentStatus;
  /** What the new target means, for the Event. */
  message: string;
}

/**
 * Takes a new spec generation as the target: lastReconciledSpec, and when the running cluster must stop, the
 * operation that stops it. Returns undefined when there is nothing to record. An operation in progress carries
 * on (its stop does not depend on the target); only its end applies the new target.
 */
export function acceptGeneration(
  last: ReconciledSpec<FlinkDeploymentSpec> | undefined,
  spec: FlinkDeploymentSpec,
  generation: number,
  before: FlinkDeploymentStatus,
  now: Date,
): Accepted | undefined {
  if (last && last.generation === generation) return undefined;
  // After a rollback the cluster runs the last stable spec: a new generation is compared with that one.
  const deployed = rolledBack(before) ? (lastStable(before) ?? last) : last;
  const change: SpecChange | "first" = deployed ? classifySpecChange(deployed.spec, spec) : "first";
  if (change === "none" && !rolledBack(before)) return undefined;
  const status = structuredClone(before);
  const rs = { ...status.reconciliationStatus };
  status.reconciliationStatus = rs;
  rs.lastReconciledSpec = serializeReconciledSpec({ spec, generation, firstDeployment: !last });
  rs.reconciliationTimestamp = now.getTime();
  const busy = !!rs.operation;
  if (change === "none" || change === "ignore") {
    if (!busy && rs.state !== "UPGRADING") rs.state = "DEPLOYED";
    return { change, status, message: `generation ${generation}: nothing to restart` };
  }
  rs.state = "UPGRADING";
  // Nothing runs before a first deploy or while suspended: the target is deployed as it is, no stop needed.
  if (!deployed || (suspended(deployed.spec) && !busy)) {
    if (!last && spec.job) status.jobStatus = withNonceBaseline(status.jobStatus, spec.job);
    if (suspended(spec)) {
      rs.state = "DEPLOYED";
      status.jobStatus = { ...status.jobStatus, state: "SUSPENDED" };
      return { change, status, message: `generation ${generation}: suspended, nothing deployed` };
    }
    const restore = restoreForDeploy(change, spec, status);
    deployJob(status, spec, restore);
    return {
      change,
      status,
      message: `${last ? "resuming" : "deploying"} generation ${generation}${spec.job ? ` from ${describeRestore(restore)}` : ""}`,
    };
  }
  if (STOPS.includes(change) && !busy) {
    const upgradeMode = stopMode(change, deployed.spec, spec);
    rs.operation = {
      kind: change === "suspend" ? "suspend" : change === "redeploy" ? "upgrade" : "redeploy",
      upgradeMode,
      step: firstClusterStep(upgradeMode, spec),
      jobId: status.jobStatus?.jobId,
      startedAt: now.getTime(),
    };
  }
  return {
    change,
    status,
    message: rs.operation
      ? `generation ${generation}: ${rs.operation.kind}, ${rs.operation.upgradeMode} stop of the running cluster`
      : `generation ${generation}: ${change}`,
  };
}

/**
 * Sets up the deploy of `spec`'s job from `restore`: a new job id, except that last-state keeps the stopped
 * job's id (Flink's HA metadata is kept per job id).
 */
function deployJob(status: FlinkDeploymentStatus, spec: FlinkDeploymentSpec, restore: Restore) {
  status.reconciliationStatus = { ...status.reconciliationStatus, restore };
  if (!spec.job) return;
  const keep = restore.upgradeMode === "last-state" && status.jobStatus?.jobId;
  status.jobStatus = {
    ...status.jobStatus,
    jobId: keep ? status.jobStatus!.jobId : newJobId(),
    state: undefined,
    startTime: undefined,
    updateTime: undefined,
  };
}

/**
 * The end of a stop: the target is deployed from what the stop kept, or, suspended, the kept state waits for
 * the resume.
 */
export function finishOperation(
  status: FlinkDeploymentStatus,
  target: FlinkDeploymentSpec,
  now: Date,
) {
  const op = status.reconciliationStatus!.operation!;
  // The readiness timeout of a rollback counts from the deploy, not from when the spec was accepted.
  status.reconciliationStatus!.reconciliationTimestamp = now.getTime();
  const restore: Restore =
    op.kind === "redeploy"
      ? restoreForDeploy("savepoint-redeploy", target, status)
      : op.upgradeMode === "stateless"
        ? { upgradeMode: "stateless" }
        : op.upgradeMode === "savepoint"
          ? { upgradeMode: "savepoint", path: op.restorePath }
          : { upgradeMode: "last-state" };
  delete status.reconciliationStatus!.operation;
  if (suspended(target)) {
    status.reconciliationStatus = { ...status.reconciliationStatus, restore, state: "DEPLOYED" };
    status.jobStatus = { ...status.jobStatus, state: "SUSPENDED" };
  } else {
    deployJob(status, target, restore);
  }
}

/**
 * A restart of the running job: stopped and started again the way its upgrade mode keeps state. A job that
 * cannot be stopped with a savepoint falls back on its HA metadata or latest checkpoint (savepointFallback).
 */
export function restartOperation(
  spec: FlinkDeploymentSpec,
  status: FlinkDeploymentStatus,
  now: Date,
): Operation | undefined {
  if (!spec.job || status.reconciliationStatus?.operation || spec.job.state === "suspended")
    return undefined;
  const upgradeMode = spec.job.upgradeMode ?? "stateless";
  return {
    kind: "restart",
    upgradeMode,
    step: firstClusterStep(upgradeMode, spec),
    jobId: status.jobStatus?.jobId,
    startedAt: now.getTime(),
  };
}

/** `kubernetes.operator.job.restart.failed`: a FAILED job is restarted. */
export function failedJobRestart(
  spec: FlinkDeploymentSpec,
  status: FlinkDeploymentStatus,
  restartFailed: boolean,
  now: Date,
): Operation | undefined {
  if (!restartFailed || status.jobStatus?.state !== "FAILED") return undefined;
  return restartOperation(spec, status, now);
}

/** Why a savepoint cannot be taken now, and what is done instead. */
export type SavepointFallback =
  | { to: "last-state"; why: string }
  | { to: "restore-again"; why: string }
  | { to: "checkpoint"; path: string; why: string }
  | { blocked: string };

/**
 * When the job is not running, no savepoint can be taken. Its state is then still reachable: through the HA
 * metadata (last-state, when allowed), through its latest completed checkpoint as Flink reports it, or, for a
 * job never seen since it was deployed, through what that deploy restored. Otherwise the upgrade waits.
 */
export function savepointFallback(input: {
  why: string;
  job: JobStatus | undefined;
  ha: boolean;
  lastStateFallback: boolean;
  latestCheckpoint?: string;
  restore: Restore | undefined;
}): SavepointFallback {
  if (input.ha && input.lastStateFallback)
    return { to: "last-state", why: `${input.why}; falling back to last-state (HA metadata)` };
  if (input.latestCheckpoint)
    return {
      to: "checkpoint",
      path: input.latestCheckpoint,
      why: `${input.why}; restoring from its latest completed checkpoint ${input.latestCheckpoint}`,
    };
  if (!input.job?.state)
    return {
      to: "restore-again",
      why: `${input.why}; the job was never seen running since its deploy, so it restarts from what that deploy restored (${describeRestore(input.restore)})`,
    };
  return {
    blocked: `${input.why}; no savepoint can be taken and no checkpoint or HA metadata holds its state, so the running cluster is kept (set job.upgradeMode to stateless to start empty)`,
  };
}

export function describeRestore(restore: Restore | undefined): string {
  if (!restore || restore.upgradeMode === "stateless") return "empty state";
  if (restore.upgradeMode === "last-state") return "HA metadata";
  return restore.path ?? "empty state";
}

/** Flink's HA ConfigMap keys that point at a completed checkpoint. */
export const hasHaCheckpoint = (configMaps: KubernetesObject[]) =>
  configMaps.some(cm =>
    Object.keys((cm as { data?: Record<string, string> }).data ?? {}).some(k =>
      k.startsWith("checkpointID-"),
    ),
  );

/**
 * The keys a last-state upgrade removes from Flink's HA ConfigMaps: the stored job graph (1.x `jobGraph-`,
 * 2.x `executionPlan-`), so the new JobManager submits the new spec's job under the same id and restores the
 * checkpoints the HA metadata still points at.
 */
export function haJobGraphKeys(configMap: KubernetesObject): string[] {
  return Object.keys((configMap as { data?: Record<string, string> }).data ?? {}).filter(
    k => k.startsWith("jobGraph-") || k.startsWith("executionPlan-"),
  );
}

/**
 * The nonces a resource is created with are the baseline, recorded as the ones last acted upon: only a change of
 * them triggers a snapshot (snapshots.ts), whether the resource starts running or suspended.
 */
export function withNonceBaseline(
  jobStatus: JobStatus | undefined,
  job: Pick<JobSpec, "savepointTriggerNonce" | "checkpointTriggerNonce">,
): JobStatus | undefined {
  const { savepointTriggerNonce: savepoint, checkpointTriggerNonce: checkpoint } = job;
  if (savepoint === undefined && checkpoint === undefined) return jobStatus;
  return {
    ...jobStatus,
    savepointInfo: { ...jobStatus?.savepointInfo, triggerNonce: savepoint },
    checkpointInfo: { ...jobStatus?.checkpointInfo, triggerNonce: checkpoint },
  };
}

/** Appends a savepoint to the history, keeping the newest `maxCount` no older than `maxAgeMs`. */
export function recordSavepoint(
  info: JobStatus["savepointInfo"],
  savepoint: Savepoint,
  limits: { maxCount: number; maxAgeMs: number; now: number },
): NonNullable<JobStatus["savepointInfo"]> {
  const history = [...(info?.savepointHistory ?? []), savepoint]
    .filter(s => s.timeStamp === undefined || limits.now - s.timeStamp <= limits.maxAgeMs)
    .slice(-Math.max(1, limits.maxCount));
  return {
    ...info,
    lastSavepoint: savepoint,
    savepointHistory: history,
    triggerId: undefined,
    triggerTimestamp: undefined,
    triggerType: undefined,
    formatType: undefined,
  };
}

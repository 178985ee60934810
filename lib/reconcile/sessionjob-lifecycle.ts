import { serializeReconciledSpec, type ReconciledSpec } from "../api/reconciled-spec";
import type { FlinkDeploymentSpec, FlinkSessionJobSpec } from "../api/spec";
import type { FlinkSessionJobStatus, JobStatus, Operation, Restore } from "../api/status";
import { isTerminalState, type CheckpointingStatistics, type JobOverview } from "../flink/schemas";
import { classifySpecChange, type SpecChange } from "./changes";
import { describeRestore, newJobId, restoreForDeploy, withNonceBaseline } from "./lifecycle";

/**
 * A session job's lifecycle decisions, as pure functions of the last reconciled spec, the new one and what was
 * observed. A session job shares the session's cluster, so stopping it never touches the cluster: a stop is a
 * stop-with-savepoint or a cancel of the job alone, and every (re)submission runs under a new job id, chosen and
 * recorded before Flink is asked to run it.
 */

/** The job fields, flinkConfiguration and restartNonce: what classifySpecChange compares, as for an application. */
const asSpec = (s: FlinkSessionJobSpec) => s as FlinkDeploymentSpec;
const suspended = (s: FlinkSessionJobSpec | undefined) => s?.job?.state === "suspended";

/** The changes that stop the running job; the others are only recorded. */
const STOPS: readonly SpecChange[] = ["redeploy", "savepoint-redeploy", "suspend"];

/**
 * How a session job is stopped: its upgrade mode, except that a new savepointRedeployNonce throws the state away.
 * last-state keeps the state with a savepoint too: Flink's HA metadata belongs to the session cluster, and a
 * checkpoint of a cancelled job is deleted unless the job retains it on cancellation.
 */
export function sessionStopMode(
  change: SpecChange,
  next: FlinkSessionJobSpec,
): Operation["upgradeMode"] {
  if (change === "savepoint-redeploy") return "stateless";
  const mode = next.job?.upgradeMode ?? "stateless";
  return mode === "last-state" ? "savepoint" : mode;
}

/**
 * jobStatus.state of a job whose run may have been asked for and that was not observed yet (as the reference
 * operator marks a job it just submitted): a job with the recorded id may exist in the session.
 */
export const SUBMITTING = "RECONCILING";

/** The first step of a stop in `mode`. */
export const firstStep = (mode: Operation["upgradeMode"]): Operation["step"] =>
  mode === "stateless" ? "cancel" : "savepoint";

/**
 * Sets up a submission of the target from `restore`: a new job id, recorded before anything runs, so a restarted
 * operator looks for that job instead of starting a second one. Reconciliation state UPGRADING means "not yet
 * submitted".
 */
export function prepareSubmission(status: FlinkSessionJobStatus, restore: Restore): void {
  status.reconciliationStatus = { ...status.reconciliationStatus, restore, state: "UPGRADING" };
  status.jobStatus = {
    ...status.jobStatus,
    jobId: newJobId(),
    state: undefined,
    startTime: undefined,
    updateTime: undefined,
    checkpointInfo: status.jobStatus?.checkpointInfo && {
      ...status.jobStatus.checkpointInfo,
      latestCompletedPath: undefined,
    },
  };
}

export interface SessionAccepted {
  change: SpecChange | "first";
  status: FlinkSessionJobStatus;
  message: string;
}

/**
 * Takes a new spec generation as the target: lastReconciledSpec and, when the running job must stop, the
 * operation that stops it; on a first deploy or a resume, the submission. Undefined when there is nothing to
 * record. An operation in progress carries on; its end submits the newest target.
 */
export function acceptSessionJobGeneration(
  last: ReconciledSpec<FlinkSessionJobSpec> | undefined,
  spec: FlinkSessionJobSpec,
  generation: number,
  before: FlinkSessionJobStatus,
  now: Date,
): SessionAccepted | undefined {
  const change: SpecChange | "first" = last
    ? classifySpecChange(asSpec(last.spec), asSpec(spec))
    : "first";
  if (change === "none" || (last && last.generation === generation)) return undefined;
  const status = structuredClone(before);
  const rs = { ...status.reconciliationStatus };
  status.reconciliationStatus = rs;
  rs.lastReconciledSpec = serializeReconciledSpec({ spec, generation, firstDeployment: !last });
  rs.reconciliationTimestamp = now.getTime();
  const busy = !!rs.operation;
  if (change === "ignore" || change === "in-place") {
    if (!busy && rs.state !== "UPGRADING") rs.state = "DEPLOYED";
    return { change, status, message: `generation ${generation}: nothing to restart` };
  }
  // A target whose run was never asked for (its jar could not be fetched, say) has nothing to stop.
  const neverRun = !busy && rs.state === "UPGRADING" && status.jobStatus?.state !== SUBMITTING;
  if (!last || (suspended(last.spec) && !busy) || neverRun) {
    if (!last && spec.job) status.jobStatus = withNonceBaseline(status.jobStatus, spec.job);
    if (suspended(spec)) {
      rs.state = "DEPLOYED";
      status.jobStatus = { ...status.jobStatus, state: "SUSPENDED" };
      return { change, status, message: `generation ${generation}: suspended, nothing submitted` };
    }
    const restore =
      neverRun && change !== "savepoint-redeploy" && change !== "resume"
        ? (rs.restore ?? { upgradeMode: "stateless" })
        : restoreForDeploy(change, asSpec(spec), status);
    prepareSubmission(status, restore);
    return {
      change,
      status,
      message: `${last ? "resuming" : "submitting"} generation ${generation} as job ${status.jobStatus!.jobId} from ${describeRestore(restore)}`,
    };
  }
  rs.state = "UPGRADING";
  if (change !== "first" && STOPS.includes(change) && !busy) {
    const upgradeMode = sessionStopMode(change, spec);
    rs.operation = {
      kind: change === "suspend" ? "suspend" : change === "redeploy" ? "upgrade" : "redeploy",
      upgradeMode,
      step: firstStep(upgradeMode),
      jobId: status.jobStatus?.jobId,
      startedAt: now.getTime(),
    };
  }
  return {
    change,
    status,
    message: rs.operation
      ? `generation ${generation}: ${rs.operation.kind}, ${rs.operation.upgradeMode} stop of job ${rs.operation.jobId ?? "(none)"}`
      : `generation ${generation}: ${change}`,
  };
}

/**
 * The end of a stop: the target is submitted from what the stop kept, or, suspended, the kept state waits for
 * the resume. A deletion's stop ends with nothing to submit.
 */
export function finishSessionOperation(
  status: FlinkSessionJobStatus,
  target: FlinkSessionJobSpec,
): void {
  const op = status.reconciliationStatus!.operation!;
  delete status.reconciliationStatus!.operation;
  if (op.kind === "delete") return;
  const restore: Restore =
    op.kind === "redeploy"
      ? restoreForDeploy("savepoint-redeploy", asSpec(target), status)
      : op.upgradeMode === "stateless"
        ? { upgradeMode: "stateless" }
        : { upgradeMode: "savepoint", path: op.restorePath };
  if (suspended(target)) {
    status.reconciliationStatus = { ...status.reconciliationStatus, restore, state: "DEPLOYED" };
    status.jobStatus = { ...status.jobStatus, state: "SUSPENDED" };
  } else {
    prepareSubmission(status, restore);
  }
}

/** The session job's own job among a session's jobs: by its id only (a session runs other jobs too). */
export function observedJob(
  jobs: JobOverview[],
  jobId: string | undefined,
): Pick<JobStatus, "jobId" | "jobName" | "state" | "startTime" | "updateTime"> | undefined {
  const job = jobId ? jobs.find(j => j.jid === jobId) : undefined;
  if (!job) return undefined;
  return {
    jobId: job.jid,
    jobName: job.name,
    state: job.state as JobStatus["state"],
    startTime: String(job["start-time"]),
    updateTime: String(job["last-modification"] ?? job["start-time"]),
  };
}

/** The latest completed checkpoint's path from Flink's statistics, when there is one. */
export const latestCheckpointPath = (stats: CheckpointingStatistics): string | undefined =>
  stats.latest.completed?.external_path ?? undefined;

/**
 * Where a job that the session lost (its JobManager restarted without HA) starts again from: its latest
 * checkpoint as observed (the job's own: a submission forgets the previous job's), else what it started from.
 */
export function lostJobRestore(status: FlinkSessionJobStatus): Restore {
  const checkpoint = status.jobStatus?.checkpointInfo?.latestCompletedPath;
  if (checkpoint) return { upgradeMode: "savepoint", path: checkpoint };
  return status.reconciliationStatus?.restore ?? { upgradeMode: "stateless" };
}

/**
 * What to do about a job the session does not know: a session with HA recovers its jobs itself (wait); without
 * HA a job missing for longer than the grace period was lost with its JobManager and is submitted again.
 */
export function lostJobAction(input: {
  sessionHa: boolean;
  missingForMs: number;
  graceMs: number;
}): "wait" | "resubmit" {
  if (input.sessionHa) return "wait";
  return input.missingForMs >= input.graceMs ? "resubmit" : "wait";
}

/**
 * Whether a session job's job may run in its session, as its status says: `running` (or its run was asked for),
 * `stopping` (an operation of its own is under way), `idle` (nothing runs: never submitted, prepared for a
 * submission, suspended, or ended).
 */
export function sessionJobActivity(
  status: FlinkSessionJobStatus | undefined,
): "idle" | "stopping" | "running" {
  const rs = status?.reconciliationStatus;
  const job = status?.jobStatus;
  if (!rs?.lastReconciledSpec) return "idle";
  if (rs.operation) return "stopping";
  if (!job?.jobId || (rs.state === "UPGRADING" && job.state !== SUBMITTING)) return "idle";
  if (job.state === "SUSPENDED" || (job.state && isTerminalState(job.state))) return "idle";
  return "running";
}

/**
 * A session job's part in its session cluster's stop: its running job is stopped in its own upgrade mode (as its
 * own upgrade would stop it) and, once the stop is over, submitted again from what it kept. The status to write
 * before anything acts, or undefined when there is nothing to stop or a stop is already under way.
 */
export function sessionUpgradeStop(
  before: FlinkSessionJobStatus,
  target: FlinkSessionJobSpec,
  now: Date,
): FlinkSessionJobStatus | undefined {
  if (sessionJobActivity(before) !== "running") return undefined;
  const status = structuredClone(before);
  const upgradeMode = sessionStopMode("redeploy", target);
  status.reconciliationStatus = {
    ...status.reconciliationStatus,
    state: "UPGRADING",
    operation: {
      kind: "session-upgrade",
      upgradeMode,
      step: firstStep(upgradeMode),
      jobId: status.jobStatus?.jobId,
      startedAt: now.getTime(),
    },
  };
  return status;
}

/** A session job as its session's stop sees it. */
export interface SessionJobView {
  name: string;
  status?: FlinkSessionJobStatus;
}

export type SessionJobsWait =
  | { go: true; abandoned?: string }
  | { go: false; waitingFor: string[]; message: string };

/**
 * The session cluster's `session-jobs` step: it waits while any of its session jobs may still run, at most
 * `timeoutMs` after the operation started; then the cluster stops anyway and says which jobs it left running.
 */
export function sessionJobsWait(
  jobs: SessionJobView[],
  startedAt: number,
  now: number,
  timeoutMs: number,
): SessionJobsWait {
  const waiting = jobs.flatMap(j => {
    const activity = sessionJobActivity(j.status);
    if (activity === "idle") return [];
    const step = j.status?.reconciliationStatus?.operation?.step;
    return [`${j.name} (${activity === "stopping" ? `${step}` : "not stopping yet"})`];
  });
  if (!waiting.length) return { go: true };
  const limit = `kubernetes.operator.session.upgrade.session-jobs.timeout, ${Math.round(timeoutMs / 1000)} s`;
  if (now - startedAt >= timeoutMs)
    return {
      go: true,
      abandoned: `session jobs did not stop within ${limit}: ${waiting.join(", ")}; the session cluster stops anyway, and they are submitted again as lost jobs once it is back`,
    };
  return {
    go: false,
    waitingFor: waiting,
    message: `waiting for session jobs to stop in their upgrade modes before the session cluster stops: ${waiting.join(", ")} (at most until ${new Date(startedAt + timeoutMs).toISOString()}, ${limit})`,
  };
}

/** Flink's words, 1.x and 2.x, for a restore path that does not exist. */
const MISSING_RESTORE_PATH = /Cannot find checkpoint or savepoint/;

export type RestoreFallback = { resubmit: Restore; why: string } | { blocked: string };

/**
 * A job that failed because the checkpoint or savepoint the operator chose for it no longer exists (a lost job's
 * latest checkpoint subsumed or deleted since it was observed): submitted again from the savepoint on record, else
 * with empty state only when its upgrade mode is stateless; otherwise it waits, and status says why. Undefined
 * when the failure is another one, or the path was the user's (initialSavepointPath).
 */
export function missingRestoreFallback(
  status: FlinkSessionJobStatus,
  target: FlinkSessionJobSpec,
  failure: string,
): RestoreFallback | undefined {
  const restore = status.reconciliationStatus?.restore;
  if (restore?.upgradeMode !== "savepoint" || !restore.path) return undefined;
  if (!MISSING_RESTORE_PATH.test(failure)) return undefined;
  const why = `job ${status.jobStatus?.jobId} cannot start from ${restore.path}: Flink does not find it (subsumed or deleted since it was recorded?)`;
  const savepoint =
    status.jobStatus?.savepointInfo?.lastSavepoint?.location ??
    status.jobStatus?.upgradeSavepointPath;
  if (savepoint && savepoint !== restore.path)
    return {
      resubmit: { upgradeMode: "savepoint", path: savepoint },
      why: `${why}; submitting it again from the savepoint on record, ${savepoint}`,
    };
  const mode = target.job?.upgradeMode ?? "stateless";
  if (mode === "stateless")
    return {
      resubmit: { upgradeMode: "stateless" },
      why: `${why}; no other savepoint is on record and its upgradeMode is stateless: submitting it again with empty state`,
    };
  return {
    blocked: `${why}, and no other savepoint is on record; with upgradeMode ${mode} it is not started with empty state (set upgradeMode to stateless for that, or initialSavepointPath with a new savepointRedeployNonce; keep checkpoints with execution.checkpointing.num-retained)`,
  };
}

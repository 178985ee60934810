import { parseReconciledSpec } from "../api/reconciled-spec";
import type { FlinkSessionJobSpec } from "../api/spec";
import type { FlinkSessionJobStatus } from "../api/status";
import { SUBMITTING } from "./sessionjob-lifecycle";
import { Blocked, STEP_TEXT, lifecycleState, setCondition } from "./status";

/** The Ready condition's reason and message for a session job. */
function readiness(
  status: FlinkSessionJobStatus,
  spec: FlinkSessionJobSpec | undefined,
  blocked: Blocked | undefined,
  ready: boolean,
) {
  const rs = status.reconciliationStatus;
  const job = status.jobStatus;
  if (blocked) return blocked;
  const op = rs?.operation;
  if (op)
    return {
      reason:
        op.kind === "suspend" ? "Suspending" : op.kind === "delete" ? "Deleting" : "Upgrading",
      message: `${op.kind === "session-upgrade" ? "the session cluster's upgrade: stop" : op.kind} of job ${op.jobId ?? "(none)"} (${op.upgradeMode}): ${STEP_TEXT[op.step]}${op.restorePath ? `; state kept in ${op.restorePath}` : ""}`,
    };
  if (spec?.job?.state === "suspended")
    return { reason: "Suspended", message: "the job is suspended: nothing runs" };
  if (ready) return { reason: "Ready", message: `job ${job?.jobId} runs the current spec` };
  if (!rs?.lastReconciledSpec) return { reason: "Pending", message: "nothing submitted yet" };
  if (rs.state === "UPGRADING")
    return {
      reason: "Submitting",
      message: `submitting job ${job?.jobId}${job?.state === SUBMITTING ? " (run requested)" : ""}`,
    };
  return {
    reason: job?.state ? `Job${job.state}` : "JobStatusUnknown",
    message: `job ${job?.jobId ?? ""} ${job?.state ?? "not observed yet"}`,
  };
}

/** Conditions, lastStableSpec and lifecycleState from what the pass did and saw; `spec`: the target spec. */
export function finishSessionJobStatus(
  status: FlinkSessionJobStatus,
  spec: FlinkSessionJobSpec | undefined,
  blocked: Blocked | undefined,
  now: Date,
) {
  const rs = status.reconciliationStatus;
  const suspended = spec?.job?.state === "suspended";
  const missing = blocked?.reason === "JobNotFound";
  const running = status.jobStatus?.state === "RUNNING" && !missing;
  const ready = !blocked && !rs?.operation && rs?.state === "DEPLOYED" && running;
  if (ready && rs) rs.lastStableSpec = rs.lastReconciledSpec;
  const prev = status.conditions?.find(c => c.type === "Ready");
  const { reason, message: why } = readiness(status, spec, blocked, ready);
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
  const state = status.jobStatus?.state;
  status.conditions = setCondition(
    status.conditions,
    {
      type: "Running",
      status: running ? "True" : state || missing || suspended ? "False" : "Unknown",
      reason: missing ? "JobNotFound" : state ? `Job${state}` : "JobStatusUnknown",
      message: missing
        ? blocked.message
        : `job ${status.jobStatus?.jobId ?? ""} ${state ?? "not observed yet"}`.trim(),
      observedGeneration: status.observedGeneration,
    },
    now,
  );
  const last = parseReconciledSpec<FlinkSessionJobSpec>(rs?.lastReconciledSpec)?.spec;
  status.lifecycleState = lifecycleState(
    status,
    last?.job?.state === "suspended",
    !!rs?.lastStableSpec && rs.lastStableSpec === rs.lastReconciledSpec,
  );
}

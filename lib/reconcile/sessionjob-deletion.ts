import { FlinkDeployment, FlinkSessionJob } from "../api/kinds";
import type { FlinkSessionJobStatus } from "../api/status";
import { FlinkRestClient } from "../flink/client";
import { resourceLog } from "../log";
import { OperatorSettings } from "../settings";
import { LAST_ATTEMPT_MS, deletionDeadline, within } from "./deletion";
import { errorText } from "./errors";
import * as kube from "./kube";
import { QueueResult, retryDelayMs } from "./queue";
import { firstStep, SUBMITTING } from "./sessionjob-lifecycle";
import { advanceSessionOperation } from "./sessionjob-operation";
import { Blocked, setCondition } from "./status";

export interface SessionJobDeletion {
  job: FlinkSessionJob;
  /** The session FlinkDeployment, or undefined when it is gone. */
  session: FlinkDeployment | undefined;
  settings: OperatorSettings;
  clock: () => Date;
  /** A client for the session's JobManager, or why there is none (the session is not ready). */
  client: () => Promise<{ client: FlinkRestClient } | { blocked: Blocked }>;
}

type Step = <T>(what: string, work: () => Promise<T>) => Promise<T>;

/**
 * Deletion of a session job: its job is stopped (cancelled, or stopped with a savepoint when
 * kubernetes.operator.job.savepoint-on-deletion), then the finalizer goes. Nothing to stop (never run, the
 * session or the namespace gone) releases it at once. Every call is bounded by resource.cleanup.timeout after
 * deletionTimestamp, as a FlinkDeployment's deletion is: failures before it are retried, at it the finalizer
 * is released with a CleanupFailed Event.
 */
export async function deleteSessionJob(d: SessionJobDeletion): Promise<QueueResult> {
  const { job, settings, clock } = d;
  const { namespace, name } = job.metadata as { namespace: string; name: string };
  if (!job.metadata?.finalizers?.includes(kube.SESSION_JOB_FINALIZER)) return {};
  const log = resourceLog("FlinkSessionJob", namespace, name);
  const start = clock();
  const deadline = deletionDeadline(job, settings);
  const budget = Math.max(deadline - start.getTime(), LAST_ATTEMPT_MS);
  const step: Step = (what, work) =>
    within(budget - (clock().getTime() - start.getTime()), what, work());
  try {
    const waiting = await stopJob(d, step, deadline);
    if (waiting) return waiting;
  } catch (e) {
    const now = clock().getTime();
    const elapsed = now - Date.parse(String(job.metadata?.deletionTimestamp));
    if (now < deadline) {
      const retryIn = retryDelayMs(
        elapsed,
        deadline - now,
        settings.durationMs("retry.initial.interval"),
        settings.durationMs("retry.max.interval"),
      );
      log.warn(
        "stopping the job failed; trying again, at the latest when resource.cleanup.timeout ends",
        {
          error: errorText(e),
          retryInMs: retryIn,
        },
      );
      return { requeueAfterMs: retryIn };
    }
    const message = `the job could not be stopped for ${Math.round(elapsed / 1000)}s (kubernetes.operator.resource.cleanup.timeout), releasing the finalizer; it may still run in the session cluster: ${errorText(e)}`;
    log.warn(message);
    await within(
      LAST_ATTEMPT_MS,
      "event",
      kube.recordEvent(job, "Warning", "CleanupFailed", message),
    ).catch(() => undefined);
  }
  await kube.setFinalizer(job, false, "FlinkSessionJob");
  log.info("session job deleted");
  return {};
}

/** Whether a job with the recorded id may run in the session: it was submitted, or its run may have been asked. */
function mayRun(status: FlinkSessionJobStatus): string | undefined {
  const rs = status.reconciliationStatus;
  const jobId = rs?.operation?.jobId ?? status.jobStatus?.jobId;
  if (!jobId || !rs) return undefined;
  if (!rs.operation && rs.state === "UPGRADING" && status.jobStatus?.state !== SUBMITTING)
    return undefined;
  return jobId;
}

/** The stop itself; returns a result while it has to wait, undefined when the finalizer may go. */
async function stopJob(
  d: SessionJobDeletion,
  step: Step,
  deadline: number,
): Promise<QueueResult | undefined> {
  const { job, settings, clock } = d;
  const { namespace, name } = job.metadata as { namespace: string; name: string };
  const log = resourceLog("FlinkSessionJob", namespace, name);
  const status: FlinkSessionJobStatus = structuredClone(job.status ?? {});
  const jobId = mayRun(status);
  const nothing = !jobId
    ? "no job was run"
    : !d.session
      ? "the session cluster is gone, and its jobs with it"
      : (await step("namespace lookup", () => kube.namespaceTerminating(namespace)))
        ? "the namespace is being deleted, the session cluster with it"
        : undefined;
  if (nothing) {
    log.info(`nothing to stop: ${nothing}`);
    return undefined;
  }
  const access = await step("session", d.client);
  if ("blocked" in access) throw new Error(access.blocked.message);
  const events: Array<[type: "Normal" | "Warning", reason: string, message: string]> = [];
  let written = job.status ?? {};
  const save = async () => {
    await step("status", () =>
      kube.patchSessionJobStatus({ ...job, status: written } as typeof job, status),
    );
    written = structuredClone(status);
  };
  const rs = status.reconciliationStatus!;
  if (rs.operation?.kind !== "delete") {
    const mode = settings.bool("job.savepoint-on-deletion") ? "savepoint" : "stateless";
    rs.operation = {
      kind: "delete",
      upgradeMode: mode,
      step: firstStep(mode),
      jobId: jobId!,
      startedAt: clock().getTime(),
    };
    const message = `stopping job ${jobId!} (${mode === "savepoint" ? "with a savepoint" : "cancel"}) before the finalizer goes`;
    status.lifecycleState = "DELETING";
    status.conditions = setCondition(
      status.conditions,
      { type: "Ready", status: "False", reason: "Deleting", message },
      clock(),
    );
    await save();
    events.push(["Normal", "Deleting", message]);
  }
  const result = await advanceSessionOperation({
    client: access.client,
    status,
    target: job.spec ?? {},
    settings,
    save,
    event: (...e) => events.push(e),
    now: clock,
  });
  for (const [type, reason, message] of events)
    await step("event", () => kube.recordEvent(job, type, reason, message));
  if (result.done) return undefined;
  if (result.blocked) throw new Error(result.blocked.message);
  const left = deadline - clock().getTime();
  if (left <= 0) throw new Error(`job ${jobId} did not stop in time`);
  return { requeueAfterMs: Math.min(result.waitMs, left) };
}

import type { FlinkDeploymentStatus } from "../api/status";
import type { FlinkRestClient } from "../flink/client";
import { FlinkJobNotFoundError, FlinkTriggerNotFoundError } from "../flink/errors";
import { savepointOutcome } from "../flink/operations";
import { OperatorSettings } from "../settings";
import { crashPoint } from "./crash-points";
import { retryDelayMs } from "./queue";
import { errorText } from "./errors";
import { newJobId, recordSavepoint } from "./lifecycle";

/** What one look at a stop-with-savepoint found. */
export type StopLook =
  | { state: "pending" }
  | { state: "waiting"; why: string }
  | { state: "done"; location: string }
  | { state: "failed"; why: string }
  | { state: "not-running"; why: string; jobState?: string }
  | { state: "unreachable"; why: string };

/**
 * One look at stopping `jobId` with a savepoint, resumable across passes and operator restarts: a pending trigger
 * (savepointInfo, type UPGRADE) is polled; otherwise, for a running job, a trigger id is chosen, written to
 * status (`save`) and only then sent. A completed savepoint is recorded (upgradeSavepointPath, lastSavepoint,
 * history) and saved before this returns. `drain` (a deletion's stop with job.drain-on-savepoint-deletion) has Flink
 * flush event-time windows before the job stops.
 */
export async function lookAtSavepointStop(
  client: FlinkRestClient,
  jobId: string,
  status: FlinkDeploymentStatus,
  settings: OperatorSettings,
  save: () => Promise<void>,
  now: () => number,
  drain = false,
): Promise<StopLook> {
  const info = status.jobStatus?.savepointInfo;
  if (info?.triggerId && info.triggerType === "UPGRADE") {
    try {
      const outcome = savepointOutcome(await client.savepointStatus(jobId, info.triggerId));
      if (outcome.state === "pending") return outcome;
      if (outcome.state === "done") {
        const at = now();
        status.jobStatus = {
          ...status.jobStatus,
          upgradeSavepointPath: outcome.location,
          savepointInfo: recordSavepoint(
            info,
            {
              location: outcome.location,
              timeStamp: at,
              triggerType: "UPGRADE",
              formatType: info.formatType,
            },
            {
              maxCount: settings.int("savepoint.history.max.count"),
              maxAgeMs: settings.durationMs("savepoint.history.max.age"),
              now: at,
            },
          ),
        };
        crashPoint("savepoint-completed");
        await save();
        return outcome;
      }
      status.jobStatus = {
        ...status.jobStatus,
        savepointInfo: {
          ...info,
          triggerId: undefined,
          triggerType: undefined,
          triggerTimestamp: undefined,
        },
      };
      await save();
      return {
        state: "failed",
        why: `stop-with-savepoint of job ${jobId} failed: ${outcome.summary}`,
      };
    } catch (e) {
      // A JobManager restarted since the trigger has forgotten it: trigger again under the same id.
      if (!(e instanceof FlinkTriggerNotFoundError)) return unreachable(e);
    }
  }
  let jobState: string;
  let vertices: { status: string }[];
  try {
    ({ state: jobState, vertices } = await client.job(jobId));
  } catch (e) {
    if (e instanceof FlinkJobNotFoundError)
      return { state: "not-running", why: `job ${jobId} is not known to the JobManager` };
    return unreachable(e);
  }
  if (jobState !== "RUNNING")
    return { state: "not-running", why: `job ${jobId} is ${jobState}`, jobState };
  // A job is RUNNING before all its tasks are (deploying, restoring state): Flink would abort the savepoint.
  const idle = vertices.filter(v => v.status !== "RUNNING").length;
  if (idle)
    return {
      state: "waiting",
      why: `${idle} of ${vertices.length} tasks of job ${jobId} are not running yet; the savepoint waits for them`,
    };
  const formatType = settings.string("savepoint.format.type") === "NATIVE" ? "NATIVE" : "CANONICAL";
  const triggerId = info?.triggerType === "UPGRADE" && info.triggerId ? info.triggerId : newJobId();
  status.jobStatus = {
    ...status.jobStatus,
    savepointInfo: {
      ...info,
      triggerId,
      triggerType: "UPGRADE",
      triggerTimestamp: now(),
      formatType,
    },
  };
  await save();
  try {
    await client.triggerStop(jobId, { triggerId, formatType, drain });
  } catch (e) {
    return unreachable(e);
  }
  crashPoint("savepoint-triggered");
  return { state: "pending" };
}

/**
 * When to try a failed stop-with-savepoint again: Flink fails a job over when one fails, so retries back off (as
 * long as the stop has taken so far, within retry.initial.interval and retry.max.interval) instead of failing the
 * job over every pass.
 */
export const savepointRetryMs = (settings: OperatorSettings, startedAt: number, now: number) =>
  retryDelayMs(
    now - startedAt,
    Infinity,
    settings.durationMs("retry.initial.interval"),
    settings.durationMs("retry.max.interval"),
  );

const unreachable = (e: unknown): StopLook => ({
  state: "unreachable",
  why: `cannot reach the JobManager: ${errorText(e)}`,
});

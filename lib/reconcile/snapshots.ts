import { parseFlinkDuration } from "../api/units";
import type { JobSpec } from "../api/spec";
import type { FlinkDeploymentStatus, JobStatus, Savepoint } from "../api/status";
import type { FlinkRestClient } from "../flink/client";
import { FlinkTriggerNotFoundError } from "../flink/errors";
import { savepointOutcome } from "../flink/operations";
import { OperatorSettings } from "../settings";
import { errorText } from "./errors";
import { newJobId, recordSavepoint } from "./lifecycle";

/**
 * Savepoints and checkpoints of a running job on demand (`savepointTriggerNonce`, `checkpointTriggerNonce`) and
 * on a schedule (`periodic.savepoint.interval`, `periodic.checkpoint.interval`), for an application's job and a
 * session job alike. A trigger's id is chosen and written to status before Flink is asked, so a restarted operator
 * polls the same trigger and never asks twice.
 */

/** What snapshots read of a resource's spec: its job's nonces (a FlinkDeployment's or a FlinkSessionJob's). */
export interface SnapshotSpec {
  job?: Pick<JobSpec, "savepointTriggerNonce" | "checkpointTriggerNonce">;
}

/** What snapshots read and write of a resource's status (a FlinkDeployment's or a FlinkSessionJob's). */
export type SnapshotStatus = Pick<FlinkDeploymentStatus, "jobStatus" | "reconciliationStatus">;

export type SnapshotKind = "savepoint" | "checkpoint";

export interface DueSnapshot {
  kind: SnapshotKind;
  triggerType: "MANUAL" | "PERIODIC";
  nonce?: number;
}

type Info = NonNullable<JobStatus["savepointInfo"]> | NonNullable<JobStatus["checkpointInfo"]>;

const infoOf = (job: JobStatus | undefined, kind: SnapshotKind): Info | undefined =>
  kind === "savepoint" ? job?.savepointInfo : job?.checkpointInfo;

/** A periodic interval as a duration; cron expressions are not supported (validation warns about them). */
export const periodicIntervalMs = (value: string | undefined) => {
  const ms = value ? parseFlinkDuration(value) : undefined;
  return ms && ms > 0 ? ms : undefined;
};

/**
 * The snapshot to take now, if any: a manual one when the spec's nonce differs from the one last acted upon (or
 * deployed with), else a periodic one when its interval has passed since the last periodic one (or since
 * the job was deployed). Nothing while a trigger of that kind is pending.
 */
export function dueSnapshot(
  spec: SnapshotSpec,
  status: SnapshotStatus,
  settings: OperatorSettings,
  now: number,
): DueSnapshot | undefined {
  for (const kind of ["savepoint", "checkpoint"] as const) {
    const info = infoOf(status.jobStatus, kind);
    if (info?.triggerId) continue;
    const nonce =
      kind === "savepoint" ? spec.job?.savepointTriggerNonce : spec.job?.checkpointTriggerNonce;
    if (nonce !== undefined && nonce !== info?.triggerNonce)
      return { kind, triggerType: "MANUAL", nonce };
    const interval = periodicIntervalMs(settings.string(`periodic.${kind}.interval`));
    const lastPeriodic =
      kind === "savepoint"
        ? status.jobStatus?.savepointInfo?.lastPeriodicSavepointTimestamp
        : status.jobStatus?.checkpointInfo?.lastPeriodicCheckpointTimestamp;
    const since = lastPeriodic ?? status.reconciliationStatus?.reconciliationTimestamp ?? now;
    if (interval && now - since >= interval) return { kind, triggerType: "PERIODIC" };
  }
  return undefined;
}

/** Savepoints that left the history and may be disposed of: never one a job was or will be restored from. */
export function disposable(
  before: Savepoint[] | undefined,
  after: Savepoint[] | undefined,
  status: SnapshotStatus,
): string[] {
  const kept = new Set((after ?? []).map(s => s.location));
  const needed = new Set([
    status.reconciliationStatus?.restore?.path,
    status.jobStatus?.upgradeSavepointPath,
  ]);
  return (before ?? [])
    .map(s => s.location)
    .filter((l): l is string => !!l && !kept.has(l) && !needed.has(l));
}

/** What a pass gives snapshots: a session job's context (sessionjob-operation.ts) is one as it is. */
export interface SnapshotContext {
  /** The spec the job runs. */
  target: SnapshotSpec;
  status: SnapshotStatus;
  settings: OperatorSettings;
  client: FlinkRestClient;
  save: () => Promise<void>;
  event: (type: "Normal" | "Warning", reason: string, message: string) => void;
  now: () => Date;
}

/** A context whose job is known to run, under this id. */
type RunningContext = SnapshotContext & { jobId: string };

/**
 * One look at the running job's snapshots (nothing unless status says its job is RUNNING): finishes pending
 * triggers, starts a due one. Returns when to look again (undefined: nothing pending or scheduled sooner than the
 * caller's own next pass).
 */
export async function advanceSnapshots(context: SnapshotContext): Promise<number | undefined> {
  const jobId = context.status.jobStatus?.jobId;
  if (!jobId || context.status.jobStatus?.state !== "RUNNING") return undefined;
  const ctx: RunningContext = { ...context, jobId };
  let soon = false;
  for (const kind of ["savepoint", "checkpoint"] as const)
    if (infoOf(ctx.status.jobStatus, kind)?.triggerId)
      soon = (await pollTrigger(ctx, kind)) || soon;
  const due = dueSnapshot(ctx.target, ctx.status, ctx.settings, ctx.now().getTime());
  if (due) {
    // A job is RUNNING before all its tasks are (deploying, restoring state), and Flink would abort the snapshot.
    const tasks = await ctx.client
      .job(ctx.jobId)
      .then(j => j.vertices)
      .catch(() => []);
    if (tasks.length && tasks.every(v => v.status === "RUNNING")) await trigger(ctx, due);
    soon = true;
  }
  if (soon) return 1000;
  const intervals = (["savepoint", "checkpoint"] as const)
    .map(k => periodicIntervalMs(ctx.settings.string(`periodic.${k}.interval`)))
    .filter((ms): ms is number => !!ms);
  return intervals.length ? Math.min(...intervals) : undefined;
}

async function trigger(ctx: RunningContext, due: DueSnapshot) {
  const triggerId = newJobId();
  const at = ctx.now().getTime();
  const js = ctx.status.jobStatus ?? {};
  if (due.kind === "savepoint") {
    const formatType =
      ctx.settings.string("savepoint.format.type") === "NATIVE" ? "NATIVE" : "CANONICAL";
    js.savepointInfo = {
      ...js.savepointInfo,
      triggerId,
      triggerType: due.triggerType,
      triggerTimestamp: at,
      formatType,
      triggerNonce: due.nonce ?? js.savepointInfo?.triggerNonce,
      ...(due.triggerType === "PERIODIC" ? { lastPeriodicSavepointTimestamp: at } : {}),
    };
  } else {
    const formatType =
      ctx.settings.string("checkpoint.type") === "INCREMENTAL" ? "INCREMENTAL" : "FULL";
    js.checkpointInfo = {
      ...js.checkpointInfo,
      triggerId,
      triggerType: due.triggerType,
      triggerTimestamp: at,
      formatType,
      triggerNonce: due.nonce ?? js.checkpointInfo?.triggerNonce,
      ...(due.triggerType === "PERIODIC" ? { lastPeriodicCheckpointTimestamp: at } : {}),
    };
  }
  ctx.status.jobStatus = js;
  // Written first: a restarted operator finds the trigger id and polls it instead of triggering again.
  await ctx.save();
  try {
    if (due.kind === "savepoint")
      await ctx.client.triggerSavepoint(ctx.jobId, {
        triggerId,
        formatType: js.savepointInfo!.formatType as "CANONICAL" | "NATIVE",
      });
    else
      await ctx.client.triggerCheckpoint(ctx.jobId, {
        triggerId,
        checkpointType: js.checkpointInfo!.formatType as "FULL" | "INCREMENTAL",
      });
  } catch (e) {
    // The trigger stays on record: the next look asks Flink for it and, if Flink never saw it, fails it there.
    ctx.event(
      "Warning",
      `${cap(due.kind)}Failed`,
      `could not trigger a ${due.kind}: ${errorText(e)}`,
    );
  }
}

const cap = (s: string) => s[0].toUpperCase() + s.slice(1);

/** Looks at a pending trigger once; true while it is still running. */
async function pollTrigger(ctx: RunningContext, kind: SnapshotKind): Promise<boolean> {
  const js = ctx.status.jobStatus!;
  const info = infoOf(js, kind)!;
  let outcome;
  try {
    outcome =
      kind === "savepoint"
        ? savepointOutcome(await ctx.client.savepointStatus(ctx.jobId, info.triggerId!))
        : checkpointOutcome(await ctx.client.checkpointStatus(ctx.jobId, info.triggerId!));
  } catch (e) {
    if (!(e instanceof FlinkTriggerNotFoundError)) return true;
    outcome = {
      state: "failed" as const,
      summary: "the JobManager does not know the trigger (restarted?)",
    };
  }
  if (outcome.state === "pending") return true;
  const at = ctx.now().getTime();
  const cleared = { triggerId: undefined, triggerTimestamp: undefined, triggerType: undefined };
  if (outcome.state === "failed") {
    if (kind === "savepoint") js.savepointInfo = { ...js.savepointInfo, ...cleared };
    else js.checkpointInfo = { ...js.checkpointInfo, ...cleared };
    await ctx.save();
    ctx.event(
      "Warning",
      `${cap(kind)}Failed`,
      `${info.triggerType?.toLowerCase()} ${kind} failed: ${outcome.summary}`,
    );
    return false;
  }
  if (kind === "savepoint") {
    const location = (outcome as { location: string }).location;
    const before = js.savepointInfo?.savepointHistory;
    js.savepointInfo = {
      ...recordSavepoint(
        js.savepointInfo,
        {
          location,
          timeStamp: at,
          triggerType: info.triggerType,
          formatType: info.formatType as Savepoint["formatType"],
          triggerNonce: info.triggerType === "MANUAL" ? info.triggerNonce : undefined,
        },
        {
          maxCount: ctx.settings.int("savepoint.history.max.count"),
          maxAgeMs: ctx.settings.durationMs("savepoint.history.max.age"),
          now: at,
        },
      ),
      triggerNonce: js.savepointInfo?.triggerNonce,
    };
    await ctx.save();
    ctx.event(
      "Normal",
      "SavepointCompleted",
      `${info.triggerType?.toLowerCase()} savepoint ${location}`,
    );
    if (ctx.settings.bool("savepoint.cleanup.enabled"))
      for (const path of disposable(before, js.savepointInfo.savepointHistory, ctx.status)) {
        // Best effort: Flink deletes the files; a failure only leaves them where they were.
        await ctx.client
          .triggerSavepointDisposal(path)
          .then(() =>
            ctx.event("Normal", "SavepointDisposed", `disposed of ${path}, out of the history`),
          )
          .catch(e => ctx.event("Warning", "SavepointDisposalFailed", `${path}: ${errorText(e)}`));
      }
  } else {
    js.checkpointInfo = {
      ...js.checkpointInfo,
      ...cleared,
      lastCheckpoint: {
        timeStamp: at,
        triggerType: info.triggerType,
        formatType: info.formatType as "FULL" | "INCREMENTAL",
        triggerNonce: info.triggerType === "MANUAL" ? info.triggerNonce : undefined,
      },
    };
    await ctx.save();
    ctx.event(
      "Normal",
      "CheckpointCompleted",
      `${info.triggerType?.toLowerCase()} checkpoint ${(outcome as { id?: number }).id ?? ""}`.trim(),
    );
  }
  return false;
}

function checkpointOutcome(
  s: Awaited<ReturnType<FlinkRestClient["checkpointStatus"]>>,
): { state: "pending" } | { state: "done"; id?: number } | { state: "failed"; summary: string } {
  if (s.status.id !== "COMPLETED") return { state: "pending" };
  const cause = s.operation?.failureCause ?? s.operation?.["failure-cause"];
  if (cause) return { state: "failed", summary: cause.class ?? "checkpoint failed" };
  return { state: "done", id: s.operation?.checkpointId ?? undefined };
}

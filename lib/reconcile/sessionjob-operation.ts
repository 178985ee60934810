import type { FlinkSessionJobSpec } from "../api/spec";
import type { FlinkSessionJobStatus, JobStatus, Operation } from "../api/status";
import { FlinkRestClient } from "../flink/client";
import { FlinkJobNotFoundError, FlinkJobTerminalError } from "../flink/errors";
import { isTerminalState } from "../flink/schemas";
import { OperatorSettings } from "../settings";
import { errorText } from "./errors";
import { describeRestore, savepointFallback } from "./lifecycle";
import { lookAtSavepointStop, savepointRetryMs } from "./savepoint-stop";
import { finishSessionOperation, sessionUpgradeStop, SUBMITTING } from "./sessionjob-lifecycle";
import { Blocked } from "./status";

/** What a pass gives the steps that act on a session job in Flink. `status` is its working copy; `save` writes it. */
export interface SessionJobContext {
  client: FlinkRestClient;
  status: FlinkSessionJobStatus;
  target: FlinkSessionJobSpec;
  settings: OperatorSettings;
  save: () => Promise<void>;
  event: (type: "Normal" | "Warning", reason: string, message: string) => void;
  now: () => Date;
}

/** done: the stop is over; otherwise look again after waitMs. */
export type StopResult = { done: true } | { done: false; waitMs: number; blocked?: Blocked };

/** Looked at again this soon while Flink works on a stop or a cancel. */
const BUSY_MS = 1000;

const pollMs = (ctx: SessionJobContext) =>
  ctx.settings.durationMs("observer.progress-check.interval");

/**
 * Carries the recorded stop on, step after step, until one has to wait: `savepoint` (stop-with-savepoint, its
 * trigger id on record before Flink is asked, once all the job's tasks run), then `cancel` (a no-op for a job
 * that has already ended). Each
 * step's outcome is written to status before the next acts, so a restarted operator resumes at the step recorded.
 */
export async function advanceSessionOperation(ctx: SessionJobContext): Promise<StopResult> {
  for (;;) {
    const op = ctx.status.reconciliationStatus?.operation;
    if (!op) return { done: true };
    const result =
      op.step === "savepoint" ? await savepointStep(ctx, op) : await cancelStep(ctx, op);
    if (result !== "next") return result;
  }
}

/**
 * The session cluster is about to stop (its operation's `session-jobs` step): a job that runs is stopped in its
 * own upgrade mode, the stop on record before it acts, and a stop under way carries on; its end prepares the
 * submission from what the stop kept, which waits until the session is back. Nothing is submitted meanwhile.
 */
export async function stopForSession(
  ctx: SessionJobContext,
): Promise<{ waitMs: number; blocked?: Blocked }> {
  const jobId = ctx.status.jobStatus?.jobId;
  if (
    ctx.status.jobStatus?.state === SUBMITTING &&
    jobId &&
    ctx.status.reconciliationStatus?.state !== "DEPLOYED" &&
    !ctx.status.reconciliationStatus?.operation
  ) {
    // A run was asked for and not seen through: the job runs if the session knows it, else nothing does.
    let state: string | undefined;
    try {
      state = (await ctx.client.job(jobId)).state;
    } catch (e) {
      if (!(e instanceof FlinkJobNotFoundError)) return unreachableWait(ctx, e);
    }
    ctx.status.jobStatus = { ...ctx.status.jobStatus, state: state as JobStatus["state"] };
    if (state)
      ctx.status.reconciliationStatus = { ...ctx.status.reconciliationStatus, state: "DEPLOYED" };
    await ctx.save();
  }
  const stop = sessionUpgradeStop(ctx.status, ctx.target, ctx.now());
  if (stop) {
    Object.assign(ctx.status, stop);
    await ctx.save();
    const op = stop.reconciliationStatus!.operation!;
    ctx.event(
      "Normal",
      "SessionUpgrade",
      `the session cluster is about to stop: ${op.upgradeMode === "stateless" ? "cancelling" : "stopping with a savepoint"} job ${op.jobId}, to submit it again once the session is back`,
    );
  }
  const result = await advanceSessionOperation(ctx);
  if (!result.done) return result;
  const rs = ctx.status.reconciliationStatus;
  const next =
    rs?.state === "UPGRADING" && ctx.target.job?.state !== "suspended"
      ? `; the job is submitted again once it is back, from ${describeRestore(rs.restore)}`
      : "";
  return {
    waitMs: pollMs(ctx),
    blocked: {
      reason: "SessionNotReady",
      message: `the session cluster is stopping for its upgrade${next}`,
    },
  };
}

const unreachable = (ctx: SessionJobContext, e: unknown): StopResult => ({
  done: false,
  ...unreachableWait(ctx, e),
});

const setOperation = (ctx: SessionJobContext, op: Operation) => {
  ctx.status.reconciliationStatus = { ...ctx.status.reconciliationStatus, operation: op };
};

const unreachableWait = (ctx: SessionJobContext, e: unknown) => ({
  waitMs: pollMs(ctx),
  blocked: {
    reason: "JobManagerUnreachable",
    message: `cannot reach the session's JobManager: ${errorText(e)}`,
  },
});

/** Stop-with-savepoint of the job, as an application's (savepoint-stop.ts: trigger id on record first). */
async function savepointStep(ctx: SessionJobContext, op: Operation): Promise<StopResult | "next"> {
  const jobId = op.jobId;
  if (!jobId) return fallBack(ctx, op, "no job was submitted");
  const look = await lookAtSavepointStop(
    ctx.client,
    jobId,
    ctx.status,
    ctx.settings,
    ctx.save,
    () => ctx.now().getTime(),
    op.kind === "delete" && ctx.settings.bool("job.drain-on-savepoint-deletion"),
  );
  switch (look.state) {
    case "pending":
      return { done: false, waitMs: BUSY_MS };
    case "waiting":
      return {
        done: false,
        waitMs: BUSY_MS,
        blocked: { reason: "SavepointWaiting", message: look.why },
      };
    case "done":
      setOperation(ctx, { ...op, step: "cancel", restorePath: look.location });
      await ctx.save();
      ctx.event(
        "Normal",
        "SavepointCompleted",
        `job ${jobId} stopped with savepoint ${look.location}`,
      );
      return "next";
    case "failed": {
      const waitMs = savepointRetryMs(ctx.settings, op.startedAt, ctx.now().getTime());
      const why = `${look.why}; next try in ${Math.round(waitMs / 1000)} s`;
      ctx.event("Warning", "SavepointFailed", why);
      return { done: false, waitMs, blocked: { reason: "SavepointFailed", message: why } };
    }
    case "not-running":
      return fallBack(ctx, op, look.why);
    case "unreachable":
      return {
        done: false,
        waitMs: pollMs(ctx),
        blocked: { reason: "JobManagerUnreachable", message: look.why },
      };
  }
}

/**
 * No savepoint can be taken (the job is not running). A deletion just cancels; otherwise the job's state is
 * reached through its latest completed checkpoint, as Flink reports it or as last observed, or, for a job never
 * seen since its submission, through what that submission restored (lifecycle.ts); else the stop waits.
 */
async function fallBack(
  ctx: SessionJobContext,
  op: Operation,
  why: string,
): Promise<StopResult | "next"> {
  if (op.kind === "delete") {
    setOperation(ctx, { ...op, step: "cancel" });
    await ctx.save();
    ctx.event("Warning", "SavepointFallback", `${why}; deleting it without a savepoint`);
    return "next";
  }
  const fromFlink = op.jobId
    ? await ctx.client
        .checkpoints(op.jobId)
        .then(c => c.latest?.completed?.external_path ?? undefined)
        .catch(() => undefined)
    : undefined;
  const decision = savepointFallback({
    why,
    job: ctx.status.jobStatus,
    ha: false,
    lastStateFallback: false,
    latestCheckpoint: fromFlink ?? ctx.status.jobStatus?.checkpointInfo?.latestCompletedPath,
    restore: ctx.status.reconciliationStatus?.restore,
  });
  if ("blocked" in decision)
    return {
      done: false,
      waitMs: pollMs(ctx),
      blocked: { reason: "UpgradeBlocked", message: decision.blocked },
    };
  const restore = ctx.status.reconciliationStatus?.restore;
  const next: Operation =
    decision.to === "checkpoint"
      ? { ...op, step: "cancel", restorePath: decision.path }
      : {
          ...op,
          step: "cancel",
          upgradeMode: !restore || restore.upgradeMode === "stateless" ? "stateless" : "savepoint",
          restorePath: restore?.path,
        };
  setOperation(ctx, next);
  await ctx.save();
  ctx.event("Warning", "SavepointFallback", decision.why);
  return "next";
}

/** Cancels the job unless it has ended, and waits until it has; then the operation ends. */
async function cancelStep(ctx: SessionJobContext, op: Operation): Promise<StopResult | "next"> {
  const jobId = op.jobId;
  if (jobId) {
    let state: string | undefined;
    try {
      state = (await ctx.client.job(jobId)).state;
    } catch (e) {
      if (!(e instanceof FlinkJobNotFoundError)) return unreachable(ctx, e);
    }
    if (state !== undefined && !isTerminalState(state)) {
      if (state !== "CANCELLING") {
        try {
          await ctx.client.cancel(jobId);
        } catch (e) {
          if (!(e instanceof FlinkJobTerminalError) && !(e instanceof FlinkJobNotFoundError))
            return unreachable(ctx, e);
        }
      }
      return { done: false, waitMs: BUSY_MS };
    }
  }
  finishSessionOperation(ctx.status, ctx.target);
  await ctx.save();
  ctx.event(
    "Normal",
    op.kind === "suspend" ? "Suspended" : "JobStopped",
    `${op.upgradeMode} stop of job ${jobId ?? "(none)"} done${op.restorePath ? `; state kept in ${op.restorePath}` : ""}`,
  );
  return "next";
}

import { openAsBlob } from "node:fs";
import type { CachedJar } from "../artifacts/cache";
import { ArtifactFetchError } from "../artifacts/fetch";
import { FlinkJobNotFoundError, FlinkRequestRejectedError } from "../flink/errors";
import { isTerminalState } from "../flink/schemas";
import { crashPoint } from "./crash-points";
import { errorText } from "./errors";
import type { SessionJobContext } from "./sessionjob-operation";
import {
  latestCheckpointPath,
  lostJobAction,
  lostJobRestore,
  missingRestoreFallback,
  observedJob,
  prepareSubmission,
  SUBMITTING,
  type RestoreFallback,
} from "./sessionjob-lifecycle";
import { Blocked } from "./status";
import { describeRestore } from "./lifecycle";

export interface SubmitContext extends SessionJobContext {
  /** The jar, through the cache (lib/artifacts/cache.ts); throws ArtifactFetchError. */
  jar: () => Promise<CachedJar>;
  /** Job-level Flink configuration for the run request (Flink >= 1.17). */
  flinkConfiguration: Record<string, string>;
}

/** submitted, or why not; `backoff`: a failure the queue retries with its backoff. */
export type SubmitResult = { submitted: true } | { submitted: false; blocked: Blocked };

/** Flink refuses a second job under an id it knows (running or ended): then ours was submitted before. */
const DUPLICATE = /DuplicateJobSubmission|already been submitted|same job ?id|job id .* already/i;

/**
 * The name the jar is uploaded under: it starts with the job id, so the uploads of attempts that died before
 * they could delete theirs are found and deleted with the next. Flink accepts only names ending in .jar.
 */
export function uploadName(jobId: string, jarURI: string): string {
  const last = decodeURIComponent(jarURI.split(/[?#]/)[0].split("/").pop() ?? "");
  const base = last
    .replace(/\.jar$/i, "")
    .replace(/[^A-Za-z0-9._-]/g, "_")
    .slice(0, 100);
  return `${jobId}_${base || "job"}.jar`;
}

/**
 * Submits the target under the job id already on record (chosen before this call). The jar comes first, so a jar
 * that cannot be fetched never reaches Flink. Before the upload, jobStatus.state SUBMITTING is written: after a
 * restart, a job with the id found in the session was run by an attempt that did not live to record it, and is
 * taken as submitted, never run twice (Flink refuses a second run under a known id as well). Then an upload, a
 * run with the spec's entry class, arguments, parallelism, restore path and job configuration, and the upload
 * deleted. Status says DEPLOYED once the run is known to have happened.
 */
export async function submitJob(ctx: SubmitContext): Promise<SubmitResult> {
  const { client, status } = ctx;
  const job = ctx.target.job!;
  const jobId = status.jobStatus!.jobId!;
  const attempted = status.jobStatus?.state === SUBMITTING;
  if (attempted && (await exists(ctx, jobId))) {
    await deleteUploads(ctx, jobId);
    return submitted(ctx, jobId, "found in the session (submitted before the operator restarted)");
  }
  let jar: CachedJar;
  try {
    jar = await ctx.jar();
  } catch (e) {
    if (!(e instanceof ArtifactFetchError)) throw e;
    return { submitted: false, blocked: { reason: "JarFetchFailed", message: e.message } };
  }
  // Write-ahead: from here on a job with this id may exist, so a restart or a deletion looks for it.
  if (!attempted) {
    status.jobStatus = { ...status.jobStatus, state: SUBMITTING };
    await ctx.save();
  }
  const restore = status.reconciliationStatus?.restore;
  let configuration = ctx.flinkConfiguration;
  if (Object.keys(configuration).length && !(await client.features()).runFlinkConfiguration) {
    ctx.event(
      "Warning",
      "ConfigurationIgnored",
      "the session's Flink takes no job configuration in a run request (Flink >= 1.17 does); spec.flinkConfiguration is not applied",
    );
    configuration = {};
  }
  const { jarId } = await client.uploadJar(
    await openAsBlob(jar.path, { type: "application/x-java-archive" }),
    uploadName(jobId, job.jarURI!),
  );
  crashPoint("session-jar-uploaded");
  try {
    await client.runJar(jarId, {
      jobId,
      entryClass: job.entryClass,
      args: job.args,
      parallelism: job.parallelism,
      allowNonRestoredState: job.allowNonRestoredState,
      savepointPath: restore?.upgradeMode === "stateless" ? undefined : restore?.path,
      flinkConfiguration: Object.keys(configuration).length ? configuration : undefined,
    });
  } catch (e) {
    const duplicate =
      e instanceof FlinkRequestRejectedError && DUPLICATE.test(e.flinkErrors.join("\n"));
    if (!duplicate) {
      await deleteUploads(ctx, jobId);
      // Flink answers a run whose job failed while initializing (a restore path gone, say) with an error, yet
      // the session keeps that job as FAILED: it was submitted, and observing it decides what follows.
      if (e instanceof FlinkRequestRejectedError && (await exists(ctx, jobId)))
        return submitted(ctx, jobId, `from ${describeRestore(restore)}, and failed as it started`);
      if (e instanceof FlinkRequestRejectedError)
        return {
          submitted: false,
          blocked: { reason: "SubmitFailed", message: `job ${jobId}: ${errorText(e)}` },
        };
      throw e;
    }
  }
  crashPoint("session-job-run");
  await deleteUploads(ctx, jobId);
  return submitted(ctx, jobId, `from ${describeRestore(restore)}`);
}

async function exists(ctx: SubmitContext, jobId: string): Promise<boolean> {
  try {
    await ctx.client.job(jobId);
    return true;
  } catch (e) {
    if (e instanceof FlinkJobNotFoundError) return false;
    throw e;
  }
}

async function submitted(ctx: SubmitContext, jobId: string, how: string): Promise<SubmitResult> {
  ctx.status.reconciliationStatus = { ...ctx.status.reconciliationStatus, state: "DEPLOYED" };
  await ctx.save();
  ctx.event("Normal", "JobSubmitted", `job ${jobId} submitted ${how}`);
  return { submitted: true };
}

/** Deletes this job's uploads, its own and those of earlier attempts; best effort (the JobManager keeps them). */
async function deleteUploads(ctx: SubmitContext, jobId: string): Promise<void> {
  try {
    const jars = await ctx.client.listJars();
    for (const jar of jars.files.filter(f => f.name.startsWith(`${jobId}_`)))
      await ctx.client.deleteJar(jar.id);
  } catch (e) {
    ctx.event("Warning", "JarNotDeleted", `the upload of job ${jobId} stays: ${errorText(e)}`);
  }
}

export interface ObserveResult {
  waitMs: number;
  blocked?: Blocked;
}

/**
 * Reads the job's state from the session (jobStatus, the latest completed checkpoint). A job the session does
 * not know was lost with its JobManager (no HA): after a grace period it is submitted again, from its latest
 * checkpoint as observed.
 */
export async function observeJob(
  ctx: SessionJobContext,
  session: { ha: boolean },
): Promise<ObserveResult> {
  const { client, status, settings } = ctx;
  const jobId = status.jobStatus?.jobId;
  const progress = settings.durationMs("observer.progress-check.interval");
  const seen = observedJob(await client.jobsOverview(), jobId);
  if (seen) {
    status.jobStatus = { ...status.jobStatus, ...seen };
    if (seen.state === "RUNNING") {
      const path = await client
        .checkpoints(seen.jobId!)
        .then(latestCheckpointPath)
        .catch(() => undefined);
      if (path)
        status.jobStatus.checkpointInfo = {
          ...status.jobStatus.checkpointInfo,
          latestCompletedPath: path,
        };
    }
    if (seen.state === "FAILED") {
      const fallback = missingRestoreFallback(
        status,
        ctx.target,
        await recordFailure(ctx, seen.jobId!),
      );
      if (fallback) return restoreFallback(ctx, fallback);
    }
    const settled = seen.state === "RUNNING" || isTerminalState(seen.state ?? "");
    return { waitMs: settled ? settings.durationMs("reconcile.interval") : progress };
  }
  const running = status.conditions?.find(c => c.type === "Running");
  const since =
    running?.reason === "JobNotFound" && running.lastTransitionTime
      ? Date.parse(running.lastTransitionTime)
      : ctx.now().getTime();
  const action = lostJobAction({
    sessionHa: session.ha,
    missingForMs: ctx.now().getTime() - since,
    graceMs: progress,
  });
  if (action === "wait")
    return {
      waitMs: progress,
      blocked: {
        reason: "JobNotFound",
        message: session.ha
          ? `job ${jobId} is not in the session cluster; its HA recovery should bring it back`
          : `job ${jobId} is not in the session cluster (its JobManager restarted without HA?); submitting it again after ${progress} ms`,
      },
    };
  const restore = lostJobRestore(status);
  prepareSubmission(status, restore);
  await ctx.save();
  ctx.event(
    "Warning",
    "JobLost",
    `job ${jobId} was lost with the session's JobManager; submitting it again as job ${status.jobStatus!.jobId} from ${describeRestore(restore)}`,
  );
  return { waitMs: 0 };
}

/** A failed job's root cause in status.error, from Flink's exception history; returns its whole stack trace. */
async function recordFailure(ctx: SessionJobContext, jobId: string): Promise<string> {
  const history = await ctx.client.exceptions(jobId, 1).catch(() => undefined);
  const root = history?.entries[0];
  const cause = root ? `${root.exceptionName}: ${root.stacktrace.split("\n")[0]}` : "unknown";
  ctx.status.error = `job ${jobId} FAILED: ${cause}`.slice(0, 1024);
  return root?.stacktrace ?? "";
}

/**
 * A job that failed because its restore path is gone (sessionjob-lifecycle.ts missingRestoreFallback): submitted
 * again from the savepoint on record (or empty, for stateless), or left failed with Ready=False and why.
 */
async function restoreFallback(
  ctx: SessionJobContext,
  fallback: RestoreFallback,
): Promise<ObserveResult> {
  if ("blocked" in fallback)
    return {
      waitMs: ctx.settings.durationMs("reconcile.interval"),
      blocked: { reason: "RestorePathMissing", message: fallback.blocked },
    };
  const failed = ctx.status.jobStatus?.jobId;
  prepareSubmission(ctx.status, fallback.resubmit);
  ctx.status.error = undefined;
  await ctx.save();
  ctx.event(
    "Warning",
    "RestoreFallback",
    `${fallback.why} (as job ${ctx.status.jobStatus!.jobId}; job ${failed} stays FAILED in the session)`,
  );
  return { waitMs: 0 };
}

import { rootCertificates } from "node:tls";
import { parseHttpHeaders } from "../api/http-headers";
import { parseReconciledSpec } from "../api/reconciled-spec";
import type { FlinkSessionJobSpec } from "../api/spec";
import type { FlinkSessionJobStatus } from "../api/status";
import type { JarCache } from "../artifacts/cache";
import { FlinkError } from "../flink/errors";
import { resourceLog } from "../log";
import { OperatorSettings, resolveSettings } from "../settings";
import { validateFlinkSessionJob } from "../validation/flinksessionjob";
import { errorsOf, formatIssue } from "../validation/issues";
import { artifactPolicy } from "../validation/uris";
import { canonical } from "./changes";
import { errorText } from "./errors";
import * as kube from "./kube";
import { restClient } from "./observe-cluster";
import { QueueResult } from "./queue";
import { deleteSessionJob } from "./sessionjob-deletion";
import { acceptSessionJobGeneration } from "./sessionjob-lifecycle";
import {
  advanceSessionOperation,
  stopForSession,
  type SessionJobContext,
} from "./sessionjob-operation";
import { sessionReadiness } from "./sessionjob-session";
import { finishSessionJobStatus } from "./sessionjob-status";
import { observeJob, submitJob } from "./sessionjob-submit";
import { advanceSnapshots } from "./snapshots";
import { Blocked } from "./status";

/** What a session job pass needs from outside: the operator ConfigMap, the jar cache, a clock. */
export interface SessionJobEnv {
  defaults: () => Promise<Record<string, string>>;
  jars: JarCache;
  now?: () => Date;
}

type Event = [type: "Normal" | "Warning", reason: string, message: string];

/** Keys a job cannot set for itself on a running session (the cluster's), and the operator's own. */
const NOT_FOR_THE_JOB =
  /^(kubernetes\.|job\.autoscaler\.|jobmanager\.|taskmanager\.|high-availability)/;

/** The session job's own Flink configuration, as the run request carries it. */
export const jobConfiguration = (spec: FlinkSessionJobSpec): Record<string, string> =>
  Object.fromEntries(
    Object.entries((spec.flinkConfiguration ?? {}) as Record<string, string>).filter(
      ([k]) => !NOT_FOR_THE_JOB.test(k),
    ),
  );

/** Failures the queue retries with its backoff, once status and Events say why. */
const BACKOFF_REASONS = new Set(["JarFetchFailed", "SubmitFailed"]);

/**
 * One reconcile pass of a FlinkSessionJob: validate, take a new generation as the target (status first), then,
 * once its session cluster is ready, carry a recorded stop on, submit the target, or observe the job and take its
 * snapshots.
 */
export async function reconcileSessionJob(
  namespace: string,
  name: string,
  env: SessionJobEnv,
): Promise<QueueResult> {
  const job = await kube.getFlinkSessionJob(namespace, name);
  if (!job) return {};
  const clock = () => env.now?.() ?? new Date();
  const now = clock();
  const log = resourceLog("FlinkSessionJob", namespace, name);
  const deleting = !!job.metadata?.deletionTimestamp;
  const operatorConfig = await env.defaults().catch(e => {
    if (!deleting) throw e;
    log.warn("cannot read the operator ConfigMap; deleting with the built-in defaults", {
      error: errorText(e),
    });
    return {};
  });
  const sessionName = job.spec?.deploymentName ?? "";
  const session = sessionName ? await kube.getFlinkDeployment(namespace, sessionName) : undefined;
  const flinkVersion = session?.spec?.flinkVersion;
  const resolved = resolveSettings({
    operatorConfig,
    namespace,
    flinkVersion,
    resource: job.spec?.flinkConfiguration as Record<string, string> | undefined,
  });
  const settings = resolved.operator;
  // The artifact policy and trust come from the operator's configuration only, never from the resource.
  const operatorOnly = resolveSettings({ operatorConfig, namespace, flinkVersion }).operator;
  const client = async () => {
    const s = sessionReadiness(session, sessionName, operatorConfig);
    return "ready" in s ? { client: await restClient(s.ready.rest, settings) } : s;
  };
  if (deleting) return deleteSessionJob({ job, session, settings, clock, client });
  await kube.setFinalizer(job, true, "FlinkSessionJob");

  const before = job.status ?? {};
  let status: FlinkSessionJobStatus = structuredClone(before);
  // Each write is a merge patch against what the apiserver holds: the status last written, not the one read.
  let written: FlinkSessionJobStatus = before;
  const save = async () => {
    await kube.patchSessionJobStatus({ ...job, status: written } as typeof job, status);
    written = structuredClone(status);
  };
  const generation = job.metadata?.generation ?? 1;
  const events: Event[] = [];
  const event = (...e: Event) => events.push(e);
  const last = parseReconciledSpec<FlinkSessionJobSpec>(
    status.reconciliationStatus?.lastReconciledSpec,
  );
  const errors = errorsOf(
    validateFlinkSessionJob(job, {
      session,
      defaults: resolved.defaults,
      artifacts: artifactPolicy(operatorOnly),
    }),
  );
  const progress = settings.durationMs("observer.progress-check.interval");
  let requeue = settings.durationMs("reconcile.interval");
  let blocked: Blocked | undefined;
  if (errors.length) {
    const message = `spec generation ${generation} is invalid, ${last ? `generation ${last.generation} keeps running` : "nothing was submitted"}: ${errors.map(formatIssue).join("; ")}`;
    if (before.error !== message) event("Warning", "InvalidSpec", message);
    status.error = message;
    blocked = { reason: "InvalidSpec", message };
  } else {
    status.error = undefined;
    const accepted = acceptSessionJobGeneration(last, job.spec!, generation, status, now);
    if (accepted) {
      status = accepted.status;
      // Write-ahead: the target, its job id and the stop it needs are on record before anything acts.
      await save();
      event("Normal", last ? "SpecChanged" : "Submit", accepted.message);
    }
  }
  status.observedGeneration = generation;

  const target = parseReconciledSpec<FlinkSessionJobSpec>(
    status.reconciliationStatus?.lastReconciledSpec,
  )?.spec;
  if (target) {
    const access = sessionReadiness(session, sessionName, operatorConfig);
    if ("blocked" in access) {
      blocked ??= access.blocked;
      requeue = progress;
    } else {
      const ctx: SessionJobContext = {
        client: await restClient(access.ready.rest, settings),
        status,
        target,
        settings,
        save,
        event,
        now: clock,
      };
      try {
        const acted = access.ready.stopping
          ? await stopForSession(ctx)
          : await act(ctx, access.ready.ha, env.jars, operatorOnly, settings);
        requeue = acted.waitMs;
        blocked ??= acted.blocked;
      } catch (e) {
        if (!(e instanceof FlinkError)) throw e;
        requeue = progress;
        blocked ??= {
          reason: "JobManagerUnreachable",
          message: `cannot reach the session's JobManager: ${errorText(e)}`,
        };
      }
    }
  }

  finishSessionJobStatus(status, target, blocked, now);
  const prevReady = before.conditions?.find(c => c.type === "Ready");
  if (blocked && blocked.reason !== "InvalidSpec" && prevReady?.reason !== blocked.reason)
    event(
      blocked.reason === "SessionNotReady" ? "Normal" : "Warning",
      blocked.reason,
      blocked.message,
    );
  const [was, is] = [before.jobStatus?.state, status.jobStatus?.state];
  if (is && was !== is)
    event(is === "FAILED" ? "Warning" : "Normal", "JobStatusChanged", `${was ?? "none"} -> ${is}`);
  if (canonical(written) !== canonical(status)) await save();
  for (const [, reason, message] of events) log.info(message, { reason });
  await Promise.all(
    events.map(([type, reason, message]) => kube.recordEvent(job, type, reason, message)),
  );
  // Failing hands the retry to the queue's backoff, which grows while the cause lasts.
  if (blocked && BACKOFF_REASONS.has(blocked.reason)) throw new Error(blocked.message);
  return { requeueAfterMs: Math.min(requeue, blocked ? progress : requeue) };
}

/** The one thing a pass does in Flink: carry a stop on, submit, or observe (and take the snapshots due). */
async function act(
  ctx: SessionJobContext,
  sessionHa: boolean,
  jars: JarCache,
  operatorOnly: OperatorSettings,
  settings: OperatorSettings,
): Promise<{ waitMs: number; blocked?: Blocked }> {
  const { status, target } = ctx;
  const progress = settings.durationMs("observer.progress-check.interval");
  if (status.reconciliationStatus?.operation) {
    const stop = await advanceSessionOperation(ctx);
    if (!stop.done) return stop;
  }
  if (target.job?.state === "suspended")
    return { waitMs: settings.durationMs("reconcile.interval") };
  if (status.reconciliationStatus?.state === "UPGRADING") {
    const result = await submitJob({
      ...ctx,
      jar: () => jars.get(target.job!.jarURI!, fetchOptions(operatorOnly, settings)),
      flinkConfiguration: jobConfiguration(target),
    });
    return result.submitted ? { waitMs: 1000 } : { waitMs: progress, blocked: result.blocked };
  }
  const observed = await observeJob(ctx, { ha: sessionHa });
  // Snapshots of the job the observation found running, as an application's (snapshots.ts).
  const snapshotsMs = await advanceSnapshots(ctx);
  return { ...observed, waitMs: Math.min(observed.waitMs, snapshotsMs ?? Infinity) };
}

/** How jars are fetched: the operator's policy and trusted CAs, headers as the resource's settings say. */
function fetchOptions(operatorOnly: OperatorSettings, settings: OperatorSettings) {
  const ca = operatorOnly.string("user.artifacts.trusted-ca");
  const header = settings.string("user.artifacts.http.header");
  return {
    policy: artifactPolicy(operatorOnly),
    headers: header ? parseHttpHeaders(header).headers : undefined,
    ca: ca ? [...rootCertificates, ca].join("\n") : undefined,
  };
}

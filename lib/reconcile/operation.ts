import type { KubernetesObject, V1Pod } from "@kubernetes/client-node";
import { FlinkDeploymentSpec } from "../api/spec";
import type { FlinkDeploymentStatus, Operation } from "../api/status";
import { FlinkRestClient } from "../flink/client";
import { rootCause } from "../flink/root-cause";
import { OperatorSettings } from "../settings";
import { crashPoint } from "./crash-points";
import * as kube from "./kube";
import { finishOperation, haJobGraphKeys, hasHaCheckpoint, savepointFallback } from "./lifecycle";
import { lookAtSavepointStop, savepointRetryMs } from "./savepoint-stop";
import { sessionJobsStep } from "./session-jobs-stop";
import { Blocked } from "./status";

/** What a pass needs to carry an operation on. `status` is the pass's working copy; `save` writes it. */
export interface OperationContext {
  namespace: string;
  /** The FlinkDeployment's name: its children and HA ConfigMaps carry it as label `app`. */
  name: string;
  uid: string;
  status: FlinkDeploymentStatus;
  target: FlinkDeploymentSpec;
  settings: OperatorSettings;
  /** A client for the running JobManager, or undefined when it is not ready. */
  rest: () => Promise<FlinkRestClient | undefined>;
  save: () => Promise<void>;
  event: (type: "Normal" | "Warning", reason: string, message: string) => void;
  now: () => Date;
}

/** done: the stop is over (the target can be deployed); otherwise look again after waitMs. */
export type OperationResult = { done: true } | { done: false; waitMs: number; blocked?: Blocked };

const WORKLOADS = ["Deployment", "StatefulSet"] as const;

/**
 * Carries the recorded operation on, step after step, until one has to wait. Each step's outcome is written
 * to status before the next step acts, so a restarted operator resumes at the step recorded.
 */
export async function advanceOperation(ctx: OperationContext): Promise<OperationResult> {
  for (;;) {
    const op = ctx.status.reconciliationStatus?.operation;
    if (!op) return { done: true };
    const result =
      op.step === "session-jobs"
        ? await sessionJobsStep(ctx, op)
        : op.step === "savepoint"
          ? await savepointStep(ctx, op)
          : op.step === "stop-cluster"
            ? await stopClusterStep(ctx, op)
            : await clearHaStep(ctx, op);
    if (result !== "next") return result;
  }
}

const setOperation = (ctx: OperationContext, op: Operation) => {
  ctx.status.reconciliationStatus = { ...ctx.status.reconciliationStatus, operation: op };
};

/** Stop-with-savepoint of the running job; its trigger id is on record before Flink is asked. */
async function savepointStep(
  ctx: OperationContext,
  op: Operation,
): Promise<OperationResult | "next"> {
  const jobId = op.jobId;
  const client = jobId ? await ctx.rest() : undefined;
  if (!client || !jobId) return fallBack(ctx, op, "the JobManager is not ready");
  const look = await lookAtSavepointStop(client, jobId, ctx.status, ctx.settings, ctx.save, () =>
    ctx.now().getTime(),
  );
  switch (look.state) {
    case "pending":
      return { done: false, waitMs: 500 };
    case "waiting":
      return {
        done: false,
        waitMs: 1000,
        blocked: { reason: "SavepointWaiting", message: look.why },
      };
    case "done":
      setOperation(ctx, { ...op, step: "stop-cluster", restorePath: look.location });
      await ctx.save();
      ctx.event(
        "Normal",
        "SavepointCompleted",
        `job ${jobId} stopped with savepoint ${look.location}`,
      );
      return "next";
    case "failed": {
      const waitMs = savepointRetryMs(ctx.settings, op.startedAt, ctx.now().getTime());
      const why = `${look.why}${await latestFailure(client, jobId)}; the running cluster is kept, next try in ${Math.round(waitMs / 1000)} s`;
      ctx.event("Warning", "SavepointFailed", why);
      return { done: false, waitMs, blocked: { reason: "SavepointFailed", message: why } };
    }
    case "not-running":
      return fallBack(ctx, op, look.why, look.jobState ? client : undefined);
    case "unreachable":
      return {
        done: false,
        waitMs: ctx.settings.durationMs("observer.progress-check.interval"),
        blocked: { reason: "JobManagerUnreachable", message: look.why },
      };
  }
}

/** The job's latest failure, which says why a savepoint failed better than the trigger's own cause. */
async function latestFailure(client: FlinkRestClient, jobId: string): Promise<string> {
  const cause = await client
    .exceptions(jobId, 1)
    .then(rootCause)
    .catch(() => undefined);
  return cause ? ` (the job's latest failure: ${cause})` : "";
}

/** No savepoint can be taken: the job's state is reached another way, or the stop waits (lifecycle.ts). */
async function fallBack(
  ctx: OperationContext,
  op: Operation,
  why: string,
  client?: FlinkRestClient,
): Promise<OperationResult | "next"> {
  const ha = await kube.listHaConfigMaps(ctx.namespace, ctx.name);
  const latestCheckpoint =
    client && op.jobId
      ? await client
          .checkpoints(op.jobId)
          .then(c => c.latest?.completed?.external_path ?? undefined)
          .catch(() => undefined)
      : undefined;
  const decision = savepointFallback({
    why,
    job: ctx.status.jobStatus,
    ha: hasHaCheckpoint(ha),
    lastStateFallback: ctx.settings.bool("job.upgrade.last-state-fallback.enabled"),
    latestCheckpoint,
    restore: ctx.status.reconciliationStatus?.restore,
  });
  if ("blocked" in decision)
    return {
      done: false,
      waitMs: ctx.settings.durationMs("observer.progress-check.interval"),
      blocked: { reason: "UpgradeBlocked", message: decision.blocked },
    };
  const next: Operation =
    decision.to === "last-state"
      ? { ...op, upgradeMode: "last-state", step: "stop-cluster" }
      : decision.to === "checkpoint"
        ? { ...op, step: "stop-cluster", restorePath: decision.path }
        : {
            ...op,
            step: "stop-cluster",
            upgradeMode: restoreAgainMode(ctx),
            restorePath: ctx.status.reconciliationStatus?.restore?.path,
          };
  setOperation(ctx, next);
  await ctx.save();
  ctx.event("Warning", "SavepointFallback", decision.why);
  return "next";
}

/** A job never seen since its deploy starts again from what that deploy restored, in the same way. */
const restoreAgainMode = (ctx: OperationContext): Operation["upgradeMode"] => {
  const mode = ctx.status.reconciliationStatus?.restore?.upgradeMode;
  return mode === "last-state" || mode === "stateless" ? mode : "savepoint";
};

/**
 * Deletes the workloads in the foreground and waits until the cluster's pods are gone: only then can no old
 * JobManager write HA data or checkpoints under the new cluster. A last-state stop first makes sure the HA
 * metadata holds a checkpoint, else the running cluster is kept.
 */
async function stopClusterStep(
  ctx: OperationContext,
  op: Operation,
): Promise<OperationResult | "next"> {
  const workloads = await kube.listAllChildren(ctx.namespace, ctx.name, ctx.uid, WORKLOADS);
  if (op.upgradeMode === "last-state" && workloads.length) {
    if (!hasHaCheckpoint(await kube.listHaConfigMaps(ctx.namespace, ctx.name)))
      return {
        done: false,
        waitMs: ctx.settings.durationMs("observer.progress-check.interval"),
        blocked: {
          reason: "UpgradeBlocked",
          message:
            "a last-state stop needs Flink's HA metadata with a completed checkpoint, and there is none yet (is high-availability.type kubernetes and checkpointing on?); the running cluster is kept",
        },
      };
  }
  // The JobManager goes first: one that sees its TaskManager pods deleted while it shuts down asks for new ones,
  // and a TaskManager killed while it starts ignores SIGTERM for the whole grace period.
  const jobManager = workloads.find(w => w.metadata?.name === ctx.name) as
    | (KubernetesObject & { spec?: { replicas?: number } })
    | undefined;
  const jmPods = (pods: V1Pod[]) =>
    pods.filter(p => p.metadata?.labels?.component === "jobmanager");
  if (jobManager && !jobManager.metadata?.deletionTimestamp) {
    if ((jobManager.spec?.replicas ?? 1) > 0)
      await kube.scaleWorkload(
        jobManager.kind as "Deployment" | "StatefulSet",
        ctx.namespace,
        ctx.name,
        jobManager.metadata!.uid!,
        0,
      );
    if (jmPods(await kube.listPods(ctx.namespace, { app: ctx.name })).length)
      return { done: false, waitMs: 1000 };
  }
  for (const w of workloads)
    await kube.deleteChild(
      w.kind as kube.ChildKind,
      ctx.namespace,
      w.metadata!.name!,
      w.metadata!.uid!,
      "Foreground",
    );
  if (workloads.length) crashPoint("cluster-deleted");
  const pods = await kube.listPods(ctx.namespace, { app: ctx.name });
  const left = pods.filter(p =>
    ["jobmanager", "taskmanager"].includes(p.metadata?.labels?.component ?? ""),
  );
  if (workloads.length || left.length) return { done: false, waitMs: 1000 };
  setOperation(ctx, { ...op, step: "clear-ha" });
  await ctx.save();
  return "next";
}

/**
 * Flink's HA data of the stopped cluster: deleted for stateless and savepoint stops (the new job must not
 * recover the old one), trimmed of the job graph for last-state (the checkpoints stay). Then the operation ends.
 */
async function clearHaStep(
  ctx: OperationContext,
  op: Operation,
): Promise<OperationResult | "next"> {
  const configMaps: KubernetesObject[] = await kube.listHaConfigMaps(ctx.namespace, ctx.name);
  for (const cm of configMaps) {
    if (op.upgradeMode === "last-state")
      await kube.removeConfigMapKeys(ctx.namespace, cm.metadata!.name!, haJobGraphKeys(cm));
    else await kube.deleteChild("ConfigMap", ctx.namespace, cm.metadata!.name!, cm.metadata!.uid!);
  }
  crashPoint("ha-cleared");
  finishOperation(ctx.status, ctx.target, ctx.now());
  await ctx.save();
  ctx.event(
    "Normal",
    op.kind === "suspend" ? "Suspended" : "ClusterStopped",
    `${op.upgradeMode} stop of job ${op.jobId ?? "(none)"} done${op.restorePath ? `; state kept in ${op.restorePath}` : ""}`,
  );
  return "next";
}

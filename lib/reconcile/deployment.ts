import { parseReconciledSpec } from "../api/reconciled-spec";
import { FlinkDeploymentObject } from "../api/resources";
import { FlinkDeploymentSpec } from "../api/spec";
import { FlinkDeploymentStatus } from "../api/status";
import { clusterOf, restServiceName } from "../builders/metadata";
import { resourceLog } from "../log";
import { resolveSettings } from "../settings";
import { CANARY_LABEL, validateFlinkDeployment } from "../validation/flinkdeployment";
import { errorsOf, formatIssue } from "../validation/issues";
import { canonical } from "./changes";
import { buildManifests, syncCluster, type Event } from "./cluster-sync";
import { restService } from "./cluster-info";
import { deleteCluster } from "./deletion";
import { errorText } from "./errors";
import { forgetHealth } from "./health";
import * as kube from "./kube";
import { acceptGeneration, deployedSpec, firstClusterStep, stopMode } from "./lifecycle";
import { observeCluster, readyJobManagerClient, taskManagerStatus } from "./observe-cluster";
import { advanceOperation } from "./operation";
import { QueueResult } from "./queue";
import { Blocked, finishStatus } from "./status";
import { superviseJob } from "./supervise";
import { Stuck } from "./why-stuck";

/** What a reconcile pass needs from outside: the operator ConfigMap (flattened, unlayered) and a clock. */
export interface ReconcileEnv {
  defaults: () => Promise<Record<string, string>>;
  now?: () => Date;
}

/** One reconcile pass of a FlinkDeployment: observe, validate, act on the difference, record status. */
export async function reconcileDeployment(
  namespace: string,
  name: string,
  env: ReconcileEnv,
): Promise<QueueResult> {
  const dep = await kube.getFlinkDeployment(namespace, name);
  if (!dep) return {};
  const clock = () => env.now?.() ?? new Date();
  const now = clock();
  const log = resourceLog("FlinkDeployment", namespace, name);
  const deleting = !!dep.metadata?.deletionTimestamp;
  // A deletion must end even when the operator ConfigMap cannot be read: then with the built-in defaults.
  const operatorConfig = await env.defaults().catch(e => {
    if (!deleting) throw e;
    log.warn("cannot read the operator ConfigMap; deleting with the built-in defaults", {
      error: errorText(e),
    });
    return {};
  });
  const resolved = resolveSettings({
    operatorConfig,
    namespace,
    flinkVersion: dep.spec?.flinkVersion,
    resource: dep.spec?.flinkConfiguration as Record<string, string> | undefined,
  });
  const settings = resolved.operator;
  if (deleting) {
    forgetHealth(dep.metadata!.uid!);
    return deleteCluster(dep, settings, clock);
  }
  if (dep.metadata?.labels?.[CANARY_LABEL] === "true") return {};
  await kube.setFinalizer(dep, true);

  const before = dep.status ?? {};
  let status: FlinkDeploymentStatus = structuredClone(before);
  // Each write is a merge patch against what the apiserver holds: the status last written, not the one read.
  let written: FlinkDeploymentStatus = before;
  const save = async () => {
    await kube.patchDeploymentStatus({ ...dep, status: written }, status);
    written = structuredClone(status);
  };
  const generation = dep.metadata?.generation ?? 1;
  const events: Event[] = [];
  const event = (...e: Event) => events.push(e);
  const last = parseReconciledSpec<FlinkDeploymentSpec>(
    status.reconciliationStatus?.lastReconciledSpec,
  );
  const errors = errorsOf(validateFlinkDeployment(dep, { defaults: resolved.defaults }));
  const progress = settings.durationMs("observer.progress-check.interval");
  const resync = settings.durationMs("reconcile.interval");

  let blocked: Blocked | undefined;
  let conflict: string | undefined;
  if (errors.length) {
    const message = `spec generation ${generation} is invalid, ${last ? `generation ${last.generation} keeps running` : "nothing was deployed"}: ${errors.map(formatIssue).join("; ")}`;
    if (before.error !== message) event("Warning", "InvalidSpec", message);
    status.error = message;
    blocked = { reason: "InvalidSpec", message };
  } else {
    status.error = undefined;
    const accepted = acceptGeneration(last, dep.spec!, generation, status, now);
    if (accepted) {
      status = accepted.status;
      // Write-ahead: the target (and the stop it needs) is on record before anything changes.
      await save();
      event("Normal", last ? "SpecChanged" : "Submit", accepted.message);
    }
  }
  status.observedGeneration = generation;

  const target = deployedSpec(status);
  let requeue = resync;
  let observed: string | undefined;
  let stuck: Stuck | undefined;
  if (target) {
    const cluster = clusterOf(
      dep as unknown as FlinkDeploymentObject,
      target.generation ?? generation,
    );
    const workloadKind =
      (target.spec.mode ?? "native") === "standalone" ? "StatefulSet" : "Deployment";
    // The rest Service as the target builds it; built only when asked (a suspended job has no id to build with).
    const rest = () =>
      restService(
        buildManifests(dep, target, status, operatorConfig).manifests,
        restServiceName(cluster),
      );
    if (status.reconciliationStatus?.operation) {
      const result = await advanceOperation({
        namespace,
        name,
        uid: dep.metadata!.uid!,
        status,
        target: target.spec,
        settings,
        rest: () =>
          readyJobManagerClient(cluster, [workloadKind], dep.metadata!.uid!, rest(), settings),
        save,
        event,
        now: clock,
      });
      if (!result.done) {
        requeue = result.waitMs;
        const prev = before.conditions?.find(c => c.type === "Ready");
        if (result.blocked && prev?.reason !== result.blocked.reason)
          event("Warning", result.blocked.reason, result.blocked.message);
        blocked ??= result.blocked;
      }
    }
    if (status.reconciliationStatus?.operation) {
      observed = undefined;
    } else if (target.spec.job?.state === "suspended") {
      status.jobManagerDeploymentStatus = "MISSING";
      status.taskManager = taskManagerStatus(cluster, 0);
      blocked ??= { reason: "Suspended", message: "the job is suspended: nothing runs" };
    } else {
      const synced = await syncCluster(
        dep,
        target,
        status,
        operatorConfig,
        cluster,
        workloadKind,
        event,
      );
      if (synced.stale) {
        // The pods run another spec and no stop is on record (a resource an older operator left mid-upgrade):
        // stop them the way the target's upgrade mode keeps the job's state, from the next pass on.
        status.reconciliationStatus = {
          ...status.reconciliationStatus,
          operation: {
            kind: "upgrade",
            upgradeMode: stopMode("redeploy", target.spec, target.spec),
            step: firstClusterStep(stopMode("redeploy", target.spec, target.spec), target.spec),
            jobId: status.jobStatus?.jobId,
            startedAt: now.getTime(),
          },
        };
        await save();
        requeue = 0;
      } else if (synced.conflict) {
        conflict = synced.conflict;
        blocked ??= { reason: "ChildConflict", message: conflict };
        status.error ??= conflict;
        if (before.error !== conflict) event("Warning", "ChildConflict", conflict);
      } else if (synced.blocked) {
        blocked ??= synced.blocked;
        ({
          requeue,
          message: observed,
          stuck,
        } = await observeCluster(cluster, synced.workloads, status, settings, now, rest()));
      } else if (synced.created) {
        // A JobManager created just now cannot be ready; its workload's watch event brings the next pass.
        status.jobManagerDeploymentStatus = "DEPLOYING";
        status.taskManager = taskManagerStatus(cluster, status.taskManager?.replicas ?? 0);
        requeue = progress;
      } else {
        const seen = await observeCluster(cluster, synced.workloads, status, settings, now, rest());
        ({ requeue, message: observed, stuck } = seen);
        const next = await superviseJob({
          uid: dep.metadata!.uid!,
          namespace,
          name,
          spec: target.spec,
          flinkConfig: resolved.config,
          status,
          settings,
          client: seen.client,
          save,
          event,
          now: clock,
        });
        if (next !== undefined) requeue = Math.min(requeue, next);
      }
    }
  }

  finishStatus(status, target?.spec, blocked, observed, now);
  if (
    before.jobManagerDeploymentStatus !== status.jobManagerDeploymentStatus &&
    status.jobManagerDeploymentStatus
  ) {
    event(
      status.jobManagerDeploymentStatus === "ERROR" ? "Warning" : "Normal",
      "JobManagerDeploymentStatus",
      `${before.jobManagerDeploymentStatus ?? "none"} -> ${status.jobManagerDeploymentStatus}`,
    );
  }
  // One Event per distinct cause, not one per pass.
  if (stuck && status.error === stuck.message && !before.error?.includes(stuck.summary))
    event("Warning", stuck.reason, stuck.message);
  if (canonical(written) !== canonical(status)) await save();
  for (const [, reason, message] of events) log.info(message, { reason });
  await Promise.all(
    events.map(([type, reason, message]) => kube.recordEvent(dep, type, reason, message)),
  );
  // Failing hands the retry to the queue's backoff: a conflict lasts until someone removes the object.
  if (conflict) throw new Error(conflict);
  const busy = !!status.reconciliationStatus?.operation;
  if (
    !busy &&
    target?.spec.job?.state !== "suspended" &&
    (blocked ||
      status.reconciliationStatus?.state === "UPGRADING" ||
      status.jobManagerDeploymentStatus !== "READY")
  )
    requeue = Math.min(requeue, progress);
  return { requeueAfterMs: requeue };
}

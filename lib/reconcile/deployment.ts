import type { KubernetesObject } from "@kubernetes/client-node";
import { createHash } from "node:crypto";
import { FlinkDeployment } from "../api/kinds";
import { parseReconciledSpec } from "../api/reconciled-spec";
import { FlinkDeploymentObject } from "../api/resources";
import { FlinkDeploymentSpec } from "../api/spec";
import { FlinkDeploymentStatus } from "../api/status";
import { buildClusterManifests } from "../builders";
import { clusterOf, jobManagerName, restServiceName } from "../builders/metadata";
import { resourceLog } from "../log";
import { resolveSettings } from "../settings";
import { CANARY_LABEL, validateFlinkDeployment } from "../validation/flinkdeployment";
import { errorsOf, formatIssue } from "../validation/issues";
import { canonical } from "./changes";
import { restService } from "./cluster-info";
import { deleteCluster } from "./deletion";
import { errorText } from "./errors";
import { crashPoint } from "./crash-points";
import * as kube from "./kube";
import { acceptGeneration, failedJobRestart, stopMode } from "./lifecycle";
import {
  observeCluster,
  readyJobManagerClient,
  taskManagerStatus,
  type ClusterRef,
} from "./observe-cluster";
import { advanceOperation } from "./operation";
import { advanceSnapshots } from "./snapshots";
import { childConflicts, conflictMessage } from "./ownership";
import { QueueResult } from "./queue";
import { Blocked, finishStatus } from "./status";
import { Stuck } from "./why-stuck";

/** What a reconcile pass needs from outside: the operator ConfigMap (flattened, unlayered) and a clock. */
export interface ReconcileEnv {
  defaults: () => Promise<Record<string, string>>;
  now?: () => Date;
}

/** Annotation on workloads: hash of everything that needs a restart to change, so a changed spec is seen as such. */
export const CLUSTER_HASH_ANNOTATION = "flink-pepr-operator/cluster-hash";

/** Workloads (JobManager, standalone TaskManagers) of the cluster: what a redeploy restarts. */
const isWorkload = (o: KubernetesObject) => o.kind === "Deployment" || o.kind === "StatefulSet";

/**
 * Hash of what the pods run (workloads and ConfigMaps), without what may change in place: replica counts and
 * the generation stamp. Equal hashes mean the running pods already run this spec.
 */
export function clusterHash(manifests: KubernetesObject[]): string {
  const runtime = manifests.filter(m => isWorkload(m) || m.kind === "ConfigMap");
  const stripped = runtime.map(m => {
    const copy = structuredClone(m) as KubernetesObject & { spec?: { replicas?: number } };
    delete copy.metadata?.annotations;
    if (isWorkload(copy) && copy.spec) delete copy.spec.replicas;
    return copy;
  });
  return createHash("sha256").update(canonical(stripped)).digest("hex").slice(0, 16);
}

function buildManifests(
  dep: FlinkDeployment,
  target: { spec: FlinkDeploymentSpec; generation?: number },
  status: FlinkDeploymentStatus,
  defaults: Record<string, string>,
) {
  const obj = { ...dep, spec: target.spec } as unknown as FlinkDeploymentObject;
  const manifests = buildClusterManifests(obj, {
    generation: target.generation ?? dep.metadata?.generation ?? 1,
    defaultConfiguration: defaults,
    jobId: target.spec.job ? status.jobStatus?.jobId : undefined,
    restorePath: target.spec.job ? status.reconciliationStatus?.restore?.path : undefined,
    deployId: target.spec.job
      ? String(status.reconciliationStatus?.reconciliationTimestamp ?? "")
      : undefined,
  });
  const hash = clusterHash(manifests);
  for (const m of manifests.filter(isWorkload))
    m.metadata!.annotations = { ...m.metadata!.annotations, [CLUSTER_HASH_ANNOTATION]: hash };
  return { manifests, hash };
}

type Event = [type: "Normal" | "Warning", reason: string, message: string];

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
  if (deleting) return deleteCluster(dep, settings, clock);
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

  const target = parseReconciledSpec<FlinkDeploymentSpec>(
    status.reconciliationStatus?.lastReconciledSpec,
  );
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
            step: target.spec.job?.upgradeMode === "savepoint" ? "savepoint" : "stop-cluster",
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
        const jobId = status.jobStatus?.jobId;
        if (seen.client && jobId && status.jobStatus?.state === "RUNNING") {
          const next = await advanceSnapshots({
            jobId,
            spec: target.spec,
            status,
            settings,
            client: seen.client,
            save,
            event,
            now: () => clock().getTime(),
          });
          if (next !== undefined) requeue = Math.min(requeue, next);
        }
        const restart = failedJobRestart(
          target.spec,
          status,
          settings.bool("job.restart.failed"),
          now,
        );
        if (restart) {
          status.reconciliationStatus = {
            ...status.reconciliationStatus,
            operation: restart,
            state: "UPGRADING",
          };
          await save();
          event(
            "Warning",
            "RestartFailedJob",
            `job ${restart.jobId} FAILED; restarting it (${restart.upgradeMode})`,
          );
          requeue = 0;
        }
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

interface Synced {
  workloads: KubernetesObject[];
  /** The running workloads were built from another spec, and the target is not deployed yet. */
  stale?: boolean;
  conflict?: string;
  /** Why the cluster is left as it is (the JobManager is gone and may not be recreated). */
  blocked?: Blocked;
  /** The JobManager workload was created by this pass. */
  created?: boolean;
}

/**
 * Makes the cluster's children match the target build: during an upgrade everything is applied (after the
 * stop, nothing of the old cluster runs); otherwise only missing children are, so changed operator defaults or
 * a newer operator take effect at the next spec change instead of restarting every running cluster.
 */
async function syncCluster(
  dep: FlinkDeployment,
  target: { spec: FlinkDeploymentSpec; generation?: number },
  status: FlinkDeploymentStatus,
  operatorConfig: Record<string, string>,
  cluster: ClusterRef,
  workloadKind: "Deployment" | "StatefulSet",
  event: (...e: Event) => void,
): Promise<Synced> {
  const { namespace, name, uid } = dep.metadata as { namespace: string; name: string; uid: string };
  const { manifests, hash } = buildManifests(dep, target, status, operatorConfig);
  const settings = resolveSettings({
    operatorConfig,
    namespace,
    flinkVersion: target.spec.flinkVersion,
    resource: target.spec.flinkConfiguration as Record<string, string> | undefined,
  }).operator;
  const upgrading = status.reconciliationStatus?.state === "UPGRADING";
  const last = parseReconciledSpec(status.reconciliationStatus?.lastStableSpec);
  // Before the first deployment there is nothing to prune or compare (a crashed first attempt built the same).
  const firstDeployment = !last && upgrading && !status.jobManagerDeploymentStatus;
  // Children of kinds the build no longer makes (an ingress removed from the spec) can only be left by an
  // upgrade, whose passes look for every kind; the others look only for the kinds they would recreate.
  const kinds = upgrading
    ? kube.childKindsOf(workloadKind)
    : kube.CHILD_KIND_NAMES.filter(k => manifests.some(m => m.kind === k));
  const children = firstDeployment ? [] : await kube.listAllChildren(namespace, name, uid, kinds);
  const workloads = children.filter(c => c.kind === workloadKind);
  const jobManager = workloads.find(w => w.metadata?.name === jobManagerName(cluster));
  const stale = workloads.some(w => w.metadata?.annotations?.[CLUSTER_HASH_ANNOTATION] !== hash);
  if (stale && upgrading) return { workloads, stale: true };
  const recovering = !jobManager && status.reconciliationStatus?.state === "DEPLOYED";
  if (recovering && !settings.bool("jm-deployment-recovery.enabled"))
    return {
      workloads,
      blocked: {
        reason: "JobManagerMissing",
        message:
          "the JobManager was deleted and kubernetes.operator.jm-deployment-recovery.enabled is false",
      },
    };
  const conflicts = await findConflicts(manifests, children, uid);
  if (conflicts.length) return { workloads, conflict: conflictMessage(conflicts) };
  const restored = await syncChildren(manifests, children, upgrading);
  if (upgrading) crashPoint("cluster-created");
  if (recovering)
    event(
      "Warning",
      "RecoverDeployment",
      "the JobManager was deleted behind the operator's back; recreated it",
    );
  else if (restored.length && !upgrading)
    event(
      "Warning",
      "RecreatedChildren",
      `recreated ${restored.join(", ")}, deleted behind the operator's back`,
    );
  if (upgrading) {
    status.reconciliationStatus = { ...status.reconciliationStatus, state: "DEPLOYED" };
    event("Normal", "Deployed", `generation ${target.generation} applied`);
  }
  return { workloads, created: !jobManager };
}

const childId = (o: KubernetesObject) => `${o.kind}/${o.metadata?.name}`;

/** Objects in the way of the children the pass would apply: those with their names that it does not control. */
async function findConflicts(desired: KubernetesObject[], ours: KubernetesObject[], uid: string) {
  const have = new Set(ours.map(childId));
  const unknown = desired.filter(d => !have.has(childId(d)));
  if (unknown.length === 0) return [];
  return childConflicts(unknown, await kube.findExisting(unknown), uid);
}

/**
 * Makes the children match the build: deletes those it no longer has (an ingress removed from the spec, say)
 * and applies all when asked or when any is missing. Returns the missing ones it recreated.
 */
async function syncChildren(
  desired: KubernetesObject[],
  present: KubernetesObject[],
  applyAll: boolean,
): Promise<string[]> {
  const wanted = new Set(desired.map(childId));
  const have = new Set(present.map(childId));
  for (const child of present) {
    if (!wanted.has(childId(child)))
      await kube.deleteChild(
        child.kind as kube.ChildKind,
        child.metadata!.namespace!,
        child.metadata!.name!,
        child.metadata!.uid!,
      );
  }
  const missing = desired.map(childId).filter(k => !have.has(k));
  // A uid in an apply patches that very object or fails (422 once replaced, 409 once gone): a child replaced by
  // someone else's object after the list is neither taken over nor recreated unchecked.
  const uids = new Map(present.map(p => [childId(p), p.metadata?.uid]));
  const pinned = (d: KubernetesObject) =>
    uids.has(childId(d)) ? { ...d, metadata: { ...d.metadata, uid: uids.get(childId(d)) } } : d;
  // Outside an upgrade only what is missing is applied: anything else may run an older build on purpose.
  if (applyAll) await kube.applyAll(desired.map(pinned));
  else if (missing.length) await kube.applyAll(desired.filter(d => !have.has(childId(d))));
  return missing;
}

import type { KubernetesObject, V1Deployment, V1StatefulSet } from "@kubernetes/client-node";
import { createHash, randomBytes } from "node:crypto";
import { FlinkDeployment } from "../api/kinds";
import { FlinkRestClient } from "../flink/client";
import { parseReconciledSpec, serializeReconciledSpec } from "../api/reconciled-spec";
import { FlinkDeploymentObject } from "../api/resources";
import { FlinkDeploymentSpec } from "../api/spec";
import { FlinkDeploymentStatus } from "../api/status";
import { buildClusterManifests } from "../builders";
import {
  clusterOf,
  jobManagerName,
  restServiceName,
  roleLabels,
  taskManagerName,
} from "../builders/metadata";
import { resourceLog } from "../log";
import { OperatorSettings, resolveSettings } from "../settings";
import { CANARY_LABEL, validateFlinkDeployment } from "../validation/flinkdeployment";
import { errorsOf, formatIssue } from "../validation/issues";
import { canonical, classifySpecChange } from "./changes";
import { fetchClusterInfo, resolveRestEndpoint, restAccess, restService } from "./cluster-info";
import { deleteCluster } from "./deletion";
import { errorText } from "./errors";
import * as kube from "./kube";
import { jobStatusFromOverview, observeJobManager } from "./observe";
import { childConflicts, conflictMessage } from "./ownership";
import { QueueResult } from "./queue";
import { Blocked, finishStatus } from "./status";

/** What a reconcile pass needs from outside: the operator ConfigMap (flattened, unlayered) and a clock. */
export interface ReconcileEnv {
  defaults: () => Promise<Record<string, string>>;
  now?: () => Date;
}

/** Annotation on workloads: hash of everything that needs a restart to change, so a changed spec is seen as such. */
export const CLUSTER_HASH_ANNOTATION = "flink-pepr-operator/cluster-hash";

const newJobId = () => randomBytes(16).toString("hex");

/** Workloads (JobManager, standalone TaskManagers) of the cluster: what a redeploy restarts. */
const isWorkload = (o: KubernetesObject) => o.kind === "Deployment" || o.kind === "StatefulSet";

/**
 * Hash of the manifests without what may change in place: replica counts and the generation stamp. Equal
 * hashes mean the running pods already run this spec.
 */
export function clusterHash(manifests: KubernetesObject[]): string {
  const stripped = manifests.map(m => {
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
    deployId: target.spec.job
      ? String(status.reconciliationStatus?.reconciliationTimestamp ?? "")
      : undefined,
  });
  const hash = clusterHash(manifests);
  for (const m of manifests.filter(isWorkload))
    m.metadata!.annotations = { ...m.metadata!.annotations, [CLUSTER_HASH_ANNOTATION]: hash };
  return { manifests, hash };
}

/** One reconcile pass of a FlinkDeployment: observe, validate, act on the difference, record status. */
export async function reconcileDeployment(
  namespace: string,
  name: string,
  env: ReconcileEnv,
): Promise<QueueResult> {
  const dep = await kube.getFlinkDeployment(namespace, name);
  if (!dep) return {};
  const now = env.now?.() ?? new Date();
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
  if (deleting) return deleteCluster(dep, settings, () => env.now?.() ?? new Date());
  if (dep.metadata?.labels?.[CANARY_LABEL] === "true") return {};
  await kube.setFinalizer(dep, true);

  const before = dep.status ?? {};
  const status: FlinkDeploymentStatus = structuredClone(before);
  const generation = dep.metadata?.generation ?? 1;
  const events: Array<[type: "Normal" | "Warning", reason: string, message: string]> = [];
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
    if (before.error !== message) events.push(["Warning", "InvalidSpec", message]);
    status.error = message;
    blocked = { reason: "InvalidSpec", message };
  } else {
    status.error = undefined;
    const spec = dep.spec!;
    const change = last ? classifySpecChange(last.spec, spec) : "redeploy";
    const statefulJob =
      last && spec.job && spec.job.upgradeMode !== "stateless" && change === "redeploy";
    if (statefulJob) {
      // Restarting now would drop the job's state; stateful upgrades come with the job lifecycle.
      blocked = {
        reason: "UpgradePending",
        message: `generation ${generation} needs a ${spec.job!.upgradeMode} upgrade of the running job, which this operator version does not perform yet; generation ${last!.generation} keeps running`,
      };
      const prev = before.conditions?.find(c => c.type === "Ready");
      if (prev?.reason !== "UpgradePending" || !prev.message?.startsWith(blocked.message))
        events.push(["Warning", "UpgradePending", blocked.message]);
    } else if (!last || (change !== "none" && last.generation !== generation)) {
      status.reconciliationStatus = {
        ...status.reconciliationStatus,
        lastReconciledSpec: serializeReconciledSpec({ spec, generation, firstDeployment: !last }),
        reconciliationTimestamp: now.getTime(),
        state: change === "ignore" ? "DEPLOYED" : "UPGRADING",
      };
      if (spec.job && (change === "redeploy" || !status.jobStatus?.jobId))
        status.jobStatus = { ...status.jobStatus, jobId: newJobId(), state: undefined };
      // Write-ahead: the target is on record before anything changes, so a restarted operator resumes it.
      await kube.patchDeploymentStatus(dep, status);
      events.push([
        "Normal",
        last ? "SpecChanged" : "Submit",
        last ? `generation ${generation}: ${change}` : `deploying generation ${generation}`,
      ]);
    }
  }
  status.observedGeneration = generation;

  const target = parseReconciledSpec<FlinkDeploymentSpec>(
    status.reconciliationStatus?.lastReconciledSpec,
  );
  let requeue = resync;
  let observed: string | undefined;
  if (target) {
    const cluster = clusterOf(
      dep as unknown as FlinkDeploymentObject,
      target.generation ?? generation,
    );
    const { manifests, hash } = buildManifests(dep, target, status, operatorConfig);
    const workloadKind =
      (target.spec.mode ?? "native") === "standalone" ? "StatefulSet" : "Deployment";
    const upgrading = status.reconciliationStatus?.state === "UPGRADING";
    // Before the first deployment there is nothing to prune or compare (a crashed first attempt built the same).
    const firstDeployment = !last && upgrading;
    // Children of kinds the build no longer makes (an ingress removed from the spec) can only be left by an
    // upgrade, whose passes look for every kind; the others look only for the kinds they would recreate.
    const kinds = upgrading
      ? kube.childKindsOf(workloadKind)
      : kube.CHILD_KIND_NAMES.filter(k => manifests.some(m => m.kind === k));
    const children = firstDeployment
      ? []
      : await kube.listAllChildren(namespace, name, dep.metadata!.uid!, kinds);
    const existing = children.filter(c => c.kind === workloadKind);
    const jobManager = existing.find(w => w.metadata?.name === jobManagerName(cluster));
    const stale = existing.filter(w => w.metadata?.annotations?.[CLUSTER_HASH_ANNOTATION] !== hash);
    // Only a new target spec restarts a cluster. Changed operator defaults or a newer operator also change the
    // build, but restarting every running cluster for them would drop jobs' state; they apply at the next change.
    // An upgrade already on record is finished even while a newer spec is blocked.
    if (stale.length && upgrading) {
      for (const w of [...stale, ...(await kube.listHaConfigMaps(namespace, name))])
        await kube.deleteChild(
          (w.kind ?? "ConfigMap") as kube.ChildKind,
          namespace,
          w.metadata!.name!,
          w.metadata!.uid!,
        );
      events.push([
        "Normal",
        "Redeploying",
        `stopping the cluster of an earlier spec (${stale.map(w => w.metadata!.name).join(", ")})`,
      ]);
      status.jobManagerDeploymentStatus = "DEPLOYING";
      requeue = 1000;
    } else {
      const recovering = !jobManager && status.reconciliationStatus?.state === "DEPLOYED";
      if (recovering && !settings.bool("jm-deployment-recovery.enabled")) {
        blocked ??= {
          reason: "JobManagerMissing",
          message:
            "the JobManager was deleted and kubernetes.operator.jm-deployment-recovery.enabled is false",
        };
        ({ requeue, message: observed } = await observe(
          cluster,
          existing,
          status,
          settings,
          now,
          restService(manifests, restServiceName(cluster)),
        ));
      } else {
        const conflicts = await findConflicts(manifests, children, dep.metadata!.uid!);
        if (conflicts.length) {
          conflict = conflictMessage(conflicts);
          blocked ??= { reason: "ChildConflict", message: conflict };
          status.error ??= conflict;
          if (before.error !== conflict) events.push(["Warning", "ChildConflict", conflict]);
        } else {
          const restored = await syncChildren(manifests, children, upgrading);
          if (recovering)
            events.push([
              "Warning",
              "RecoverDeployment",
              "the JobManager was deleted behind the operator's back; recreated it",
            ]);
          else if (restored.length && !upgrading)
            events.push([
              "Warning",
              "RecreatedChildren",
              `recreated ${restored.join(", ")}, deleted behind the operator's back`,
            ]);
          if (upgrading) {
            status.reconciliationStatus = { ...status.reconciliationStatus, state: "DEPLOYED" };
            events.push(["Normal", "Deployed", `generation ${target.generation} applied`]);
          }
          if (!jobManager) {
            // A JobManager created just now cannot be ready; its workload's watch event brings the next pass.
            status.jobManagerDeploymentStatus = "DEPLOYING";
            status.taskManager = taskManagerStatus(cluster, status.taskManager?.replicas ?? 0);
            requeue = progress;
          } else {
            ({ requeue, message: observed } = await observe(
              cluster,
              existing,
              status,
              settings,
              now,
              restService(manifests, restServiceName(cluster)),
            ));
          }
        }
      }
    }
  }

  finishStatus(status, target?.spec, blocked, observed, now);
  if (
    before.jobManagerDeploymentStatus !== status.jobManagerDeploymentStatus &&
    status.jobManagerDeploymentStatus
  ) {
    events.push([
      status.jobManagerDeploymentStatus === "ERROR" ? "Warning" : "Normal",
      "JobManagerDeploymentStatus",
      `${before.jobManagerDeploymentStatus ?? "none"} -> ${status.jobManagerDeploymentStatus}`,
    ]);
  }
  if (canonical(before) !== canonical(status)) await kube.patchDeploymentStatus(dep, status);
  for (const [, reason, message] of events) log.info(message, { reason });
  await Promise.all(
    events.map(([type, reason, message]) => kube.recordEvent(dep, type, reason, message)),
  );
  // Failing hands the retry to the queue's backoff: a conflict lasts until someone removes the object.
  if (conflict) throw new Error(conflict);
  if (
    blocked ||
    status.reconciliationStatus?.state === "UPGRADING" ||
    status.jobManagerDeploymentStatus !== "READY"
  )
    requeue = Math.min(requeue, progress);
  return { requeueAfterMs: requeue };
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
 * Observes the workloads listed by the pass (so no second read); pods only where a workload is not all ready.
 * Returns when to look again and, when not ready, why.
 */
async function observe(
  cluster: ReturnType<typeof clusterOf>,
  workloads: KubernetesObject[],
  status: FlinkDeploymentStatus,
  settings: OperatorSettings,
  now: Date,
  rest: ReturnType<typeof restService>,
) {
  const ns = cluster.namespace;
  const jm = workloads.find(w => w.metadata?.name === jobManagerName(cluster)) as
    | V1Deployment
    | V1StatefulSet
    | undefined;
  const allReady = !!jm && (jm.status?.readyReplicas ?? 0) >= (jm.spec?.replicas ?? 1);
  const pods = jm && !allReady ? await kube.listPods(ns, roleLabels(cluster, "jobmanager")) : [];
  const seen = observeJobManager(jm, pods);
  status.jobManagerDeploymentStatus = seen.state;
  let tmReplicas: number;
  if (cluster.mode === "standalone") {
    const tm = workloads.find(w => w.metadata?.name === taskManagerName(cluster)) as
      | V1StatefulSet
      | undefined;
    tmReplicas = tm?.status?.replicas ?? 0;
  } else {
    tmReplicas = (await kube.listPods(ns, roleLabels(cluster, "taskmanager"))).length;
  }
  status.taskManager = taskManagerStatus(cluster, tmReplicas);
  if (seen.state === "READY" && rest) {
    const endpoint = await resolveRestEndpoint(
      restAccess(settings.string("flink.rest.access")),
      rest,
    );
    const client = new FlinkRestClient({
      ...endpoint,
      timeoutMs: settings.durationMs("flink.client.timeout"),
      retries: 0,
    });
    // Best effort: a ready pod has passed its REST startup probe; a failed call only leaves status as it was.
    status.clusterInfo = await fetchClusterInfo(client).catch(() => status.clusterInfo);
    if (status.jobStatus?.jobId) {
      const job = await client
        .jobsOverview()
        .then(jobs => jobStatusFromOverview(jobs, status.jobStatus?.jobId))
        .catch(() => undefined);
      if (job) status.jobStatus = { ...status.jobStatus, ...job };
    }
  }
  const prev = status.conditions?.find(c => c.type === "Ready");
  const waitedMs =
    prev?.status === "False" && prev.lastTransitionTime
      ? now.getTime() - Date.parse(prev.lastTransitionTime)
      : 0;
  const timeout = settings.durationMs("deployment.readiness.timeout");
  let message = seen.message;
  if (seen.state === "DEPLOYING" && waitedMs > timeout)
    message = `not ready within kubernetes.operator.deployment.readiness.timeout: ${message}`;
  // A job on its way to RUNNING (or out of it) is looked at again soon, like a JobManager that is not ready.
  const settled = !status.jobStatus?.jobId || status.jobStatus.state === "RUNNING";
  return {
    requeue:
      seen.state === "READY" && settled
        ? settings.durationMs("reconcile.interval")
        : settings.durationMs("observer.progress-check.interval"),
    message,
  };
}

/** The scale subresource's view: current TaskManager count and the selector of their pods. */
function taskManagerStatus(cluster: ReturnType<typeof clusterOf>, replicas: number) {
  const labels = roleLabels(cluster, "taskmanager");
  return {
    replicas,
    labelSelector: Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(","),
  };
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

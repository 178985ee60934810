import type { KubernetesObject } from "@kubernetes/client-node";
import { createHash } from "node:crypto";
import { FlinkDeployment } from "../api/kinds";
import { parseReconciledSpec } from "../api/reconciled-spec";
import { FlinkDeploymentObject } from "../api/resources";
import { FlinkDeploymentSpec } from "../api/spec";
import { FlinkDeploymentStatus } from "../api/status";
import { buildClusterManifests } from "../builders";
import { jobManagerName } from "../builders/metadata";
import { resolveSettings } from "../settings";
import { canonical } from "./changes";
import { crashPoint } from "./crash-points";
import * as kube from "./kube";
import type { ClusterRef } from "./observe-cluster";
import { childConflicts, conflictMessage } from "./ownership";
import { Blocked } from "./status";

/** A Kubernetes Event a pass records: type, reason, message. */
export type Event = [type: "Normal" | "Warning", reason: string, message: string];

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

export function buildManifests(
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

export interface Synced {
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
export async function syncCluster(
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
  const rollingBack = status.reconciliationStatus?.state === "ROLLING_BACK";
  const upgrading = status.reconciliationStatus?.state === "UPGRADING" || rollingBack;
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
  const recovering =
    !jobManager && ["DEPLOYED", "ROLLED_BACK"].includes(status.reconciliationStatus?.state ?? "");
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
    status.reconciliationStatus = {
      ...status.reconciliationStatus,
      state: rollingBack ? "ROLLED_BACK" : "DEPLOYED",
    };
    if (rollingBack)
      event("Warning", "RolledBack", `rolled back: generation ${target.generation} applied again`);
    else event("Normal", "Deployed", `generation ${target.generation} applied`);
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

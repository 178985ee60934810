import type { KubernetesObject } from "@kubernetes/client-node";
import { K8s, kind } from "kubernetes-fluent-client";
import { FlinkDeployment, FlinkSessionJob } from "../api/kinds";
import { FlinkDeploymentStatus } from "../api/status";
import { TARGET_SESSION_LABEL } from "../admission";
import { mergePatch } from "./status";

/** Finalizer that holds a FlinkDeployment until its cluster and HA data are gone. */
export const FINALIZER = "flinkdeployments.flink.apache.org/finalizer";

/** The child kinds a FlinkDeployment owns, in the order they are deleted (workloads first). */
const CHILD_KINDS = {
  Deployment: kind.Deployment,
  StatefulSet: kind.StatefulSet,
  Ingress: kind.Ingress,
  Service: kind.Service,
  ConfigMap: kind.ConfigMap,
} as const;
export type ChildKind = keyof typeof CHILD_KINDS;
export const CHILD_KIND_NAMES = Object.keys(CHILD_KINDS) as ChildKind[];

export const isNotFound = (e: unknown) => (e as { status?: number })?.status === 404;

async function getOrUndefined<T>(get: () => Promise<T>): Promise<T | undefined> {
  try {
    return await get();
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

export const getFlinkDeployment = (namespace: string, name: string) =>
  getOrUndefined(() => K8s(FlinkDeployment).InNamespace(namespace).Get(name));

/** Server-side apply, forcing ownership of the fields the operator manages. */
export async function applyAll(objects: KubernetesObject[]): Promise<void> {
  for (const obj of objects) {
    const model = CHILD_KINDS[obj.kind as ChildKind];
    if (!model) throw new Error(`no client for kind ${obj.kind}`);
    await K8s(model).Apply(obj as never, { force: true });
  }
}

/** Children of a FlinkDeployment: labelled with its name and owned by its uid. */
export async function listChildren(namespace: string, name: string, uid: string, kindName: ChildKind): Promise<KubernetesObject[]> {
  const list = await K8s(CHILD_KINDS[kindName]).InNamespace(namespace).WithLabel("app", name).Get();
  return (list.items as KubernetesObject[]).filter(o => o.metadata?.ownerReferences?.some(r => r.uid === uid));
}

/**
 * The kinds a cluster with this JobManager workload kind can own: the mode never changes after the first
 * deploy, so the other workload kind need not be listed.
 */
export const childKindsOf = (workloadKind: "Deployment" | "StatefulSet") =>
  CHILD_KIND_NAMES.filter(k => k === workloadKind || (k !== "Deployment" && k !== "StatefulSet"));

/** Children of the given kinds, listed concurrently, each with its kind set (lists leave it out of items). */
export async function listAllChildren(namespace: string, name: string, uid: string, kinds: readonly ChildKind[]): Promise<KubernetesObject[]> {
  const lists = await Promise.all(kinds.map(async k => (await listChildren(namespace, name, uid, k)).map(o => ({ ...o, kind: k }))));
  return lists.flat();
}

export async function deleteChild(kindName: ChildKind, namespace: string, name: string): Promise<void> {
  await K8s(CHILD_KINDS[kindName]).InNamespace(namespace).Delete(name);
}

/** ConfigMaps Flink's Kubernetes HA services create for a cluster (not owned by the FlinkDeployment). */
export async function listHaConfigMaps(namespace: string, clusterId: string) {
  const list = await K8s(kind.ConfigMap).InNamespace(namespace).WithLabel("app", clusterId).WithLabel("configmap-type", "high-availability").Get();
  return list.items;
}

export async function listPods(namespace: string, labels: Record<string, string>) {
  let query = K8s(kind.Pod).InNamespace(namespace);
  for (const [k, v] of Object.entries(labels)) query = query.WithLabel(k, v);
  return (await query.Get()).items;
}

export const getWorkload = (kindName: "Deployment" | "StatefulSet", namespace: string, name: string) =>
  getOrUndefined(() => K8s(kindName === "Deployment" ? kind.Deployment : kind.StatefulSet).InNamespace(namespace).Get(name));

export async function listSessionJobs(namespace: string, deploymentName: string) {
  const list = await K8s(FlinkSessionJob).InNamespace(namespace).WithLabel(TARGET_SESSION_LABEL, deploymentName).Get();
  return list.items;
}

export async function namespaceTerminating(namespace: string): Promise<boolean> {
  const ns = await getOrUndefined(() => K8s(kind.Namespace).Get(namespace));
  return !ns || !!ns.metadata?.deletionTimestamp || ns.status?.phase === "Terminating";
}

/** Writes the difference between the status the pass read (dep.status) and `status`, removed fields included. */
export async function patchDeploymentStatus(dep: FlinkDeployment, status: FlinkDeploymentStatus): Promise<void> {
  const patch = mergePatch(dep.status ?? {}, status);
  await K8s(FlinkDeployment).PatchStatus({ metadata: { name: dep.metadata!.name, namespace: dep.metadata!.namespace }, status: patch } as never);
}

/** Adds or removes the finalizer with a JSON patch that fails rather than clobber a concurrent change. */
export async function setFinalizer(dep: FlinkDeployment, present: boolean): Promise<void> {
  const finalizers = dep.metadata?.finalizers ?? [];
  const has = finalizers.includes(FINALIZER);
  if (has === present) return;
  const target = K8s(FlinkDeployment, { namespace: dep.metadata!.namespace, name: dep.metadata!.name });
  if (present) {
    await target.Patch(
      finalizers.length === 0
        ? [{ op: "add", path: "/metadata/finalizers", value: [FINALIZER] }]
        : [{ op: "add", path: "/metadata/finalizers/-", value: FINALIZER }],
    );
  } else {
    const i = finalizers.indexOf(FINALIZER);
    await target.Patch([
      { op: "test", path: `/metadata/finalizers/${i}`, value: FINALIZER },
      { op: "remove", path: `/metadata/finalizers/${i}` },
    ]);
  }
}

/** A Kubernetes Event on the FlinkDeployment, as kubectl describe shows them. */
export async function recordEvent(obj: KubernetesObject, type: "Normal" | "Warning", reason: string, message: string): Promise<void> {
  const now = new Date().toISOString();
  await K8s(kind.CoreEvent).Create({
    apiVersion: "v1",
    kind: "Event",
    metadata: { generateName: `${obj.metadata!.name}.`, namespace: obj.metadata!.namespace },
    involvedObject: {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      name: obj.metadata!.name,
      namespace: obj.metadata!.namespace,
      uid: obj.metadata!.uid,
    },
    reason,
    message: message.slice(0, 1024),
    type,
    source: { component: "flink-pepr-operator" },
    reportingComponent: "flink-pepr-operator",
    firstTimestamp: now as never,
    lastTimestamp: now as never,
    count: 1,
  });
}

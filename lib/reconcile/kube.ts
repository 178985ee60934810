import type { CoreV1Event, KubernetesObject, V1Namespace, V1Pod } from "@kubernetes/client-node";
import { FlinkDeployment, FlinkSessionJob } from "../api/kinds";
import { FlinkDeploymentStatus, FlinkSessionJobStatus } from "../api/status";
import { TARGET_SESSION_LABEL } from "../api/resources";
import { log } from "../log";
import { call, getText, labelSelector, pathOf, type Kind } from "./api";
import { controlledBy } from "./ownership";
import { mergePatch } from "./status";

/** Finalizer that holds a FlinkDeployment until its cluster and HA data are gone. */
export const FINALIZER = "flinkdeployments.flink.apache.org/finalizer";
/** Finalizer that holds a FlinkSessionJob until its job is stopped (the reference operator's name). */
export const SESSION_JOB_FINALIZER = "flinksessionjobs.flink.apache.org/finalizer";

const FINALIZERS = { FlinkDeployment: FINALIZER, FlinkSessionJob: SESSION_JOB_FINALIZER };
type OwnKind = keyof typeof FINALIZERS;

/** Field manager of the operator's server-side applies (the fluent client's default, which earlier versions used). */
const FIELD_MANAGER = "pepr";

/** The child kinds a FlinkDeployment owns, in the order they are deleted (workloads first). */
export const CHILD_KIND_NAMES = [
  "Deployment",
  "StatefulSet",
  "Ingress",
  "Service",
  "ConfigMap",
] as const satisfies readonly Kind[];
export type ChildKind = (typeof CHILD_KIND_NAMES)[number];

export const isNotFound = (e: unknown) => (e as { status?: number })?.status === 404;

async function getOrUndefined<T>(get: () => Promise<T>): Promise<T | undefined> {
  try {
    return await get();
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

async function list<T = KubernetesObject>(
  kindName: Kind,
  namespace: string,
  selector: { labelSelector: string } | { fieldSelector: string },
): Promise<T[]> {
  const res = await call<{ items: T[] }>("GET", pathOf(kindName, namespace, undefined, selector));
  return res.items;
}

const byLabels = (labels: Record<string, string>) => ({ labelSelector: labelSelector(labels) });

/** Every FlinkDeployment in the cluster. */
export const listFlinkDeployments = () =>
  call<{ items: FlinkDeployment[] }>("GET", pathOf("FlinkDeployment")).then(r => r.items);

export const getFlinkDeployment = (namespace: string, name: string) =>
  getOrUndefined(() => call<FlinkDeployment>("GET", pathOf("FlinkDeployment", namespace, name)));

/** Every FlinkSessionJob, in all namespaces: the session job controller's resync. */
export const listFlinkSessionJobs = () =>
  call<{ items: FlinkSessionJob[] }>("GET", pathOf("FlinkSessionJob")).then(r => r.items);

export const getFlinkSessionJob = (namespace: string, name: string) =>
  getOrUndefined(() => call<FlinkSessionJob>("GET", pathOf("FlinkSessionJob", namespace, name)));

/** Server-side apply, forcing ownership of the fields the operator manages. ConfigMaps go first: workloads mount them. */
export async function applyAll(objects: KubernetesObject[]): Promise<void> {
  const apply = (obj: KubernetesObject) => {
    if (!(CHILD_KIND_NAMES as readonly string[]).includes(obj.kind ?? ""))
      throw new Error(`no client for kind ${obj.kind}`);
    const path = pathOf(obj.kind as ChildKind, obj.metadata!.namespace, obj.metadata!.name, {
      fieldManager: FIELD_MANAGER,
      force: "true",
    });
    return call("PATCH", path, obj, "application/apply-patch+yaml");
  };
  await Promise.all(objects.filter(o => o.kind === "ConfigMap").map(apply));
  await Promise.all(objects.filter(o => o.kind !== "ConfigMap").map(apply));
}

/** Children of a FlinkDeployment: labelled with its name and controlled by its uid. */
export async function listChildren(
  namespace: string,
  name: string,
  uid: string,
  kindName: ChildKind,
): Promise<KubernetesObject[]> {
  const items = await list(kindName, namespace, byLabels({ app: name }));
  return items.filter(o => controlledBy(o, uid));
}

/**
 * The objects that exist with the kinds and names of `wanted`, whoever owns them: what an apply would land on.
 * A list by name rather than a get, so that kinds the operator may only list need no more permissions.
 */
export async function findExisting(wanted: KubernetesObject[]): Promise<KubernetesObject[]> {
  const found = await Promise.all(
    wanted.map(async w =>
      (
        await list(w.kind as ChildKind, w.metadata!.namespace!, {
          fieldSelector: `metadata.name=${w.metadata!.name}`,
        })
      ).map(o => ({ ...o, kind: w.kind })),
    ),
  );
  return found.flat();
}

/**
 * The kinds a cluster with this JobManager workload kind can own: the mode never changes after the first
 * deploy, so the other workload kind need not be listed.
 */
export const childKindsOf = (workloadKind: "Deployment" | "StatefulSet") =>
  CHILD_KIND_NAMES.filter(k => k === workloadKind || (k !== "Deployment" && k !== "StatefulSet"));

/** Children of the given kinds, listed concurrently, each with its kind set (lists leave it out of items). */
export async function listAllChildren(
  namespace: string,
  name: string,
  uid: string,
  kinds: readonly ChildKind[],
): Promise<KubernetesObject[]> {
  const lists = await Promise.all(
    kinds.map(async k =>
      (await listChildren(namespace, name, uid, k)).map(o => ({ ...o, kind: k })),
    ),
  );
  return lists.flat();
}

/**
 * Deletes the object with this uid: one already gone is fine, and so is one replaced in the meantime by another
 * of the same name (the uid precondition fails with 409), which is not the operator's to delete.
 */
export async function deleteChild(
  kindName: ChildKind,
  namespace: string,
  name: string,
  uid: string,
  propagationPolicy: "Background" | "Foreground" = "Background",
): Promise<void> {
  try {
    await call("DELETE", pathOf(kindName, namespace, name), {
      apiVersion: "v1",
      kind: "DeleteOptions",
      preconditions: { uid },
      propagationPolicy,
    });
  } catch (e) {
    if (!isNotFound(e) && (e as { status?: number })?.status !== 409) throw e;
  }
}

/**
 * ConfigMaps Flink's Kubernetes HA services create for a cluster: `<cluster-id>-cluster-config-map` and one
 * `<cluster-id>-<job id>-config-map` per job. They carry no owner reference, and Flink 2.x dropped the
 * `configmap-type: high-availability` label 1.x gives them, so they are found by Flink's labels and their names.
 */
export async function listHaConfigMaps(namespace: string, clusterId: string) {
  const all = await list(
    "ConfigMap",
    namespace,
    byLabels({ app: clusterId, type: "flink-native-kubernetes" }),
  );
  return all.filter(cm => isHaConfigMapName(cm.metadata?.name ?? "", clusterId));
}

export const isHaConfigMapName = (name: string, clusterId: string) =>
  name === `${clusterId}-cluster-config-map` ||
  new RegExp(`^${clusterId.replace(/[.]/g, "\\.")}-[0-9a-f]{32}-config-map$`).test(name);

/** Scales a workload to `replicas`, only if it is still the object with this uid (a JSON patch test). */
export async function scaleWorkload(
  kindName: "Deployment" | "StatefulSet",
  namespace: string,
  name: string,
  uid: string,
  replicas: number,
): Promise<void> {
  await call(
    "PATCH",
    pathOf(kindName, namespace, name),
    [
      { op: "test", path: "/metadata/uid", value: uid },
      { op: "replace", path: "/spec/replicas", value: replicas },
    ],
    "application/json-patch+json",
  );
}

/** Removes keys from a ConfigMap; a key already gone is fine (a merge patch of null). */
export async function removeConfigMapKeys(namespace: string, name: string, keys: string[]) {
  if (keys.length === 0) return;
  await call(
    "PATCH",
    pathOf("ConfigMap", namespace, name),
    { data: Object.fromEntries(keys.map(k => [k, null])) },
    "application/merge-patch+json",
  );
}

export const listPods = (namespace: string, labels: Record<string, string>) =>
  list<V1Pod>("Pod", namespace, byLabels(labels));

/** Warning events with this reason about one object (by uid, so a namesake's old events are left out). */
export const listEventsAbout = (namespace: string, uid: string, reason: string) =>
  list<CoreV1Event>("Event", namespace, {
    fieldSelector: `involvedObject.uid=${uid},reason=${reason},type=Warning`,
  });

/** The end of a container's log before its last restart, at most `limitBytes`. */
export const previousLog = (
  namespace: string,
  pod: string,
  container: string,
  tailLines: number,
  limitBytes: number,
) =>
  getText(
    `${pathOf("Pod", namespace, pod)}/log?${new URLSearchParams({
      container,
      previous: "true",
      tailLines: String(tailLines),
      limitBytes: String(limitBytes),
    })}`,
  );

/** Whether a service account exists; undefined when the apiserver would not say. */
export async function serviceAccountExists(
  namespace: string,
  name: string,
): Promise<boolean | undefined> {
  try {
    await call("GET", pathOf("ServiceAccount", namespace, name));
    return true;
  } catch (e) {
    return isNotFound(e) ? false : undefined;
  }
}

export const listSessionJobs = (namespace: string, deploymentName: string) =>
  list<FlinkSessionJob>(
    "FlinkSessionJob",
    namespace,
    byLabels({ [TARGET_SESSION_LABEL]: deploymentName }),
  );

export async function namespaceTerminating(namespace: string): Promise<boolean> {
  const ns = await getOrUndefined(() =>
    call<V1Namespace>("GET", pathOf("Namespace", undefined, namespace)),
  );
  return !ns || !!ns.metadata?.deletionTimestamp || ns.status?.phase === "Terminating";
}

/** Writes the difference between the status the pass read (dep.status) and `status`, removed fields included. */
export async function patchDeploymentStatus(
  dep: FlinkDeployment,
  status: FlinkDeploymentStatus,
): Promise<void> {
  await patchStatus("FlinkDeployment", dep, status);
}

/** The same for a FlinkSessionJob. */
export async function patchSessionJobStatus(
  job: FlinkSessionJob,
  status: FlinkSessionJobStatus,
): Promise<void> {
  await patchStatus("FlinkSessionJob", job, status);
}

async function patchStatus(
  kindName: OwnKind,
  obj: KubernetesObject & { status?: object },
  status: object,
): Promise<void> {
  const patch = mergePatch(
    (obj.status ?? {}) as Record<string, unknown>,
    status as Record<string, unknown>,
  );
  await call(
    "PATCH",
    `${pathOf(kindName, obj.metadata!.namespace, obj.metadata!.name)}/status`,
    { status: patch },
    "application/merge-patch+json",
  );
}

/**
 * Adds or removes the kind's finalizer with a JSON patch that fails rather than clobber a concurrent change.
 * `obj` is a FlinkDeployment unless `kindName` says otherwise.
 */
export async function setFinalizer(
  obj: KubernetesObject,
  present: boolean,
  kindName: OwnKind = "FlinkDeployment",
): Promise<void> {
  const finalizer = FINALIZERS[kindName];
  const finalizers = obj.metadata?.finalizers ?? [];
  const has = finalizers.includes(finalizer);
  if (has === present) return;
  const path = pathOf(kindName, obj.metadata!.namespace, obj.metadata!.name);
  if (present) {
    const patch =
      finalizers.length === 0
        ? [{ op: "add", path: "/metadata/finalizers", value: [finalizer] }]
        : [{ op: "add", path: "/metadata/finalizers/-", value: finalizer }];
    await call("PATCH", path, patch, "application/json-patch+json");
  } else {
    const i = finalizers.indexOf(finalizer);
    await call(
      "PATCH",
      path,
      [
        { op: "test", path: `/metadata/finalizers/${i}`, value: finalizer },
        { op: "remove", path: `/metadata/finalizers/${i}` },
      ],
      "application/json-patch+json",
    );
  }
}

/**
 * A Kubernetes Event on the FlinkDeployment, as kubectl describe shows them. Best effort: an event that cannot
 * be written (a namespace being deleted refuses new objects) must not fail the pass that acted.
 */
export async function recordEvent(
  obj: KubernetesObject,
  type: "Normal" | "Warning",
  reason: string,
  message: string,
): Promise<void> {
  const now = new Date().toISOString();
  const { name, namespace, uid } = obj.metadata!;
  try {
    await call("POST", pathOf("Event", namespace), {
      apiVersion: "v1",
      kind: "Event",
      metadata: { generateName: `${name}.`, namespace },
      involvedObject: { apiVersion: obj.apiVersion, kind: obj.kind, name, namespace, uid },
      reason,
      message: message.slice(0, 1024),
      type,
      source: { component: "flink-pepr-operator" },
      reportingComponent: "flink-pepr-operator",
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    });
  } catch (e) {
    log.warn("could not record an event", {
      kind: obj.kind,
      namespace,
      name,
      reason,
      error: (e as { status?: number }).status ?? String(e),
    });
  }
}

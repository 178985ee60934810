import type { KubernetesObject, V1ContainerStatus, V1ObjectMeta } from "@kubernetes/client-node";
import { TARGET_SESSION_LABEL } from "../api/resources";
import { KindCache } from "./cache";

/**
 * The caches a reconciling process keeps, one watch each, and what is kept per object (docs/ARCHITECTURE.md):
 * - the operator's children (Deployments, StatefulSets, Services, ConfigMaps, Ingresses) and Flink's pods, by
 *   Flink's `type` label (every child and Flink pod carries it; Flink's HA ConfigMaps too): name, namespace,
 *   uid, resourceVersion, labels, controller owner reference, deletion timestamp, the operator's own
 *   annotations; workloads also replicas and readiness (status replicas, ready replicas, conditions); pods their
 *   phase, conditions and container states. Services, ConfigMaps and Ingresses come as metadata only (the
 *   apiserver sends no data or spec).
 * - FlinkDeployments and FlinkSessionJobs, whole but for managedFields: a pass reads spec and status.
 * Reads that need more (HA ConfigMaps' data, events, logs) and look-ups by name of objects that may not be the
 * operator's (ownership.ts) still go to the apiserver.
 */
export const CACHED_KINDS = [
  "Deployment",
  "StatefulSet",
  "Service",
  "ConfigMap",
  "Ingress",
  "Pod",
  "FlinkDeployment",
  "FlinkSessionJob",
] as const;
export type CachedKind = (typeof CACHED_KINDS)[number];
export type Caches = Record<CachedKind, KindCache>;

const FLINK_TYPES = "type in (flink-native-kubernetes,flink-standalone-kubernetes)";
/** Annotations the passes read (the cluster hash, cluster-sync.ts). */
const OWN_ANNOTATION_PREFIX = "flink-pepr-operator/";

function meta(m: V1ObjectMeta | undefined): V1ObjectMeta {
  const owner = m?.ownerReferences?.find(r => r.controller === true);
  const annotations = Object.entries(m?.annotations ?? {}).filter(([k]) =>
    k.startsWith(OWN_ANNOTATION_PREFIX),
  );
  return {
    name: m?.name,
    namespace: m?.namespace,
    uid: m?.uid,
    resourceVersion: m?.resourceVersion,
    labels: m?.labels,
    ...(owner
      ? {
          ownerReferences: [
            {
              apiVersion: owner.apiVersion,
              kind: owner.kind,
              name: owner.name,
              uid: owner.uid,
              controller: true,
            },
          ],
        }
      : {}),
    ...(annotations.length ? { annotations: Object.fromEntries(annotations) } : {}),
    ...(m?.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
  };
}

type Loose = KubernetesObject & {
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
};

const conditions = (cs: unknown) =>
  (cs as { type: string; status: string; reason?: string; message?: string }[] | undefined)?.map(
    c => ({ type: c.type, status: c.status, reason: c.reason, message: c.message }),
  );

export const keepMetadata = (o: KubernetesObject): KubernetesObject => ({
  kind: o.kind,
  metadata: meta(o.metadata),
});

export function keepWorkload(o: KubernetesObject): KubernetesObject {
  const { spec, status } = o as Loose;
  return {
    ...keepMetadata(o),
    spec: { replicas: spec?.replicas },
    status: {
      replicas: status?.replicas,
      readyReplicas: status?.readyReplicas,
      conditions: conditions(status?.conditions),
    },
  } as KubernetesObject;
}

const container = (c: V1ContainerStatus) => ({
  name: c.name,
  image: c.image,
  ready: c.ready,
  restartCount: c.restartCount,
  state: c.state,
  lastState: c.lastState,
});

export function keepPod(o: KubernetesObject): KubernetesObject {
  const status = (o as Loose).status as
    | {
        phase?: string;
        conditions?: unknown;
        containerStatuses?: V1ContainerStatus[];
        initContainerStatuses?: V1ContainerStatus[];
      }
    | undefined;
  return {
    ...keepMetadata(o),
    status: {
      phase: status?.phase,
      conditions: conditions(status?.conditions),
      containerStatuses: status?.containerStatuses?.map(container),
      initContainerStatuses: status?.initContainerStatuses?.map(container),
    },
  } as KubernetesObject;
}

export function keepWhole(o: KubernetesObject): KubernetesObject {
  if (!o.metadata?.managedFields) return o;
  const metadata = { ...o.metadata };
  delete metadata.managedFields;
  return { ...o, metadata };
}

export function createCaches(): Caches {
  const child = (
    kind: CachedKind,
    keep: (o: KubernetesObject) => KubernetesObject,
    metadataOnly = false,
  ) => new KindCache({ kind, labelSelector: FLINK_TYPES, keep, metadataOnly, indexLabel: "app" });
  return {
    Deployment: child("Deployment", keepWorkload),
    StatefulSet: child("StatefulSet", keepWorkload),
    Service: child("Service", keepMetadata, true),
    ConfigMap: child("ConfigMap", keepMetadata, true),
    Ingress: child("Ingress", keepMetadata, true),
    Pod: child("Pod", keepPod),
    FlinkDeployment: new KindCache({ kind: "FlinkDeployment", keep: keepWhole }),
    FlinkSessionJob: new KindCache({
      kind: "FlinkSessionJob",
      keep: keepWhole,
      indexLabel: TARGET_SESSION_LABEL,
    }),
  };
}

let installed: Caches | undefined;

/** The caches kube.ts reads through; none (every read goes to the apiserver) until installed. */
export function installCaches(caches: Caches | undefined): void {
  installed = caches;
}

export const installedCache = (kind: string): KindCache | undefined =>
  installed?.[kind as CachedKind];

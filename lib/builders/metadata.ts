import type { V1ObjectMeta, V1OwnerReference } from "@kubernetes/client-node";
import { API_VERSION, FlinkDeploymentObject } from "../api/resources";

/** Flink finds its own container in a pod (and in a pod template) by this name. */
export const MAIN_CONTAINER = "flink-main-container";

/** Same key as the reference operator, so either operator can read which spec generation built a child. */
export const GENERATION_ANNOTATION = "flinkdeployment.flink.apache.org/generation";

export type Mode = "native" | "standalone";
export type Role = "jobmanager" | "taskmanager";

/** Label values Flink's own Kubernetes code uses; Flink's HA and TaskManager pods carry the same ones. */
const TYPE_LABEL: Record<Mode, string> = {
  native: "flink-native-kubernetes",
  standalone: "flink-standalone-kubernetes",
};

/** What every child of one FlinkDeployment is named and labelled after. */
export interface Cluster {
  name: string;
  namespace: string;
  uid: string;
  mode: Mode;
  /** metadata.generation of the spec the children are built from. */
  generation: number;
}

export function clusterOf(deployment: FlinkDeploymentObject, generation: number): Cluster {
  const { name, namespace, uid } = deployment.metadata ?? {};
  if (!name || !namespace || !uid) {
    throw new Error(
      "a FlinkDeployment needs metadata.name, metadata.namespace and metadata.uid to build its children",
    );
  }
  return { name, namespace, uid, mode: deployment.spec?.mode ?? "native", generation };
}

export const flinkConfigMapName = (c: Cluster) => `flink-config-${c.name}`;
export const podTemplateConfigMapName = (c: Cluster) => `pod-template-${c.name}`;
export const restServiceName = (c: Cluster) => `${c.name}-rest`;
/** The JobManager workload (Deployment or StatefulSet) and its headless Service share the cluster's name. */
export const jobManagerName = (c: Cluster) => c.name;
/** Standalone only; validation caps standalone names at 40 characters so this stays within 52 (see docs). */
export const taskManagerName = (c: Cluster) => `${c.name}-taskmanager`;

export function commonLabels(c: Cluster): Record<string, string> {
  return { type: TYPE_LABEL[c.mode], app: c.name };
}

/** Selector of a role's pods; also what the scale subresource reports for TaskManagers. */
export function roleLabels(c: Cluster, role: Role): Record<string, string> {
  return { ...commonLabels(c), component: role };
}

function ownerReference(c: Cluster): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: "FlinkDeployment",
    name: c.name,
    uid: c.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Metadata of a child object: owned by the FlinkDeployment and stamped with the generation it was built from. */
export function childMetadata(
  c: Cluster,
  name: string,
  labels: Record<string, string>,
  annotations: Record<string, string> = {},
): V1ObjectMeta {
  return {
    name,
    namespace: c.namespace,
    labels,
    annotations: { ...annotations, [GENERATION_ANNOTATION]: String(c.generation) },
    ownerReferences: [ownerReference(c)],
  };
}

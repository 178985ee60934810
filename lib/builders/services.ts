import type { V1Service, V1ServicePort, V1ServiceSpec } from "@kubernetes/client-node";
import { restPort } from "./flink-conf";
import {
  Cluster,
  Role,
  childMetadata,
  commonLabels,
  restServiceName,
  roleLabels,
} from "./metadata";

/** kubernetes.rest-service.exposed.type as a Service spec; Flink's Headless_ClusterIP is a headless ClusterIP. */
const REST_SERVICE_TYPES: Record<string, Pick<V1ServiceSpec, "type" | "clusterIP">> = {
  ClusterIP: { type: "ClusterIP" },
  NodePort: { type: "NodePort" },
  LoadBalancer: { type: "LoadBalancer" },
  Headless_ClusterIP: { type: "ClusterIP", clusterIP: "None" },
};

/** Service <name>-rest in front of the JobManagers' REST port; the operator and the ingress use it. */
export function restService(cluster: Cluster, config: Record<string, string>): V1Service {
  const exposed = config["kubernetes.rest-service.exposed.type"];
  const type = REST_SERVICE_TYPES[exposed];
  if (!type) {
    throw new Error(
      `kubernetes.rest-service.exposed.type must be one of ${Object.keys(REST_SERVICE_TYPES).join(", ")}, got "${exposed}"`,
    );
  }
  const port = restPort(config);
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: childMetadata(cluster, restServiceName(cluster), commonLabels(cluster)),
    spec: {
      ...type,
      selector: roleLabels(cluster, "jobmanager"),
      ports: [{ name: "rest", port, targetPort: port }],
    },
  };
}

/** A headless Service: stable DNS names for a role's pods, and a StatefulSet's governing Service. */
export function headlessService(
  cluster: Cluster,
  name: string,
  role: Role,
  ports: V1ServicePort[],
): V1Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: childMetadata(cluster, name, commonLabels(cluster)),
    spec: { clusterIP: "None", selector: roleLabels(cluster, role), ports },
  };
}

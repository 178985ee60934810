import type { KubernetesObject, V1Service } from "@kubernetes/client-node";
import { FlinkRestClient } from "../flink/client";

/**
 * The JobManager's REST URL, through its rest Service. Only reachable from the pod network: outside a cluster
 * (npm run dev) the Service name would not resolve and the lookup would leave this machine, so there is none.
 */
export function restUrl(
  manifests: KubernetesObject[],
  restServiceName: string,
  inCluster = !!process.env.KUBERNETES_SERVICE_HOST,
): string | undefined {
  if (!inCluster) return undefined;
  const service = manifests.find(
    m => m.kind === "Service" && m.metadata?.name === restServiceName,
  ) as V1Service | undefined;
  const port = service?.spec?.ports?.[0]?.port;
  return service && port
    ? `http://${restServiceName}.${service.metadata!.namespace}:${port}`
    : undefined;
}

/** status.clusterInfo as the reference operator fills it, from a JobManager that answers. */
export async function fetchClusterInfo(client: FlinkRestClient): Promise<Record<string, string>> {
  const [config, overview] = await Promise.all([client.config(), client.overview()]);
  return {
    "flink-version": config["flink-version"],
    "flink-revision": config["flink-revision"] ?? "",
    "total-taskmanagers": String(overview.taskmanagers),
    "total-slots": String(overview["slots-total"]),
    "available-slots": String(overview["slots-available"]),
    "jobs-running": String(overview["jobs-running"]),
  };
}

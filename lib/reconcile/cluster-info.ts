import type { KubernetesObject, V1Service } from "@kubernetes/client-node";
import type { FlinkConnection } from "../flink/transport";
import { FlinkRestClient } from "../flink/client";
import { apiConnection } from "./api";

export type RestAccess = "service" | "proxy";

/** Where a JobManager's REST API is reached, and with what credentials. */
export interface RestEndpoint {
  baseUrl: string;
  connection?: FlinkConnection;
}

/**
 * How to reach JobManagers: by the rest Service's DNS name from inside the cluster; from outside (npm start,
 * npm run dev, a laptop) through the apiserver's service proxy, so no cluster name is ever resolved on the host.
 */
export function restAccess(
  setting: string | undefined,
  inCluster = !!process.env.KUBERNETES_SERVICE_HOST,
): RestAccess {
  if (setting === "service" || setting === "proxy") return setting;
  if (setting && setting !== "auto")
    throw new Error(
      `kubernetes.operator.flink.rest.access must be auto, service or proxy, not "${setting}"`,
    );
  return inCluster ? "service" : "proxy";
}

/** The rest Service among the manifests, as name, namespace and port. */
export function restService(
  manifests: KubernetesObject[],
  restServiceName: string,
): { name: string; namespace: string; port: number } | undefined {
  const service = manifests.find(
    m => m.kind === "Service" && m.metadata?.name === restServiceName,
  ) as V1Service | undefined;
  const port = service?.spec?.ports?.[0]?.port;
  const namespace = service?.metadata?.namespace;
  return service && port && namespace ? { name: restServiceName, namespace, port } : undefined;
}

/** The base URL for one access mode; pure, so both forms are tested without a cluster. */
export function restBaseUrl(
  access: RestAccess,
  service: { name: string; namespace: string; port: number },
  apiServer?: URL,
): string {
  if (access === "service") return `http://${service.name}.${service.namespace}:${service.port}`;
  if (!apiServer) throw new Error("the apiserver's address is needed for the service proxy");
  const base = apiServer.href.replace(/\/+$/, "");
  return `${base}/api/v1/namespaces/${encodeURIComponent(service.namespace)}/services/http:${encodeURIComponent(service.name)}:${service.port}/proxy`;
}

/** Resolves the endpoint, with the apiserver's connection pool and credentials when proxying. */
export async function resolveRestEndpoint(
  access: RestAccess,
  service: { name: string; namespace: string; port: number },
): Promise<RestEndpoint> {
  if (access === "service") return { baseUrl: restBaseUrl(access, service) };
  const api = await apiConnection();
  return {
    baseUrl: restBaseUrl(access, service, api.server),
    connection: { httpsAgent: api.agent, headers: api.headers },
  };
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

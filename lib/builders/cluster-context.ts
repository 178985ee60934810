import type { V1ContainerPort, V1Probe, V1ServicePort } from "@kubernetes/client-node";
import { FlinkDeploymentObject } from "../api/resources";
import {
  Source,
  flinkConfiguration,
  imageKey,
  jobManagerRpcPort,
  restPort,
  sourceOf,
} from "./flink-conf";
import { BuildOptions } from "./options";
import { mergeByName } from "./pod-template";

/** Everything both modes derive from a FlinkDeployment before they build anything. */
export interface ClusterContext extends Source {
  /** What Flink runs with. */
  config: Record<string, string>;
  mergeByName: boolean;
  image: string;
  imagePullPolicy: string;
}

export function clusterContext(
  deployment: FlinkDeploymentObject,
  options: BuildOptions,
): ClusterContext {
  const source = sourceOf(deployment, options);
  const config = flinkConfiguration(source, options);
  return {
    ...source,
    config,
    mergeByName: mergeByName(source.user),
    image: config[imageKey(source.version)],
    imagePullPolicy: config["kubernetes.container.image.pull-policy"],
  };
}

/** The image's entrypoint; Flink's client starts every container through it. */
export const entrypoint = (config: Record<string, string>) => [
  config["kubernetes.entry.path"] ?? "/docker-entrypoint.sh",
];

/** RPC and blob ports: what TaskManagers reach a JobManager on. */
export function internalServicePorts(config: Record<string, string>): V1ServicePort[] {
  return [
    { name: "jobmanager-rpc", port: jobManagerRpcPort(config) },
    { name: "blobserver", port: Number(config["blob.server.port"]) },
  ];
}

export function jobManagerPorts(config: Record<string, string>): V1ContainerPort[] {
  return [
    { name: "rest", containerPort: restPort(config) },
    ...internalServicePorts(config).map(p => ({ name: p.name, containerPort: p.port })),
  ];
}

/**
 * The JobManager is not ready until its REST API answers; it never fails this probe for good, because a
 * JobManager that cannot start its job should stay up for the operator to inspect. The reference
 * operator's option turns it off.
 */
export function jobManagerStartupProbe(user: Record<string, string>): V1Probe | undefined {
  if (
    user["kubernetes.operator.jm-deployment.startup.probe.enabled"]?.trim().toLowerCase() ===
    "false"
  )
    return undefined;
  return {
    httpGet: { path: "/config", port: "rest" },
    periodSeconds: 1,
    failureThreshold: 2147483647,
  };
}

import type { V1ContainerPort, V1Probe } from "@kubernetes/client-node";
import { FlinkDeploymentObject } from "../api/resources";
import { FlinkDeploymentSpec, FlinkVersion } from "../api/spec";
import { FetchedJar, fetchedJar } from "./artifacts";
import {
  BLOB_SERVER_PORT,
  effectiveFlinkConfiguration,
  flinkVersionOf,
  imageKey,
  jobManagerRpcPort,
  restPort,
  userConfiguration,
} from "./flink-conf";
import { Cluster, clusterOf } from "./metadata";
import { BuildOptions } from "./options";
import { mergeByName } from "./pod-template";

/** Everything both modes derive from a FlinkDeployment before they build anything. */
export interface ClusterContext {
  cluster: Cluster;
  spec: FlinkDeploymentSpec;
  version: FlinkVersion;
  /** What the user asked for: operator defaults and flinkConfiguration, operator keys included. */
  user: Record<string, string>;
  /** What Flink runs with. */
  config: Record<string, string>;
  mergeByName: boolean;
  /** How the job jar gets into the pods, when the operator has to fetch it. */
  jar?: FetchedJar;
  image: string;
  imagePullPolicy: string;
}

export function clusterContext(
  deployment: FlinkDeploymentObject,
  options: BuildOptions,
): ClusterContext {
  const spec = deployment.spec;
  if (!spec) throw new Error("a FlinkDeployment without a spec has no cluster to build");
  const user = userConfiguration(spec, options);
  const config = effectiveFlinkConfiguration(deployment, options);
  const version = flinkVersionOf(spec);
  return {
    cluster: clusterOf(deployment, options.generation),
    spec,
    version,
    user,
    config,
    mergeByName: mergeByName(user),
    jar: fetchedJar(spec.job?.jarURI, user),
    image: config[imageKey(version)],
    imagePullPolicy: config["kubernetes.container.image.pull-policy"],
  };
}

/** The image's entrypoint; Flink's client starts every container through it. */
export const entrypoint = (config: Record<string, string>) => [
  config["kubernetes.entry.path"] ?? "/docker-entrypoint.sh",
];

export function jobManagerPorts(config: Record<string, string>): V1ContainerPort[] {
  return [
    { name: "rest", containerPort: restPort(config) },
    { name: "jobmanager-rpc", containerPort: jobManagerRpcPort(config) },
    { name: "blobserver", containerPort: Number(config["blob.server.port"] ?? BLOB_SERVER_PORT) },
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

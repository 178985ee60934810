import { stringify } from "yaml";
import { flattenFlinkConfiguration, isHaEnabled, quoteFlinkListItem } from "../api/flink-config";
import { FlinkDeploymentObject } from "../api/resources";
import { FLINK_VERSIONS, FlinkDeploymentSpec, FlinkVersion } from "../api/spec";
import { FetchedJar, fetchedJar } from "./artifacts";
import { Cluster, clusterOf } from "./metadata";
import { resolveSettings } from "../settings";
import { BuildOptions } from "./options";
import { resourceConfiguration } from "./resources";

type Config = Record<string, string>;

const REST_PORT = 8081;
const JOBMANAGER_RPC_PORT = 6123;
const BLOB_SERVER_PORT = 6124;
const TASKMANAGER_RPC_PORT = 6122;

function flinkVersionOf(spec: FlinkDeploymentSpec): FlinkVersion {
  if (!spec.flinkVersion) throw new Error("spec.flinkVersion is required to build a cluster");
  return spec.flinkVersion;
}

export const atLeast = (version: FlinkVersion, min: FlinkVersion) =>
  FLINK_VERSIONS.indexOf(version) >= FLINK_VERSIONS.indexOf(min);

/** Keys the operator reads for itself; Flink never sees them. */
const isOperatorKey = (key: string) =>
  key.startsWith("kubernetes.operator.") || key.startsWith("job.autoscaler.");

/**
 * The operator's default configuration for the resource's namespace and Flink version, then its
 * flinkConfiguration flattened: what the user asked for, operator keys included.
 */
function userConfiguration(
  spec: FlinkDeploymentSpec,
  namespace: string | undefined,
  options: BuildOptions,
): Config {
  const { config, problems } = flattenFlinkConfiguration(spec.flinkConfiguration ?? {});
  if (problems.length > 0) {
    throw new Error(
      `spec.flinkConfiguration: ${problems.map(p => `${p.key} ${p.message}`).join("; ")}`,
    );
  }
  return resolveSettings({
    operatorConfig: options.defaultConfiguration,
    namespace,
    flinkVersion: spec.flinkVersion,
    resource: config,
  }).config;
}

/** The image key Flink reads; 1.17 renamed it (the old name still works there as a fallback). */
export const imageKey = (version: FlinkVersion) =>
  atLeast(version, "v1_17") ? "kubernetes.container.image.ref" : "kubernetes.container.image";

/** A port fixed to one number; Flink's default "0" (any free port) or a range cannot be put in a Service. */
function fixedPort(config: Config, key: string, port: number): string {
  const value = config[key]?.trim();
  return value !== undefined && /^[1-9][0-9]*$/.test(value) ? value : String(port);
}

export const restPort = (config: Config) => Number(config["rest.port"] ?? REST_PORT);
export const jobManagerRpcPort = (config: Config) =>
  Number(config["jobmanager.rpc.port"] ?? JOBMANAGER_RPC_PORT);

const slots = (config: Config) => Number(config["taskmanager.numberOfTaskSlots"] ?? 1);

/**
 * TaskManagers of a standalone cluster: taskManager.replicas, else enough slots for the job's parallelism,
 * else one.
 */
export function taskManagerReplicas(spec: FlinkDeploymentSpec, config: Config): number {
  if (spec.taskManager?.replicas !== undefined) return spec.taskManager.replicas;
  const parallelism = spec.job?.parallelism;
  return parallelism === undefined ? 1 : Math.ceil(parallelism / slots(config));
}

/** What every builder first derives from a FlinkDeployment. */
export interface Source {
  cluster: Cluster;
  spec: FlinkDeploymentSpec;
  version: FlinkVersion;
  /** What the user asked for: operator defaults and flinkConfiguration, operator keys included. */
  user: Config;
  /** How the job jar gets into the pods, when the operator has to fetch it. */
  jar?: FetchedJar;
}

export function sourceOf(deployment: FlinkDeploymentObject, options: BuildOptions): Source {
  const spec = deployment.spec;
  if (!spec) throw new Error("a FlinkDeployment without a spec has no cluster to build");
  const user = userConfiguration(spec, deployment.metadata?.namespace, options);
  return {
    cluster: clusterOf(deployment, options.generation),
    spec,
    version: flinkVersionOf(spec),
    user,
    jar: fetchedJar(spec.job?.jarURI, user),
  };
}

/**
 * The configuration Flink runs with: the user's keys, the operator's defaults for keys the user left
 * alone, then the keys the operator owns (identity, image, resources, ports, job). Operator and autoscaler
 * keys are left out.
 */
export function effectiveFlinkConfiguration(
  deployment: FlinkDeploymentObject,
  options: BuildOptions,
): Config {
  return flinkConfiguration(sourceOf(deployment, options), options);
}

export function flinkConfiguration(source: Source, options: BuildOptions): Config {
  const { cluster, spec, version, user } = source;
  const config: Config = {
    "kubernetes.rest-service.exposed.type": "ClusterIP",
    // The UI's cancel button would stop a job behind the operator's back.
    "web.cancel.enable": "false",
    ...user,
  };

  config["kubernetes.cluster-id"] = cluster.name;
  config["kubernetes.namespace"] = cluster.namespace;
  config[imageKey(version)] =
    spec.image ??
    user["kubernetes.container.image.ref"] ??
    user["kubernetes.container.image"] ??
    defaultImage(version);
  config["kubernetes.container.image.pull-policy"] =
    spec.imagePullPolicy ?? user["kubernetes.container.image.pull-policy"] ?? "IfNotPresent";
  if (spec.serviceAccount) config["kubernetes.service-account"] = spec.serviceAccount;
  config["kubernetes.jobmanager.replicas"] = String(spec.jobManager?.replicas ?? 1);
  for (const [role, roleSpec] of [
    ["jobmanager", spec.jobManager],
    ["taskmanager", spec.taskManager],
  ] as const) {
    Object.assign(config, resourceConfiguration(role, roleSpec, cpuKeys(role, version)));
  }

  config["blob.server.port"] = fixedPort(config, "blob.server.port", BLOB_SERVER_PORT);
  config["taskmanager.rpc.port"] = fixedPort(config, "taskmanager.rpc.port", TASKMANAGER_RPC_PORT);
  if (isHaEnabled(config)) {
    config["high-availability.cluster-id"] = cluster.name;
    // Standby JobManagers are reached on this port, so it must be the one the pod exposes.
    config["high-availability.jobmanager.port"] = String(jobManagerRpcPort(config));
  } else {
    config["jobmanager.rpc.address"] = `${cluster.name}.${cluster.namespace}`;
  }

  if (cluster.mode === "native") {
    config["execution.target"] = spec.job ? "kubernetes-application" : "kubernetes-session";
  }
  Object.assign(config, jobConfiguration(source, config, options));

  return Object.fromEntries(Object.entries(config).filter(([key]) => !isOperatorKey(key)));
}

/** flink:<major>.<minor>, the official image, when neither the spec nor the configuration names one. */
const defaultImage = (version: FlinkVersion) => `flink:${version.slice(1).replace("_", ".")}`;

function cpuKeys(role: "jobmanager" | "taskmanager", version: FlinkVersion): string[] {
  const amount = `kubernetes.${role}.cpu.amount`;
  return atLeast(version, "v1_17") ? [amount] : [amount, `kubernetes.${role}.cpu`];
}

/** Keys of an application cluster's job. */
function jobConfiguration(source: Source, config: Config, options: BuildOptions): Config {
  const { cluster, spec, version, user } = source;
  const job = spec.job;
  const keys: Config = {};
  if (!job) return keys;
  const setDefault = (key: string, value: string) => {
    if (!(key in user)) keys[key] = value;
  };
  setDefault("pipeline.name", cluster.name);
  setDefault("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION");
  // last-state upgrades restore the latest checkpoint, so there has to be one.
  if (job.upgradeMode === "last-state") setDefault("execution.checkpointing.interval", "5 min");
  // The operator observes a finished or failed job on its cluster; Flink must not tear the cluster down.
  keys["execution.shutdown-on-application-finish"] = "false";
  setDefault("execution.submit-failed-job-on-application-error", "true");

  const parallelism =
    spec.taskManager?.replicas !== undefined
      ? spec.taskManager.replicas * slots(config)
      : job.parallelism;
  if (parallelism !== undefined) keys["parallelism.default"] = String(parallelism);

  const jar = source.jar?.localUri ?? job.jarURI;
  if (cluster.mode === "native") {
    const jobId = requireJobId(options);
    keys["$internal.pipeline.job-id"] = jobId;
    if (jar !== undefined) keys["pipeline.jars"] = jar;
    if (job.entryClass) keys["$internal.application.main"] = job.entryClass;
    if (job.args?.length)
      keys["$internal.application.program-args"] = job.args.map(quoteFlinkListItem).join(";");
    const recovery = atLeast(version, "v2_0") ? "execution.state-recovery" : "execution.savepoint";
    if (options.restorePath) keys[`${recovery}.path`] = options.restorePath;
    if (job.allowNonRestoredState !== undefined)
      keys[`${recovery}.ignore-unclaimed-state`] = String(job.allowNonRestoredState);
  } else if (jar !== undefined) {
    // Standalone JobManagers load the job from their classpath; Flink wants file:// there, not local://.
    keys["pipeline.classpaths"] = jar.replace(/^local:/, "file:");
  }

  const haStorage = config["high-availability.storageDir"];
  if (isHaEnabled(config) && haStorage) {
    if (!options.deployId)
      throw new Error("options.deployId is required for an application cluster with HA storage");
    setDefault("job-result-store.delete-on-commit", "false");
    keys["job-result-store.storage-path"] =
      `${haStorage.replace(/\/+$/, "")}/job-result-store/${cluster.name}/${options.deployId}`;
  }
  return keys;
}

export function requireJobId(options: BuildOptions): string {
  if (!options.jobId || !/^[0-9a-f]{32}$/i.test(options.jobId)) {
    throw new Error(
      `an application cluster needs options.jobId, 32 hex digits (got ${JSON.stringify(options.jobId)})`,
    );
  }
  return options.jobId;
}

/**
 * Flink reads flink-conf.yaml with its own line parser before 1.19, and a standard YAML config.yaml from
 * 1.19 (the only file 2.x reads). Both accept flat dotted keys, so both files are written flat.
 */
export function flinkConfigFileName(version: FlinkVersion): "flink-conf.yaml" | "config.yaml" {
  return atLeast(version, "v1_19") ? "config.yaml" : "flink-conf.yaml";
}

/** The config file's text, keys sorted so that equal configurations give equal files. */
export function renderFlinkConfigFile(config: Config, version: FlinkVersion): string {
  const entries = Object.entries(config).sort(([a], [b]) => a.localeCompare(b));
  if (flinkConfigFileName(version) === "config.yaml") {
    return stringify(Object.fromEntries(entries), { lineWidth: 0 });
  }
  return entries.map(([key, value]) => legacyLine(key, value)).join("");
}

/**
 * One "key: value" line for Flink's legacy parser, which cuts each line at the first '#' and splits it at
 * the first ": ", without quoting. A value it would misread fails the build rather than run altered.
 */
function legacyLine(key: string, value: string): string {
  if (/[#\n\r]/.test(key + value) || key.includes(": ") || key.trim() === "") {
    throw new Error(
      `flinkConfiguration ${key}: ${JSON.stringify(value)} cannot be written to flink-conf.yaml (Flink < 1.19)`,
    );
  }
  return `${key}: ${value}\n`;
}

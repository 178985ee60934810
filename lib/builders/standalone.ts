import type {
  V1ConfigMap,
  V1EnvVar,
  V1PersistentVolumeClaim,
  V1Service,
  V1StatefulSet,
} from "@kubernetes/client-node";
import { isHaEnabled } from "../api/flink-config";
import { FlinkDeploymentObject } from "../api/resources";
import { JobManagerSpec, TaskManagerSpec } from "../api/spec";
import {
  ClusterContext,
  clusterContext,
  entrypoint,
  internalServicePorts,
  jobManagerPorts,
  jobManagerStartupProbe,
} from "./cluster-context";
import { flinkConfigMap, flinkConfigMount, flinkConfigVolume } from "./config-map";
import { requireJobId, taskManagerReplicas } from "./flink-conf";
import { roleKubernetesOptions } from "./flink-options";
import { MainContainer, flinkPodTemplate } from "./flink-pod";
import { Role, childMetadata, jobManagerName, roleLabels, taskManagerName } from "./metadata";
import { BuildOptions } from "./options";
import { rolePodTemplate } from "./pod-template";
import { mainContainerResources } from "./resources";
import { headlessService, restService } from "./services";

/**
 * A standalone cluster: JobManagers and TaskManagers in StatefulSets, so each pod keeps its own volume
 * claims across restarts. The operator, not Flink, decides how many TaskManagers run.
 */
export interface StandaloneCluster {
  /** flink-config-<name>, read by both roles. */
  configMap: V1ConfigMap;
  /** <name>: the JobManager StatefulSet, pods <name>-<ordinal>. */
  jobManager: V1StatefulSet;
  /** <name>-taskmanager: the TaskManager StatefulSet, pods <name>-taskmanager-<ordinal>. */
  taskManager: V1StatefulSet;
  /** <name> and <name>-taskmanager (headless, governing the StatefulSets) and <name>-rest. */
  services: V1Service[];
}

/** The pod IP as an environment variable, for the JobManager to advertise itself under HA. */
const podIp = (): V1EnvVar => ({
  name: "POD_IP",
  valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "status.podIP" } },
});

export function buildStandaloneCluster(
  deployment: FlinkDeploymentObject,
  options: BuildOptions,
): StandaloneCluster {
  const ctx = clusterContext(deployment, options);
  const { cluster, config, spec } = ctx;
  const ha = isHaEnabled(config);
  const taskManagerRpcPort = Number(config["taskmanager.rpc.port"]);

  const jobManager = statefulSet(
    ctx,
    "jobmanager",
    spec.jobManager,
    spec.jobManager?.replicas ?? 1,
    {
      args: jobManagerArgs(ctx, options, ha),
      ports: jobManagerPorts(config),
      env: ha ? [podIp()] : [],
      resources: fromTemplate =>
        mainContainerResources("jobmanager", config, spec.jobManager, fromTemplate),
      startupProbe: jobManagerStartupProbe(ctx.user),
    },
  );
  const taskManager = statefulSet(
    ctx,
    "taskmanager",
    spec.taskManager,
    taskManagerReplicas(spec, config),
    {
      args: ["taskmanager"],
      ports: [{ name: "taskmanager-rpc", containerPort: taskManagerRpcPort }],
      env: [],
      resources: fromTemplate =>
        mainContainerResources("taskmanager", config, spec.taskManager, fromTemplate),
    },
  );

  return {
    configMap: flinkConfigMap(cluster, spec, config, ctx.version),
    jobManager,
    taskManager,
    services: [
      headlessService(cluster, jobManagerName(cluster), "jobmanager", internalServicePorts(config)),
      headlessService(cluster, taskManagerName(cluster), "taskmanager", [
        { name: "taskmanager-rpc", port: taskManagerRpcPort },
      ]),
      restService(cluster, config),
    ],
  };
}

/**
 * Session: the image's "jobmanager" command. Application: "standalone-job" with the job's class, id and
 * restore settings; "--" ends the options so job arguments that look like options reach the job. Under HA
 * each JobManager advertises its pod IP, since the Service name would point at all of them.
 */
function jobManagerArgs(ctx: ClusterContext, options: BuildOptions, ha: boolean): string[] {
  const job = ctx.spec.job;
  if (!job) return ha ? ["jobmanager", "$(POD_IP)"] : ["jobmanager"];
  const args = ["standalone-job"];
  if (ha) args.push("--host", "$(POD_IP)");
  if (job.entryClass) args.push("--job-classname", job.entryClass);
  args.push("--job-id", requireJobId(options));
  if (options.restorePath) args.push("--fromSavepoint", options.restorePath);
  if (job.allowNonRestoredState) args.push("--allowNonRestoredState");
  if (job.args?.length) args.push("--", ...job.args);
  return args;
}

function statefulSet(
  ctx: ClusterContext,
  role: Role,
  roleSpec: JobManagerSpec | TaskManagerSpec | undefined,
  replicas: number,
  main: Omit<MainContainer, "image" | "imagePullPolicy" | "command" | "volumeMounts">,
): V1StatefulSet {
  const { cluster, config, jar } = ctx;
  const labels = roleLabels(cluster, role);
  const options = roleKubernetesOptions(config, role);
  const name = role === "jobmanager" ? jobManagerName(cluster) : taskManagerName(cluster);
  // Both roles load the job's classes from their classpath, so both need the fetched jar.
  const volumes = [flinkConfigVolume(cluster), ...(jar?.volumes ?? [])];
  const volumeMounts = jar ? [flinkConfigMount(), jar.mainMount] : [flinkConfigMount()];

  const template = flinkPodTemplate(
    rolePodTemplate(
      ctx.spec,
      role === "jobmanager" ? "jobManager" : "taskManager",
      ctx.mergeByName,
    ),
    {
      labels,
      options,
      volumes,
      initContainers: jar ? [jar.initContainer] : [],
      main: {
        ...main,
        image: ctx.image,
        imagePullPolicy: ctx.imagePullPolicy,
        command: entrypoint(config),
        volumeMounts,
      },
    },
  );
  const claims = roleSpec?.volumeClaimTemplates ?? [];
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: childMetadata(cluster, name, { ...options.labels, ...labels }, options.annotations),
    spec: {
      replicas,
      serviceName: name,
      // Flink pods do not depend on each other's start order.
      podManagementPolicy: "Parallel",
      selector: { matchLabels: labels },
      template,
      ...(claims.length > 0 && {
        volumeClaimTemplates: structuredClone(claims) as V1PersistentVolumeClaim[],
      }),
    },
  };
}

import type {
  V1ConfigMap,
  V1Container,
  V1Deployment,
  V1PodTemplateSpec,
  V1Service,
} from "@kubernetes/client-node";
import { stringify } from "yaml";
import { isHaEnabled } from "../api/flink-config";
import { FlinkDeploymentObject } from "../api/resources";
import {
  ClusterContext,
  clusterContext,
  entrypoint,
  internalServicePorts,
  jobManagerPorts,
  jobManagerStartupProbe,
} from "./cluster-context";
import { flinkConfigMap, flinkConfigMount, flinkConfigVolume } from "./config-map";
import { atLeast } from "./flink-conf";
import { roleKubernetesOptions } from "./flink-options";
import { flinkPodTemplate } from "./flink-pod";
import {
  MAIN_CONTAINER,
  childMetadata,
  commonLabels,
  jobManagerName,
  podTemplateConfigMapName,
  roleLabels,
} from "./metadata";
import { BuildOptions } from "./options";
import { rolePodTemplate } from "./pod-template";
import { mainContainerResources, otherResources } from "./resources";
import { headlessService, restService } from "./services";

/** What Flink's native Kubernetes client would create for the cluster; Flink's JobManager then creates the TaskManager pods. */
export interface NativeCluster {
  /** flink-config-<name>: the config file and log configuration. */
  configMap: V1ConfigMap;
  /** pod-template-<name>: the TaskManager pod template Flink's JobManager reads; absent when there is none. */
  taskManagerPodTemplate?: V1ConfigMap;
  /** <name>: the JobManager Deployment. */
  jobManager: V1Deployment;
  /** <name> (headless, rpc and blob; only without HA) and <name>-rest. */
  services: V1Service[];
}

const POD_TEMPLATE_VOLUME = "pod-template-volume";
const POD_TEMPLATE_DIR = "/opt/flink/pod-template";
const TASKMANAGER_TEMPLATE_FILE = "taskmanager-pod-template.yaml";
const USER_ARTIFACTS_VOLUME = "user-artifacts-volume";

export function buildNativeCluster(
  deployment: FlinkDeploymentObject,
  options: BuildOptions,
): NativeCluster {
  const ctx = clusterContext(deployment, options);
  const tmTemplate = taskManagerPodTemplate(ctx);
  const tmTemplateConfigMap = tmTemplate && podTemplateConfigMap(ctx, tmTemplate);

  const { cluster, config } = ctx;
  const services = [restService(cluster, config)];
  // With HA, TaskManagers find the leader through the HA services and connect to its pod IP.
  if (!isHaEnabled(config)) {
    services.unshift(
      headlessService(cluster, jobManagerName(cluster), "jobmanager", internalServicePorts(config)),
    );
  }
  return {
    configMap: flinkConfigMap(cluster, ctx.spec, config, ctx.version),
    ...(tmTemplateConfigMap && { taskManagerPodTemplate: tmTemplateConfigMap }),
    jobManager: jobManagerDeployment(ctx, tmTemplateConfigMap !== undefined),
    services,
  };
}

function jobManagerDeployment(ctx: ClusterContext, withTaskManagerTemplate: boolean): V1Deployment {
  const { cluster, config, spec, jar } = ctx;
  const labels = roleLabels(cluster, "jobmanager");
  const options = roleKubernetesOptions(config, "jobmanager");
  const target = config["execution.target"];
  const volumes = [flinkConfigVolume(cluster)];
  const volumeMounts = [flinkConfigMount()];
  if (withTaskManagerTemplate) {
    volumes.push({
      name: POD_TEMPLATE_VOLUME,
      configMap: { name: podTemplateConfigMapName(cluster) },
    });
    volumeMounts.push({ name: POD_TEMPLATE_VOLUME, mountPath: POD_TEMPLATE_DIR });
  }
  if (jar) {
    volumes.push(...jar.volumes);
    volumeMounts.push(jar.mainMount);
  }
  if (atLeast(ctx.version, "v1_19")) {
    // From 1.19 the JobManager fetches job artifacts into user.artifacts.base-dir (early 1.19 and 1.20
    // releases even create it for local:// jars); Flink's client gives it an emptyDir there.
    volumes.push({ name: USER_ARTIFACTS_VOLUME, emptyDir: {} });
    volumeMounts.push({
      name: USER_ARTIFACTS_VOLUME,
      mountPath: config["user.artifacts.base-dir"] ?? "/opt/flink/artifacts",
    });
  }

  const template = flinkPodTemplate(rolePodTemplate(spec, "jobManager", ctx.mergeByName), {
    labels,
    options,
    volumes,
    initContainers: jar ? [jar.initContainer] : [],
    main: {
      image: ctx.image,
      imagePullPolicy: ctx.imagePullPolicy,
      command: entrypoint(config),
      // Flink's client wraps the start script in bash -c so entrypoint args can carry shell words.
      args: ["bash", "-c", `kubernetes-jobmanager.sh ${target} ${options.entrypointArgs}`.trim()],
      ports: jobManagerPorts(config),
      env: [
        {
          name: "_POD_IP_ADDRESS",
          valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "status.podIP" } },
        },
      ],
      volumeMounts,
      resources: fromTemplate =>
        mainContainerResources("jobmanager", config, spec.jobManager, fromTemplate),
      startupProbe: jobManagerStartupProbe(ctx.user),
    },
  });
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: childMetadata(
      cluster,
      jobManagerName(cluster),
      { ...options.labels, ...labels },
      options.annotations,
    ),
    spec: {
      replicas: spec.jobManager?.replicas ?? 1,
      selector: { matchLabels: labels },
      template,
    },
  };
}

/**
 * The TaskManager pod template Flink's JobManager starts its TaskManagers from: the merged user templates
 * plus the resources Flink does not set itself (cpu and memory come from the configuration).
 */
function taskManagerPodTemplate(ctx: ClusterContext): V1PodTemplateSpec | undefined {
  const template = rolePodTemplate(ctx.spec, "taskManager", ctx.mergeByName);
  const { requests, limits } = otherResources(ctx.spec.taskManager);
  if (Object.keys(requests).length + Object.keys(limits).length > 0) {
    const spec = template.spec ?? { containers: [] };
    const containers = spec.containers ?? [];
    const main: V1Container = containers.find(c => c.name === MAIN_CONTAINER) ?? {
      name: MAIN_CONTAINER,
    };
    main.resources = {
      ...main.resources,
      requests: { ...main.resources?.requests, ...requests },
      limits: { ...main.resources?.limits, ...limits },
    };
    spec.containers = containers.includes(main) ? containers : [main, ...containers];
    template.spec = spec;
  }
  const empty =
    Object.keys(template.metadata ?? {}).length === 0 &&
    Object.keys(template.spec ?? {}).length === 0;
  return empty ? undefined : template;
}

function podTemplateConfigMap(ctx: ClusterContext, template: V1PodTemplateSpec): V1ConfigMap {
  const { cluster } = ctx;
  const pod = { apiVersion: "v1", kind: "Pod", ...template };
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: childMetadata(cluster, podTemplateConfigMapName(cluster), commonLabels(cluster)),
    data: { [TASKMANAGER_TEMPLATE_FILE]: stringify(pod, { lineWidth: 0 }) },
  };
}

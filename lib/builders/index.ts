import type { KubernetesObject } from "@kubernetes/client-node";
import { FlinkDeploymentObject } from "../api/resources";
import { buildIngress } from "./ingress";
import { buildNativeCluster } from "./native";
import { BuildOptions } from "./options";
import { buildStandaloneCluster } from "./standalone";

export type { BuildOptions } from "./options";

/**
 * Every object the operator applies for a FlinkDeployment, in apply order: ConfigMaps before the
 * workloads that mount them, Services, then the ingress. Objects of a previous build missing here are
 * the caller's to delete.
 */
export function buildClusterManifests(
  deployment: FlinkDeploymentObject,
  options: BuildOptions,
): KubernetesObject[] {
  const ingress = buildIngress(deployment, options);
  const tail: KubernetesObject[] = ingress ? [ingress] : [];
  if (deployment.spec?.mode === "standalone") {
    const c = buildStandaloneCluster(deployment, options);
    return [c.configMap, c.jobManager, c.taskManager, ...c.services, ...tail];
  }
  const c = buildNativeCluster(deployment, options);
  const podTemplate = c.taskManagerPodTemplate ? [c.taskManagerPodTemplate] : [];
  return [c.configMap, ...podTemplate, c.jobManager, ...c.services, ...tail];
}

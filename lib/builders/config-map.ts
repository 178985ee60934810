import type { V1ConfigMap, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import { FlinkDeploymentSpec, FlinkVersion } from "../api/spec";
import { flinkConfigFileName, renderFlinkConfigFile } from "./flink-conf";
import { logConfigurationFiles } from "./logging";
import { Cluster, childMetadata, commonLabels, flinkConfigMapName } from "./metadata";

const VOLUME = "flink-config-volume";

/** ConfigMap flink-config-<name>: Flink's config file and its log configuration, mounted as the conf directory. */
export function flinkConfigMap(
  cluster: Cluster,
  spec: FlinkDeploymentSpec,
  config: Record<string, string>,
  version: FlinkVersion,
): V1ConfigMap {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: childMetadata(cluster, flinkConfigMapName(cluster), commonLabels(cluster)),
    data: {
      [flinkConfigFileName(version)]: renderFlinkConfigFile(config, version),
      ...logConfigurationFiles(spec),
    },
  };
}

export function flinkConfigVolume(cluster: Cluster): V1Volume {
  return { name: VOLUME, configMap: { name: flinkConfigMapName(cluster) } };
}

/** The image's conf directory, where Flink's scripts look unless FLINK_CONF_DIR says otherwise. */
export function flinkConfigMount(): V1VolumeMount {
  return { name: VOLUME, mountPath: "/opt/flink/conf" };
}

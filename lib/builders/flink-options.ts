import type {
  V1EnvVar,
  V1LocalObjectReference,
  V1Toleration,
  V1Volume,
  V1VolumeMount,
} from "@kubernetes/client-node";
import { splitFlinkValue } from "../api/flink-config";
import { Role } from "./metadata";

/** A Flink map value: "k1:v1,k2:v2". */
export function parseFlinkMap(key: string, value: string | undefined): Record<string, string> {
  const map: Record<string, string> = {};
  for (const [i, entry] of splitFlinkValue(value ?? "", ",", key).entries()) {
    const parts = splitFlinkValue(entry, ":", key);
    // The entry is not quoted back: configuration values may hold credentials, and this message is logged.
    if (parts.length !== 2) throw new Error(`${key}: entry ${i + 1} is not a key:value pair`);
    map[parts[0]] = parts[1];
  }
  return map;
}

/** A Flink list of maps: "k1:v1,k2:v2;k1:v3". */
function parseFlinkMapList(key: string, value: string | undefined): Array<Record<string, string>> {
  return splitFlinkValue(value ?? "", ";", key)
    .filter(item => item !== "")
    .map(item => parseFlinkMap(key, item));
}

/** Pod settings Flink's own Kubernetes client takes from its configuration, for one role. */
export interface RoleKubernetesOptions {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  nodeSelector: Record<string, string>;
  tolerations: V1Toleration[];
  imagePullSecrets: V1LocalObjectReference[];
  /** kubernetes.<role>.service-account, else kubernetes.service-account. */
  serviceAccount?: string;
  env: V1EnvVar[];
  volumes: V1Volume[];
  volumeMounts: V1VolumeMount[];
  entrypointArgs: string;
}

const ROLE_PREFIX: Record<Role, { kubernetes: string; env: string }> = {
  jobmanager: { kubernetes: "kubernetes.jobmanager", env: "containerized.master.env." },
  taskmanager: { kubernetes: "kubernetes.taskmanager", env: "containerized.taskmanager.env." },
};

export function roleKubernetesOptions(
  config: Record<string, string>,
  role: Role,
): RoleKubernetesOptions {
  const prefix = ROLE_PREFIX[role].kubernetes;
  const mapOf = (key: string) => parseFlinkMap(key, config[key]);

  const tolerationsKey = `${prefix}.tolerations`;
  const tolerations = parseFlinkMapList(tolerationsKey, config[tolerationsKey]).map(toleration);

  const secretRefsKey = "kubernetes.env.secretKeyRef";
  const secretEnv: V1EnvVar[] = parseFlinkMapList(secretRefsKey, config[secretRefsKey]).map(ref => {
    if (!ref.env || !ref.secret || !ref.key)
      throw new Error(`${secretRefsKey}: each item needs env, secret and key`);
    return { name: ref.env, valueFrom: { secretKeyRef: { name: ref.secret, key: ref.key } } };
  });
  const plainEnv: V1EnvVar[] = Object.entries(config)
    .filter(([k]) => k.startsWith(ROLE_PREFIX[role].env))
    .map(([k, value]) => ({ name: k.slice(ROLE_PREFIX[role].env.length), value }));

  const secrets = Object.entries(mapOf("kubernetes.secrets"));
  return {
    labels: mapOf(`${prefix}.labels`),
    annotations: mapOf(`${prefix}.annotations`),
    nodeSelector: mapOf(`${prefix}.node-selector`),
    tolerations,
    imagePullSecrets: splitFlinkValue(
      config["kubernetes.container.image.pull-secrets"] ?? "",
      ";",
      "kubernetes.container.image.pull-secrets",
    )
      .filter(name => name !== "")
      .map(name => ({ name })),
    serviceAccount: config[`${prefix}.service-account`] ?? config["kubernetes.service-account"],
    env: [...plainEnv, ...secretEnv],
    volumes: secrets.map(([secret]) => ({
      name: `${secret}-volume`,
      secret: { secretName: secret },
    })),
    volumeMounts: secrets.map(([secret, path]) => ({ name: `${secret}-volume`, mountPath: path })),
    entrypointArgs: config[`${prefix}.entrypoint.args`] ?? "",
  };
}

function toleration(map: Record<string, string>): V1Toleration {
  const { key, operator, value, effect, tolerationSeconds } = map;
  const seconds =
    tolerationSeconds === undefined ? {} : { tolerationSeconds: Number(tolerationSeconds) };
  return { key, operator, value, effect, ...seconds };
}

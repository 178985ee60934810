import type {
  V1Container,
  V1ContainerPort,
  V1EnvVar,
  V1PodSpec,
  V1PodTemplateSpec,
  V1Probe,
  V1ResourceRequirements,
  V1Volume,
  V1VolumeMount,
} from "@kubernetes/client-node";
import { RoleKubernetesOptions } from "./flink-options";
import { MAIN_CONTAINER } from "./metadata";
import { mergeValues } from "./pod-template";

/** What the operator sets on the main container; it wins over the pod template. */
export interface MainContainer {
  image: string;
  imagePullPolicy: string;
  command: string[];
  args: string[];
  ports: V1ContainerPort[];
  env: V1EnvVar[];
  volumeMounts: V1VolumeMount[];
  /** Computed from the template's own resources, which it may keep (see mainContainerResources). */
  resources: (fromTemplate: V1ResourceRequirements | undefined) => V1ResourceRequirements;
  /** Only added when the template has no startup probe of its own. */
  startupProbe?: V1Probe;
}

/** What the operator sets on a Flink pod besides its main container. */
export interface FlinkPod {
  labels: Record<string, string>;
  options: RoleKubernetesOptions;
  volumes: V1Volume[];
  /** Run before the template's init containers; a template init container of the same name is merged over one. */
  initContainers: V1Container[];
  main: MainContainer;
}

/** Entries of `extra` replace entries of `list` with the same key; the rest are appended. */
function upsert<T>(list: T[] | undefined, extra: T[], key: (item: T) => unknown): T[] {
  const keys = new Set(extra.map(key));
  return [...(list ?? []).filter(item => !keys.has(key(item))), ...extra];
}

/**
 * The pod of a role: the role's merged pod template decorated the way Flink's Kubernetes client decorates
 * it. Operator values win over the template's; lists are merged so the template's own entries stay.
 */
export function flinkPodTemplate(template: V1PodTemplateSpec, pod: FlinkPod): V1PodTemplateSpec {
  // Only top-level fields of the copy are reassigned; the clone at the end unshares everything.
  const spec: V1PodSpec = { ...(template.spec ?? { containers: [] }) };
  const { options } = pod;

  const containers = spec.containers ?? [];
  const index = containers.findIndex(c => c.name === MAIN_CONTAINER);
  const main = mainContainer(
    index < 0 ? { name: MAIN_CONTAINER } : containers[index],
    pod.main,
    options,
  );
  // Where the template has no main container, it goes first: kubectl's default container is the first.
  spec.containers =
    index < 0 ? [main, ...containers] : containers.map((c, i) => (i === index ? main : c));

  const theirs = spec.initContainers ?? [];
  const ours = pod.initContainers.map(c => {
    const same = theirs.find(t => t.name === c.name);
    return same ? (mergeValues(c, same, true) as V1Container) : c;
  });
  if (ours.length > 0)
    spec.initContainers = [...ours, ...theirs.filter(t => !ours.some(o => o.name === t.name))];

  if (options.serviceAccount) {
    // Both fields, so a template that sets the deprecated one cannot disagree.
    spec.serviceAccountName = options.serviceAccount;
    spec.serviceAccount = options.serviceAccount;
  }
  // Deployments and StatefulSets accept no other policy.
  spec.restartPolicy = "Always";
  if (Object.keys(options.nodeSelector).length > 0)
    spec.nodeSelector = { ...spec.nodeSelector, ...options.nodeSelector };
  if (options.tolerations.length > 0)
    spec.tolerations = [...(spec.tolerations ?? []), ...options.tolerations];
  if (options.imagePullSecrets.length > 0) {
    spec.imagePullSecrets = upsert(spec.imagePullSecrets, options.imagePullSecrets, s => s.name);
  }
  const volumes = [...pod.volumes, ...options.volumes];
  if (volumes.length > 0) spec.volumes = upsert(spec.volumes, volumes, v => v.name);

  return structuredClone({
    metadata: {
      ...template.metadata,
      labels: { ...template.metadata?.labels, ...options.labels, ...pod.labels },
      annotations: {
        ...template.metadata?.annotations,
        ...options.annotations,
        "kubectl.kubernetes.io/default-container": MAIN_CONTAINER,
      },
    },
    spec,
  });
}

function mainContainer(
  fromTemplate: V1Container,
  main: MainContainer,
  options: RoleKubernetesOptions,
): V1Container {
  const container: V1Container = {
    ...fromTemplate,
    name: MAIN_CONTAINER,
    image: main.image,
    imagePullPolicy: main.imagePullPolicy,
    command: main.command,
    args: main.args,
    ports: upsert(fromTemplate.ports, main.ports, p => p.name ?? p.containerPort),
    env: upsert(
      upsert(fromTemplate.env, options.env, e => e.name),
      main.env,
      e => e.name,
    ),
    volumeMounts: upsert(
      fromTemplate.volumeMounts,
      [...options.volumeMounts, ...main.volumeMounts],
      m => m.mountPath,
    ),
    resources: main.resources(fromTemplate.resources),
  };
  if (main.startupProbe && !fromTemplate.startupProbe) container.startupProbe = main.startupProbe;
  return container;
}

import type { KubernetesObject, V1ConfigMap, V1Service } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { effectiveFlinkConfiguration, flinkConfigFileName } from "../../../lib/builders/flink-conf";
import { NativeCluster, buildNativeCluster } from "../../../lib/builders/native";
import { rolePodTemplate } from "../../../lib/builders/pod-template";
import { parseQuantity } from "../../../lib/api/units";
import {
  FlinkReading,
  ReferenceAnswer,
  WRAPPER_KEYS,
  nativeReference,
} from "../../../scripts/reference/native-reference";
import { OPTIONS, fixture } from "../../unit/builders/helpers";

/**
 * The native-mode objects our builders make, compared field by field with what Flink's own Kubernetes
 * client (KubernetesClusterDescriptor and KubernetesJobManagerFactory, run from the real jars) builds
 * for the same configuration and pod templates. Every difference must be in ALLOWED, with its reason; the
 * same list is in docs/builders.md ("Differences from Flink's native client, checked").
 */

/** The releases compared: the Flink line whose jars run, and the spec's flinkVersion. */
const RELEASES = [
  { flink: "1.20", version: "v1_20" },
  { flink: "2.3", version: "v2_3" },
] as const;
type Release = (typeof RELEASES)[number];

interface Difference {
  path: string;
  ours: unknown;
  flink: unknown;
}

interface Allowed {
  path: RegExp;
  reason: string;
  /** Narrows the entry to the values it explains; any values when absent. */
  when?: (d: Difference) => boolean;
}

const oursOnly = (d: Difference) => d.ours !== undefined && d.flink === undefined;
const flinkOnly = (d: Difference) => d.ours === undefined && d.flink !== undefined;

const ALLOWED: Allowed[] = [
  {
    path: /^(deployment|service|configmap)\[[^\]]+\]\.metadata\.namespace$/,
    when: oursOnly,
    reason:
      "Flink's client sets the namespace when it creates an object; the operator's manifests carry it",
  },
  {
    path: /^(deployment|service|configmap)\[[^\]]+\]\.metadata\.ownerReferences$/,
    when: oursOnly,
    reason: "every child is owned by the FlinkDeployment, so deleting it deletes the cluster",
  },
  {
    path: /^(deployment|service|configmap)\[[^\]]+\]\.metadata\.annotations\["flinkdeployment\.flink\.apache\.org\/generation"\]$/,
    when: oursOnly,
    reason: "the spec generation a child was built from, the reference operator's key",
  },
  {
    path: /\.template\.metadata\.annotations\["kubectl\.kubernetes\.io\/default-container"\]$/,
    when: oursOnly,
    reason: "kubectl logs and exec pick the Flink container rather than a sidecar",
  },
  {
    path: /\.template\.spec\.containers\.order$/,
    reason: "the main container goes first when the template has none there; Flink appends it last",
  },
  {
    path: /\.containers\[flink-main-container\]\.startupProbe$/,
    when: oursOnly,
    reason:
      "the JobManager is not ready until its REST API answers (kubernetes.operator.jm-deployment.startup.probe.enabled)",
  },
  {
    path: /\.containers\[flink-main-container\]\.args\[2\]$/,
    when: d => typeof d.flink === "string" && d.ours === d.flink.trimEnd(),
    reason:
      "no trailing space when kubernetes.jobmanager.entrypoint.args is empty; bash splits the words the same",
  },
  {
    path: /\.containers\[flink-main-container\]\.resources\.(requests|limits)\.ephemeral-storage$/,
    when: oursOnly,
    reason:
      "the spec's resources other than cpu and memory go on the container; Flink's client knows only cpu and memory",
  },
  {
    path: /\.template\.spec\.restartPolicy$/,
    when: d => d.ours === "Always" && d.flink === undefined,
    reason: "Always is the only policy a Deployment accepts; written out",
  },
  {
    path: /\.template\.spec\.(dnsPolicy|hostNetwork)$/,
    when: d => flinkOnly(d) && (d.flink === "ClusterFirst" || d.flink === false),
    reason:
      "Kubernetes defaults Flink writes out; the operator does not apply kubernetes.hostnetwork.enabled",
  },
  {
    path: /\.volumes\[(flink-config-volume|pod-template-volume)\]\.configMap\.items$/,
    when: flinkOnly,
    reason:
      "the operator mounts its whole ConfigMap instead of listing its files; the ConfigMap checks below show the files are the same",
  },
  {
    path: /^configuration\["(internal\.cluster\.execution-mode|kubernetes\.internal\.jobmanager\.entrypoint\.class)"\]$/,
    when: flinkOnly,
    reason:
      "recorded by Flink's client for itself: the pod's command comes from execution.target, and the execution mode's default is the NORMAL the client writes",
  },
];

interface Case {
  name: string;
  job: boolean;
  ha: boolean;
}

const CASES: Case[] = [
  { name: "session", job: false, ha: false },
  { name: "session with HA", job: false, ha: true },
  { name: "application", job: true, ha: false },
  { name: "application with HA", job: true, ha: true },
];

function deploymentOf(release: Release, c: Case) {
  return fixture("native-reference.yaml", raw => {
    raw.spec.flinkVersion = release.version;
    raw.spec.image = `flink:${release.flink}`;
    if (c.job) {
      raw.spec.job = {
        jarURI: "local:///opt/flink/examples/streaming/StateMachineExample.jar",
        entryClass: "org.apache.flink.streaming.examples.statemachine.StateMachineExample",
        args: ["--error-rate", "0.1"],
        parallelism: 4,
      };
      // Sessions run without entrypoint args, applications with, so both shapes of the command are checked.
      raw.spec.flinkConfiguration = {
        ...raw.spec.flinkConfiguration,
        "kubernetes.jobmanager.entrypoint.args": "-Dmetrics.reporters=none",
      };
    } else {
      // Sessions expose REST as a NodePort on another port, applications keep the defaults.
      raw.spec.flinkConfiguration = {
        ...raw.spec.flinkConfiguration,
        "kubernetes.rest-service.exposed.type": "NodePort",
        "rest.port": "8082",
      };
    }
    if (c.ha) {
      raw.spec.flinkConfiguration = {
        ...raw.spec.flinkConfiguration,
        "high-availability.type": "kubernetes",
        "high-availability.storageDir": "file:///flink-data/ha",
      };
      raw.spec.jobManager = { ...raw.spec.jobManager, replicas: 2 };
    }
  });
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/** Keys lists of Kubernetes objects the way the API server merges them, so order alone is no difference. */
function listKey(path: string, items: unknown[]): ((item: unknown) => string) | undefined {
  if (!items.every(isObject)) return undefined;
  if (path.endsWith(".volumeMounts"))
    return item => String((item as { mountPath: string }).mountPath);
  if (path.endsWith(".items")) return item => String((item as { key: string }).key);
  if (items.every(i => typeof i.name === "string")) return item => (item as { name: string }).name;
  return undefined;
}

const segment = (key: string) => (/^[\w-]+$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`);
const isQuantity = (path: string) => /\.resources\.(requests|limits)\./.test(path);

/** Every leaf where the two trees differ; quantities compare by amount ("0.5" is "500m"). */
function diff(ours: unknown, flink: unknown, path: string, out: Difference[] = []): Difference[] {
  // A map of strings on one side only (labels, annotations) is compared entry by entry.
  const stringMap = (v: unknown) =>
    isObject(v) && Object.values(v).every(e => typeof e === "string");
  if (ours === undefined && stringMap(flink)) ours = {};
  if (flink === undefined && stringMap(ours)) flink = {};
  if (isObject(ours) && isObject(flink)) {
    for (const key of new Set([...Object.keys(ours), ...Object.keys(flink)]))
      diff(ours[key], flink[key], path + segment(key), out);
  } else if (Array.isArray(ours) && Array.isArray(flink)) {
    const key = listKey(path, [...ours, ...flink]);
    if (key) {
      const names = (list: unknown[]) => list.map(key);
      if (path.endsWith(".containers") && names(ours).join() !== names(flink).join())
        out.push({ path: `${path}.order`, ours: names(ours), flink: names(flink) });
      for (const name of new Set([...names(ours), ...names(flink)])) {
        diff(
          ours.find(i => key(i) === name),
          flink.find(i => key(i) === name),
          `${path}[${name}]`,
          out,
        );
      }
    } else {
      for (let i = 0; i < Math.max(ours.length, flink.length); i++)
        diff(ours[i], flink[i], `${path}[${i}]`, out);
    }
  } else if (
    isQuantity(path) && ours !== undefined && flink !== undefined
      ? parseQuantity(ours as string) !== parseQuantity(flink as string)
      : JSON.stringify(ours) !== JSON.stringify(flink)
  ) {
    out.push({ path, ours, flink });
  }
  return out;
}

/**
 * Two readings of a configuration by Flink's loader, key by key. A list written as a YAML sequence and the
 * same list in Flink's "a;b" syntax print differently; Flink's own list conversion decides.
 */
function diffConfiguration(ours: FlinkReading, flink: FlinkReading): Difference[] {
  const out: Difference[] = [];
  const harness = new Set(WRAPPER_KEYS);
  for (const key of new Set([...Object.keys(ours), ...Object.keys(flink)])) {
    if (harness.has(key)) continue;
    const [a, b] = [ours[key], flink[key]];
    if (a?.value === b?.value) continue;
    const yamlList = [a?.value, b?.value].some(v => v?.startsWith("["));
    if (a && b && yamlList && JSON.stringify(a.list) === JSON.stringify(b.list)) continue;
    out.push({ path: `configuration${segment(key)}`, ours: a?.value, flink: b?.value });
  }
  return out;
}

const named = (kind: string, objects: KubernetesObject[]) =>
  new Map(objects.filter(o => o.kind === kind).map(o => [o.metadata!.name!, o] as const));

interface Compared {
  ours: NativeCluster;
  flink: ReferenceAnswer;
  differences: Difference[];
}

async function compareAll(release: Release): Promise<Map<string, Compared>> {
  const configFileName = flinkConfigFileName(release.version);
  const built = CASES.map(c => {
    const deployment = deploymentOf(release, c);
    const ours = buildNativeCluster(deployment, OPTIONS);
    const { [configFileName]: configFile, ...logFiles } = ours.configMap.data!;
    const tmTemplate = ours.taskManagerPodTemplate?.data?.["taskmanager-pod-template.yaml"];
    return {
      c,
      ours,
      request: {
        // Our effective configuration is what the operator would hand Flink's client.
        configuration: effectiveFlinkConfiguration(deployment, OPTIONS),
        confFiles: logFiles,
        podTemplates: {
          jobmanager: {
            apiVersion: "v1",
            kind: "Pod",
            ...rolePodTemplate(deployment.spec!, "jobManager", false),
          },
          taskmanager: tmTemplate === undefined ? undefined : parse(tmTemplate),
        },
        parse: [{ [configFileName]: configFile }],
      },
    };
  });
  const answers = await nativeReference(
    release.flink,
    built.map(b => b.request),
  );
  return new Map(
    built.map(({ c, ours }, i) => {
      const flink = answers[i];
      const differences: Difference[] = [];
      diff(
        ours.jobManager,
        flink.deployment,
        `deployment[${ours.jobManager.metadata!.name}]`,
        differences,
      );
      const theirServices = named("Service", flink.resources!);
      const ourServices = named("Service", ours.services);
      for (const name of new Set([...theirServices.keys(), ...ourServices.keys()]))
        diff(ourServices.get(name), theirServices.get(name), `service[${name}]`, differences);
      const theirMaps = named("ConfigMap", flink.resources!);
      const ourMaps = named(
        "ConfigMap",
        [ours.configMap, ours.taskManagerPodTemplate].filter((m): m is V1ConfigMap => !!m),
      );
      for (const name of new Set([...theirMaps.keys(), ...ourMaps.keys()])) {
        const [a, b] = [ourMaps.get(name), theirMaps.get(name)];
        // File contents are compared by meaning below; here names, labels and the rest.
        const strip = (m?: KubernetesObject) =>
          m && { ...m, data: Object.keys((m as V1ConfigMap).data ?? {}).sort() };
        diff(strip(a), strip(b), `configmap[${name}]`, differences);
      }
      differences.push(...diffConfiguration(flink.parsed[0], flink.configMapConfiguration!));
      return [c.name, { ours, flink, differences }] as const;
    }),
  );
}

const unexplained = (differences: Difference[]) =>
  differences.filter(d => !ALLOWED.some(a => a.path.test(d.path) && (a.when?.(d) ?? true)));

// Awaited inside each test rather than in a hook: when the jars cannot be fetched every test fails, none is
// reported as skipped. The first fetch from Maven Central takes minutes.
const pending = new Map<Release, Promise<Map<string, Compared>>>();
function compared(release: Release): Promise<Map<string, Compared>> {
  if (!pending.has(release)) pending.set(release, compareAll(release));
  return pending.get(release)!;
}

describe("native mode against Flink's own Kubernetes client", { timeout: 900_000 }, () => {
  it("has no allow-list entry that explains nothing", async () => {
    const all = (await Promise.all(RELEASES.map(compared))).flatMap(m =>
      [...m.values()].flatMap(r => r.differences),
    );
    const idle = ALLOWED.filter(a => !all.some(d => a.path.test(d.path) && (a.when?.(d) ?? true)));
    expect(idle.map(a => a.reason)).toEqual([]);
  });

  describe.each(RELEASES)("Flink $flink", release => {
    describe.each(CASES)("$name cluster", c => {
      const result = async () => (await compared(release)).get(c.name)!;

      it("differs from Flink only where the allow-list says why", async () => {
        expect(unexplained((await result()).differences)).toEqual([]);
      });

      it("creates the same objects", async () => {
        const { ours, flink } = await result();
        const kinds = (objects: KubernetesObject[]) =>
          objects.map(o => `${o.kind}/${o.metadata!.name}`).sort();
        const ourObjects: KubernetesObject[] = [
          ours.configMap,
          ...(ours.taskManagerPodTemplate ? [ours.taskManagerPodTemplate] : []),
          ours.jobManager,
          ...ours.services,
        ];
        expect(kinds(ourObjects)).toEqual(kinds([flink.deployment!, ...flink.resources!]));
        // The variations reached Flink: two JobManagers with HA, a NodePort REST Service for sessions.
        expect(flink.deployment!.spec!.replicas).toBe(c.ha ? 2 : 1);
        const rest = named("Service", flink.resources!).get("reference-example-rest") as V1Service;
        expect(rest.spec!.type).toBe(c.job ? "ClusterIP" : "NodePort");
        // Without HA both have the headless internal Service; with HA only the REST Service.
        expect(ours.services.map((s: V1Service) => s.metadata!.name)).toEqual(
          c.ha ? ["reference-example-rest"] : ["reference-example", "reference-example-rest"],
        );
      });

      it("ships the same config, log and pod template files, and Flink mounts exactly those", async () => {
        const { ours, flink } = await result();
        const theirs = named("ConfigMap", flink.resources!);
        const ourConfig = ours.configMap.data!;
        const theirConfig = (theirs.get(ours.configMap.metadata!.name!) as V1ConfigMap).data!;
        const configFile = flinkConfigFileName(release.version);
        for (const file of Object.keys(ourConfig).filter(f => f !== configFile))
          expect(ourConfig[file], file).toBe(theirConfig[file]);
        const tm = ours.taskManagerPodTemplate!;
        const theirTm = theirs.get(tm.metadata!.name!) as V1ConfigMap;
        const template = (m: V1ConfigMap) => parse(m.data!["taskmanager-pod-template.yaml"]);
        expect(template(tm)).toEqual(template(theirTm));
        const volumes = flink.deployment!.spec!.template.spec!.volumes!;
        const items = (name: string) =>
          volumes
            .find(v => v.name === name)!
            .configMap!.items!.map(i => i.key)
            .sort();
        expect(items("flink-config-volume")).toEqual(Object.keys(ourConfig).sort());
        expect(items("pod-template-volume")).toEqual(Object.keys(tm.data!).sort());
      });
    });
  });
});

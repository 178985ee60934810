import type { KubernetesObject } from "@kubernetes/client-node";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { K8s, kind } from "kubernetes-fluent-client";
import { FlinkDeployment } from "../../lib/api/kinds";
import { FlinkDeploymentSchema } from "../../lib/api/resources";
import { buildClusterManifests } from "../../lib/builders";
import { cacheDir } from "../../lib/cache";
import { startControlPlane, type ControlPlane } from "../sandbox/controlplane";
import { installCrds } from "../sandbox/crds";
import { startModule, type RunningModule } from "../sandbox/module";
import { run } from "../sandbox/proc";

/*
 * npm run bench -- provision: how long the operator takes to provision N session clusters applied at once,
 * against the apiserver's own limit: the same child manifests applied directly. Both end when every
 * JobManager Deployment is ready on the kwok node (and, for the operator, every status says READY).
 */
const SIZES = (process.env.PROVISION_SIZES ?? "200,1000").split(",").map(Number);
/** Requests in flight from the applying client, for both runs. */
const APPLY_CONCURRENCY = 20;
const TIMEOUT_MS = 30 * 60_000;

/** A native session cluster after basic-session-deployment-only.yaml, small enough for 1000 on one kwok node. */
function sessionCluster(namespace: string, name: string) {
  return {
    apiVersion: "flink.apache.org/v1beta1",
    kind: "FlinkDeployment",
    metadata: { name, namespace },
    spec: {
      image: "flink:2.2",
      flinkVersion: "v2_2",
      serviceAccount: "default",
      flinkConfiguration: { "taskmanager.numberOfTaskSlots": "2" },
      jobManager: { resource: { memory: "128m", cpu: 0.01 } },
      taskManager: { resource: { memory: "128m", cpu: 0.01 } },
    },
  };
}

const names = (n: number) =>
  Array.from({ length: n }, (_, i) => `session-${String(i).padStart(4, "0")}`);

/** Runs fn over items with at most `limit` calls in flight. */
async function pool<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

async function waitUntil(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 500));
  }
}

async function readyDeployments(namespace: string): Promise<number> {
  const list = await K8s(kind.Deployment).InNamespace(namespace).Get();
  return list.items.filter(d => (d.status?.readyReplicas ?? 0) >= 1).length;
}

async function count(
  model: typeof kind.Service | typeof kind.ConfigMap,
  namespace: string,
  label: string,
): Promise<number> {
  return (await K8s(model).InNamespace(namespace).WithLabel(label).Get()).items.length;
}

/** Children of N native session clusters: a config ConfigMap, the JobManager Deployment and two Services each. */
async function childrenComplete(namespace: string, n: number): Promise<boolean> {
  const [deployments, services, configMaps] = await Promise.all([
    readyDeployments(namespace),
    count(kind.Service, namespace, "app"),
    count(kind.ConfigMap, namespace, "app"),
  ]);
  return deployments === n && services === 2 * n && configMaps === n;
}

async function createNamespace(namespace: string): Promise<void> {
  await K8s(kind.Namespace).Apply({ metadata: { name: namespace } });
  await waitUntil(`service account default in ${namespace}`, async () => {
    try {
      await K8s(kind.ServiceAccount).InNamespace(namespace).Get("default");
      return true;
    } catch {
      return false;
    }
  });
}

async function deleteNamespace(cp: ControlPlane, namespace: string): Promise<void> {
  await run(
    cp.kubectl,
    [`--kubeconfig=${cp.kubeconfig}`, "delete", "namespace", namespace, "--timeout=20m"],
    { quiet: true },
  );
}

async function throughOperator(n: number): Promise<number> {
  const namespace = `provision-operator-${n}`;
  await createNamespace(namespace);
  const start = performance.now();
  await pool(names(n), APPLY_CONCURRENCY, name =>
    K8s(FlinkDeployment).Apply(sessionCluster(namespace, name) as never),
  );
  await waitUntil("every FlinkDeployment READY", async () => {
    const list = await K8s(FlinkDeployment).InNamespace(namespace).Get();
    const ready = list.items.filter(
      f =>
        f.status?.jobManagerDeploymentStatus === "READY" &&
        f.status.observedGeneration === f.metadata?.generation,
    );
    return ready.length === n && (await childrenComplete(namespace, n));
  });
  return performance.now() - start;
}

async function direct(n: number): Promise<number> {
  const namespace = `provision-direct-${n}`;
  await createNamespace(namespace);
  // Built beforehand: the measurement is the apiserver's, not the builders'.
  const manifests = names(n).flatMap(name => {
    const fd = FlinkDeploymentSchema.parse({
      ...sessionCluster(namespace, name),
      metadata: { name, namespace, uid: randomUUID(), generation: 1 },
    });
    return buildClusterManifests(fd, { generation: 1 }).map(m => {
      // No owner to point at: the garbage collector would delete children of a FlinkDeployment that does not exist.
      delete m.metadata!.ownerReferences;
      return m;
    });
  });
  const models: Record<
    string,
    typeof kind.ConfigMap | typeof kind.Deployment | typeof kind.Service
  > = {
    ConfigMap: kind.ConfigMap,
    Deployment: kind.Deployment,
    Service: kind.Service,
  };
  const start = performance.now();
  await pool(manifests, APPLY_CONCURRENCY, (m: KubernetesObject) =>
    K8s(models[m.kind!]).Apply(m as never, { force: true }),
  );
  await waitUntil("every JobManager Deployment ready", () => childrenComplete(namespace, n));
  return performance.now() - start;
}

/** Peak resident memory of a process so far (kB -> MiB). */
function peakRssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find(l => l.startsWith("VmHWM:"));
  return Number(line?.replace(/\D+/g, "") ?? 0) / 1024;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export async function benchProvision(): Promise<void> {
  const logDir = cacheDir("sandbox", "logs", "bench-provision");
  await rm(logDir, { recursive: true, force: true });
  await mkdir(logDir, { recursive: true });
  let cp: ControlPlane | undefined;
  let mod: RunningModule | undefined;
  try {
    cp = await startControlPlane({ logDir });
    process.env.KUBECONFIG = cp.kubeconfig;
    await installCrds(cp);
    mod = await startModule({ kubeconfig: cp.kubeconfig, logFile: join(logDir, "module.log") });
    console.log(
      `provision benchmark: native session FlinkDeployments applied ${APPLY_CONCURRENCY} at a time (logs in ${logDir})`,
    );
    for (const n of SIZES) {
      const operator = await throughOperator(n);
      const rss = peakRssMiB(mod.pid());
      await deleteNamespace(cp, `provision-operator-${n}`);
      const baseline = await direct(n);
      await deleteNamespace(cp, `provision-direct-${n}`);
      console.log(
        `  N=${String(n).padEnd(5)} operator ${seconds(operator).padStart(8)}  direct apply ${seconds(baseline).padStart(8)}  ratio ${(operator / baseline).toFixed(2)}  operator peak RSS ${rss.toFixed(0)} MiB`,
      );
    }
  } finally {
    await mod?.stop();
    await cp?.stop();
  }
}

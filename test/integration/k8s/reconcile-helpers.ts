import { execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { inject } from "vitest";
import { removeWebhooks, restoreWebhooks } from "./kubectl";

/** Shared by the reconcile-*.test.ts files: kubectl against the run's cluster, waiting, and small FlinkDeployments. */
const kubeconfig = inject("kubeconfig");
const kubectlPath = inject("kubectl");

export async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(
    kubectlPath,
    [`--kubeconfig=${kubeconfig}`, ...args],
    { maxBuffer: 64 << 20 },
  );
  return stdout.trim();
}

/** kubectl with a manifest on stdin (apply -f -, create -f -). */
export function kubectlStdin(input: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(kubectlPath, [`--kubeconfig=${kubeconfig}`, ...args], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", d => (out += d));
    child.stderr.on("data", d => (err += d));
    child.on("close", code =>
      code === 0
        ? resolve(out.trim())
        : reject(new Error(`kubectl ${args.join(" ")}: ${err.trim()}`)),
    );
    child.stdin.end(input);
  });
}

export const apply = (obj: object) => kubectlStdin(JSON.stringify(obj), "apply", "-f", "-");

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export async function getJson(...args: string[]): Promise<Json> {
  return JSON.parse(await kubectl("get", ...args, "-o", "json"));
}

/** The object, or undefined when it does not exist. */
export async function find(kindName: string, ns: string, name: string): Promise<Json | undefined> {
  const out = await kubectl("get", kindName, name, "-n", ns, "--ignore-not-found", "-o", "json");
  return out ? JSON.parse(out) : undefined;
}

/** Polls until check returns a truthy value and returns it; fails with the last value seen. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T>,
  timeoutMs = 60_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`,
      );
    await new Promise(r => setTimeout(r, 300));
  }
}

/** Short operator intervals, so a test waits seconds rather than the defaults' minutes. */
export const FAST = {
  "kubernetes.operator.observer.progress-check.interval": "2 s",
  "kubernetes.operator.reconcile.interval": "5 s",
};

/**
 * A small FlinkDeployment after the compat examples (basic.yaml, basic-session-deployment-only.yaml):
 * a session cluster unless job is given; kwok never runs the image.
 */
export function flinkDeployment(
  ns: string,
  name: string,
  opts: {
    mode?: "native" | "standalone";
    job?: boolean;
    replicas?: number;
    conf?: Record<string, string>;
  } = {},
) {
  return {
    apiVersion: "flink.apache.org/v1beta1",
    kind: "FlinkDeployment",
    metadata: { name, namespace: ns },
    spec: {
      image: "flink:2.2",
      flinkVersion: "v2_2",
      ...(opts.mode ? { mode: opts.mode } : {}),
      serviceAccount: "default",
      flinkConfiguration: { "taskmanager.numberOfTaskSlots": "2", ...FAST, ...opts.conf },
      jobManager: { resource: { memory: "1024m", cpu: 0.5 } },
      taskManager: {
        resource: { memory: "1024m", cpu: 0.5 },
        ...(opts.replicas ? { replicas: opts.replicas } : {}),
      },
      ...(opts.job
        ? {
            job: {
              jarURI: "local:///opt/flink/examples/streaming/StateMachineExample.jar",
              parallelism: 2,
              upgradeMode: "stateless",
            },
          }
        : {}),
    },
  };
}

export async function createNamespace(ns: string): Promise<void> {
  await kubectl("create", "namespace", ns);
  // Pods are refused until the namespace has its default service account.
  await eventually(`service account default in ${ns}`, () =>
    kubectl("get", "serviceaccount", "default", "-n", ns, "--ignore-not-found", "-o", "name"),
  );
}

export const deleteNamespace = (ns: string) =>
  kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=false");

/**
 * Waits for the FlinkDeployment's JobManager to be READY and its Ready condition True at its current generation;
 * returns it. A session cluster is then STABLE; an application stays DEPLOYED, since it is stable only once its
 * job runs and kwok pods run no Flink.
 */
export function ready(ns: string, name: string, timeoutMs = 60_000): Promise<Json> {
  return eventually(
    `${ns}/${name} READY`,
    async () => {
      const fd = await find("flinkdeployment", ns, name);
      const s = fd?.status;
      const generation = fd?.metadata.generation;
      return s?.jobManagerDeploymentStatus === "READY" &&
        s.lifecycleState === (fd.spec.job ? "DEPLOYED" : "STABLE") &&
        s.observedGeneration === generation &&
        condition(fd, "Ready")?.status === "True" &&
        condition(fd, "Ready").observedGeneration === generation
        ? fd
        : undefined;
    },
    timeoutMs,
  );
}

export function condition(fd: Json, type: string): Json {
  return fd?.status?.conditions?.find((c: Json) => c.type === type);
}

/** The FlinkDeployment's Kubernetes events, oldest first, as "Reason: message". */
export async function events(ns: string, name: string): Promise<string[]> {
  const list = await getJson(
    "events",
    "-n",
    ns,
    "--field-selector",
    `involvedObject.kind=FlinkDeployment,involvedObject.name=${name}`,
  );
  return list.items
    .sort((a: Json, b: Json) =>
      String(a.lastTimestamp ?? a.eventTime).localeCompare(String(b.lastTimestamp ?? b.eventTime)),
    )
    .map((e: Json) => `${e.reason}: ${e.message}`);
}

/** Every child object owned by the FlinkDeployment uid, as "Kind/name". */
export async function children(ns: string, uid: string): Promise<string[]> {
  const list = await getJson("deployments,statefulsets,services,configmaps,ingresses", "-n", ns);
  return list.items
    .filter((o: Json) => o.metadata.ownerReferences?.some((r: Json) => r.uid === uid))
    .map((o: Json) => `${o.kind}/${o.metadata.name}`)
    .sort();
}

/** The module process: the child of scripts/dev.ts that runs module-entry.ts (another is esbuild's service). */
export function modulePid(): number | undefined {
  const supervisor = readFileSync(inject("modulePidFile"), "utf8").trim();
  const kids = readFileSync(`/proc/${supervisor}/task/${supervisor}/children`, "utf8")
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
  return kids.find(pid => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("module-entry.ts");
    } catch {
      return false;
    }
  });
}

/**
 * Runs `fn` with the run's module (the admin-credentialed operator) stopped, so that only the test reconciles:
 * its webhook configurations deleted (with failurePolicy Fail they would refuse our kinds without a server) and
 * its process paused with SIGSTOP. Afterwards, whether `fn` failed or not, the process continues and the
 * webhooks are back in the request path. `ns` is where the webhook probes go.
 */
export async function withModuleStopped<T>(ns: string, fn: () => Promise<T>): Promise<T> {
  const pid = modulePid();
  if (!pid) throw new Error("the module process was not found");
  const saved = await removeWebhooks(ns);
  process.kill(pid, "SIGSTOP");
  try {
    return await fn();
  } finally {
    process.kill(pid, "SIGCONT");
    await restoreWebhooks(saved, ns);
  }
}

/**
 * Makes a Running kwok pod report what the kubelet reports between restarts of a container that keeps exiting
 * with code 1 (kwok runs no containers, and leaves a Running pod's status alone). Returns the pod as it was.
 */
export async function crashLoop(ns: string, labels: string): Promise<Json> {
  const [pod] = (await getJson("pods", "-n", ns, "-l", labels)).items as Json[];
  const container = pod.status.containerStatuses[0];
  const now = new Date().toISOString();
  await kubectl(
    "patch",
    "pod",
    pod.metadata.name,
    "-n",
    ns,
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify({
      status: {
        conditions: pod.status.conditions.map((c: Json) =>
          c.type === "Ready" || c.type === "ContainersReady"
            ? { ...c, status: "False", lastTransitionTime: now }
            : c,
        ),
        containerStatuses: [
          {
            ...container,
            ready: false,
            started: false,
            restartCount: 3,
            state: {
              waiting: {
                reason: "CrashLoopBackOff",
                message: `back-off 40s restarting failed container=${container.name} pod=${pod.metadata.name}`,
              },
            },
            lastState: {
              terminated: { exitCode: 1, reason: "Error", startedAt: now, finishedAt: now },
            },
          },
        ],
      },
    }),
  );
  return pod;
}

import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { flinkServiceAccount } from "../../scripts/sandbox/flink-rbac";
import { freePort } from "../../scripts/sandbox/proc";
import {
  apply,
  eventually,
  getJson,
  kubectl,
  kubectlStdin,
  type Json,
} from "../integration/k8s/reconcile-helpers";
import { inject } from "vitest";

export { apply, eventually, getJson, kubectl, kubectlStdin, type Json };

/** A namespace of its own with the `flink` service account and the JobManager's Role (docs/rbac.md). */
export async function namespaceWithFlinkAccount(prefix: string): Promise<string> {
  const ns = `${prefix}-${Date.now().toString(36)}`;
  await kubectl("create", "namespace", ns);
  await apply(flinkServiceAccount(ns));
  return ns;
}

/** A compat example from test/fixtures (the reference operator's own YAML), optionally with another image. */
export function compatExample(
  file: string,
  overrides: { image?: string; flinkVersion?: string } = {},
): Json {
  const text = readFileSync(`test/fixtures/compat/1.15.0/${file}`, "utf8");
  const docs = parseAllDocuments(text).map(d => d.toJS());
  const dep = docs.find(d => d.kind === "FlinkDeployment");
  Object.assign(dep.spec, overrides);
  return dep;
}

/** Deletes the namespace and waits until its pods are gone: the node has 2 CPUs and the next test needs them. */
export async function deleteNamespace(ns: string): Promise<void> {
  await kubectl("delete", "namespace", ns, "--wait=false");
  await eventually(
    "the namespace's pods to be gone",
    async () => (await pods(ns, "app")).length === 0,
    180_000,
  );
}

export async function pods(ns: string, selector: string): Promise<Json[]> {
  return (await getJson("pods", "-n", ns, "-l", selector)).items;
}

export const running = (p: Json) =>
  p.status?.phase === "Running" && (p.status?.containerStatuses ?? []).every((c: Json) => c.ready);

/**
 * Host processes of a pod: those in a cgroup under kubepods/.../pod<uid> (cgroup v1, cgroupfs driver), which is
 * where the kubelet puts every container of that pod, the sandbox included.
 */
export function processesOfPod(uid: string): number[] {
  const needle = `pod${uid}`;
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cgroup`, "utf8").includes(needle)) out.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Java processes among them: a JVM's command line starts with its java binary. */
export function jvmsOfPod(uid: string): number[] {
  return processesOfPod(uid).filter(pid => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0].endsWith("java");
    } catch {
      return false;
    }
  });
}

/** `kubectl port-forward` on a free loopback port, as a user would run it; stop() ends it. */
export async function portForward(
  ns: string,
  target: string,
  remotePort: number | string,
): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    inject("kubectl"),
    [
      `--kubeconfig=${inject("kubeconfig")}`,
      "port-forward",
      "-n",
      ns,
      "--address",
      "127.0.0.1",
      target,
      `${port}:${remotePort}`,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  await new Promise<void>((resolve, reject) => {
    let err = "";
    child.stderr!.on("data", d => (err += d));
    child.stdout!.on("data", d => {
      if (String(d).includes("Forwarding from")) resolve();
    });
    child.once("exit", code => reject(new Error(`port-forward exited (${code}): ${err}`)));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}

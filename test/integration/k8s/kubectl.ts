import { spawn } from "node:child_process";
import { inject } from "vitest";

/** The module's webhook configurations, as scripts/dev.ts names them (pepr-<uuid>). */
export const WEBHOOK_CONFIGURATIONS = [
  "mutatingwebhookconfiguration/pepr-flink-pepr-operator",
  "validatingwebhookconfiguration/pepr-flink-pepr-operator",
];

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the run's kubectl with its kubeconfig; `input` goes to stdin (for `-f -`). Never rejects on exit codes. */
export function runKubectl(args: string[], input?: string): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(inject("kubectl"), [`--kubeconfig=${inject("kubeconfig")}`, ...args], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", code => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? "");
  });
}

/** kubectl that must succeed; returns trimmed stdout. */
export async function kubectl(args: string[], input?: string): Promise<string> {
  const r = await runKubectl(args, input);
  if (r.code !== 0)
    throw new Error(`kubectl ${args.join(" ")} failed (exit ${r.code}): ${r.stderr}`);
  return r.stdout.trim();
}

export async function getJson(args: string[]): Promise<any> {
  return JSON.parse(await kubectl(["get", ...args, "-o", "json"]));
}

export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise(r => setTimeout(r, 250));
  }
}

/** A namespace name unique to this run; Kubernetes allows 63 characters. */
export function uniqueNamespace(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}`
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .slice(0, 63);
}

/** Deletes namespaces and waits until they are gone, so the module's finalizers have run. */
export async function deleteNamespaces(names: string[]): Promise<void> {
  if (names.length === 0) return;
  await kubectl([
    "delete",
    "namespace",
    ...names,
    "--ignore-not-found",
    "--wait=true",
    "--timeout=110s",
  ]);
}

/**
 * Resolves once the module's validating webhook is in the request path: a FlinkDeployment that only the webhook
 * rejects (a forbidden configuration key) is denied. Right after the configurations are (re)created the
 * apiserver may still be admitting without them.
 */
export async function webhookInPath(namespace: string): Promise<void> {
  const probe = JSON.stringify({
    apiVersion: "flink.apache.org/v1beta1",
    kind: "FlinkDeployment",
    metadata: { name: "webhook-probe", namespace },
    spec: {
      flinkVersion: "v1_20",
      serviceAccount: "flink",
      flinkConfiguration: { "kubernetes.namespace": "x" },
    },
  });
  await eventually(
    "the webhook to deny a probe",
    async () => {
      const r = await runKubectl(["create", "--dry-run=server", "-f", "-"], probe);
      return (
        r.code !== 0 &&
        r.stderr.includes('admission webhook "pepr-flink-pepr-operator.pepr.dev" denied')
      );
    },
    30_000,
  );
}

/** What the apiserver assigns on create; a create that carries them is refused. */
function forCreate(obj: any) {
  const { uid, resourceVersion, creationTimestamp, generation, managedFields, ...metadata } =
    obj.metadata;
  return { ...obj, metadata };
}

/**
 * Deletes the module's webhook configurations and waits until the apiserver admits without them (a create only
 * the webhook would deny goes through); returns them for restoreWebhooks.
 */
export async function removeWebhooks(namespace: string): Promise<any[]> {
  const saved = await Promise.all(WEBHOOK_CONFIGURATIONS.map(name => getJson([name])));
  await kubectl(["delete", ...WEBHOOK_CONFIGURATIONS]);
  const probe = JSON.stringify({
    apiVersion: "flink.apache.org/v1beta1",
    kind: "FlinkDeployment",
    metadata: { name: "webhook-probe", namespace },
    spec: {
      flinkVersion: "v1_20",
      serviceAccount: "flink",
      flinkConfiguration: { "kubernetes.namespace": "x" },
    },
  });
  await eventually(
    "the webhook to leave the request path",
    async () => (await runKubectl(["create", "--dry-run=server", "-f", "-"], probe)).code === 0,
    30_000,
  );
  return saved;
}

/** Creates the configurations removeWebhooks returned and waits until the webhook is in the request path. */
export async function restoreWebhooks(saved: any[], namespace: string): Promise<void> {
  await kubectl(
    ["create", "-f", "-"],
    JSON.stringify({ apiVersion: "v1", kind: "List", items: saved.map(forCreate) }),
  );
  await webhookInPath(namespace);
}

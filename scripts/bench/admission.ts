import { readFileSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { Agent, request } from "node:https";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parse } from "yaml";
import { cacheDir } from "../../lib/cache";
import { VERSIONS } from "../sandbox/build";
import { startControlPlane, type ControlPlane } from "../sandbox/controlplane";
import { installCrds } from "../sandbox/crds";
import { startModule, type RunningModule } from "../sandbox/module";
import { run, waitFor } from "../sandbox/proc";
import { ms, summarize } from "./stats";

/*
 * npm run bench -- admission: FlinkDeployment creates through a real kube-apiserver with the module's webhooks
 * in the path (module started as npm run dev starts it) and without them (module stopped, which deletes its
 * webhook configurations). Creates are sequential, one connection, so each sample is one request's latency.
 */
const CREATES = Number(process.env.ADMISSION_CREATES ?? 1000);
const WARMUP = 50;

type Kind = "valid" | "webhook-invalid" | "cel-invalid";

/**
 * 7 in 10 valid, 2 broken only in ways the webhook checks, 1 broken by a CEL rule. The valid ones carry the canary
 * label so the reconciler skips them and cannot compete for the 2 cores; the webhook still mutates them and
 * parses them against the whole schema. The webhook-only ones get every rule evaluated.
 */
function kindOf(i: number): Kind {
  const r = i % 10;
  return r < 7 ? "valid" : r < 9 ? "webhook-invalid" : "cel-invalid";
}

function flinkDeployment(namespace: string, name: string, kind: Kind) {
  const spec = {
    image: "flink:1.20",
    flinkVersion: "v1_20",
    serviceAccount: "flink",
    flinkConfiguration: {
      "taskmanager.numberOfTaskSlots": 2,
      state: { "checkpoints.dir": "s3://bucket/checkpoints" },
    },
    jobManager: { resource: { memory: "2048m", cpu: 1 } },
    taskManager: { resource: { memory: "2048m", cpu: 1 } },
    job: { jarURI: "local:///opt/flink/usrlib/job.jar", parallelism: 2, upgradeMode: "stateless" },
  };
  if (kind === "webhook-invalid") {
    Object.assign(spec.flinkConfiguration, { "kubernetes.cluster-id": "mine" });
    spec.job.upgradeMode = "savepoint";
    spec.job.jarURI = "ftp://example.com/job.jar";
  }
  if (kind === "cel-invalid") spec.job.parallelism = 0;
  const labels: Record<string, string> =
    kind === "valid" ? { "flink.apache.org/canary": "true" } : {};
  return {
    apiVersion: "flink.apache.org/v1beta1",
    kind: "FlinkDeployment",
    metadata: { name, namespace, labels },
    spec,
  };
}

/** A keep-alive HTTPS client for the apiserver, from the sandbox's kubeconfig (token auth, CA embedded). */
function apiClient(kubeconfig: string) {
  const config = parse(readFileSync(kubeconfig, "utf8"));
  const server = new URL(config.clusters[0].cluster.server);
  const ca = Buffer.from(config.clusters[0].cluster["certificate-authority-data"], "base64");
  const token = config.users[0].user.token as string;
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca });
  return {
    post(path: string, body: unknown): Promise<number> {
      const data = JSON.stringify(body);
      return new Promise((resolve, reject) => {
        const req = request(
          {
            host: server.hostname,
            port: server.port,
            path,
            method: "POST",
            agent,
            headers: {
              authorization: `Bearer ${token}`,
              "content-type": "application/json",
              "content-length": Buffer.byteLength(data),
            },
          },
          res => {
            res.resume();
            res.on("end", () => resolve(res.statusCode ?? 0));
          },
        );
        req.on("error", reject);
        req.end(data);
      });
    },
    close: () => agent.destroy(),
  };
}

type Client = ReturnType<typeof apiClient>;

const collection = (namespace: string) =>
  `/apis/flink.apache.org/v1beta1/namespaces/${namespace}/flinkdeployments`;

/** What a create of each kind must answer in each mode; anything else means the measurement is not what it says. */
function expectedStatus(kind: Kind, webhook: boolean): (status: number) => boolean {
  if (kind === "valid" || (kind === "webhook-invalid" && !webhook)) return s => s === 201;
  return s => s >= 400 && s < 500;
}

async function measure(client: Client, namespace: string, webhook: boolean) {
  for (let i = 0; i < WARMUP; i++)
    await client.post(collection(namespace), flinkDeployment(namespace, `warmup-${i}`, kindOf(i)));
  const samples: Record<Kind, number[]> = { valid: [], "webhook-invalid": [], "cel-invalid": [] };
  for (let i = 0; i < CREATES; i++) {
    const kind = kindOf(i);
    const body = flinkDeployment(namespace, `fd-${i}`, kind);
    const start = performance.now();
    const status = await client.post(collection(namespace), body);
    const elapsed = performance.now() - start;
    if (!expectedStatus(kind, webhook)(status)) {
      throw new Error(
        `create ${i} (${kind}) with the webhook ${webhook ? "on" : "off"} answered ${status}`,
      );
    }
    samples[kind].push(elapsed);
  }
  return samples;
}

/** True once a create that only the webhook denies is denied (on) or admitted (off), as a dry run. */
async function webhookIs(client: Client, namespace: string, on: boolean): Promise<void> {
  const probe = flinkDeployment(namespace, "probe", "webhook-invalid");
  await waitFor(
    `the webhook to be ${on ? "in" : "out of"} the request path`,
    async () => {
      const status = await client.post(`${collection(namespace)}?dryRun=All`, probe);
      return on ? status >= 400 && status < 500 : status === 201;
    },
    60_000,
  );
}

function line(label: string, samples: number[]): string {
  const s = summarize(samples);
  return `${label.padEnd(22)} n=${String(s.n).padEnd(5)} p50=${ms(s.p50).padStart(10)} p99=${ms(s.p99).padStart(10)} max=${ms(s.max).padStart(10)}`;
}

export async function benchAdmission(): Promise<void> {
  const logDir = cacheDir("sandbox", "logs", "bench-admission");
  await rm(logDir, { recursive: true, force: true });
  await mkdir(logDir, { recursive: true });
  let cp: ControlPlane | undefined;
  let mod: RunningModule | undefined;
  let client: Client | undefined;
  try {
    cp = await startControlPlane({ logDir });
    const kubectl = (...args: string[]) =>
      run(cp!.kubectl, [`--kubeconfig=${cp!.kubeconfig}`, ...args], { quiet: true });
    await installCrds(cp);
    await kubectl("create", "namespace", "bench-webhook-on");
    await kubectl("create", "namespace", "bench-webhook-off");
    client = apiClient(cp.kubeconfig);

    mod = await startModule({ kubeconfig: cp.kubeconfig, logFile: join(logDir, "module.log") });
    await webhookIs(client, "bench-webhook-on", true);
    const on = await measure(client, "bench-webhook-on", true);
    // Stopping the module deletes its webhook configurations; nothing reconciles what is created from here on.
    await mod.stop();
    mod = undefined;
    await webhookIs(client, "bench-webhook-off", false);
    const off = await measure(client, "bench-webhook-off", false);

    const all = (s: typeof on) => [...s.valid, ...s["webhook-invalid"], ...s["cel-invalid"]];
    const [onAll, offAll] = [summarize(all(on)), summarize(all(off))];
    console.log(
      `admission benchmark: ${CREATES} sequential FlinkDeployment creates per mode, kube-apiserver ${VERSIONS.kubernetes} on loopback (logs in ${logDir})`,
    );
    console.log(
      "  mix: 7/10 valid and canary-labelled (the reconciler skips them; the webhook mutates and parses them), 2/10 denied by webhook-only rules, 1/10 denied by a CEL rule",
    );
    console.log(
      "  webhook on: module running as npm run dev runs it; off: module stopped, webhook configurations deleted",
    );
    for (const [mode, s] of [
      ["on", on],
      ["off", off],
    ] as const) {
      console.log(`  ${line(`webhook ${mode}`, all(s))}`);
      for (const kind of ["valid", "webhook-invalid", "cel-invalid"] as const)
        console.log(`    ${line(kind, s[kind])}`);
    }
    console.log(
      `  ratio on/off: p50 ${(onAll.p50 / offAll.p50).toFixed(2)}, p99 ${(onAll.p99 / offAll.p99).toFixed(2)}`,
    );
  } finally {
    client?.close();
    await mod?.stop();
    await cp?.stop();
  }
}

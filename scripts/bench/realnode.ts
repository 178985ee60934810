import { existsSync, readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { cacheDir } from "../../lib/cache";
import { FlinkRestClient } from "../../lib/flink/client";
import { waitForJobState } from "../../lib/flink/operations";
import { resolveRestEndpoint } from "../../lib/reconcile/cluster-info";
import { startControlPlane, type ControlPlane } from "../sandbox/controlplane";
import { installCrds } from "../sandbox/crds";
import { flinkServiceAccount } from "../sandbox/flink-rbac";
import { ensureFlinkRuntime } from "../sandbox/flink-runtime";
import { startModule, type RunningModule } from "../sandbox/module";
import { run, sleep } from "../sandbox/proc";

const EXAMPLES = join(process.cwd(), "test", "fixtures", "compat", "1.15.0");

/**
 * `npm run bench -- node`: what `npm start` does, phase by phase, on the real node with warm caches (control
 * plane and node, operator, the basic application's job RUNNING), then the memory of the reference's session
 * cluster example (JobManager + the TaskManager a job brings) from the pods' memory cgroups.
 */
export async function benchRealNode(): Promise<void> {
  const logDir = cacheDir("sandbox", "logs", "bench-node");
  await rm(logDir, { recursive: true, force: true });
  await mkdir(logDir, { recursive: true });
  let cp: ControlPlane | undefined;
  let mod: RunningModule | undefined;
  const t0 = Date.now();
  const phases: Array<[string, number]> = [];
  const mark = (what: string) => phases.push([what, Date.now()]);
  try {
    cp = await startControlPlane({ logDir, node: "real" });
    mark("control plane + real node ready");
    process.env.KUBECONFIG = cp.kubeconfig;
    const kubectl = (...args: string[]) =>
      run(cp!.kubectl, [`--kubeconfig=${cp!.kubeconfig}`, ...args], { quiet: true });
    const apply = async (obj: object) => {
      const file = join(logDir, `apply-${Date.now()}.json`);
      await writeFile(file, JSON.stringify(obj));
      await kubectl("apply", "-f", file);
    };
    await installCrds(cp);
    mod = await startModule({ kubeconfig: cp.kubeconfig, logFile: join(logDir, "module.log") });
    mark("operator ready");
    await apply(flinkServiceAccount("default"));
    await apply(example("basic.yaml"));
    await until(async () => {
      const d = JSON.parse(await kubectl("get", "flinkdep", "basic-example", "-o", "json"));
      return d.status?.jobStatus?.state === "RUNNING";
    });
    mark("basic application: job RUNNING (status)");
    console.log("node benchmark: npm start's steps with warm caches (flink:2.2 basic example)");
    let last = t0;
    for (const [what, at] of phases) {
      console.log(`  ${what.padEnd(42)} +${secs(at - last).padStart(7)}  total ${secs(at - t0)}`);
      last = at;
    }
    await kubectl("delete", "flinkdep", "basic-example", "--wait=true", "--timeout=120s");
    await until(async () => !(await kubectl("get", "pods", "-o", "name")));

    const session = example("basic-session-deployment-only.yaml");
    const name = (session as { metadata: { name: string } }).metadata.name;
    await apply(session);
    await until(async () => {
      const d = JSON.parse(await kubectl("get", "flinkdep", name, "-o", "json"));
      return d.status?.jobManagerDeploymentStatus === "READY";
    });
    const endpoint = await resolveRestEndpoint("proxy", {
      name: `${name}-rest`,
      namespace: "default",
      port: 8081,
    });
    const client = new FlinkRestClient({ ...endpoint, timeoutMs: 30_000 });
    const { stateMachineJar, release } = await ensureFlinkRuntime("2.2");
    const { jarId } = await client.uploadJarFile(stateMachineJar);
    const jobId = await client.runJar(jarId, {
      entryClass: release.examples.stateMachineClass,
      parallelism: 2,
    });
    await waitForJobState(client, jobId, ["RUNNING"], { timeoutMs: 180_000 });
    await sleep(30_000); // past start-up, into steady state
    const pods = JSON.parse(await kubectl("get", "pods", "-l", `app=${name}`, "-o", "json"))
      .items as Array<{ metadata: { name: string; uid: string; labels: Record<string, string> } }>;
    console.log(
      "  session cluster example (2048m per process), job running, memory cgroup of each pod:",
    );
    let total = 0;
    for (const p of pods) {
      const rss = podRssMiB(p.metadata.uid);
      total += rss;
      console.log(`    ${p.metadata.labels.component.padEnd(12)} ${rss.toFixed(0)} MiB rss`);
    }
    console.log(`    total        ${total.toFixed(0)} MiB`);
  } finally {
    await mod?.stop();
    await cp?.stop();
  }
}

function example(file: string): object {
  return parseAllDocuments(readFileSync(join(EXAMPLES, file), "utf8"))[0].toJS();
}

/** total_rss of the pod's memory cgroup (cgroup v1, cgroupfs driver): what its processes hold, page cache aside. */
function podRssMiB(uid: string): number {
  for (const qos of ["", "burstable/", "besteffort/"]) {
    const file = `/sys/fs/cgroup/memory/kubepods/${qos}pod${uid}/memory.stat`;
    if (!existsSync(file)) continue;
    const line = readFileSync(file, "utf8")
      .split("\n")
      .find(l => l.startsWith("total_rss "));
    return Number(line?.split(" ")[1] ?? 0) / 2 ** 20;
  }
  throw new Error(`no memory cgroup for pod ${uid}`);
}

async function until(check: () => Promise<boolean>, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error("timed out");
    await sleep(500);
  }
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

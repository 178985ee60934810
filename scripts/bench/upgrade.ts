import type { KubernetesObject } from "@kubernetes/client-node";
import { randomBytes } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FlinkDeploymentObject } from "../../lib/api/resources";
import { buildClusterManifests } from "../../lib/builders";
import { cacheDir } from "../../lib/cache";
import { FlinkRestClient } from "../../lib/flink/client";
import { stopWithSavepoint } from "../../lib/flink/operations";
import { resolveRestEndpoint } from "../../lib/reconcile/cluster-info";
import { startControlPlane, type ControlPlane } from "../sandbox/controlplane";
import { installCrds } from "../sandbox/crds";
import { stateDir, stateMachineSpec } from "../sandbox/examples";
import { flinkServiceAccount } from "../sandbox/flink-rbac";
import { startModule, type RunningModule } from "../sandbox/module";
import { run, sleep } from "../sandbox/proc";

const RUNS = 5;
const FLINK = { image: "flink:1.20", flinkVersion: "v1_20" };

/**
 * `npm run bench -- upgrade`: a savepoint upgrade (a parallelism change) of StateMachineExample through the
 * operator, against the same steps done by hand in the same run (stop with savepoint, delete the cluster and wait
 * for its pods, create it from the savepoint, wait until Flink runs the new job). Median of 5 each, both timed
 * until Flink's REST API reports the new job RUNNING; the operator's status is timed too.
 */
export async function benchUpgrade(): Promise<void> {
  const logDir = cacheDir("sandbox", "logs", "bench-upgrade");
  await rm(logDir, { recursive: true, force: true });
  await mkdir(logDir, { recursive: true });
  const dataDir = await stateDir();
  let cp: ControlPlane | undefined;
  let mod: RunningModule | undefined;
  try {
    cp = await startControlPlane({ logDir, node: "real" });
    process.env.KUBECONFIG = cp.kubeconfig;
    const kubectl = (...args: string[]) =>
      run(cp!.kubectl, [`--kubeconfig=${cp!.kubeconfig}`, ...args], { quiet: true });
    const apply = async (objs: object[]) => {
      const file = join(logDir, `apply-${Date.now()}.json`);
      const items = objs.flatMap(o =>
        (o as { kind?: string }).kind === "List" ? (o as { items: object[] }).items : [o],
      );
      await writeFile(file, JSON.stringify({ apiVersion: "v1", kind: "List", items }));
      await kubectl("apply", "-f", file);
    };
    await installCrds(cp);
    mod = await startModule({ kubeconfig: cp.kubeconfig, logFile: join(logDir, "module.log") });
    await apply([flinkServiceAccount("default")]);
    const clientOf = async (name: string) =>
      new FlinkRestClient({
        ...(await resolveRestEndpoint("proxy", {
          name: `${name}-rest`,
          namespace: "default",
          port: 8081,
        })),
        timeoutMs: 10_000,
        retries: 0,
      });
    /** Waits until Flink runs a job other than `oldJob` (and has completed a checkpoint when asked). */
    const runningOtherThan = async (name: string, oldJob?: string, checkpointed = false) =>
      until(async () => {
        const client = await clientOf(name);
        const job = (await client.jobsOverview()).find(
          j => j.state === "RUNNING" && j.jid !== oldJob,
        );
        if (!job) return undefined;
        if (checkpointed && !(await client.checkpoints(job.jid)).latest.completed) return undefined;
        return job.jid;
      });

    console.log(
      `upgrade benchmark: savepoint upgrade of StateMachineExample (Flink 1.20), median of ${RUNS}`,
    );
    const operatorRuns: number[] = [];
    const statusRuns: number[] = [];
    const op = "bench-operator";
    await apply([
      {
        apiVersion: "flink.apache.org/v1beta1",
        kind: "FlinkDeployment",
        metadata: { name: op, namespace: "default" },
        spec: stateMachineSpec(dataDir, FLINK, "savepoint"),
      },
    ]);
    let job = await runningOtherThan(op, undefined, true);
    for (let i = 0; i < RUNS; i++) {
      const t0 = Date.now();
      await kubectl(
        "patch",
        "flinkdep",
        op,
        "--type=merge",
        "-p",
        JSON.stringify({ spec: { job: { parallelism: i % 2 ? 1 : 2 } } }),
      );
      job = await runningOtherThan(op, job);
      operatorRuns.push(Date.now() - t0);
      await until(async () => {
        const d = JSON.parse(await kubectl("get", "flinkdep", op, "-o", "json"));
        return d.status?.jobStatus?.jobId === job && d.status.jobStatus.state === "RUNNING";
      });
      statusRuns.push(Date.now() - t0);
      await runningOtherThan(op, undefined, true);
    }
    await kubectl("delete", "flinkdep", op, "--wait=true", "--timeout=120s");
    await until(async () => !(await kubectl("get", "pods", "-l", `app=${op}`, "-o", "name")));

    const byHand: number[] = [];
    const hand = "bench-by-hand";
    const manifests = (parallelism: number, jobId: string, restorePath?: string) =>
      buildClusterManifests(
        {
          apiVersion: "flink.apache.org/v1beta1",
          kind: "FlinkDeployment",
          metadata: {
            name: hand,
            namespace: "default",
            uid: "00000000-0000-0000-0000-000000000000",
          },
          spec: stateMachineSpec(dataDir, FLINK, "savepoint", parallelism),
        } as unknown as FlinkDeploymentObject,
        { generation: 1, jobId, restorePath },
      ).map(stripOwner);
    let handJob = randomBytes(16).toString("hex");
    await apply(manifests(1, handJob));
    await runningOtherThan(hand, undefined, true);
    for (let i = 0; i < RUNS; i++) {
      const t0 = Date.now();
      const { location } = await stopWithSavepoint(await clientOf(hand), handJob, {
        intervalMs: 200,
      });
      await kubectl(
        "delete",
        "deployment",
        hand,
        "--cascade=foreground",
        "--wait=true",
        "--timeout=120s",
      );
      await until(async () => !(await kubectl("get", "pods", "-l", `app=${hand}`, "-o", "name")));
      const next = randomBytes(16).toString("hex");
      await apply(manifests(i % 2 ? 1 : 2, next, location));
      await runningOtherThan(hand, handJob);
      handJob = next;
      byHand.push(Date.now() - t0);
      await runningOtherThan(hand, undefined, true);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const [o, s, h] = [median(operatorRuns), median(statusRuns), median(byHand)];
    console.log(
      `  through the operator, new job RUNNING (Flink)  ${secs(o)}   runs ${operatorRuns.map(secs).join(", ")}`,
    );
    console.log(
      `  through the operator, RUNNING in status        ${secs(s)}   runs ${statusRuns.map(secs).join(", ")}`,
    );
    console.log(
      `  by hand (REST stop, kubectl delete and apply)  ${secs(h)}   runs ${byHand.map(secs).join(", ")}`,
    );
    console.log(
      `  the operator adds                              ${secs(o - h)} (to RUNNING in status: ${secs(s - h)})`,
    );
  } finally {
    await mod?.stop();
    await cp?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** A cluster made by hand has no FlinkDeployment to be owned by (the garbage collector would delete it). */
function stripOwner(o: KubernetesObject): KubernetesObject {
  const copy = structuredClone(o);
  delete copy.metadata?.ownerReferences;
  return copy;
}

async function until<T>(check: () => Promise<T>, timeoutMs = 300_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error("timed out");
    await sleep(250);
  }
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

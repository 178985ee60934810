import { rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { stateDir } from "../../scripts/sandbox/examples";
import { stopApiserver } from "../../scripts/sandbox/outage";
import {
  apply,
  deleteNamespace,
  eventually,
  getJson,
  jvmsOfPod,
  kubectl,
  namespaceWithFlinkAccount,
  pods,
  type Json,
} from "./helpers";
import { flinkClient, patch, removeDeployment, runningGeneration, stateMachine } from "./jobs";

process.env.KUBECONFIG = inject("kubeconfig");

/**
 * A savepoint upgrade disturbed while its stop-with-savepoint is pending: the JobManager pod killed, and the
 * kube-apiserver stopped for 20 s. The savepoint is held pending for real: the TaskManager's JVM is paused
 * (SIGSTOP) before the spec changes, so it cannot acknowledge the savepoint's barrier until it is resumed.
 * With Kubernetes HA the job survives its JobManager; the upgrade must converge with the job restored from
 * the savepoint status records, one job, nothing lost.
 */
describe("a savepoint upgrade disturbed mid-savepoint, on Flink 1.20 with Kubernetes HA", () => {
  const name = "disturbed";
  let ns: string;
  let dataDir: string;
  let generation = 1;
  let parallelism = 1;

  beforeAll(async () => {
    ns = await namespaceWithFlinkAccount("e2e-disturb");
    dataDir = await stateDir();
    const dep = stateMachine(
      name,
      ns,
      dataDir,
      { image: "flink:1.20", flinkVersion: "v1_20" },
      "savepoint",
    );
    Object.assign(dep.spec.flinkConfiguration, {
      "high-availability.type": "kubernetes",
      "high-availability.storageDir": "file:///flink-data/ha",
    });
    await apply(dep);
    await runningGeneration(ns, name, 1);
  });
  afterAll(async () => {
    await removeDeployment(ns, name).catch(() => undefined);
    await deleteNamespace(ns);
    await rm(dataDir, { recursive: true, force: true });
  });

  /**
   * Pauses the TaskManager's JVM once all tasks run and a checkpoint is in the HA metadata, then changes the spec;
   * resolves once the savepoint's trigger is on record.
   */
  async function upgradeWithPendingSavepoint(): Promise<{ resume: () => void; triggerId: string }> {
    const jobId = (await getJson("flinkdep", name, "-n", ns)).status.jobStatus.jobId;
    const rest = await flinkClient(ns, name);
    await eventually(
      "all tasks RUNNING and a completed checkpoint",
      async () =>
        (await rest.job(jobId)).vertices.every(v => v.status === "RUNNING") &&
        (await rest.checkpoints(jobId)).latest.completed?.external_path,
      120_000,
    );
    const [tm] = await pods(ns, `app=${name},component=taskmanager`);
    const jvms = jvmsOfPod(tm.metadata.uid);
    expect(jvms.length).toBe(1);
    process.kill(jvms[0], "SIGSTOP");
    const resume = () => {
      try {
        process.kill(jvms[0], "SIGCONT");
      } catch {
        // gone with its pod
      }
    };
    try {
      parallelism = parallelism === 1 ? 2 : 1;
      await patch(ns, name, { spec: { job: { parallelism } } });
      generation += 1;
      const triggerId = await eventually(
        "the savepoint's trigger on record",
        async () => {
          const s = (await getJson("flinkdep", name, "-n", ns)).status;
          const info = s?.jobStatus?.savepointInfo;
          return (
            s?.reconciliationStatus?.operation?.step === "savepoint" &&
            info?.triggerType === "UPGRADE" &&
            info.triggerId
          );
        },
        60_000,
      );
      return { resume, triggerId };
    } catch (e) {
      resume();
      throw e;
    }
  }

  /** One job, RUNNING, restored from exactly the savepoint status recorded. */
  async function expectRestoredFromRecordedSavepoint(dep: Json) {
    const js = dep.status.jobStatus;
    const rest = await flinkClient(ns, name);
    const jobs = await rest.jobsOverview();
    expect(jobs.filter(j => j.state === "RUNNING").map(j => j.jid)).toEqual([js.jobId]);
    const restored = await eventually(
      "the restore statistics",
      async () => (await rest.checkpoints(js.jobId)).latest.restored,
      60_000,
    );
    expect(restored.external_path).toBe(js.upgradeSavepointPath);
    expect(dep.status.reconciliationStatus.restore).toEqual({
      upgradeMode: "savepoint",
      path: js.upgradeSavepointPath,
    });
  }

  it("converges when the JobManager pod is killed while the stop-with-savepoint is pending", async () => {
    const { resume } = await upgradeWithPendingSavepoint();
    try {
      const [jm] = await pods(ns, `app=${name},component=jobmanager`);
      await kubectl("delete", "pod", jm.metadata.name, "-n", ns, "--grace-period=0", "--force");
    } finally {
      resume();
    }
    const dep = await runningGeneration(ns, name, generation);
    await expectRestoredFromRecordedSavepoint(dep);
  });

  it("converges when the kube-apiserver is stopped for 20 s while the stop-with-savepoint is pending", async () => {
    const { resume } = await upgradeWithPendingSavepoint();
    let stopped;
    try {
      stopped = await stopApiserver({ dir: inject("sandboxDir"), kubeconfig: inject("kubeconfig") });
    } finally {
      // The savepoint completes while the apiserver is away: the operator cannot record it until it returns.
      resume();
    }
    await new Promise(r => setTimeout(r, Math.max(0, 20_000 - (Date.now() - stopped.stoppedAt))));
    await stopped.start();
    const dep = await runningGeneration(ns, name, generation);
    await expectRestoredFromRecordedSavepoint(dep);
  });
});

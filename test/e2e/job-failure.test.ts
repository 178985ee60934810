import { rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  apply,
  deleteNamespace,
  eventually,
  getJson,
  kubectl,
  namespaceWithFlinkAccount,
  pods,
  type Json,
} from "./helpers";
import { flinkClient, removeDeployment, runningGeneration, stateMachine } from "./jobs";
import { stateDir } from "../../scripts/sandbox/examples";

process.env.KUBECONFIG = inject("kubeconfig");

/**
 * A job made to fail for real: its TaskManager pod is deleted while Flink may not restart it
 * (restart-strategy none), so the job goes FAILED. The operator sees it through the pod's watch, reports it,
 * and with kubernetes.operator.job.restart.failed starts it again from its latest checkpoint.
 */
describe("a job that fails, on Flink 1.20", () => {
  const name = "fails";
  let ns: string;
  let dataDir: string;

  beforeAll(async () => {
    ns = await namespaceWithFlinkAccount("e2e-fail");
    dataDir = await stateDir();
  });
  afterAll(async () => {
    await removeDeployment(ns, name).catch(() => undefined);
    await deleteNamespace(ns);
    await rm(dataDir, { recursive: true, force: true });
  });

  it("shows FAILED in status and an Event soon after, then restarts the job from its latest checkpoint", async () => {
    const dep = stateMachine(
      name,
      ns,
      dataDir,
      { image: "flink:1.20", flinkVersion: "v1_20" },
      "savepoint",
    );
    Object.assign(dep.spec.flinkConfiguration, {
      "restart-strategy.type": "none",
      "kubernetes.operator.job.restart.failed": "true",
    });
    await apply(dep);
    const running = await runningGeneration(ns, name, 1);
    const jobId = running.status.jobStatus.jobId;
    const rest = await flinkClient(ns, name);
    const checkpoint = await eventually(
      "a completed checkpoint",
      async () => (await rest.checkpoints(jobId)).latest.completed?.external_path,
      120_000,
    );
    expect(checkpoint).toBeTruthy();

    const [tm] = await pods(ns, `app=${name},component=taskmanager`);
    const killedAt = Date.now();
    await kubectl("delete", "pod", tm.metadata.name, "-n", ns, "--wait=false");
    const reported = await eventually(
      "the restart of the failed job in status",
      async () => {
        const d = await getJson("flinkdep", name, "-n", ns);
        return d.status?.reconciliationStatus?.operation?.kind === "restart" && d;
      },
      60_000,
    );
    const seconds = (Date.now() - killedAt) / 1000;
    console.log(`job failure to restart on record: ${seconds.toFixed(1)} s after the pod deletion`);
    expect(reported.status.reconciliationStatus.operation.jobId).toBe(jobId);
    const events = (
      await getJson("events", "-n", ns, "--field-selector", `involvedObject.name=${name}`)
    ).items.map((e: Json) => `${e.reason}: ${e.message}`);
    expect(events).toContain(`RestartFailedJob: job ${jobId} FAILED; restarting it (savepoint)`);

    const restarted = await eventually(
      "the job RUNNING again",
      async () => {
        const d = await getJson("flinkdep", name, "-n", ns);
        const s = d.status ?? {};
        return (
          s.jobStatus?.state === "RUNNING" &&
          s.jobStatus.jobId !== jobId &&
          !s.reconciliationStatus?.operation &&
          d
        );
      },
      240_000,
    );
    // No savepoint of a FAILED job: it restarts from the latest checkpoint Flink reported.
    const restore = restarted.status.reconciliationStatus.restore;
    expect(restore.upgradeMode).toBe("savepoint");
    expect(restore.path).toMatch(/\/chk-\d+$/);
    const restored = await eventually(
      "the restore statistics",
      async () =>
        (await (await flinkClient(ns, name)).checkpoints(restarted.status.jobStatus.jobId)).latest
          .restored,
      60_000,
    );
    expect(restored.external_path).toBe(restore.path);
  });
});

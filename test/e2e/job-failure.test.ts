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

/**
 * The cluster health check on a real restart: with restarts.threshold 0, one failover of the job (its
 * TaskManager pod deleted; Flink may restart it) makes it unhealthy, and the operator restarts it the way its
 * upgrade mode keeps state.
 */
describe("the cluster health check, on Flink 1.20", () => {
  const name = "unhealthy";
  let ns: string;
  let dataDir: string;

  beforeAll(async () => {
    ns = await namespaceWithFlinkAccount("e2e-health");
    dataDir = await stateDir();
  });
  afterAll(async () => {
    await removeDeployment(ns, name).catch(() => undefined);
    await deleteNamespace(ns);
    await rm(dataDir, { recursive: true, force: true });
  });

  it("restarts a job that restarts more often than restarts.threshold, keeping its state, with an Event saying why", async () => {
    const dep = stateMachine(
      name,
      ns,
      dataDir,
      { image: "flink:1.20", flinkVersion: "v1_20" },
      "savepoint",
    );
    Object.assign(dep.spec.flinkConfiguration, {
      "restart-strategy.type": "fixed-delay",
      "restart-strategy.fixed-delay.attempts": "1000",
      "restart-strategy.fixed-delay.delay": "1 s",
      "high-availability.type": "kubernetes",
      "high-availability.storageDir": "file:///flink-data/ha",
      "kubernetes.operator.cluster.health-check.enabled": "true",
      "kubernetes.operator.cluster.health-check.restarts.threshold": "0",
    });
    await apply(dep);
    const running = await runningGeneration(ns, name, 1);
    const jobId = running.status.jobStatus.jobId;
    const rest = await flinkClient(ns, name);
    await eventually(
      "a completed checkpoint",
      async () => (await rest.checkpoints(jobId)).latest.completed?.external_path,
      120_000,
    );

    const [tm] = await pods(ns, `app=${name},component=taskmanager`);
    await kubectl("delete", "pod", tm.metadata.name, "-n", ns, "--wait=false");
    const reason = await eventually(
      "the RestartUnhealthyJob Event",
      async () =>
        (
          await getJson("events", "-n", ns, "--field-selector", `involvedObject.name=${name}`)
        ).items.find((e: Json) => e.reason === "RestartUnhealthyJob")?.message,
      180_000,
    );
    expect(reason).toMatch(
      new RegExp(`^job ${jobId} is unhealthy: it restarted \\d+ times in \\d+ s`),
    );
    const restarted = await eventually(
      "the job RUNNING again from its kept state",
      async () => {
        const d = await getJson("flinkdep", name, "-n", ns);
        const s = d.status ?? {};
        return (
          s.jobStatus?.state === "RUNNING" &&
          !s.reconciliationStatus?.operation &&
          s.reconciliationStatus?.restore?.upgradeMode !== "stateless" &&
          d
        );
      },
      300_000,
    );
    // Stopped with a savepoint when the job ran again by then, else from the HA metadata (same job id).
    const restore = restarted.status.reconciliationStatus.restore;
    const restored = await eventually(
      "the restore statistics",
      async () =>
        (await (await flinkClient(ns, name)).checkpoints(restarted.status.jobStatus.jobId)).latest
          .restored,
      60_000,
    );
    if (restore.upgradeMode === "savepoint") expect(restored.external_path).toBe(restore.path);
    else expect(restore.upgradeMode).toBe("last-state");
    expect(restored.external_path).toBeTruthy();
  });
});

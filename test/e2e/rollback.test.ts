import { rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { stateDir } from "../../scripts/sandbox/examples";
import {
  apply,
  deleteNamespace,
  eventually,
  getJson,
  namespaceWithFlinkAccount,
  type Json,
} from "./helpers";
import { flinkClient, patch, removeDeployment, runningGeneration, stateMachine } from "./jobs";

process.env.KUBECONFIG = inject("kubeconfig");

/**
 * kubernetes.operator.deployment.rollback.enabled: a savepoint upgrade to an image the node cannot pull never
 * becomes stable, so after deployment.readiness.timeout the operator goes back to the last stable spec, from
 * the savepoint the upgrade took (the new job never ran, so HA holds no checkpoint of it).
 */
describe("rollback of an upgrade to an image that cannot start, on Flink 1.20", () => {
  const name = "rollback";
  let ns: string;
  let dataDir: string;

  beforeAll(async () => {
    ns = await namespaceWithFlinkAccount("e2e-rollback");
    dataDir = await stateDir();
  });
  afterAll(async () => {
    await removeDeployment(ns, name).catch(() => undefined);
    await deleteNamespace(ns);
    await rm(dataDir, { recursive: true, force: true });
  });

  it("rolls back to the last stable spec from the upgrade's savepoint, says so, and upgrades again on the next change", async () => {
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
      "kubernetes.operator.deployment.rollback.enabled": "true",
      "kubernetes.operator.deployment.readiness.timeout": "30 s",
    });
    await apply(dep);
    await runningGeneration(ns, name, 1);

    await patch(ns, name, { spec: { image: "flink:1.20-no-such-tag" } });
    const rolledBack = await eventually(
      "ROLLED_BACK with the job RUNNING",
      async () => {
        const d = await getJson("flinkdep", name, "-n", ns);
        const s = d.status ?? {};
        return (
          s.lifecycleState === "ROLLED_BACK" &&
          s.jobStatus?.state === "RUNNING" &&
          !s.reconciliationStatus?.operation &&
          d
        );
      },
      300_000,
    );
    const s = rolledBack.status;
    const savepoint = s.jobStatus.upgradeSavepointPath;
    expect(savepoint).toMatch(/savepoint-/);
    expect(s.reconciliationStatus.restore).toEqual({ upgradeMode: "savepoint", path: savepoint });
    expect(JSON.parse(s.reconciliationStatus.lastStableSpec).spec.image).toBe("flink:1.20");
    expect(s.conditions.find((c: Json) => c.type === "Ready")).toMatchObject({
      status: "True",
      reason: "RolledBack",
    });
    const jm = await getJson("deployment", name, "-n", ns);
    expect(jm.spec.template.spec.containers[0].image).toBe("flink:1.20");
    const restored = await eventually(
      "the restore statistics",
      async () =>
        (await (await flinkClient(ns, name)).checkpoints(s.jobStatus.jobId)).latest.restored,
      60_000,
    );
    expect(restored.external_path).toBe(savepoint);
    const events = (
      await getJson("events", "-n", ns, "--field-selector", `involvedObject.name=${name}`)
    ).items.map((e: Json) => `${e.reason}: ${e.message}`);
    expect(events.find((e: string) => e.startsWith("RollingBack:"))).toMatch(
      /generation 2 is not stable 30 s after its deploy.*rolling back to generation 1/,
    );
    expect(events.some((e: string) => e.startsWith("RolledBack:"))).toBe(true);

    // The next spec change is an upgrade from what runs (with time enough for this machine to start the job).
    await patch(ns, name, {
      spec: {
        image: "flink:1.20",
        job: { parallelism: 2 },
        flinkConfiguration: { "kubernetes.operator.deployment.readiness.timeout": "3 min" },
      },
    });
    const upgraded = await runningGeneration(ns, name, 3);
    expect(upgraded.status.reconciliationStatus.restore.upgradeMode).toBe("savepoint");
    expect(upgraded.status.reconciliationStatus.restore.path).not.toBe(savepoint);
  }, 600_000);
});

import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
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
import {
  flinkClient,
  patch,
  removeDeployment,
  runningGeneration,
  stateMachine,
  suspendedDeployment,
} from "./jobs";
import { stateDir } from "../../scripts/sandbox/examples";

process.env.KUBECONFIG = inject("kubeconfig");

describe.each([
  { flink: "1.20", image: "flink:1.20", flinkVersion: "v1_20" },
  { flink: "2.3", image: "flink:2.3", flinkVersion: "v2_3" },
])(
  "upgrades and suspend/resume of StateMachineExample on Flink $flink",
  ({ image, flinkVersion }) => {
    let ns: string;
    let dataDir: string;

    beforeAll(async () => {
      ns = await namespaceWithFlinkAccount(`e2e-upg-${flinkVersion.replace("_", "-")}`);
      dataDir = await stateDir();
    });
    afterAll(async () => {
      await deleteNamespace(ns);
      await rm(dataDir, { recursive: true, force: true });
    });

    const client = (name: string) => flinkClient(ns, name);
    const remove = (name: string) => removeDeployment(ns, name);

    /** Deploys, waits for a completed checkpoint, and returns the job id and that checkpoint's id. */
    async function deployWithCheckpoint(name: string, upgradeMode: string) {
      await apply(stateMachine(name, ns, dataDir, { image, flinkVersion }, upgradeMode));
      const dep = await runningGeneration(ns, name, 1);
      const rest = await client(name);
      const jobId = dep.status.jobStatus.jobId;
      const lastCheckpointId = await eventually(
        "a completed checkpoint",
        async () => (await rest.checkpoints(jobId)).latest.completed?.id,
        120_000,
      );
      return { jobId, rest, lastCheckpointId };
    }

    it("savepoint: stops with a savepoint recorded in status, and the new job restores exactly it", async () => {
      const name = "sp";
      const { jobId } = await deployWithCheckpoint(name, "savepoint");
      await patch(ns, name, { spec: { job: { parallelism: 2 } } });
      const dep = await runningGeneration(ns, name, 2);
      const js = dep.status.jobStatus;
      expect(js.jobId).not.toBe(jobId);
      expect(js.upgradeSavepointPath).toMatch(/savepoint-/);
      expect(js.savepointInfo.lastSavepoint).toMatchObject({
        location: js.upgradeSavepointPath,
        triggerType: "UPGRADE",
      });
      expect(dep.status.reconciliationStatus.restore).toEqual({
        upgradeMode: "savepoint",
        path: js.upgradeSavepointPath,
      });
      const restored = (await (await client(name)).checkpoints(js.jobId)).latest.restored;
      expect(restored?.external_path).toBe(js.upgradeSavepointPath);
      expect(restored?.is_savepoint).toBe(true);
      // The savepoint is on the shared volume, where Flink wrote it.
      const dir = js.upgradeSavepointPath.replace(/^file:\/*flink-data\//, "");
      expect(await readdir(join(dataDir, dir))).toContain("_metadata");
      const events = (
        await getJson("events", "-n", ns, "--field-selector", `involvedObject.name=${name}`)
      ).items;
      expect(events.map((e: Json) => e.reason)).toEqual(
        expect.arrayContaining(["SpecChanged", "SavepointCompleted", "ClusterStopped", "Deployed"]),
      );
    });

    it("suspend then resume (savepoint): no pods while suspended, and the resumed job restores the suspend's savepoint", async () => {
      const name = "sp";
      await patch(ns, name, { spec: { job: { state: "suspended" } } });
      const suspended = await suspendedDeployment(ns, name);
      expect(await pods(ns, `app=${name}`)).toEqual([]);
      const kept = suspended.status.reconciliationStatus.restore;
      expect(kept.upgradeMode).toBe("savepoint");
      expect(kept.path).toBe(suspended.status.jobStatus.savepointInfo.lastSavepoint.location);
      await patch(ns, name, { spec: { job: { state: "running" } } });
      const resumed = await runningGeneration(ns, name, 4);
      const restored = (await (await client(name)).checkpoints(resumed.status.jobStatus.jobId))
        .latest.restored;
      expect(restored?.external_path).toBe(kept.path);
      await remove(name);
    });
    it("last-state: keeps the job id and HA metadata, and the new job restores the latest checkpoint", async () => {
      const name = "ls";
      const { jobId, rest, lastCheckpointId } = await deployWithCheckpoint(name, "last-state");
      await patch(ns, name, { spec: { job: { parallelism: 2 } } });
      const dep = await runningGeneration(ns, name, 2);
      expect(dep.status.jobStatus.jobId).toBe(jobId);
      expect(dep.status.reconciliationStatus.restore).toEqual({ upgradeMode: "last-state" });
      const restored = await eventually(
        "the restored checkpoint",
        async () => (await (await client(name)).checkpoints(jobId)).latest.restored,
        60_000,
      );
      expect(restored.id).toBeGreaterThanOrEqual(lastCheckpointId);
      expect(restored.is_savepoint).toBe(false);
      expect((await rest.job(jobId)).vertices.map(v => v.parallelism)).toContain(2);
      await remove(name);
    });

    it("stateless: starts a new job from empty state", async () => {
      const name = "sl";
      const { jobId } = await deployWithCheckpoint(name, "stateless");
      await patch(ns, name, { spec: { job: { parallelism: 2 } } });
      const dep = await runningGeneration(ns, name, 2);
      expect(dep.status.jobStatus.jobId).not.toBe(jobId);
      expect(dep.status.reconciliationStatus.restore).toEqual({ upgradeMode: "stateless" });
      const stats = await (await client(name)).checkpoints(dep.status.jobStatus.jobId);
      expect(stats.latest.restored ?? null).toBeNull();
      await remove(name);
    });
  },
);

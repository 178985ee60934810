import { chmod, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { FlinkRestClient } from "../../lib/flink/client";
import { resolveRestEndpoint } from "../../lib/reconcile/cluster-info";
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

process.env.KUBECONFIG = inject("kubeconfig");

/**
 * The reference's StateMachineExample as an application with checkpoints every 2 s into a host directory
 * shared by the JobManager and TaskManager pods (one node), with Kubernetes HA for last-state.
 */
function stateMachine(
  name: string,
  ns: string,
  dataDir: string,
  flink: { image: string; flinkVersion: string },
  upgradeMode: string,
): Json {
  return {
    apiVersion: "flink.apache.org/v1beta1",
    kind: "FlinkDeployment",
    metadata: { name, namespace: ns },
    spec: {
      ...flink,
      serviceAccount: "flink",
      flinkConfiguration: {
        "taskmanager.numberOfTaskSlots": "2",
        "execution.checkpointing.interval": "2 s",
        "execution.checkpointing.dir": "file:///flink-data/checkpoints",
        "execution.checkpointing.savepoint-dir": "file:///flink-data/savepoints",
        ...(upgradeMode === "last-state"
          ? {
              "high-availability.type": "kubernetes",
              "high-availability.storageDir": "file:///flink-data/ha",
            }
          : {}),
      },
      jobManager: { resource: { memory: "1024m", cpu: 1 } },
      taskManager: { resource: { memory: "1024m", cpu: 0.5 } },
      podTemplate: {
        spec: {
          containers: [
            {
              name: "flink-main-container",
              volumeMounts: [{ mountPath: "/flink-data", name: "flink-data" }],
            },
          ],
          volumes: [{ name: "flink-data", hostPath: { path: dataDir, type: "Directory" } }],
        },
      },
      job: {
        jarURI: "local:///opt/flink/examples/streaming/StateMachineExample.jar",
        parallelism: 1,
        upgradeMode,
        state: "running",
      },
    },
  };
}

const patch = (ns: string, name: string, body: Json) =>
  kubectl("patch", "flinkdep", name, "-n", ns, "--type=merge", "-p", JSON.stringify(body));

/** The resource once its job runs the given generation's spec, with the ready JobManager's view of it. */
async function runningGeneration(ns: string, name: string, generation: number): Promise<Json> {
  return eventually(
    `generation ${generation} RUNNING and STABLE`,
    async () => {
      const d = await getJson("flinkdep", name, "-n", ns);
      const s = d.status ?? {};
      return (
        s.observedGeneration === generation &&
        s.lifecycleState === "STABLE" &&
        s.jobStatus?.state === "RUNNING" &&
        !s.reconciliationStatus?.operation &&
        d
      );
    },
    240_000,
  );
}

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
      // Flink runs as uid 9999 in the pods: the shared host directory must be writable for it.
      dataDir = await mkdtemp(join(tmpdir(), "fpo-e2e-state-"));
      await chmod(dataDir, 0o777);
    });
    afterAll(async () => {
      await deleteNamespace(ns);
      await rm(dataDir, { recursive: true, force: true });
    });

    const client = async (name: string) =>
      new FlinkRestClient({
        ...(await resolveRestEndpoint("proxy", {
          name: `${name}-rest`,
          namespace: ns,
          port: 8081,
        })),
        timeoutMs: 10_000,
      });

    /** Deletes the resource and waits for its pods: the node's 2 CPUs hold one such cluster at a time. */
    async function remove(name: string) {
      await kubectl("delete", "flinkdep", name, "-n", ns, "--wait=true", "--timeout=120s");
      await eventually(
        `${name}'s pods to be gone`,
        async () => (await pods(ns, `app=${name}`)).length === 0,
        120_000,
      );
    }

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
      const suspended = await eventually(
        "SUSPENDED",
        async () => {
          const d = await getJson("flinkdep", name, "-n", ns);
          return (
            d.status?.lifecycleState === "SUSPENDED" &&
            !d.status.reconciliationStatus.operation &&
            d
          );
        },
        180_000,
      );
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

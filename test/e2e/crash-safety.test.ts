import { existsSync } from "node:fs";
import { readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CRASH_POINTS } from "../../lib/reconcile/crash-points";
import { modulePid } from "../integration/k8s/reconcile-helpers";
import {
  apply,
  deleteNamespace,
  eventually,
  getJson,
  namespaceWithFlinkAccount,
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
const crashDir = inject("crashDir");

/**
 * R1: the operator is SIGKILLed at each step of a savepoint upgrade and of a suspend (lib/reconcile/crash-points.ts
 * arms the kill at a named point; the kill itself is real, and scripts/dev.ts starts the operator again). Every
 * case must converge with the job restored from the savepoint status recorded: one job, no savepoint lost.
 */
describe("crash safety of a savepoint upgrade and a suspend on Flink 1.20 (R1)", () => {
  const name = "crashy";
  let ns: string;
  let dataDir: string;
  let generation = 1;
  let parallelism = 1;

  beforeAll(async () => {
    ns = await namespaceWithFlinkAccount("e2e-crash");
    dataDir = await stateDir();
    await apply(
      stateMachine(name, ns, dataDir, { image: "flink:1.20", flinkVersion: "v1_20" }, "savepoint"),
    );
    await runningGeneration(ns, name, 1);
  });
  afterAll(async () => {
    await removeDeployment(ns, name).catch(() => undefined);
    await deleteNamespace(ns);
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Arms the point, makes `change`, and waits until the operator died there and was started again. */
  async function crashDuring(point: string, change: Json) {
    const before = modulePid();
    await writeFile(join(crashDir, point), "");
    await patch(ns, name, change);
    generation += 1;
    await eventually(
      `the operator killed at ${point}`,
      async () => !existsSync(join(crashDir, point)),
      180_000,
    );
    await eventually(
      "the operator started again",
      async () => {
        const pid = modulePid();
        return pid !== undefined && pid !== before;
      },
      60_000,
    );
  }

  /** The converged state: one job, RUNNING, restored from exactly the savepoint status recorded. */
  async function expectRestoredFromRecordedSavepoint(dep: Json) {
    const js = dep.status.jobStatus;
    const rest = await flinkClient(ns, name);
    const jobs = await rest.jobsOverview();
    expect(jobs.map(j => [j.jid, j.state])).toEqual([[js.jobId, "RUNNING"]]);
    const restored = await eventually(
      "the restore statistics",
      async () => (await rest.checkpoints(js.jobId)).latest.restored,
      60_000,
    );
    expect(restored.external_path).toBe(js.upgradeSavepointPath);
    expect(dep.status.reconciliationStatus.restore.path).toBe(js.upgradeSavepointPath);
    expect(js.savepointInfo.savepointHistory.map((s: Json) => s.location)).toContain(
      js.upgradeSavepointPath,
    );
    const dir = js.upgradeSavepointPath.replace(/^file:\/*flink-data\//, "");
    expect(await readdir(join(dataDir, dir))).toContain("_metadata");
  }

  it.each(CRASH_POINTS.map(point => ({ point })))(
    "upgrade, killed at $point: converges, restored from the recorded savepoint, one job",
    async ({ point }) => {
      parallelism = parallelism === 1 ? 2 : 1;
      await crashDuring(point, { spec: { job: { parallelism } } });
      const dep = await runningGeneration(ns, name, generation);
      await expectRestoredFromRecordedSavepoint(dep);
    },
  );

  it.each(
    ["savepoint-triggered", "savepoint-completed", "cluster-deleted", "ha-cleared"].map(point => ({
      point,
    })),
  )(
    "suspend, killed at $point: SUSPENDED with the savepoint on record, and the resume restores it",
    async ({ point }) => {
      await crashDuring(point, { spec: { job: { state: "suspended" } } });
      const suspended = await suspendedDeployment(ns, name);
      const kept = suspended.status.reconciliationStatus.restore;
      expect(kept).toEqual({
        upgradeMode: "savepoint",
        path: suspended.status.jobStatus.upgradeSavepointPath,
      });
      await patch(ns, name, { spec: { job: { state: "running" } } });
      generation += 1;
      const dep = await runningGeneration(ns, name, generation);
      await expectRestoredFromRecordedSavepoint(dep);
    },
  );
});
